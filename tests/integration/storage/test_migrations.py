"""Migrations run on an empty and on an up-to-date database; partitions and retention."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest
from builders import outcome

from ecm.storage.migrate import migrate
from ecm.storage.sink import OutcomeSink

pytestmark = pytest.mark.postgres

TABLES = {
    "raw_events", "visit_outcomes", "alerts", "visit_exceptions", "lots", "providers",
    "clients", "carers", "care_packages", "rate_cards", "contract_rules", "kpi_daily",
    "kpi_client_week", "kpi_weekly", "kpi_continuity_weekly", "api_keys",
}  # fmt: skip


def test_migrate_creates_every_table_then_is_a_no_op(empty_dsn: str) -> None:
    first = migrate(empty_dsn)
    second = migrate(empty_dsn)

    assert first[:1] == ["0001"] and "0005" in first
    assert second == []
    with psycopg.connect(empty_dsn) as conn:
        names = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables")}
    assert names >= TABLES


def _partitions(conn: psycopg.Connection, parent: str) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = %s::regclass",
        (parent,),
    )
    return {r[0] for r in rows}


def test_ensure_partitions_creates_months_once(conn: psycopg.Connection) -> None:
    created = conn.execute("SELECT ecm_ensure_partitions('2019-02-15', 2)").fetchone()
    again = conn.execute("SELECT ecm_ensure_partitions('2019-02-01', 2)").fetchone()

    assert created == (4,) and again == (0,)
    assert {"visit_outcomes_y2019m02", "visit_outcomes_y2019m03"} <= _partitions(
        conn, "visit_outcomes"
    )
    assert "raw_events_y2019m03" in _partitions(conn, "raw_events")


def test_retention_drops_only_partitions_older_than_the_cutoff(conn: psycopg.Connection) -> None:
    conn.execute("SELECT ecm_ensure_partitions('2018-01-01', 1)")
    (today,) = conn.execute("SELECT current_date").fetchone()
    this_month = today.replace(day=1)
    conn.execute("SELECT ecm_ensure_partitions(%s, 1)", (this_month,))

    dropped = {r[0] for r in conn.execute("SELECT ecm_apply_retention(12)")}

    assert {"visit_outcomes_y2018m01", "raw_events_y2018m01"} <= dropped
    kept = f"visit_outcomes_y{this_month:%Y}m{this_month:%m}"
    assert kept in _partitions(conn, "visit_outcomes")


WEEKLY = ("kpi_weekly", "kpi_continuity_weekly")


def _weekly_rollups(conn: psycopg.Connection) -> dict[str, list[tuple[object, ...]]]:
    return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4").fetchall() for t in WEEKLY}


SINCE_0009 = ("DELETE FROM schema_migrations WHERE version >= '0009'"
              " AND version NOT IN ('0019', '0022')")


def test_the_weekly_rollup_migrations_build_from_stored_weeks_and_can_run_again(
    conn: psycopg.Connection, dsn: str
) -> None:
    mon = date(2024, 6, 3)
    OutcomeSink(conn).write([
        outcome("V1", mon), outcome("V2", mon + timedelta(days=8), carer_ids=("K2",)),
        outcome("V3", mon, provider_id="P2", client_id="C2", carer_ids=("K1", "K3")),
    ])  # fmt: skip
    kept = _weekly_rollups(conn)
    # A database from before 0009: neither the tables nor their refresh functions. Every
    # later migration runs again but 0019, whose rota_gaps 0024 rebuilt without a column
    # 0019 indexes (a database from before 0009 has no rota_gaps to run it over), and
    # 0022, which copies visit_latest columns 0027 dropped (0027 runs again instead).
    conn.execute("DROP TABLE kpi_weekly, kpi_continuity_weekly")
    conn.execute("DROP FUNCTION ecm_refresh_kpi_weeks, ecm_refresh_continuity_weeks")
    conn.execute(SINCE_0009)

    built = migrate(dsn)
    rebuilt = _weekly_rollups(conn)
    conn.execute(SINCE_0009)
    again = migrate(dsn)

    assert built == again and built[:3] == ["0009", "0010", "0011"]  # and every later one
    assert len(kept["kpi_weekly"]) == 3 and len(kept["kpi_continuity_weekly"]) == 3
    assert rebuilt == _weekly_rollups(conn) == kept
