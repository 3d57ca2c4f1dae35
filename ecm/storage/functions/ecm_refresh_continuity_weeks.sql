-- Recompute the kpi_continuity_weekly rows of the given (provider, week) keys (parallel
-- arrays) from kpi_client_week. Callers hold the (provider, week) locks. A row is
-- written only where it changes and deleted only where its key has no client left.
CREATE OR REPLACE FUNCTION ecm_refresh_continuity_weeks(p_provider text[], p_week date[])
RETURNS void LANGUAGE sql AS $$
    WITH k AS (SELECT DISTINCT * FROM unnest(p_provider, p_week) AS t(p, w)),
    fresh AS (
        SELECT k.p, v.lot_id, v.service, k.w, v.clients, v.carers
        FROM k CROSS JOIN LATERAL (
            SELECT c.lot_id, c.service, count(*) AS clients,
                   sum(cardinality(c.carer_ids)) AS carers
            FROM kpi_client_week c
            WHERE c.provider_id = k.p AND c.week_start = k.w
            GROUP BY 1, 2
        ) v
    ),
    gone AS (
        DELETE FROM kpi_continuity_weekly r USING k
        WHERE r.provider_id = k.p AND r.week_start = k.w
          AND NOT EXISTS (SELECT 1 FROM fresh f
                          WHERE f.p = r.provider_id AND f.w = r.week_start
                            AND f.lot_id = r.lot_id AND f.service = r.service)
    )
    INSERT INTO kpi_continuity_weekly AS r (provider_id, lot_id, service, week_start, clients,
                                            carers)
    SELECT * FROM fresh
    ON CONFLICT (week_start, provider_id, lot_id, service)
    DO UPDATE SET clients = EXCLUDED.clients, carers = EXCLUDED.carers
    WHERE (r.clients, r.carers) IS DISTINCT FROM (EXCLUDED.clients, EXCLUDED.carers);
$$;
