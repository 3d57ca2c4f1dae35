"""Every route of the OpenAPI spec refuses a provider key on another provider's data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from api_stack import issue, settings_for
from fastapi.testclient import TestClient

from ecm.api import create_app
from ecm.api.keys import Role
from ecm.contracts import AlertRaised, CarerRegistered, VisitExceptionRaised, VisitOutcomeRecorded
from ecm.settings import KafkaSettings
from ecm.storage.sink import OutcomeSink

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz")}


def _seed(dsn: str) -> None:
    outcome = VisitOutcomeRecorded(
        event_id="o1", occurred_at=T0, visit_id="THEIRS", provider_id="P2", client_id="C2",
        lot_id="L1", service="home_care", tier="standard", iso_week="2026-W02",
        local_date=date(2026, 1, 5), scheduled=True, status="completed", planned_start=T0,
        planned_end=T0, planned_minutes=30, carers_required=1, carer_ids=("K2",),
        delivered_seconds=1800, payable_gbp=Decimal("10.00"), electronic=True)
    alert = AlertRaised(event_id="a1", occurred_at=T0, alert_id="al-1", kind="missed",
                        visit_id="THEIRS", provider_id="P2", client_id="C2", lot_id="L1",
                        due_at=T0)
    exc = VisitExceptionRaised(event_id="x1", occurred_at=T0, exception_id="ex-1",
                               kind="short_visit", visit_id="THEIRS", provider_id="P2")
    carer = CarerRegistered(event_id="k1", occurred_at=T0, provider_id="P2", carer_id="K2",
                            effective_from=date(2026, 1, 1))
    with psycopg.connect(dsn) as conn:
        OutcomeSink(conn).write([outcome, alert, exc, carer])
        conn.commit()


@pytest.fixture(scope="module")
def world(
    api_dsn: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    _seed(api_dsn)
    kafka = KafkaSettings(
        bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"test-xp-{datetime.now(UTC).timestamp():.0f}",
    )
    app = create_app(settings_for(kafka, api_dsn, tmp_path_factory.mktemp("state")))
    mine = {"X-API-Key": issue(api_dsn, "P1")}
    theirs = {"X-API-Key": issue(api_dsn, "P2")}
    with TestClient(app) as client:
        csv = b"visit_id,client_id,service,planned_start,planned_end\n"
        upload = client.post("/v1/uploads/visits", content=csv, headers={
            **theirs, "content-type": "text/csv"}).json()
        manager = {"X-API-Key": issue(api_dsn, "KCC", Role.CONTRACT_MANAGER)}
        for path in ("/v1/visits/THEIRS", "/v1/alerts", "/v1/exceptions",
                     "/v1/exceptions/ex-1", "/v1/alerts/al-1"):  # the data is there
            seen = client.get(path, headers=manager)
            assert seen.status_code == 200 and seen.json(), path
        yield {"client": client, "mine": mine, "upload_id": upload["upload_id"]}


def _check_in(**over: Any) -> dict[str, Any]:
    return {"event_type": "carer_checked_in", "event_id": "xp-1", "occurred_at": T0.isoformat(),
            "provider_id": "P1", "visit_id": "MINE", "client_id": "C1", "carer_id": "K1",
            "method": "nfc", **over}


def _planned(carers: list[str], **over: Any) -> dict[str, Any]:
    """A version 2 plan of our visit naming ``carers``."""
    return {"event_type": "visit_planned", "schema_version": 2, "event_id": "xp-2",
            "occurred_at": T0.isoformat(), "provider_id": "P1", "visit_id": "MINE",
            "client_id": "C1", "service": "home_care", "planned_start": T0.isoformat(),
            "planned_end": T0.replace(minute=30).isoformat(), "carers_required": len(carers),
            "planned_carer_ids": carers, **over}


def _changed(carers: list[str]) -> dict[str, Any]:
    """A version 2 change of our visit planning ``carers`` instead."""
    plan = _planned(carers, event_type="visit_changed", event_id="xp-3")
    return {k: v for k, v in plan.items() if k not in ("client_id", "service")}


_DECIDE = {"by": "u1", "decision": "accepted", "resolution_code": "explanation_accepted"}
Attempt = Callable[[TestClient, dict[str, str], str], Any]
ATTEMPTS: dict[tuple[str, str], list[tuple[str, Attempt, set[int]]]] = {
    ("POST", "/v1/events"): [
        ("their provider_id", lambda c, h, u: c.post("/v1/events", json=_check_in(
            provider_id="P2"), headers=h), {403}),
        ("their visit", lambda c, h, u: c.post("/v1/events", json=_check_in(
            visit_id="THEIRS"), headers=h), {403}),
        ("their carer", lambda c, h, u: c.post("/v1/events", json=_check_in(
            carer_id="K2"), headers=h), {403}),
        ("their carer planned", lambda c, h, u: c.post("/v1/events", json=_planned(
            ["K1", "K2"]), headers=h), {403}),
    ],
    ("POST", "/v1/events/batch"): [
        ("their provider_id", lambda c, h, u: c.post("/v1/events/batch", json={
            "events": [_check_in(provider_id="P2")]}, headers=h), {403}),
        ("their carer planned", lambda c, h, u: c.post("/v1/events/batch", json={
            "events": [_check_in(), _changed(["K2"])]}, headers=h), {403}),
    ],
    ("POST", "/v1/uploads/{layout}"): [
        ("their visit", lambda c, h, u: c.post("/v1/uploads/visits", content=(
            b"visit_id,client_id,service,planned_start,planned_end\n"
            b"THEIRS,C2,home_care,2026-01-05 09:00,2026-01-05 09:30\n"),
            headers={**h, "content-type": "text/csv"}), {"rejected"}),
        ("their carer planned", lambda c, h, u: c.post("/v1/uploads/visits", content=(
            b"visit_id,client_id,service,planned_start,planned_end,carers_required,"
            b"planned_carer_ids\n"
            b"MINE,C1,home_care,2026-01-05 09:00,2026-01-05 09:30,2,K1;K2\n"),
            headers={**h, "content-type": "text/csv"}), {"rejected"}),
    ],
    ("GET", "/v1/uploads/{upload_id}"): [
        ("their upload", lambda c, h, u: c.get(f"/v1/uploads/{u}", headers=h), {404})],
    ("GET", "/v1/uploads/{upload_id}/errors.csv"): [
        ("their report", lambda c, h, u: c.get(f"/v1/uploads/{u}/errors.csv", headers=h), {404})],
    ("GET", "/v1/visits"): [
        ("filter on them", lambda c, h, u: c.get("/v1/visits?provider_id=P2", headers=h), {403}),
        ("unfiltered", lambda c, h, u: c.get("/v1/visits", headers=h), {"empty"})],
    ("GET", "/v1/visits/{visit_id}"): [
        ("their visit", lambda c, h, u: c.get("/v1/visits/THEIRS", headers=h), {404})],
    ("GET", "/v1/alerts"): [
        ("filter on them", lambda c, h, u: c.get("/v1/alerts?provider_id=P2", headers=h), {403}),
        ("unfiltered", lambda c, h, u: c.get("/v1/alerts", headers=h), {"empty"})],
    ("GET", "/v1/exceptions"): [
        ("filter on them", lambda c, h, u: c.get("/v1/exceptions?provider_id=P2",
                                                 headers=h), {403}),
        ("unfiltered", lambda c, h, u: c.get("/v1/exceptions", headers=h), {"empty"})],
    ("GET", "/v1/exceptions/{exception_id}"): [
        ("their exception", lambda c, h, u: c.get("/v1/exceptions/ex-1", headers=h), {404})],
    ("POST", "/v1/exceptions/{exception_id}/explanations"): [
        ("explain theirs", lambda c, h, u: c.post("/v1/exceptions/ex-1/explanations", json={
            "by": "u1", "reason_code": "other", "note": "n"}, headers=h), {403})],
    ("POST", "/v1/exceptions/{exception_id}/decisions"): [
        ("decide theirs", lambda c, h, u: c.post("/v1/exceptions/ex-1/decisions", json=_DECIDE,
                                                 headers=h), {403})],
    ("POST", "/v1/exceptions/decisions"): [
        ("bulk on them", lambda c, h, u: c.post("/v1/exceptions/decisions", json={
            **_DECIDE, "provider_id": "P2"}, headers=h), {403})],
    ("GET", "/v1/corrections"): [
        ("filter on them", lambda c, h, u: c.get("/v1/corrections?provider_id=P2",
                                                 headers=h), {403}),
        ("unfiltered", lambda c, h, u: c.get("/v1/corrections", headers=h), {"empty"})],
    ("POST", "/v1/corrections/{event_id}/decisions"): [
        ("decide theirs", lambda c, h, u: c.post("/v1/corrections/k1/decisions", json={
            "by": "u1", "decision": "accepted"}, headers=h), {403})],
    ("POST", "/v1/visits/{visit_id}/frustrated"): [
        ("their visit", lambda c, h, u: c.post("/v1/visits/THEIRS/frustrated", json={
            "by": "u1", "carer_id": "K1", "reason_code": "no_answer"}, headers=h), {403})],
    ("GET", "/v1/alerts/{alert_id}"): [
        ("their alert", lambda c, h, u: c.get("/v1/alerts/al-1", headers=h), {404})],
    ("POST", "/v1/alerts/{alert_id}/acknowledgements"): [
        ("their alert", lambda c, h, u: c.post("/v1/alerts/al-1/acknowledgements", json={
            "by": "u1", "action_taken": "x"}, headers=h), {403})],
    ("POST", "/v1/alerts/{alert_id}/escalations"): [
        ("their alert", lambda c, h, u: c.post("/v1/alerts/al-1/escalations", json={
            "by": "u1", "to_tier": "manager"}, headers=h), {403})],
    ("POST", "/v1/alerts/{alert_id}/closures"): [
        ("their alert", lambda c, h, u: c.post("/v1/alerts/al-1/closures", json={
            "by": "u1", "outcome_code": "carer_sent"}, headers=h), {403})],
    ("POST", "/v1/monitoring"): [
        ("their client", lambda c, h, u: c.post("/v1/monitoring", json={
            "by": "u1", "client_id": "C2", "starts": T0.isoformat(), "until": T0.isoformat(),
            "reason": "x"}, headers=h), {403})],
    ("GET", "/v1/payments.csv"): [
        ("filter on them", lambda c, h, u: c.get(
            "/v1/payments.csv?provider_id=P2&from=2026-01-05&to=2026-01-11", headers=h), {403}),
        ("unfiltered", lambda c, h, u: c.get(
            "/v1/payments.csv?from=2026-01-05&to=2026-01-11", headers=h), {"header only"})],
    ("GET", "/v1/admin/keys"): [
        ("list keys", lambda c, h, u: c.get("/v1/admin/keys", headers=h), {403})],
    ("POST", "/v1/admin/keys"): [
        ("issue a key", lambda c, h, u: c.post("/v1/admin/keys", json={"provider_id": "P2"},
                                               headers=h), {403})],
    ("POST", "/v1/admin/keys/{key_id}/revoke"): [
        ("revoke", lambda c, h, u: c.post("/v1/admin/keys/0123456789ab/revoke",
                                          headers=h), {403})],
    ("POST", "/v1/admin/keys/{key_id}/rotate"): [
        ("rotate", lambda c, h, u: c.post("/v1/admin/keys/0123456789ab/rotate",
                                          headers=h), {403})],
}


def _routes() -> set[tuple[str, str]]:
    spec = create_app(settings_for(KafkaSettings(), "postgresql://x@127.0.0.1/x",
                                   Path("/tmp"))).openapi()
    return {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops} - PUBLIC


def test_every_openapi_route_has_a_cross_provider_case() -> None:
    assert _routes() == set(ATTEMPTS)


@pytest.mark.parametrize(("route", "case"), [
    (route, case) for route, cases in ATTEMPTS.items() for case in range(len(cases))],
    ids=lambda v: str(v))
def test_cross_provider_access_is_refused(world: dict[str, Any], route: Any, case: int) -> None:
    _, attempt, expected = ATTEMPTS[route][case]
    response = attempt(world["client"], world["mine"], world["upload_id"])
    if "empty" in expected:
        assert response.status_code == 200 and response.json() == []
    elif "header only" in expected:
        assert response.status_code == 200 and len(response.text.splitlines()) == 1
    elif "rejected" in expected:
        assert response.status_code == 200 and response.json()["rows_rejected"] == 1
        assert response.json()["rows_accepted"] == 0
    else:
        assert response.status_code in expected, response.text


def test_planning_their_carer_names_the_field_and_the_reason(world: dict[str, Any]) -> None:
    client, mine = world["client"], world["mine"]
    response = client.post("/v1/events", json=_planned(["K1", "K2"]), headers=mine)
    assert response.status_code == 403, response.text
    assert response.json()["errors"] == [
        {"field": "planned_carer_ids[1]", "reason": "carer is registered to another provider"}]
    batch = client.post("/v1/events/batch", json={"events": [_check_in(), _planned(["K2"])]},
                        headers=mine)
    assert batch.status_code == 403, batch.text
    assert batch.json()["errors"] == [{"field": "events[1].planned_carer_ids[0]",
                                       "reason": "carer is registered to another provider"}]
    upload = client.post("/v1/uploads/visits", content=(
        b"visit_id,client_id,service,planned_start,planned_end,carers_required,"
        b"planned_carer_ids\nMINE,C1,home_care,2026-01-05 09:00,2026-01-05 09:30,2,K1 K2\n"),
        headers={**mine, "content-type": "text/csv"}).json()
    assert (upload["rows_accepted"], upload["rows_rejected"]) == (0, 1)
    report = client.get(upload["errors_url"], headers=mine).text.splitlines()
    assert report[1:] == ["2,planned_carer_ids[1],carer is registered to another provider"]
