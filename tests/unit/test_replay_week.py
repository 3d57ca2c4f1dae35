"""`ecm replay` on the hand-computed week: KPIs cell by cell, outputs, invalid lines."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecm.cli import app
from ecm.domain.kpis import KPI_COLUMNS
from ecm.replay import replay_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WEEK = FIXTURES / "week_2026_w47.jsonl"
EXPECTED = list(csv.DictReader((FIXTURES / "week_2026_w47_kpis.csv").open()))


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    directory = tmp_path_factory.mktemp("w47")
    summary = replay_file(WEEK, directory)
    return directory, summary


def test_kpis_csv_has_exactly_the_issue_columns(out):
    header = (out[0] / "kpis.csv").read_text().splitlines()[0]
    assert tuple(header.split(",")) == KPI_COLUMNS


@pytest.mark.parametrize("row", range(len(EXPECTED)))
@pytest.mark.parametrize("column", KPI_COLUMNS)
def test_hand_computed_week_kpi_cell(out, row, column):
    got = list(csv.DictReader((out[0] / "kpis.csv").open()))
    assert len(got) == len(EXPECTED)
    assert got[row][column] == EXPECTED[row][column]


def test_invalid_lines_are_reported_with_line_numbers_and_skipped(out):
    assert [bad.line_no for bad in out[1].invalid] == [6, 22]
    assert "visit_id: Field required" in out[1].invalid[1].reason


def test_one_outcome_per_planned_or_unscheduled_visit(out):
    outcomes = [json.loads(line) for line in (out[0] / "outcomes.jsonl").open()]
    assert [o["visit_id"] for o in outcomes] == ["U1", *(f"V{n}" for n in range(1, 9))]
    v7 = next(o for o in outcomes if o["visit_id"] == "V7")
    assert v7["corrections"][0]["corrected_by"] == "OFFICE1"
    assert v7["corrections"][0]["original_time"] is None


def test_alerts_in_firing_order(out):
    alerts = [json.loads(line) for line in (out[0] / "alerts.jsonl").open()]
    assert [(a["alert_id"], a["event_type"], a["occurred_at"]) for a in alerts] == [
        ("V6:no_checkout", "alert_raised", "2026-11-16T10:00:00Z"),
        ("V7:no_checkout", "alert_raised", "2026-11-18T10:00:00Z"),
        ("V7:no_checkout", "alert_resolved", "2026-11-18T12:00:00Z"),
        ("V8:not_arrived", "alert_raised", "2026-11-20T08:15:00Z"),
        ("V8:not_arrived", "alert_resolved", "2026-11-20T08:20:00Z"),
        ("V4:not_arrived", "alert_raised", "2026-11-20T10:30:00Z"),
        ("V4:missed", "alert_raised", "2026-11-20T12:00:00Z"),
    ]


def test_exceptions_of_the_week(out):
    exceptions = [json.loads(line) for line in (out[0] / "exceptions.jsonl").open()]
    assert [e["exception_id"] for e in exceptions] == [
        "U1:unscheduled_visit", "V1:duplicate_event:c-v1-in-again", "V2:gps_distance:K2",
        "V4:no_check_in", "V6:no_check_out:K3", "V7:manual_entry:K3",
    ]


def test_replay_is_byte_identical(out, tmp_path):
    replay_file(WEEK, tmp_path)
    for name in ("outcomes.jsonl", "alerts.jsonl", "exceptions.jsonl", "kpis.csv", "records.jsonl"):
        assert (tmp_path / name).read_bytes() == (out[0] / name).read_bytes()


def test_cli_exits_1_when_any_line_is_invalid_and_0_otherwise(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["replay", str(WEEK), "--out", str(tmp_path / "a")])
    assert result.exit_code == 1 and ":6:" in result.output
    clean = tmp_path / "clean.jsonl"
    clean.write_text("".join(
        line for line in WEEK.read_text().splitlines(keepends=True)
        if line.startswith("{\"event_type\":\"") and "\"bad\"" not in line))
    result = runner.invoke(app, ["replay", str(clean), "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output


def test_until_judges_as_at_an_instant(tmp_path):
    summary = replay_file(WEEK, tmp_path, until=__import__("datetime").datetime.fromisoformat(
        "2026-11-20T11:00:00+00:00"))
    alerts = [json.loads(line)["alert_id"] for line in (tmp_path / "alerts.jsonl").open()]
    assert "V4:not_arrived" in alerts and "V4:missed" not in alerts
    assert summary.after_until > 0


SERVICES_WEEK = FIXTURES / "week_2026_w48_services.jsonl"
SERVICES_EXPECTED = list(csv.DictReader((FIXTURES / "week_2026_w48_services_kpis.csv").open()))


@pytest.fixture(scope="module")
def services_out(tmp_path_factory):
    directory = tmp_path_factory.mktemp("w48")
    replay_file(SERVICES_WEEK, directory)
    return directory


@pytest.mark.parametrize("row", range(len(SERVICES_EXPECTED)))
@pytest.mark.parametrize("column", KPI_COLUMNS)
def test_hand_computed_week_of_the_other_five_services_kpi_cell(services_out, row, column):
    got = list(csv.DictReader((services_out / "kpis.csv").open()))
    assert len(got) == len(SERVICES_EXPECTED)
    assert got[row][column] == SERVICES_EXPECTED[row][column]


def test_the_services_week_raises_what_the_hand_computation_says(services_out):
    exceptions = [json.loads(line)["exception_id"]
                  for line in (services_out / "exceptions.jsonl").open()]
    alerts = [(a["alert_id"], a["event_type"])
              for a in map(json.loads, (services_out / "alerts.jsonl").open())]
    assert exceptions == ["D2:no_check_in", "E1:short_visit", "P1:manual_entry:M3",
                          "S1:single_handed"]
    assert alerts == [("D2:not_arrived", "alert_raised"), ("D2:missed", "alert_raised")]


def test_records_jsonl_tells_the_whole_story_in_the_order_it_arose(services_out):
    records = [json.loads(line) for line in (services_out / "records.jsonl").open()]
    s1 = [r["status"] for r in records
          if r["event_type"] == "visit_outcome_recorded" and r["visit_id"] == "S1"]
    final = {json.loads(line)["visit_id"]: json.loads(line)
             for line in (services_out / "outcomes.jsonl").open()}
    assert s1[0] == "planned" and s1[-1] == "completed"  # every revision, in order
    assert [r for r in records if r["event_type"] == "visit_outcome_recorded"
            and r["visit_id"] == "S1"][-1] == final["S1"]
