"""Recalculations in the database: the events to judge again, the record, the apply step.

``ecm recalc`` reads what it judges again from here (``reference_records``,
``visit_events``) and the outcomes it compares with (``stored_outcomes``), then records
the difference (``record``). Nothing replaces a stored outcome until ``apply``, which
writes the recalculated outcomes through the sink's own upsert (so the KPI rollups follow)
and stamps the record applied, in one transaction. A visit whose stored outcome changed
after the recalculation was recorded is left as it is and reported: applying would
overwrite a newer judgement. Rules: docs/rules.md, "Recalculation".
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ecm import contracts as c
from ecm.domain.events import CarerCall, VisitEvent
from ecm.recalc.diff import Figures, ProviderChange, RecalcDiff, VisitChange, compare, figures_of
from ecm.recalc.rejudge import Period, rejudge
from ecm.storage import sink_sql as q
from ecm.storage.records import OUTCOME_EVENT_COLUMNS, outcome_event
from ecm.storage.rows import VISIT_INPUT_TYPES, outcome_row, stored_input_fields
from ecm.storage.sink import OutcomeSink
from ecm.visits.translate import ReferenceRecord, reference_record, visit_event, workflow_act

REFERENCE_TABLES = ("providers", "clients", "carers", "care_packages", "rate_cards",
                    "contract_rules", "reason_code_lists", "alert_monitoring")
"""The tables whose stored events are the reference data visits are judged against."""

_PERIOD_VISITS = ("SELECT visit_id FROM visit_outcomes WHERE local_date >= %(first)s"
                  " AND (%(last)s::date IS NULL OR local_date <= %(last)s)")


def reference_records(conn: psycopg.Connection[Any]) -> Iterator[ReferenceRecord]:
    """Every stored version of every reference record, as the engine reads them."""
    for table in REFERENCE_TABLES:
        query = sql.SQL("SELECT payload FROM {} ORDER BY event_id").format(
            sql.Identifier(table))
        for (payload,) in conn.execute(query):
            event = c.parse_event(payload)
            assert isinstance(event, c.ReferenceEvent)
            record = reference_record(event)
            if record is not None:
                yield record


def visit_events(conn: psycopg.Connection[Any], period: Period) -> Iterator[VisitEvent]:
    """Every stored event of the visits of ``period`` with an outcome, as domain values.

    The rota and calls come from ``raw_events`` (a call with its stored distance and
    accuracy: the coordinates were never kept), the acts of people from ``workflow_acts``.
    """
    bounds = {"first": period.first, "last": period.last, "inputs": list(VISIT_INPUT_TYPES)}
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT * FROM raw_events WHERE visit_id IN (" + _PERIOD_VISITS + ")"
            " AND event_type = ANY(%(inputs)s)", bounds)
        for row in cur:
            event = c.parse_event({
                **stored_input_fields(row), "event_id": row["event_id"],
                "event_type": row["event_type"], "provider_id": row["provider_id"],
                "visit_id": row["visit_id"], "occurred_at": row["occurred_at"]})
            assert isinstance(event, c.ScheduleEvent | c.CallEvent)
            domain = visit_event(event)
            if isinstance(domain, CarerCall):
                domain = replace(domain, distance_m=row["distance_m"],
                                 accuracy_m=row["accuracy_m"])
            yield domain
    acts = conn.execute(f"SELECT payload FROM workflow_acts WHERE visit_id IN ({_PERIOD_VISITS})",
                        bounds)
    for (payload,) in acts:
        act = c.parse_event(payload)
        assert isinstance(act, c.WorkflowAct)
        yield workflow_act(act)


def stored_outcomes(conn: psycopg.Connection[Any], period: Period
                    ) -> dict[str, c.VisitOutcomeRecorded]:
    """The stored outcome of every visit of ``period``, by visit id."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {OUTCOME_EVENT_COLUMNS} FROM visit_outcomes"
                    " WHERE local_date >= %(first)s"
                    " AND (%(last)s::date IS NULL OR local_date <= %(last)s)",
                    {"first": period.first, "last": period.last})
        return {row["visit_id"]: outcome_event(row) for row in cur}


@dataclass(frozen=True, slots=True)
class Recalculation:
    """A recorded recalculation: what it covered, by whom, its totals, whether applied."""

    recalculation_id: str
    from_date: date
    to_date: date | None
    reason: str
    source: str
    created_by: str
    created_at: datetime
    visits_judged: int
    visits_changed: int
    payable_before: Decimal
    payable_after: Decimal
    applied_by: str | None
    applied_at: datetime | None


def recalculate(
    conn: psycopg.Connection[Any], period: Period, now: datetime, *, reason: str, by: str,
    covers: Sequence[str],
) -> tuple[str, RecalcDiff]:
    """Judge the stored visits of ``period`` again as at ``now`` and record the difference.

    The stored outcomes are read first, then the events: a visit the worker judges again
    meanwhile (a late call) is compared with its older outcome, so ``apply`` leaves it as
    it is rather than overwrite the newer one with a judgement that missed the call.
    ``covers``: the changes due it answers (``covered_by``, read before the reference
    data). Returns the recalculation's id and its difference. Applies nothing.
    """
    stored = stored_outcomes(conn, period)
    outcomes = rejudge(list(reference_records(conn)), list(visit_events(conn, period)),
                       period, now)
    diff = compare(stored, outcomes)
    return record(conn, diff, period, reason=reason, source="database", by=by,
                  covers=covers), diff


def covered_by(conn: psycopg.Connection[Any], period: Period) -> list[DueChange]:
    """The changes due that a recalculation of ``period`` answers (read it before judging)."""
    return [d for d in due(conn) if period.covers(d.effective_from)]


AUTOMATIC_LOCK = 0x65636D7265  # "ecmre": one automatic recalculation at a time, any sink


def recalculate_due(
    conn: psycopg.Connection[Any], now: datetime, *, by: str, settle_seconds: float,
) -> tuple[str, RecalcDiff] | None:
    """Record a recalculation of every change due, once the latest has settled.

    What the database sink does by itself after storing a backdated rule or rate
    (docs/rules.md, "Recalculation"): from the earliest change due, with no end, as at
    ``now``. Nothing happens while another sink's recalculation runs, when nothing is due,
    or while a change due was noticed less than ``settle_seconds`` ago (its siblings, and
    the events stored with it, may still be on their way): ``None``.
    """
    locked = conn.execute("SELECT pg_try_advisory_lock(%s)", (AUTOMATIC_LOCK,)).fetchone()
    if not (locked and locked[0]):
        return None
    try:
        pending = due(conn)
        if not pending or not due_settled(conn, settle_seconds):
            return None
        reason = "; ".join(f"{d.kind} {d.record_id} effective {d.effective_from}, recorded"
                           f" {d.recorded_at.date()}" for d in pending)
        return recalculate(conn, Period(pending[0].effective_from), now,
                           reason=f"automatic: {reason}", by=by,
                           covers=[d.event_id for d in pending])
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (AUTOMATIC_LOCK,))


def automatic_running(conn: psycopg.Connection[Any]) -> bool:
    """Whether a sink holds ``AUTOMATIC_LOCK`` (a bigint key: its halves in ``pg_locks``)."""
    found = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1)",
        (AUTOMATIC_LOCK >> 32, AUTOMATIC_LOCK & 0xFFFFFFFF)).fetchone()
    return bool(found and found[0])


def due_settled(conn: psycopg.Connection[Any], settle_seconds: float) -> bool:
    """Whether changes are due and the latest was noticed ``settle_seconds`` ago or more."""
    settled = conn.execute(
        "SELECT max(noticed_at) <= now() - make_interval(secs => %s)"
        " FROM recalculations_due WHERE recalculation_id IS NULL", (settle_seconds,)).fetchone()
    return bool(settled and settled[0])


def record(
    conn: psycopg.Connection[Any], diff: RecalcDiff, period: Period, *, reason: str,
    source: str, by: str, covers: Sequence[str],
) -> str:
    """Record a recalculation, every visit it changes and its money per provider.

    Marks the changes due named in ``covers`` (event ids) as covered by it. Returns its
    id. Applies nothing.
    """
    recalculation_id = f"recalc-{datetime.now().astimezone():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    with conn.transaction():
        conn.execute(
            "INSERT INTO recalculations (recalculation_id, from_date, to_date, reason, source,"
            " created_by, visits_judged, visits_changed, payable_before, payable_after)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (recalculation_id, period.first, period.last, reason, source, by,
             diff.visits_judged, len(diff.visits), diff.payable_before, diff.payable_after))
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO recalculation_visits (recalculation_id, {_VISIT_COLUMNS})"
                f" VALUES (%s, {', '.join(['%s'] * len(_VISIT_COLUMNS.split(',')))})",
                [(recalculation_id, *_visit_row(v)) for v in diff.visits])
            cur.executemany(
                f"INSERT INTO recalculation_providers (recalculation_id, {_PROVIDER_COLUMNS})"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [(recalculation_id, p.provider_id, p.visits_judged, p.visits_changed,
                  p.payable_before, p.payable_after, p.verified_before, p.verified_after)
                 for p in diff.providers.values()])
        conn.execute(
            "UPDATE recalculations_due SET recalculation_id = %s WHERE recalculation_id IS NULL"
            " AND event_id = ANY(%s)", (recalculation_id, list(covers)))
    return recalculation_id


_VISIT_COLUMNS = (
    "visit_id, local_date, provider_id, changes, status_before, status_after,"
    " payable_before, payable_after, verified_before, verified_after, trust_before,"
    " trust_after, judged_by_before, judged_by_after, event_id_before, outcome, outcome_before")
_PROVIDER_COLUMNS = ("provider_id, visits_judged, visits_changed, payable_before,"
                     " payable_after, verified_before, verified_after")


def _visit_row(v: VisitChange) -> tuple[Any, ...]:
    before, after = v.before, v.after
    return (
        v.visit_id, v.local_date, v.provider_id, list(v.changes),
        before.status if before else None, after.status,
        before.payable_gbp if before else None, after.payable_gbp,
        before.verified_gbp if before else None, after.verified_gbp,
        before.trust_score if before else None, after.trust_score,
        before.judged_by if before else None, after.judged_by, v.before_event_id,
        Jsonb(v.outcome.model_dump(mode="json")),
        Jsonb(v.stored.model_dump(mode="json")) if v.stored else None,
    )


def load(conn: psycopg.Connection[Any], recalculation_id: str, limit: int | None = None
         ) -> tuple[Recalculation, RecalcDiff]:
    """A recorded recalculation and its difference, as it was when recorded.

    ``limit``: at most that many visits (by provider, day and id; a page lists the first
    ones), where the recalculation's ``visits_changed`` says how many there are.

    One recorded before migration 0021 kept neither the stored outcomes it compared with
    nor its money per provider: its visits' before figures are those its columns kept
    (the others read as unchanged, or unknown: no punctuality, not short, no seconds), and
    its providers are summed from the visits that changed.

    Raises:
        RecalculationError: no such recalculation.

    """
    found = [r for r in _recalculations(conn, "WHERE recalculation_id = %s",
                                        (recalculation_id,))]
    if not found:
        raise RecalculationError(f"recalculation_id: {recalculation_id} does not exist")
    diff = RecalcDiff()
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {_VISIT_COLUMNS} FROM recalculation_visits"
                    " WHERE recalculation_id = %s ORDER BY provider_id, local_date, visit_id"
                    " LIMIT %s", (recalculation_id, limit))
        diff.visits = [_visit_change(row) for row in cur]
        cur.execute(f"SELECT {_PROVIDER_COLUMNS} FROM recalculation_providers"
                    " WHERE recalculation_id = %s", (recalculation_id,))
        diff.providers = {row["provider_id"]: ProviderChange(**row) for row in cur}
    if not diff.providers:
        for v in diff.visits:
            p = diff.providers.setdefault(v.provider_id, ProviderChange(v.provider_id))
            p.visits_changed += 1
            p.payable_before += v.before.payable_gbp if v.before else 0
            p.payable_after += v.after.payable_gbp
            p.verified_before += v.before.verified_gbp if v.before else 0
            p.verified_after += v.after.verified_gbp
    return found[0], diff


def _visit_change(row: dict[str, Any]) -> VisitChange:
    outcome = c.parse_event(row["outcome"])
    assert isinstance(outcome, c.VisitOutcomeRecorded)
    stored = c.parse_event(row["outcome_before"]) if row["outcome_before"] else None
    assert stored is None or isinstance(stored, c.VisitOutcomeRecorded)
    after = figures_of(outcome)
    before: Figures | None = figures_of(stored) if stored else None
    if stored is None and row["status_before"] is not None:
        changed = set(row["changes"])
        before = Figures(
            status=row["status_before"],
            punctuality=None if "punctuality" in changed else after.punctuality,
            short=False if "short" in changed else after.short,
            delivered_seconds=0 if "delivered_seconds" in changed else after.delivered_seconds,
            payable_gbp=row["payable_before"], verified_gbp=row["verified_before"],
            trust_score=row["trust_before"], judged_by=row["judged_by_before"])
    return VisitChange(row["visit_id"], row["provider_id"], row["local_date"],
                       tuple(row["changes"]), before, after, row["event_id_before"], outcome,
                       stored)


@dataclass(frozen=True, slots=True)
class Applied:
    """What ``apply`` did: the visits whose outcome it replaced, and those it left."""

    replaced: tuple[str, ...]
    left: tuple[str, ...]
    """Visits whose stored outcome changed after the recalculation was recorded."""


class RecalculationError(Exception):
    """A recalculation that does not exist or was already applied."""


def apply(conn: psycopg.Connection[Any], recalculation_id: str, by: str) -> Applied:
    """Replace the stored outcomes by the recalculated ones, once, and record who did it.

    Raises:
        RecalculationError: no such recalculation, or it was applied already.

    """
    with conn.transaction():
        found = conn.execute(
            "SELECT applied_at FROM recalculations WHERE recalculation_id = %s FOR UPDATE",
            (recalculation_id,)).fetchone()
        if found is None:
            raise RecalculationError(f"recalculation_id: {recalculation_id} does not exist")
        if found[0] is not None:
            raise RecalculationError(
                f"recalculation_id: {recalculation_id} was applied at {found[0].isoformat()}")
        rows = conn.execute(
            "SELECT r.visit_id, r.outcome, r.event_id_before IS NOT DISTINCT FROM o.event_id"
            " FROM recalculation_visits r LEFT JOIN visit_latest l USING (visit_id)"
            " LEFT JOIN visit_outcomes o ON o.visit_id = l.visit_id AND o.local_date = l.local_date"
            " WHERE r.recalculation_id = %s ORDER BY r.visit_id", (recalculation_id,)).fetchall()
        current = [(v, o) for v, o, unchanged in rows if unchanged]
        left = tuple(v for v, _, unchanged in rows if not unchanged)
        _write(conn, [o for _, o in current])
        conn.execute("UPDATE recalculations SET applied_by = %s, applied_at = now()"
                     " WHERE recalculation_id = %s", (by, recalculation_id))
    return Applied(tuple(v for v, _ in current), left)


def _write(conn: psycopg.Connection[Any], outcomes: Sequence[dict[str, Any]]) -> None:
    records = [c.parse_event(o) for o in outcomes]
    conn.execute(q.STAGE_TABLES)
    OutcomeSink.write_outcome_rows(
        conn, [outcome_row(r) for r in records if isinstance(r, c.VisitOutcomeRecorded)])


def recalculations(conn: psycopg.Connection[Any]) -> list[Recalculation]:
    """Every recorded recalculation, latest first."""
    return _recalculations(conn, "", ())


def _recalculations(conn: psycopg.Connection[Any], where: str, params: tuple[Any, ...]
                    ) -> list[Recalculation]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT recalculation_id, from_date, to_date, reason, source, created_by,"
                    " created_at, visits_judged, visits_changed, payable_before, payable_after,"
                    f" applied_by, applied_at FROM recalculations {where}"
                    " ORDER BY created_at DESC, recalculation_id", params)
        return [Recalculation(**row) for row in cur]


@dataclass(frozen=True, slots=True)
class DueChange:
    """A rule or rate stored with an effective date before the day it was recorded."""

    event_id: str
    kind: str
    record_id: str
    effective_from: date
    recorded_at: datetime


def due(conn: psycopg.Connection[Any]) -> list[DueChange]:
    """The retroactive changes no recalculation has covered yet, earliest effective first."""
    rows = conn.execute(
        "SELECT event_id, kind, record_id, effective_from, recorded_at FROM recalculations_due"
        " WHERE recalculation_id IS NULL ORDER BY effective_from, event_id").fetchall()
    return [DueChange(*row) for row in rows]
