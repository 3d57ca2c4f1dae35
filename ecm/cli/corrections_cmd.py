"""``ecm corrections``: late call-time corrections held for the council's approval.

A correction made more than the contract's ``late_correction_days`` after its visit is
held: the visit is judged without it until a contract manager approves it (applied) or
refuses it (dropped for good). Each command is one request to the ecm API.
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
    fetch,
    segment,
    show_rows,
)
from ecm.contracts import Decision

corrections_app = typer.Typer(help="Late corrections held for approval: list, decide.",
                              no_args_is_help=True)
COLUMNS = ("event_id", "visit_id", "provider_id", "local_date", "occurred_at")


@corrections_app.command("list")
def list_corrections(
    provider_id: ProviderFilter = None,
    limit: Limit = 100,
    as_json: JsonFlag = False,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """List corrections held for approval (a provider's key sees only its own)."""
    rows = fetch(api_url, api_key, "/v1/corrections",
                 {"status": "held", "provider_id": provider_id, "limit": limit})
    show_rows(rows, COLUMNS, as_json)


@corrections_app.command("decide")
def decide(
    correction_id: Annotated[str, typer.Argument(
        help="The held call_time_corrected event's id (from `ecm corrections list`).")],
    decision: Annotated[Decision, typer.Option(
        help="accepted (the correction is applied) or rejected (dropped for good).")],
    note: str | None = NoteOption,
    event_id: str | None = EventIdOption,
    by: str = ByOption,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """Approve or refuse a held correction (contract managers)."""
    act(api_url, api_key, f"/v1/corrections/{segment(correction_id)}/decisions",
        {"decision": decision.value, "note": note, "by": by, "event_id": event_id})


def register(app: typer.Typer) -> None:
    """Add ``ecm corrections`` to the main app."""
    app.add_typer(corrections_app, name="corrections")
