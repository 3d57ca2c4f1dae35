"""``ecm alerts``: list open alerts, show one, acknowledge, escalate by hand, close.

Each command is one request to the ecm API (who may do what: docs/rules.md, "Closing the
loop"); an unacknowledged alert also escalates by itself after the contract's minutes.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ecm.cli.api_client import (
    ApiKeyOption,
    ApiUrlOption,
    ByOption,
    EventIdOption,
    JsonFlag,
    Limit,
    NoteOption,
    ProviderFilter,
    act,
    echo_json,
    echo_record,
    fetch,
    segment,
    show_rows,
)
from ecm.contracts import AlertTier

alerts_app = typer.Typer(help="Alerts: list, show, ack, escalate, close.", no_args_is_help=True)
COLUMNS = ("alert_id", "kind", "provider_id", "tier", "raised_at", "acknowledged_by")
DETAIL = ("alert_id", "kind", "visit_id", "provider_id", "client_id", "tier", "monitor_only",
          "due_at", "raised_at", "raised_learned_at", "acknowledged_at", "acknowledged_by",
          "action_taken", "escalated_at", "closed_at", "closed_by", "outcome_code",
          "resolved_at", "resolved_learned_at", "resolution")  # fmt: skip
TIMELINE = ("occurred_at", "learned_at", "action", "tier", "by", "by_role", "code", "note")
AlertIdArg = Annotated[str, typer.Argument(help="e.g. V1234:missed")]


@alerts_app.command("list")
def list_alerts(
    provider_id: ProviderFilter = None,
    limit: Limit = 100,
    as_json: JsonFlag = False,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """List open alerts (a provider's key sees only its own)."""
    rows = fetch(api_url, api_key, "/v1/alerts", {"provider_id": provider_id, "limit": limit})
    show_rows(rows, COLUMNS, as_json)


@alerts_app.command("show")
def show(
    alert_id: AlertIdArg,
    as_json: JsonFlag = False,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """Show an alert and its timeline: when each step happened and when ecm learned it."""
    alert = fetch(api_url, api_key, f"/v1/alerts/{segment(alert_id)}")
    if as_json:
        echo_json(alert)
    else:
        echo_record(alert, DETAIL, "timeline", TIMELINE)


def _act(api_url: str | None, api_key: str, alert_id: str, what: str,
         body: dict[str, str | None]) -> None:
    act(api_url, api_key, f"/v1/alerts/{segment(alert_id)}/{what}", body)


@alerts_app.command("ack")
def acknowledge(
    alert_id: AlertIdArg,
    action_taken: Annotated[str, typer.Option("--action", help="What you are doing about it.")],
    event_id: str | None = EventIdOption,
    by: str = ByOption,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """Acknowledge an alert, saying what is being done (provider on-call or duty officer)."""
    _act(api_url, api_key, alert_id, "acknowledgements",
         {"action_taken": action_taken, "by": by, "event_id": event_id})


@alerts_app.command("escalate")
def escalate(
    alert_id: AlertIdArg,
    to_tier: Annotated[AlertTier, typer.Option("--to", help="council_duty or manager.")],
    note: str | None = NoteOption,
    event_id: str | None = EventIdOption,
    by: str = ByOption,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """Pass an alert up to a higher tier now (duty officer or contract manager)."""
    _act(api_url, api_key, alert_id, "escalations",
         {"to_tier": to_tier.value, "note": note, "by": by, "event_id": event_id})


@alerts_app.command("close")
def close(
    alert_id: AlertIdArg,
    outcome_code: Annotated[str, typer.Option("--outcome", help="An alert outcome code.")],
    note: str | None = NoteOption,
    event_id: str | None = EventIdOption,
    by: str = ByOption,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """Close an alert with an outcome code of the council's list."""
    _act(api_url, api_key, alert_id, "closures",
         {"outcome_code": outcome_code, "note": note, "by": by, "event_id": event_id})


def register(app: typer.Typer) -> None:
    """Add ``ecm alerts`` to the main app."""
    app.add_typer(alerts_app, name="alerts")
