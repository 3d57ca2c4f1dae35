"""The portal's routes and templates without a browser: sign-in, sessions, CSRF, roles.

The API underneath is the real one with fakes for Kafka and the database (tests/unit/api),
so every act a page sends is checked by the same handler as over HTTP.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from fastapi.testclient import TestClient
from portal_fakes import MemoryAccountStore

from ecm.api.app import create_app
from ecm.api.keys import Role
from ecm.contracts import parse_event
from ecm.domain.workflow import Code, CodeList
from ecm.portal.accounts import LOCK_MINUTES, MAX_FAILURES, new_user
from ecm.settings import ApiSettings, KafkaSettings, Settings

T0 = datetime(2026, 11, 17, 9, tzinfo=UTC)
PASSWORD = "correct horse battery"
CODES = CodeList("KCC-1", date(2025, 1, 1), None, (
    Code("phone_battery_dead", "explanation", label="Phone battery dead"),
    Code("other", "explanation", label="Other", note_required=True),
    Code("evidence_accepted", "resolution", label="Evidence accepted"),
    Code("carer_sent", "alert_outcome", label="Carer sent"),
))  # fmt: skip


class Portal:
    """A portal app over fakes, with a settable clock and signed-in browsers."""

    def __init__(self, tmp_path: Path) -> None:
        import sys

        sys.path.insert(0, str(Path(__file__).parents[1] / "api"))
        from api_fakes import FakePublisher, FakeReadModel, FakeWorkflowReads, MemoryKeyStore

        self.settings = Settings(kafka=KafkaSettings(topic_prefix="unit"),
                                 api=ApiSettings(auth_cache_seconds=0), state_dir=tmp_path)
        self.publisher = FakePublisher(self.settings.kafka)
        self.reads, self.workflow = FakeReadModel(), FakeWorkflowReads()
        self.accounts = MemoryAccountStore()
        self.app = create_app(self.settings, publisher=self.publisher, keystore=MemoryKeyStore(),
                              reads=self.reads, workflow=self.workflow,  # type: ignore[arg-type]
                              accounts=self.accounts)
        self.now = T0
        self.app.state.portal_clock = lambda: self.now
        self.workflow.code_list = CODES
        for user_id, role, provider in (("p1-office", Role.PROVIDER, "P1"),
                                        ("p2-office", Role.PROVIDER, "P2"),
                                        ("cm-rpatel", Role.CONTRACT_MANAGER, None),
                                        ("duty-akhan", Role.DUTY_OFFICER, None)):
            asyncio.run(self.accounts.add_user(
                new_user(user_id, user_id.title(), role, provider, PASSWORD)))

    def browser(self) -> TestClient:
        return TestClient(self.app, base_url="https://testserver", follow_redirects=False)

    def sign_in(self, user_id: str, password: str = PASSWORD,
                client: TestClient | None = None) -> TestClient:
        client = client or self.browser()
        form = client.get("/portal/sign-in")
        token = _csrf(form.text)
        client.post("/portal/sign-in", data={"user_id": user_id, "password": password,
                                             "csrf_token": token})
        return client


def sent(portal: Portal) -> list[Any]:
    """The contract events the portal's acts published, in order."""
    return [parse_event(record.value) for record in portal.publisher.records]


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "every form carries a CSRF token"
    return match.group(1)


@pytest.fixture()
def portal(tmp_path: Path) -> Portal:
    return Portal(tmp_path)


def _exception(exception_id: str, provider: str, status: str = "open", **more: Any) -> dict:
    return {"exception_id": exception_id, "kind": "manual_entry", "visit_id": f"V-{provider}",
            "provider_id": provider, "detected_at": T0, "status": status, "detail": "",
            **more}


def test_the_sign_in_page_is_labelled_and_loads_nothing_from_the_network(portal: Portal) -> None:
    page = portal.browser().get("/portal/sign-in")
    assert page.status_code == 200
    assert '<label for="user_id">' in page.text and '<label for="password">' in page.text
    assert not re.search(r'(src|href)="(https?:)?//', page.text)
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_signing_in_starts_a_secure_session_and_lands_on_the_roles_page(portal: Portal) -> None:
    browser = portal.browser()
    token = _csrf(browser.get("/portal/sign-in").text)
    answer = browser.post("/portal/sign-in", data={"user_id": "duty-akhan",
                                                   "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert "ecm_session=" in cookie and "httponly" in cookie and "secure" in cookie
    assert "samesite=strict" in cookie
    assert browser.get("/portal").headers["location"] == "/portal/duty"
    assert portal.sign_in("cm-rpatel").get("/portal").headers["location"] == "/portal/scorecard"
    assert portal.sign_in("p1-office").get("/portal").headers["location"] == "/portal/exceptions"


def test_a_page_without_a_session_goes_to_sign_in(portal: Portal) -> None:
    answer = portal.browser().get("/portal/exceptions")
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/sign-in"


def test_a_wrong_password_says_nothing_about_why(portal: Portal,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    browser = portal.browser()
    token = _csrf(browser.get("/portal/sign-in").text)
    answer = browser.post("/portal/sign-in", data={"user_id": "duty-akhan",
                                                   "password": "wrong", "csrf_token": token})
    unknown = browser.post("/portal/sign-in", data={"user_id": "nobody", "password": "wrong",
                                                    "csrf_token": _csrf(answer.text)})
    assert answer.status_code == unknown.status_code == 401
    assert "do not match" in answer.text and "do not match" in unknown.text
    assert "sign-in failed" in caplog.text


def test_an_account_locks_after_repeated_failures_and_unlocks_later(portal: Portal) -> None:
    browser = portal.browser()
    for _ in range(MAX_FAILURES):
        portal.sign_in("duty-akhan", "wrong", browser)
    locked = portal.sign_in("duty-akhan", PASSWORD, portal.browser())
    assert locked.get("/portal").status_code == 303
    assert locked.get("/portal").headers["location"] == "/portal/sign-in"
    portal.now = T0 + timedelta(minutes=LOCK_MINUTES + 1)
    assert portal.sign_in("duty-akhan").get("/portal").headers["location"] == "/portal/duty"


def test_a_sign_in_posted_without_its_csrf_token_is_refused(portal: Portal) -> None:
    browser = portal.browser()
    browser.get("/portal/sign-in")
    answer = browser.post("/portal/sign-in", data={"user_id": "duty-akhan",
                                                   "password": PASSWORD})
    assert answer.status_code == 403


def test_a_form_posted_without_its_csrf_token_is_refused_and_sends_nothing(
    portal: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    portal.workflow.exception_rows["x1"] = _exception("x1", "P1")
    browser = portal.sign_in("p1-office")
    answer = browser.post("/portal/exceptions/explain",
                          data={"exception_id": "x1", "reason_code": "phone_battery_dead"})
    assert answer.status_code == 403 and "expired" in answer.text
    assert sent(portal) == []
    assert "CSRF" in caplog.text


def test_a_provider_explains_its_own_exception(portal: Portal) -> None:
    portal.workflow.exception_rows["x1"] = _exception("x1", "P1")
    browser = portal.sign_in("p1-office")
    page = browser.get("/portal/exceptions")
    assert "Exceptions to explain" in page.text and "x1" in page.text
    answer = browser.post("/portal/exceptions/explain", data={
        "exception_id": "x1", "reason_code": "phone_battery_dead", "csrf_token": _csrf(page.text)})
    assert answer.status_code == 303 and "done=" in answer.headers["location"]
    (event,) = sent(portal)
    assert event.event_type == "exception_explained" and event.by == "p1-office"
    assert event.exception_id == "x1" and event.reason_code == "phone_battery_dead"


def test_a_note_the_code_requires_is_asked_for_by_name(portal: Portal) -> None:
    portal.workflow.exception_rows["x1"] = _exception("x1", "P1")
    browser = portal.sign_in("p1-office")
    token = _csrf(browser.get("/portal/exceptions").text)
    answer = browser.post("/portal/exceptions/explain", data={
        "exception_id": "x1", "reason_code": "other", "csrf_token": token})
    assert "failed=" in answer.headers["location"] and "note" in answer.headers["location"]
    assert sent(portal) == []


def test_a_provider_never_sees_or_acts_on_another_providers_data(portal: Portal) -> None:
    portal.workflow.exception_rows.update({"x1": _exception("x1", "P1"),
                                           "x2": _exception("x2", "P2")})
    portal.workflow.stories["V-P2"] = {"provider_id": "P2", "items": []}
    browser = portal.sign_in("p1-office")
    page = browser.get("/portal/exceptions?provider_id=P2")
    assert "x1" in page.text and "x2" not in page.text
    assert browser.get("/portal/visits/V-P2").status_code == 404
    crafted = browser.post("/portal/exceptions/explain", data={
        "exception_id": "x2", "reason_code": "phone_battery_dead", "csrf_token": _csrf(page.text)})
    assert "failed=" in crafted.headers["location"]
    assert sent(portal) == []
    assert browser.get("/portal/scorecard").status_code == 403


def test_a_contract_manager_decides_many_explanations_at_once(portal: Portal) -> None:
    for x in ("x1", "x2"):
        portal.workflow.exception_rows[x] = _exception(x, "P1", "explained",
                                                       reason_code="phone_battery_dead")
    browser = portal.sign_in("cm-rpatel")
    page = browser.get("/portal/exceptions")
    assert "Explanations to decide" in page.text
    answer = browser.post("/portal/exceptions/decide", data={
        "exception_id": ["x1", "x2"], "decision": "accepted",
        "resolution_code": "evidence_accepted", "csrf_token": _csrf(page.text)})
    assert "done=" in answer.headers["location"]
    assert sorted(e.exception_id for e in sent(portal)) == ["x1", "x2"]
    assert {e.decision.value for e in sent(portal)} == {"accepted"}


def test_a_rota_finding_is_listed_by_kind_and_says_it_is_not_explained(
        portal: Portal) -> None:
    portal.workflow.exception_rows.update({
        "r1": _exception("r1", "P1", kind="insufficient_travel_time"),
        "x1": _exception("x1", "P1")})
    manager = portal.sign_in("cm-rpatel").get(
        "/portal/exceptions?status=open&kind=insufficient_travel_time").text
    assert '<option value="insufficient_travel_time" selected>' in manager
    assert "r1" in manager and "x1" not in manager
    assert "a rota finding is not decided" in manager
    browser = portal.sign_in("p1-office")
    page = browser.get("/portal/exceptions").text
    assert "Explain manual entry on V-P1" in page  # the visit's own exception: a form
    assert "Explain insufficient travel time" not in page
    assert "changing the rota (more time between the visits, another carer) resolves it" in page
    crafted = browser.post("/portal/exceptions/explain", data={
        "exception_id": "r1", "reason_code": "phone_battery_dead", "csrf_token": _csrf(page)})
    failed = unquote_plus(crafted.headers["location"])
    assert "failed=" in failed and "finding about the carer's rota" in failed
    assert sent(portal) == []


def test_the_duty_board_puts_unacknowledged_missed_calls_first(portal: Portal) -> None:
    base = {"client_id": "C1", "due_at": T0, "tier": "provider_on_call", "monitor_only": False}
    portal.reads.alerts.extend([
        {"alert_id": "V1:no_checkout", "kind": "no_checkout", "visit_id": "V1",
         "provider_id": "P1", "raised_at": T0, **base},
        {"alert_id": "V2:missed", "kind": "missed", "visit_id": "V2", "provider_id": "P2",
         "raised_at": T0 - timedelta(minutes=40), **base},
        {"alert_id": "V3:missed", "kind": "missed", "visit_id": "V3", "provider_id": "P1",
         "raised_at": T0, "acknowledged_at": T0, "acknowledged_by": "p1-office",
         "action_taken": "carer on the way", **base},
    ])
    page = portal.sign_in("duty-akhan").get("/portal/duty")
    order = [m for m in re.findall(r'id="alert-(V\d)', page.text)]
    assert order == ["V2", "V1", "V3"]
    assert "40 min" in page.text
    own = portal.sign_in("p1-office").get("/portal/duty").text
    assert "V2" not in own and "V1" in own


def test_acknowledging_from_the_board_sends_the_act(portal: Portal) -> None:
    alert = {"alert_id": "V1:missed", "kind": "missed", "visit_id": "V1", "provider_id": "P1",
             "client_id": "C1", "due_at": T0, "raised_at": T0, "tier": "provider_on_call",
             "monitor_only": False}
    portal.reads.alerts.append(alert)
    portal.workflow.alert_rows["V1:missed"] = alert
    browser = portal.sign_in("duty-akhan")
    token = _csrf(browser.get("/portal/duty").text)
    answer = browser.post("/portal/alerts/V1:missed/acknowledge",
                          data={"action_taken": "Phoned the carer", "csrf_token": token})
    assert "done=" in answer.headers["location"]
    (event,) = sent(portal)
    assert event.event_type == "alert_acknowledged" and event.by == "duty-akhan"


def test_the_visit_page_tells_the_story_in_order(portal: Portal) -> None:
    portal.workflow.stories["V-P1"] = {"provider_id": "P1", "items": [
        {"at": T0, "learned_at": T0, "what": "visit_planned", "payload": {
            "planned_start": "2026-11-17T09:00:00+00:00",
            "planned_end": "2026-11-17T09:30:00+00:00", "service": "home_care"}},
        {"at": T0 + timedelta(minutes=5), "learned_at": T0 + timedelta(hours=3),
         "what": "carer_checked_in", "payload": {"carer_id": "K1", "method": "manual",
                                                 "reason_code": "PHONE_DEAD"}},
        {"at": T0 + timedelta(minutes=35), "learned_at": T0 + timedelta(minutes=35),
         "what": "carer_checked_out", "payload": {"carer_id": "K1", "method": "app_gps",
                                                  "distance_m": 23, "accuracy_m": 10}},
        {"at": T0 + timedelta(hours=4), "learned_at": None, "what": "exception_explained",
         "payload": {"by": "p1-office", "reason_code": "phone_battery_dead",
                     "exception_id": "V-P1:manual_entry:K1"}},
    ]}
    page = portal.sign_in("cm-rpatel").get("/portal/visits/V-P1").text
    assert page.index("Planned") < page.index("Checked in") < page.index("Explained")
    assert "ecm learned it" in page  # the check-in arrived three hours late
    assert "23 m from the client's registered location (phone accurate to 10 m)" in \
        page.replace("&#39;", "'")


def test_a_message_in_a_crafted_link_is_not_shown(portal: Portal) -> None:
    browser = portal.sign_in("duty-akhan")
    page = browser.get("/portal/duty?failed=Call+0900+000+000+now&sig=0000")
    assert "0900" not in page.text


def test_an_administrator_decides_and_has_no_explain_form_inside_the_decide_form(
    portal: Portal
) -> None:
    asyncio.run(portal.accounts.add_user(new_user("admin-x", "Admin", Role.ADMIN, None,
                                                  PASSWORD)))
    portal.workflow.exception_rows["x1"] = _exception("x1", "P1", "explained",
                                                      reason_code="phone_battery_dead")
    page = portal.sign_in("admin-x").get("/portal/exceptions").text
    assert "Explanations to decide" in page and "Send explanation" not in page
    assert page.count("<form method=\"post\"") == 1  # the decide form only


def test_the_visit_page_shows_the_alerts_handling_with_code_labels(portal: Portal) -> None:
    portal.workflow.stories["V-P1"] = {"provider_id": "P1", "items": [
        {"at": T0, "learned_at": T0, "what": "alert:raised", "payload": {"kind": "missed"}},
        {"at": T0, "learned_at": T0, "what": "alert_acknowledged",  # the act, as received
         "payload": {"by": "duty-akhan"}},
        {"at": T0 + timedelta(minutes=3), "learned_at": T0 + timedelta(minutes=3),
         "what": "alert:acknowledged", "payload": {"kind": "missed", "by": "duty-akhan",
                                                   "tier": "provider_on_call",
                                                   "note": "Phoned the carer"}},
        {"at": T0 + timedelta(minutes=9), "learned_at": T0 + timedelta(minutes=9),
         "what": "alert:closed", "payload": {"kind": "missed", "by": "duty-akhan",
                                             "code": "carer_sent"}},
    ]}
    page = portal.sign_in("cm-rpatel").get("/portal/visits/V-P1").text
    assert "Missed call alert acknowledged" in page and "Phoned the carer" in page
    assert "Missed call alert closed" in page and "Carer sent" in page
    assert page.count("acknowledged") == 1


def test_the_live_board_stops_for_a_session_that_ended(portal: Portal) -> None:
    browser = portal.sign_in("duty-akhan")
    token = _csrf(browser.get("/portal/duty").text)
    cookie = browser.cookies.get("ecm_session")
    assert browser.post("/portal/sign-out", data={"csrf_token": token}).status_code == 303
    stale = portal.browser()
    stale.cookies.set("ecm_session", cookie, domain="testserver.local", path="/portal")
    answer = stale.get("/portal/duty/stream", headers={"cookie": f"ecm_session={cookie}"})
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/sign-in"


def test_signing_out_needs_the_forms_token(portal: Portal) -> None:
    browser = portal.sign_in("duty-akhan")
    assert browser.post("/portal/sign-out").status_code == 403
    assert browser.get("/portal").headers["location"] == "/portal/duty"


def test_the_visit_page_shows_the_trust_score_its_reasons_and_what_judged_it(
    portal: Portal
) -> None:
    portal.workflow.stories["V-T1"] = {"provider_id": "P1", "items": []}
    portal.reads.visits_rows.append({"visit_id": "V-T1", "provider_id": "P1", "payload": {
        "schema_version": 3, "status": "completed", "trust_score": 65,
        "trust_deductions": [
            {"reason": "manual_check_in", "points": 25, "carer_id": "K1", "ref": "in-1"},
            {"reason": "corrected_time", "points": 10, "carer_id": "K1", "ref": "fix-1"}],
        "rules_applied": [{"id": "kent-2026", "effective_from": "2026-04-01",
                           "event_id": "r1"}],
        "rate_card": {"id": "RC1", "effective_from": "2026-04-01", "event_id": "rc1"}}})
    page = portal.sign_in("cm-rpatel").get("/portal/visits/V-T1").text
    assert "65 / 100 — manual check in −25 (K1); corrected time −10 (K1)" in page
    assert "rules: kent-2026 from 2026-04-01; rate card: RC1 from 2026-04-01" in page
