"""Publish an extract of contract-v1 events to Kafka for a replay through the workers.

Lines go to their topics in file order with their keys (``ecm.topics.route``); a line
that is not a valid event goes as it is to the visit-events topic, so the workers
dead-letter it. Whenever the event-time watermark advances (``ecm.domain.watermark``),
a tick follows to every partition of the visit-events topic, in order with the events,
so every partition fires its deadlines at the same event time as ``ecm replay`` does.
A final flush tick ends the extract (an extract published in parts carries the
watermark from one part to the next and flushes after the last).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from kafka import KafkaProducer

from ecm import contracts as c
from ecm.domain.deadlines import END_OF_TIME
from ecm.domain.watermark import Watermark
from ecm.kafka.connection import client_options
from ecm.kafka.records import watermark_tick
from ecm.settings import KafkaSettings
from ecm.topics import VISIT_EVENTS, route


@dataclass
class PublishSummary:
    """What a publication sent."""

    events: int = 0
    invalid: int = 0
    ticks: int = 0
    skipped_after_until: int = 0


def producer(kafka: KafkaSettings) -> KafkaProducer:
    """A durable, ordered producer: acks from every replica, idempotent, batched."""
    return KafkaProducer(
        **client_options(kafka), acks="all", enable_idempotence=True, linger_ms=20,
        batch_size=256 * 1024, max_in_flight_requests_per_connection=5,
    )


def publish_replay(
    lines: Iterable[bytes], kafka: KafkaSettings, until: datetime | None = None, *,
    watermark: Watermark | None = None, flush: bool = True,
) -> PublishSummary:
    """Publish lines and watermark ticks; wait until the broker acknowledged everything.

    ``watermark``: where an earlier part of the same extract left it (it moves on);
    ``flush``: end with the flush tick (``False`` for a part that more will follow).
    """
    summary, send = PublishSummary(), producer(kafka)
    visit_topic = kafka.topic(VISIT_EVENTS)
    partitions = sorted(send.partitions_for(visit_topic))
    watermark = Watermark() if watermark is None else watermark

    def tick(instant: datetime, flush: bool = False) -> None:
        value, headers = watermark_tick(instant, flush)
        for partition in partitions:
            send.send(visit_topic, value=value, headers=headers, partition=partition)
        summary.ticks += 1

    for raw in lines:
        raw = raw.strip()
        if not raw:
            continue
        try:
            event = c.parse_event(raw)
        except c.ContractError:
            summary.invalid += 1
            send.send(visit_topic, key=_visit_key(raw), value=raw)
            continue
        if until is not None and isinstance(event, c.VisitEvent) and event.occurred_at > until:
            summary.skipped_after_until += 1
            continue
        target = route(event)
        send.send(kafka.topic(target.topic), key=target.key.encode(), value=raw)
        summary.events += 1
        moved = watermark.advance(event.occurred_at) if isinstance(event, c.VisitEvent) else None
        if moved is not None:
            tick(moved)
    if flush:
        tick(until or END_OF_TIME, flush=True)
    send.flush()
    send.close()
    return summary


def _visit_key(raw: bytes) -> bytes | None:
    try:
        visit_id = json.loads(raw).get("visit_id")
    except (ValueError, AttributeError):
        return None
    return visit_id.encode() if isinstance(visit_id, str) else None
