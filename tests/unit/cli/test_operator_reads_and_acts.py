"""Corrections, frustrated visits, and one exception or alert shown with its history."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ecm.cli import app

from .fakes import API, KEY_ONLY, FakeTransport, run_ok

EXCEPTION = {
    "exception_id": "V778:manual_entry:K0815", "kind": "manual_entry", "visit_id": "V778",
    "provider_id": "P017", "detected_at": "2026-11-17T09:05:00Z", "status": "accepted",
    "status_code": "evidence_accepted", "reason_code": "phone_battery_dead", "detail": "",
    "history": [
        {"event_id": "exp-1", "event_type": "exception_explained", "code": "phone_battery_dead",
         "by": "office-jsmith", "by_role": "provider", "note": "Phone died at 08:50",
         "occurred_at": "2026-11-17T10:00:00Z", "received_at": "2026-11-17T10:00:02Z"},
        {"event_id": "dec-1", "event_type": "exception_decided", "code": "evidence_accepted",
         "decision": "accepted", "by": "cm-rpatel", "by_role": "contract_manager",
         "occurred_at": "2026-11-18T15:00:00Z", "received_at": "2026-11-18T15:00:01Z"},
    ],
}  # fmt: skip
ALERT = {
    "alert_id": "V902:missed", "kind": "missed", "visit_id": "V902", "provider_id": "P017",
    "tier": "council_duty", "monitor_only": False, "raised_at": "2026-11-17T09:00:00Z",
    "acknowledged_by": "duty-akhan", "action_taken": "Welfare call made",
    "timeline": [
        {"event_id": "ar-V902", "action": "raised", "tier": "provider_on_call", "by": "ecm",
         "occurred_at": "2026-11-17T09:00:00Z", "learned_at": "2026-11-17T09:00:03Z"},
        {"event_id": "alert:V902:missed:escalated:council_duty", "action": "escalated",
         "tier": "council_duty", "by": "ecm", "by_role": "system",
         "note": "not acknowledged within 15 minutes",
         "occurred_at": "2026-11-17T09:15:00Z", "learned_at": "2026-11-17T09:15:04Z"},
        {"event_id": "ack-1:handled", "action": "acknowledged", "tier": "council_duty",
         "by": "duty-akhan", "by_role": "duty_officer", "occurred_at": "2026-11-17T09:21:00Z",
         "learned_at": "2026-11-17T09:21:01Z"},
    ],
}  # fmt: skip


# --------------------------------------------------------------------------- corrections


def test_corrections_list_asks_for_held_ones_and_prints_a_table(transport: FakeTransport) -> None:
    transport.answer([{"event_id": "corr-9", "visit_id": "V5", "provider_id": "P017",
                       "local_date": "2026-11-02", "occurred_at": "2026-11-16T10:00:00Z"}])
    output = run_ok("corrections", "list", "--provider", "P017", *KEY_ONLY)
    request = transport.sent[0]
    assert (request.method, request.url) == (
        "GET", "http://ecm.test/v1/corrections?status=held&provider_id=P017&limit=100")
    assert output.splitlines()[0].split() == [
        "event_id", "visit_id", "provider_id", "local_date", "occurred_at"]
    assert "corr-9" in output and "2026-11-02" in output


def test_corrections_list_json_prints_the_api_s_answer(transport: FakeTransport) -> None:
    transport.answer([])
    assert json.loads(run_ok("corrections", "list", "--json", *KEY_ONLY)) == []


def test_deciding_a_correction_posts_the_decision_to_its_quoted_path(
    transport: FakeTransport,
) -> None:
    output = run_ok("corrections", "decide", "corr:9", "--decision", "rejected",
                    "--note", "Visit long paid", "--event-id", "cd-1", *API)
    request = transport.sent[0]
    assert (request.method, request.url) == (
        "POST", "http://ecm.test/v1/corrections/corr%3A9/decisions")
    assert transport.body() == {"decision": "rejected", "note": "Visit long paid",
                                "event_id": "cd-1", "by": "cm-rpatel"}
    assert json.loads(output)["event_id"] == "e1"


def test_a_correction_decision_other_than_accepted_or_rejected_is_refused_locally(
    transport: FakeTransport,
) -> None:
    result = CliRunner().invoke(app, ["corrections", "decide", "corr-9", "--decision", "maybe",
                                      *API])
    assert result.exit_code == 2 and transport.sent == []


def test_a_correction_not_held_any_more_prints_the_conflict_and_exits_1(
    transport: FakeTransport,
) -> None:
    transport.answer({"error": "conflict", "message": "this correction is not held for approval",
                      "errors": [{"field": "event_id", "reason": "not held"}]}, status=409)
    result = CliRunner().invoke(app, ["corrections", "decide", "corr-9", "--decision",
                                      "accepted", *API])
    assert result.exit_code == 1
    assert "HTTP 409 conflict" in result.output and "event_id: not held" in result.output


# --------------------------------------------------------------------------- frustrated visits


def test_a_frustrated_visit_posts_the_carer_code_and_time(transport: FakeTransport) -> None:
    run_ok("visits", "frustrated", "V1234", "--carer", "K-0042", "--reason", "no_answer",
           "--at", "2026-11-17T09:20+00:00", "--note", "Nobody home", "--event-id", "fr-1",
           *API)
    request = transport.sent[0]
    assert (request.method, request.url) == ("POST", "http://ecm.test/v1/visits/V1234/frustrated")
    assert transport.body() == {
        "carer_id": "K-0042", "reason_code": "no_answer",
        "occurred_at": "2026-11-17T09:20:00+00:00", "note": "Nobody home", "event_id": "fr-1",
        "by": "cm-rpatel"}  # fmt: skip


def test_a_frustrated_visit_without_a_time_leaves_it_to_the_api(transport: FakeTransport) -> None:
    run_ok("visits", "frustrated", "V1234", "--carer", "K-0042", "--reason", "no_answer", *API)
    assert transport.body() == {"carer_id": "K-0042", "reason_code": "no_answer",
                                "by": "cm-rpatel"}


@pytest.mark.parametrize("missing", ["--carer", "--reason"])
def test_a_frustrated_visit_needs_the_carer_and_the_reason(
    transport: FakeTransport, missing: str
) -> None:
    args = {"--carer": "K-0042", "--reason": "no_answer"}
    del args[missing]
    result = CliRunner().invoke(app, ["visits", "frustrated", "V1234",
                                      *[x for kv in args.items() for x in kv], *API])
    assert result.exit_code == 2 and transport.sent == []


def test_a_frustrated_visit_time_without_an_offset_is_refused_locally(
    transport: FakeTransport,
) -> None:
    result = CliRunner().invoke(app, ["visits", "frustrated", "V1234", "--carer", "K-0042",
                                      "--reason", "no_answer", "--at", "2026-11-17T09:20", *API])
    assert result.exit_code == 2 and transport.sent == []


# --------------------------------------------------------------------------- show


def test_exceptions_show_prints_where_it_stands_and_each_act_in_order(
    transport: FakeTransport,
) -> None:
    transport.answer(EXCEPTION)
    output = run_ok("exceptions", "show", "V778:manual_entry:K0815", *KEY_ONLY)
    request = transport.sent[0]
    assert (request.method, request.url) == (
        "GET", "http://ecm.test/v1/exceptions/V778%3Amanual_entry%3AK0815")
    lines = output.splitlines()
    assert any(line.split() == ["status", "accepted"] for line in lines)
    assert any(line.split() == ["reason_code", "phone_battery_dead"] for line in lines)
    assert not any(line.startswith("decided_at") for line in lines)  # blank: left out
    history = lines[lines.index("history:") + 1:]
    assert history[0].split()[:4] == ["occurred_at", "received_at", "event_type", "by"]
    assert "exception_explained" in history[1] and "Phone died at 08:50" in history[1]
    assert "exception_decided" in history[2] and "accepted" in history[2]


def test_exceptions_show_json_is_the_api_s_answer(transport: FakeTransport) -> None:
    transport.answer(EXCEPTION)
    shown = json.loads(run_ok("exceptions", "show", "V778:manual_entry:K0815", "--json",
                              *KEY_ONLY))
    assert shown == EXCEPTION


def test_alerts_show_prints_the_timeline_with_fact_and_learned_times(
    transport: FakeTransport,
) -> None:
    transport.answer(ALERT)
    output = run_ok("alerts", "show", "V902:missed", *KEY_ONLY)
    assert transport.sent[0].url == "http://ecm.test/v1/alerts/V902%3Amissed"
    lines = output.splitlines()
    assert any(line.split() == ["tier", "council_duty"] for line in lines)
    timeline = lines[lines.index("timeline:") + 1:]
    assert timeline[0].split()[:3] == ["occurred_at", "learned_at", "action"]
    assert [row.split()[:3] for row in timeline[1:]] == [
        ["2026-11-17T09:00:00Z", "2026-11-17T09:00:03Z", "raised"],
        ["2026-11-17T09:15:00Z", "2026-11-17T09:15:04Z", "escalated"],
        ["2026-11-17T09:21:00Z", "2026-11-17T09:21:01Z", "acknowledged"],
    ]
    assert "not acknowledged within 15 minutes" in timeline[2]


def test_showing_an_unknown_or_another_provider_s_alert_prints_404_and_exits_1(
    transport: FakeTransport,
) -> None:
    transport.answer({"error": "not_found", "message": "no such alert"}, status=404)
    result = CliRunner().invoke(app, ["alerts", "show", "V1:missed", *KEY_ONLY])
    assert result.exit_code == 1 and "HTTP 404 not_found: no such alert" in result.output


def test_an_alert_with_no_timeline_yet_says_none(transport: FakeTransport) -> None:
    transport.answer({**ALERT, "timeline": []})
    output = run_ok("alerts", "show", "V902:missed", *KEY_ONLY)
    assert output.splitlines()[-2:] == ["timeline:", "(none)"]
