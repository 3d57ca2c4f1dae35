"""A worker and the API against a broker that wants SASL/SCRAM credentials.

The local stack's broker has a second listener (``ECM_KAFKA_SASL_PORT``, default 9094)
that only SCRAM-SHA-512 users may use. With the credentials the worker processes a week
exactly as on the open listener and the API publishes; without them (a wrong password,
or no SASL at all) each is refused and says why in terms of the settings to check.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path

import pytest
from api_stack import consume_all, issue, settings_for
from fastapi.testclient import TestClient
from pipeline import Pipeline, from_database, from_replay, weeks_of
from support import fresh_database

from ecm.api import create_app
from ecm.settings import KafkaSettings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

SASL_BOOTSTRAP = f"127.0.0.1:{os.environ.get('ECM_KAFKA_SASL_PORT', '9094')}"
USER = os.environ.get("ECM_KAFKA_SASL_USER", "ecm")
PASSWORD = os.environ.get("ECM_KAFKA_SASL_PASSWORD", "ecm-local-secret")


def scram(password: str) -> dict[str, str]:
    return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_username": USER, "sasl_password": password}


def test_a_worker_with_credentials_processes_a_week_as_on_the_open_listener(
    test_dsn: str, tmp_path: Path, simulated_week: Path
) -> None:
    expected = from_replay(simulated_week, tmp_path / "replay")
    with fresh_database(test_dsn, prefix="ecm_sasl") as dsn:
        pipe = Pipeline(SASL_BOOTSTRAP, dsn, tmp_path, security=scram(PASSWORD))
        pipe.create_topics()
        try:
            pipe.start_worker()
            pipe.publish(simulated_week)
            pipe.wait_until_idle()
            got = from_database(dsn, weeks_of(expected))
        finally:
            pipe.stop_all()
    assert set(got.outcomes) == set(expected.outcomes)
    assert got.alerts == expected.alerts and got.kpis == expected.kpis


@pytest.mark.parametrize(
    ("security", "says"),
    [
        (scram("not-the-password"),
         (f"user '{USER}' (SCRAM-SHA-512)", "check ECM_KAFKA__SASL_USERNAME and "
          "ECM_KAFKA__SASL_PASSWORD")),
        ({}, ("closed the connection: this listener wants SASL or TLS",)),
        ({"security_protocol": "SASL_PLAINTEXT"},
         ("SASL_PLAINTEXT needs ECM_KAFKA__SASL_MECHANISM",)),
    ],
    ids=["wrong-password", "no-sasl", "sasl-without-credentials"],
)
def test_a_worker_without_valid_credentials_stops_and_says_why(
    test_dsn: str, tmp_path: Path, security: dict[str, str], says: tuple[str, ...]
) -> None:
    pipe = Pipeline(SASL_BOOTSTRAP, test_dsn, tmp_path, security=security)
    pipe.start_worker()
    process = pipe.workers.pop("1")
    try:
        code = process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert code == 2
    said = pipe.log("1").split("ecm worker: cannot start:", 1)
    assert len(said) == 2 and all(part in said[1] for part in says), said[-1][-500:]


def _event(i: int) -> dict[str, object]:
    return {"event_type": "carer_checked_in", "event_id": f"sasl-{i}",
            "occurred_at": "2026-01-05T09:02:00+00:00", "provider_id": "P1",
            "visit_id": f"V{i}", "client_id": "C1", "carer_id": "K1", "method": "nfc"}


def test_the_api_publishes_with_credentials_and_says_why_without(
    test_dsn: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with fresh_database(test_dsn, prefix="ecm_sasl_api") as dsn:
        good = KafkaSettings(bootstrap_servers=SASL_BOOTSTRAP, topic_prefix=f"sasl{os.getpid()}",
                             **scram(PASSWORD))  # type: ignore[arg-type]
        headers = {"Authorization": f"Bearer {issue(dsn, 'P1')}"}
        with TestClient(create_app(settings_for(good, dsn, tmp_path))) as client:
            assert client.post("/v1/events", json=_event(1), headers=headers).status_code == 202
        records = consume_all(good, "visit-events", expect=1)
        assert [json.loads(r.value)["event_id"] for r in records] == ["sasl-1"]

        bad = KafkaSettings(bootstrap_servers=SASL_BOOTSTRAP, topic_prefix=good.topic_prefix,
                            **scram("not-the-password"))  # type: ignore[arg-type]
        caplog.set_level(logging.ERROR, logger="ecm.producer")
        with TestClient(create_app(settings_for(bad, dsn, tmp_path))) as client:
            refused = client.post("/v1/events", json=_event(2), headers=headers)
        assert refused.status_code == 503
        assert f"user '{USER}' (SCRAM-SHA-512)" in caplog.text
        assert "check ECM_KAFKA__SASL_USERNAME and ECM_KAFKA__SASL_PASSWORD" in caplog.text
