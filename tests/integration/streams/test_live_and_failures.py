"""A worker in live mode, with bad input and with the database gone for a minute."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from kafka import KafkaConsumer
from pipeline import Pipeline
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from support import free_port

from ecm import contracts as c
from ecm.contracts.examples import examples
from ecm.kafka.admin import group_lag
from ecm.topics import ALERTS, DEAD_LETTER, OUTCOMES, REFERENCE, VISIT_EVENTS, route, worker_group

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


def _read(pipeline: Pipeline, topic: str, expect: int, timeout_s: float = 90) -> list:
    consumer = KafkaConsumer(pipeline.kafka.topic(topic), bootstrap_servers=pipeline.bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=1000)
    found, deadline = [], time.monotonic() + timeout_s
    try:
        while len(found) < expect and time.monotonic() < deadline:
            found += list(consumer)
    finally:
        consumer.close()
    return found


def _reference() -> list[c.ContractEvent]:
    return [e for e in examples() if route(e).topic == REFERENCE]


def _planned(visit_id: str, start: datetime, time_critical: bool = False) -> c.VisitPlanned:
    return c.VisitPlanned(
        event_id=f"{visit_id}.plan", occurred_at=start - timedelta(hours=12), provider_id="P017",
        visit_id=visit_id, client_id="C04211", service=c.Service.HOME_CARE,
        planned_start=start, planned_end=start + timedelta(minutes=30),
        time_critical=time_critical,
    )


def test_live_worker_raises_not_arrived_by_the_wall_clock_and_a_check_in_first_wins(
    pipeline: Pipeline,
) -> None:
    # The worker is up and has caught up (a visit planned for tomorrow) before the clock
    # starts: on a loaded machine a worker can take longer to start than the lead below.
    warm_up = _planned("V-LIVE-WARM-UP", datetime.now(UTC) + timedelta(days=1))
    pipeline.send([*_reference(), warm_up])
    pipeline.start_worker("1", clock="live")
    pipeline.wait_until_idle(timeout_s=120, settle_s=1)
    now = datetime.now(UTC).replace(microsecond=0)
    # Both fall due within seconds: "not arrived" is planned start + 30 minutes.
    start = now - timedelta(minutes=30) + timedelta(seconds=8)
    late = _planned("V-LIVE-LATE", start)
    kept = _planned("V-LIVE-KEPT", start)
    check_in = c.CarerCheckedIn(
        event_id="V-LIVE-KEPT.in", occurred_at=now, provider_id="P017", visit_id="V-LIVE-KEPT",
        client_id="C04211", carer_id="K0815", method=c.CheckMethod.NFC,
    )
    pipeline.send([late, kept, check_in])

    alerts = [json.loads(r.value) for r in _read(pipeline, ALERTS, expect=1)]

    assert [(a["visit_id"], a["kind"], a["event_type"]) for a in alerts] == [
        ("V-LIVE-LATE", "not_arrived", "alert_raised")
    ]
    assert alerts[0]["due_at"].startswith((start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"))


def test_malformed_messages_go_to_the_dead_letter_topic_and_the_worker_keeps_going(
    pipeline: Pipeline,
) -> None:
    port = free_port()
    bad = [b"{not json", b'{"event_type": "carer_teleported", "event_id": "x"}',
           json.dumps({"event_type": "carer_checked_in", "event_id": "e1"}).encode()]
    good = _planned("V-DLQ-OK", datetime(2026, 11, 17, 8, tzinfo=UTC))
    pipeline.send(_reference(), raw=bad)
    pipeline.send([good])
    pipeline.start_worker("1", metrics_port=port)

    letters = _read(pipeline, DEAD_LETTER, expect=3)
    pipeline.wait_until_idle()

    assert sorted(r.value for r in letters) == sorted(bad)
    reasons = sorted(dict(r.headers)["ecm-dlq-reason"].decode() for r in letters)
    assert reasons == ["invalid_json", "schema_invalid", "unknown_event_type"]
    assert all(json.loads(dict(r.headers)["ecm-dlq-errors"]) for r in letters)
    with psycopg.connect(pipeline.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM visit_outcomes WHERE visit_id = 'V-DLQ-OK'"
                            ).fetchone() == (1,)
    scraped = pipeline.scrape_metrics(port)
    assert 'ecm_events_dead_lettered_total{reason="invalid_json"} 1.0' in scraped
    assert 'ecm_events_dead_lettered_total{reason="schema_invalid"} 1.0' in scraped


class FlakyProxy:
    """A TCP proxy to PostgreSQL on loopback that can refuse and cut connections."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target = target_port
        self._up = threading.Event()
        self._up.set()
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)

    async def _serve(self) -> None:
        await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._up.is_set():
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def down(self) -> None:
        self._up.clear()
        for writer in list(self._writers):
            self._loop.call_soon_threadsafe(writer.close)
        self._writers.clear()

    def up(self) -> None:
        self._up.set()


def test_the_database_gone_for_a_minute_loses_nothing(
    pipeline: Pipeline, simulated_week: Path, tmp_path: Path
) -> None:
    from pipeline import from_database, from_replay, replay_outcomes_normalised, weeks_of

    expected = from_replay(simulated_week, tmp_path / "replay")
    real_dsn = pipeline.dsn
    params = conninfo_to_dict(real_dsn)
    proxy = FlakyProxy(int(params.get("port") or 5432))
    pipeline.dsn = make_conninfo(**(params | {"port": str(proxy.port)}))
    pipeline.publish(simulated_week)
    total = pipeline.lag()
    pipeline.start_worker("1")
    pipeline.wait_for_progress(below=total * 3 // 4)
    proxy.down()
    time.sleep(60)  # the worker's sink retries with backoff while the database is away
    proxy.up()
    pipeline.wait_until_idle()

    got = from_database(real_dsn, weeks_of(expected))
    assert got.outcomes == replay_outcomes_normalised(expected)
    assert got.alerts == expected.alerts
    assert got.kpis == expected.kpis


def _limit_record_size(pipeline: Pipeline, topic: str, max_bytes: int | None) -> None:
    """Make the broker refuse this topic's batches over ``max_bytes`` (None: the default)."""
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    configs = {"max.message.bytes": str(max_bytes or 1_048_588)}
    admin = KafkaAdminClient(bootstrap_servers=pipeline.bootstrap)
    try:
        name = pipeline.kafka.topic(topic)
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, configs=configs)])
    finally:
        admin.close()


def test_records_the_broker_refuses_stop_the_commits_and_arrive_after_a_restart(
    pipeline: Pipeline, simulated_week: Path, tmp_path: Path
) -> None:
    from pipeline import from_database, from_replay, replay_outcomes_normalised, weeks_of

    expected = from_replay(simulated_week, tmp_path / "replay")
    pipeline.publish(simulated_week)
    _limit_record_size(pipeline, OUTCOMES, 100)  # no outcome fits: each batch is refused
    pipeline.start_worker("1")
    worker = pipeline.workers["1"]

    # It stops by itself, having committed nothing past the first record refused.
    assert worker.wait(timeout=120) != 0
    assert "a record was not delivered (MessageSizeTooLargeError" in pipeline.log("1")
    assert group_lag(pipeline.kafka, worker_group(pipeline.kafka), [VISIT_EVENTS]) > 0
    pipeline.workers.pop("1")

    _limit_record_size(pipeline, OUTCOMES, None)
    pipeline.start_worker("1")
    pipeline.wait_until_idle()

    got = from_database(pipeline.dsn, weeks_of(expected))
    assert got.outcomes == replay_outcomes_normalised(expected)
    assert got.alerts == expected.alerts
    assert got.kpis == expected.kpis
