"""``ecm exceptions``: list, show one with its history, explain (provider), decide (council).

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
    JsonFlag,
    Limit,
    NoteOption,
    ProviderFilter,
    act,
    echo_json,
    echo_record,
    fetch,
    operator_api,
    run,
    segment,
    show_rows,
)
from ecm.contracts import Decision

exceptions_app = typer.Typer(help="Exceptions: list, show, explain, decide.",
                             no_args_is_help=True)
COLUMNS = ("exception_id", "kind", "provider_id", "status", "status_code", "detected_at")
DETAIL = ("exception_id", "kind", "visit_id", "provider_id", "client_id", "carer_id",
          "detail", "detected_at", "resolved_at", "status", "status_code", "status_by",
          "status_at", "status_note", "reason_code", "explained_at", "decided_at")  # fmt: skip
HISTORY = ("occurred_at", "received_at", "event_type", "by", "by_role", "code", "decision",
           "note")  # fmt: skip
ExceptionIdArg = Annotated[str, typer.Argument(help="e.g. V778:manual_entry:K0815")]


@exceptions_app.command("list")
def list_exceptions(
    provider_id: ProviderFilter = None,
    status: Annotated[str | None, typer.Option(help="open, explained, accepted, rejected.")] = None,
    limit: Limit = 100,
    as_json: JsonFlag = False,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """List exceptions (a provider's key sees only its own)."""
    rows = fetch(api_url, api_key, "/v1/exceptions",
                 {"provider_id": provider_id, "status": status, "limit": limit})
    show_rows(rows, COLUMNS, as_json)


@exceptions_app.command("show")
def show(
    exception_id: ExceptionIdArg,
    as_json: JsonFlag = False,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """Show an exception, where it stands, and every act sent about it (its history)."""
    found = fetch(api_url, api_key, f"/v1/exceptions/{segment(exception_id)}")
    if as_json:
        echo_json(found)
    else:
        echo_record(found, DETAIL, "history", HISTORY)


@exceptions_app.command("explain")
def explain(
    exception_id: ExceptionIdArg,
    reason_code: Annotated[str, typer.Option("--reason", help="An explanation code.")],
    note: str | None = NoteOption,
    event_id: str | None = EventIdOption,
    by: str = ByOption,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """Explain an exception with a reason code of the council's list (providers)."""
    act(api_url, api_key, f"/v1/exceptions/{segment(exception_id)}/explanations",
        {"reason_code": reason_code, "note": note, "by": by, "event_id": event_id})


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
