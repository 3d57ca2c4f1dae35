"""The database sink agent: batches of records written idempotently at the commit point.

The agent takes up to ``BATCH`` messages (or what arrived within a second), writes them
in one transaction through ``ecm.storage.sink.OutcomeSink``, and only then lets Faust
acknowledge them, so an offset is never committed for a row not in the database. If the
database is down the batch is retried with backoff until it is back: the worker falls
behind (lag grows, an alert fires) but loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import psycopg

from ecm import contracts as c
from ecm import metrics
from ecm.storage.sink import OutcomeSink
from streams.app import Topology

log = logging.getLogger(__name__)

BATCH = 2000
WITHIN_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 15.0


class DatabaseWriter:
    """One connection, reopened when it breaks, and the storage sink on top of it."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: psycopg.Connection[Any] | None = None

    def write(self, events: list[c.ContractEvent]) -> None:
        """Write one batch (blocking; run it in a thread)."""
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._dsn, autocommit=True)
        try:
            OutcomeSink(self._conn).write(events)
        except psycopg.OperationalError:
            self._conn.close()
            self._conn = None
            raise

    async def write_until_done(self, events: list[c.ContractEvent]) -> None:
        """Write a batch, retrying with backoff until the database takes it."""
        delay = 0.5
        while True:
            started = time.perf_counter()
            try:
                await asyncio.to_thread(self.write, events)
            except psycopg.Error as exc:
                metrics.sink_failed("batch")
                log.warning("database write failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
                continue
            metrics.sink_flushed("batch", len(events), time.perf_counter() - started)
            return


def decode_for_database(values: list[bytes]) -> list[c.ContractEvent]:
    """Decode a batch; invalid input is skipped here (the visit agent dead-letters it)."""
    events = []
    for value in values:
        try:
            events.append(c.parse_event(value))
        except c.ContractError:
            continue
    return events


def install_sink(topology: Topology, writer: DatabaseWriter) -> None:
    """Declare the sink agent on the app."""

    @topology.app.agent(topology.to_database, name="database")
    async def database(stream: Any) -> None:
        async for values in stream.take(BATCH, within=WITHIN_SECONDS):
            events = decode_for_database([v for v in values if v is not None])
            if events:
                await writer.write_until_done(events)

    del database
