-- Daily KPI rollup per provider × lot × service × local day: plain PostgreSQL flavour.
-- A table maintained incrementally: after each batch of outcomes the sink calls
-- ecm_refresh_rollups() for the (provider, day, client) keys the batch touched, in the
-- same transaction. The TimescaleDB flavour makes kpi_daily a continuous aggregate with
-- the same columns, so the KPI queries (ecm/kpi/sql) read either.
-- Columns are sums of the per-visit kpi_* measures; lot and service are '' when unknown.
CREATE TABLE kpi_daily (
    provider_id       text    NOT NULL,
    lot_id            text    NOT NULL,
    service           text    NOT NULL,
    local_date        date    NOT NULL,
    visits_planned    bigint  NOT NULL,
    visits_cancelled  bigint  NOT NULL,
    visits_completed  bigint  NOT NULL,
    on_time           bigint  NOT NULL,
    early             bigint  NOT NULL,
    late              bigint  NOT NULL,
    missed            bigint  NOT NULL,
    short             bigint  NOT NULL,
    no_checkout       bigint  NOT NULL,
    single_handed     bigint  NOT NULL,
    manual_entries    bigint  NOT NULL,
    checked_in        bigint  NOT NULL,
    electronic        bigint  NOT NULL,
    planned_seconds   bigint  NOT NULL,
    delivered_seconds bigint  NOT NULL,
    lateness_seconds  bigint  NOT NULL,
    lateness_visits   bigint  NOT NULL,
    payable_gbp       numeric NOT NULL,
    PRIMARY KEY (local_date, provider_id, lot_id, service)
);
CREATE INDEX kpi_daily_provider_idx ON kpi_daily (provider_id, local_date);

-- Recompute the rollup rows of the given keys (parallel arrays: one element per visit
-- written, with its provider, local day and client; old and new keys of moved visits).
-- Takes a transaction-level advisory lock per (provider, ISO week) in a fixed order, so
-- concurrent sinks touching the same rows serialise instead of losing updates.
CREATE FUNCTION ecm_refresh_rollups(p_provider text[], p_date date[], p_client text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lock_key record;
BEGIN
    FOR lock_key IN SELECT DISTINCT t.p, ecm_week_start(t.d) AS w
             FROM unnest(p_provider, p_date) AS t(p, d) ORDER BY 1, 2 LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(lock_key.p || '|' || lock_key.w::text, 4539213));
    END LOOP;

    DELETE FROM kpi_daily r
    USING (SELECT DISTINCT * FROM unnest(p_provider, p_date) AS t(p, d)) k
    WHERE r.provider_id = k.p AND r.local_date = k.d;

    INSERT INTO kpi_daily
    SELECT o.provider_id, coalesce(o.lot_id, ''), coalesce(o.service, ''), o.local_date,
           sum(o.scheduled::int),
           sum(o.kpi_cancelled::int),
           sum(o.kpi_completed::int),
           sum(CASE WHEN o.punctuality = 'on_time' THEN 1 ELSE 0 END),
           sum(CASE WHEN o.punctuality = 'early' THEN 1 ELSE 0 END),
           sum(CASE WHEN o.punctuality = 'late' THEN 1 ELSE 0 END),
           sum(o.kpi_missed::int),
           sum(o.short::int),
           sum(o.kpi_no_checkout::int),
           sum(o.single_handed::int),
           sum(o.manual_entry::int),
           sum(o.kpi_checked_in::int),
           sum(o.electronic::int),
           sum(o.kpi_planned_seconds),
           sum(o.delivered_seconds),
           coalesce(sum(o.kpi_lateness_seconds), 0),
           count(o.kpi_lateness_seconds),
           sum(o.payable_gbp)
    FROM visit_outcomes o
    WHERE (o.provider_id, o.local_date) IN
          (SELECT DISTINCT * FROM unnest(p_provider, p_date) AS t(p, d))
    GROUP BY 1, 2, 3, 4;

    PERFORM ecm_refresh_client_weeks(
        p_provider, ARRAY(SELECT ecm_week_start(d) FROM unnest(p_date) WITH ORDINALITY AS t(d, i) ORDER BY i),
        p_client);
END $$;
