"""The KPI layer over the database equals the replay's kpis.csv, cell by cell."""

from __future__ import annotations

import csv
from pathlib import Path

import psycopg
import pytest

from ecm import contracts as c
from ecm.kpi import KPI_COLUMNS, Period, weekly_kpis
from ecm.replay import parse_line, run
from ecm.report.pack import cell
from ecm.storage.sink import OutcomeSink

pytestmark = pytest.mark.postgres

FIXTURES = Path(__file__).parents[2] / "fixtures"
WEEK = "2026-W47"


def _input_events(path: Path) -> list[c.ContractEvent]:
    events: list[c.ContractEvent] = []
    for raw in path.read_bytes().splitlines():
        try:
            events.append(parse_line(raw))
        except c.ContractError:
            continue  # the fixture has invalid lines on purpose
    return events


def _replayed(path: Path) -> tuple[list[c.ContractEvent], list[list[str]]]:
    result = run(path.read_bytes().splitlines())
    outputs: list[c.ContractEvent] = [*result.outcomes]
    outputs += result.alerts
    outputs += result.exceptions
    return outputs, result.kpi_rows


def test_kpis_from_the_database_equal_the_replay_kpis_csv_cell_by_cell(
    conn: psycopg.Connection,
) -> None:
    fixture = FIXTURES / "week_2026_w47.jsonl"
    outputs, replay_rows = _replayed(fixture)
    sink = OutcomeSink(conn)
    sink.write(_input_events(fixture))
    sink.write(outputs)

    rows = weekly_kpis(conn, Period.iso_week(WEEK))
    got = [[cell(r[col]) for col in KPI_COLUMNS] for r in rows]
    assert got == replay_rows


def test_kpis_from_the_database_equal_the_hand_computed_csv(conn: psycopg.Connection) -> None:
    fixture = FIXTURES / "week_2026_w47.jsonl"
    outputs, _ = _replayed(fixture)
    OutcomeSink(conn).write([*_input_events(fixture), *outputs])
    with (FIXTURES / "week_2026_w47_kpis.csv").open() as handle:
        expected = list(csv.reader(handle))

    rows = weekly_kpis(conn, Period.iso_week(WEEK))
    assert [list(KPI_COLUMNS)] + [[cell(r[k]) for k in KPI_COLUMNS] for r in rows] == expected


def test_replaying_the_same_week_into_the_database_twice_changes_nothing(
    conn: psycopg.Connection,
) -> None:
    fixture = FIXTURES / "week_2026_w47.jsonl"
    outputs, _ = _replayed(fixture)
    batch = [*_input_events(fixture), *outputs]
    sink = OutcomeSink(conn)
    sink.write(batch)
    before = weekly_kpis(conn, Period.iso_week(WEEK))

    again = sink.write(batch)

    assert again.raw_events == again.visit_outcomes == again.alerts == 0
    assert again.visit_exceptions == again.reference == 0
    assert weekly_kpis(conn, Period.iso_week(WEEK)) == before
