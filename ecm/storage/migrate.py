"""Versioned schema migrations and the SQL functions, safe to run twice and at once.

Migrations are files in ``ecm/storage/migrations`` named ``NNNN_what.sql``; they change
the schema and never define a function. Functions live one per file in
``ecm/storage/functions`` named after the function (``ecm_refresh_rollups.sql``), each a
``CREATE OR REPLACE`` with every clause and grant the function needs; ``migrate`` applies
them all on every run, after the migrations, so a change to a function is one edit and
reaches databases migrated long ago as it reaches a new one.

A migration that must fill or recompute data with those functions puts that SQL after a
line ``-- ecm:refresh``: it runs after the functions are applied, in the same transaction
as the migration, so it always calls the current functions on the current schema (write
it to stay valid as the schema grows: call functions rather than restate them).

Both kinds of file may come in two flavours, ``NAME.timescale.sql`` and ``NAME.plain.sql``:
the first is applied when the TimescaleDB extension is available, the second otherwise,
so the same version means the same tables and queries in both modes. A function whose
signature changes, or that is no longer wanted, is dropped by a migration (``CREATE OR
REPLACE`` cannot change a return type). The pending migrations, the functions and the
refreshes run in one transaction under an advisory lock, and each migration is recorded in
``schema_migrations``: a failure leaves the database as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql

from ecm.storage.exceptions import MigrationError

_MIGRATION = re.compile(
    r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)(?:\.(?P<flavour>timescale|plain))?\.sql$"
)
_FUNCTION = re.compile(r"^(?P<name>ecm_[a-z0-9_]+)(?:\.(?P<flavour>timescale|plain))?\.sql$")
_REFRESH = re.compile(r"^-- ecm:refresh\b.*$", re.MULTILINE)
_LOCK_ID = 0x45434D  # "ECM": serialises concurrent migrators


@dataclass(frozen=True)
class Migration:
    """One versioned step of the schema, and the data refresh it needs, if any."""

    version: str
    name: str
    sql: str
    refresh: str = ""


@dataclass(frozen=True)
class SqlFunction:
    """The file defining one SQL function (with its grants)."""

    name: str
    sql: str


def timescale_available(conn: psycopg.Connection) -> bool:
    """Whether the TimescaleDB extension can be (or already is) used in this database."""
    row = conn.execute(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    return bool(row and row[0])


def _flavoured(
    folder: str, pattern: re.Pattern[str], key: str, timescale: bool
) -> list[tuple[str, re.Match[str], str]]:
    """The (key, match, text) of each file of ``folder`` for this mode, sorted by key."""
    chosen: dict[str, tuple[str, re.Match[str], str]] = {}
    files = resources.files("ecm.storage") / folder
    for entry in sorted(files.iterdir(), key=lambda e: e.name):
        match = pattern.match(entry.name)
        if not match:
            if entry.name.endswith(".sql"):
                raise MigrationError(f"{folder}/{entry.name}: unexpected name")
            continue
        flavour = match["flavour"]
        if flavour == ("plain" if timescale else "timescale"):
            continue
        if match[key] in chosen and flavour is None:
            raise MigrationError(f"{folder}/{entry.name}: {match[key]} is defined twice")
        chosen[match[key]] = (match[key], match, entry.read_text())
    return [chosen[k] for k in sorted(chosen)]


def load_migrations(timescale: bool) -> list[Migration]:
    """Return the migrations to apply in order, picking each version's flavour."""
    migrations = []
    for version, match, text in _flavoured("migrations", _MIGRATION, "version", timescale):
        schema, *refresh = _REFRESH.split(text, maxsplit=1)
        migrations.append(Migration(version, match["name"], schema, "".join(refresh)))
    return migrations


def load_functions(timescale: bool) -> list[SqlFunction]:
    """Return the function files for this mode, by function name."""
    return [
        SqlFunction(name, text)
        for name, _, text in _flavoured("functions", _FUNCTION, "name", timescale)
    ]


def migrate(dsn: str) -> list[str]:
    """Bring the database at ``dsn`` up to date: schema, functions, then refreshes.

    Returns:
        The versions applied by this call (empty when already up to date; the functions
        are applied again all the same).

    Raises:
        MigrationError: a migration, function file or refresh failed; nothing of this
            call is kept.

    """
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
            pending = [m for m in load_migrations(timescale) if m.version not in done]
            with conn.transaction():
                for migration in pending:
                    _apply(conn, migration)
                _apply_functions(conn, load_functions(timescale))
                for migration in pending:
                    _run(conn, f"the refresh of {_label(migration)}", migration.refresh)
            _ensure_partitions(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return [m.version for m in pending]


def _ensure_partitions(conn: psycopg.Connection) -> None:
    # Plain mode: keep monthly partitions created from last month to 3 months ahead
    # (a no-op function in Timescale mode).
    conn.execute(
        "SELECT ecm_ensure_partitions((date_trunc('month', now()) - interval '1 month')::date, 4)"
    )


def _label(migration: Migration) -> str:
    return f"migration {migration.version}_{migration.name}"


def _apply(conn: psycopg.Connection, migration: Migration) -> None:
    _run(conn, _label(migration), migration.sql)
    conn.execute(
        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
        (migration.version, migration.name),
    )


def _apply_functions(conn: psycopg.Connection, functions: Iterable[SqlFunction]) -> None:
    # Bodies are checked once all are defined, so one function may call another whatever
    # the order of their files (as pg_restore does).
    conn.execute("SET LOCAL check_function_bodies = off")
    names = []
    for function in functions:
        _run(conn, f"function file {function.name}", function.sql)
        names.append(function.name)
    conn.execute("SET LOCAL check_function_bodies = on")
    defined = conn.execute(
        "SELECT p.proname, p.oid, l.lanvalidator::regproc::text"
        " FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
        " WHERE p.proname = ANY(%s) AND p.pronamespace = 'public'::regnamespace",
        (names,),
    ).fetchall()
    missing = set(names) - {name for name, _, _ in defined}
    if missing:
        raise MigrationError(f"function files define no function of their name: {missing}")
    for name, oid, validator in defined:
        if validator != "-":
            query = sql.SQL("SELECT {}(%s)").format(sql.Identifier(validator))
            _run(conn, f"function {name}", query, (oid,))


def _run(
    conn: psycopg.Connection,
    what: str,
    statement: str | sql.Composed,
    params: tuple[object, ...] | None = None,
) -> None:
    if isinstance(statement, str) and not statement.strip():
        return
    try:
        # Migrations and functions are files shipped with the package, not user input.
        conn.execute(statement, params)
    except psycopg.Error as exc:
        raise MigrationError(f"{what} failed: {exc}") from exc
