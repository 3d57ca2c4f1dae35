"""Subject access and erasure over a real database holding the hand-computed week."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import psycopg
import pytest
from builders import travel_gap
from typer.testing import CliRunner

from ecm import contracts as c
from ecm.cli import app as cli
from ecm.kpi import Period, weekly_kpis
from ecm.replay import parse_line, run
from ecm.storage.sink import OutcomeSink
from ecm.storage.subjects import erase, export, standing_alone

pytestmark = pytest.mark.postgres

WEEK = Path(__file__).parents[2] / "fixtures" / "week_2026_w47.jsonl"


@pytest.fixture()
def week(conn: psycopg.Connection) -> psycopg.Connection:
    lines = WEEK.read_bytes().splitlines()
    inputs: list[c.ContractEvent] = []
    for raw in lines:
        try:
            inputs.append(parse_line(raw))
        except c.ContractError:
            continue  # the fixture has invalid lines on purpose
    result = run(lines)
    # the week plans no carer's visits close enough to judge a gap: one naming C3 and K3
    gap = travel_gap("V7", date(2026, 11, 17), gap_id="V7:K3", carer_id="K3", client_id="C3",
                     previous_client_id="C3")
    OutcomeSink(conn).write([*inputs, *result.outcomes, *result.alerts, *result.exceptions,
                             gap])
    return conn


def tables_naming(conn: psycopg.Connection, subject_id: str) -> list[str]:
    """Every table with a row that holds ``subject_id`` as an identifier of its own."""
    tables = [row[0] for row in conn.execute(
        "SELECT format('%I', table_name) FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")]
    return sorted(t for t in tables if conn.execute(
        f"SELECT EXISTS (SELECT 1 FROM {t} x WHERE x::text ~ %s)",  # noqa: S608
        (standing_alone(subject_id),)).fetchone()[0])


def test_export_finds_every_row_that_names_a_client(week: psycopg.Connection) -> None:
    found = export(week, "client", "C3")
    assert {"clients", "care_packages", "raw_events", "visit_outcomes", "alerts",
            "visit_exceptions", "kpi_client_week", "rota_gaps"} <= set(found.rows)
    assert {o["visit_id"] for o in found.rows["visit_outcomes"]} == {
        "V6", "V7", "V8", "U1"}  # and only C3's visits
    assert all("C3" in json.dumps(r) for rows in found.rows.values() for r in rows)


@pytest.mark.parametrize(("subject", "subject_id"), [("client", "C3"), ("carer", "K3")])
def test_erasure_leaves_no_row_naming_the_person_and_every_kpi_as_it_was(
    week: psycopg.Connection, subject: str, subject_id: str
) -> None:
    period = Period.iso_week("2026-W47")
    before = weekly_kpis(week, period)
    assert tables_naming(week, subject_id)  # the scan finds the person before

    done = erase(week, subject, subject_id)  # type: ignore[arg-type]

    assert tables_naming(week, subject_id) == []
    assert weekly_kpis(week, period) == before
    assert done.pseudonym and tables_naming(week, done.pseudonym)
    assert not export(week, subject, subject_id).rows  # type: ignore[arg-type]
    assert any("input topic" in reason for reason in done.not_erased)


def test_the_cli_says_what_it_would_change_and_erases_only_with_yes(
    week: psycopg.Connection, dsn: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    dry = runner.invoke(cli, ["subject", "erase", "--client", "C1", "--dsn", dsn])
    assert dry.exit_code == 0 and "add --yes" in dry.stdout
    assert tables_naming(week, "C1")

    out = tmp_path / "c1.json"
    exported = runner.invoke(cli, ["subject", "export", "--client", "C1", "--dsn", dsn,
                                   "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert json.loads(out.read_text())["tables"]["clients"][0]["client_id"] == "C1"

    done = runner.invoke(cli, ["subject", "erase", "--client", "C1", "--yes", "--dsn", dsn])
    assert done.exit_code == 0, done.output
    assert "could not erase:" in done.stdout and tables_naming(week, "C1") == []

    neither = runner.invoke(cli, ["subject", "export", "--dsn", dsn])
    assert neither.exit_code == 2 and "exactly one of --client" in neither.output
