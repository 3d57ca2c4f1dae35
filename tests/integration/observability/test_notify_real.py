"""``ecm notify`` against the real broker, the real database and a real HTTP receiver.

Each test has its own topic prefix, consumer group and outbox schema.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterator, Sequence

import pytest
from aiokafka import AIOKafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from ecm.contracts import AlertKind, ContractEvent, dump_event
from ecm.notify.backoff import RetryPolicy
from ecm.notify.config import NotifierConfig
from ecm.notify.routing import Endpoints
from ecm.notify.service import run_notifier
from ecm.settings import KafkaSettings
from ecm.topics import ALERTS, route

from .notify_harness import (
    Receiver,
    create_outbox_schema,
    drop_schema,
    eventually,
    outbox_rows,
    raised,
    resolved,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
SECRET = b"integration-secret"
FAST = RetryPolicy(
    max_attempts=3,
    base_seconds=0.1,
    cap_seconds=0.4,
    failed_retry_seconds=0.5,
    failed_retry_for_seconds=3600,
)


@pytest.fixture()
def outbox_dsn(test_dsn: str) -> Iterator[str]:
    schema, scoped = create_outbox_schema(test_dsn)
    yield scoped
    drop_schema(test_dsn, schema)


@pytest.fixture()
def alerts_topic(kafka_settings: KafkaSettings) -> str:
    topic = kafka_settings.topic(ALERTS)
    admin = KafkaAdminClient(bootstrap_servers=kafka_settings.bootstrap_servers)
    admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
    admin.close()
    return topic


def _config(
    kafka: KafkaSettings, dsn: str, receiver: Receiver, policy: RetryPolicy
) -> NotifierConfig:
    return NotifierConfig(
        kafka=kafka,
        dsn=dsn,
        endpoints=Endpoints(
            duty_team_url=receiver.url("duty"),
            provider_urls={"P1": receiver.url("p1"), "P2": receiver.url("p2")},
        ),
        secret=SECRET,
        policy=policy,
        group_id=f"{kafka.topic_prefix}-notify",
        timeout_seconds=2.0,
        batch_size=7,
        poll_seconds=0.1,
    )


async def _produce(kafka: KafkaSettings, events: Sequence[ContractEvent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for event in events:
            r = route(event)
            await producer.send_and_wait(r.full_topic(kafka), dump_event(event), key=r.key.encode())
    finally:
        await producer.stop()


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_each_alert_reaches_each_receiver_exactly_once_across_a_notifier_restart(
    kafka_settings: KafkaSettings, alerts_topic: str, outbox_dsn: str
) -> None:
    async def scenario() -> None:
        receiver = Receiver(SECRET)
        await receiver.start()
        config = _config(kafka_settings, outbox_dsn, receiver, FAST)
        first = [raised(n, AlertKind.MISSED if n % 2 else AlertKind.NOT_ARRIVED) for n in range(12)]
        second = [raised(n, AlertKind.MISSED, "P2") for n in range(100, 110)]
        resolutions = [resolved(1, AlertKind.MISSED), resolved(2, AlertKind.NOT_ARRIVED)]
        await _produce(kafka_settings, first)
        notifier = asyncio.create_task(run_notifier(config))
        await eventually(lambda: len(receiver.accepted) >= 5, 30, "first deliveries")
        await _stop(notifier)  # killed mid-stream
        # More alerts, plus duplicates of ones already handled (a worker replay).
        await _produce(kafka_settings, [*second, *first[:6], *resolutions])
        notifier = asyncio.create_task(run_notifier(config))
        # 6 missed x 2 + 6 not_arrived + 10 missed x 2 + resolutions (2 + 1)
        expected = 6 * 2 + 6 + 10 * 2 + 3
        await eventually(lambda: len(receiver.accepted) >= expected, 45, f"{expected} deliveries")
        await asyncio.sleep(1.0)  # anything extra would arrive now
        await _stop(notifier)
        await receiver.stop()

        counts = Counter(receiver.keys())
        assert len(counts) == expected
        assert set(counts.values()) == {1}, [k for k, c in counts.items() if c > 1]
        assert all(r.signature_ok for r in receiver.accepted)
        order = receiver.keys()
        for path in ("/p1", "/duty"):
            assert order.index((path, "V1:missed:raised")) < order.index(
                (path, "V1:missed:resolved")
            )
        assert ("/duty", "V2:not_arrived:raised") not in counts
        rows = outbox_rows(outbox_dsn)
        assert len(rows) == expected
        assert {r[3] for r in rows} == {"delivered"}

    asyncio.run(scenario())


def test_failed_deliveries_are_retried_with_backoff_until_delivered(
    kafka_settings: KafkaSettings, alerts_topic: str, outbox_dsn: str
) -> None:
    async def scenario() -> None:
        receiver = Receiver(SECRET, fail_first=2)
        await receiver.start()
        config = _config(kafka_settings, outbox_dsn, receiver, FAST)
        await _produce(kafka_settings, [raised(7, AlertKind.MISSED)])
        notifier = asyncio.create_task(run_notifier(config))
        try:
            await eventually(lambda: len(receiver.accepted) == 2, 30, "both deliveries")
            await asyncio.sleep(0.5)
        finally:
            await _stop(notifier)
            await receiver.stop()
        assert sorted(receiver.keys()) == [
            ("/duty", "V7:missed:raised"),
            ("/p1", "V7:missed:raised"),
        ]
        assert receiver.tries == {"/duty V7:missed:raised": 3, "/p1 V7:missed:raised": 3}
        rows = outbox_rows(outbox_dsn)
        assert [(r[3], r[4], r[5]) for r in rows] == [("delivered", 3, None)] * 2

    asyncio.run(scenario())


def test_a_receiver_that_is_down_gets_the_alert_once_it_comes_back(
    kafka_settings: KafkaSettings, alerts_topic: str, outbox_dsn: str
) -> None:
    async def scenario() -> None:
        probe = Receiver(SECRET)
        await probe.start()
        port = probe.port
        await probe.stop()  # nothing listens on `port` now
        receiver = Receiver(SECRET)
        receiver.port = port
        config = _config(kafka_settings, outbox_dsn, receiver, FAST)
        await _produce(kafka_settings, [raised(9, AlertKind.NOT_ARRIVED)])
        notifier = asyncio.create_task(run_notifier(config))
        try:
            await eventually(
                lambda: any(r[3] == "failed" for r in outbox_rows(outbox_dsn)),
                30,
                "the delivery recorded as failed",
            )
            row = outbox_rows(outbox_dsn)[0]
            assert row[4] >= FAST.max_attempts and row[5]
            await receiver.start(port)
            await eventually(lambda: len(receiver.accepted) == 1, 30, "delivery after recovery")
            await asyncio.sleep(1.0)
        finally:
            await _stop(notifier)
            await receiver.stop()
        assert receiver.keys() == [("/p1", "V9:not_arrived:raised")]
        assert receiver.accepted[0].signature_ok
        assert outbox_rows(outbox_dsn)[0][3] == "delivered"

    asyncio.run(scenario())
