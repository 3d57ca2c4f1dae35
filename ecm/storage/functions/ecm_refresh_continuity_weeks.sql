-- Recompute the kpi_continuity_weekly rows of the given (provider, week) keys (parallel
-- arrays) from kpi_client_week. Callers hold the (provider, week) locks.
CREATE OR REPLACE FUNCTION ecm_refresh_continuity_weeks(p_provider text[], p_week date[])
RETURNS void LANGUAGE sql AS $$
    DELETE FROM kpi_continuity_weekly r
    USING (SELECT DISTINCT * FROM unnest(p_provider, p_week) AS t(p, w)) k
    WHERE r.provider_id = k.p AND r.week_start = k.w;

    INSERT INTO kpi_continuity_weekly (provider_id, lot_id, service, week_start, clients, carers)
    SELECT k.p, v.lot_id, v.service, k.w, v.clients, v.carers
    FROM (SELECT DISTINCT * FROM unnest(p_provider, p_week) AS t(p, w)) k
    CROSS JOIN LATERAL (
        SELECT c.lot_id, c.service, count(*) AS clients, sum(cardinality(c.carer_ids)) AS carers
        FROM kpi_client_week c
        WHERE c.provider_id = k.p AND c.week_start = k.w
        GROUP BY 1, 2
    ) v;
$$;
