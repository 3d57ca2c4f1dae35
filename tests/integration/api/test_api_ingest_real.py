from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from api_stack import consume_all, issue, settings_for
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecm.api import create_app
from ecm.cli import app as cli
from ecm.settings import KafkaSettings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _event(i: int, provider: str = "P1") -> dict[str, object]:
    return {"event_type": "carer_checked_in", "event_id": f"it-{i}",
            "occurred_at": "2026-01-05T09:02:00+00:00", "provider_id": provider,
            "visit_id": f"V{i % 37}", "client_id": "C1", "carer_id": "K1", "method": "nfc"}


def test_accepted_events_arrive_exactly_once_on_the_topic(
    kafka_settings: KafkaSettings, api_dsn: str, state_dir: Path
) -> None:
    app = create_app(settings_for(kafka_settings, api_dsn, state_dir))
    headers = {"Authorization": f"Bearer {issue(api_dsn, 'P1')}"}
    with TestClient(app) as client:
        batch = [_event(i) for i in range(500)] + [{"event_type": "nope"}]
        response = client.post("/v1/events/batch", json={"events": batch}, headers=headers)
        assert response.status_code == 202 and response.json()["accepted"] == 500
        for i in range(500, 520):
            assert client.post("/v1/events", json=_event(i), headers=headers).status_code == 202
    records = consume_all(kafka_settings, "visit-events", expect=520)
    counts = Counter(json.loads(r.value)["event_id"] for r in records)
    assert len(counts) == 520 and set(counts.values()) == {1}
    assert all(r.key.decode() == json.loads(r.value)["visit_id"] for r in records)


def test_a_csv_of_actuals_is_published_row_by_row_with_an_error_report(
    kafka_settings: KafkaSettings, api_dsn: str, state_dir: Path
) -> None:
    header = "visit_id,client_id,carer_id,check_in_time,check_in_method,check_out_time\n"
    rows = "".join(f"V{i},C1,K1,2026-01-05 09:00,telephony,2026-01-05 09:30\n"
                   for i in range(20_000))
    body = (header + rows + "VX,C1,K1,,,\n").encode()
    app = create_app(settings_for(kafka_settings, api_dsn, state_dir, upload_batch_size=1000))
    headers = {"X-API-Key": issue(api_dsn, "P1"), "content-type": "text/csv"}
    with TestClient(app) as client:
        summary = client.post("/v1/uploads/actuals", content=body, headers=headers).json()
        assert (summary["rows_accepted"], summary["rows_rejected"]) == (20_000, 1)
        report = client.get(summary["errors_url"], headers=headers)
        assert report.text.splitlines()[1].startswith("20002,check_in_time,")
    records = consume_all(kafka_settings, "visit-events", expect=40_000, timeout=60)
    assert len({json.loads(r.value)["event_id"] for r in records}) == len(records) == 40_000


def test_keys_from_the_cli_authenticate_and_revoking_refuses_them(
    kafka_settings: KafkaSettings, api_dsn: str, state_dir: Path
) -> None:
    runner = CliRunner()
    added = runner.invoke(cli, ["providers", "add-key", "P7", "--dsn", api_dsn])
    assert added.exit_code == 0, added.output
    token = next(line.split()[1] for line in added.stdout.splitlines()
                 if line.startswith("api_key:"))
    key_id = token.split("_")[1]
    listed = runner.invoke(cli, ["providers", "list-keys", "P7", "--dsn", api_dsn])
    assert key_id in listed.stdout and token.split("_", 2)[2] not in listed.stdout
    app = create_app(settings_for(kafka_settings, api_dsn, state_dir))
    with TestClient(app) as client:
        assert client.get("/v1/visits", headers={"X-API-Key": token}).status_code == 200
        rotated = runner.invoke(cli, ["providers", "rotate-key", key_id, "--dsn", api_dsn])
        new_token = next(line.split()[1] for line in rotated.stdout.splitlines()
                         if line.startswith("api_key:"))
        assert client.get("/v1/visits", headers={"X-API-Key": token}).status_code == 401
        assert client.get("/v1/visits", headers={"X-API-Key": new_token}).status_code == 200
        revoked = runner.invoke(cli, ["providers", "revoke-key", new_token.split("_")[1],
                                      "--dsn", api_dsn])
        assert revoked.exit_code == 0
        assert client.get("/v1/visits", headers={"X-API-Key": new_token}).status_code == 401


def test_readiness_sees_kafka_the_database_and_the_owners(
    kafka_settings: KafkaSettings, api_dsn: str, state_dir: Path
) -> None:
    with TestClient(create_app(settings_for(kafka_settings, api_dsn, state_dir))) as client:
        response = client.get("/readyz")  # serving at all means the owners were read
        assert response.status_code == 200, response.text
        assert response.json() == {"kafka": "ok", "db": "ok", "ownership": "ok"}
