-- Storage of events, visit outcomes, alerts and exceptions: plain PostgreSQL flavour.
-- raw_events and visit_outcomes are range-partitioned by month; partitions are created
-- ahead by ecm_ensure_partitions() (called by `ecm db migrate` and by the sink) and
-- dropped by ecm_apply_retention() (`ecm db retention --months N`).
-- The TimescaleDB flavour (0001_storage.timescale.sql) has the same tables and functions.

-- Every accepted input event, never updated; a redelivery (same event_id) is a no-op.
CREATE TABLE raw_events (
    event_id    text        NOT NULL,
    event_type  text        NOT NULL,
    provider_id text,
    visit_id    text,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    payload     jsonb       NOT NULL,
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX raw_events_visit_idx ON raw_events (visit_id, occurred_at);

-- The current outcome of each visit (the latest visit_outcome_recorded wins).
-- local_date (Europe/London day of the planned start) is the partition key; when a visit
-- is moved to another day the sink deletes the old row, so visit_id stays unique.
-- kpi_* columns are what the visit contributes to each KPI (ecm/kpi/measures.py).
CREATE TABLE visit_outcomes (
    visit_id             text        NOT NULL,
    local_date           date        NOT NULL,
    iso_week             text        NOT NULL,
    provider_id          text        NOT NULL,
    lot_id               text,
    service              text,
    tier                 text,
    client_id            text        NOT NULL,
    scheduled            boolean     NOT NULL,
    status               text        NOT NULL,
    cancelled_by         text,
    planned_start        timestamptz,
    planned_end          timestamptz,
    planned_minutes      integer     NOT NULL,
    carers_required      smallint    NOT NULL,
    time_critical        boolean     NOT NULL,
    first_check_in       timestamptz,
    punctuality          text,
    lateness_minutes     integer,
    carer_ids            text[]      NOT NULL,
    delivered_seconds    integer     NOT NULL,
    payable_gbp          numeric(12, 2) NOT NULL,
    short                boolean     NOT NULL,
    single_handed        boolean     NOT NULL,
    manual_entry         boolean     NOT NULL,
    electronic           boolean     NOT NULL,
    max_distance_m       integer,
    kpi_cancelled        boolean     NOT NULL,
    kpi_missed           boolean     NOT NULL,
    kpi_completed        boolean     NOT NULL,
    kpi_checked_in       boolean     NOT NULL,
    kpi_no_checkout      boolean     NOT NULL,
    kpi_planned_seconds  integer     NOT NULL,
    kpi_lateness_seconds integer,
    event_id             text        NOT NULL,
    recorded_at          timestamptz NOT NULL,
    payload              jsonb       NOT NULL,
    PRIMARY KEY (visit_id, local_date)
) PARTITION BY RANGE (local_date);
CREATE INDEX visit_outcomes_provider_idx ON visit_outcomes (provider_id, local_date);
CREATE INDEX visit_outcomes_client_idx ON visit_outcomes (client_id, local_date);

-- Alerts: raised (due_at, raised_at) and later resolved (resolved_at, resolution).
CREATE TABLE alerts (
    alert_id          text PRIMARY KEY,
    kind              text NOT NULL,
    visit_id          text NOT NULL,
    provider_id       text NOT NULL,
    client_id         text,
    lot_id            text,
    due_at            timestamptz,
    raised_at         timestamptz,
    resolved_at       timestamptz,
    resolution        text,
    raised_event_id   text,
    resolved_event_id text
);
CREATE INDEX alerts_open_idx ON alerts (provider_id, raised_at) WHERE resolved_at IS NULL;
CREATE INDEX alerts_visit_idx ON alerts (visit_id);

-- Exceptions to reconcile, one per visit, kind and carer; never dropped.
CREATE TABLE visit_exceptions (
    exception_id text PRIMARY KEY,
    kind         text        NOT NULL,
    visit_id     text        NOT NULL,
    provider_id  text        NOT NULL,
    client_id    text,
    carer_id     text,
    detail       text        NOT NULL DEFAULT '',
    detected_at  timestamptz NOT NULL,
    resolved_at  timestamptz,
    event_id     text        NOT NULL
);
CREATE INDEX visit_exceptions_provider_idx ON visit_exceptions (provider_id, detected_at);
CREATE INDEX visit_exceptions_visit_idx ON visit_exceptions (visit_id);

-- Create the monthly partitions of raw_events (UTC months) and visit_outcomes (local
-- date months) for p_months months from the month of p_from; returns how many were new.
CREATE FUNCTION ecm_ensure_partitions(p_from date, p_months integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    month_start date;
    next_start  date;
    suffix      text;
    created     integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(4539213, 1);  -- one creator at a time
    FOR i IN 0 .. p_months - 1 LOOP
        month_start := (date_trunc('month', p_from) + make_interval(months => i))::date;
        next_start := (month_start + interval '1 month')::date;
        suffix := to_char(month_start, '"_y"YYYY"m"MM');
        IF to_regclass('visit_outcomes' || suffix) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF visit_outcomes FOR VALUES FROM (%L) TO (%L)',
                           'visit_outcomes' || suffix, month_start, next_start);
            created := created + 1;
        END IF;
        IF to_regclass('raw_events' || suffix) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF raw_events FOR VALUES FROM (%L) TO (%L)',
                           'raw_events' || suffix,
                           month_start::timestamp AT TIME ZONE 'UTC',
                           next_start::timestamp AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;

-- Drop the partitions of raw_events and visit_outcomes whose whole month is more than
-- p_months months before the current month; returns the names dropped. KPI rollups are
-- kept, so past KPIs stay reportable after their visits are gone.
CREATE FUNCTION ecm_apply_retention(p_months integer)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    cutoff date := (date_trunc('month', current_date) - make_interval(months => p_months))::date;
    part   record;
BEGIN
    FOR part IN
        SELECT c.relname
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname IN ('raw_events', 'visit_outcomes')
          AND c.relname ~ '_y\d{4}m\d{2}$'
          AND to_date(right(c.relname, 8), '"y"YYYY"m"MM') < cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I', part.relname);
        RETURN NEXT part.relname;
    END LOOP;
END $$;

SELECT ecm_ensure_partitions((current_date - interval '1 month')::date, 4);
