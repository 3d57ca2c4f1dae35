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
* an alert keeps its first raise and its latest resolution, in whatever order they come;
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
    """A batch of contract events sorted by what they are stored as."""

    raw: list[ContractEvent] = field(default_factory=list)
    outcomes: dict[str, VisitOutcomeRecorded] = field(default_factory=dict)
    raised: list[AlertRaised] = field(default_factory=list)
    resolved: list[AlertResolved] = field(default_factory=list)
    exceptions: list[VisitExceptionRaised] = field(default_factory=list)

    @classmethod
    def of(cls, events: Iterable[ContractEvent]) -> Batch:
        """Sort ``events``; of several outcomes for one visit only the latest is kept."""
        batch = cls()
        for event in events:
            if isinstance(event, VisitOutcomeRecorded):
                kept = batch.outcomes.get(event.visit_id)
                if kept is None or kept.occurred_at <= event.occurred_at:
                    batch.outcomes[event.visit_id] = event
            elif isinstance(event, AlertRaised):
                batch.raised.append(event)
            elif isinstance(event, AlertResolved):
                batch.resolved.append(event)
            elif isinstance(event, VisitExceptionRaised):
                batch.exceptions.append(event)
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
        many = self._executemany
        return WriteResult(
            raw_events=self._write_raw(conn, batch.raw),
            visit_outcomes=self.write_outcome_rows(
                conn, [outcome_row(o) for o in batch.outcomes.values()]
            ),
            alerts=many(conn, q.UPSERT_ALERT_RAISED, map(alert_raised_row, batch.raised))
            + many(conn, q.UPSERT_ALERT_RESOLVED, map(alert_resolved_row, batch.resolved)),
            visit_exceptions=many(conn, q.INSERT_EXCEPTION, map(exception_row, batch.exceptions)),
            reference=self._write_reference(conn, batch.raw),
        )

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
    def _write_raw(conn: psycopg.Connection[Any], events: Sequence[ContractEvent]) -> int:
        if not events:
            return 0
        with conn.cursor() as cur:
            with cur.copy(q.COPY_RAW) as copy:
                for event in events:
                    copy.write_row(raw_event_row(event))
            cur.execute(q.INSERT_RAW)
            return cur.rowcount

    @staticmethod
    def write_outcome_rows(conn: psycopg.Connection[Any], rows: Sequence[Row]) -> int:
        """Upsert ``visit_outcomes`` rows (one per visit) and refresh the rollups they touch.

        Must run inside the caller's transaction, after ``STAGE_TABLES``; exposed for
        bulk loaders and benchmarks that build rows without models.
        """
        if not rows:
            return 0
        with conn.cursor() as cur:
            with cur.copy(q.COPY_OUTCOMES) as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(q.DROP_STALE_OUTCOMES)
            cur.execute(q.RECORD_TOUCHED)
            cur.execute(q.DELETE_MOVED_OUTCOMES)
            cur.execute(q.UPSERT_OUTCOMES)
            changed = cur.rowcount
            cur.execute(q.REFRESH_TOUCHED_ROLLUPS)
            return changed

    @staticmethod
    def _write_reference(conn: psycopg.Connection[Any], events: Sequence[ContractEvent]) -> int:
        changed = 0
        for event in events:
            spec = REFERENCE_TABLES.get(type(event))
            if spec is not None:
                changed += conn.execute(q.upsert_reference(spec), spec.row(event)).rowcount
        return changed

    @staticmethod
    def _executemany(conn: psycopg.Connection[Any], query: Any, rows: Iterable[Row]) -> int:
        batch = list(rows)
        if not batch:
            return 0
        with conn.cursor() as cur:
            cur.executemany(query, batch, returning=False)
            return max(cur.rowcount, 0)
