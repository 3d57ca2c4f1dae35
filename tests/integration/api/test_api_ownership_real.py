"""Ownership on the real stack: a visit planned a moment ago is its provider's everywhere.

Two API apps on the same topics and database stand for two processes of
``ecm api --workers 2`` (each its own memory); then the real command with two workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_stack import issue, settings_for
from fastapi.testclient import TestClient
from support import free_port

from ecm.api import create_app
from ecm.api.keys import Role
from ecm.settings import KafkaSettings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def planned(provider: str, visit_id: str) -> dict[str, Any]:
    return {"event_type": "visit_planned", "event_id": f"p-{uuid.uuid4()}",
            "occurred_at": "2026-01-01T12:00:00+00:00", "provider_id": provider,
            "visit_id": visit_id, "client_id": "C1", "service": "home_care",
            "planned_start": "2026-01-05T09:00:00+00:00",
            "planned_end": "2026-01-05T09:30:00+00:00"}


def check_in(provider: str, visit_id: str, carer_id: str = "K1") -> dict[str, Any]:
    return {"event_type": "carer_checked_in", "event_id": f"c-{uuid.uuid4()}",
            "occurred_at": "2026-01-05T09:02:00+00:00", "provider_id": provider,
            "visit_id": visit_id, "client_id": "C1", "carer_id": carer_id, "method": "nfc"}


@pytest.fixture()
def two_processes(kafka_settings: KafkaSettings, api_dsn: str,
                  tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    one = create_app(settings_for(kafka_settings, api_dsn, tmp_path / "one"))
    two = create_app(settings_for(kafka_settings, api_dsn, tmp_path / "two"))
    with TestClient(one) as a, TestClient(two) as b:
        for client in (a, b):
            deadline = time.monotonic() + 30
            while client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, client.get("/readyz").json()
                time.sleep(0.1)
        yield a, b


def test_a_visit_planned_through_one_process_is_refused_to_another_provider_by_the_other(
    two_processes: tuple[TestClient, TestClient], api_dsn: str
) -> None:
    a, b = two_processes
    p1, p2 = {"X-API-Key": issue(api_dsn, "P1")}, {"X-API-Key": issue(api_dsn, "P2")}
    for n in range(5):  # each at once after the plan's acknowledgement
        visit = f"V-{uuid.uuid4().hex[:8]}"
        assert a.post("/v1/events", json=planned("P2", visit), headers=p2).status_code == 202
        refused = b.post("/v1/events", json=check_in("P1", visit), headers=p1)
        assert refused.status_code == 403, (n, refused.text)
        assert b.post("/v1/events", json=check_in("P2", visit), headers=p2).status_code == 202
        batch = {"events": [check_in("P1", visit), planned("P1", visit)]}
        assert a.post("/v1/events/batch", json=batch, headers=p1).status_code == 403


def test_a_carer_registered_through_one_process_is_refused_to_another_provider_by_the_other(
    two_processes: tuple[TestClient, TestClient], api_dsn: str
) -> None:
    a, b = two_processes
    admin, p1 = {"X-API-Key": issue(api_dsn, "KCC", Role.ADMIN)}, {"X-API-Key": issue(api_dsn, "P1")}
    carer = f"K-{uuid.uuid4().hex[:8]}"
    registered = {"event_type": "carer_registered", "event_id": f"r-{uuid.uuid4()}",
                  "occurred_at": "2026-01-01T00:00:00+00:00", "provider_id": "P2",
                  "carer_id": carer, "effective_from": "2026-01-01"}
    assert a.post("/v1/events", json=registered, headers=admin).status_code == 202
    visit = f"V-{uuid.uuid4().hex[:8]}"
    assert b.post("/v1/events", json=planned("P1", visit), headers=p1).status_code == 202
    refused = b.post("/v1/events", json=check_in("P1", visit, carer), headers=p1)
    assert refused.status_code == 403 and "carer" in refused.json()["message"]


def test_ecm_api_with_two_workers_keeps_every_visit_to_its_provider(
    kafka_settings: KafkaSettings, api_dsn: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, "ECM_KAFKA__BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
           "ECM_KAFKA__TOPIC_PREFIX": kafka_settings.topic_prefix,
           "ECM_KAFKA__PARTITIONS": str(kafka_settings.partitions),
           "ECM_DB__DSN": api_dsn, "ECM_STATE_DIR": str(tmp_path)}
    ecm = str(Path(sys.executable).with_name("ecm"))
    server = subprocess.Popen([ecm, "api", "--port", str(port), "--workers", "2",
                               "--log-level", "warning"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url)
        p1, p2 = {"X-API-Key": issue(api_dsn, "P1")}, {"X-API-Key": issue(api_dsn, "P2")}
        for _ in range(10):  # a new connection each time: either process may answer
            visit = f"V-{uuid.uuid4().hex[:8]}"
            assert httpx.post(f"{url}/v1/events", json=planned("P2", visit),
                              headers=p2).status_code == 202
            assert httpx.post(f"{url}/v1/events", json=check_in("P1", visit),
                              headers=p1).status_code == 403
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 180  # two processes starting on a shared, busy machine
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("ecm api did not become ready")
