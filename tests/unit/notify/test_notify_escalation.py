"""Escalations re-notify the next tier; monitor-only alerts page nobody; updates reach all told."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ecm.contracts import (
    ActorRole,
    AlertAction,
    AlertHandled,
    AlertKind,
    AlertRaised,
    AlertResolved,
    AlertTier,
)
from ecm.notify.backoff import RetryPolicy
from ecm.notify.config import NotifierConfig
from ecm.notify.consumer import plan_alerts
from ecm.notify.routing import (
    DUTY_TEAM,
    MANAGER,
    AlertState,
    Endpoints,
    Event,
    SkipReason,
    next_state,
    plan,
    target_of,
    tier_endpoint,
)
from ecm.settings import KafkaSettings

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ENDPOINTS = Endpoints(
    duty_team_url="https://duty.example/hook",
    provider_urls={"P1": "https://p1.example/oncall"},
    manager_url="https://manager.example/hook",
)
CONFIG = NotifierConfig(kafka=KafkaSettings(), dsn="postgresql://unused", endpoints=ENDPOINTS,
                        secret=b"s", policy=RetryPolicy())


def _raised(kind: AlertKind = AlertKind.MISSED) -> AlertRaised:
    return AlertRaised(event_id=f"E-{kind.value}", occurred_at=NOW, alert_id=f"V1:{kind.value}",
                       kind=kind, visit_id="V1", provider_id="P1", client_id="C1", lot_id="L1",
                       due_at=NOW)


def _resolved(kind: AlertKind = AlertKind.MISSED) -> AlertResolved:
    return AlertResolved(event_id=f"R-{kind.value}", occurred_at=NOW, alert_id=f"V1:{kind.value}",
                         kind=kind, visit_id="V1", provider_id="P1", resolution="checked_in_late")


def _handled(action: AlertAction, tier: AlertTier = AlertTier.PROVIDER_ON_CALL,
             kind: AlertKind = AlertKind.MISSED, minutes: int = 0) -> AlertHandled:
    at = NOW + timedelta(minutes=minutes)
    return AlertHandled(
        event_id=f"alert:V1:{kind.value}:{action.value}:{tier.value}", occurred_at=at,
        alert_id=f"V1:{kind.value}", kind=kind, visit_id="V1", provider_id="P1", client_id="C1",
        action=action, tier=tier, by="ecm", by_role=ActorRole.SYSTEM, learned_at=at)


def _escalated(tier: AlertTier, kind: AlertKind = AlertKind.MISSED) -> AlertHandled:
    return _handled(AlertAction.ESCALATED, tier, kind, minutes=15)


@pytest.mark.parametrize(("tier", "endpoint"), [
    (AlertTier.PROVIDER_ON_CALL, "provider:P1"),
    (AlertTier.COUNCIL_DUTY, DUTY_TEAM),
    (AlertTier.MANAGER, MANAGER),
])
def test_each_tier_has_its_own_endpoint(tier: AlertTier, endpoint: str) -> None:
    assert tier_endpoint(tier, "P1") == endpoint


@pytest.mark.parametrize(("tier", "endpoint"), [
    (AlertTier.COUNCIL_DUTY, DUTY_TEAM),
    (AlertTier.MANAGER, MANAGER),
])
def test_an_escalation_re_notifies_only_the_tier_it_moved_to(tier: AlertTier, endpoint: str) -> None:
    escalation = _escalated(tier, AlertKind.NOT_ARRIVED)
    result = plan(escalation, ENDPOINTS, NOW, DAY, next_state(AlertState(), escalation))
    assert isinstance(result, list)
    assert [(d.endpoint, d.event) for d in result] == [(endpoint, Event.ESCALATED)]
    assert result[0].idempotency_key == f"V1:not_arrived:escalated:{tier.value}"
    body = json.loads(result[0].body)
    assert body["type"] == "alert_escalated"
    assert body["alert"]["tier"] == tier.value


def test_an_escalation_to_a_tier_with_no_webhook_configured_is_skipped() -> None:
    no_manager = Endpoints(duty_team_url="https://duty.example/hook")
    escalation = _escalated(AlertTier.MANAGER)
    assert plan(escalation, no_manager, NOW, DAY,
                next_state(AlertState(), escalation)) is SkipReason.NO_ENDPOINT


def test_an_escalated_no_checkout_is_not_notified_by_webhook_either() -> None:
    escalation = _escalated(AlertTier.COUNCIL_DUTY, AlertKind.NO_CHECKOUT)
    assert plan(escalation, ENDPOINTS, NOW, DAY,
                next_state(AlertState(), escalation)) is SkipReason.NOT_NOTIFIED


def test_a_monitor_only_alert_pages_nobody_then_or_later() -> None:
    events = [_handled(AlertAction.MONITOR_ONLY), _raised(),
              _handled(AlertAction.CLOSED), _resolved()]
    planned, changed = plan_alerts(events, CONFIG, NOW)
    assert planned == []
    assert changed == {"V1:missed": AlertState(monitor_only=True)}


def test_a_monitor_only_alert_remembered_from_an_earlier_batch_pages_nobody() -> None:
    planned, changed = plan_alerts([_raised()], CONFIG, NOW,
                                   {"V1:missed": AlertState(monitor_only=True)})
    assert planned == [] and changed == {}


def test_updates_go_to_every_tier_told_so_far_in_order() -> None:
    events = [_raised(AlertKind.NOT_ARRIVED), _escalated(AlertTier.COUNCIL_DUTY, AlertKind.NOT_ARRIVED),
              _handled(AlertAction.ACKNOWLEDGED, AlertTier.COUNCIL_DUTY, AlertKind.NOT_ARRIVED, 20),
              _resolved(AlertKind.NOT_ARRIVED)]
    planned, changed = plan_alerts(events, CONFIG, NOW)
    assert [(d.event, d.endpoint) for d in planned] == [
        (Event.RAISED, "provider:P1"),
        (Event.ESCALATED, DUTY_TEAM),
        (Event.ACKNOWLEDGED, "provider:P1"), (Event.ACKNOWLEDGED, DUTY_TEAM),
        (Event.RESOLVED, "provider:P1"), (Event.RESOLVED, DUTY_TEAM),
    ]
    assert changed == {"V1:not_arrived": AlertState(tier=AlertTier.COUNCIL_DUTY)}


def test_a_resolution_after_an_earlier_batch_s_escalation_reaches_the_manager_too() -> None:
    planned, _ = plan_alerts([_resolved()], CONFIG, NOW,
                             {"V1:missed": AlertState(tier=AlertTier.MANAGER)})
    assert [d.endpoint for d in planned] == ["provider:P1", DUTY_TEAM, MANAGER]


def test_a_closure_is_an_update_with_its_own_key() -> None:
    closure = _handled(AlertAction.CLOSED)
    result = plan(closure, ENDPOINTS, NOW, DAY, next_state(AlertState(), closure))
    assert isinstance(result, list)
    assert [(d.endpoint, d.event) for d in result] == [("provider:P1", Event.CLOSED),
                                                      (DUTY_TEAM, Event.CLOSED)]
    assert result[0].idempotency_key == "V1:missed:closed"


def test_the_remembered_tier_and_monitor_only_never_go_back() -> None:
    state = AlertState(monitor_only=True, tier=AlertTier.MANAGER)
    for event in (_raised(), _resolved(), _handled(AlertAction.ACKNOWLEDGED),
                  _escalated(AlertTier.COUNCIL_DUTY)):
        assert next_state(state, event) == state


def test_reading_a_batch_twice_plans_the_same_deliveries() -> None:
    events = [_raised(), _escalated(AlertTier.COUNCIL_DUTY), _escalated(AlertTier.MANAGER)]
    first, changed = plan_alerts(events, CONFIG, NOW)
    again, _ = plan_alerts(events, CONFIG, NOW, changed)
    assert first == again


def test_the_manager_is_a_metric_target_of_its_own() -> None:
    assert target_of(MANAGER) == "manager"
    assert target_of(DUTY_TEAM) == "duty_team"
    assert target_of("provider:P1") == "provider"
