"""``ecm db``: database administration."""

from __future__ import annotations

import psycopg
import typer

from ecm.settings import get_settings
from ecm.storage.exceptions import MigrationError
from ecm.storage.migrate import migrate as run_migrations

db_app = typer.Typer(help="Database administration.", no_args_is_help=True)


@db_app.command("migrate")
def migrate(
    dsn: str | None = typer.Option(None, help="Database URL; default: ECM_DB__DSN."),
) -> None:
    """Apply every pending schema migration (safe to run twice)."""
    target = dsn or get_settings().db.dsn.get_secret_value()
    try:
        applied = run_migrations(target)
    except MigrationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"applied {', '.join(applied)}" if applied else "database is up to date")


@db_app.command("retention")
def retention(
    months: int = typer.Option(..., min=0, help="Keep this many months before the current one."),
    dsn: str | None = typer.Option(None, help="Database URL; default: ECM_DB__DSN."),
) -> None:
    """Drop raw events, visit outcomes and rota gaps older than N months (KPI rollups are kept)."""
    target = dsn or get_settings().db.dsn.get_secret_value()
    with psycopg.connect(target, autocommit=True) as conn:
        dropped = [r[0] for r in conn.execute("SELECT ecm_apply_retention(%s)", (months,))]
    typer.echo(f"dropped {', '.join(dropped)}" if dropped else "nothing to drop")


def register(app: typer.Typer) -> None:
    """Add ``ecm db`` to the main app."""
    app.add_typer(db_app, name="db")
