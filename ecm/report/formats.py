"""The pack as a terminal table, CSV, JSON or a self-contained HTML page."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from ecm.report.html import render_html
from ecm.report.pack import MonitoringPack, Rows, cell


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def render_json(pack: MonitoringPack) -> str:
    """Return the pack as one JSON document (numbers as JSON numbers)."""
    doc = {
        "title": pack.title(),
        "period": {"start": pack.period.start.isoformat(), "end": pack.period.end.isoformat()},
        "provider_id": pack.provider_id,
        "lot_id": pack.lot_id,
        "generated_at": pack.generated_at.isoformat(),
        **{
            name: [{k: _json_value(v) for k, v in row.items()} for row in rows]
            for name, rows in pack.sections().items()
        },
    }
    return json.dumps(doc, indent=2) + "\n"


def render_csv(pack: MonitoringPack) -> str:
    """Return the pack's sections as CSV tables, each after a ``# section`` line."""
    out = io.StringIO()
    for name, rows in pack.sections().items():
        out.write(f"# {name}\n")
        if rows:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(rows[0].keys())
            writer.writerows([cell(v) for v in row.values()] for row in rows)
        out.write("\n")
    return out.getvalue()


def _table(name: str, rows: Rows) -> Table:
    table = Table(title=name.replace("_", " "), title_justify="left")
    for column in rows[0] if rows else ["(none)"]:
        numeric = bool(rows) and isinstance(rows[0][column], int | Decimal)
        table.add_column(column.replace("_", " "), justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(cell(v) for v in row.values()))
    return table


def render_text(pack: MonitoringPack, width: int = 200) -> str:
    """Return the pack as terminal tables."""
    console = Console(file=io.StringIO(), width=width, force_terminal=False)
    console.print(pack.title(), style="bold")
    for name, rows in pack.sections().items():
        console.print(_table(name, rows))
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


FORMATS: dict[str, Callable[[MonitoringPack], str]] = {
    "text": render_text,
    "csv": render_csv,
    "json": render_json,
    "html": render_html,
}
"""Every output format of ``ecm report``, by name."""


def render(pack: MonitoringPack, fmt: str) -> str:
    """Return ``pack`` in format ``fmt`` (one of ``FORMATS``)."""
    try:
        return FORMATS[fmt](pack)
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}") from None
