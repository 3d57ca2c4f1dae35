from __future__ import annotations

import json
import logging

import pytest
from api_fakes import Api, check_in, make_api

from ecm.contracts import dump_event, parse_event
from ecm.producer import PublishError


def test_valid_event_is_answered_202_once_published_keyed_by_visit(api: Api) -> None:
    response = api.client.post("/v1/events", json=check_in(), headers=api.headers())
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "event_id": "e-1"}
    [record] = api.publisher.records
    assert record.topic == "unit.visit-events"
    assert record.key == b"V1"
    assert record.value == dump_event(parse_event(check_in()))


def test_the_same_event_sent_twice_produces_identical_records(api: Api) -> None:
    headers = api.headers()
    for _ in range(2):
        assert api.client.post("/v1/events", json=check_in(), headers=headers).status_code == 202
    first, second = api.publisher.records
    assert first == second  # same key, same bytes, same event_id: consumers dedup


def test_invalid_event_lists_every_failing_field(api: Api) -> None:
    bad = check_in(occurred_at="2026-01-05T09:02:00", method="pigeon")
    del bad["visit_id"]
    response = api.client.post("/v1/events", json=bad, headers=api.headers())
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_failed" and body["request_id"]
    fields = {e["field"] for e in body["errors"]}
    assert {"visit_id", "method", "occurred_at"} <= fields
    assert api.publisher.records == []


def test_output_events_are_not_accepted_from_outside(api: Api) -> None:
    alert = {"event_type": "alert_resolved", "event_id": "a", "occurred_at":
             "2026-01-05T09:00:00Z", "alert_id": "x", "kind": "missed", "visit_id": "V1",
             "provider_id": "P1", "resolution": "ok"}
    response = api.client.post("/v1/events", json=alert, headers=api.headers())
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "event_type",
                                          "reason": "emitted by the service only"}]


def test_batch_reports_each_item_and_publishes_the_valid_ones(api: Api) -> None:
    events = [check_in(event_id="a"), check_in(event_id="b", method="manual"),
              check_in(event_id="a"), check_in(event_id="c")]
    response = api.client.post("/v1/events/batch", json={"events": events},
                               headers=api.headers())
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 2)
    statuses = [(i["index"], i["status"]) for i in body["items"]]
    assert statuses == [(0, "accepted"), (1, "rejected"), (2, "rejected"), (3, "accepted")]
    assert body["items"][1]["errors"] == [{"field": "reason_code",
                                           "reason": "required when method is manual"}]
    assert body["items"][2]["errors"][0]["field"] == "event_id"
    assert [json.loads(r.value)["event_id"] for r in api.publisher.records] == ["a", "c"]


def test_batch_with_no_valid_item_is_422(api: Api) -> None:
    response = api.client.post("/v1/events/batch", json={"events": [{"x": 1}]},
                               headers=api.headers())
    assert response.status_code == 422
    assert response.json()["rejected"] == 1


def test_batch_over_the_limit_is_refused(tmp_path) -> None:
    small = make_api(tmp_path, max_batch=2)
    events = [check_in(event_id=str(i)) for i in range(3)]
    response = small.client.post("/v1/events/batch", json={"events": events},
                                 headers=small.headers())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "events"
    assert small.publisher.records == []


def test_broker_failure_answers_503_with_retry_after_and_never_202(api: Api) -> None:
    api.publisher.fail = PublishError("timeout")
    response = api.client.post("/v1/events", json=check_in(), headers=api.headers())
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"] == "unavailable"


def test_unexpected_error_is_a_generic_500_with_a_request_id(api: Api) -> None:
    api.publisher.fail = RuntimeError("secret internals at /srv/x.py line 3")
    response = api.client.post("/v1/events", json=check_in(), headers=api.headers())
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "internal_error"
    assert body["request_id"] == response.headers["x-request-id"]
    assert "secret internals" not in response.text and "Traceback" not in response.text


def test_neither_the_key_nor_gps_coordinates_are_logged(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = api.headers(provider_id="P1")
    api.client.post("/v1/events", json=check_in(provider_id="P2"), headers=headers)
    api.client.post("/v1/events", json=check_in(), headers=headers)
    token = headers["Authorization"].split()[1]
    logged = caplog.text + " ".join(str(vars(r)) for r in caplog.records)
    assert token.split("_", 2)[2] not in logged
    assert "51.123456" not in logged and "1.654321" not in logged


def test_request_without_json_body_is_422_not_500(api: Api) -> None:
    response = api.client.post("/v1/events", content=b"{not json", headers={
        **api.headers(), "content-type": "application/json"})
    assert response.status_code == 422


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/events", b"[]", "(event)"),
    ("/v1/events", b"", "(event)"),
    ("/v1/events/batch", b"{not json", "(body)"),
    ("/v1/events/batch", b'{"events": []}', "events"),
    ("/v1/events/batch", b'{"events": {"a": 1}}', "events"),
    ("/v1/events/batch", b"[]", "events"),
])
def test_a_body_of_the_wrong_shape_is_422_naming_what(
        api: Api, path: str, body: bytes, field: str) -> None:
    response = api.client.post(path, content=body, headers={
        **api.headers(), "content-type": "application/json"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_each_item_is_validated_once(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    import ecm.api.ingest as ingest

    calls: list[object] = []

    def counted(payload: object) -> object:
        calls.append(payload)
        return parse_event(payload)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest, "parse_event", counted)
    one = api.client.post("/v1/events", json=check_in(), headers=api.headers())
    assert one.status_code == 202 and len(calls) == 1 and isinstance(calls[0], bytes)
    batch = [check_in(event_id=f"e-{n}") for n in range(3)]
    many = api.client.post("/v1/events/batch", json={"events": batch}, headers=api.headers())
    assert many.status_code == 202 and len(calls) == 4
