-- Money follows verification (issue #14): the daily and weekly KPI rollups gain the
-- visits verified and frustrated and the money verified and in dispute, summed from the
-- per-visit columns of migration 0012 (visit_outcomes.verification, verified_gbp,
-- disputed_gbp; a frustrated visit has status 'frustrated'). Plain PostgreSQL flavour:
-- the columns are added and 0010's functions redefined with the new sums, then every
-- stored day and week is recomputed.
ALTER TABLE kpi_daily
    ADD COLUMN IF NOT EXISTS visits_verified   bigint  NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS visits_frustrated bigint  NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS verified_gbp      numeric NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS disputed_gbp      numeric NOT NULL DEFAULT 0;
ALTER TABLE kpi_weekly
    ADD COLUMN IF NOT EXISTS visits_verified   bigint  NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS visits_frustrated bigint  NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS verified_gbp      numeric NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS disputed_gbp      numeric NOT NULL DEFAULT 0;

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
               sum(d.payable_gbp), sum(d.visits_verified), sum(d.visits_frustrated),
               sum(d.verified_gbp), sum(d.disputed_gbp)
        FROM kpi_daily d
        WHERE d.provider_id = k.p AND d.local_date >= k.w AND d.local_date < k.w + 7
        GROUP BY 1, 2
    ) v;
$$;

-- As in 0010, with the verification sums.
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
               sum(o.payable_gbp),
               sum(CASE WHEN o.verification = 'verified' THEN 1 ELSE 0 END),
               sum(CASE WHEN o.status = 'frustrated' THEN 1 ELSE 0 END),
               sum(o.verified_gbp),
               sum(o.disputed_gbp)
        FROM visit_outcomes o
        WHERE o.provider_id = k.p AND o.local_date = k.d
        GROUP BY 1, 2
    ) v;

    PERFORM ecm_refresh_client_weeks(p_provider, weeks, p_client);
    PERFORM ecm_refresh_kpi_weeks(p_provider, weeks);
END $$;

-- Recompute every stored day and week. Writers wait meanwhile.
LOCK TABLE visit_outcomes IN SHARE MODE;
SELECT ecm_refresh_rollups(array_agg(provider_id), array_agg(local_date), array_agg(client_id))
FROM (SELECT DISTINCT provider_id, local_date, client_id FROM visit_outcomes) k;
