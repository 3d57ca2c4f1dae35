"""Rota realism in the database equals ``ecm replay``'s ``rota.csv``, row for row.

A simulated week in which most providers name planned carers and some plan gaps too
short for travel goes through the replay; its records go through the sink; the KPI
layer's ``rota_realism`` query (also the pack's section and the dashboards' panels) must
give exactly the rows the replay's ``aggregate_gaps`` gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from support import fresh_database

from ecm import contracts as c
from ecm.domain.kpis import ROTA_COLUMNS
from ecm.kpi import Period, rota_realism
from ecm.replay import parse_line, run
from ecm.storage.sink import OutcomeSink

pytestmark = pytest.mark.postgres


@pytest.fixture
def rota_db(test_dsn: str) -> Iterator[psycopg.Connection]:
    with fresh_database(test_dsn, prefix="ecm_rota") as dsn, psycopg.connect(
        dsn, autocommit=True
    ) as conn:
        yield conn


def test_rota_realism_in_the_database_equals_the_replay(
    rota_db: psycopg.Connection, simulated_week: Path
) -> None:
    lines = simulated_week.read_bytes().splitlines()
    inputs = []
    for raw in lines:
        try:
            inputs.append(parse_line(raw))
        except c.ContractError:
            continue
    records: list[c.ContractEvent] = []
    result = run(lines, story=records.append)
    sink = OutcomeSink(rota_db)
    sink.write(inputs)
    written = sink.write(records)  # every record in the order it arose: the last gap wins

    got = rota_realism(rota_db, Period(date(2026, 11, 16), date(2026, 11, 23)))

    assert written.rota_gaps > 0
    assert any(int(row[4]) > 0 for row in result.rota_rows), "some gaps are too short"
    as_text = [[_text(r[col]) for col in ROTA_COLUMNS] for r in got]
    assert as_text == result.rota_rows


def _text(value: object) -> str:
    return "" if value is None else str(value)
