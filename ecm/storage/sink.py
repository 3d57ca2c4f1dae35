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
  touches (old and new, if the visit moved) are recomputed in the same transaction;
* an alert keeps its first raise; its resolution is the last one sent (the records of one
  visit share a partition, so they arrive in the order they were decided: a later fact
  can move a resolution earlier), and a resolution may arrive before its raise;
* an exception is raised once per ``exception_id`` and may later be resolved (and raised
  again): the last record sent for it wins;
* an exception is recorded once per ``exception_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from ecm.contracts import (
    AlertRaised,
    AlertResolved,
    ContractEvent,
    VisitExceptionRaised,
    VisitExceptionResolved,
    VisitOutcomeRecorded,
)
from ecm.storage import sink_sql as q
from ecm.storage.rows import (
    REFERENCE_TABLES,
    Row,
    alert_raised_row,
    alert_resolved_row,
    exception_row,
    outcome_row,
    raw_event_row,
)


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

    @classmethod
    def of(cls, events: Iterable[ContractEvent]) -> Batch:
        """Sort ``events`` (see the class docstring for which of several is kept)."""
        batch = cls()
        for event in events:
            if isinstance(event, VisitOutcomeRecorded):
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


class OutcomeSink:
    """Writes batches of contract events to the storage tables (see the module docstring).

    Args:
        db: an idle connection (autocommit, or with no transaction open) or a pool.

    """

    def __init__(self, db: psycopg.Connection[Any] | ConnectionPool[Any]) -> None:
        self._db = db
        self._months: set[date] = set()

    def write(self, events: Iterable[ContractEvent]) -> WriteResult:
        """Store ``events`` in one transaction and return the rows changed per table."""
        batch = Batch.of(events)
        with self._connection() as conn:
            self._ensure_partitions(conn, batch.months())
            with conn.transaction():
                conn.execute(q.STAGE_TABLES)
                return self._write_batch(conn, batch)

    def _write_batch(self, conn: psycopg.Connection[Any], batch: Batch) -> WriteResult:
        outcomes = [outcome_row(o) for o in batch.outcomes.values()]
        return WriteResult(
            raw_events=self.write_raw_rows(conn, [raw_event_row(e) for e in batch.raw]),
            visit_outcomes=self.write_outcome_rows(conn, outcomes),
            alerts=_copy_apply(conn, q.COPY_RAISED, q.UPSERT_ALERT_RAISED,
                               map(alert_raised_row, batch.raised.values()))
            + _copy_apply(conn, q.COPY_RESOLVED, q.UPSERT_ALERT_RESOLVED,
                          map(alert_resolved_row, batch.resolved.values())),
            visit_exceptions=self._write_exceptions(conn, batch),
            reference=self._write_reference(conn, batch.raw),
        )  # fmt: skip

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
    def write_outcome_rows(conn: psycopg.Connection[Any], rows: Sequence[Row]) -> int:
        """Upsert ``visit_outcomes`` rows (one per visit) and refresh the rollups they touch.

        A row older than the stored outcome of its visit, or of the same event, changes
        nothing; a visit moved to another day loses its old row. ``visit_latest`` is kept
        in step, so loaders that write ``visit_outcomes`` directly must rebuild it
        (``SELECT ecm_rebuild_visit_latest()``).

        Must run inside the caller's transaction, after ``STAGE_TABLES``; exposed for
        bulk loaders and benchmarks that build rows without models.

        Returns:
            The number of visits inserted or changed.

        """
        if not rows:
            return 0
        with conn.cursor() as cur:
            _copy(cur, q.COPY_OUTCOMES, rows)
            cur.execute(q.FIND_PRIOR)
            if cur.rowcount:
                cur.execute(q.DROP_STALE_OUTCOMES)
                moved = cur.execute(q.MOVED_OUTCOMES).fetchall()
                if moved:
                    cur.executemany(q.DELETE_OUTCOME, moved)
            cur.execute(q.UPSERT_OUTCOMES)
            changed = cur.rowcount
            if changed:
                cur.execute(q.UPSERT_VISIT_LATEST)
                cur.execute(q.REFRESH_TOUCHED_ROLLUPS)
            return changed

    @staticmethod
    def _write_exceptions(conn: psycopg.Connection[Any], batch: Batch) -> int:
        resolved = [
            (e.occurred_at, e.event_id, e.exception_id) for e in batch.exceptions_resolved.values()
        ]
        changed = _copy_apply(conn, q.COPY_EXCEPTIONS, q.UPSERT_EXCEPTIONS,
                              map(exception_row, batch.exceptions.values()))
        if resolved:
            with conn.cursor() as cur:
                cur.executemany(q.RESOLVE_EXCEPTION, resolved)
                changed += max(cur.rowcount, 0)
        return changed

    @staticmethod
    def _write_reference(conn: psycopg.Connection[Any], events: Sequence[ContractEvent]) -> int:
        changed = 0
        for event in events:
            spec = REFERENCE_TABLES.get(type(event))
            if spec is not None:
                changed += conn.execute(q.upsert_reference(spec), spec.row(event)).rowcount
        return changed


def _copy(cur: psycopg.Cursor[Any], copy_sql: Any, rows: Iterable[Row]) -> None:
    with cur.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row(row)


def _copy_apply(
    conn: psycopg.Connection[Any], copy_sql: Any, apply_sql: Any, rows: Iterable[Row]
) -> int:
    """COPY ``rows`` into a staging table, then run ``apply_sql``; return its row count."""
    batch = list(rows)
    if not batch:
        return 0
    with conn.cursor() as cur:
        _copy(cur, copy_sql, batch)
        cur.execute(apply_sql)
        return max(cur.rowcount, 0)
