-- Set-based sink (ecm/storage/sink.py): TimescaleDB flavour.
-- 1. visit_latest: per visit, the day (partition) and rollup keys of its stored outcome,
--    when it was recorded and by which event; maintained by the sink with
--    visit_outcomes, so deciding whether an incoming outcome is stale, identical, moved or
--    new is one index scan of this table for the whole batch instead of a probe (or a
--    scan) of every chunk of visit_outcomes per visit. Retention prunes it.
-- 2. The rollup refresh reads visit_outcomes one touched key at a time (LATERAL), so it
--    uses the (provider_id, local_date) and (client_id, local_date) indexes of the one
--    chunk concerned whatever the planner thinks of the touched-key count.
-- Same as 0007_sink_lookup.plain.sql except retention (drops chunks) and the rollup
-- refresh, which keeps 0005's (kpi_daily is a continuous aggregate here; the client
-- weeks it refreshes use the function below). Cannot be exercised in CI.

-- Mirrors visit_outcomes: whatever empties visit_outcomes (TRUNCATE in tests) empties it too.
CREATE TABLE visit_latest (
    visit_id    text        PRIMARY KEY,
    local_date  date        NOT NULL,
    provider_id text        NOT NULL,
    client_id   text        NOT NULL,
    recorded_at timestamptz NOT NULL,
    event_id    text        NOT NULL
);

-- Rebuild visit_latest from visit_outcomes: run here, and by bulk loaders that write
-- visit_outcomes without the sink (the sink keeps it up to date itself).
CREATE FUNCTION ecm_rebuild_visit_latest() RETURNS bigint LANGUAGE sql AS $$
    DELETE FROM visit_latest;
    WITH inserted AS (
        INSERT INTO visit_latest
            (visit_id, local_date, provider_id, client_id, recorded_at, event_id)
        SELECT DISTINCT ON (visit_id) visit_id, local_date, provider_id, client_id,
               recorded_at, event_id
        FROM visit_outcomes
        ORDER BY visit_id, recorded_at DESC
        RETURNING 1
    )
    SELECT count(*) FROM inserted;
$$;
SELECT ecm_rebuild_visit_latest();

-- Forget the visits whose outcome is gone (their chunk was dropped).
CREATE FUNCTION ecm_prune_visit_latest(p_before date) RETURNS void LANGUAGE sql AS $$
    DELETE FROM visit_latest d
    WHERE d.local_date < p_before
      AND NOT EXISTS (SELECT 1 FROM visit_outcomes o
                      WHERE o.visit_id = d.visit_id AND o.local_date = d.local_date);
$$;

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
END $$;

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
$$;
