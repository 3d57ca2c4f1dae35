"""``ecm report``: the contract-monitoring pack for a period, in four formats."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import typer
from rich.console import Console

from ecm.kpi import Period
from ecm.report import FORMATS, build_pack, render
from ecm.report.payments import write_payments_csv
from ecm.settings import get_settings


def _period(month: str | None, week: str | None, start: str | None, end: str | None) -> Period:
    chosen = [x for x in (month, week, start) if x]
    if len(chosen) != 1 or (start is None) != (end is None):
        raise typer.BadParameter("give exactly one of --month, --week or --from with --to")
    if month:
        return Period.month(month)
    if week:
        return Period.iso_week(week)
    assert start is not None and end is not None
    return Period(datetime.fromisoformat(start).date(), datetime.fromisoformat(end).date())


def report(
    month: str | None = typer.Option(None, help="Calendar month, YYYY-MM."),
    week: str | None = typer.Option(None, help="ISO week, YYYY-Www."),
    start: str | None = typer.Option(None, "--from", help="First local day, YYYY-MM-DD."),
    end: str | None = typer.Option(None, "--to", help="Day after the last, YYYY-MM-DD."),
    provider: str | None = typer.Option(None, help="Only this provider."),
    lot: str | None = typer.Option(None, help="Only this lot."),
    fmt: str = typer.Option("text", "--format", help=f"One of: {', '.join(FORMATS)}."),
    output: str | None = typer.Option(None, "--output", "-o", help="File; default stdout."),
    dsn: str | None = typer.Option(None, help="Database URL; default: ECM_DB__DSN."),
) -> None:
    """Print the monitoring pack: league table, 12-week trend, alerts and exceptions.

    KPIs cover the ISO weeks (Europe/London) whose Monday falls in the period.
    """
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    period = _period(month, week, start, end)
    target = dsn or get_settings().db.dsn.get_secret_value()
    status = Console(stderr=True)
    with status.status("connecting") as spinner, psycopg.connect(target) as conn:
        pack = build_pack(
            conn, period, provider, lot, now=datetime.now(UTC),
            progress=lambda step: spinner.update(f"querying {step}"),
        )  # fmt: skip
    text = render(pack, fmt)
    if output is None:
        typer.echo(text, nl=False)
    else:
        Path(output).write_text(text)
        status.print(f"wrote {output}")


def payments(
    month: str | None = typer.Option(None, help="Calendar month, YYYY-MM."),
    week: str | None = typer.Option(None, help="ISO week, YYYY-Www."),
    start: str | None = typer.Option(None, "--from", help="First local day, YYYY-MM-DD."),
    end: str | None = typer.Option(None, "--to", help="Day after the last, YYYY-MM-DD."),
    provider: str | None = typer.Option(None, help="Only this provider."),
    output: str | None = typer.Option(None, "--output", "-o", help="File; default stdout."),
    dsn: str | None = typer.Option(None, help="Database URL; default: ECM_DB__DSN."),
) -> None:
    """Write the payment export: one CSV line per visit, what is paid and why.

    Verified money is payable now; disputed money waits for the council's decisions on the
    exceptions (and late corrections) the line lists (docs/rules.md, "Closing the loop").
    """
    period = _period(month, week, start, end)
    target = dsn or get_settings().db.dsn.get_secret_value()
    last = period.end - timedelta(days=1)
    with psycopg.connect(target) as conn:
        if output is None:
            lines = write_payments_csv(conn, sys.stdout, provider, period.start, last)
        else:
            with Path(output).open("w", newline="") as out:
                lines = write_payments_csv(conn, out, provider, period.start, last)
    Console(stderr=True).print(f"{lines} visit line(s)" + (f" -> {output}" if output else ""))


def register(app: typer.Typer) -> None:
    """Add ``ecm report`` and ``ecm payments`` to the main app."""
    app.command("report")(report)
    app.command("payments")(payments)
