"""Read the alerts topic into the outbox: commit Kafka offsets only after the outbox does.

The consumer (group ``ecm-notify``, auto-commit off) plans the deliveries of a fetched
batch, inserts them -- with what routing remembers of each alert (monitor-only, tier) --
in one PostgreSQL transaction, and commits the batch's offsets only after that
transaction committed. A crash in between re-reads the batch, and the outbox's unique key
makes the second insert a no-op (the remembered state only grows): nothing is lost or
doubled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from psycopg import AsyncConnection

from ecm import metrics
from ecm.contracts import AlertHandled, AlertRaised, AlertResolved, ContractError, parse_event
from ecm.kafka.connection import aiokafka_options
from ecm.notify.config import NotifierConfig
from ecm.notify.outbox import enqueue, load_states, save_states
from ecm.notify.routing import AlertEvent, AlertState, PlannedDelivery, SkipReason, next_state, plan
from ecm.topics import ALERTS

log = logging.getLogger("ecm.notify")


def read_alerts(values: Iterable[bytes | None]) -> list[AlertEvent]:
    """Decode raw alerts-topic values; unreadable ones are logged, counted and skipped."""
    alerts: list[AlertEvent] = []
    for value in values:
        try:
            event = parse_event(value or b"")
        except ContractError as exc:
            log.warning("alerts topic: unreadable record skipped: %s", exc)
            metrics.notify_skipped("unreadable")
            continue
        if not isinstance(event, AlertRaised | AlertResolved | AlertHandled):
            metrics.notify_skipped("unreadable")
            continue
        alerts.append(event)
    return alerts


def plan_alerts(
    alerts: Iterable[AlertEvent],
    config: NotifierConfig,
    now: datetime,
    known: dict[str, AlertState] | None = None,
) -> tuple[list[PlannedDelivery], dict[str, AlertState]]:
    """Plan the deliveries of alert events, in order, from what is remembered of each.

    Returns:
        The deliveries, and the new state of every alert whose state changed.

    """
    states = dict(known or {})
    changed: dict[str, AlertState] = {}
    planned: list[PlannedDelivery] = []
    for alert in alerts:
        before = states.get(alert.alert_id, AlertState())
        state = next_state(before, alert)
        if state != before:
            states[alert.alert_id] = changed[alert.alert_id] = state
        result = plan(alert, config.endpoints, now, config.max_alert_age, state)
        if isinstance(result, SkipReason):
            if result is SkipReason.NO_ENDPOINT:
                log.warning("no webhook configured for %s (%s)", alert.alert_id, alert.provider_id)
            metrics.notify_skipped(result.value)
            continue
        planned.extend(result)
    return planned, changed


async def consume_alerts(
    config: NotifierConfig, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> None:
    """Move alerts from the alerts topic into the outbox until cancelled."""
    consumer = AIOKafkaConsumer(
        config.kafka.topic(ALERTS),
        group_id=config.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        **aiokafka_options(config.kafka),
    )
    await consumer.start()
    try:
        while True:
            try:
                async with await AsyncConnection.connect(config.dsn) as conn:
                    await _pump(consumer, conn, config, clock)
            except psycopg.Error as exc:
                log.error("notify consumer: database error, retrying: %s", exc)
                await asyncio.sleep(min(30.0, config.poll_seconds * 5))
    finally:
        await consumer.stop()


async def _pump(
    consumer: AIOKafkaConsumer,
    conn: AsyncConnection,
    config: NotifierConfig,
    clock: Callable[[], datetime],
) -> None:
    while True:
        batches = await consumer.getmany(timeout_ms=1000, max_records=500)
        if not batches:
            continue
        alerts = read_alerts(r.value for records in batches.values() for r in records)
        try:
            async with conn.transaction():
                known = await load_states(conn, {a.alert_id for a in alerts})
                planned, changed = plan_alerts(alerts, config, clock(), known)
                await save_states(conn, changed)
                new = await enqueue(conn, planned)
        except BaseException:
            # Not in the outbox: rewind so this batch is read again, never skipped.
            for tp, records in batches.items():
                consumer.seek(tp, records[0].offset)
            raise
        for event in {p.event.value for p in planned}:
            count = sum(1 for p in planned if p.event.value == event)
            metrics.outbox_enqueued(event, min(count, new))
        offsets = {
            TopicPartition(tp.topic, tp.partition): records[-1].offset + 1
            for tp, records in batches.items()
        }
        await consumer.commit(offsets)
