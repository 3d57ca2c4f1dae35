"""``ecm visits frustrated``: a carer arrived but could not deliver care.

One request to the ecm API (providers, about their own visits), with a frustration code
of the council's list; what a frustrated visit pays is a contract rule
(``frustrated_pay_share``, default nothing).
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
    NoteOption,
    act,
    segment,
)

visits_app = typer.Typer(help="Visits: report a frustrated visit.", no_args_is_help=True)


@visits_app.command("frustrated")
def frustrated(
    visit_id: Annotated[str, typer.Argument(help="e.g. V1234")],
    carer_id: Annotated[str, typer.Option("--carer", help="The carer who attended.")],
    reason_code: Annotated[str, typer.Option("--reason", help="A frustration code.")],
    at: Annotated[datetime | None, typer.Option(
        formats=WHEN_FORMATS, help="When the carer gave up (with offset); default: now.")] = None,
    note: str | None = NoteOption,
    event_id: str | None = EventIdOption,
    by: str = ByOption,
    api_url: str | None = ApiUrlOption,
    api_key: str = ApiKeyOption,
) -> None:
    """Report that the carer arrived but could not deliver care (providers)."""
    act(api_url, api_key, f"/v1/visits/{segment(visit_id)}/frustrated", {
        "carer_id": carer_id, "reason_code": reason_code,
        "occurred_at": at.isoformat() if at else None, "note": note, "by": by,
        "event_id": event_id})


def register(app: typer.Typer) -> None:
    """Add ``ecm visits`` to the main app."""
    app.add_typer(visits_app, name="visits")
