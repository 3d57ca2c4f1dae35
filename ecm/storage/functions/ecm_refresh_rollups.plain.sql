-- Recompute the rollups of the given keys (parallel arrays: one element per visit
-- written, with its provider, local day and client; old and new keys of moved visits):
-- kpi_daily's days, then kpi_client_week (and with it kpi_continuity_weekly) and
-- kpi_weekly's weeks. Takes a transaction-level advisory lock per (provider, ISO week)
-- in a fixed order, so concurrent sinks touching the same rows serialise instead of
-- losing updates. visit_outcomes is read one touched key at a time (LATERAL), so each
-- uses the (provider_id, local_date) index of the one partition concerned. The sink
-- adjusts the rollups by the batch's difference instead (ecm_refresh_batch_rollups); this
-- recomputes them (migrations, bulk loaders).
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
               sum(o.disputed_gbp),
               count(*),
               coalesce(sum(o.trust_score), 0),
               count(o.trust_score)
        FROM visit_outcomes o
        WHERE o.provider_id = k.p AND o.local_date = k.d
        GROUP BY 1, 2
    ) v;

    PERFORM ecm_refresh_client_weeks(p_provider, weeks, p_client);
    PERFORM ecm_refresh_kpi_weeks(p_provider, weeks);
END $$;
