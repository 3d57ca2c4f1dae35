"""``POST /v1/events`` served past FastAPI's routing answers exactly as the routed endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from api_fakes import Api, check_in, make_api

import ecm.api.routers.events as events_router
from ecm.api.keys import Role
from ecm.producer import PublishError


def _answers(api: Api, path: str = "/v1/events") -> list[tuple[int, dict[str, Any], str | None]]:
    """Status, body (request id left out) and Retry-After of a range of requests."""
    provider, admin = api.headers("P1"), api.headers("COUNCIL", Role.ADMIN)
    json_type = {"content-type": "application/json"}
    requests: list[dict[str, Any]] = [
        {"json": check_in(), "headers": provider},
        {"json": check_in(event_id="e-2"), "headers": admin},
        {"json": check_in(event_id="e-3")},
        {"json": check_in(event_id="e-4"), "headers": {"X-API-Key": "ecm_nope_nope"}},
        {"json": check_in(event_id="e-5", provider_id="P2"), "headers": provider},
        {"json": check_in(event_id="e-6", method="pigeon"), "headers": provider},
        {"content": b"[]", "headers": {**provider, **json_type}},
        {"content": b"{not json", "headers": {**provider, **json_type}},
        {"content": b" " * 4096, "headers": {**provider, **json_type}},
    ]
    answers = []
    for request in requests:
        response = api.client.post(path, **request)
        body = response.json()
        assert body.pop("request_id", response.headers["x-request-id"]) == (
            response.headers["x-request-id"])
        answers.append((response.status_code, body, response.headers.get("retry-after")))
    api.publisher.fail = PublishError("timeout")
    response = api.client.post(path, json=check_in(event_id="e-7"), headers=provider)
    answers.append((response.status_code, response.json()["error"],
                    response.headers.get("retry-after")))
    return answers


def test_the_direct_route_answers_as_the_routed_endpoint(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    direct = _answers(make_api(tmp_path / "direct", max_body_bytes=2048))
    monkeypatch.setattr(events_router, "DIRECT", {})
    routed = _answers(make_api(tmp_path / "routed", max_body_bytes=2048))
    assert direct == routed
    assert [status for status, _, _ in direct] == [202, 202, 401, 401, 403, 422, 422, 422, 413,
                                                   503]


def test_a_trailing_slash_still_goes_through_the_full_stack(api: Api) -> None:
    response = api.client.post("/v1/events/", json=check_in(), headers=api.headers(),
                               follow_redirects=False)
    assert response.status_code == 307  # FastAPI's redirect, as before
