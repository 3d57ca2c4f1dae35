"""The database sink: batches of records written idempotently, committed only once stored.

A consumer group of its own reads the inputs, reference data and every output topic,
writes each batch in one transaction through ``ecm.storage.sink.OutcomeSink``, and only
then commits the batch's offsets, so an offset is never committed for a row not in the
database. If the database is down the batch is retried with backoff until it is back:
the sink falls behind (lag grows, an alert fires) but loses nothing. Being outside the
Faust agents, a slow or unreachable database never holds up a rebalance of the visits.

Once caught up, the sink also records, by itself, a recalculation of any backdated rule
or rate it stored (``streams.recalculation``), for a contract manager to read before
anyone applies it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Coroutine, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError

from ecm import contracts as c
from ecm import metrics
from ecm.kafka.admin import ensure_topics
from ecm.kafka.connection import aiokafka_options
from ecm.settings import Settings, get_settings
from ecm.storage.sink import OutcomeSink
from ecm.topics import SINK_INPUTS, sink_group
from streams.recalculation import DueRecalculation

log = logging.getLogger(__name__)

BATCH = 2000
MAX_BACKOFF_SECONDS = 15.0


class DatabaseWriter:
    """One connection, reopened when it breaks, and the storage sink on top of it."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: psycopg.Connection[Any] | None = None
        self._sink: OutcomeSink | None = None

    def write(
        self, events: list[c.ContractEvent], learned_at: Mapping[str, datetime] | None = None
    ) -> None:
        """Write one batch (blocking; run it in a thread)."""
        if self._conn is None or self._conn.closed or self._sink is None:
            self._conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=5)
            # One sink for the connection's life, handing over what it keeps in memory
            # (calls waiting for their client's registration) when the connection changes.
            self._sink = OutcomeSink(self._conn, self._sink.unmeasured if self._sink else None)
        try:
            self._sink.write(events, learned_at)
        except psycopg.Error:
            self._conn.close()
            self._conn = None
            raise

    async def write_until_done(
        self, events: list[c.ContractEvent], learned_at: Mapping[str, datetime] | None = None
    ) -> None:
        """Write a batch, retrying with backoff until the database takes it."""
        delay = 0.5
        while True:
            started = time.perf_counter()
            try:
                await _to_the_end(asyncio.to_thread(self.write, events, learned_at))
            except psycopg.Error as exc:
                metrics.sink_failed("batch")
                log.warning("database write failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
                continue
            metrics.sink_flushed("batch", len(events), time.perf_counter() - started)
            return


async def _to_the_end(write: Coroutine[Any, Any, None]) -> None:
    """Await a write in its thread; if cancelled meanwhile, wait for the thread first.

    A thread cannot be stopped: cancelled (SIGTERM), the sink would otherwise leave its
    consumer group while its transaction still runs, and the partitions' next owner,
    writing the same records and later ones, could commit first and be overwritten by
    the older batch (each transaction reads what is stored before it writes).
    """
    task = asyncio.ensure_future(write)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task  # ended either way: committed or rolled back
        raise


def decode_for_database(
    records: Iterable[tuple[bytes | None, int | None]],
) -> tuple[list[c.ContractEvent], dict[str, datetime]]:
    """Decode a batch of (value, Kafka timestamp in ms) records.

    Returns the events and, by event id, when each record was published (the moment ecm
    learned what an output says: an alert's raise or resolution). What is not an event is
    skipped here (the agents dead-letter it).
    """
    events: list[c.ContractEvent] = []
    learned: dict[str, datetime] = {}
    for value, timestamp_ms in records:
        if value is None:
            continue
        try:
            event = c.parse_event(value)
        except c.ContractError:
            continue  # watermark ticks, and invalid input the visit agent dead-letters
        events.append(event)
        if timestamp_ms is not None and timestamp_ms >= 0:
            learned[event.event_id] = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    return events, learned


async def run_sink(settings: Settings) -> None:
    """Consume, write and commit, batch after batch, until cancelled."""
    kafka = settings.kafka
    consumer = AIOKafkaConsumer(
        *(kafka.topic(name) for name in SINK_INPUTS),
        **aiokafka_options(kafka),
        group_id=sink_group(kafka),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=BATCH,
    )
    writer = DatabaseWriter(settings.db.dsn_for("sink"))
    recalculation = DueRecalculation(settings.db.dsn_for("sink"), settings.recalc) \
        if settings.recalc.automatic else None
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=BATCH)
            records = [(m.value, m.timestamp) for messages in batches.values() for m in messages]
            if recalculation is not None and len(records) < BATCH:
                recalculation.caught_up()
            if not records:
                continue
            events, learned_at = decode_for_database(records)
            if events:
                await writer.write_until_done(events, learned_at)
            try:
                await consumer.commit()
            except CommitFailedError as exc:
                # Partitions moved during the batch: their new owner writes it again,
                # which changes nothing (the writes are idempotent).
                log.info("commit after a rebalance skipped: %s", exc)
    finally:
        try:
            if recalculation is not None:
                await recalculation.stop()
        finally:
            await consumer.stop()


def serve(loglevel: str = "warning", metrics_port: int | None = None) -> None:
    """Run the sink as a process of its own until SIGTERM or SIGINT (``ecm sink``).

    In a worker the sink shares one core (the GIL) with the agents; apart, it can run on
    another core or machine, and several sinks share the topics' partitions.
    """
    settings = get_settings()
    logging.basicConfig(
        level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    ensure_topics(settings.kafka)
    port = settings.metrics.sink_port if metrics_port is None else metrics_port
    metrics.start_metrics_server(settings.metrics, port=port)
    metrics.worker_started("sink")

    async def until_stopped() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await run_sink(settings)

    asyncio.run(until_stopped())
