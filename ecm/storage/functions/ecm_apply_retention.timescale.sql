-- Drop the chunks of raw_events and visit_outcomes more than p_months months before the
-- current month, then forget their visits in visit_latest and the rota gaps of their
-- days (rota_gaps); returns the chunks dropped. KPI rollups are kept; rota realism has
-- none and goes with its gaps.
CREATE OR REPLACE FUNCTION ecm_apply_retention(p_months integer)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    cutoff date := (date_trunc('month', current_date) - make_interval(months => p_months))::date;
BEGIN
    RETURN QUERY
        SELECT drop_chunks('raw_events', older_than => (cutoff::timestamp AT TIME ZONE 'UTC'))::text
        UNION ALL
        SELECT drop_chunks('visit_outcomes', older_than => cutoff)::text;
    PERFORM ecm_prune_visit_latest(cutoff);
    PERFORM ecm_prune_rota_gaps(cutoff);
END $$;
