"""An "at risk" warning goes to the provider's on-call, and only ever to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecm.contracts import (
    ActorRole,
    AlertAction,
    AlertHandledV2,
    AlertKindV2,
    AlertRaisedV2,
    AlertResolvedV2,
    AlertTier,
    parse_event,
)
from ecm.notify.routing import AlertState, Endpoints, Event, SkipReason, plan

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ENDPOINTS = Endpoints(duty_team_url="https://duty.example/hook",
                      provider_urls={"P1": "https://p1.example/oncall"},
                      manager_url="https://manager.example/hook")
AT_RISK = AlertKindV2("at_risk")


def raised() -> AlertRaisedV2:
    return AlertRaisedV2(event_id="V1:at_risk:raised", occurred_at=NOW, alert_id="V1:at_risk",
                         kind=AT_RISK, visit_id="V1", provider_id="P1", client_id="C1",
                         lot_id="L1", due_at=NOW)


def handled(action: AlertAction, tier: AlertTier) -> AlertHandledV2:
    return AlertHandledV2(event_id=f"h-{action.value}", occurred_at=NOW,
                          alert_id="V1:at_risk", kind=AT_RISK, visit_id="V1", provider_id="P1",
                          client_id="C1", action=action, tier=tier, by="duty-1",
                          by_role=ActorRole.DUTY_OFFICER, learned_at=NOW)


def test_an_at_risk_warning_is_sent_to_the_providers_on_call_only() -> None:
    planned = plan(raised(), ENDPOINTS, NOW, timedelta(days=1))
    assert not isinstance(planned, SkipReason)
    assert [(d.endpoint, d.event, d.kind) for d in planned] == [
        ("provider:P1", Event.RAISED, "at_risk")]


@pytest.mark.parametrize("action", [AlertAction.ACKNOWLEDGED, AlertAction.CLOSED])
def test_what_happens_to_an_at_risk_warning_is_told_to_the_provider_only(action) -> None:
    state = AlertState(tier=AlertTier.COUNCIL_DUTY)  # even after an escalation by hand
    planned = plan(handled(action, AlertTier.COUNCIL_DUTY), ENDPOINTS, NOW,
                   timedelta(days=1), state)
    assert not isinstance(planned, SkipReason)
    assert [d.endpoint for d in planned] == ["provider:P1"]


def test_an_at_risk_warning_escalated_by_hand_is_not_sent_up_the_tiers() -> None:
    escalation = handled(AlertAction.ESCALATED, AlertTier.COUNCIL_DUTY)
    assert plan(escalation, ENDPOINTS, NOW, timedelta(days=1),
                AlertState(tier=AlertTier.COUNCIL_DUTY)) is SkipReason.NOT_NOTIFIED


def test_its_resolution_reaches_the_provider_and_parses_as_version_2() -> None:
    resolved = AlertResolvedV2(event_id="V1:at_risk:resolved", occurred_at=NOW,
                               alert_id="V1:at_risk", kind=AT_RISK, visit_id="V1",
                               provider_id="P1", resolution="checked_in")
    assert type(parse_event(resolved.model_dump_json())) is AlertResolvedV2
    planned = plan(resolved, ENDPOINTS, NOW, timedelta(days=1))
    assert not isinstance(planned, SkipReason)
    assert [d.endpoint for d in planned] == ["provider:P1"]


def test_the_notifier_reads_version_2_alerts_from_the_topic() -> None:
    from ecm.contracts import dump_event
    from ecm.notify.consumer import read_alerts

    assert read_alerts([dump_event(raised())]) == [raised()]
