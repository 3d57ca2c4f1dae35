"""``ecm exceptions``: list exceptions, explain one (provider), decide (contract manager).

Each command is one request to the ecm API, which checks the role, the provider and the
code against the council's list (docs/rules.md, "Closing the loop") and answers only once
Kafka acknowledged the act.
"""

from __future__ import annotations

from datetime import datetime
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
from ecm.contracts import Decision

exceptions_app = typer.Typer(help="Exceptions: list, explain, decide.", no_args_is_help=True)
NoteOption = typer.Option(None, "--note", help="Free text (required by some codes).")
COLUMNS = ("exception_id", "kind", "provider_id", "status", "status_code", "detected_at")


@exceptions_app.command("list")
def list_exceptions(
    provider_id: ProviderFilter = None,
    status: Annotated[str | None, typer.Option(help="open, explained, accepted, rejected.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """List exceptions (a provider's key sees only its own)."""
    api = operator_api(api_url, api_key)
    rows = run(lambda: api.call("GET", "/v1/exceptions", query={
        "provider_id": provider_id, "status": status, "limit": limit}))
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, COLUMNS)


@exceptions_app.command("explain")
def explain(
    exception_id: Annotated[str, typer.Argument(help="e.g. V778:manual_entry:K0815")],
    reason_code: Annotated[str, typer.Option("--reason", help="An explanation code.")],
    note: str | None = NoteOption,
    event_id: str | None = EventIdOption,
    by: str = ByOption,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """Explain an exception with a reason code of the council's list (providers)."""
    api = operator_api(api_url, api_key)
    echo_json(run(lambda: api.call(
        "POST", f"/v1/exceptions/{segment(exception_id)}/explanations",
        {"reason_code": reason_code, "note": note, "by": by, "event_id": event_id})))


@exceptions_app.command("decide")
def decide(
    exception_ids: Annotated[list[str] | None, typer.Argument(
        help="One exception, or several decided alike in one request.")] = None,
    decision: Annotated[Decision, typer.Option(help="accepted or rejected.")] = Decision.ACCEPTED,
    resolution_code: Annotated[str, typer.Option("--resolution", help="A resolution code.")] = "",
    note: str | None = NoteOption,
    provider_id: ProviderFilter = None,
    reason_code: Annotated[str | None, typer.Option(
        "--reason", help="Without ids: every explained exception with this reason code.")] = None,
    date_from: Annotated[datetime | None, typer.Option(
        "--from", formats=["%Y-%m-%d"], help="Without ids: visits from this day.")] = None,
    date_to: Annotated[datetime | None, typer.Option(
        "--to", formats=["%Y-%m-%d"], help="Without ids: visits to this day.")] = None,
    event_id: str | None = EventIdOption,
    by: str = ByOption,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """Accept or reject explanations (contract managers).

    Several ids, or no id and filters (e.g. --provider P017 --reason phone_battery_dead
    --from 2026-11-16 --to 2026-11-22), go as one bulk request, audited per item.
    """
    if not resolution_code:
        typer.echo("error: give --resolution CODE", err=True)
        raise typer.Exit(2)
    api = operator_api(api_url, api_key)
    body = {"decision": decision.value, "resolution_code": resolution_code, "note": note,
            "by": by, "event_id": event_id}
    filters = {"provider_id": provider_id, "reason_code": reason_code,
               "from": date_from.date().isoformat() if date_from else None,
               "to": date_to.date().isoformat() if date_to else None}
    ids = exception_ids or []
    if len(ids) == 1 and not any(filters.values()):
        path = f"/v1/exceptions/{segment(ids[0])}/decisions"
        echo_json(run(lambda: api.call("POST", path, body)))
        return
    if not ids and not any(filters.values()):
        typer.echo("error: give exception ids, or filters (--provider, --reason, --from, --to)",
                   err=True)
        raise typer.Exit(2)
    echo_json(run(lambda: api.call("POST", "/v1/exceptions/decisions",
                                   {**body, **filters, "exception_ids": ids or None})))


def register(app: typer.Typer) -> None:
    """Add ``ecm exceptions`` to the main app."""
    app.add_typer(exceptions_app, name="exceptions")
