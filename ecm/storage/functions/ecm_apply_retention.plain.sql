-- Drop the partitions of raw_events and visit_outcomes whose whole month is more than
-- p_months months before the current month, then forget their visits in visit_latest
-- and the rota gaps of their days (rota_gaps); returns the names dropped. KPI rollups
-- are kept, so past KPIs stay reportable after their visits are gone; rota realism has
-- none and goes with its gaps (`ecm db retention --months N`).
CREATE OR REPLACE FUNCTION ecm_apply_retention(p_months integer)
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
    PERFORM ecm_prune_visit_latest(cutoff);
    PERFORM ecm_prune_rota_gaps(cutoff);
END $$;
