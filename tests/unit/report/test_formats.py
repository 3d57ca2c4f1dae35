"""The monitoring pack renders in every format from rows alone (no database)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ecm.kpi import Period
from ecm.kpi.queries import LEAGUE_COLUMNS, TREND_COLUMNS
from ecm.report import FORMATS, MonitoringPack, render


def _pack() -> MonitoringPack:
    league = [
        {"provider_id": "P<1>", "delivery_ratio": Decimal("0.9500"), "visits_planned": 120,
         "on_time_rate": Decimal("0.8800"), "payable_gbp": Decimal("2400.00")},
        {"provider_id": "P2", "delivery_ratio": None, "visits_planned": 0,
         "on_time_rate": None, "payable_gbp": Decimal("0.00")},
    ]  # fmt: skip
    trend = [
        {"iso_week": f"2024-W{w:02d}", "delivery_ratio": Decimal("0.9"), "on_time_rate": None,
         "missed_rate": Decimal("0.01"), "ecm_compliance": Decimal("0.85")}
        for w in range(12, 24)
    ]  # fmt: skip
    alerts = [{"alert_id": "V9:missed", "due_at": datetime(2024, 6, 3, 11, tzinfo=UTC)}]
    return MonitoringPack(
        Period.month("2024-06"), "P<1>", None, datetime(2024, 7, 1, tzinfo=UTC),
        league, trend, alerts, [],
    )  # fmt: skip


def test_json_has_every_section_with_numbers_as_numbers() -> None:
    doc = json.loads(render(_pack(), "json"))

    assert doc["period"] == {"start": "2024-06-01", "end": "2024-07-01"}
    assert doc["league"][0]["delivery_ratio"] == 0.95
    assert len(doc["trend"]) == 12 and doc["exceptions"] == []


def test_csv_has_one_table_per_section_with_empty_cells_for_none() -> None:
    text = render(_pack(), "csv")
    league = text.split("# league\n")[1].split("\n\n")[0]

    rows = list(csv.reader(io.StringIO(league)))
    assert rows[0][:2] == ["provider_id", "delivery_ratio"]
    assert rows[2][1] == ""


def test_html_is_self_contained_with_charts_and_escaped_text() -> None:
    page = render(_pack(), "html")

    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 5  # 4 trends + league
    assert "P&lt;1&gt;" in page and "<1>" not in page
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")


def test_text_shows_the_title_and_every_section() -> None:
    text = render(_pack(), "text")

    assert "Contract monitoring pack 2024-06 (provider P<1>)" in text
    for section in ("league", "trend", "open alerts", "exceptions"):
        assert section in text


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_renders_an_empty_pack(fmt: str) -> None:
    empty = MonitoringPack(
        Period(date(2024, 6, 3), date(2024, 6, 10)), None, None,
        datetime(2024, 7, 1, tzinfo=UTC), [], [], [], [],
    )  # fmt: skip
    assert render(empty, fmt)


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render(_pack(), "pdf")


def _money_pack() -> MonitoringPack:
    """A pack whose league and trend carry money split by verification, as the KPIs give it."""
    money = {"payable_gbp": Decimal("2400.00"), "verified_gbp": Decimal("2150.50"),
             "disputed_gbp": Decimal("249.50")}
    league = [{c: money.get(c, Decimal("0.9")) for c in LEAGUE_COLUMNS} | {"provider_id": "P1"}]
    trend = [{c: money.get(c, Decimal("0.9")) for c in TREND_COLUMNS} | {"iso_week": "2024-W23"}]
    return MonitoringPack(Period.month("2024-06"), None, None, datetime(2024, 7, 1, tzinfo=UTC),
                          league, trend, [], [])  # fmt: skip


def test_the_kpi_columns_of_league_and_trend_include_verified_and_disputed_money() -> None:
    for columns in (LEAGUE_COLUMNS, TREND_COLUMNS):
        assert {"payable_gbp", "verified_gbp", "disputed_gbp"} <= set(columns)


def test_json_shows_verified_and_disputed_money_in_league_and_trend() -> None:
    doc = json.loads(render(_money_pack(), "json"))
    for section in ("league", "trend"):
        row = doc[section][0]
        assert (row["verified_gbp"], row["disputed_gbp"]) == (2150.5, 249.5)


def test_csv_shows_verified_and_disputed_money_in_league_and_trend() -> None:
    text = render(_money_pack(), "csv")
    for section in ("league", "trend"):
        table = text.split(f"# {section}\n")[1].split("\n\n")[0]
        (row,) = csv.DictReader(io.StringIO(table))
        assert (row["verified_gbp"], row["disputed_gbp"]) == ("2150.50", "249.50")


def test_html_shows_verified_and_disputed_money_in_league_and_trend() -> None:
    page = render(_money_pack(), "html")
    for section in ("League", "Trend"):
        table = page.split(f"<h2>{section}</h2>")[1].split("</table>")[0]
        assert "<th>verified gbp</th><th>disputed gbp</th>" in table
        assert '<td class="n">2150.50</td><td class="n">249.50</td>' in table


def test_text_shows_verified_and_disputed_money_in_league_and_trend() -> None:
    text = render(_money_pack(), "text")
    league, rest = text.split("\ntrend ", 1)
    trend = rest.split("\nopen ")[0]
    for table in (league, trend):
        assert "verified" in table and "disputed" in table  # headers wrap: 16 columns
        row = next(line for line in table.splitlines() if "2400.00" in line)
        assert [cell.strip() for cell in row.split("│")[-4:-1]] == ["2150.50", "249.50", "0.9"]


def test_league_and_trend_show_the_mean_trust_score_empty_when_no_visit_has_one() -> None:
    league = [{c: Decimal("0.9") for c in LEAGUE_COLUMNS} | {"provider_id": "P1",
              "mean_trust_score": Decimal("89.00")},
              {c: Decimal("0.9") for c in LEAGUE_COLUMNS} | {"provider_id": "P2",
              "mean_trust_score": None}]  # fmt: skip
    trend = [{c: Decimal("0.9") for c in TREND_COLUMNS} | {"iso_week": "2024-W23",
             "mean_trust_score": Decimal("91.25")}]  # fmt: skip
    pack = MonitoringPack(Period.month("2024-06"), None, None, datetime(2024, 7, 1, tzinfo=UTC),
                          league, trend, [], [])  # fmt: skip
    text = render(pack, "csv")
    tables = {section: list(csv.DictReader(io.StringIO(
        text.split(f"# {section}\n")[1].split("\n\n")[0]))) for section in ("league", "trend")}
    assert [r["mean_trust_score"] for r in tables["league"]] == ["89.00", ""]
    assert [r["mean_trust_score"] for r in tables["trend"]] == ["91.25"]
    assert json.loads(render(pack, "json"))["league"][0]["mean_trust_score"] == 89.0
