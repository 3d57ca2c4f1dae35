"""SQL functions live in ecm/storage/functions and reach databases migrated long ago.

A database is brought to each released version by applying the migration files of that
release (``released_migrations/``, copies of ecm/storage/migrations as released, when
migrations still defined the functions) the way the migrator of the time did; then the
current ``migrate`` runs. Every ``ecm_*`` function must then be defined, secured and
granted exactly as in a database migrated from nothing, and the data refreshes the
migrations ask for must have run with the current functions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from support import fresh_database

from ecm.storage.migrate import load_migrations, migrate

pytestmark = pytest.mark.postgres

ADMIN_DSN = os.environ.get("ECM_TEST_DB__DSN", "postgresql://ecm:ecm@127.0.0.1:5433/ecm_test")

RELEASED = Path(__file__).parent / "released_migrations"
_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)(?:\.(?P<flavour>plain))?\.sql$")
VERSIONS = sorted({m["version"] for f in RELEASED.iterdir() if (m := _NAME.match(f.name))})

FUNCTIONS = """
    SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid),
           coalesce(p.proacl::text[], '{}') AS acl
    FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'ecm\\_%'
    ORDER BY 1
"""
CURRENT = [m.version for m in load_migrations(timescale=False)]
ROLLUPS = ("kpi_daily", "kpi_weekly", "kpi_client_week", "kpi_continuity_weekly", "visit_latest")


def _functions(dsn: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(FUNCTIONS).fetchall()


def _apply_released(dsn: str, upto: str) -> None:
    """Migrate as the release of version ``upto`` did: each file in its own transaction."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version text PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for path in sorted(RELEASED.iterdir()):
            match = _NAME.match(path.name)
            if match and match["version"] <= upto:
                with conn.transaction():
                    conn.execute(path.read_text())
                    conn.execute(
                        "INSERT INTO schema_migrations VALUES (%s, %s)",
                        (match["version"], match["name"]),
                    )


@pytest.fixture(scope="module")
def fresh_functions() -> Iterator[list[tuple[object, ...]]]:
    with fresh_database(ADMIN_DSN) as dsn:
        yield _functions(dsn)


def test_the_released_copies_are_the_versions_from_before_function_files() -> None:
    # Versions added since are applied by the current migrator, which re-applies every
    # function file whatever the version: they need no copy here.
    assert VERSIONS == CURRENT[: len(VERSIONS)] and VERSIONS[-1] == "0015"


def test_no_migration_defines_a_function() -> None:
    migrations = Path(__file__).parents[3] / "ecm" / "storage" / "migrations"
    defines = re.compile(r"CREATE\s+(OR\s+REPLACE\s+)?FUNCTION", re.IGNORECASE)
    assert [p.name for p in migrations.glob("*.sql") if defines.search(p.read_text())] == []


def test_a_fresh_database_has_every_function_file_with_its_grants(
    fresh_functions: list[tuple[object, ...]],
) -> None:
    by_name = {str(sig).split("(")[0]: (body, acl) for sig, body, acl in fresh_functions}
    files = Path(__file__).parents[3] / "ecm" / "storage" / "functions"
    expected = {p.name.split(".")[0] for p in files.glob("*.sql") if ".timescale." not in p.name}
    assert set(by_name) == expected
    body, acl = by_name["ecm_ensure_partitions"]
    assert "SECURITY DEFINER" in str(body) and "SET search_path TO 'public', 'pg_temp'" in str(body)
    assert not any(str(a).startswith("=") for a in acl)  # PUBLIC may not call it
    assert any(str(a).startswith("ecm_sink=X/") for a in acl)


def _seed(conn: psycopg.Connection) -> None:
    """Outcomes of two weeks written as the release at hand could, rollups refreshed by it."""
    columns = {
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'visit_outcomes'"
        )
    }
    conn.execute("SELECT ecm_ensure_partitions('2024-06-01', 1)")
    mon = date(2024, 6, 3)
    visits = [("V1", mon, "P1", "C1", 20.5, False), ("V2", mon + timedelta(days=8), "P1", "C1", 30.0, True),
              ("V3", mon + timedelta(days=1), "P2", "C2", 12.25, False)]  # fmt: skip
    for visit_id, day, provider, client, gbp, disputed in visits:
        row = {
            "visit_id": visit_id, "local_date": day, "iso_week": f"{day:%G-W%V}",
            "provider_id": provider, "lot_id": "L1", "service": "home_care", "tier": "standard",
            "client_id": client, "scheduled": True, "status": "completed",
            "planned_start": f"{day} 09:00+01", "planned_end": f"{day} 10:00+01",
            "planned_minutes": 60, "carers_required": 1, "time_critical": False,
            "first_check_in": f"{day} 09:05+01", "punctuality": "on_time", "lateness_minutes": 5,
            "carer_ids": ["K1", visit_id], "delivered_seconds": 3600, "payable_gbp": gbp,
            "short": False, "single_handed": False, "manual_entry": False, "electronic": True,
            "kpi_cancelled": False, "kpi_missed": False, "kpi_completed": True,
            "kpi_checked_in": True, "kpi_no_checkout": False, "kpi_planned_seconds": 3600,
            "kpi_lateness_seconds": 300, "event_id": f"out-{visit_id}",
            "recorded_at": f"{day} 23:00+01", "payload": "{}",
            "verification": "in_dispute" if disputed else "verified",
            "verified_gbp": 0 if disputed else gbp, "disputed_gbp": gbp if disputed else 0,
        }  # fmt: skip
        row = {k: v for k, v in row.items() if k in columns}
        conn.execute(
            f"INSERT INTO visit_outcomes ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))})",
            list(row.values()),
        )
    if "visit_latest" in _tables(conn):
        conn.execute("SELECT ecm_rebuild_visit_latest()")
    for refresh, days in (("ecm_refresh_rollups", "local_date"),
                          ("ecm_refresh_client_weeks", "ecm_week_start(local_date)")):  # fmt: skip
        if _has(conn, refresh):  # 0005 and later, else 0004
            conn.execute(
                f"SELECT {refresh}(array_agg(provider_id), array_agg({days}),"
                " array_agg(client_id)) FROM visit_outcomes"
            )
            break


def _tables(conn: psycopg.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables")}


def _has(conn: psycopg.Connection, function: str) -> bool:
    row = conn.execute("SELECT count(*) FROM pg_proc WHERE proname = %s", (function,)).fetchone()
    return bool(row and row[0])


def _rollups(conn: psycopg.Connection) -> dict[str, list[tuple[object, ...]]]:
    return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in ROLLUPS}


def _recomputed(conn: psycopg.Connection) -> dict[str, list[tuple[object, ...]]]:
    """The rollups recomputed from visit_outcomes by the current functions (rolled back)."""
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT ecm_rebuild_visit_latest()")
        conn.execute(
            "SELECT ecm_refresh_rollups(array_agg(provider_id), array_agg(local_date),"
            " array_agg(client_id)) FROM visit_outcomes"
        )
        return _rollups(conn)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_database_migrated_at_a_past_version_ends_with_the_fresh_functions_and_rollups(
    version: str, fresh_functions: list[tuple[object, ...]]
) -> None:
    with fresh_database(ADMIN_DSN, migrated=False) as dsn:
        _apply_released(dsn, version)
        with psycopg.connect(dsn, autocommit=True) as conn:
            _seed(conn)

        applied = migrate(dsn)

        assert applied == [v for v in CURRENT if v > version]
        assert _functions(dsn) == fresh_functions
        with psycopg.connect(dsn, autocommit=True) as conn:
            stored = _rollups(conn)
            assert stored == _recomputed(conn)
            (verified,) = conn.execute("SELECT sum(verified_gbp) FROM kpi_weekly").fetchone() or (
                0,
            )
        assert len(stored["kpi_weekly"]) == 3 and len(stored["kpi_continuity_weekly"]) == 3
        assert verified > 0  # summed since 0014, by the current functions
        assert migrate(dsn) == [] and _functions(dsn) == fresh_functions


def test_a_function_edit_reaches_a_database_already_up_to_date(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE OR REPLACE FUNCTION ecm_week_start(d date) RETURNS date"
                     " LANGUAGE sql IMMUTABLE AS $$ SELECT d $$")  # fmt: skip

        migrate(dsn)

        (monday,) = conn.execute("SELECT ecm_week_start('2024-06-06')").fetchone() or (None,)
    assert monday == date(2024, 6, 3)
