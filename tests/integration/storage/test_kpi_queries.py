"""The KPI query over the weekly rollups: which weeks a period selects, and how it is run."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest
from builders import outcome, package

from ecm.kpi import Period, league_table, trend, weekly_kpis
from ecm.storage.sink import OutcomeSink

pytestmark = pytest.mark.postgres

MON = date(2024, 6, 3)  # 2024-W23


def _weeks(conn: psycopg.Connection, start: date, end: date) -> list[str]:
    return [r["iso_week"] for r in weekly_kpis(conn, Period(start, end))]


def test_a_period_selects_the_weeks_whose_monday_falls_in_it(conn: psycopg.Connection) -> None:
    OutcomeSink(conn).write([
        package("PK1", "7", date(2024, 1, 1)),
        *(outcome(f"V{n}", MON + timedelta(days=3 + 7 * n)) for n in range(3)),  # Thursdays
    ])  # fmt: skip
    sun, tue = MON - timedelta(days=1), MON + timedelta(days=1)

    assert _weeks(conn, MON, MON + timedelta(days=1)) == ["2024-W23"]
    assert _weeks(conn, sun, tue) == ["2024-W23"]
    assert _weeks(conn, tue, MON + timedelta(days=7)) == []  # no Monday in it
    assert _weeks(conn, tue, MON + timedelta(days=8)) == ["2024-W24"]
    assert _weeks(conn, date(2024, 6, 1), date(2024, 7, 1)) == [
        "2024-W23", "2024-W24", "2024-W25", "2024-W26",  # commissioned with no visits too
    ]  # fmt: skip


def test_the_kpi_queries_are_never_prepared_so_each_run_is_planned_for_its_values(
    conn: psycopg.Connection,
) -> None:
    OutcomeSink(conn).write([package("PK1", "7", date(2024, 1, 1)), outcome("V1", MON)])
    week = Period.iso_week("2024-W23")
    prepared = "SELECT statement FROM pg_prepared_statements ORDER BY 1"
    by_the_sink = conn.execute(prepared).fetchall()  # its executemany prepares its upserts

    for _ in range(8):  # psycopg would prepare a statement run 5 times
        assert [r["provider_id"] for r in league_table(conn, week)] == ["P1"]
        assert len(trend(conn, week, provider_id="P1")) == 12

    assert conn.execute(prepared).fetchall() == by_the_sink
