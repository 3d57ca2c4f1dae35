"""Every SQL panel of every dashboard, run against a real database seeded with the hand-computed week.

The panel SQL is expanded the way Grafana's PostgreSQL datasource would (``ecm.kpi.grafana
.interpolate``: the macros ``$__timeFrom()``/``$__timeTo()`` and the ``$lot``/``$provider``
variables), run as is, and its numbers checked against tests/fixtures/week_2026_w47_kpis.csv
and the KPI layer's own functions.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from support import fresh_database

from ecm import contracts as c
from ecm.kpi import Period, exception_counts, grafana, open_alerts
from ecm.replay import parse_line, run
from ecm.storage.sink import OutcomeSink

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).parents[3]
FIXTURES = ROOT / "tests" / "fixtures"
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
WEEK = Period.iso_week("2026-W47")
# The dashboard time range of the week (Europe/London is UTC in November).
FROM, TO = datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)

Rows = list[dict[str, Any]]


def _seed(conn: psycopg.Connection) -> None:
    """Load the week through the sink, as tests/integration/storage/test_replay_parity.py."""
    fixture = FIXTURES / "week_2026_w47.jsonl"
    inputs: list[c.ContractEvent] = []
    for raw in fixture.read_bytes().splitlines():
        try:
            inputs.append(parse_line(raw))
        except c.ContractError:
            continue  # invalid lines on purpose
    result = run(fixture.read_bytes().splitlines())
    outputs: list[c.ContractEvent] = [*result.outcomes]
    outputs += result.alerts
    outputs += result.exceptions
    sink = OutcomeSink(conn)
    sink.write(inputs)
    sink.write(outputs)


@pytest.fixture(scope="module")
def db(test_dsn: str) -> Iterator[psycopg.Connection]:
    with fresh_database(test_dsn, prefix="ecm_graf") as dsn, psycopg.connect(
        dsn, autocommit=True
    ) as conn:
        _seed(conn)
        yield conn


def _run(conn: psycopg.Connection, query: str, **variables: str) -> Rows:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(grafana.interpolate(query, FROM, TO, variables).encode())
        return cur.fetchall()


def _panels(name: str) -> dict[str, str]:
    board = json.loads((DASHBOARDS / name).read_text())
    return {p["title"]: t["rawSql"] for p in board["panels"] for t in p["targets"] if "rawSql" in t}


def _variable_query(name: str, variable: str) -> str:
    board = json.loads((DASHBOARDS / name).read_text())
    return next(v["query"] for v in board["templating"]["list"] if v["name"] == variable)


def _expected() -> dict[str, dict[str, str]]:
    with (FIXTURES / "week_2026_w47_kpis.csv").open() as handle:
        return {row["provider_id"]: row for row in csv.DictReader(handle)}


EXPECTED = _expected()  # P1 (lot L1) and P2 (lot L2), one week each
NUMBERS = ("commissioned_hours", "delivered_hours", "delivery_ratio", "visits_planned",
           "on_time", "missed", "payable_gbp", "mean_trust_score")  # fmt: skip


def _same(row: dict[str, Any], expected: dict[str, str], columns: tuple[str, ...]) -> None:
    for col in columns:
        if col in row:
            assert Decimal(str(row[col])) == Decimal(expected[col]), col


def test_every_sql_panel_of_every_dashboard_runs(db: psycopg.Connection) -> None:
    ran = 0
    for name in sorted(p.name for p in DASHBOARDS.glob("*.json")):
        for query in _panels(name).values():
            for lot in ("__all", "L1"):
                _run(db, query, lot=lot, provider="P1")
                ran += 1
    assert ran >= 2 * 20


def test_the_variable_queries_list_the_seeded_providers_and_lots(db: psycopg.Connection) -> None:
    providers = _run(db, _variable_query("provider-scorecard.json", "provider"))
    lots = _run(db, _variable_query("contract-overview.json", "lot"))
    assert [r["__value"] for r in providers] == ["P1", "P2"]
    assert [r["__value"] for r in lots][:1] == ["__all"]
    assert {"L1", "L2"} <= {r["__value"] for r in lots}
    assert all(r["__text"] for r in providers + lots)


def test_contract_overview_by_lot_and_provider_equals_the_hand_computed_week(
    db: psycopg.Connection,
) -> None:
    panels = _panels("contract-overview.json")
    by_lot = {r["lot_id"]: r for r in _run(db, panels["Lots"], lot="__all")}
    by_provider = {r["provider_id"]: r
                   for r in _run(db, panels["Providers (best delivery first)"], lot="__all")}
    assert set(by_lot) == {"L1", "L2"} and set(by_provider) == {"P1", "P2"}
    for provider, expected in EXPECTED.items():
        _same(by_lot[expected["lot_id"]], expected, NUMBERS)
        _same(by_provider[provider], expected, NUMBERS)
    # Rates over the same counters (DOMAIN.md): P1 on time 1 of 3 arrivals, missed 1 of 4.
    assert by_provider["P1"]["on_time_rate"] == Decimal("0.3333")
    assert by_provider["P1"]["missed_rate"] == Decimal("0.2500")
    assert by_provider["P2"]["on_time_rate"] == Decimal("0.6667")
    assert by_provider["P2"]["missed_rate"] == Decimal("0.0000")
    # The chart panels run the same queries.
    assert panels["Delivered vs commissioned hours by lot"] == panels["Lots"]
    # The lot variable filters.
    only_l1 = _run(db, panels["Lots"], lot="L1")
    assert [r["lot_id"] for r in only_l1] == ["L1"]
    _same(only_l1[0], EXPECTED["P1"], NUMBERS)


def test_contract_overview_weekly_trend_totals_the_week(db: psycopg.Connection) -> None:
    rows = _run(db, _panels("contract-overview.json")["Weekly on-time % and missed rate"],
                lot="__all")
    assert len(rows) == 1
    week = rows[0]
    assert week["iso_week"] == "2026-W47"
    total = lambda col: sum(Decimal(e[col]) for e in EXPECTED.values())  # noqa: E731
    for col in ("commissioned_hours", "delivered_hours", "visits_planned", "on_time", "missed"):
        assert week[col] == total(col), col
    arrivals = total("on_time") + total("early") + total("late")
    assert week["on_time_rate"] == round(total("on_time") / arrivals, 4)
    attended = total("visits_planned") - total("visits_cancelled")
    assert week["missed_rate"] == round(total("missed") / attended, 4)


@pytest.mark.parametrize("provider", sorted(EXPECTED))
def test_provider_scorecard_shows_the_chosen_providers_week(
    db: psycopg.Connection, provider: str
) -> None:
    panels = _panels("provider-scorecard.json")
    expected = EXPECTED[provider]
    for title in ("Delivered hours", "Commissioned hours", "On time", "Missed rate"):
        (row,) = _run(db, panels[title], provider=provider)
        assert row["provider_id"] == provider
        _same(row, expected, NUMBERS)
    (week,) = _run(db, panels["Weekly delivered vs commissioned hours"], provider=provider)
    assert week["iso_week"] == "2026-W47"
    _same(week, expected, NUMBERS)
    (trust,) = _run(db, panels["Weekly mean trust score"], provider=provider)
    assert (trust["iso_week"], trust["mean_trust_score"]) == (
        "2026-W47", Decimal(expected["mean_trust_score"]))
    weeks = _run(db, panels["Weeks by lot and service"], provider=provider)
    assert [(r["lot_id"], r["service"]) for r in weeks] == [(expected["lot_id"], "home_care")]
    _same(weeks[0], expected, tuple(expected.keys())[4:])

    alerts = _run(db, panels["Open alerts (oldest first)"], provider=provider)
    assert alerts == open_alerts(db, WEEK, provider_id=provider, limit=500)
    assert {a["provider_id"] for a in alerts} <= {provider}
    kinds = _run(db, panels["Exceptions by kind"], provider=provider)
    assert kinds == exception_counts(db, WEEK, provider_id=provider)


def test_missed_call_board_lists_open_alerts_oldest_first_by_lot(db: psycopg.Connection) -> None:
    panels = _panels("missed-call-board.json")
    query = panels["Open alerts, oldest first"]
    assert panels["Open alerts"] == panels["Open alerts by lot"] == query
    rows = _run(db, query, lot="__all")
    assert rows, "the fixture week leaves alerts open"
    assert rows == open_alerts(db, WEEK, limit=500)
    assert [(r["due_at"], r["alert_id"]) for r in rows] == sorted(
        (r["due_at"], r["alert_id"]) for r in rows)
    assert all(r["resolved_at"] is None or r["resolved_at"] >= TO for r in _alerts(db, rows))
    for lot in {r["lot_id"] for r in rows}:
        assert _run(db, query, lot=lot) == [r for r in rows if r["lot_id"] == lot]


def _alerts(db: psycopg.Connection, rows: Rows) -> Rows:
    with db.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM alerts WHERE alert_id = ANY(%s)", [[r["alert_id"] for r in rows]])
        return cur.fetchall()


def test_contract_overview_exceptions_equal_the_kpi_layer(db: psycopg.Connection) -> None:
    rows = _run(db, _panels("contract-overview.json")["Exceptions by provider and kind"],
                lot="__all")
    assert rows == exception_counts(db, WEEK)
    assert rows
