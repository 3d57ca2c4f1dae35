-- Weekly KPI rollup per provider × lot × service × ISO week: TimescaleDB flavour.
-- A hierarchical continuous aggregate on kpi_daily (TimescaleDB 2.9+) with the same columns
-- as the plain flavour's table, read in real time, so the KPI query reads either.
-- time_bucket's weeks of dates start on Mondays (its default origin is Monday 2000-01-03):
-- week_start is the Monday of the ISO week. (Cannot be exercised in CI: the extension is not
-- installable there.)
CREATE MATERIALIZED VIEW IF NOT EXISTS kpi_weekly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT d.provider_id,
       d.lot_id,
       d.service,
       time_bucket(INTERVAL '1 week', d.local_date) AS week_start,
       sum(d.visits_planned)::bigint AS visits_planned,
       sum(d.visits_cancelled)::bigint AS visits_cancelled,
       sum(d.visits_completed)::bigint AS visits_completed,
       sum(d.on_time)::bigint AS on_time,
       sum(d.early)::bigint AS early,
       sum(d.late)::bigint AS late,
       sum(d.missed)::bigint AS missed,
       sum(d.short)::bigint AS short,
       sum(d.no_checkout)::bigint AS no_checkout,
       sum(d.single_handed)::bigint AS single_handed,
       sum(d.manual_entries)::bigint AS manual_entries,
       sum(d.checked_in)::bigint AS checked_in,
       sum(d.electronic)::bigint AS electronic,
       sum(d.planned_seconds)::bigint AS planned_seconds,
       sum(d.delivered_seconds)::bigint AS delivered_seconds,
       sum(d.lateness_seconds)::bigint AS lateness_seconds,
       sum(d.lateness_visits)::bigint AS lateness_visits,
       sum(d.payable_gbp) AS payable_gbp
FROM kpi_daily d
GROUP BY d.provider_id, d.lot_id, d.service, time_bucket(INTERVAL '1 week', d.local_date)
WITH NO DATA;

-- No start offset: the first run materialises every week kpi_daily holds (until then the
-- view aggregates kpi_daily in real time); later runs redo only the weeks invalidated.
SELECT add_continuous_aggregate_policy('kpi_weekly',
    start_offset => NULL,
    end_offset => INTERVAL '1 day',
    schedule_interval => INTERVAL '15 minutes',
    if_not_exists => true);
