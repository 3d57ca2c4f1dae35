-- Same signature and locking as the plain flavour; kpi_daily and kpi_weekly are
-- continuous aggregates that maintain themselves here, so only kpi_client_week (and with
-- it kpi_continuity_weekly) is refreshed.
CREATE OR REPLACE FUNCTION ecm_refresh_rollups(p_provider text[], p_date date[], p_client text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lock_key record;
BEGIN
    FOR lock_key IN SELECT DISTINCT t.p, ecm_week_start(t.d) AS w
             FROM unnest(p_provider, p_date) AS t(p, d) ORDER BY 1, 2 LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(lock_key.p || '|' || lock_key.w::text, 4539213));
    END LOOP;
    PERFORM ecm_refresh_client_weeks(
        p_provider, ARRAY(SELECT ecm_week_start(d) FROM unnest(p_date) WITH ORDINALITY AS t(d, i) ORDER BY i),
        p_client);
END $$;
