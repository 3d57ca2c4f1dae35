-- The mean trust score per provider is a KPI (issue #19): the daily and weekly KPI rollups
-- gain the sum of the trust scores and how many visits have one (see the plain flavour).
-- TimescaleDB flavour: a continuous aggregate cannot gain columns, so both are dropped
-- and created again as in 0014 with the new sums; their policies materialise them again.
-- (Cannot be exercised in CI: the extension is not installable there.)
DROP MATERIALIZED VIEW IF EXISTS kpi_weekly;
DROP MATERIALIZED VIEW IF EXISTS kpi_daily;

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
       sum(o.payable_gbp) AS payable_gbp,
       sum(CASE WHEN o.verification = 'verified' THEN 1 ELSE 0 END) AS visits_verified,
       sum(CASE WHEN o.status = 'frustrated' THEN 1 ELSE 0 END) AS visits_frustrated,
       sum(o.verified_gbp) AS verified_gbp,
       sum(o.disputed_gbp) AS disputed_gbp,
       coalesce(sum(o.trust_score), 0) AS trust_sum,
       count(o.trust_score) AS trust_assessed
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

CREATE MATERIALIZED VIEW kpi_weekly
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
       sum(d.payable_gbp) AS payable_gbp,
       sum(d.visits_verified)::bigint AS visits_verified,
       sum(d.visits_frustrated)::bigint AS visits_frustrated,
       sum(d.verified_gbp) AS verified_gbp,
       sum(d.disputed_gbp) AS disputed_gbp,
       sum(d.trust_sum)::bigint AS trust_sum,
       sum(d.trust_assessed)::bigint AS trust_assessed
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

-- 0011's grants went with the dropped views.
GRANT SELECT ON kpi_daily, kpi_weekly TO ecm_api, ecm_sink, ecm_notify;
