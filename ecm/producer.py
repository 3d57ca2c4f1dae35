"""Publishing contract events to Kafka from asyncio code, acknowledged by every replica.

``EventPublisher`` is the port the HTTP API depends on; ``KafkaEventPublisher`` is its
adapter on aiokafka with an idempotent producer and ``acks="all"``. A call to
``publish`` returns only when the broker has acknowledged every event, or raises
``PublishError``: nothing is reported as published that was not acknowledged.

The same event always produces the same record: the key is ``route(event).key`` (the
visit id for visit events) and the value is ``dump_event(event)``, so a retry after a
failure re-sends identical bytes with the same ``event_id``, which consumers dedup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ecm.contracts import ContractEvent, dump_event
from ecm.kafka.connection import PARTITION_BATCH_BYTES, aiokafka_options, watching_refusals
from ecm.settings import KafkaSettings
from ecm.topics import route

log = logging.getLogger("ecm.producer")


class PublishError(RuntimeError):
    """The broker did not acknowledge every event in time; retrying is safe."""


@dataclass(frozen=True)
class Record:
    """One Kafka record ready to send: full topic name, key and value bytes."""

    topic: str
    key: bytes
    value: bytes


def to_record(event: ContractEvent, kafka: KafkaSettings) -> Record:
    """Return the deterministic record for an event (same event, same bytes and key)."""
    where = route(event)
    return Record(where.full_topic(kafka), where.key.encode(), dump_event(event))


class EventPublisher(Protocol):
    """Somewhere events can be published and acknowledged."""

    async def start(self) -> None:
        """Connect; may be called once before the first publish."""

    async def stop(self) -> None:
        """Flush and disconnect."""

    async def publish(self, events: Sequence[ContractEvent]) -> None:
        """Publish events and return once all are acknowledged, else raise PublishError."""

    async def ready(self) -> bool:
        """Whether the broker answers a metadata request now."""


class KafkaEventPublisher:
    """aiokafka adapter: idempotent producer, ``acks="all"``, bounded wait per publish."""

    def __init__(self, kafka: KafkaSettings, timeout_seconds: float = 15.0) -> None:
        self._kafka = kafka
        self._timeout = timeout_seconds
        self._producer: Any = None
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Create and start the producer (it reconnects by itself after broker restarts)."""
        from aiokafka import AIOKafkaProducer

        self._producer = AIOKafkaProducer(
            enable_idempotence=True,
            acks="all",
            # No lingering: a record is sent at once when no produce request is in flight
            # to the broker; records arriving while one is (aiokafka keeps one in flight
            # per broker) go together in the next. No request waits for company.
            linger_ms=0,
            # A batch per partition holds what arrives while a request is in flight (a
            # 500-event request is ~20 KB a partition). At the 16 KB default a full batch
            # made every further send wait for the next round trip to the broker.
            max_batch_size=PARTITION_BATCH_BYTES,
            request_timeout_ms=int(self._timeout * 1000),
            client_id="ecm-api",
            **aiokafka_options(self._kafka),
        )
        with watching_refusals() as watch:
            try:
                await self._producer.start()
            except Exception:
                # The broker may be down at start-up: keep the process up, retry on publish,
                # and tell the operator why (wrong credentials look like a dead broker).
                await self._producer.stop()
                self._producer = None
                log.error("cannot publish to Kafka: %s", watch.explain(self._kafka))

    async def stop(self) -> None:
        """Flush pending records and close connections."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def _ensure_started(self) -> Any:
        async with self._lock:
            if self._producer is None:
                await self.start()
        if self._producer is None:
            raise PublishError("Kafka is unreachable")
        return self._producer

    def _retire(self, producer: Any) -> None:
        """Replace a producer after a failed publish.

        An idempotent producer whose batches expired cannot continue its sequence (it
        would wait forever after a broker restart), so the next publish starts a fresh
        one. The old one is closed in the background; anything it still delivers is a
        duplicate with the same ``event_id``, which consumers dedup.
        """
        if producer is None or producer is not self._producer:
            return
        self._producer = None

        async def close() -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 10)

        task = asyncio.get_running_loop().create_task(close())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def publish(self, events: Sequence[ContractEvent]) -> None:
        """Send every event and wait for all acknowledgements (or raise PublishError)."""
        if not events:
            return
        producer = self._producer or await self._ensure_started()
        try:
            # a timeout scope, not wait_for: no task of its own per request (hot path)
            async with asyncio.timeout(self._timeout):
                await self._send_all(producer, events)
        except Exception as exc:  # aiokafka raises many types; all mean "not acknowledged"
            log.warning("publish failed (%s); the producer will be replaced", type(exc).__name__)
            self._retire(producer)
            raise PublishError(f"Kafka did not acknowledge: {type(exc).__name__}") from exc

    async def _send_all(self, producer: Any, events: Sequence[ContractEvent]) -> None:
        pending = []
        for event in events:
            record = to_record(event, self._kafka)
            pending.append(await producer.send(record.topic, record.value, key=record.key))
        for delivery in pending:  # every one acknowledged; no gathering future per request
            await delivery

    async def ready(self) -> bool:
        """Whether the broker answers a metadata request within a few seconds."""
        try:
            producer = await self._ensure_started()
            await asyncio.wait_for(producer.client.fetch_all_metadata(), 5)
        except Exception:
            return False
        return True
