"""``ecm replay``: run the visit engine over an extract file, in-process."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from ecm.replay import ReplaySummary, replay_file

HELP = "\n\n".join([
    (
        'Replay an extract of contract-v1 events; write outcomes, alerts, exceptions, KPIs '
        'and rota realism.'
    ),
    (
        'INPUT is a JSON Lines file with one contract-v1 event per line, in the order they '
        'arrived: reference data (clients, carers, care packages, rate cards, contract rules) '
        "and the rota and carers' check-ins and check-outs. Nothing else is needed (no Kafka, "
        'no database). The clock is the latest event time seen, in five-minute steps; at the end '
        'every deadline is flushed, or only those up to --until.'
    ),
    (
        'Writes into --out: records.jsonl (every record the live path publishes, in the '
        'order they arose), outcomes.jsonl (one final outcome per planned or unscheduled '
        'visit), alerts.jsonl (every alert raised and resolved, in firing order), '
        'exceptions.jsonl (every exception to reconcile), refused.jsonl (every act the '
        'workflow refused), kpis.csv (one row per provider, lot, service and ISO week, '
        'Europe/London; columns are explained in the README) and rota.csv (rota realism, one '
        'row per provider, lot and ISO week).'
    ),
    (
        'Invalid lines are reported on stderr with their line number and reason, and skipped; '
        'refused acts are reported there too. '
        'Exit status: 0 if every line was valid, 1 if any line was invalid (the outputs are '
        'still written), 2 for a usage error.'
    ),
])


InputArg = Annotated[Path, typer.Argument(
    metavar="INPUT", exists=True, dir_okay=False, help="JSON Lines file of contract-v1 events.")]
OutOpt = Annotated[Path, typer.Option(
    "--out", file_okay=False, help="Directory for the output files (created if needed).")]
UntilOpt = Annotated[datetime | None, typer.Option(
    formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"],
    help="Judge as at this instant (with offset, e.g. 2026-11-23T00:00:00+00:00): later "
         "rota and call events are skipped and only deadlines up to it fire.")]


def replay(input_path: InputArg, out: OutOpt, until: UntilOpt = None) -> None:
    """Replay an extract (see ``HELP``)."""
    if until is not None and until.tzinfo is None:
        raise typer.BadParameter("needs a UTC offset", param_hint="--until")
    summary = _run(input_path, out, until)
    for bad in summary.invalid:
        typer.echo(f"{input_path}:{bad.line_no}: {bad.reason}", err=True)
    for act in summary.refused:
        typer.echo(f"{input_path}:{act.line_no}: {act.event_type} {act.event_id} refused: "
                   f"{act.field}: {act.reason}", err=True)
    typer.echo(
        f"{summary.events} events, {len(summary.invalid)} invalid line(s), "
        f"{len(summary.refused)} refused act(s), "
        f"{summary.outcomes} visits, {summary.alerts} alert records, "
        f"{summary.exceptions} exceptions, {summary.kpi_rows} KPI rows -> {out}",
        err=True,
    )
    # A refused act is a person's mistake the worker also sets aside (dead-letter), not
    # a broken extract: listed, and the replay still succeeds.
    raise typer.Exit(1 if summary.invalid else 0)


def _run(input_path: Path, out: Path, until: datetime | None) -> ReplaySummary:
    if not sys.stderr.isatty():
        return replay_file(input_path, out, until)
    from rich.progress import BarColumn, Progress, TransferSpeedColumn

    with Progress("[progress.description]{task.description}", BarColumn(),
                  TransferSpeedColumn(), transient=True) as bar:
        task = bar.add_task("replaying", total=input_path.stat().st_size)
        return replay_file(input_path, out, until,
                           progress=lambda n: bar.advance(task, n))


def register(app: typer.Typer) -> None:
    """Add ``ecm replay`` to the main app."""
    app.command("replay", help=HELP)(replay)
