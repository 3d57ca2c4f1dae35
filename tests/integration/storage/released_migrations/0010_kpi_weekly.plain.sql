-- Weekly KPI rollup per provider × lot × service × ISO week: plain PostgreSQL flavour.
-- The KPI query (ecm/kpi/sql/kpi.sql) reports whole ISO weeks, so it reads these sums of
-- kpi_daily (week_start is the Monday) instead of adding up seven days of rows at every
-- call (~14,000 rows for a month of the Kent league table). A table maintained by
-- ecm_refresh_rollups() with kpi_daily, in the same transaction; the TimescaleDB flavour
-- makes it a continuous aggregate on kpi_daily with the same columns.
-- Safe to run again: it creates what is missing, replaces the functions and rebuilds the
-- table from kpi_daily.
CREATE TABLE IF NOT EXISTS kpi_weekly (
    provider_id       text    NOT NULL,
    lot_id            text    NOT NULL,
    service           text    NOT NULL,
    week_start        date    NOT NULL,
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
    PRIMARY KEY (week_start, provider_id, lot_id, service)
);
CREATE INDEX IF NOT EXISTS kpi_weekly_provider_idx ON kpi_weekly (provider_id, week_start);

-- Recompute the rows of the given (provider, week) keys (parallel arrays) from kpi_daily,
-- one key at a time so each uses kpi_daily_provider_idx. Callers hold the locks.
CREATE OR REPLACE FUNCTION ecm_refresh_kpi_weeks(p_provider text[], p_week date[])
RETURNS void LANGUAGE sql AS $$
    DELETE FROM kpi_weekly r
    USING (SELECT DISTINCT * FROM unnest(p_provider, p_week) AS t(p, w)) k
    WHERE r.provider_id = k.p AND r.week_start = k.w;

    INSERT INTO kpi_weekly
    SELECT k.p, v.*
    FROM (SELECT DISTINCT * FROM unnest(p_provider, p_week) AS t(p, w)) k
    CROSS JOIN LATERAL (
        SELECT d.lot_id, d.service, k.w,
               sum(d.visits_planned), sum(d.visits_cancelled), sum(d.visits_completed),
               sum(d.on_time), sum(d.early), sum(d.late), sum(d.missed), sum(d.short),
               sum(d.no_checkout), sum(d.single_handed), sum(d.manual_entries),
               sum(d.checked_in), sum(d.electronic), sum(d.planned_seconds),
               sum(d.delivered_seconds), sum(d.lateness_seconds), sum(d.lateness_visits),
               sum(d.payable_gbp)
        FROM kpi_daily d
        WHERE d.provider_id = k.p AND d.local_date >= k.w AND d.local_date < k.w + 7
        GROUP BY 1, 2
    ) v;
$$;

-- As in 0007, then the weekly rows of the (provider, week) keys touched.
CREATE OR REPLACE FUNCTION ecm_refresh_rollups(p_provider text[], p_date date[], p_client text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lock_key record;
    weeks    date[] := ARRAY(SELECT ecm_week_start(d)
                             FROM unnest(p_date) WITH ORDINALITY AS t(d, i) ORDER BY i);
BEGIN
    FOR lock_key IN SELECT DISTINCT t.p, ecm_week_start(t.d) AS w
             FROM unnest(p_provider, p_date) AS t(p, d) ORDER BY 1, 2 LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(lock_key.p || '|' || lock_key.w::text, 4539213));
    END LOOP;

    DELETE FROM kpi_daily r
    USING (SELECT DISTINCT * FROM unnest(p_provider, p_date) AS t(p, d)) k
    WHERE r.provider_id = k.p AND r.local_date = k.d;

    INSERT INTO kpi_daily
    SELECT k.p, v.*
    FROM (SELECT DISTINCT * FROM unnest(p_provider, p_date) AS t(p, d)) k
    CROSS JOIN LATERAL (
        SELECT coalesce(o.lot_id, ''), coalesce(o.service, ''), k.d,
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
        WHERE o.provider_id = k.p AND o.local_date = k.d
        GROUP BY 1, 2
    ) v;

    PERFORM ecm_refresh_client_weeks(p_provider, weeks, p_client);
    PERFORM ecm_refresh_kpi_weeks(p_provider, weeks);
END $$;

-- Build it for every week already stored. Writers wait meanwhile, so none commits a day
-- the rebuild does not see.
LOCK TABLE kpi_daily IN SHARE MODE;
DELETE FROM kpi_weekly;
SELECT ecm_refresh_kpi_weeks(array_agg(provider_id), array_agg(week_start))
FROM (SELECT DISTINCT provider_id, ecm_week_start(local_date) AS week_start FROM kpi_daily) k;
