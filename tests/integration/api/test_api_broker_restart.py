"""A Kafka restart in the middle of a stream of batches loses nothing that was answered 202.

It stops and starts the local broker (``deploy/local/stack.sh down/up kafka``), which
disturbs anything else using it, so it only runs with ``ECM_TEST_RESTART_KAFKA=1``.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from api_stack import consume_all, issue, serve, settings_for

from ecm.api import create_app
from ecm.settings import KafkaSettings

pytestmark = [
    pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("ECM_TEST_RESTART_KAFKA") != "1",
                       reason="restarts the shared broker; set ECM_TEST_RESTART_KAFKA=1"),
]
STACK = Path(__file__).resolve().parents[3] / "deploy" / "local" / "stack.sh"


def _stack(*args: str) -> None:
    subprocess.run(["bash", str(STACK), *args, "kafka"], check=True, timeout=180)


def _send_until(stop: threading.Event, url: str, key: str, acked: list[str],
                codes: list[int]) -> None:
    n = 0
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as client:
        while not stop.is_set():
            ids = [f"r-{n}-{i}" for i in range(50)]
            events = [{"event_type": "carer_checked_out", "event_id": e, "occurred_at":
                       "2026-01-05T09:30:00Z", "provider_id": "P1", "visit_id": f"V{i}",
                       "client_id": "C1", "carer_id": "K1", "method": "nfc"}
                      for i, e in enumerate(ids)]
            response = client.post("/v1/events/batch", json={"events": events})
            codes.append(response.status_code)
            if response.status_code == 202:
                acked.extend(ids)
            n += 1


def test_a_broker_restart_loses_nothing_acknowledged(
    kafka_settings: KafkaSettings, api_dsn: str, state_dir: Path
) -> None:
    app = create_app(settings_for(kafka_settings, api_dsn, state_dir,
                                  publish_timeout_seconds=5, rate_limit_burst=100_000))
    acked: list[str] = []
    codes: list[int] = []
    stop = threading.Event()
    with serve(app) as url:
        sender = threading.Thread(target=_send_until,
                                  args=(stop, url, issue(api_dsn, "P1"), acked, codes))
        sender.start()
        try:
            time.sleep(3)
            _stack("down")
            time.sleep(3)
        finally:
            _stack("up")
        recovered_by = time.monotonic() + 90
        mark = len(codes)
        while time.monotonic() < recovered_by and 202 not in codes[mark:]:
            time.sleep(0.5)
        stop.set()
        sender.join(timeout=120)
    records = consume_all(kafka_settings, "visit-events", expect=len(acked), timeout=120)
    seen = {json.loads(r.value)["event_id"] for r in records}
    assert set(acked) <= seen, f"{len(set(acked) - seen)} acknowledged events lost"
    assert 503 in codes, "the restart should have made some batches fail"
    assert 202 in codes[mark:], "publishing did not recover after the broker came back"
