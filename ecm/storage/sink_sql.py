"""SQL of the sink, as named constants (composed once from the column lists in ``rows``)."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from ecm.storage.rows import (
    ALERT_HISTORY_COLUMNS,
    ALERT_RAISED_COLUMNS,
    ALERT_RESOLVED_COLUMNS,
    EXCEPTION_COLUMNS,
    EXCEPTION_STATUS_COLUMNS,
    MONITORING_COLUMNS,
    OUTCOME_COLUMNS,
    RAW_EVENT_COLUMNS,
    WORKFLOW_ACT_COLUMNS,
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


@dataclass(frozen=True)
class Staged:
    """A staging table the sink COPYs a batch into, and the columns it fills.

    The COPY is binary: a row's values go as the columns' own types, with no text to
    write or parse on either side (half the time of a text COPY of the same outcome
    rows into the same staging table: 4.4 against 9.8 µs a row, for the storage
    benchmark's generated rows). ``STAGED_TYPES`` gives the types, in order.
    """

    table: str
    columns: tuple[str, ...]

    @property
    def copy(self) -> sql.Composed:
        """The ``COPY ... FROM STDIN (FORMAT BINARY)`` of its columns."""
        return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(self.table), _names(self.columns))


STAGED_TYPES = (
    "SELECT a.atttypid::int FROM unnest(%s::text[]) WITH ORDINALITY AS c(name, n)"
    " JOIN pg_attribute a ON a.attrelid = %s::regclass AND a.attname = c.name ORDER BY c.n"
)
"""The type of each column of a staging table, in the order given (``Staged``)."""

ENSURE_PARTITIONS = "SELECT ecm_ensure_partitions(%s, 1)"

_UPDATED = tuple(c for c in OUTCOME_COLUMNS if c not in ("visit_id", "local_date"))

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
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_replaced (LIKE visit_outcomes) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_prior (
    visit_id text, local_date date, stale boolean, moved boolean) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_raised (LIKE alerts INCLUDING DEFAULTS)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_resolved (LIKE alerts INCLUDING DEFAULTS)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_exceptions (LIKE visit_exceptions INCLUDING DEFAULTS)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_acts (LIKE workflow_acts INCLUDING DEFAULTS)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS ecm_stage_history (LIKE alert_history) ON COMMIT DELETE ROWS;
"""

COPY_RAW = Staged("ecm_stage_raw", RAW_EVENT_COLUMNS)
CLIENT_REGISTRATIONS = "SELECT payload FROM clients WHERE client_id = ANY(%s)"
MEASURE_CALL = ("UPDATE raw_events SET distance_m = %s"
                " WHERE event_id = %s AND occurred_at = %s AND distance_m IS NULL")
"""A stored call's distance, once its client's registration has arrived."""
"""Every registration of some clients (their locations, for the calls' distances)."""
INSERT_RAW = sql.SQL("INSERT INTO raw_events SELECT * FROM ecm_stage_raw ON CONFLICT DO NOTHING")

COPY_OUTCOMES = Staged("ecm_stage_outcomes", OUTCOME_COLUMNS)

# What is stored of each staged visit: its day from visit_latest, then when and by which
# event its outcome was recorded, from that day's partition of visit_outcomes. A plain
# join of the staged visits with visit_latest: the planner probes its index per staged
# visit when the table is large, and hashes it when it is small. It used to be filtered
# by = ANY (ARRAY(SELECT visit_id FROM ecm_stage_outcomes)), an array the planner takes
# for ten elements: while visit_latest was young (a new database, its statistics behind
# its growth) it then scanned the whole table testing each row against every element of
# the array, 28 ms a batch and a fifth of the sink's time for the simulated week.
# Stale: older than the stored outcome, or the same event (events are immutable: the same
# event_id is the same payload), so a redelivery changes nothing. Moved: stored on
# another day.
FIND_PRIOR = """
INSERT INTO ecm_stage_prior
SELECT s.visit_id, v.local_date,
       coalesce(o.recorded_at > s.recorded_at
                OR (o.recorded_at = s.recorded_at AND o.event_id = s.event_id
                    AND v.local_date = s.local_date), false),
       v.local_date <> s.local_date
FROM visit_latest v JOIN ecm_stage_outcomes s ON s.visit_id = v.visit_id
LEFT JOIN visit_outcomes o ON o.visit_id = v.visit_id AND o.local_date = v.local_date
"""

DROP_STALE_OUTCOMES = """
DELETE FROM ecm_stage_outcomes s USING ecm_stage_prior p WHERE p.visit_id = s.visit_id AND p.stale
"""

# A visit moved to another day lives in another partition: its old row is deleted by key
# (rare, so one point delete each, pruned to the old day's partition).
MOVED_OUTCOMES = "SELECT visit_id, local_date FROM ecm_stage_prior WHERE moved AND NOT stale"
DELETE_OUTCOME = "DELETE FROM visit_outcomes WHERE visit_id = %s AND local_date = %s"

# The stored versions the batch replaces (moved or not), for the rollups' difference:
# one index scan of each partition of the days concerned. A range of days, not a list:
# the executor prunes the partitions outside a range of parameters, not those outside a
# list (measured: probing every monthly partition tripled the cost of a revision).
KEEP_REPLACED = """
INSERT INTO ecm_stage_replaced
SELECT o.* FROM visit_outcomes o
WHERE o.visit_id = ANY (ARRAY(SELECT visit_id FROM ecm_stage_prior WHERE NOT stale))
  AND o.local_date BETWEEN (SELECT min(local_date) FROM ecm_stage_prior WHERE NOT stale)
                       AND (SELECT max(local_date) FROM ecm_stage_prior WHERE NOT stale)
  AND EXISTS (SELECT 1 FROM ecm_stage_prior p
              WHERE p.visit_id = o.visit_id AND p.local_date = o.local_date AND NOT p.stale)
"""

# A revision on the same day updates its row; partitions leave a fifth of each page free
# so the new version can stay in its page with no index entry (a HOT update), which 30%
# of the simulated week's revisions were (bench_storage): the others change the trust
# score, a column of visit_outcomes_trust_idx's predicate, or find their page full, and
# leave a dead row for autovacuum. A new visit, or one moved to another day (its old row
# deleted), is a plain insert. Neither needs ON CONFLICT: the prior
# lookup said which is which, and a sink racing another for the same new visit fails
# its batch on the key, to write it again as a revision.
UPDATE_OUTCOMES = sql.SQL(
    "UPDATE visit_outcomes o SET ({cols}) = ({values}) FROM ecm_stage_outcomes s"
    " WHERE o.visit_id = ANY (ARRAY(SELECT visit_id FROM ecm_stage_prior"
    "                               WHERE NOT stale AND NOT moved))"
    " AND o.local_date BETWEEN (SELECT min(local_date) FROM ecm_stage_prior"
    "                           WHERE NOT stale AND NOT moved)"
    "                      AND (SELECT max(local_date) FROM ecm_stage_prior"
    "                           WHERE NOT stale AND NOT moved)"
    " AND s.visit_id = o.visit_id AND s.local_date = o.local_date"
).format(
    cols=_names(_UPDATED),
    values=sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in _UPDATED),
)

INSERT_OUTCOMES = sql.SQL(
    "INSERT INTO visit_outcomes ({cols}) SELECT {cols} FROM ecm_stage_outcomes s"
    " WHERE NOT EXISTS (SELECT 1 FROM ecm_stage_prior p"
    "                   WHERE p.visit_id = s.visit_id AND NOT p.stale AND NOT p.moved)"
).format(cols=_names(OUTCOME_COLUMNS))

INSERT_ALL_OUTCOMES = sql.SQL(
    "INSERT INTO visit_outcomes ({cols}) SELECT {cols} FROM ecm_stage_outcomes"
).format(cols=_names(OUTCOME_COLUMNS))
"""The insert when no visit of the batch is stored yet."""

UPDATE_VISIT_LATEST = """
UPDATE visit_latest v SET local_date = s.local_date
FROM ecm_stage_outcomes s
WHERE v.visit_id = ANY (ARRAY(SELECT visit_id FROM ecm_stage_prior WHERE moved AND NOT stale))
  AND s.visit_id = v.visit_id
"""

INSERT_VISIT_LATEST = """
INSERT INTO visit_latest (visit_id, local_date)
SELECT visit_id, local_date
FROM ecm_stage_outcomes s
WHERE NOT EXISTS (SELECT 1 FROM ecm_stage_prior p WHERE p.visit_id = s.visit_id)
"""

# Once per batch: the rollups gain the difference between the new versions and those
# they replace (ecm/storage/functions/ecm_refresh_batch_rollups.*).
REFRESH_BATCH_ROLLUPS = "SELECT ecm_refresh_batch_rollups()"

COPY_RAISED = Staged("ecm_stage_raised", ALERT_RAISED_COLUMNS)
COPY_RESOLVED = Staged("ecm_stage_resolved", ALERT_RESOLVED_COLUMNS)
COPY_EXCEPTIONS = Staged("ecm_stage_exceptions", EXCEPTION_COLUMNS)

# An alert keeps its first raise and the last resolution sent; either may arrive first.
# The staging tables hold at most one row per alert (the sink keeps the earliest raise and
# the last resolution of a batch). A raise and its resolution in one batch are one insert
# (no dead row); a stored alert is updated only by what changes it.
_RAISE_WINS = "EXCLUDED.raised_at < coalesce(alerts.raised_at, 'infinity')"
_RESOLVE_WINS = (
    "(EXCLUDED.resolved_at IS NOT NULL AND (alerts.resolved_at IS DISTINCT FROM"
    " EXCLUDED.resolved_at OR alerts.resolution IS DISTINCT FROM EXCLUDED.resolution))"
)
_ALERT_STEP_COLUMNS = (*ALERT_RAISED_COLUMNS, *ALERT_RESOLVED_COLUMNS[4:])
UPSERT_ALERTS = sql.SQL(
    "INSERT INTO alerts ({cols})"
    " SELECT coalesce(r.alert_id, s.alert_id), coalesce(r.kind, s.kind),"
    " coalesce(r.visit_id, s.visit_id), coalesce(r.provider_id, s.provider_id), {raised},"
    " {resolved} FROM ecm_stage_raised r FULL JOIN ecm_stage_resolved s USING (alert_id)"
    " ON CONFLICT (alert_id) DO UPDATE SET {raise_set}, {resolve_set},"
    " resolved_learned_at = CASE WHEN {resolve_wins} THEN coalesce("
    "   EXCLUDED.resolved_learned_at, alerts.resolved_learned_at)"
    "   ELSE alerts.resolved_learned_at END"
    " WHERE {raise_wins} OR {resolve_wins}"
).format(
    cols=_names(_ALERT_STEP_COLUMNS),
    raised=sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(c))
                              for c in ALERT_RAISED_COLUMNS[4:]),
    resolved=sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c))
                                for c in ALERT_RESOLVED_COLUMNS[4:]),
    raise_set=sql.SQL(", ").join(
        sql.SQL("{c} = CASE WHEN {w} THEN EXCLUDED.{c} ELSE alerts.{c} END").format(
            c=sql.Identifier(c), w=sql.SQL(_RAISE_WINS))
        for c in ALERT_RAISED_COLUMNS[4:]),
    resolve_set=sql.SQL(", ").join(
        sql.SQL("{c} = CASE WHEN {w} THEN EXCLUDED.{c} ELSE alerts.{c} END").format(
            c=sql.Identifier(c), w=sql.SQL(_RESOLVE_WINS))
        for c in ALERT_RESOLVED_COLUMNS[4:-1]),
    raise_wins=sql.SQL(_RAISE_WINS),
    resolve_wins=sql.SQL(_RESOLVE_WINS),
)

# Run before UPSERT_ALERTS: a stored raise or resolution the batch replaces is kept in
# alert_history as it was first told, so the alert's timeline still shows it (readers
# take a raise or resolution from the alerts row only when alert_history has no row of
# its event id). The raise and resolution ecm gives an alert's id are otherwise never
# copied there (storage migration 0023); their ids are derived by ecm_alert_record.
KEEP_REPLACED_ALERT_STEPS = (
    "INSERT INTO alert_history (event_id, alert_id, action, tier, by_user, by_role, code,"
    " occurred_at, learned_at)"
    " SELECT ecm_alert_record(a) ->> 'raised_event_id', a.alert_id, 'raised',"
    " 'provider_on_call', 'ecm', 'system', NULL, a.raised_at, a.raised_learned_at"
    " FROM ecm_stage_raised s JOIN alerts a ON a.alert_id = s.alert_id"
    " WHERE s.raised_at < a.raised_at"
    " UNION ALL"
    " SELECT ecm_alert_record(a) ->> 'resolved_event_id', a.alert_id,"
    " 'resolved', NULL, 'ecm', 'system', a.resolution, a.resolved_at, a.resolved_learned_at"
    " FROM ecm_stage_resolved s JOIN alerts a ON a.alert_id = s.alert_id"
    " WHERE s.resolved_at <> a.resolved_at OR s.resolution <> a.resolution"
    " ON CONFLICT (alert_id, (coalesce(event_id, ':' || tier))) DO NOTHING"
)

# An exception raised again after it was resolved is open again; the same raise sent
# twice changes nothing.
UPSERT_EXCEPTIONS = sql.SQL(
    "INSERT INTO visit_exceptions ({cols}) SELECT {cols} FROM ecm_stage_exceptions"
    " ON CONFLICT (exception_id) DO UPDATE SET resolved_at = NULL,"
    " status = CASE WHEN visit_exceptions.resolved_at IS NOT NULL"
    "   AND visit_exceptions.status = 'settled' THEN 'open' ELSE visit_exceptions.status END,"
    " detail = EXCLUDED.detail, detected_at = EXCLUDED.detected_at,"
    " event_id = EXCLUDED.event_id"
    " WHERE visit_exceptions.resolved_at IS NOT NULL"
    " OR visit_exceptions.event_id IS DISTINCT FROM EXCLUDED.event_id"
).format(cols=_names(EXCEPTION_COLUMNS))

# Facts settle an exception whatever its workflow state, except one already accepted
# (docs/rules.md, "Closing the loop"); the engine's ExceptionStatusChanged says so too.
RESOLVE_EXCEPTION = (
    "UPDATE visit_exceptions SET resolved_at = %s, resolved_event_id = %s,"
    " status = CASE WHEN status = 'accepted' THEN status ELSE 'settled' END"
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


# --------------------------------------------------------------------------- closing the loop

COPY_ACTS = Staged("ecm_stage_acts", WORKFLOW_ACT_COLUMNS)
INSERT_ACTS = sql.SQL(
    "INSERT INTO workflow_acts ({cols}) SELECT {cols} FROM ecm_stage_acts"
    " ON CONFLICT (event_id) DO NOTHING"
).format(cols=_names(WORKFLOW_ACT_COLUMNS))

COPY_HISTORY = Staged("ecm_stage_history", ALERT_HISTORY_COLUMNS)
# Every AlertHandled; a raise or resolution only when its alerts row, once written, holds
# another of its kind (an earlier raise, a later resolution, another event id): the one
# it holds is read from there. Run after the alerts are written.
INSERT_HISTORY = sql.SQL(
    "INSERT INTO alert_history ({cols})"
    " SELECT DISTINCT ON (alert_id, coalesce(event_id, ':' || tier)) {cols}"
    " FROM ecm_stage_history h"
    " WHERE h.action NOT IN ('raised', 'resolved') OR NOT EXISTS ("
    "   SELECT 1 FROM alerts a WHERE a.alert_id = h.alert_id"
    "   AND h.event_id = ecm_alert_record(a) ->> (h.action || '_event_id'))"
    " ORDER BY alert_id, coalesce(event_id, ':' || tier)"
    " ON CONFLICT (alert_id, (coalesce(event_id, ':' || tier))) DO NOTHING"
).format(cols=_names(ALERT_HISTORY_COLUMNS))

# One move of an exception, in the order ecm sent them. A move judged before the stored
# one (a redelivery of an older record) changes nothing; a row whose raise is not stored
# yet is created, the raise filling it in later.
UPSERT_EXCEPTION_STATUS = sql.SQL(
    "INSERT INTO visit_exceptions ({cols}, reason_code, explained_at, decided_at)"
    " VALUES ({values},"
    " CASE WHEN %(status)s::text = 'explained' THEN %(status_code)s::text END,"
    " CASE WHEN %(status)s::text = 'explained' THEN %(status_at)s::timestamptz END,"
    " CASE WHEN %(status)s::text IN ('accepted', 'rejected')"
    "   THEN %(status_at)s::timestamptz END)"
    " ON CONFLICT (exception_id) DO UPDATE SET"
    " status = EXCLUDED.status, status_code = EXCLUDED.status_code,"
    " status_by = EXCLUDED.status_by, status_at = EXCLUDED.status_at,"
    " status_note = EXCLUDED.status_note, status_event_id = EXCLUDED.status_event_id,"
    " status_learned_at = EXCLUDED.status_learned_at,"
    " reason_code = coalesce(EXCLUDED.reason_code, visit_exceptions.reason_code),"
    " explained_at = coalesce(EXCLUDED.explained_at, visit_exceptions.explained_at),"
    " decided_at = coalesce(EXCLUDED.decided_at, visit_exceptions.decided_at)"
    " WHERE visit_exceptions.status_event_id IS DISTINCT FROM EXCLUDED.status_event_id"
    " AND (visit_exceptions.status_learned_at IS NULL"
    "      OR visit_exceptions.status_learned_at <= EXCLUDED.status_learned_at)"
).format(
    cols=_names(EXCEPTION_STATUS_COLUMNS),
    values=sql.SQL(", ").join(sql.Placeholder(c) for c in EXCEPTION_STATUS_COLUMNS),
)

# What an AlertHandled changes on the alert, by its action; the tier is always who has
# the alert after it. A monitor-only record comes before its raise: it creates the row.
# action_taken: the acknowledgement's, from the act (kept in workflow_acts) when the
# record's note does not say it. A record already in alert_history (a redelivery) changes
# nothing: its key there is (alert_id, coalesce(event_id, ':' || tier)), event_id NULL for
# the id ecm gives an escalation on timeout (storage migration 0023).
UPSERT_ALERT_HANDLED = sql.SQL(
    "INSERT INTO alerts (alert_id, kind, visit_id, provider_id, client_id, tier, monitor_only)"
    " VALUES (%(alert_id)s, %(kind)s, %(visit_id)s, %(provider_id)s, %(client_id)s, %(tier)s,"
    " %(action)s::text = 'monitor_only')"
    " ON CONFLICT (alert_id) DO UPDATE SET tier = EXCLUDED.tier,"
    " monitor_only = alerts.monitor_only OR EXCLUDED.monitor_only,"
    " acknowledged_at = CASE WHEN %(action)s::text = 'acknowledged'"
    "   THEN %(occurred_at)s::timestamptz ELSE alerts.acknowledged_at END,"
    " acknowledged_by = CASE WHEN %(action)s::text = 'acknowledged' THEN %(by_user)s::text"
    "   ELSE alerts.acknowledged_by END,"
    " action_taken = CASE WHEN %(action)s::text = 'acknowledged' THEN coalesce(%(note)s::text,"
    "   (SELECT a.payload ->> 'action_taken' FROM workflow_acts a"
    "    WHERE a.event_id = %(caused_by)s::text), alerts.action_taken)"
    "   ELSE alerts.action_taken END,"
    " escalated_at = CASE WHEN %(action)s::text = 'escalated'"
    "   THEN %(occurred_at)s::timestamptz ELSE alerts.escalated_at END,"
    " closed_at = CASE WHEN %(action)s::text = 'closed' THEN %(occurred_at)s::timestamptz"
    "   ELSE alerts.closed_at END,"
    " closed_by = CASE WHEN %(action)s::text = 'closed' THEN %(by_user)s::text"
    "   ELSE alerts.closed_by END,"
    " outcome_code = CASE WHEN %(action)s::text = 'closed' THEN %(code)s::text"
    "   ELSE alerts.outcome_code END"
    " WHERE NOT EXISTS (SELECT 1 FROM alert_history h"
    "   WHERE h.alert_id = %(alert_id)s AND coalesce(h.event_id, ':' || h.tier)"
    "   = coalesce(%(event_id)s::text, ':' || %(tier)s::text))"
)

UPSERT_MONITORING = sql.SQL(
    "INSERT INTO alert_monitoring ({cols}) VALUES ({values})"
    " ON CONFLICT (monitoring_id) DO UPDATE SET {updates}"
    " WHERE alert_monitoring.recorded_at <= EXCLUDED.recorded_at"
    " AND alert_monitoring.event_id IS DISTINCT FROM EXCLUDED.event_id"
).format(
    cols=_names(MONITORING_COLUMNS),
    values=_placeholders(MONITORING_COLUMNS),
    updates=_set_excluded(MONITORING_COLUMNS[1:]),
)
