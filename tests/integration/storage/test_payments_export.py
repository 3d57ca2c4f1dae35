"""The payment export over real data: outcomes and exceptions the sink stored, as CSV lines."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from builders import at, exception, outcome
from typer.testing import CliRunner

from ecm.cli import app
from ecm.contracts import (
    ActorRole,
    ExceptionStatusChanged,
    VisitOutcomeRecordedV2,
)
from ecm.report.payments import PAYMENT_COLUMNS, write_payments_csv
from ecm.storage.sink import OutcomeSink

pytestmark = pytest.mark.postgres

MON, TUE = date(2024, 6, 3), date(2024, 6, 4)


@pytest.fixture
def stored(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """A week of P1's and P2's visits: verified, in dispute, frustrated, settled."""
    OutcomeSink(conn).write([
        outcome("V1", MON),                                            # v1: verified
        _v2("V2", MON, "in_dispute", disputed=True),                   # open exceptions
        exception("V2", "no_check_in", at(MON, 11)),
        exception("V2", "gps_distance", at(MON, 11)),
        exception("V2", "duplicate_event", at(MON, 11)),               # never holds pay
        _v2("V3", MON, "verified"),                                    # exception accepted
        exception("V3", "no_check_in", at(MON, 11)),
        _accepted("V3"),
        _v2("V4", TUE, "verified", status="frustrated", frustrated_reason="no_answer",
            payable_gbp=Decimal("6.00"), delivered_seconds=0),
        _v2("V5", TUE, "in_dispute", disputed=True, held_corrections=("corr-9",)),
        outcome("V6", TUE, provider_id="P2"),
        outcome("V7", date(2024, 6, 10)),                              # the next week
    ])  # fmt: skip
    yield conn
    conn.execute("TRUNCATE workflow_acts, alert_history")


def _v2(visit_id: str, day: date, verification: str, disputed: bool = False,
        **fields: Any) -> VisitOutcomeRecordedV2:  # fmt: skip
    base = outcome(visit_id, day).model_dump()
    base.update(schema_version=2, event_id=f"out2-{visit_id}", verification=verification,
                **fields)
    payable = base["payable_gbp"]
    base.update(verified_gbp=Decimal("0.00") if disputed else payable,
                disputed_gbp=payable if disputed else Decimal("0.00"))
    return VisitOutcomeRecordedV2.model_validate(base)


def _accepted(visit_id: str) -> ExceptionStatusChanged:
    return ExceptionStatusChanged(
        event_id=f"{visit_id}-dec:status", occurred_at=at(MON, 16),
        exception_id=f"{visit_id}:no_check_in", kind="no_check_in", visit_id=visit_id,
        provider_id="P1", status="accepted", code="explanation_accepted", by="cm1",
        by_role=ActorRole.CONTRACT_MANAGER, learned_at=at(MON, 16, 1))  # fmt: skip


def _lines(text: str) -> dict[str, dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return {row["visit_id"]: row for row in rows}


def test_each_visit_is_one_line_saying_what_is_paid_what_is_disputed_and_why(
    stored: psycopg.Connection,
) -> None:
    out = io.StringIO()
    count = write_payments_csv(stored, out, "P1", MON, date(2024, 6, 9))
    lines = _lines(out.getvalue())

    assert out.getvalue().splitlines()[0].split(",") == list(PAYMENT_COLUMNS)
    assert count == 5 and list(lines) == ["V1", "V2", "V3", "V4", "V5"]
    paid = {v: (r["verification"], r["payable_gbp"], r["verified_gbp"], r["disputed_gbp"])
            for v, r in lines.items()}
    assert paid == {
        "V1": ("verified", "24.00", "24.00", "0.00"),
        "V2": ("in_dispute", "24.00", "0.00", "24.00"),
        "V3": ("verified", "24.00", "24.00", "0.00"),
        "V4": ("verified", "6.00", "6.00", "0.00"),
        "V5": ("in_dispute", "24.00", "0.00", "24.00"),
    }
    assert lines["V1"]["why"] == "completed; verified: paid"
    assert lines["V2"]["open_exception_ids"] == "V2:gps_distance V2:no_check_in"
    assert lines["V2"]["why"] == (
        "completed; in dispute: awaiting exceptions V2:gps_distance V2:no_check_in")
    assert (lines["V3"]["open_exception_ids"], lines["V3"]["why"]) == (
        "", "completed; verified: paid")
    assert (lines["V4"]["status"], lines["V4"]["frustrated_reason"], lines["V4"]["why"]) == (
        "frustrated", "no_answer", "frustrated (no_answer); verified: paid")
    assert lines["V5"]["held_corrections"] == "corr-9"
    assert lines["V5"]["why"] == "completed; in dispute: awaiting held corrections corr-9"


def test_without_a_provider_every_provider_s_visits_of_the_days_are_exported(
    stored: psycopg.Connection,
) -> None:
    out = io.StringIO()
    write_payments_csv(stored, out, None, TUE, TUE)
    assert [(r["provider_id"], v) for v, r in _lines(out.getvalue()).items()] == [
        ("P1", "V4"), ("P1", "V5"), ("P2", "V6")]


def test_ecm_payments_prints_the_week_s_csv_and_counts_the_lines(
    stored: psycopg.Connection, dsn: str
) -> None:
    result = CliRunner().invoke(app, ["payments", "--week", "2024-W23", "--provider", "P1",
                                      "--dsn", dsn])
    assert result.exit_code == 0, result.output
    assert list(_lines(result.stdout)) == ["V1", "V2", "V3", "V4", "V5"]
    assert "in dispute: awaiting exceptions V2:gps_distance V2:no_check_in" in result.stdout
    assert "5 visit line(s)" in result.stderr


def test_ecm_payments_writes_a_file_for_a_range_of_days(
    stored: psycopg.Connection, dsn: str, tmp_path: Path
) -> None:
    target = tmp_path / "payments.csv"
    result = CliRunner().invoke(app, ["payments", "--from", "2024-06-04", "--to", "2024-06-11",
                                      "--dsn", dsn, "-o", str(target)])
    assert result.exit_code == 0, result.output
    # --to is the day after the last; lines run by provider, then day
    assert list(_lines(target.read_text())) == ["V4", "V5", "V7", "V6"]
    assert f"4 visit line(s) -> {target}" in result.stderr.replace("\n", "")
