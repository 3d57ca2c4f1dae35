-- Continuity (distinct carers per client per week) is not summable, so the rollup keeps
-- one row per provider × lot × service × ISO week × client with the carers who checked
-- in; the KPI query averages their counts. Lot and service are '' when unknown.
-- Maintained by ecm_refresh_rollups() in both storage modes (a continuous aggregate
-- cannot take distinct elements of an array).
CREATE TABLE kpi_client_week (
    provider_id text   NOT NULL,
    lot_id      text   NOT NULL,
    service     text   NOT NULL,
    week_start  date   NOT NULL,
    client_id   text   NOT NULL,
    carer_ids   text[] NOT NULL,
    PRIMARY KEY (provider_id, week_start, client_id, lot_id, service)
);
CREATE INDEX kpi_client_week_week_idx ON kpi_client_week (week_start);

-- Recompute the kpi_client_week rows of the given (provider, week, client) keys from
-- visit_outcomes; the arrays are parallel. Callers hold the (provider, week) locks.
CREATE FUNCTION ecm_refresh_client_weeks(p_provider text[], p_week date[], p_client text[])
RETURNS void LANGUAGE sql AS $$
    DELETE FROM kpi_client_week r
    USING (SELECT DISTINCT * FROM unnest(p_provider, p_week, p_client) AS t(p, w, c)) k
    WHERE r.provider_id = k.p AND r.week_start = k.w AND r.client_id = k.c;

    INSERT INTO kpi_client_week (provider_id, lot_id, service, week_start, client_id, carer_ids)
    SELECT o.provider_id, coalesce(o.lot_id, ''), coalesce(o.service, ''), k.w, o.client_id,
           array_agg(DISTINCT carer ORDER BY carer)
    FROM (SELECT DISTINCT * FROM unnest(p_provider, p_week, p_client) AS t(p, w, c)) k
    JOIN visit_outcomes o
      ON o.client_id = k.c AND o.provider_id = k.p
     AND o.local_date >= k.w AND o.local_date < k.w + 7
    CROSS JOIN LATERAL unnest(o.carer_ids) AS carer
    GROUP BY 1, 2, 3, 4, 5;
$$;

-- Monday of the ISO week of a date.
CREATE FUNCTION ecm_week_start(d date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT d - (extract(isodow FROM d)::int - 1) $$;
