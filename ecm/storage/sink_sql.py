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

# Run first in every sink transaction. Staging tables are created once per session and
# emptied at every commit; the sink COPYs a batch into them, then changes each stored table
# with one statement. JIT is off: compiling the plans of these short statements over many
# partitions took seconds (measured on ecm_refresh_rollups and the prior-version lookup),
# far more than running them.
STAGE_TABLES = """
SET LOCAL jit = off;
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_raw (LIKE raw_events INCLUDING DEFAULTS)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_outcomes (LIKE visit_outcomes) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_prior (
    visit_id text, local_date date, provider_id text, client_id text, stale boolean,
    moved boolean) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_raised (LIKE alerts) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_resolved (LIKE alerts) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_exceptions (LIKE visit_exceptions INCLUDING DEFAULTS)
    ON COMMIT DELETE ROWS;
"""

COPY_RAW = sql.SQL("COPY ecm_stage_raw ({}) FROM STDIN").format(_names(RAW_EVENT_COLUMNS))
INSERT_RAW = sql.SQL("INSERT INTO raw_events SELECT * FROM ecm_stage_raw ON CONFLICT DO NOTHING")

COPY_OUTCOMES = sql.SQL("COPY ecm_stage_outcomes ({}) FROM STDIN").format(_names(OUTCOME_COLUMNS))

# What is stored of each staged visit, from visit_latest: one index scan for the whole
# batch (= ANY of an array; a per-row join would rescan an index per visit, and a hash
# join read the whole table, the staging table having no statistics). Stale: older than
# the stored outcome, or the same event (events are immutable: the same event_id is the
# same payload), so a redelivery changes nothing. Moved: stored on another day.
FIND_PRIOR = """
INSERT INTO ecm_stage_prior
SELECT s.visit_id, v.local_date, v.provider_id, v.client_id,
       v.recorded_at > s.recorded_at
       OR (v.recorded_at = s.recorded_at AND v.event_id = s.event_id
           AND v.local_date = s.local_date),
       v.local_date <> s.local_date
FROM visit_latest v JOIN ecm_stage_outcomes s ON s.visit_id = v.visit_id
WHERE v.visit_id = ANY (ARRAY(SELECT visit_id FROM ecm_stage_outcomes))
"""

DROP_STALE_OUTCOMES = """
DELETE FROM ecm_stage_outcomes s USING ecm_stage_prior p WHERE p.visit_id = s.visit_id AND p.stale
"""

# A visit moved to another day lives in another partition: its old row is deleted by key
# (rare, so one point delete each, pruned to the old day's partition).
MOVED_OUTCOMES = "SELECT visit_id, local_date FROM ecm_stage_prior WHERE moved AND NOT stale"
DELETE_OUTCOME = "DELETE FROM visit_outcomes WHERE visit_id = %s AND local_date = %s"

UPSERT_OUTCOMES = sql.SQL(
    "INSERT INTO visit_outcomes ({cols}) SELECT {cols} FROM ecm_stage_outcomes"
    " ON CONFLICT (visit_id, local_date) DO UPDATE SET {updates}"
).format(
    cols=_names(OUTCOME_COLUMNS),
    updates=_set_excluded(tuple(c for c in OUTCOME_COLUMNS if c not in ("visit_id", "local_date"))),
)

UPSERT_VISIT_LATEST = """
INSERT INTO visit_latest (visit_id, local_date, provider_id, client_id, recorded_at, event_id)
SELECT visit_id, local_date, provider_id, client_id, recorded_at, event_id FROM ecm_stage_outcomes
ON CONFLICT (visit_id) DO UPDATE SET local_date = EXCLUDED.local_date,
    provider_id = EXCLUDED.provider_id, client_id = EXCLUDED.client_id,
    recorded_at = EXCLUDED.recorded_at, event_id = EXCLUDED.event_id
"""

# Once per batch: the distinct rollup keys of the new versions and of the old ones they
# replace (the old day of a moved visit, the old provider or client of a corrected one).
REFRESH_TOUCHED_ROLLUPS = """
SELECT ecm_refresh_rollups(array_agg(provider_id), array_agg(local_date), array_agg(client_id))
FROM (SELECT provider_id, local_date, client_id FROM ecm_stage_outcomes
      UNION
      SELECT provider_id, local_date, client_id FROM ecm_stage_prior WHERE NOT stale) t
"""

COPY_RAISED = sql.SQL("COPY ecm_stage_raised ({}) FROM STDIN").format(_names(ALERT_RAISED_COLUMNS))
COPY_RESOLVED = sql.SQL("COPY ecm_stage_resolved ({}) FROM STDIN").format(
    _names(ALERT_RESOLVED_COLUMNS)
)
COPY_EXCEPTIONS = sql.SQL("COPY ecm_stage_exceptions ({}) FROM STDIN").format(
    _names(EXCEPTION_COLUMNS)
)

# An alert keeps its first raise and the last resolution sent; either may arrive first.
# The staging tables hold at most one row per alert (the sink keeps the earliest raise and
# the last resolution of a batch).
UPSERT_ALERT_RAISED = sql.SQL(
    "INSERT INTO alerts ({cols}) SELECT {cols} FROM ecm_stage_raised"
    " ON CONFLICT (alert_id) DO UPDATE SET"
    " client_id = EXCLUDED.client_id, lot_id = EXCLUDED.lot_id, due_at = EXCLUDED.due_at,"
    " raised_at = EXCLUDED.raised_at, raised_event_id = EXCLUDED.raised_event_id"
    " WHERE alerts.raised_at IS NULL OR EXCLUDED.raised_at < alerts.raised_at"
).format(cols=_names(ALERT_RAISED_COLUMNS))

UPSERT_ALERT_RESOLVED = sql.SQL(
    "INSERT INTO alerts ({cols}) SELECT {cols} FROM ecm_stage_resolved"
    " ON CONFLICT (alert_id) DO UPDATE SET"
    " resolved_at = EXCLUDED.resolved_at, resolution = EXCLUDED.resolution,"
    " resolved_event_id = EXCLUDED.resolved_event_id"
    " WHERE alerts.resolved_at IS DISTINCT FROM EXCLUDED.resolved_at"
    " OR alerts.resolution IS DISTINCT FROM EXCLUDED.resolution"
).format(cols=_names(ALERT_RESOLVED_COLUMNS))

# An exception raised again after it was resolved is open again; the same raise sent
# twice changes nothing.
UPSERT_EXCEPTIONS = sql.SQL(
    "INSERT INTO visit_exceptions ({cols}) SELECT {cols} FROM ecm_stage_exceptions"
    " ON CONFLICT (exception_id) DO UPDATE SET resolved_at = NULL,"
    " detail = EXCLUDED.detail, detected_at = EXCLUDED.detected_at,"
    " event_id = EXCLUDED.event_id"
    " WHERE visit_exceptions.resolved_at IS NOT NULL"
    " OR visit_exceptions.event_id IS DISTINCT FROM EXCLUDED.event_id"
).format(cols=_names(EXCEPTION_COLUMNS))

RESOLVE_EXCEPTION = (
    "UPDATE visit_exceptions SET resolved_at = %s, resolved_event_id = %s"
    " WHERE exception_id = %s AND resolved_at IS NULL"
)


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
