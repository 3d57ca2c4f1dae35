"""``ecm alerts``: list open alerts, acknowledge, escalate by hand, close with an outcome.

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
    ProviderFilter,
    echo_json,
    echo_table,
    operator_api,
    run,
    segment,
)
from ecm.contracts import AlertTier

alerts_app = typer.Typer(help="Alerts: list, ack, escalate, close.", no_args_is_help=True)
NoteOption = typer.Option(None, "--note", help="Free text.")
COLUMNS = ("alert_id", "kind", "provider_id", "tier", "raised_at", "acknowledged_by")


@alerts_app.command("list")
def list_alerts(
    provider_id: ProviderFilter = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """List open alerts (a provider's key sees only its own)."""
    api = operator_api(api_url, api_key)
    rows = run(lambda: api.call("GET", "/v1/alerts", query={
        "provider_id": provider_id, "limit": limit}))
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, COLUMNS)


def _act(api_url: str | None, api_key: str, alert_id: str, what: str,
         body: dict[str, str | None]) -> None:
    api = operator_api(api_url, api_key)
    echo_json(run(lambda: api.call("POST", f"/v1/alerts/{segment(alert_id)}/{what}", body)))


@alerts_app.command("ack")
def acknowledge(
    alert_id: Annotated[str, typer.Argument(help="e.g. V1234:missed")],
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
    alert_id: Annotated[str, typer.Argument(help="e.g. V1234:missed")],
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
    alert_id: Annotated[str, typer.Argument(help="e.g. V1234:missed")],
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
