-- Continuity per provider × lot × service × ISO week, summable: the clients with a
-- check-in that week and, summed over them, their distinct carers (kpi_client_week). The
-- KPI query (ecm/kpi/sql/kpi.sql) divides the sums; it used to count kpi_client_week's
-- rows at every call (one per client and week: ~23,000 for a month of the Kent league
-- table, more than the rest of the query). Lot and service are '' when unknown.
-- Maintained with kpi_client_week by ecm_refresh_client_weeks(), the same function in
-- both storage modes, so this migration has one flavour. Safe to run again: it creates
-- what is missing, replaces the functions and rebuilds the table from kpi_client_week.
CREATE TABLE IF NOT EXISTS kpi_continuity_weekly (
    provider_id text   NOT NULL,
    lot_id      text   NOT NULL,
    service     text   NOT NULL,
    week_start  date   NOT NULL,
    clients     bigint NOT NULL,
    carers      bigint NOT NULL,
    PRIMARY KEY (week_start, provider_id, lot_id, service)
);
CREATE INDEX IF NOT EXISTS kpi_continuity_weekly_provider_idx
    ON kpi_continuity_weekly (provider_id, week_start);

-- Recompute the rows of the given (provider, week) keys (parallel arrays) from
-- kpi_client_week. Callers hold the (provider, week) locks.
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

-- As in 0007, then the weekly continuity of the (provider, week) keys touched.
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

-- Build it for every week already stored. Writers wait meanwhile, so none commits a
-- client week the rebuild does not see.
LOCK TABLE kpi_client_week IN SHARE MODE;
DELETE FROM kpi_continuity_weekly;
SELECT ecm_refresh_continuity_weeks(array_agg(provider_id), array_agg(week_start))
FROM (SELECT DISTINCT provider_id, week_start FROM kpi_client_week) k;
