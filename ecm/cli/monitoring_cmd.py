"""``ecm monitoring set``: make a client's or a service's alerts "monitor only" for a while.

Monitor-only alerts are raised and recorded but page nobody and never escalate. One
request to the ecm API (duty officers and contract managers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from ecm.cli.api_client import (
    WHEN_FORMATS,
    ApiKeyOption,
    ApiUrlOption,
    ByOption,
    EventIdOption,
    echo_json,
    operator_api,
    run,
)
from ecm.contracts import Service

monitoring_app = typer.Typer(help="Monitor-only periods for alerts.", no_args_is_help=True)


@monitoring_app.command("set")
def set_monitoring(
    monitoring_id: Annotated[str, typer.Argument(
        help="Names the period; setting the same id again replaces it (e.g. ends it now).")],
    starts: Annotated[datetime, typer.Option(formats=WHEN_FORMATS, help="From (with offset).")],
    until: Annotated[datetime, typer.Option(formats=WHEN_FORMATS, help="Until (with offset).")],
    reason: Annotated[str, typer.Option(help="Why (e.g. family staying this weekend).")],
    client_id: Annotated[str | None, typer.Option("--client", help="One client.")] = None,
    service: Annotated[Service | None, typer.Option(help="A whole service.")] = None,
    event_id: str | None = EventIdOption,
    by: str = ByOption,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """Set a monitor-only period for a client and/or a service."""
    if client_id is None and service is None:
        typer.echo("error: give --client or --service (or both)", err=True)
        raise typer.Exit(2)
    api = operator_api(api_url, api_key)
    echo_json(run(lambda: api.call("POST", "/v1/monitoring", {
        "monitoring_id": monitoring_id, "client_id": client_id,
        "service": service.value if service else None, "starts": starts.isoformat(),
        "until": until.isoformat(), "reason": reason, "by": by, "event_id": event_id})))


def register(app: typer.Typer) -> None:
    """Add ``ecm monitoring`` to the main app."""
    app.add_typer(monitoring_app, name="monitoring")
