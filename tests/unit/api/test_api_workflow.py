"""Closing the loop over HTTP: each role, cross-provider refusals and bad input (fakes)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from api_fakes import Api

from ecm.api.keys import Role
from ecm.domain.workflow import Code, CodeList

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
CODES = CodeList("KCC-1", date(2025, 1, 1), None, (
    Code("phone_battery_dead", "explanation"),
    Code("other", "explanation", note_required=True),
    Code("late_only", "explanation", settles=frozenset({"late"})),
    Code("explanation_accepted", "resolution"),
    Code("explanation_rejected", "resolution"),
    Code("carer_sent", "alert_outcome"),
    Code("no_answer", "frustration"),
))  # fmt: skip


def _exception(exception_id: str, provider: str, status: str = "open", **more: Any) -> dict:
    return {"exception_id": exception_id, "kind": "no_check_in", "visit_id": f"V-{provider}",
            "provider_id": provider, "detected_at": T0, "status": status, "detail": "",
            **more}


ROTA_REFUSAL = "insufficient_travel_time is a finding about the carer's rota"


def _alert(alert_id: str, provider: str, **more: Any) -> dict:
    return {"alert_id": alert_id, "kind": "missed", "visit_id": f"V-{provider}",
            "provider_id": provider, "client_id": "C1", "raised_at": T0,
            "tier": "provider_on_call", "monitor_only": False, **more}


@pytest.fixture()
def loop(api: Api) -> Api:
    wf = api.workflow
    wf.code_list = CODES
    wf.exception_rows.update({
        "x1": _exception("x1", "P1"),
        "x2": _exception("x2", "P2"),
        "x3": _exception("x3", "P1", "explained", reason_code="phone_battery_dead"),
        "x4": _exception("x4", "P1", "settled"),
        "x5": _exception("x5", "P2", "explained", reason_code="phone_battery_dead"),
        "r1": _exception("r1", "P1", kind="insufficient_travel_time"),
    })  # fmt: skip
    wf.alert_rows.update({"a1": _alert("a1", "P1"), "a2": _alert("a2", "P2"),
                          "a3": _alert("a3", "P1", closed_at=T0, outcome_code="carer_sent")})
    wf.timeline.append({"alert_id": "a1", "event_id": "ar-1", "action": "raised",
                        "occurred_at": T0, "learned_at": T0})
    wf.corrections.update({
        "c1": {"event_id": "c1", "visit_id": "V-P1", "provider_id": "P1", "held": True},
        "c2": {"event_id": "c2", "visit_id": "V-P1", "provider_id": "P1", "held": False}})
    api.reads.visits_rows.append({"visit_id": "V-P1", "provider_id": "P1", "status": "missed",
                                  "local_date": None, "payload": {"client_id": "C1"}})
    return api


def _sent(api: Api) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in api.publisher.records]


def _post(api: Api, path: str, body: dict, provider: str = "P1",
          role: Role = Role.PROVIDER) -> Any:  # fmt: skip
    return api.client.post(path, json=body, headers=api.headers(provider, role))


def _errors(response: Any) -> list[tuple[str, str]]:
    return [(e["field"], e["reason"]) for e in response.json().get("errors") or []]


# --------------------------------------------------------------------------- explanations


def test_a_provider_explains_its_own_exception_and_the_act_is_published(loop: Api) -> None:
    r = _post(loop, "/v1/exceptions/x1/explanations",
              {"by": "u1", "reason_code": "phone_battery_dead", "event_id": "exp-1"})
    assert r.status_code == 202 and r.json()["event_id"] == "exp-1"
    (sent,) = _sent(loop)
    assert sent["event_type"] == "exception_explained"
    assert (sent["visit_id"], sent["provider_id"], sent["by_role"]) == ("V-P1", "P1", "provider")


def test_explaining_another_providers_exception_is_403_and_logged(
    loop: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ecm.api.security")
    r = _post(loop, "/v1/exceptions/x2/explanations", {"by": "u1", "reason_code": "other"})
    assert r.status_code == 403 and not loop.publisher.records
    assert any(rec.name == "ecm.api.security" for rec in caplog.records)


@pytest.mark.parametrize(("body", "field"), [
    ({"by": "u1", "reason_code": "made_up"}, "reason_code"),
    ({"by": "u1", "reason_code": "other"}, "note"),
    ({"by": "u1", "reason_code": "late_only"}, "reason_code"),
    ({"by": "u1", "reason_code": "explanation_accepted"}, "reason_code"),
])  # fmt: skip
def test_an_explanation_the_code_list_refuses_is_422_naming_the_field(
    loop: Api, body: dict, field: str
) -> None:
    r = _post(loop, "/v1/exceptions/x1/explanations", body)
    assert r.status_code == 422 and _errors(r)[0][0] == field
    assert not loop.publisher.records


def test_explaining_an_exception_already_explained_or_settled_is_409(loop: Api) -> None:
    for exception_id in ("x3", "x4"):
        r = _post(loop, f"/v1/exceptions/{exception_id}/explanations",
                  {"by": "u1", "reason_code": "phone_battery_dead"})
        assert r.status_code == 409 and _errors(r)[0][0] == "exception_id"


def test_a_rota_finding_is_not_explained_and_the_refusal_says_why(loop: Api) -> None:
    r = _post(loop, "/v1/exceptions/r1/explanations",
              {"by": "u1", "reason_code": "phone_battery_dead"})
    assert r.status_code == 409 and r.json()["error"] == "conflict"
    [(field, reason)] = _errors(r)
    assert field == "exception_id" and reason.startswith(ROTA_REFUSAL)
    assert "resolved when the rota allows the travel" in reason
    assert not loop.publisher.records


def test_a_rota_finding_is_not_decided_alone_or_in_bulk(loop: Api) -> None:
    body = {"by": "cm1", "decision": "accepted", "resolution_code": "explanation_accepted"}
    r = _post(loop, "/v1/exceptions/r1/decisions", body, "KCC", Role.CONTRACT_MANAGER)
    assert r.status_code == 409 and _errors(r)[0][1].startswith(ROTA_REFUSAL)
    bulk = _post(loop, "/v1/exceptions/decisions", {**body, "exception_ids": ["r1", "x3"]},
                 "KCC", Role.CONTRACT_MANAGER)
    items = {i["exception_id"]: i for i in bulk.json()["items"]}
    assert bulk.status_code == 202 and items["r1"]["http_status"] == 409
    assert items["r1"]["errors"][0]["reason"].startswith(ROTA_REFUSAL)
    assert [s["exception_id"] for s in _sent(loop)] == ["x3"]
    listed = loop.client.get("/v1/exceptions?kind=insufficient_travel_time&status=open",
                             headers=loop.headers("KCC", Role.CONTRACT_MANAGER))
    assert [e["exception_id"] for e in listed.json()] == ["r1"]


def test_unknown_exception_is_404_and_council_roles_may_not_explain(loop: Api) -> None:
    body = {"by": "u1", "reason_code": "phone_battery_dead"}
    assert _post(loop, "/v1/exceptions/nope/explanations", body).status_code == 404
    for role in (Role.CONTRACT_MANAGER, Role.DUTY_OFFICER):
        assert _post(loop, "/v1/exceptions/x1/explanations", body, "KCC", role
                     ).status_code == 403


def test_a_missing_by_is_422_naming_it(loop: Api) -> None:
    r = _post(loop, "/v1/exceptions/x1/explanations", {"reason_code": "phone_battery_dead"})
    assert r.status_code == 422 and ("by", "Field required") in _errors(r)


# --------------------------------------------------------------------------- decisions


def test_a_contract_manager_accepts_an_explanation(loop: Api) -> None:
    r = _post(loop, "/v1/exceptions/x3/decisions",
              {"by": "cm1", "decision": "accepted", "resolution_code": "explanation_accepted"},
              "KCC", Role.CONTRACT_MANAGER)
    assert r.status_code == 202
    (sent,) = _sent(loop)
    assert (sent["event_type"], sent["decision"], sent["by_role"]) == (
        "exception_decided", "accepted", "contract_manager")


def test_a_decision_on_a_settled_or_unexplained_exception_is_409(loop: Api) -> None:
    body = {"by": "cm1", "decision": "accepted", "resolution_code": "explanation_accepted"}
    for exception_id in ("x4", "x1"):
        r = _post(loop, f"/v1/exceptions/{exception_id}/decisions", body, "KCC",
                  Role.CONTRACT_MANAGER)
        assert r.status_code == 409 and r.json()["error"] == "conflict"


def test_providers_and_duty_officers_may_not_decide(loop: Api) -> None:
    body = {"by": "u1", "decision": "accepted", "resolution_code": "explanation_accepted"}
    assert _post(loop, "/v1/exceptions/x3/decisions", body).status_code == 403
    assert _post(loop, "/v1/exceptions/x3/decisions", body, "KCC", Role.DUTY_OFFICER
                 ).status_code == 403


def test_a_decision_with_an_explanation_code_is_422(loop: Api) -> None:
    r = _post(loop, "/v1/exceptions/x3/decisions",
              {"by": "cm1", "decision": "rejected", "resolution_code": "phone_battery_dead"},
              "KCC", Role.CONTRACT_MANAGER)
    assert r.status_code == 422 and _errors(r)[0][0] == "resolution_code"


def test_a_bulk_decision_by_filter_decides_each_explained_exception_with_its_own_act(
    loop: Api,
) -> None:
    r = _post(loop, "/v1/exceptions/decisions",
              {"by": "cm1", "decision": "accepted", "resolution_code": "explanation_accepted",
               "reason_code": "phone_battery_dead", "event_id": "bulk-1"},
              "KCC", Role.CONTRACT_MANAGER)
    assert r.status_code == 202
    assert {i["exception_id"] for i in r.json()["items"]} == {"x3", "x5"}
    sent = _sent(loop)
    assert {s["exception_id"] for s in sent} == {"x3", "x5"}
    assert len({s["event_id"] for s in sent}) == 2


def test_a_bulk_decision_by_ids_reports_each_items_fate_and_a_resend_reuses_the_ids(
    loop: Api,
) -> None:
    body = {"by": "cm1", "decision": "accepted", "resolution_code": "explanation_accepted",
            "exception_ids": ["x3", "x4", "nope"], "event_id": "bulk-2"}
    first = _post(loop, "/v1/exceptions/decisions", body, "KCC", Role.CONTRACT_MANAGER)
    again = _post(loop, "/v1/exceptions/decisions", body, "KCC", Role.CONTRACT_MANAGER)
    items = {i["exception_id"]: i for i in first.json()["items"]}
    assert first.status_code == 202 and first.json()["accepted"] == 1
    assert (items["x4"]["http_status"], items["nope"]["http_status"]) == (409, 404)
    assert items["x3"]["event_id"] == again.json()["items"][0]["event_id"]


def test_a_bulk_decision_without_ids_or_filter_is_422(loop: Api) -> None:
    r = _post(loop, "/v1/exceptions/decisions",
              {"by": "cm1", "decision": "accepted", "resolution_code": "explanation_accepted"},
              "KCC", Role.CONTRACT_MANAGER)
    assert r.status_code == 422 and _errors(r)[0][0] == "exception_ids"


# --------------------------------------------------------------------------- reads


def test_exceptions_are_listed_by_status_and_read_with_their_history(loop: Api) -> None:
    loop.workflow.acts.append({"exception_id": "x3", "event_id": "e", "event_type":
                               "exception_explained", "by": "u1", "by_role": "provider",
                               "occurred_at": T0})
    headers = loop.headers("P1")
    listed = loop.client.get("/v1/exceptions", params={"status": "explained"}, headers=headers)
    assert [e["exception_id"] for e in listed.json()] == ["x3"]
    one = loop.client.get("/v1/exceptions/x3", headers=headers).json()
    assert one["status"] == "explained" and one["history"][0]["by"] == "u1"


def test_reading_another_providers_exception_or_alert_is_404_and_logged(
    loop: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ecm.api.security")
    headers = loop.headers("P1")
    assert loop.client.get("/v1/exceptions/x2", headers=headers).status_code == 404
    assert loop.client.get("/v1/alerts/a2", headers=headers).status_code == 404
    assert len([r for r in caplog.records if r.name == "ecm.api.security"]) == 2


# --------------------------------------------------------------------------- alerts


def test_a_provider_acknowledges_its_alert_and_not_someone_elses(loop: Api) -> None:
    body = {"by": "oncall", "action_taken": "phoned the carer"}
    assert _post(loop, "/v1/alerts/a1/acknowledgements", body).status_code == 202
    assert _post(loop, "/v1/alerts/a2/acknowledgements", body).status_code == 403
    assert _sent(loop)[0]["action_taken"] == "phoned the carer"


def test_a_duty_officer_acknowledges_escalates_and_closes_any_providers_alert(loop: Api) -> None:
    duty = ("KCC", Role.DUTY_OFFICER)
    assert _post(loop, "/v1/alerts/a2/acknowledgements",
                 {"by": "d1", "action_taken": "rang the family"}, *duty).status_code == 202
    assert _post(loop, "/v1/alerts/a2/escalations",
                 {"by": "d1", "to_tier": "manager"}, *duty).status_code == 202
    assert _post(loop, "/v1/alerts/a2/closures",
                 {"by": "d1", "outcome_code": "carer_sent"}, *duty).status_code == 202
    assert [s["event_type"] for s in _sent(loop)] == [
        "alert_acknowledged", "alert_escalated", "alert_closed"]


def test_alert_acts_the_state_refuses_are_409_and_bad_codes_422(loop: Api) -> None:
    duty = ("KCC", Role.DUTY_OFFICER)
    closed = _post(loop, "/v1/alerts/a3/acknowledgements", {"by": "d1", "action_taken": "x"},
                   *duty)
    downward = _post(loop, "/v1/alerts/a1/escalations",
                     {"by": "d1", "to_tier": "provider_on_call"}, *duty)
    bad_code = _post(loop, "/v1/alerts/a1/closures", {"by": "d1", "outcome_code": "nope"},
                     *duty)
    assert (closed.status_code, downward.status_code, bad_code.status_code) == (409, 409, 422)
    assert _errors(downward)[0][0] == "to_tier" and _errors(bad_code)[0][0] == "outcome_code"


def test_providers_may_not_escalate_and_contract_managers_may_not_acknowledge(
    loop: Api,
) -> None:
    assert _post(loop, "/v1/alerts/a1/escalations",
                 {"by": "u1", "to_tier": "council_duty"}).status_code == 403
    assert _post(loop, "/v1/alerts/a1/acknowledgements", {"by": "cm", "action_taken": "x"},
                 "KCC", Role.CONTRACT_MANAGER).status_code == 403


def test_an_alert_reads_with_its_timeline_of_fact_and_learned_times(loop: Api) -> None:
    body = loop.client.get("/v1/alerts/a1", headers=loop.headers("P1")).json()
    assert body["tier"] == "provider_on_call"
    assert body["timeline"][0]["learned_at"] == "2026-01-05T09:00:00Z"


def test_monitoring_is_set_by_duty_officers_only_and_needs_a_client_or_service(
    loop: Api,
) -> None:
    body = {"by": "d1", "client_id": "C1", "starts": "2026-01-05T00:00:00+00:00",
            "until": "2026-01-06T00:00:00+00:00", "reason": "in hospital"}
    assert _post(loop, "/v1/monitoring", body).status_code == 403
    assert _post(loop, "/v1/monitoring", body, "KCC", Role.DUTY_OFFICER).status_code == 202
    unscoped = _post(loop, "/v1/monitoring", {**body, "client_id": None}, "KCC",
                     Role.DUTY_OFFICER)
    assert unscoped.status_code == 422 and _errors(unscoped)[0][0] == "client_id"
    assert _sent(loop)[0]["set_by"] == "d1"


# --------------------------------------------------------------------------- administrators

ADMIN = ("KCC", Role.ADMIN)


@pytest.mark.parametrize(("path", "body", "event_type"), [
    ("/v1/exceptions/x2/explanations", {"by": "admin1", "reason_code": "phone_battery_dead"},
     "exception_explained"),
    ("/v1/exceptions/x5/decisions", {"by": "admin1", "decision": "rejected",
     "resolution_code": "explanation_rejected", "note": "no evidence"}, "exception_decided"),
    ("/v1/alerts/a2/acknowledgements", {"by": "admin1", "action_taken": "rang the office"},
     "alert_acknowledged"),
    ("/v1/alerts/a2/escalations", {"by": "admin1", "to_tier": "manager"}, "alert_escalated"),
    ("/v1/alerts/a2/closures", {"by": "admin1", "outcome_code": "carer_sent"}, "alert_closed"),
])  # fmt: skip
def test_an_admin_may_explain_decide_acknowledge_escalate_and_close_any_providers_item(
    loop: Api, path: str, body: dict, event_type: str
) -> None:
    r = _post(loop, path, body, *ADMIN)
    assert r.status_code == 202, r.json()
    (sent,) = _sent(loop)
    assert (sent["event_type"], sent["by"], sent["by_role"]) == (event_type, "admin1", "admin")
    assert sent["provider_id"] == "P2"  # the item's provider, not the admin key's


def test_an_admin_is_still_held_to_the_state_and_the_code_list(loop: Api) -> None:
    explained_twice = _post(loop, "/v1/exceptions/x5/explanations",
                            {"by": "admin1", "reason_code": "phone_battery_dead"}, *ADMIN)
    bad_outcome = _post(loop, "/v1/alerts/a2/closures",
                        {"by": "admin1", "outcome_code": "nope"}, *ADMIN)
    assert (explained_twice.status_code, bad_outcome.status_code) == (409, 422)
    assert not loop.publisher.records


# --------------------------------------------------------------------------- corrections, visits


def test_a_held_correction_is_decided_once_and_listed_while_held(loop: Api) -> None:
    cm = ("KCC", Role.CONTRACT_MANAGER)
    held = loop.client.get("/v1/corrections", params={"status": "held"},
                           headers=loop.headers(*cm)).json()
    assert [c["event_id"] for c in held] == ["c1"]
    body = {"by": "cm1", "decision": "accepted"}
    assert _post(loop, "/v1/corrections/c1/decisions", body, *cm).status_code == 202
    assert _post(loop, "/v1/corrections/c2/decisions", body, *cm).status_code == 409
    assert _post(loop, "/v1/corrections/c9/decisions", body, *cm).status_code == 404
    assert _post(loop, "/v1/corrections/c1/decisions", body).status_code == 403


def test_a_provider_reports_a_frustrated_visit_with_a_frustration_code(loop: Api) -> None:
    body = {"by": "u1", "carer_id": "K1", "reason_code": "no_answer"}
    assert _post(loop, "/v1/visits/V-P1/frustrated", body).status_code == 202
    assert _post(loop, "/v1/visits/V-P1/frustrated", body, "P2").status_code == 403
    bad = _post(loop, "/v1/visits/V-P1/frustrated", {**body, "reason_code": "carer_sent"})
    assert bad.status_code == 422
    assert _sent(loop)[0]["client_id"] == "C1"


def test_the_payment_csv_has_one_line_per_visit_saying_why(loop: Api) -> None:
    loop.workflow.payment_rows += [
        {"provider_id": "P1", "visit_id": "V1", "local_date": date(2026, 1, 5),
         "status": "completed", "payable_gbp": Decimal("20.00"), "verification": "in_dispute",
         "verified_gbp": Decimal("0.00"), "disputed_gbp": Decimal("20.00"),
         "open_exception_ids": ["x1"], "held_corrections": []},
        {"provider_id": "P2", "visit_id": "V2", "local_date": date(2026, 1, 5),
         "status": "completed", "payable_gbp": Decimal("20.00"), "verification": "verified",
         "verified_gbp": Decimal("20.00"), "disputed_gbp": Decimal("0.00")}]
    r = loop.client.get("/v1/payments.csv", params={"from": "2026-01-05", "to": "2026-01-11"},
                        headers=loop.headers("P1"))
    lines = r.text.splitlines()
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert len(lines) == 2 and "in dispute: awaiting exceptions x1" in lines[1]
    other = loop.client.get("/v1/payments.csv", params={
        "from": "2026-01-05", "to": "2026-01-11", "provider_id": "P2"},
        headers=loop.headers("P1"))
    assert other.status_code == 403


def test_every_workflow_route_is_in_openapi_with_a_response_model(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("/v1/exceptions/{exception_id}/explanations",
                 "/v1/exceptions/{exception_id}/decisions", "/v1/exceptions/decisions",
                 "/v1/exceptions/{exception_id}", "/v1/corrections",
                 "/v1/corrections/{event_id}/decisions", "/v1/visits/{visit_id}/frustrated",
                 "/v1/alerts/{alert_id}/acknowledgements", "/v1/alerts/{alert_id}/escalations",
                 "/v1/alerts/{alert_id}/closures", "/v1/alerts/{alert_id}", "/v1/monitoring",
                 "/v1/payments.csv"):
        assert path in paths
        for operation in paths[path].values():
            ok = operation["responses"].get("202") or operation["responses"]["200"]
            assert ok["content"], path
