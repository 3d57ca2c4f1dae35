"""The pack as one self-contained HTML page: inline CSS and SVG charts, no scripts or CDN."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from ecm.report.pack import MonitoringPack, Rows, cell
from ecm.report.svg import dot_chart, line_chart

_CSS = """
body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px}th{background:#f0f0f0}
td.n{text-align:right}h2{margin-top:1.5em}.charts svg{margin:0 1em 1em 0}
"""


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float | Decimal) else None


def _table(rows: Rows) -> str:
    if not rows:
        return "<p>None.</p>"
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in rows[0])
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"n" if _number(v) is not None else ""}">{escape(cell(v))}</td>'
            for v in row.values()
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _charts(pack: MonitoringPack) -> str:
    """Small multiples of the trend (one fitted axis per measure) and a dot plot by provider."""
    weeks = [str(r["iso_week"]) for r in pack.trend]
    charts = [
        line_chart(f"{label}, by week", weeks, {label: [_number(r[name]) for r in pack.trend]},
                   percent=True)
        for name, label in TREND_MEASURES
    ] if weeks else []
    if pack.league:
        charts.append(dot_chart(
            "Delivery ratio by provider", [str(r["provider_id"]) for r in pack.league],
            [_number(r["delivery_ratio"]) for r in pack.league], percent=True))
    return f'<div class="charts">{"".join(charts)}</div>'


TREND_MEASURES = (
    ("delivery_ratio", "Delivered / commissioned"),
    ("on_time_rate", "On time"),
    ("missed_rate", "Missed"),
    ("ecm_compliance", "Logged electronically"),
)


def render_html(pack: MonitoringPack) -> str:
    """Return the pack as a standalone HTML page with charts of the trend and league."""
    title = escape(pack.title())
    sections = "".join(
        f"<h2>{escape(name.replace('_', ' ').capitalize())}</h2>{_table(rows)}"
        for name, rows in pack.sections().items()
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_CSS}</style></head><body><h1>{title}</h1>"
        f"<p>Generated {escape(pack.generated_at.isoformat(timespec='minutes'))}. "
        "KPIs per ISO week (Europe/London), weeks starting in the period; "
        "definitions as in the contract (docs/rules.md).</p>"
        f"{_charts(pack)}{sections}</body></html>\n"
    )
