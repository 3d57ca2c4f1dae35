"""Who is told about which alert, and what they are sent (pure: no I/O, no clock).

* ``not_arrived`` goes to the provider's on-call endpoint;
* ``missed`` goes to the provider's on-call endpoint and the council's duty team;
* ``no_checkout`` is not notified by webhook (it is on the dashboards and in metrics).

A resolution goes to the same endpoints as the alert it resolves. Endpoints are stored
by name (``provider:<provider_id>`` or ``duty_team``) and resolved to a URL when sent,
so a corrected URL applies to deliveries still pending. An alert whose ``occurred_at``
is older than the maximum age (e.g. a replay of last year) is not notified.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from ecm.contracts import AlertKind, AlertRaised, AlertResolved

DUTY_TEAM = "duty_team"
_PROVIDER_PREFIX = "provider:"


class Event(StrEnum):
    """What a notification says about an alert."""

    RAISED = "raised"
    RESOLVED = "resolved"


class SkipReason(StrEnum):
    """Why an alert produced no delivery."""

    NOT_NOTIFIED = "not_notified"
    TOO_OLD = "too_old"
    NO_ENDPOINT = "no_endpoint"


@dataclass(frozen=True)
class Endpoints:
    """The configured webhook URLs."""

    duty_team_url: str | None = None
    provider_urls: Mapping[str, str] = field(default_factory=dict)
    default_provider_url: str | None = None

    def url_for(self, endpoint: str) -> str | None:
        """Return the URL of an endpoint name, or None when none is configured."""
        if endpoint == DUTY_TEAM:
            return self.duty_team_url
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


def target_of(endpoint: str) -> str:
    """Return the metric ``target`` of an endpoint: ``provider`` or ``duty_team``."""
    return DUTY_TEAM if endpoint == DUTY_TEAM else "provider"


def idempotency_key(alert_id: str, event: Event) -> str:
    """Return the ``Idempotency-Key`` of a notification: the alert id and the event."""
    return f"{alert_id}:{event.value}"


def endpoints_for(kind: AlertKind, provider_id: str) -> list[str]:
    """Return the endpoint names told about alerts of ``kind`` for ``provider_id``."""
    if kind is AlertKind.NOT_ARRIVED:
        return [provider_endpoint(provider_id)]
    if kind is AlertKind.MISSED:
        return [provider_endpoint(provider_id), DUTY_TEAM]
    return []


def body_of(alert: AlertRaised | AlertResolved, event: Event) -> str:
    """Return the JSON body sent for ``alert`` (compact, keys sorted, stable)."""
    document = {
        "type": f"alert_{event.value}",
        "idempotency_key": idempotency_key(alert.alert_id, event),
        "alert": json.loads(alert.model_dump_json()),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def plan(
    alert: AlertRaised | AlertResolved,
    endpoints: Endpoints,
    now: datetime,
    max_age: timedelta,
) -> list[PlannedDelivery] | SkipReason:
    """Decide the deliveries for one alert event read from the alerts topic.

    Returns:
        The deliveries to enqueue (one per configured endpoint), or why there are none.

    """
    names = endpoints_for(alert.kind, alert.provider_id)
    if not names:
        return SkipReason.NOT_NOTIFIED
    if now - alert.occurred_at > max_age:
        return SkipReason.TOO_OLD
    configured = [name for name in names if endpoints.url_for(name)]
    if not configured:
        return SkipReason.NO_ENDPOINT
    event = Event.RAISED if isinstance(alert, AlertRaised) else Event.RESOLVED
    body = body_of(alert, event)
    return [
        PlannedDelivery(
            alert_id=alert.alert_id,
            event=event,
            endpoint=name,
            kind=alert.kind.value,
            provider_id=alert.provider_id,
            idempotency_key=idempotency_key(alert.alert_id, event),
            body=body,
        )
        for name in configured
    ]
