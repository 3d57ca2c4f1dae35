"""The routes served past FastAPI's routing answer exactly as the routed endpoints."""

from __future__ import annotations

from typing import Any

import pytest
from api_fakes import Api, check_in, make_api

import ecm.api.routers.events as events_router
from ecm.api.keys import Role
from ecm.producer import PublishError


def _answers(api: Api, path: str, bodies: list[dict[str, Any]],
             failing: dict[str, Any]) -> list[tuple[int, dict[str, Any], str | None]]:
    """Status, body (request id left out) and Retry-After of a range of requests.

    ``bodies`` are the requests' ``json`` or ``content`` and headers (``None``: a
    provider's key); ``failing`` is one sent while the publisher fails.
    """
    provider = api.headers("P1")
    answers = []
    for request in bodies:
        headers = request.pop("headers", None)
        response = api.client.post(path, **request, headers=provider if headers is None
                                   else headers)
        body = response.json()
        assert body.pop("request_id", response.headers["x-request-id"]) == (
            response.headers["x-request-id"])
        answers.append((response.status_code, body, response.headers.get("retry-after")))
    api.publisher.fail = PublishError("timeout")
    response = api.client.post(path, json=failing, headers=provider)
    api.publisher.fail = None
    answers.append((response.status_code, response.json()["error"],
                    response.headers.get("retry-after")))
    return answers


def _single_events(api: Api) -> list[tuple[int, dict[str, Any], str | None]]:
    provider, admin = api.headers("P1"), api.headers("COUNCIL", Role.ADMIN)
    json_type = {**provider, "content-type": "application/json"}
    return _answers(api, "/v1/events", [
        {"json": check_in()},
        {"json": check_in(event_id="e-2"), "headers": admin},
        {"json": check_in(event_id="e-3"), "headers": {}},
        {"json": check_in(event_id="e-4"), "headers": {"X-API-Key": "ecm_nope_nope"}},
        {"json": check_in(event_id="e-5", provider_id="P2")},
        {"json": check_in(event_id="e-6", method="pigeon")},
        {"content": b"[]", "headers": json_type},
        {"content": b"{not json", "headers": json_type},
        {"content": b" " * 4096, "headers": json_type},
    ], check_in(event_id="e-7"))


def _batches(api: Api) -> list[tuple[int, dict[str, Any], str | None]]:
    json_type = {**api.headers("P1"), "content-type": "application/json"}
    return _answers(api, "/v1/events/batch", [
        {"json": {"events": [check_in(), check_in(event_id="e-2")]}},
        {"json": {"events": [check_in(event_id="e-3"), check_in(event_id="e-4", method="x")]}},
        {"json": {"events": [check_in(event_id="e-5", occurred_at="2026-01-05T09:02:00")]}},
        {"json": {"events": [check_in(event_id="e-6")]}, "headers": {}},
        {"json": {"events": [check_in(event_id="e-7"), check_in(event_id="e-8",
                                                                provider_id="P2")]}},
        {"json": {"events": [check_in(event_id=f"e-9-{n}") for n in range(4)]}},
        {"json": {"events": []}},
        {"content": b"{not json", "headers": json_type},
        {"content": b" " * 4096, "headers": json_type},
    ], {"events": [check_in(event_id="e-10")]})


def test_the_direct_routes_answer_as_the_routed_endpoints(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    direct = make_api(tmp_path / "direct", max_body_bytes=2048, max_batch=3)
    direct_answers = _single_events(direct), _batches(direct)
    monkeypatch.setattr(events_router, "DIRECT", {})
    routed = make_api(tmp_path / "routed", max_body_bytes=2048, max_batch=3)
    assert direct_answers == (_single_events(routed), _batches(routed))
    singles, batches = direct_answers
    assert [status for status, _, _ in singles] == [202, 202, 401, 401, 403, 422, 422, 422, 413,
                                                    503]
    assert [status for status, _, _ in batches] == [202, 202, 422, 401, 403, 422, 422, 422, 413,
                                                    503]
    assert [e["field"] for e in batches[1][1]["items"][1]["errors"]] == ["method"]
    assert [e["field"] for e in batches[2][1]["items"][0]["errors"]] == ["occurred_at"]


def test_a_trailing_slash_still_goes_through_the_full_stack(api: Api) -> None:
    response = api.client.post("/v1/events/", json=check_in(), headers=api.headers(),
                               follow_redirects=False)
    assert response.status_code == 307  # FastAPI's redirect, as before
