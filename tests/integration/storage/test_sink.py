"""The sink: idempotent batches, latest outcome wins, moved visits, alerts and exceptions."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest
from builders import (
    alert_raised,
    alert_resolved,
    at,
    check_in,
    exception,
    not_checked_in,
    outcome,
    package,
)

from ecm.contracts import VisitStatus
from ecm.kpi import Period, weekly_kpis
from ecm.storage.sink import OutcomeSink

pytestmark = pytest.mark.postgres

MON = date(2024, 6, 3)
WEEK = Period.iso_week("2024-W23")


def _dump(conn: psycopg.Connection) -> dict[str, list[tuple[object, ...]]]:
    tables = ("raw_events", "visit_outcomes", "alerts", "visit_exceptions", "kpi_daily",
              "kpi_client_week", "care_packages")  # fmt: skip
    return {
        t: conn.execute(f"SELECT *, xmin::text FROM {t} ORDER BY 1, 2").fetchall() for t in tables
    }


def _batch() -> list:
    return [
        package("PK1", "7", date(2024, 1, 1)),
        check_in("e1", "V1", at(MON, 9)),
        outcome("V1", MON),
        not_checked_in("V2", MON, VisitStatus.MISSED),
        alert_raised("V2", at(MON, 11)),
        exception("V2", "no_check_in", at(MON, 11)),
    ]


def test_writing_the_same_batch_twice_changes_no_row(conn: psycopg.Connection) -> None:
    sink = OutcomeSink(conn)
    first = sink.write(_batch())
    before = _dump(conn)

    second = sink.write(_batch())

    assert first.visit_outcomes == 2 and first.raw_events == 2 and first.reference == 1
    assert second.visit_outcomes == second.raw_events == second.alerts == 0
    assert _dump(conn) == before  # same rows, same xmin: nothing rewritten


def test_an_older_outcome_arriving_late_is_ignored(conn: psycopg.Connection) -> None:
    sink = OutcomeSink(conn)
    newer = outcome("V1", MON, version=2, occurred_at=at(MON, 23, 30))
    older = not_checked_in("V1", MON, VisitStatus.MISSED, occurred_at=at(MON, 12))
    sink.write([newer])
    sink.write([older])

    status = conn.execute("SELECT status FROM visit_outcomes WHERE visit_id = 'V1'").fetchone()
    assert status == ("completed",)


def test_a_visit_moved_to_another_week_leaves_its_old_week(conn: psycopg.Connection) -> None:
    sink = OutcomeSink(conn)
    sink.write([outcome("V1", MON)])
    moved = MON + timedelta(days=7)
    sink.write([outcome("V1", moved, version=2, occurred_at=at(moved, 23))])

    rows = conn.execute("SELECT local_date FROM visit_outcomes WHERE visit_id = 'V1'").fetchall()
    assert rows == [(moved,)]
    assert weekly_kpis(conn, WEEK) == []
    assert [r["visits_planned"] for r in weekly_kpis(conn, Period.iso_week("2024-W24"))] == [1]


def test_an_alert_resolved_before_its_raise_arrives_ends_up_raised_and_resolved(
    conn: psycopg.Connection,
) -> None:
    sink = OutcomeSink(conn)
    sink.write([alert_resolved("V2", at(MON, 12))])
    sink.write([alert_raised("V2", at(MON, 11))])

    row = conn.execute("SELECT raised_at, resolved_at, resolution FROM alerts").fetchone()
    assert row == (at(MON, 11), at(MON, 12), "late_check_in")


def test_kpis_follow_the_hand_computed_week(conn: psycopg.Connection) -> None:
    tue, sat = MON + timedelta(days=1), MON + timedelta(days=5)
    OutcomeSink(conn).write([
        package("PK1", "7", date(2024, 1, 1)),
        package("PK2", "14", date(2024, 6, 6), client_id="C2"),  # Thu-Sun: 4 days
        outcome("V1", MON),  # on time, 60 min, £24
        outcome("V2", tue, client_id="C2", carer_ids=("K1", "K2"), carers_required=2,
                first_check_in=at(tue, 9, 20), punctuality="late", delivered_seconds=4200,
                short=True, single_handed=False, payable_gbp=Decimal("30.00")),
        not_checked_in("V3", tue, VisitStatus.CANCELLED, cancelled_by="client"),
        not_checked_in("V4", tue, VisitStatus.CANCELLED, cancelled_by="provider"),
        outcome("V5", sat, carer_ids=("K3",), first_check_in=at(sat, 8, 50),
                punctuality="on_time", manual_entry=True, electronic=False),
    ])  # fmt: skip

    (row,) = weekly_kpis(conn, WEEK)

    assert row["commissioned_hours"] == Decimal("15.00")  # 7 + 14 × 4/7
    assert row["planned_hours"] == Decimal("5.00")  # V1 1 + V2 2×1 + V4 1 + V5 1
    assert row["delivered_hours"] == Decimal("3.17")  # 3600 + 4200 + 3600 s
    assert row["delivery_ratio"] == Decimal("0.2111")
    assert (row["visits_planned"], row["visits_cancelled"], row["missed"]) == (5, 1, 1)
    assert (row["on_time"], row["late"], row["short"], row["manual_entries"]) == (2, 1, 1, 1)
    assert row["ecm_compliance"] == Decimal("0.6667")
    assert row["continuity"] == Decimal("2.0000")  # C1: K1, K3; C2: K1, K2
    assert row["avg_lateness_minutes"] == Decimal("6.67")  # (0 + 20 + 0) / 3
    assert row["payable_gbp"] == Decimal("78.00")
