-- Daily KPI rollup per provider × lot × service × local day: TimescaleDB flavour.
-- A continuous aggregate over the visit_outcomes hypertable with the same columns as the
-- plain flavour's table, refreshed by a policy and read in real time (recent days not
-- yet materialised are aggregated on the fly), so the KPI queries read either.
-- ecm_refresh_rollups() keeps only kpi_client_week up to date here.
CREATE MATERIALIZED VIEW kpi_daily
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT o.provider_id,
       coalesce(o.lot_id, '') AS lot_id,
       coalesce(o.service, '') AS service,
       time_bucket(INTERVAL '1 day', o.local_date) AS local_date,
       sum(o.scheduled::int) AS visits_planned,
       sum(o.kpi_cancelled::int) AS visits_cancelled,
       sum(o.kpi_completed::int) AS visits_completed,
       sum(CASE WHEN o.punctuality = 'on_time' THEN 1 ELSE 0 END) AS on_time,
       sum(CASE WHEN o.punctuality = 'early' THEN 1 ELSE 0 END) AS early,
       sum(CASE WHEN o.punctuality = 'late' THEN 1 ELSE 0 END) AS late,
       sum(o.kpi_missed::int) AS missed,
       sum(o.short::int) AS short,
       sum(o.kpi_no_checkout::int) AS no_checkout,
       sum(o.single_handed::int) AS single_handed,
       sum(o.manual_entry::int) AS manual_entries,
       sum(o.kpi_checked_in::int) AS checked_in,
       sum(o.electronic::int) AS electronic,
       sum(o.kpi_planned_seconds) AS planned_seconds,
       sum(o.delivered_seconds) AS delivered_seconds,
       coalesce(sum(o.kpi_lateness_seconds), 0) AS lateness_seconds,
       count(o.kpi_lateness_seconds) AS lateness_visits,
       sum(o.payable_gbp) AS payable_gbp
FROM visit_outcomes o
GROUP BY o.provider_id, coalesce(o.lot_id, ''), coalesce(o.service, ''),
         time_bucket(INTERVAL '1 day', o.local_date)
WITH NO DATA;

-- Materialise the last 3 months every 15 minutes; older changes (rare late corrections)
-- are picked up by `CALL refresh_continuous_aggregate('kpi_daily', from, to)`.
SELECT add_continuous_aggregate_policy('kpi_daily',
    start_offset => INTERVAL '3 months',
    end_offset => INTERVAL '1 day',
    schedule_interval => INTERVAL '15 minutes');

-- Same signature and locking as the plain flavour; kpi_daily maintains itself here.
CREATE FUNCTION ecm_refresh_rollups(p_provider text[], p_date date[], p_client text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lock_key record;
BEGIN
    FOR lock_key IN SELECT DISTINCT t.p, ecm_week_start(t.d) AS w
             FROM unnest(p_provider, p_date) AS t(p, d) ORDER BY 1, 2 LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(lock_key.p || '|' || lock_key.w::text, 4539213));
    END LOOP;
    PERFORM ecm_refresh_client_weeks(
        p_provider, ARRAY(SELECT ecm_week_start(d) FROM unnest(p_date) WITH ORDINALITY AS t(d, i) ORDER BY i),
        p_client);
END $$;
