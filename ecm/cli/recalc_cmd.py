"""``ecm recalc``: judge past visits again after a rule or rate published for the past.

``ecm recalc --from DATE`` judges the visits of a period again under the reference data
as it now stands, compares them with the stored outcomes and records the difference (per
visit, per provider, in money) without changing anything; ``ecm recalc apply`` then
replaces the stored outcomes, and with them the KPIs, keeping that record. Rules:
docs/rules.md, "Recalculation".
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import psycopg
import typer

from ecm import contracts as c
from ecm.recalc import report, store
from ecm.recalc.diff import RecalcDiff, compare
from ecm.recalc.rejudge import Period, rejudge_extract
from ecm.recalc.report import money, write_report
from ecm.settings import get_settings

recalc_app = typer.Typer(
    help="Judge past visits again after a rule or rate published for the past, then apply.",
    no_args_is_help=True, invoke_without_command=True)

DsnOption = typer.Option(None, "--dsn", help="Database URL; default: ECM_DB__DSN (sink's).")
ByOpt = Annotated[str, typer.Option("--by", help="Who runs it (kept with the record).")]


def _dsn(dsn: str | None) -> str:
    return dsn or get_settings().db.dsn_for("sink")


@recalc_app.callback()
def run(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", file_okay=False,
                                             help="Directory for visits.csv, providers.csv and "
                                                  "summary.md (created if needed).")] = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="Who runs it (kept with the record).")] = None,
    from_: Annotated[date | None, typer.Option(
        "--from", formats=["%Y-%m-%d"],
        help="First local day of the visits judged again.")] = None,
    to: Annotated[date | None, typer.Option(
        "--to", formats=["%Y-%m-%d"], help="Last local day (default: no limit).")] = None,
    due: Annotated[bool, typer.Option(
        "--due", help="From the earliest retroactive change not yet covered "
                      "(`ecm recalc due`).")] = False,
    events: Annotated[Path | None, typer.Option(
        "--events", exists=True, dir_okay=False,
        help="Judge from this extract (JSON Lines, reference data included) instead of the "
             "events stored in the database.")] = None,
    baseline: Annotated[Path | None, typer.Option(
        "--baseline", exists=True, dir_okay=False,
        help="Compare with this outcomes.jsonl instead of the database (nothing is "
             "recorded: no database is used).")] = None,
    reason: Annotated[str, typer.Option(help="Why (kept with the record).")] = "",
    now: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%dT%H:%M:%S%z"],
        help="Judge as at this instant (default: now).")] = None,
    dsn: str | None = DsnOption,
) -> None:
    """Judge a period's visits again and record the difference; change nothing yet.

    `ecm recalc --from DATE --by NAME --out DIR` (or `--due`) writes the difference and
    records it; `ecm recalc apply ID` then replaces the stored figures.
    """
    if ctx.invoked_subcommand is not None:
        return
    if out is None or by is None:
        raise typer.BadParameter("give --out DIR and --by NAME", param_hint="--out/--by")
    instant = now or datetime.now().astimezone()
    if instant.tzinfo is None:
        raise typer.BadParameter("needs a UTC offset", param_hint="--now")
    if baseline is not None:
        if events is None or from_ is None:
            raise typer.BadParameter("--baseline needs --events and --from")
        period = Period(from_, to)
        stored = _outcomes_file(baseline)
        diff = compare(stored, rejudge_extract(events.read_bytes().splitlines(), period,
                                               instant))
        _report(diff, out, period, report.NOT_RECORDED)
        return
    with psycopg.connect(_dsn(dsn), autocommit=True) as conn:
        period = _period(conn, from_, to, due)
        covers = [d.event_id for d in store.covered_by(conn, period)]
        if events is None:
            recalculation_id, diff = store.recalculate(
                conn, period, instant, reason=reason or "recalculation", by=by, covers=covers)
        else:
            stored = store.stored_outcomes(conn, period)
            outcomes = rejudge_extract(events.read_bytes().splitlines(), period, instant)
            diff = compare(stored, outcomes)
            recalculation_id = store.record(conn, diff, period, reason=reason or "recalculation",
                                            source=f"extract {events.name}", by=by,
                                            covers=covers)
    _report(diff, out, period, report.stands(recalculation_id, len(diff.visits), None, None))
    typer.echo(f"recorded {recalculation_id}")


def _period(conn: psycopg.Connection, first: date | None, last: date | None,
            due: bool) -> Period:
    if due:
        pending = store.due(conn)
        if not pending:
            typer.echo("no retroactive change is due")
            raise typer.Exit(0)
        earliest = pending[0].effective_from
        first = min(first, earliest) if first else earliest
    if first is None:
        raise typer.BadParameter("give --from DATE or --due", param_hint="--from")
    try:
        return Period(first, last)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--to") from None


def _outcomes_file(path: Path) -> dict[str, c.VisitOutcomeRecorded]:
    found: dict[str, c.VisitOutcomeRecorded] = {}
    for line_no, raw in enumerate(path.read_bytes().splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            event = c.parse_event(raw)
        except c.ContractError as exc:
            raise typer.BadParameter(f"line {line_no}: {exc}", param_hint="--baseline") from None
        if not isinstance(event, c.VisitOutcomeRecorded):
            raise typer.BadParameter(f"line {line_no}: not a visit_outcome_recorded",
                                     param_hint="--baseline")
        found[event.visit_id] = event
    return found


def _report(diff: RecalcDiff, out: Path, period: Period, next_step: str) -> None:
    to = period.last.isoformat() if period.last else "today"
    write_report(diff, out, f"Recalculation of visits from {period.first} to {to}", next_step)
    typer.echo(f"{diff.visits_judged} visits judged again, {len(diff.visits)} changed; "
               f"payable £{money(diff.payable_before)} -> £{money(diff.payable_after)}; "
               f"see {out / 'summary.md'}")


@recalc_app.command("show")
def show(
    recalculation_id: Annotated[str, typer.Argument(
        help="From `ecm recalc list` (the sink records one by itself, see docs/rules.md).")],
    out: Annotated[Path, typer.Option("--out", file_okay=False,
                                      help="Directory for visits.csv, providers.csv and "
                                           "summary.md (created if needed).")],
    dsn: str | None = DsnOption,
) -> None:
    """Write a recorded recalculation's difference again, as when it was recorded."""
    with psycopg.connect(_dsn(dsn), autocommit=True) as conn:
        try:
            recorded, diff = store.load(conn, recalculation_id)
        except store.RecalculationError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"{recalculation_id}: {recorded.reason} (by {recorded.created_by},"
               f" {recorded.created_at:%Y-%m-%d %H:%M})")
    _report(diff, out, Period(recorded.from_date, recorded.to_date),
            report.stands(recalculation_id, recorded.visits_changed, recorded.applied_at,
                          recorded.applied_by))


@recalc_app.command("apply")
def apply(
    recalculation_id: Annotated[str, typer.Argument(
        help="From `ecm recalc` or `ecm recalc list`.")],
    by: ByOpt,
    dsn: str | None = DsnOption,
) -> None:
    """Replace the stored outcomes (and so the KPIs) by a recorded recalculation's."""
    with psycopg.connect(_dsn(dsn), autocommit=True) as conn:
        try:
            done = store.apply(conn, recalculation_id, by)
        except store.RecalculationError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"applied {recalculation_id}: {len(done.replaced)} outcomes replaced")
    for visit_id in done.left:
        typer.echo(f"left {visit_id}: its outcome changed after the recalculation; "
                   "run it again to include it", err=True)


@recalc_app.command("list")
def list_recalculations(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    dsn: str | None = DsnOption,
) -> None:
    """List recorded recalculations, latest first, and whether each was applied."""
    with psycopg.connect(_dsn(dsn), autocommit=True) as conn:
        found = store.recalculations(conn)
    if not found:  # with --json, stdout stays empty (one object per recalculation)
        typer.echo("no recalculations recorded", err=as_json)
    for r in found:
        if as_json:
            typer.echo(json.dumps(_as_dict(r)))
            continue
        applied = f"applied {r.applied_at:%Y-%m-%d %H:%M} by {r.applied_by}" if r.applied_at \
            else "not applied"
        typer.echo(f"{r.recalculation_id}  from {r.from_date}  {r.visits_changed}/"
                   f"{r.visits_judged} changed  £{money(r.payable_before)} -> "
                   f"£{money(r.payable_after)}  {applied}  ({r.reason})")


def _as_dict(r: store.Recalculation) -> dict[str, str | None]:
    return {f.name: None if getattr(r, f.name) is None else str(getattr(r, f.name))
            for f in fields(r)}


@recalc_app.command("due")
def list_due(dsn: str | None = DsnOption) -> None:
    """List rules and rates stored with a past effective date that no recalculation covers."""
    with psycopg.connect(_dsn(dsn), autocommit=True) as conn:
        pending = store.due(conn)
    if not pending:
        typer.echo("no retroactive change is due")
    for d in pending:
        typer.echo(f"{d.kind} {d.record_id} effective {d.effective_from}, recorded "
                   f"{d.recorded_at:%Y-%m-%d %H:%M} ({d.event_id})")


def register(app: typer.Typer) -> None:
    """Add ``ecm recalc`` to the main app."""
    app.add_typer(recalc_app, name="recalc")
