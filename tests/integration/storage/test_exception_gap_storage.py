"""visit_exceptions and rota_gaps keep each fact once (storage migration 0024).

An exception's record ids derived from its id are stored as '' and read back as sent; a
gap row keeps no gap_id, iso_week or event_id. Rows stored before 0024 say the same
after it, and a record sent again changes nothing.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import psycopg
import pytest
from builders import at, exception, travel_gap
from support import fresh_database

from ecm.contracts import ExceptionStatusChanged, GapStatus, VisitExceptionResolved
from ecm.storage.migrate import load_migrations, migrate, timescale_available
from ecm.storage.sink import OutcomeSink

pytestmark = pytest.mark.postgres

MON = date(2024, 6, 3)
ADMIN_DSN = os.environ.get("ECM_TEST_DB__DSN", "postgresql://ecm:ecm@127.0.0.1:5433/ecm_test")
EXCEPTION_COLUMNS = (
    "exception_id, kind, visit_id, provider_id, client_id, carer_id, detail, detected_at,"
    " resolved_at, event_id, resolved_event_id, status, status_event_id, status_learned_at"
)
GAP_FACTS = (
    "carer_id, visit_id, provider_id, client_id, lot_id, service, local_date, status,"
    " previous_visit_id, previous_client_id, gap_seconds, travel_seconds, straight_m, short,"
    " shortfall_seconds, judged_at"
)


def _records(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return [r[0] for r in conn.execute(
        "SELECT ecm_exception_record(e) FROM visit_exceptions e ORDER BY exception_id")]


def _settled(exception_id: str, event_id: str, hour: int) -> ExceptionStatusChanged:
    visit_id, kind = exception_id.split(":")[:2]
    return ExceptionStatusChanged(
        event_id=event_id, occurred_at=at(MON, hour), exception_id=exception_id, kind=kind,
        visit_id=visit_id, provider_id="P1", status="settled", learned_at=at(MON, hour))


def _resolved(exception_id: str, event_id: str, hour: int) -> VisitExceptionResolved:
    visit_id, kind = exception_id.split(":")[:2]
    return VisitExceptionResolved(
        event_id=event_id, occurred_at=at(MON, hour), exception_id=exception_id, kind=kind,
        visit_id=visit_id, provider_id="P1")


def test_record_ids_derived_from_the_exception_s_id_are_stored_empty_and_read_back_as_sent(
    conn: psycopg.Connection,
) -> None:
    derived = exception("V1", "no_check_out", at(MON, 10)).model_copy(
        update={"event_id": "V1:no_check_out"})
    raised = [derived, exception("V2", "no_check_in", at(MON, 10))]
    settled = [_resolved("V1:no_check_out", "V1:no_check_out:resolved", 12),
               _settled("V1:no_check_out", "exception:V1:no_check_out:settled", 12),
               _resolved("V2:no_check_in", "other-resolution", 13),
               _settled("V2:no_check_in", "other-move", 13)]  # fmt: skip
    sink = OutcomeSink(conn)

    first = [sink.write(raised).visit_exceptions, sink.write(settled).visit_exceptions]
    again = [sink.write(settled).visit_exceptions, sink.write(settled[1::2]).visit_exceptions]

    stored = conn.execute("SELECT event_id, resolved_event_id, status_event_id"
                          " FROM visit_exceptions ORDER BY exception_id").fetchall()
    assert stored == [("", "", ""), ("ex-V2-no_check_in", "other-resolution", "other-move")]
    ids = [(r["event_id"], r["resolved_event_id"], r["status_event_id"]) for r in _records(conn)]
    assert ids == [("V1:no_check_out", "V1:no_check_out:resolved",
                    "exception:V1:no_check_out:settled"),
                   ("ex-V2-no_check_in", "other-resolution", "other-move")]  # fmt: skip
    assert first == [2, 4] and again == [0, 0]  # a redelivery changes nothing


def test_a_gap_sent_again_changes_nothing_and_one_saying_something_else_replaces_it(
    conn: psycopg.Connection,
) -> None:
    sink = OutcomeSink(conn)
    gap = travel_gap("V1", MON)
    withdrawn = travel_gap("V1", MON, event_id="gap-V1-K1-2", status=GapStatus.WITHDRAWN,
                           short=False, shortfall_seconds=0)

    written = [sink.write([gap]).rota_gaps, sink.write([gap]).rota_gaps,
               sink.write([withdrawn]).rota_gaps, sink.write([withdrawn]).rota_gaps]

    assert written == [1, 0, 1, 0]
    assert conn.execute("SELECT visit_id, carer_id, status FROM rota_gaps").fetchall() == [
        ("V1", "K1", "withdrawn")]


def _migrated_before_0024(dsn: str) -> None:
    """Bring a new database to the last version before 0024, as migrate() did then."""
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        conn.execute("CREATE TABLE schema_migrations (version text PRIMARY KEY,"
                     " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        for m in load_migrations(timescale_available(conn)):
            if m.version < "0024":
                conn.execute(m.sql)
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                             (m.version, m.name))


def _store_before_0024(conn: psycopg.Connection) -> None:
    conn.execute(
        f"INSERT INTO visit_exceptions ({EXCEPTION_COLUMNS}) VALUES"
        " ('V1:no_check_out:K1', 'no_check_out', 'V1', 'P1', 'C1', 'K1', 'checked in, never"
        "  checked out', '2024-06-03 10:00+01', '2024-06-03 12:00+01', 'V1:no_check_out:K1',"
        "  'V1:no_check_out:K1:resolved', 'settled', 'exception:V1:no_check_out:K1:settled',"
        "  '2024-06-03 12:00+01'),"
        " ('V2:short_visit', 'short_visit', 'V2', 'P1', 'C2', NULL, 'stayed 20 of 60 min',"
        "  '2024-06-03 11:00+01', NULL, 'V2:short_visit', NULL, 'explained', 'act-7:status',"
        "  '2024-06-03 15:00+01'),"
        " ('V3:no_check_in', 'no_check_in', 'V3', 'P1', NULL, NULL, '', '2024-06-03 12:00+01',"
        "  NULL, 'act-9:status', NULL, 'open', NULL, NULL)")
    conn.execute(
        "INSERT INTO rota_gaps (gap_id, iso_week, event_id, " + GAP_FACTS + ") VALUES"
        " ('V1:K1', '2024-W23', 'gap:V1:K1:0a1b', 'K1', 'V1', 'P1', 'C2', 'L1', 'home_care',"
        "  '2024-06-03', 'judged', 'V0', 'C1', 600, 1200, 5000, true, 600,"
        "  '2024-06-03 07:00+01'),"
        " ('V0:K1', '2024-W23', 'gap:V0:K1:2c3d', 'K1', 'V0', 'P1', 'C1', 'L1', 'home_care',"
        "  '2024-06-03', 'first_of_day', NULL, NULL, NULL, NULL, NULL, false, 0,"
        "  '2024-06-03 07:00+01')")


def test_migration_0024_keeps_every_fact_of_the_exceptions_and_gaps_stored_before_it() -> None:
    with fresh_database(ADMIN_DSN, migrated=False) as dsn:
        _migrated_before_0024(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            _store_before_0024(conn)
            exceptions = [r[0] for r in conn.execute(
                "SELECT to_jsonb(e) FROM visit_exceptions e ORDER BY exception_id")]
            gaps = conn.execute(f"SELECT gap_id, iso_week, {GAP_FACTS} FROM rota_gaps"
                                " ORDER BY gap_id").fetchall()

        applied = migrate(dsn)

        with psycopg.connect(dsn, autocommit=True) as conn:
            assert "0024" in applied
            assert _records(conn) == exceptions
            assert conn.execute("SELECT event_id, resolved_event_id, status_event_id"
                                " FROM visit_exceptions ORDER BY exception_id").fetchall() == [
                ("", "", ""), ("", None, "act-7:status"), ("act-9:status", None, None)]
            assert conn.execute(
                f"SELECT visit_id || ':' || carer_id, to_char(local_date, 'IYYY-\"W\"IW'),"
                f" {GAP_FACTS} FROM rota_gaps ORDER BY 1").fetchall() == gaps
            assert migrate(dsn) == []
