"""The storage sink: batches of contract events written idempotently, one transaction each.

Usage (the stream worker calls ``write`` at its commit point)::

    with psycopg.connect(dsn, autocommit=True) as conn:
        sink = OutcomeSink(conn)
        sink.write(events)  # input events, outcomes, alerts and exceptions, mixed

What ``write`` guarantees:

* one transaction per call: everything in the batch is stored, or nothing is;
* idempotence: writing the same events again (a replay, a redelivery) changes no row;
* input events (reference data, rota, calls) are appended to ``raw_events`` and never
  updated; reference events also upsert their versioned reference table;
* the latest ``VisitOutcomeRecorded`` per visit wins (by ``occurred_at``; an older one
  arriving late is ignored) and the KPI rollups of every provider-day and client-week it
  touches (old and new, if the visit moved) are brought up to date in the same
  transaction;
* an alert keeps its first raise; its resolution is the last one sent (the records of one
  visit share a partition, so they arrive in the order they were decided: a later fact
  can move a resolution earlier), and a resolution may arrive before its raise;
* an exception is raised once per ``exception_id`` and may later be resolved (and raised
  again): the last record sent for it wins;
* an exception is recorded once per ``exception_id``;
* closing the loop (docs/rules.md): every workflow act is kept once per ``event_id`` in
  ``workflow_acts``; an ``ExceptionStatusChanged`` moves its exception (a move judged
  before the stored one changes nothing); an ``AlertHandled`` updates its alert; every
  ``AlertHandled`` is a row of ``alert_history`` with when it happened and when ecm
  learned it; a raise and a resolution are kept on the ``alerts`` row with when ecm
  learned them (the Kafka timestamp of the record ecm published, given to ``write`` as
  ``learned_at``), and in ``alert_history`` only when the row does not hold them as first
  told (a later record replaced them), so an alert's timeline (``alert_history`` and the
  raise and resolution of its row) tells each once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from ecm.contracts import (
    AlertHandled,
    AlertMonitoringSet,
    AlertRaised,
    AlertResolved,
    CarerCheckedIn,
    CarerCheckedOut,
    ClientRegistered,
    ContractEvent,
    ExceptionStatusChanged,
    TravelGapJudged,
    VisitExceptionRaised,
    VisitExceptionResolved,
    VisitOutcomeRecorded,
    WorkflowAct,
)
from ecm.contracts.workflow import WORKFLOW_ACTS
from ecm.domain.reference import ClientRecord, ReferenceData
from ecm.storage import sink_sql as q
from ecm.storage.rota_gaps import write_rota_gaps
from ecm.storage.rows import (
    ALERT_HANDLED_COLUMNS,
    EXCEPTION_STATUS_COLUMNS,
    REFERENCE_TABLES,
    ReferenceTable,
    Row,
    alert_handled_row,
    alert_history_row,
    alert_raised_row,
    alert_resolved_row,
    call_measures,
    exception_resolved_row,
    exception_row,
    exception_status_row,
    monitoring_row,
    outcome_row,
    raw_event_row,
    workflow_act_row,
)
from ecm.visits.translate import reference_record


@dataclass
class Batch:
    """A batch of contract events sorted by what they are stored as.

    Of several outcomes for one visit only the latest is kept, of several raises of one
    alert the first, of several resolutions the last sent, of an exception's records the
    last sent, so each table is then changed by one set-based statement.
    """

    raw: list[ContractEvent] = field(default_factory=list)
    outcomes: dict[str, VisitOutcomeRecorded] = field(default_factory=dict)
    raised: dict[str, AlertRaised] = field(default_factory=dict)
    resolved: dict[str, AlertResolved] = field(default_factory=dict)
    exceptions: dict[str, VisitExceptionRaised] = field(default_factory=dict)
    exceptions_resolved: dict[str, VisitExceptionResolved] = field(default_factory=dict)
    acts: list[WorkflowAct] = field(default_factory=list)
    status_changes: list[ExceptionStatusChanged] = field(default_factory=list)
    handled: list[AlertHandled] = field(default_factory=list)
    history: list[Row] = field(default_factory=list)
    gaps: dict[str, TravelGapJudged] = field(default_factory=dict)  # rota realism: last wins

    @classmethod
    def of(
        cls, events: Iterable[ContractEvent], learned_at: Mapping[str, datetime] | None = None
    ) -> Batch:
        """Sort ``events`` (see the class docstring for which of several is kept).

        ``learned_at`` maps an event id to when ecm published it (its Kafka timestamp).
        """
        batch, learned = cls(), learned_at or {}
        for event in events:
            if isinstance(event, AlertRaised | AlertResolved | AlertHandled):
                batch.history.append(alert_history_row(event, learned.get(event.event_id)))
            if isinstance(event, WORKFLOW_ACTS):
                batch.acts.append(event)
            if isinstance(event, ExceptionStatusChanged):
                batch.status_changes.append(event)
            elif isinstance(event, AlertHandled):
                batch.handled.append(event)
            elif isinstance(event, VisitOutcomeRecorded):
                kept = batch.outcomes.get(event.visit_id)
                if kept is None or kept.occurred_at <= event.occurred_at:
                    batch.outcomes[event.visit_id] = event
            elif isinstance(event, AlertRaised):
                first = batch.raised.get(event.alert_id)
                if first is None or event.occurred_at < first.occurred_at:
                    batch.raised[event.alert_id] = event
            elif isinstance(event, AlertResolved):
                batch.resolved[event.alert_id] = event
            elif isinstance(event, VisitExceptionRaised):
                batch.exceptions[event.exception_id] = event
                batch.exceptions_resolved.pop(event.exception_id, None)  # open again
            elif isinstance(event, VisitExceptionResolved):
                batch.exceptions_resolved[event.exception_id] = event
            elif isinstance(event, TravelGapJudged):
                batch.gaps[event.gap_id] = event
            else:
                batch.raw.append(event)
        return batch

    def months(self) -> set[date]:
        """First days of the months whose partitions the batch writes to."""
        days = {o.local_date for o in self.outcomes.values()}
        days |= {e.occurred_at.astimezone(UTC).date() for e in self.raw}
        return {d.replace(day=1) for d in days}


@dataclass(frozen=True)
class WriteResult:
    """How many rows one ``write`` inserted or changed, per table (0 for a replayed batch)."""

    raw_events: int
    visit_outcomes: int
    alerts: int
    visit_exceptions: int
    reference: int
    workflow_acts: int = 0
    alert_history: int = 0
    rota_gaps: int = 0


MAX_UNMEASURED = 50_000
"""Located calls a sink keeps in memory while their client's registration is unknown."""


class OutcomeSink:
    """Writes batches of contract events to the storage tables (see the module docstring).

    Args:
        db: an idle connection (autocommit, or with no transaction open) or a pool.

    """

    def __init__(
        self, db: psycopg.Connection[Any] | ConnectionPool[Any],
        unmeasured: dict[str, CarerCheckedIn | CarerCheckedOut] | None = None,
    ) -> None:
        self._db = db
        self._months: set[date] = set()
        self.unmeasured = unmeasured if unmeasured is not None else {}
        """Located calls stored before their client's registration: their distance is
        written when it arrives. Coordinates live here in memory only, never at rest; a
        sink that replaces this one (a new connection) takes them over."""

    def write(
        self, events: Iterable[ContractEvent], learned_at: Mapping[str, datetime] | None = None
    ) -> WriteResult:
        """Store ``events`` in one transaction and return the rows changed per table.

        ``learned_at`` maps event ids to the Kafka timestamps of their records (when ecm
        published them); raises and resolutions absent from it have no learned time.
        """
        batch = Batch.of(events, learned_at)
        learned = learned_at or {}
        with self._connection() as conn:
            self._ensure_partitions(conn, batch.months())
            with conn.transaction():
                conn.execute(q.STAGE_TABLES)
                result, unmeasured = self._write_batch(conn, batch, learned)
        self.unmeasured = unmeasured  # only once the batch is committed
        return result

    def _write_batch(
        self, conn: psycopg.Connection[Any], batch: Batch, learned: Mapping[str, datetime]
    ) -> tuple[WriteResult, dict[str, CarerCheckedIn | CarerCheckedOut]]:
        outcomes = [outcome_row(o) for o in batch.outcomes.values()]
        acts = _copy_apply(conn, q.COPY_ACTS, q.INSERT_ACTS, map(workflow_act_row, batch.acts))
        reference = self._write_reference(conn, batch.raw)  # first: calls measure against it
        clients, known = _clients_of(conn, [*batch.raw, *self.unmeasured.values()])
        unmeasured = self._measure_waiting(conn, clients, known, batch.raw)
        return WriteResult(
            raw_events=self.write_raw_rows(conn, [raw_event_row(e, clients) for e in batch.raw]),
            visit_outcomes=self.write_outcome_rows(conn, outcomes),
            alerts=_write_alerts(conn, batch, learned),
            visit_exceptions=self._write_exceptions(conn, batch),
            reference=reference,
            workflow_acts=acts,
            alert_history=_copy_apply(conn, q.COPY_HISTORY, q.INSERT_HISTORY, batch.history),
            rota_gaps=write_rota_gaps(conn, batch.gaps.values()),
        ), unmeasured  # fmt: skip

    def _measure_waiting(
        self, conn: psycopg.Connection[Any], clients: ReferenceData | None, known: set[str],
        events: Sequence[ContractEvent],
    ) -> dict[str, CarerCheckedIn | CarerCheckedOut]:
        """Write the distances of calls that were waiting for their client's registration.

        Returns the calls still waiting — those of clients not registered yet, this batch's
        included — at most ``MAX_UNMEASURED``, the oldest forgotten first (their distance
        then stays unknown, as a registration without a location leaves it).
        """
        waiting, measured = dict(self.unmeasured), []
        for event_id, call in list(waiting.items()):
            if call.client_id in known:
                distance, _ = call_measures(call, clients)
                if distance is not None:
                    measured.append((distance, event_id, call.occurred_at))
                del waiting[event_id]
        _execute_each(conn, q.MEASURE_CALL, measured)
        for event in events:
            if (isinstance(event, CarerCheckedIn | CarerCheckedOut) and event.location is not None
                    and event.client_id not in known):
                waiting[event.event_id] = event
        while len(waiting) > MAX_UNMEASURED:
            del waiting[next(iter(waiting))]
        return waiting

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if isinstance(self._db, ConnectionPool):
            with self._db.connection() as conn:
                yield conn
        else:
            yield self._db

    def _ensure_partitions(self, conn: psycopg.Connection[Any], months: set[date]) -> None:
        # Outside the batch transaction: creating a partition locks its parent briefly.
        for month in sorted(months - self._months):
            with conn.transaction():
                conn.execute(q.ENSURE_PARTITIONS, (month,))
            self._months.add(month)

    @staticmethod
    def write_raw_rows(conn: psycopg.Connection[Any], rows: Sequence[Row]) -> int:
        """Append ``raw_events`` rows not stored yet (by event id); return how many were new.

        Must run inside the caller's transaction, after ``STAGE_TABLES``.
        """
        return _copy_apply(conn, q.COPY_RAW, q.INSERT_RAW, rows)

    @staticmethod
    def write_outcome_rows(
        conn: psycopg.Connection[Any], rows: Sequence[Row], steps: dict[str, float] | None = None
    ) -> int:
        """Write ``visit_outcomes`` rows (one per visit) and bring the rollups up to date.

        A row older than the stored outcome of its visit, or of the same event, changes
        nothing; a revision on the same day updates its row in place; a visit moved to
        another day loses its old row. The rollups gain the difference between the new
        rows and those they replace. ``visit_latest`` is kept
        in step, so loaders that write ``visit_outcomes`` directly must rebuild it
        (``SELECT ecm_rebuild_visit_latest()``).

        Must run inside the caller's transaction, after ``STAGE_TABLES``; exposed for
        bulk loaders and benchmarks that build rows without models. ``steps``, if given,
        gains the seconds spent in each step (copy, prior, write, visit_latest, rollups).

        Returns:
            The number of visits inserted or changed.

        """
        if not rows:
            return 0
        clock = _Steps(steps)
        with conn.cursor() as cur:
            _copy(cur, q.COPY_OUTCOMES, rows)
            clock.lap("copy")
            cur.execute(q.FIND_PRIOR)
            known = cur.rowcount
            clock.lap("prior")
            if known:
                cur.execute(q.DROP_STALE_OUTCOMES)
                cur.execute(q.KEEP_REPLACED)
                moved = cur.execute(q.MOVED_OUTCOMES).fetchall()
                if moved:
                    cur.executemany(q.DELETE_OUTCOME, moved)
                changed = cur.execute(q.UPDATE_OUTCOMES).rowcount
                changed += cur.execute(q.INSERT_OUTCOMES).rowcount
            else:
                changed = cur.execute(q.INSERT_ALL_OUTCOMES).rowcount
            clock.lap("write")
            if changed:
                if known:
                    cur.execute(q.UPDATE_VISIT_LATEST)
                cur.execute(q.INSERT_VISIT_LATEST)
                clock.lap("visit_latest")
                cur.execute(q.REFRESH_BATCH_ROLLUPS)
                clock.lap("rollups")
            return changed

    @staticmethod
    def _write_exceptions(conn: psycopg.Connection[Any], batch: Batch) -> int:
        resolved = [exception_resolved_row(e) for e in batch.exceptions_resolved.values()]
        changed = _copy_apply(conn, q.COPY_EXCEPTIONS, q.UPSERT_EXCEPTIONS,
                              map(exception_row, batch.exceptions.values()))
        if resolved:
            with conn.cursor() as cur:
                cur.executemany(q.RESOLVE_EXCEPTION, resolved)
                changed += max(cur.rowcount, 0)
        moves = [_named(EXCEPTION_STATUS_COLUMNS, exception_status_row(e))
                 for e in batch.status_changes]
        return changed + _execute_each(conn, q.UPSERT_EXCEPTION_STATUS, moves)

    @staticmethod
    def _write_reference(conn: psycopg.Connection[Any], events: Sequence[ContractEvent]) -> int:
        """Upsert the batch's reference records, each table's in the order they came."""
        monitoring = [monitoring_row(e) for e in events if isinstance(e, AlertMonitoringSet)]
        by_table: dict[ReferenceTable, list[Row]] = {}  # no foreign keys between them
        for event in events:
            spec = REFERENCE_TABLES.get(type(event))
            if spec is not None:
                by_table.setdefault(spec, []).append(spec.row(event))
        return _execute_each(conn, q.UPSERT_MONITORING, monitoring) + sum(
            _execute_each(conn, q.upsert_reference(spec), rows) for spec, rows in by_table.items())


def _clients_of(
    conn: psycopg.Connection[Any], events: Sequence[ContractEvent]
) -> tuple[ReferenceData | None, set[str]]:
    """The registrations of the clients whose calls in ``events`` carry a location.

    Returns them as reference data, and the ids of the clients registered at all.
    """
    ids = sorted({e.client_id for e in events
                  if isinstance(e, CarerCheckedIn | CarerCheckedOut) and e.location is not None})
    if not ids:
        return None, set()
    reference, known = ReferenceData(), set()
    for (stored,) in conn.execute(q.CLIENT_REGISTRATIONS, (ids,)):
        record = reference_record(ClientRegistered.model_validate(stored))
        if isinstance(record, ClientRecord):
            reference.add(record)
            known.add(record.client_id)
    return reference, known


class _Steps:
    """Adds the seconds since the previous lap to ``into[name]`` (nothing if ``into`` is None)."""

    def __init__(self, into: dict[str, float] | None) -> None:
        self._into = into
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        if self._into is not None:
            now = time.perf_counter()
            self._into[name] = self._into.get(name, 0.0) + now - self._last
            self._last = now


def _copy(cur: psycopg.Cursor[Any], staged: q.Staged, rows: Iterable[Row]) -> None:
    """COPY ``rows`` into a staging table, in binary (``sink_sql.Staged``)."""
    types = _STAGED_TYPES.get(staged) or _staged_types(cur, staged)
    with cur.copy(staged.copy) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


_STAGED_TYPES: dict[q.Staged, list[int]] = {}
"""The column types of each staging table, once read (built-in types only: their ids are
the same in every database)."""

FIRST_USER_OID = 16384
"""PostgreSQL's ``FirstNormalObjectId``: ids below it are built in."""


def _staged_types(cur: psycopg.Cursor[Any], staged: q.Staged) -> list[int]:
    types = [row[0] for row in cur.execute(q.STAGED_TYPES, (list(staged.columns), staged.table))]
    if len(types) != len(staged.columns):
        raise RuntimeError(f"{staged.table} lacks some of the columns {staged.columns}")
    if all(oid < FIRST_USER_OID for oid in types):
        _STAGED_TYPES[staged] = types
    return types


def _copy_apply(
    conn: psycopg.Connection[Any], staged: q.Staged, apply_sql: Any, rows: Iterable[Row]
) -> int:
    """COPY ``rows`` into a staging table, then run ``apply_sql``; return its row count."""
    batch = list(rows)
    if not batch:
        return 0
    with conn.cursor() as cur:
        _copy(cur, staged, batch)
        cur.execute(apply_sql)
        return max(cur.rowcount, 0)


def _write_alerts(
    conn: psycopg.Connection[Any], batch: Batch, learned: Mapping[str, datetime]
) -> int:
    """Write the batch's raises, resolutions and handling to ``alerts``; return rows changed.

    A raise or resolution the batch replaces goes to ``alert_history`` first, as it was
    first told (``KEEP_REPLACED_ALERT_STEPS``); the batch's own history rows are written
    after this, so an ``AlertHandled`` already there (a redelivery) changes nothing.
    """
    changed = 0
    if batch.raised or batch.resolved:
        with conn.cursor() as cur:
            _copy(cur, q.COPY_RAISED, [alert_raised_row(a, learned.get(a.event_id))
                                       for a in batch.raised.values()])
            _copy(cur, q.COPY_RESOLVED, [alert_resolved_row(a, learned.get(a.event_id))
                                         for a in batch.resolved.values()])
            cur.execute(q.KEEP_REPLACED_ALERT_STEPS)
            changed = max(cur.execute(q.UPSERT_ALERTS).rowcount, 0)
    handled = [_named(ALERT_HANDLED_COLUMNS, alert_handled_row(a)) for a in batch.handled]
    return changed + _execute_each(conn, q.UPSERT_ALERT_HANDLED, handled)


def _named(columns: Sequence[str], row: Row) -> dict[str, Any]:
    return dict(zip(columns, row, strict=True))


def _execute_each(conn: psycopg.Connection[Any], statement: Any, params: Sequence[Any]) -> int:
    """Run ``statement`` once per parameter set, in order; return the rows changed.

    One ``executemany``: psycopg pipelines it (every statement sent before any answer is
    awaited), where a loop of ``execute`` waited for the server once per act; the row
    count is the sum over all of them.
    """
    if not params:
        return 0
    with conn.cursor() as cur:
        cur.executemany(statement, params)
        return max(cur.rowcount, 0)
