-- Same staging tables and locking as the plain flavour; kpi_daily and kpi_weekly are
-- continuous aggregates that maintain themselves here, so only kpi_client_week and
-- kpi_continuity_weekly are brought up to date (ecm_refresh_batch_client_weeks).
CREATE OR REPLACE FUNCTION ecm_refresh_batch_rollups()
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lock_key record;
BEGIN
    FOR lock_key IN SELECT DISTINCT provider_id, ecm_week_start(local_date) AS week
             FROM (SELECT provider_id, local_date FROM ecm_stage_outcomes
                   UNION ALL SELECT provider_id, local_date FROM ecm_stage_replaced) k
             ORDER BY 1, 2 LOOP
        PERFORM pg_advisory_xact_lock(
            hashtextextended(lock_key.provider_id || '|' || lock_key.week::text, 4539213));
    END LOOP;
    PERFORM ecm_refresh_batch_client_weeks();
END $$;
