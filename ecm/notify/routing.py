"""Who is told about which alert, and what they are sent (pure: no I/O, no clock).

* ``at_risk`` (a warning that the planned carer cannot be on time) goes to the provider's
  on-call endpoint only, and only ever to it: it never escalates on timeout, and an
  escalation by hand is not re-notified (the "not arrived" alert that may follow is);
* ``not_arrived`` goes to the provider's on-call endpoint;
* ``missed`` goes to the provider's on-call endpoint and the council's duty team;
* ``no_checkout`` is not notified by webhook (it is on the dashboards and in metrics).

An alert left unacknowledged escalates (``AlertHandled``, action ``escalated``): the
escalation re-notifies the endpoint of the tier it now sits with, one tier at a time --
the provider's on-call (``provider:<provider_id>``), then the council's duty team
(``duty_team``), then the named manager (``manager``). Updates (acknowledged, closed,
resolved) go to every endpoint told so far: the alert's own endpoints and those of every
tier it reached. An alert raised while monitor-only applied (``AlertHandled``, action
``monitor_only``, just before its ``AlertRaised``) pages nobody, then or later.

Endpoints are stored by name and resolved to a URL when sent, so a corrected URL applies
to deliveries still pending. An alert whose ``occurred_at`` is older than the maximum age
(e.g. a replay of last year) is not notified.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from ecm.contracts import (
    AlertAction,
    AlertHandled,
    AlertKind,
    AlertKindV2,
    AlertRaised,
    AlertResolved,
    AlertTier,
)

AT_RISK = AlertKindV2("at_risk").value
DUTY_TEAM = "duty_team"
MANAGER = "manager"
_PROVIDER_PREFIX = "provider:"
_TIERS = tuple(AlertTier)

AlertEvent = AlertRaised | AlertResolved | AlertHandled
"""What the notifier reads from the alerts topic."""


class Event(StrEnum):
    """What a notification says about an alert."""

    RAISED = "raised"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class SkipReason(StrEnum):
    """Why an alert produced no delivery."""

    NOT_NOTIFIED = "not_notified"
    TOO_OLD = "too_old"
    NO_ENDPOINT = "no_endpoint"
    MONITOR_ONLY = "monitor_only"


@dataclass(frozen=True)
class AlertState:
    """What the notifier remembers of one alert (table ``notify_alerts``, migration 0013).

    Only what routing needs: whether the alert is monitor-only and the highest tier it
    reached. Both only ever grow, so a batch read twice gives the same state.
    """

    monitor_only: bool = False
    tier: AlertTier = AlertTier.PROVIDER_ON_CALL


@dataclass(frozen=True)
class Endpoints:
    """The configured webhook URLs."""

    duty_team_url: str | None = None
    provider_urls: Mapping[str, str] = field(default_factory=dict)
    default_provider_url: str | None = None
    manager_url: str | None = None

    def url_for(self, endpoint: str) -> str | None:
        """Return the URL of an endpoint name, or None when none is configured."""
        if endpoint == DUTY_TEAM:
            return self.duty_team_url
        if endpoint == MANAGER:
            return self.manager_url
        if endpoint.startswith(_PROVIDER_PREFIX):
            provider_id = endpoint.removeprefix(_PROVIDER_PREFIX)
            return self.provider_urls.get(provider_id, self.default_provider_url)
        return None


@dataclass(frozen=True)
class PlannedDelivery:
    """One notification to write to the outbox: unique by (alert_id, event, endpoint)."""

    alert_id: str
    event: Event
    endpoint: str
    kind: str
    provider_id: str
    idempotency_key: str
    body: str


def provider_endpoint(provider_id: str) -> str:
    """Return the endpoint name of a provider's on-call webhook."""
    return f"{_PROVIDER_PREFIX}{provider_id}"


def tier_endpoint(tier: AlertTier, provider_id: str) -> str:
    """Return the endpoint name of whoever has an alert at ``tier``."""
    if tier is AlertTier.PROVIDER_ON_CALL:
        return provider_endpoint(provider_id)
    return DUTY_TEAM if tier is AlertTier.COUNCIL_DUTY else MANAGER


def target_of(endpoint: str) -> str:
    """Return the metric ``target`` of an endpoint: ``provider``, ``duty_team`` or ``manager``."""
    if endpoint in (DUTY_TEAM, MANAGER):
        return endpoint
    return "provider"


def idempotency_key(alert_id: str, event: Event, tier: AlertTier | None = None) -> str:
    """Return the ``Idempotency-Key`` of a notification: the alert id and the event.

    An escalation's key names its tier too, as an alert escalates once to each tier.
    """
    if event is Event.ESCALATED and tier is not None:
        return f"{alert_id}:{event.value}:{tier.value}"
    return f"{alert_id}:{event.value}"


PROVIDER_ONLY = frozenset({AT_RISK})
"""Alert kinds told to the provider alone, whatever happens to them afterwards."""


def endpoints_for(kind: str, provider_id: str) -> list[str]:
    """Return the endpoint names told about alerts of ``kind`` for ``provider_id``."""
    if kind in (AlertKind.NOT_ARRIVED.value, AT_RISK):
        return [provider_endpoint(provider_id)]
    if kind == AlertKind.MISSED.value:
        return [provider_endpoint(provider_id), DUTY_TEAM]
    return []


def event_of(alert: AlertEvent) -> Event | None:
    """Return what a notification of ``alert`` says, or None when nobody is told."""
    if isinstance(alert, AlertRaised):
        return Event.RAISED
    if isinstance(alert, AlertResolved):
        return Event.RESOLVED
    return {
        AlertAction.ESCALATED: Event.ESCALATED,
        AlertAction.ACKNOWLEDGED: Event.ACKNOWLEDGED,
        AlertAction.CLOSED: Event.CLOSED,
    }.get(alert.action)


def next_state(state: AlertState, alert: AlertEvent) -> AlertState:
    """Return what is remembered of an alert after ``alert`` (monitor-only and tier only grow)."""
    if not isinstance(alert, AlertHandled):
        return state
    monitor_only = state.monitor_only or alert.action is AlertAction.MONITOR_ONLY
    tier = max(state.tier, alert.tier, key=_TIERS.index)
    return AlertState(monitor_only=monitor_only, tier=tier)


def _recipients(alert: AlertEvent, event: Event, state: AlertState) -> list[str]:
    """Endpoint names told about ``event``: the new tier's, or everyone told so far."""
    told = endpoints_for(alert.kind.value, alert.provider_id)
    if not told:
        return []
    if alert.kind.value in PROVIDER_ONLY:  # never re-notified up the tiers
        return [] if event is Event.ESCALATED else told
    if event is Event.RAISED:
        return told
    if event is Event.ESCALATED and isinstance(alert, AlertHandled):
        return [tier_endpoint(alert.tier, alert.provider_id)]
    reached = _TIERS[: _TIERS.index(state.tier) + 1]
    for tier in reached:
        name = tier_endpoint(tier, alert.provider_id)
        if name not in told:
            told.append(name)
    return told


def body_of(alert: AlertEvent, event: Event) -> str:
    """Return the JSON body sent for ``alert`` (compact, keys sorted, stable)."""
    document = {
        "type": f"alert_{event.value}",
        "idempotency_key": idempotency_key(alert.alert_id, event, _tier_of(alert)),
        "alert": json.loads(alert.model_dump_json()),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def _tier_of(alert: AlertEvent) -> AlertTier | None:
    return alert.tier if isinstance(alert, AlertHandled) else None


def plan(
    alert: AlertEvent,
    endpoints: Endpoints,
    now: datetime,
    max_age: timedelta,
    state: AlertState = AlertState(),
) -> list[PlannedDelivery] | SkipReason:
    """Decide the deliveries for one alert event read from the alerts topic.

    Args:
        alert: the event read.
        endpoints: the configured URLs.
        now: the wall clock (for the maximum age).
        max_age: older alerts are not notified.
        state: what is remembered of the alert, including this event
            (``next_state`` applied to it).

    Returns:
        The deliveries to enqueue (one per configured endpoint), or why there are none.

    """
    if state.monitor_only:
        return SkipReason.MONITOR_ONLY
    event = event_of(alert)
    if event is None:
        return SkipReason.NOT_NOTIFIED
    names = _recipients(alert, event, state)
    if not names:
        return SkipReason.NOT_NOTIFIED
    if now - alert.occurred_at > max_age:
        return SkipReason.TOO_OLD
    configured = [name for name in names if endpoints.url_for(name)]
    if not configured:
        return SkipReason.NO_ENDPOINT
    body = body_of(alert, event)
    key = idempotency_key(alert.alert_id, event, _tier_of(alert))
    return [
        PlannedDelivery(
            alert_id=alert.alert_id,
            event=event,
            endpoint=name,
            kind=alert.kind.value,
            provider_id=alert.provider_id,
            idempotency_key=key,
            body=body,
        )
        for name in configured
    ]
