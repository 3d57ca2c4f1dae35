"""Reference data reaches every worker: each reads the whole reference topic itself.

A consumer outside the consumer group is assigned every partition of the reference
topic and reads it from the beginning into the worker's ``ReferenceData``. The worker
catches up with the end of the topic before its agents start consuming, so no visit is
judged against reference data the worker has not read yet, and then follows it.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from ecm import contracts as c
from ecm.domain.reference import ReferenceData
from ecm.kafka.connection import aiokafka_options
from ecm.settings import KafkaSettings
from ecm.topics import REFERENCE
from ecm.visits.translate import reference_record

log = logging.getLogger(__name__)


class ReferenceReader:
    """Keeps a ``ReferenceData`` up to date from the reference topic."""

    def __init__(self, kafka: KafkaSettings, reference: ReferenceData) -> None:
        self._kafka = kafka
        self.reference = reference
        self.records = 0
        self._positions: dict[TopicPartition, int] = {}

    async def catch_up(self) -> None:
        """Read the topic from the start up to its end as it is now (before consuming)."""
        consumer = self._consumer(self._kafka.topic(REFERENCE))
        await consumer.start()
        try:
            partitions = await self._partitions(consumer)
            ends = await consumer.end_offsets(partitions)
            await self._read_until(consumer, ends)
            self._positions = {tp: await consumer.position(tp) for tp in partitions}
        finally:
            await consumer.stop()
        log.info("reference data loaded: %d records", self.records)

    async def follow(self) -> None:
        """Apply what is published after ``catch_up``, for as long as the worker runs."""
        consumer = self._consumer()
        await consumer.start()
        try:
            consumer.assign(list(self._positions))
            for tp, offset in self._positions.items():
                consumer.seek(tp, offset)
            while True:
                batches = await consumer.getmany(timeout_ms=1000)
                for messages in batches.values():
                    for message in messages:
                        self._apply(message.value)
        finally:
            await consumer.stop()

    def _consumer(self, *topics: str) -> AIOKafkaConsumer:
        # Without a group id the consumer is assigned every partition and commits nothing.
        return AIOKafkaConsumer(
            *topics,
            **aiokafka_options(self._kafka),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )

    @staticmethod
    async def _partitions(consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        for _ in range(120):
            assigned = consumer.assignment()
            if assigned:
                return sorted(assigned)
            await asyncio.sleep(0.25)
        raise RuntimeError("the reference topic has no partitions: was it created?")

    async def _read_until(
        self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]
    ) -> None:
        remaining = {tp: end for tp, end in ends.items() if end > 0}
        while remaining:
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, messages in batches.items():
                for message in messages:
                    self._apply(message.value)
                if tp in remaining and await consumer.position(tp) >= remaining[tp]:
                    del remaining[tp]

    def _apply(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            event = c.parse_event(value)
        except c.ContractError as exc:
            log.warning("invalid reference record skipped: %s", exc)
            return
        record = reference_record(event) if isinstance(event, c.ReferenceEvent) else None
        if record is not None:
            self.reference.add(record)
            self.records += 1
