"""An unacknowledged missed call escalates to the next tier's webhook; an acknowledged one does not.

The real stack end to end: a live-clock worker on the real broker and database raises the
missed-call alerts and escalates them on timeout, ``ecm notify`` (in process) delivers
them to a loopback webhook receiver. The contract rules (a ``ContractRulesSetV2`` in the
reference data) make a call missed 1 minute after its planned start and escalate an
unacknowledged alert to the council's duty team 1 minute after it is raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaConsumer
from pipeline import Pipeline
from support import fresh_database

from ecm import contracts as c
from ecm.contracts.examples import examples
from ecm.notify.backoff import RetryPolicy
from ecm.notify.config import NotifierConfig
from ecm.notify.routing import Endpoints
from ecm.notify.service import run_notifier
from ecm.topics import ALERTS, REFERENCE, route

from .notify_harness import Receiver, create_outbox_schema, drop_schema, eventually

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
SECRET = b"escalation-secret"
FAST = RetryPolicy(max_attempts=3, base_seconds=0.1, cap_seconds=0.4,
                   failed_retry_seconds=0.5, failed_retry_for_seconds=3600)
COUNCIL_AFTER_MINUTES = 1


@pytest.fixture()
def pipeline(kafka_bootstrap: str, test_dsn: str, tmp_path: Path) -> Iterator[Pipeline]:
    with fresh_database(test_dsn, prefix="ecm_escalation") as dsn:
        pipe = Pipeline(kafka_bootstrap, dsn, tmp_path)
        pipe.create_topics()
        try:
            yield pipe
        finally:
            pipe.stop_all()


@pytest.fixture()
def outbox_dsn(test_dsn: str) -> Iterator[str]:
    schema, scoped = create_outbox_schema(test_dsn)
    yield scoped
    drop_schema(test_dsn, schema)


def _reference(today: date) -> list[c.ContractEvent]:
    """The examples' reference data, with rules of short timings in force today."""
    kept = [e for e in examples() if route(e).topic == REFERENCE
            and not isinstance(e, c.ContractRulesSet | c.AlertMonitoringSet)]
    rules = c.ContractRulesSetV2(
        event_id="ref-rules-escalation-test", occurred_at=datetime.now(UTC),
        rules_id="escalation-test", effective_from=today - timedelta(days=7),
        rules=c.ContractRulesV2(missed_after_minutes=1,
                                escalate_to_council_after_minutes=COUNCIL_AFTER_MINUTES,
                                escalate_to_manager_after_minutes=30))
    return [*kept, rules]


def _planned(visit_id: str, start: datetime) -> c.VisitPlanned:
    return c.VisitPlanned(
        event_id=f"{visit_id}.plan", occurred_at=start - timedelta(hours=12), provider_id="P017",
        visit_id=visit_id, client_id="C04211", service=c.Service.HOME_CARE,
        planned_start=start, planned_end=start + timedelta(minutes=30),
    )


def _missed_alerts(pipeline: Pipeline, visit_ids: set[str], timeout_s: float) -> dict[str, str]:
    """Wait for a missed-call alert of each visit; return alert_id by visit_id."""
    consumer = KafkaConsumer(pipeline.kafka.topic(ALERTS), bootstrap_servers=pipeline.bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=1000)
    found: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while set(found) < visit_ids and time.monotonic() < deadline:
            for record in consumer:
                alert = json.loads(record.value)
                if alert["event_type"] == "alert_raised" and alert["kind"] == "missed":
                    found[alert["visit_id"]] = alert["alert_id"]
    finally:
        consumer.close()
    assert set(found) >= visit_ids, f"missed-call alerts raised only for {sorted(found)}"
    return found


def _acknowledgement(visit_id: str, alert_id: str) -> c.AlertAcknowledged:
    return c.AlertAcknowledged(
        event_id=f"{visit_id}.ack", occurred_at=datetime.now(UTC), visit_id=visit_id,
        provider_id="P017", by="oncall-jsmith", by_role=c.ActorRole.PROVIDER,
        alert_id=alert_id, action_taken="Phoned the carer: arriving in 10 minutes")


def _config(pipeline: Pipeline, dsn: str, receiver: Receiver) -> NotifierConfig:
    return NotifierConfig(
        kafka=pipeline.kafka, dsn=dsn,
        endpoints=Endpoints(duty_team_url=receiver.url("duty"),
                            provider_urls={"P017": receiver.url("p017")},
                            manager_url=receiver.url("manager")),
        secret=SECRET, policy=FAST, group_id=f"{pipeline.prefix}-notify", timeout_seconds=2.0,
        batch_size=20, poll_seconds=0.1)


def test_an_unacknowledged_missed_call_reaches_the_duty_team_again_and_an_acknowledged_one_not(
    pipeline: Pipeline, outbox_dsn: str
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(minutes=1) + timedelta(seconds=10)  # missed ~10 s from now
    ignored, handled = "V-ESC-IGNORED", "V-ESC-HANDLED"
    pipeline.send([*_reference(now.date()), _planned(ignored, start), _planned(handled, start)])
    pipeline.start_worker("1", clock="live")

    async def scenario() -> tuple[dict[str, str], list[tuple[str, str]]]:
        receiver = Receiver(SECRET)
        await receiver.start()
        notifier = asyncio.create_task(run_notifier(_config(pipeline, outbox_dsn, receiver)))
        try:
            alerts = await asyncio.to_thread(_missed_alerts, pipeline, {ignored, handled}, 120)
            await asyncio.to_thread(pipeline.send, [_acknowledgement(handled, alerts[handled])])
            escalated = ("/duty", f"{alerts[ignored]}:escalated:council_duty")
            await eventually(lambda: escalated in receiver.keys(),
                             COUNCIL_AFTER_MINUTES * 60 + 90, "the escalation webhook")
            await asyncio.sleep(5)  # an escalation of the acknowledged alert would be here now
            return alerts, receiver.keys()
        finally:
            notifier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await notifier
            await receiver.stop()

    alerts, keys = asyncio.run(scenario())

    ignored_id, handled_id = alerts[ignored], alerts[handled]
    assert ("/p017", f"{ignored_id}:raised") in keys and ("/duty", f"{ignored_id}:raised") in keys
    assert ("/duty", f"{ignored_id}:escalated:council_duty") in keys
    assert not [k for k in keys if k[1].startswith(f"{handled_id}:escalated")], keys
    assert ("/p017", f"{handled_id}:acknowledged") in keys
    assert not [k for k in keys if k[0] == "/manager"], keys
