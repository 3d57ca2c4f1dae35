"""Versioned SQL migrations, safe to run twice and by several processes at once.

Migrations are files in ``ecm/storage/migrations`` named ``NNNN_what.sql``. A migration
may come in two flavours, ``NNNN_what.timescale.sql`` and ``NNNN_what.plain.sql``: the
first is applied when the TimescaleDB extension is available, the second otherwise, so
the same version means the same tables and queries in both modes. Each migration runs
in its own transaction under an advisory lock and is recorded in ``schema_migrations``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from ecm.storage.exceptions import MigrationError

_NAME = re.compile(
    r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)(?:\.(?P<flavour>timescale|plain))?\.sql$"
)
_LOCK_ID = 0x45434D  # "ECM": serialises concurrent migrators


@dataclass(frozen=True)
class Migration:
    """One versioned step of the schema."""

    version: str
    name: str
    sql: str


def timescale_available(conn: psycopg.Connection) -> bool:
    """Whether the TimescaleDB extension can be (or already is) used in this database."""
    row = conn.execute(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    return bool(row and row[0])


def load_migrations(timescale: bool) -> list[Migration]:
    """Return the migrations to apply in order, picking each version's flavour."""
    chosen: dict[str, Migration] = {}
    files = resources.files("ecm.storage") / "migrations"
    for entry in sorted(files.iterdir(), key=lambda e: e.name):
        match = _NAME.match(entry.name)
        if not match:
            if entry.name.endswith(".sql"):
                raise MigrationError(f"{entry.name}: expected NNNN_name[.timescale|.plain].sql")
            continue
        flavour = match["flavour"]
        if flavour == ("plain" if timescale else "timescale"):
            continue
        version = match["version"]
        if version in chosen and flavour is None:
            raise MigrationError(f"{entry.name}: version {version} is used twice")
        chosen[version] = Migration(version, match["name"], entry.read_text())
    return [chosen[v] for v in sorted(chosen)]


def migrate(dsn: str) -> list[str]:
    """Bring the database at ``dsn`` up to date.

    Returns:
        The versions applied by this call (empty when already up to date).

    Raises:
        MigrationError: a migration failed; it is rolled back and later ones not run.

    """
    applied: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            timescale = timescale_available(conn)
            if timescale:
                conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            for migration in load_migrations(timescale):
                if migration.version in done:
                    continue
                _apply(conn, migration)
                applied.append(migration.version)
            _ensure_partitions(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied


def _ensure_partitions(conn: psycopg.Connection) -> None:
    # Plain mode: keep monthly partitions created from last month to 3 months ahead
    # (a no-op function in Timescale mode). Absent before migration 0001.
    row = conn.execute("SELECT to_regprocedure('ecm_ensure_partitions(date, integer)')").fetchone()
    if row and row[0]:
        conn.execute(
            "SELECT ecm_ensure_partitions("
            "(date_trunc('month', now()) - interval '1 month')::date, 4)"
        )


def _apply(conn: psycopg.Connection, migration: Migration) -> None:
    try:
        with conn.transaction():
            # Migrations are files shipped with the package, not user input.
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
    except psycopg.Error as exc:
        name = f"{migration.version}_{migration.name}"
        raise MigrationError(f"migration {name} failed: {exc}") from exc
