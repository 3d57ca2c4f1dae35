"""Who is told about which alert, with which body and idempotency key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from ecm.contracts import AlertKind, AlertRaised, AlertResolved
from ecm.notify.routing import (
    DUTY_TEAM,
    Endpoints,
    Event,
    SkipReason,
    plan,
    provider_endpoint,
    target_of,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ENDPOINTS = Endpoints(
    duty_team_url="https://duty.example/hook",
    provider_urls={"P1": "https://p1.example/oncall"},
)


def _raised(kind: AlertKind, provider: str = "P1", at: datetime = NOW) -> AlertRaised:
    return AlertRaised(
        event_id=f"E-{kind.value}",
        occurred_at=at,
        alert_id=f"V1:{kind.value}",
        kind=kind,
        visit_id="V1",
        provider_id=provider,
        client_id="C1",
        lot_id="L1",
        due_at=at,
    )


def _resolved(kind: AlertKind) -> AlertResolved:
    return AlertResolved(
        event_id=f"R-{kind.value}",
        occurred_at=NOW,
        alert_id=f"V1:{kind.value}",
        kind=kind,
        visit_id="V1",
        provider_id="P1",
        resolution="checked_in_late",
    )


def test_not_arrived_goes_to_the_provider_only() -> None:
    result = plan(_raised(AlertKind.NOT_ARRIVED), ENDPOINTS, NOW, DAY)
    assert isinstance(result, list)
    assert [d.endpoint for d in result] == [provider_endpoint("P1")]
    assert result[0].idempotency_key == "V1:not_arrived:raised"


def test_missed_goes_to_the_provider_and_the_duty_team() -> None:
    result = plan(_raised(AlertKind.MISSED), ENDPOINTS, NOW, DAY)
    assert isinstance(result, list)
    assert [d.endpoint for d in result] == ["provider:P1", DUTY_TEAM]
    assert {d.event for d in result} == {Event.RAISED}


def test_a_resolution_goes_to_the_same_endpoints_with_its_own_key() -> None:
    result = plan(_resolved(AlertKind.MISSED), ENDPOINTS, NOW, DAY)
    assert isinstance(result, list)
    assert [(d.endpoint, d.event) for d in result] == [
        ("provider:P1", Event.RESOLVED),
        (DUTY_TEAM, Event.RESOLVED),
    ]
    assert result[0].idempotency_key == "V1:missed:resolved"


def test_no_checkout_is_not_notified_by_webhook() -> None:
    assert plan(_raised(AlertKind.NO_CHECKOUT), ENDPOINTS, NOW, DAY) is SkipReason.NOT_NOTIFIED


def test_an_alert_older_than_the_maximum_age_is_not_notified() -> None:
    old = _raised(AlertKind.MISSED, at=NOW - timedelta(days=2))
    assert plan(old, ENDPOINTS, NOW, DAY) is SkipReason.TOO_OLD


def test_a_provider_without_a_url_uses_the_default_or_only_the_duty_team() -> None:
    only_duty = plan(_raised(AlertKind.MISSED, provider="P2"), ENDPOINTS, NOW, DAY)
    assert isinstance(only_duty, list)
    assert [d.endpoint for d in only_duty] == [DUTY_TEAM]
    assert plan(_raised(AlertKind.NOT_ARRIVED, "P2"), ENDPOINTS, NOW, DAY) is SkipReason.NO_ENDPOINT
    fallback = Endpoints(default_provider_url="https://relay.example/")
    assert fallback.url_for(provider_endpoint("P2")) == "https://relay.example/"
    assert fallback.url_for(DUTY_TEAM) is None


def test_the_body_is_stable_json_carrying_the_alert_and_the_key() -> None:
    first = plan(_raised(AlertKind.MISSED), ENDPOINTS, NOW, DAY)
    again = plan(_raised(AlertKind.MISSED), ENDPOINTS, NOW, DAY)
    assert isinstance(first, list) and isinstance(again, list)
    assert first[0].body == again[0].body
    document = json.loads(first[0].body)
    assert document["type"] == "alert_raised"
    assert document["idempotency_key"] == "V1:missed:raised"
    assert document["alert"]["alert_id"] == "V1:missed"
    assert document["alert"]["due_at"] == "2026-03-02T10:00:00Z"


def test_metric_target_is_provider_or_duty_team() -> None:
    assert target_of(DUTY_TEAM) == "duty_team"
    assert target_of("provider:P77") == "provider"
