-- Set-based sink (ecm/storage/sink.py): plain PostgreSQL flavour.
-- 1. visit_latest: per visit, the day (partition) and rollup keys of its stored outcome,
--    when it was recorded and by which event; maintained by the sink with
--    visit_outcomes, so deciding whether an incoming outcome is stale, identical, moved or
--    new is one index scan of this table for the whole batch instead of a probe (or a
--    scan) of every monthly partition of visit_outcomes per visit. Retention prunes it.
-- 2. The rollup refresh reads visit_outcomes one touched key at a time (LATERAL), so it
--    uses the (provider_id, local_date) and (client_id, local_date) indexes of the one
--    partition concerned whatever the planner thinks of the touched-key count.
-- The TimescaleDB flavour (0007_sink_lookup.timescale.sql) differs only where 0001 and
-- 0005 did (retention drops chunks; kpi_daily maintains itself).

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

-- Forget the visits whose outcome is gone (their partition was dropped).
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

CREATE OR REPLACE FUNCTION ecm_refresh_rollups(p_provider text[], p_date date[], p_client text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lock_key record;
BEGIN
    FOR lock_key IN SELECT DISTINCT t.p, ecm_week_start(t.d) AS w
             FROM unnest(p_provider, p_date) AS t(p, d) ORDER BY 1, 2 LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(lock_key.p || '|' || lock_key.w::text, 4539213));
    END LOOP;

    DELETE FROM kpi_daily r
    USING (SELECT DISTINCT * FROM unnest(p_provider, p_date) AS t(p, d)) k
    WHERE r.provider_id = k.p AND r.local_date = k.d;

    INSERT INTO kpi_daily
    SELECT k.p, v.*
    FROM (SELECT DISTINCT * FROM unnest(p_provider, p_date) AS t(p, d)) k
    CROSS JOIN LATERAL (
        SELECT coalesce(o.lot_id, ''), coalesce(o.service, ''), k.d,
               sum(o.scheduled::int),
               sum(o.kpi_cancelled::int),
               sum(o.kpi_completed::int),
               sum(CASE WHEN o.punctuality = 'on_time' THEN 1 ELSE 0 END),
               sum(CASE WHEN o.punctuality = 'early' THEN 1 ELSE 0 END),
               sum(CASE WHEN o.punctuality = 'late' THEN 1 ELSE 0 END),
               sum(o.kpi_missed::int),
               sum(o.short::int),
               sum(o.kpi_no_checkout::int),
               sum(o.single_handed::int),
               sum(o.manual_entry::int),
               sum(o.kpi_checked_in::int),
               sum(o.electronic::int),
               sum(o.kpi_planned_seconds),
               sum(o.delivered_seconds),
               coalesce(sum(o.kpi_lateness_seconds), 0),
               count(o.kpi_lateness_seconds),
               sum(o.payable_gbp)
        FROM visit_outcomes o
        WHERE o.provider_id = k.p AND o.local_date = k.d
        GROUP BY 1, 2
    ) v;

    PERFORM ecm_refresh_client_weeks(
        p_provider, ARRAY(SELECT ecm_week_start(d) FROM unnest(p_date) WITH ORDINALITY AS t(d, i) ORDER BY i),
        p_client);
END $$;
