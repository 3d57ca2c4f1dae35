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
    travel_gap,
)

from ecm.contracts import VisitExceptionResolved, VisitOutcomeRecordedV3, VisitStatus
from ecm.kpi import Period, rota_realism, weekly_kpis
from ecm.storage.sink import OutcomeSink

pytestmark = pytest.mark.postgres

MON = date(2024, 6, 3)
WEEK = Period.iso_week("2024-W23")
ROLLUPS = ("kpi_daily", "kpi_client_week", "kpi_weekly", "kpi_continuity_weekly")


def _dump(conn: psycopg.Connection) -> dict[str, list[tuple[object, ...]]]:
    tables = ("raw_events", "visit_outcomes", "visit_latest", "alerts", "visit_exceptions",
              *ROLLUPS, "care_packages")  # fmt: skip
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
        alert_raised("V2", at(MON, 11, 5), event_id="ar-V2-again"),
        alert_resolved("V2", at(MON, 12)),
        exception("V2", "no_check_in", at(MON, 11)),
        exception("V2", "no_check_in", at(MON, 11)),
    ]


def _rollups(conn: psycopg.Connection) -> dict[str, list[tuple[object, ...]]]:
    return {
        t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4, 5").fetchall() for t in ROLLUPS
    }


def _recomputed_rollups(conn: psycopg.Connection) -> dict[str, list[tuple[object, ...]]]:
    """The rollups recomputed from scratch over every stored visit (rolled back after)."""
    with conn.transaction(force_rollback=True):
        conn.execute("; ".join(f"DELETE FROM {t}" for t in ROLLUPS))
        conn.execute(
            "SELECT ecm_refresh_rollups(array_agg(provider_id), array_agg(local_date),"
            " array_agg(client_id)) FROM visit_outcomes"
        )
        return _rollups(conn)


def test_writing_the_same_batch_twice_changes_no_row(conn: psycopg.Connection) -> None:
    sink = OutcomeSink(conn)
    first = sink.write(_batch())
    before = _dump(conn)

    second = sink.write(_batch())

    assert first.visit_outcomes == 2 and first.raw_events == 2 and first.reference == 1
    assert first.alerts == 1 and first.visit_exceptions == 1  # raised and resolved: 1 insert
    assert second.visit_outcomes == second.raw_events == second.alerts == 0
    assert second.visit_exceptions == second.reference == 0
    assert _dump(conn) == before  # same rows, same xmin: nothing rewritten


def test_a_batch_keeps_the_first_raise_and_the_last_resolution_sent_of_an_alert(
    conn: psycopg.Connection,
) -> None:
    OutcomeSink(conn).write([
        alert_resolved("V2", at(MON, 13), event_id="as-1"),
        alert_raised("V2", at(MON, 11, 5), event_id="ar-2"),
        alert_resolved("V2", at(MON, 12), event_id="as-2"),  # a correction moved it earlier
        alert_raised("V2", at(MON, 11), event_id="ar-1"),
    ])  # fmt: skip

    row = conn.execute(
        "SELECT raised_at, raised_event_id, resolved_at, resolved_event_id FROM alerts"
    ).fetchall()
    assert row == [(at(MON, 11), "ar-1", at(MON, 12), "as-2")]


def test_an_exception_resolved_later_is_closed_and_reopened_if_raised_again(
    conn: psycopg.Connection,
) -> None:
    sink = OutcomeSink(conn)
    raised = exception("V3", "unscheduled_visit", at(MON, 9))
    resolved = VisitExceptionResolved(
        event_id="ex-V3-resolved", occurred_at=at(MON, 10), exception_id=raised.exception_id,
        kind=raised.kind, visit_id="V3", provider_id="P1",
    )
    sink.write([raised, resolved])
    closed = conn.execute("SELECT resolved_at FROM visit_exceptions").fetchall()
    sink.write([resolved])  # sent again: nothing changes
    again = conn.execute("SELECT resolved_at FROM visit_exceptions").fetchall()
    sink.write([exception("V3", "unscheduled_visit", at(MON, 11))])
    reopened = conn.execute("SELECT resolved_at, detected_at FROM visit_exceptions").fetchall()

    assert closed == again == [(at(MON, 10),)]
    assert reopened == [(None, at(MON, 11))]


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


def test_a_visit_moved_to_another_day_keeps_one_row_and_rollups_equal_a_recomputation(
    conn: psycopg.Connection,
) -> None:
    sink = OutcomeSink(conn)
    tue, wed = MON + timedelta(days=1), MON + timedelta(days=2)
    sink.write([outcome("V1", MON), outcome("V2", MON, client_id="C2", carer_ids=("K2",))])
    moved = outcome("V1", tue, version=2, occurred_at=at(tue, 23), carer_ids=("K3",))
    result = sink.write([moved, outcome("V3", wed)])
    again = sink.write([moved, outcome("V3", wed), outcome("V1", MON)])  # old one arrives late

    rows = conn.execute("SELECT visit_id, local_date FROM visit_outcomes ORDER BY 1").fetchall()
    assert rows == [("V1", tue), ("V2", MON), ("V3", wed)]
    assert (
        conn.execute("SELECT visit_id, local_date FROM visit_latest ORDER BY 1").fetchall() == rows
    )
    assert (result.visit_outcomes, again.visit_outcomes) == (2, 0)
    daily = conn.execute("SELECT local_date, visits_planned FROM kpi_daily ORDER BY 1").fetchall()
    assert daily == [(MON, 1), (tue, 1), (wed, 1)]
    assert _rollups(conn) == _recomputed_rollups(conn)


def test_a_visit_moved_to_another_provider_and_client_leaves_their_rollups(
    conn: psycopg.Connection,
) -> None:
    sink = OutcomeSink(conn)
    sink.write([outcome("V1", MON)])
    sink.write([outcome("V1", MON, version=2, occurred_at=at(MON, 23, 30), provider_id="P2",
                        client_id="C2")])  # fmt: skip

    assert conn.execute("SELECT provider_id, client_id FROM kpi_client_week").fetchall() == [
        ("P2", "C2")
    ]
    assert _rollups(conn) == _recomputed_rollups(conn)


def test_continuity_follows_each_batch_whether_its_carers_are_new_repeated_or_gone(
    conn: psycopg.Connection,
) -> None:
    """Batches that add no carer to a client-week leave continuity alone; the others move it."""
    sink = OutcomeSink(conn)
    tue, wed = MON + timedelta(days=1), MON + timedelta(days=2)
    batches = [
        [outcome("V1", MON, carer_ids=("K1",))],
        [outcome("V2", tue, carer_ids=("K1",))],  # the same carer again: nothing changes
        [outcome("V3", wed, carer_ids=("K2",))],  # a second carer for C1
        [outcome("V3", wed, version=2, occurred_at=at(wed, 23), carer_ids=("K1",))],  # K2 gone
        [outcome("V4", tue, client_id="C2", carer_ids=("K3", "K4"))],
        [outcome("V4", tue, version=2, occurred_at=at(tue, 23), client_id="C2",
                 carer_ids=())],  # C2's only visit loses its carers  # fmt: skip
    ]
    carers = []
    for batch in batches:
        sink.write(batch)
        assert _rollups(conn) == _recomputed_rollups(conn)
        carers.append(conn.execute("SELECT coalesce(sum(carers), 0), coalesce(sum(clients), 0)"
                                   " FROM kpi_continuity_weekly").fetchone())  # fmt: skip
    assert carers == [(1, 1), (1, 1), (2, 1), (1, 1), (3, 2), (1, 1)]


def _scored(visit_id: str, day: date, score: int, **fields: object) -> VisitOutcomeRecordedV3:
    """``outcome`` as version 3 states it: verified, with a trust score."""
    base = outcome(visit_id, day, **fields).model_dump()
    return VisitOutcomeRecordedV3(**{**base, "schema_version": 3, "verification": "verified",
                                     "verified_gbp": base["payable_gbp"],
                                     "disputed_gbp": Decimal("0.00"), "trust_score": score})


def test_the_rollups_sum_the_trust_scores_a_revision_replaces_and_the_kpi_means_them(
    conn: psycopg.Connection,
) -> None:
    sink = OutcomeSink(conn)
    tue = MON + timedelta(days=1)
    sink.write([_scored("V1", MON, 90), _scored("V2", tue, 75, client_id="C2"),
                outcome("V3", tue, client_id="C3")])  # version 1: no score  # fmt: skip
    sink.write([_scored("V1", MON, 60, version=2, occurred_at=at(MON, 23, 30))])

    weekly = conn.execute("SELECT trust_sum, trust_assessed FROM kpi_weekly").fetchall()
    assert weekly == [(60 + 75, 2)]
    daily = conn.execute("SELECT local_date, trust_sum, trust_assessed FROM kpi_daily"
                         " ORDER BY 1").fetchall()  # fmt: skip
    assert daily == [(MON, 60, 1), (tue, 75, 1)]
    assert [r["mean_trust_score"] for r in weekly_kpis(conn, WEEK)] == [Decimal("67.50")]
    assert _rollups(conn) == _recomputed_rollups(conn)


def test_a_week_with_no_scored_visit_has_no_mean_trust_score(conn: psycopg.Connection) -> None:
    OutcomeSink(conn).write([outcome("V1", MON)])  # version 1: no score

    assert [r["mean_trust_score"] for r in weekly_kpis(conn, WEEK)] == [None]


def test_retention_forgets_the_visits_it_drops(conn: psycopg.Connection) -> None:
    old = date(2018, 1, 8)
    conn.execute("SELECT ecm_ensure_partitions(%s, 1)", (old,))
    OutcomeSink(conn).write([outcome("V-old", old), outcome("V1", MON)])

    list(conn.execute("SELECT ecm_apply_retention(60)"))  # keeps 2024, drops 2018

    assert conn.execute("SELECT visit_id FROM visit_latest").fetchall() == [("V1",)]


def test_retention_forgets_the_rota_gaps_of_the_days_it_drops(conn: psycopg.Connection) -> None:
    (cutoff,) = conn.execute(  # the first day ecm_apply_retention(60) keeps
        "SELECT (date_trunc('month', current_date) - interval '60 months')::date").fetchone()
    last_dropped = cutoff - timedelta(days=1)
    OutcomeSink(conn).write([
        travel_gap("V-old", last_dropped), travel_gap("V-first", cutoff), travel_gap("V1", MON)])

    list(conn.execute("SELECT ecm_apply_retention(60)"))

    kept = conn.execute("SELECT visit_id FROM rota_gaps ORDER BY local_date").fetchall()
    assert kept == [("V-first",), ("V1",)]  # by the visit's local day, as its outcome
    assert rota_realism(conn, Period(last_dropped, cutoff)) == []  # no rollup keeps it
    assert [r["gaps_short"] for r in rota_realism(conn, WEEK)] == [1]


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
        # A provider's cancellation is never "cancelled": the visit is judged missed.
        not_checked_in("V4", tue, VisitStatus.MISSED, cancelled_by="provider"),
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


def test_a_calls_distance_is_written_when_its_clients_registration_arrives_after_it(
    conn: psycopg.Connection,
) -> None:
    from ecm.contracts import CarerCheckedIn, CheckMethod, ClientRegistered, Location, Rurality

    call = CarerCheckedIn(
        event_id="late-client-in", occurred_at=at(MON, 9), provider_id="P1", visit_id="V-LC",
        client_id="C-LATE", carer_id="K1", method=CheckMethod.APP_GPS,
        location=Location(lat=51.0009, lon=1.0, accuracy_m=8.2))
    client = ClientRegistered(
        event_id="reg-C-LATE", occurred_at=at(MON, 8), effective_from=MON - timedelta(days=7),
        client_id="C-LATE", lot_id="L1", rurality=Rurality.URBAN,
        location=Location(lat=51.0, lon=1.0))
    sink = OutcomeSink(conn)
    measured = "SELECT distance_m, accuracy_m FROM raw_events WHERE event_id = 'late-client-in'"

    sink.write([call])
    assert conn.execute(measured).fetchone() == (None, 9)  # accuracy now, distance later
    sink.write([client])
    assert conn.execute(measured).fetchone() == (100, 9)
    assert "51.0009" not in str(conn.execute("SELECT r::text FROM raw_events r").fetchall())
