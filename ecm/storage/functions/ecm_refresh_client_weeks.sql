-- Recompute the kpi_client_week rows of the given (provider, week, client) keys from
-- visit_outcomes (parallel arrays), then the weekly continuity of the (provider, week)
-- keys touched. The same in both storage modes. Callers hold the (provider, week) locks.
CREATE OR REPLACE FUNCTION ecm_refresh_client_weeks(p_provider text[], p_week date[], p_client text[])
RETURNS void LANGUAGE sql AS $$
    -- The week range lets the delete use kpi_client_week_week_idx, not scan the table.
    DELETE FROM kpi_client_week r
    USING (SELECT DISTINCT * FROM unnest(p_provider, p_week, p_client) AS t(p, w, c)) k
    WHERE r.provider_id = k.p AND r.week_start = k.w AND r.client_id = k.c
      AND r.week_start BETWEEN (SELECT min(w) FROM unnest(p_week) AS w)
                           AND (SELECT max(w) FROM unnest(p_week) AS w);

    INSERT INTO kpi_client_week (provider_id, lot_id, service, week_start, client_id, carer_ids)
    SELECT k.p, v.lot_id, v.service, k.w, k.c, v.carer_ids
    FROM (SELECT DISTINCT * FROM unnest(p_provider, p_week, p_client) AS t(p, w, c)) k
    CROSS JOIN LATERAL (
        SELECT coalesce(o.lot_id, '') AS lot_id, coalesce(o.service, '') AS service,
               array_agg(DISTINCT carer ORDER BY carer) AS carer_ids
        FROM visit_outcomes o CROSS JOIN LATERAL unnest(o.carer_ids) AS carer
        WHERE o.client_id = k.c AND o.provider_id = k.p
          AND o.local_date >= k.w AND o.local_date < k.w + 7
        GROUP BY 1, 2
    ) v;

    SELECT ecm_refresh_continuity_weeks(p_provider, p_week);
$$;
