"""The KPI query layer: every KPI the product shows comes from the SQL in ``ecm/kpi/sql``.

Each function runs one named query (``kpi``, ``open_alerts``, ``exception_counts``) and
returns rows as dicts, column names as in the SQL. ``sql_text(name)`` gives the query for
other readers (the HTTP API), ``grafana_sql(name)`` the same text with Grafana
``$variables`` for dashboards. The queries read the same tables and views in both storage
modes (plain PostgreSQL and TimescaleDB).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row

from ecm.domain.kpis import KPI_COLUMNS
from ecm.kpi.period import Period

Grain = Literal["week", "provider", "provider_week", "week_total", "lot"]



LEAGUE_COLUMNS = (
    "provider_id", "commissioned_hours", "delivered_hours", "delivery_ratio", "visits_planned",
    "on_time_rate", "missed", "missed_rate", "short", "short_rate", "continuity",
    "ecm_compliance", "payable_gbp", "verified_gbp", "disputed_gbp", "mean_trust_score",
)  # fmt: skip
"""The columns of the league table, one row per provider (money follows verification)."""

TREND_COLUMNS = (
    "iso_week", "commissioned_hours", "delivered_hours", "delivery_ratio", "visits_planned",
    "on_time_rate", "missed_rate", "short_rate", "continuity", "ecm_compliance", "payable_gbp",
    "verified_gbp", "disputed_gbp", "mean_trust_score",
)  # fmt: skip
"""The columns of a weekly trend."""

Rows = list[dict[str, Any]]


@cache
def sql_text(name: str) -> str:
    """Return the named query (psycopg ``%(param)s`` placeholders)."""
    return (resources.files("ecm.kpi") / "sql" / f"{name}.sql").read_text()


def grafana_sql(name: str, bindings: Mapping[str, str] | None = None) -> str:
    """Return the named query with Grafana variables (``$provider_id``) for placeholders.

    ``bindings`` maps a parameter to the Grafana text that replaces it instead (a macro
    such as ``$__timeFrom()``, a quoted ``'$provider'``, a literal such as ``NULL``).
    """
    bound = bindings or {}

    def _param(match: re.Match[str]) -> str:
        return bound.get(match.group(1), f"${match.group(1)}")

    return re.sub(r"%\((\w+)\)s", _param, sql_text(name)).replace("%%", "%")


def _run(conn: psycopg.Connection[Any], name: str, params: dict[str, Any]) -> Rows:
    # Never prepared (psycopg prepares a query run 5 times): planned for the values, a NULL
    # filter drops out and a provider filter uses its index. A generic plan cannot, and
    # guessed one row per filter: at a Kent year the league table took 450 ms, not 75.
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql_text(name), params, prepare=False)
        return cur.fetchall()


def kpis(
    conn: psycopg.Connection[Any],
    period: Period,
    grain: Grain,
    provider_id: str | None = None,
    lot_id: str | None = None,
) -> Rows:
    """Return the KPIs of ``period`` at ``grain`` (see ``kpi.sql``), optionally filtered."""
    params = {"start": period.start, "end": period.end, "grain": grain,
              "provider_id": provider_id, "lot_id": lot_id}  # fmt: skip
    return _run(conn, "kpi", params)


def weekly_kpis(
    conn: psycopg.Connection[Any], period: Period, provider_id: str | None = None,
    lot_id: str | None = None,
) -> Rows:  # fmt: skip
    """Return the weekly KPI table: provider × lot × service × ISO week, ``KPI_COLUMNS``."""
    return [{c: r[c] for c in KPI_COLUMNS} for r in kpis(conn, period, "week", provider_id, lot_id)]


def league_table(
    conn: psycopg.Connection[Any], period: Period, provider_id: str | None = None,
    lot_id: str | None = None,
) -> Rows:  # fmt: skip
    """Return one row per provider over ``period`` (``LEAGUE_COLUMNS``), best delivery first."""
    rows = kpis(conn, period, "provider", provider_id, lot_id)
    rows.sort(key=lambda r: (r["delivery_ratio"] is None, -(r["delivery_ratio"] or 0)))
    return [{c: r[c] for c in LEAGUE_COLUMNS} for r in rows]


def trend(
    conn: psycopg.Connection[Any], period: Period, provider_id: str | None = None,
    lot_id: str | None = None, weeks: int = 12,
) -> Rows:  # fmt: skip
    """Return the ``weeks`` ISO weeks up to the end of ``period``, one row per week.

    With ``provider_id`` the trend of that provider, otherwise of every provider together.
    """
    window = period.trailing_weeks(weeks)
    grain: Grain = "provider_week" if provider_id else "week_total"
    rows = kpis(conn, window, grain, provider_id, lot_id)
    return [{c: r[c] for c in TREND_COLUMNS} for r in rows]


def open_alerts(
    conn: psycopg.Connection[Any], period: Period, provider_id: str | None = None,
    lot_id: str | None = None, limit: int = 200,
) -> Rows:  # fmt: skip
    """Return the alerts still open at the end of ``period``, oldest first."""
    params = {"end": period.end, "as_of": None, "provider_id": provider_id, "lot_id": lot_id,
              "limit": limit}  # fmt: skip
    return _run(conn, "open_alerts", params)


def exception_counts(
    conn: psycopg.Connection[Any], period: Period, provider_id: str | None = None,
    lot_id: str | None = None,
) -> Rows:  # fmt: skip
    """Return the exceptions detected in ``period`` counted per provider and kind."""
    params = {"start": period.start, "end": period.end, "provider_id": provider_id,
              "lot_id": lot_id}  # fmt: skip
    return _run(conn, "exception_counts", params)


def rota_realism(
    conn: psycopg.Connection[Any], period: Period, provider_id: str | None = None,
    lot_id: str | None = None,
) -> Rows:  # fmt: skip
    """Return rota realism per provider × lot × ISO week of ``period`` (``ROTA_COLUMNS``)."""
    params = {"start": period.start, "end": period.end, "provider_id": provider_id,
              "lot_id": lot_id}  # fmt: skip
    return _run(conn, "rota_realism", params)
