"""The operator commands send the right requests to the API and explain its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecm.cli import api_client, app, codes_cmd
from ecm.cli.api_client import HttpRequest, HttpResponse, OperatorApi
from ecm.contracts import ReasonCodesPublished
from ecm.simulate.reference import DEFAULT_REASON_CODES

from .fakes import API, KEY_ONLY, FakeTransport


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_explain_posts_the_reason_to_the_exception_s_quoted_path(transport: FakeTransport) -> None:
    _run("exceptions", "explain", "V778:manual_entry:K0815", "--reason", "phone_battery_dead",
         "--note", "Phone died at 08:50", *API)
    request = transport.sent[0]
    assert request.method == "POST"
    assert request.url == "http://ecm.test/v1/exceptions/V778%3Amanual_entry%3AK0815/explanations"
    assert request.headers["Authorization"] == "Bearer k-123"
    assert transport.body() == {"reason_code": "phone_battery_dead",
                                "note": "Phone died at 08:50", "by": "cm-rpatel"}


def test_deciding_one_exception_posts_one_decision(transport: FakeTransport) -> None:
    _run("exceptions", "decide", "V778:manual_entry:K0815", "--decision", "accepted",
         "--resolution", "evidence_accepted", *API)
    assert transport.sent[0].url.endswith("/v1/exceptions/V778%3Amanual_entry%3AK0815/decisions")
    assert transport.body() == {"decision": "accepted", "resolution_code": "evidence_accepted",
                                "by": "cm-rpatel"}


def test_deciding_several_exceptions_is_one_bulk_request(transport: FakeTransport) -> None:
    _run("exceptions", "decide", "V1:manual_entry:K1", "V2:manual_entry:K1",
         "--decision", "rejected", "--resolution", "reason_not_accepted",
         "--note", "No log book entry", *API)
    assert len(transport.sent) == 1
    assert transport.sent[0].url == "http://ecm.test/v1/exceptions/decisions"
    assert transport.body()["exception_ids"] == ["V1:manual_entry:K1", "V2:manual_entry:K1"]
    assert transport.body()["decision"] == "rejected"


def test_deciding_by_filter_is_one_bulk_request_without_ids(transport: FakeTransport) -> None:
    _run("exceptions", "decide", "--decision", "accepted", "--resolution", "evidence_accepted",
         "--provider", "P017", "--reason", "phone_battery_dead", "--from", "2026-11-16",
         "--to", "2026-11-22", "--event-id", "bulk-w47", *API)
    assert transport.sent[0].url == "http://ecm.test/v1/exceptions/decisions"
    assert transport.body() == {
        "decision": "accepted", "resolution_code": "evidence_accepted", "by": "cm-rpatel",
        "event_id": "bulk-w47", "provider_id": "P017", "reason_code": "phone_battery_dead",
        "from": "2026-11-16", "to": "2026-11-22"}


def test_deciding_nothing_is_refused_before_any_request(transport: FakeTransport) -> None:
    result = CliRunner().invoke(app, ["exceptions", "decide", "--decision", "accepted",
                                      "--resolution", "evidence_accepted", *API])
    assert result.exit_code == 2 and transport.sent == []


def test_a_refusal_prints_the_api_s_reasons_and_exits_1(transport: FakeTransport) -> None:
    transport.replies.append(HttpResponse(422, json.dumps({
        "error": "refused", "message": "the act is refused", "request_id": "r1",
        "errors": [{"field": "note", "reason": "code 'reason_not_accepted' requires a note"}],
    }).encode()))
    result = CliRunner().invoke(app, ["exceptions", "decide", "V1:manual_entry:K1",
                                      "--decision", "rejected",
                                      "--resolution", "reason_not_accepted", *API])
    assert result.exit_code == 1
    assert "HTTP 422 refused" in result.output
    assert "note: code 'reason_not_accepted' requires a note" in result.output


def test_list_exceptions_passes_filters_and_prints_a_table(transport: FakeTransport) -> None:
    transport.replies.append(HttpResponse(200, json.dumps([
        {"exception_id": "V1:manual_entry:K1", "kind": "manual_entry", "provider_id": "P1",
         "status": "explained", "status_code": "phone_battery_dead"}]).encode()))
    output = _run("exceptions", "list", "--provider", "P1", "--status", "explained", *KEY_ONLY)
    assert transport.sent[0].method == "GET"
    assert transport.sent[0].url == (
        "http://ecm.test/v1/exceptions?provider_id=P1&status=explained&limit=100")
    assert "V1:manual_entry:K1" in output and "phone_battery_dead" in output


@pytest.mark.parametrize(("args", "path", "body"), [
    (["ack", "V9:missed", "--action", "Carer on the way"], "acknowledgements",
     {"action_taken": "Carer on the way", "by": "cm-rpatel"}),
    (["escalate", "V9:missed", "--to", "manager", "--note", "No carer free"], "escalations",
     {"to_tier": "manager", "note": "No carer free", "by": "cm-rpatel"}),
    (["close", "V9:missed", "--outcome", "client_safe"], "closures",
     {"outcome_code": "client_safe", "by": "cm-rpatel"}),
])
def test_alert_commands_post_to_the_alert_s_route(
    transport: FakeTransport, args: list[str], path: str, body: dict[str, str]
) -> None:
    _run("alerts", *args, *API)
    assert transport.sent[0].url == f"http://ecm.test/v1/alerts/V9%3Amissed/{path}"
    assert transport.body() == body


def test_escalating_to_an_unknown_tier_is_refused_before_any_request(
    transport: FakeTransport,
) -> None:
    result = CliRunner().invoke(app, ["alerts", "escalate", "V9:missed", "--to", "mayor", *API])
    assert result.exit_code == 2
    assert transport.sent == []


def test_monitoring_set_posts_the_period(transport: FakeTransport) -> None:
    _run("monitoring", "set", "C4-hospital", "--client", "C4",
         "--starts", "2026-11-17T10:00+00:00", "--until", "2026-11-19T10:00+00:00",
         "--reason", "Family staying this weekend", *API)
    assert transport.sent[0].url == "http://ecm.test/v1/monitoring"
    assert transport.body() == {
        "monitoring_id": "C4-hospital", "client_id": "C4", "starts": "2026-11-17T10:00:00+00:00",
        "until": "2026-11-19T10:00:00+00:00", "reason": "Family staying this weekend",
        "by": "cm-rpatel"}


def test_monitoring_set_needs_a_client_or_a_service(transport: FakeTransport) -> None:
    result = CliRunner().invoke(app, ["monitoring", "set", "M1", "--starts",
                                      "2026-11-17T10:00+00:00", "--until",
                                      "2026-11-19T10:00+00:00", "--reason", "x", *API])
    assert result.exit_code == 2 and transport.sent == []


def test_an_unreachable_api_is_an_error_naming_it() -> None:
    def refuse(request: HttpRequest) -> HttpResponse:
        raise ConnectionRefusedError("connection refused")

    api = OperatorApi("http://127.0.0.1:9", "k", transport=refuse)
    with pytest.raises(api_client.ApiError, match="cannot reach the ecm API at http://127.0.0.1:9"):
        api.call("GET", "/v1/alerts")


def test_codes_load_publishes_the_default_list(monkeypatch: pytest.MonkeyPatch) -> None:
    published: list[ReasonCodesPublished] = []
    monkeypatch.setattr(codes_cmd, "publish_code_list", lambda kafka, event: published.append(event))
    output = _run("codes", "load", str(DEFAULT_REASON_CODES))
    assert [e.code_list_id for e in published] == ["ecm-default-1"]
    assert "published code list ecm-default-1" in output


def test_codes_load_refuses_an_invalid_list_naming_the_field(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    document = json.loads(DEFAULT_REASON_CODES.read_text())
    document["codes"][0]["settles"] = ["teleported"]
    bad = tmp_path / "codes.json"
    bad.write_text(json.dumps(document))
    monkeypatch.setattr(codes_cmd, "publish_code_list", lambda kafka, event: pytest.fail("sent"))
    result = CliRunner().invoke(app, ["codes", "load", str(bad)])
    assert result.exit_code == 2
    assert "settles" in result.output


def test_codes_load_check_only_validates() -> None:
    output = _run("codes", "load", "--check", str(DEFAULT_REASON_CODES))
    assert "ecm-default-1: valid" in output and "explanation" in output
