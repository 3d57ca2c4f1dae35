from __future__ import annotations

import uuid

import pytest
from typer.testing import CliRunner

from ecm.cli import app
from ecm.contracts import parse_event
from ecm.settings import KafkaSettings, get_settings
from ecm.simulate import SimulationConfig

from .conftest import run_lines

pytestmark = pytest.mark.kafka


def test_simulate_kafka_delivers_every_line_to_its_routed_topic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kafka import KafkaConsumer

    prefix = f"test-sim-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("ECM_KAFKA__TOPIC_PREFIX", prefix)
    get_settings.cache_clear()
    args = ["simulate", "--seed", "9", "--scale", "0.005", "--malformed-rate", "0.01", "--kafka"]
    result = CliRunner().invoke(app, args)
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    expected, _ = run_lines(SimulationConfig(seed=9, scale=0.005, malformed_rate=0.01))
    kafka = KafkaSettings(
        bootstrap_servers=get_settings().kafka.bootstrap_servers, topic_prefix=prefix
    )
    consumer = KafkaConsumer(
        kafka.topic("reference"),
        kafka.topic("visit-events"),
        bootstrap_servers=kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
        group_id=None,
    )
    received = [(m.topic, m.key.decode(), m.value) for m in consumer]
    consumer.close()
    assert len(received) == len(expected)
    assert sorted(r[2] for r in received) == sorted(line.payload for line in expected)
    for topic, key, value in received:
        if topic == kafka.topic("reference"):
            assert key.split(":")[0] in {
                "lot",
                "provider",
                "client",
                "carer",
                "package",
                "rate_card",
                "rules",
                "codes",
            }
            parse_event(value)
