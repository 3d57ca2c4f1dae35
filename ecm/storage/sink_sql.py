"""SQL of the sink, as named constants (composed once from the column lists in ``rows``)."""

from __future__ import annotations

from psycopg import sql

from ecm.storage.rows import (
    ALERT_RAISED_COLUMNS,
    ALERT_RESOLVED_COLUMNS,
    EXCEPTION_COLUMNS,
    OUTCOME_COLUMNS,
    RAW_EVENT_COLUMNS,
    ReferenceTable,
)


def _names(columns: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, columns))


def _placeholders(columns: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Placeholder() * len(columns))


def _set_excluded(columns: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns
    )


ENSURE_PARTITIONS = "SELECT ecm_ensure_partitions(%s, 1)"

STAGE_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_raw (LIKE raw_events INCLUDING DEFAULTS)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_outcomes (LIKE visit_outcomes) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_touched (
    provider_id text, local_date date, client_id text) ON COMMIT DELETE ROWS;
"""

COPY_RAW = sql.SQL("COPY ecm_stage_raw ({}) FROM STDIN").format(_names(RAW_EVENT_COLUMNS))
INSERT_RAW = sql.SQL("INSERT INTO raw_events SELECT * FROM ecm_stage_raw ON CONFLICT DO NOTHING")

COPY_OUTCOMES = sql.SQL("COPY ecm_stage_outcomes ({}) FROM STDIN").format(_names(OUTCOME_COLUMNS))

# Incoming outcomes older than the stored one, or identical to it, change nothing.
DROP_STALE_OUTCOMES = """
DELETE FROM ecm_stage_outcomes s USING visit_outcomes o
WHERE o.visit_id = s.visit_id
  AND (o.recorded_at > s.recorded_at OR (o.local_date = s.local_date AND o.payload = s.payload))
"""

# The rollup keys of the old versions (before the upsert) and of the new ones.
RECORD_TOUCHED = """
INSERT INTO ecm_stage_touched
SELECT o.provider_id, o.local_date, o.client_id
FROM visit_outcomes o JOIN ecm_stage_outcomes s USING (visit_id)
UNION ALL
SELECT provider_id, local_date, client_id FROM ecm_stage_outcomes
"""

# A visit moved to another day lives in another partition: drop its old row.
DELETE_MOVED_OUTCOMES = """
DELETE FROM visit_outcomes o USING ecm_stage_outcomes s
WHERE o.visit_id = s.visit_id AND o.local_date <> s.local_date
"""

UPSERT_OUTCOMES = sql.SQL(
    "INSERT INTO visit_outcomes ({cols}) SELECT {cols} FROM ecm_stage_outcomes"
    " ON CONFLICT (visit_id, local_date) DO UPDATE SET {updates}"
).format(
    cols=_names(OUTCOME_COLUMNS),
    updates=_set_excluded(tuple(c for c in OUTCOME_COLUMNS if c not in ("visit_id", "local_date"))),
)

REFRESH_TOUCHED_ROLLUPS = """
SELECT ecm_refresh_rollups(array_agg(provider_id), array_agg(local_date), array_agg(client_id))
FROM (SELECT DISTINCT provider_id, local_date, client_id FROM ecm_stage_touched) t
"""

# An alert keeps its first raise and its latest resolution; either may arrive first.
UPSERT_ALERT_RAISED = sql.SQL(
    "INSERT INTO alerts ({cols}) VALUES ({values}) ON CONFLICT (alert_id) DO UPDATE SET"
    " client_id = EXCLUDED.client_id, lot_id = EXCLUDED.lot_id, due_at = EXCLUDED.due_at,"
    " raised_at = EXCLUDED.raised_at, raised_event_id = EXCLUDED.raised_event_id"
    " WHERE alerts.raised_at IS NULL OR EXCLUDED.raised_at < alerts.raised_at"
).format(cols=_names(ALERT_RAISED_COLUMNS), values=_placeholders(ALERT_RAISED_COLUMNS))

UPSERT_ALERT_RESOLVED = sql.SQL(
    "INSERT INTO alerts ({cols}) VALUES ({values}) ON CONFLICT (alert_id) DO UPDATE SET"
    " resolved_at = EXCLUDED.resolved_at, resolution = EXCLUDED.resolution,"
    " resolved_event_id = EXCLUDED.resolved_event_id"
    " WHERE alerts.resolved_at IS NULL OR EXCLUDED.resolved_at > alerts.resolved_at"
).format(cols=_names(ALERT_RESOLVED_COLUMNS), values=_placeholders(ALERT_RESOLVED_COLUMNS))

INSERT_EXCEPTION = sql.SQL(
    "INSERT INTO visit_exceptions ({cols}) VALUES ({values}) ON CONFLICT (exception_id) DO NOTHING"
).format(cols=_names(EXCEPTION_COLUMNS), values=_placeholders(EXCEPTION_COLUMNS))


def upsert_reference(spec: ReferenceTable) -> sql.Composed:
    """Return the upsert of one reference table: a newer event for a version replaces it."""
    columns = spec.all_columns()
    return sql.SQL(
        "INSERT INTO {table} ({cols}) VALUES ({values})"
        " ON CONFLICT ({key}, effective_from) DO UPDATE SET {updates}"
        " WHERE {table}.recorded_at <= EXCLUDED.recorded_at"
        " AND {table}.payload IS DISTINCT FROM EXCLUDED.payload"
    ).format(
        table=sql.Identifier(spec.table),
        cols=_names(columns),
        values=_placeholders(columns),
        key=sql.Identifier(spec.key),
        updates=_set_excluded(columns[2:]),
    )
