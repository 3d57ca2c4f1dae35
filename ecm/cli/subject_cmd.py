"""``ecm subject``: subject access and erasure for one client or carer."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import typer

from ecm.settings import get_settings
from ecm.storage.subjects import Subject, SubjectRecords, erase, export

subject_app = typer.Typer(
    help="Subject access and erasure (docs/data-protection.md).", no_args_is_help=True)


def _who(client: str | None, carer: str | None) -> tuple[Subject, str]:
    if (client is None) == (carer is None):
        typer.echo("error: give exactly one of --client ID or --carer ID", err=True)
        raise typer.Exit(2)
    return ("client", client) if client is not None else ("carer", carer or "")


def _document(found: SubjectRecords) -> dict[str, object]:
    return {"subject": found.subject, "id": found.subject_id, "tables": found.rows,
            "not_in_the_database": list(found.not_erased)}


@subject_app.command("export")
def export_command(
    client: str | None = typer.Option(None, help="A client id."),
    carer: str | None = typer.Option(None, help="A carer id."),
    out: Path | None = typer.Option(None, help="Write the JSON here (default: stdout)."),
    dsn: str | None = typer.Option(None, help="Database URL; default: ECM_DB__DSN."),
) -> None:
    """Write everything the database holds about one person, table by table, as JSON."""
    subject, subject_id = _who(client, carer)
    with psycopg.connect(dsn or get_settings().db.dsn.get_secret_value()) as conn:
        found = export(conn, subject, subject_id)
    text = json.dumps(_document(found), indent=2, sort_keys=True, default=str)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        rows = sum(len(r) for r in found.rows.values())
        typer.echo(f"{rows} row(s) in {len(found.rows)} table(s) about {subject} "
                   f"{subject_id} -> {out}")


@subject_app.command("erase")
def erase_command(
    client: str | None = typer.Option(None, help="A client id."),
    carer: str | None = typer.Option(None, help="A carer id."),
    yes: bool = typer.Option(False, "--yes", help="Do it (without: say what would change)."),
    dsn: str | None = typer.Option(None, help="Database URL; default: ECM_DB__DSN."),
) -> None:
    """Pseudonymise one person in every table, keeping KPIs and money exactly as they are.

    The id is replaced by a random pseudonym in one transaction; nothing is deleted.
    What cannot be erased, and why, is printed after.
    """
    subject, subject_id = _who(client, carer)
    with psycopg.connect(dsn or get_settings().db.dsn.get_secret_value()) as conn:
        if not yes:
            found = export(conn, subject, subject_id)
            for table, rows in sorted(found.rows.items()):
                typer.echo(f"would change {len(rows)} row(s) of {table}")
            typer.echo("nothing changed: add --yes to erase")
            return
        found = erase(conn, subject, subject_id)
    for place, count in sorted(found.changed.items()):
        typer.echo(f"pseudonymised {count} row(s) of {place}")
    if not found.changed:
        typer.echo(f"no row names {subject} {subject_id}")
    else:
        typer.echo(f"{subject} {subject_id} is now {found.pseudonym} in the database")
    typer.echo("could not erase:")
    for reason in found.not_erased:
        typer.echo(f"- {reason}")


def register(app: typer.Typer) -> None:
    """Add ``ecm subject`` to the main app."""
    app.add_typer(subject_app, name="subject")
