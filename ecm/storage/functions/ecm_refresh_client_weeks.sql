-- Recompute the kpi_client_week rows of the given (provider, week, client) keys from
-- visit_outcomes (parallel arrays), then the weekly continuity of the (provider, week)
-- keys touched. The same in both storage modes. Callers hold the (provider, week) locks.
-- A row is written only where it changes (an unchanged set of carers leaves no dead row)
-- and deleted only where its key lost its last visit with a carer.
CREATE OR REPLACE FUNCTION ecm_refresh_client_weeks(p_provider text[], p_week date[], p_client text[])
RETURNS void LANGUAGE sql AS $$
    WITH k AS (SELECT DISTINCT * FROM unnest(p_provider, p_week, p_client) AS t(p, w, c)),
    fresh AS (
        SELECT k.p, v.lot_id, v.service, k.w, k.c, v.carer_ids
        FROM k CROSS JOIN LATERAL (
            SELECT coalesce(o.lot_id, '') AS lot_id, coalesce(o.service, '') AS service,
                   array_agg(DISTINCT carer ORDER BY carer) AS carer_ids
            FROM visit_outcomes o CROSS JOIN LATERAL unnest(o.carer_ids) AS carer
            WHERE o.client_id = k.c AND o.provider_id = k.p
              AND o.local_date >= k.w AND o.local_date < k.w + 7
            GROUP BY 1, 2
        ) v
    ),
    -- The week range lets the delete use kpi_client_week_week_idx, not scan the table.
    gone AS (
        DELETE FROM kpi_client_week r USING k
        WHERE r.provider_id = k.p AND r.week_start = k.w AND r.client_id = k.c
          AND r.week_start BETWEEN (SELECT min(w) FROM k) AND (SELECT max(w) FROM k)
          AND NOT EXISTS (SELECT 1 FROM fresh f
                          WHERE f.p = r.provider_id AND f.w = r.week_start AND f.c = r.client_id
                            AND f.lot_id = r.lot_id AND f.service = r.service)
    )
    INSERT INTO kpi_client_week AS r (provider_id, lot_id, service, week_start, client_id, carer_ids)
    SELECT * FROM fresh
    ON CONFLICT (provider_id, week_start, client_id, lot_id, service)
    DO UPDATE SET carer_ids = EXCLUDED.carer_ids WHERE r.carer_ids <> EXCLUDED.carer_ids;

    SELECT ecm_refresh_continuity_weeks(p_provider, p_week);
$$;
