-- KPIs of contract monitoring, as defined in DOMAIN.md "Key performance indicators".
-- The ONLY place their formulas are written: the report, the HTTP API and the Grafana
-- dashboards all run this query (ecm.kpi.queries; `grafana_sql('kpi')` for $-variables).
--
-- Every KPI is computed per ISO week (Europe/London) and rolled up: the period selects
-- the ISO weeks whose Monday is in [start, end). Parameters:
--   start, end   local dates;
--   provider_id  one provider, or NULL for all;   lot_id  one lot, or NULL for all;
--   grain        'week'          provider × lot × service × ISO week (kpis.csv of the replay)
--                'provider'      one row per provider over the period (league table)
--                'provider_week' one row per provider and week (trend)
--                'week_total'    one row per week over every provider (overall trend)
--                'lot'           one row per lot over the period (contract overview)
-- Inputs: kpi_daily (sums of per-visit measures), kpi_client_week (carers per client and
-- week) and care_packages (commissioned hours, pro rata by active days).
WITH params AS (
    SELECT %(start)s::date AS start_date, %(end)s::date AS end_date,
           %(provider_id)s::text AS provider_id, %(lot_id)s::text AS lot_id,
           %(grain)s::text AS grain
), weeks AS (
    SELECT w::date AS week_start
    FROM params p,
         generate_series(p.start_date + (8 - extract(isodow FROM p.start_date)::int) %% 7,
                         p.end_date - 1, INTERVAL '7 days') AS w
), visits AS (
    SELECT d.provider_id, d.lot_id, d.service, ecm_week_start(d.local_date) AS week_start,
           sum(d.visits_planned) AS visits_planned, sum(d.visits_cancelled) AS visits_cancelled,
           sum(d.visits_completed) AS visits_completed, sum(d.on_time) AS on_time,
           sum(d.early) AS early, sum(d.late) AS late, sum(d.missed) AS missed,
           sum(d.short) AS short, sum(d.no_checkout) AS no_checkout,
           sum(d.single_handed) AS single_handed, sum(d.manual_entries) AS manual_entries,
           sum(d.checked_in) AS checked_in, sum(d.electronic) AS electronic,
           sum(d.planned_seconds) AS planned_seconds, sum(d.delivered_seconds) AS delivered_seconds,
           sum(d.lateness_seconds) AS lateness_seconds, sum(d.lateness_visits) AS lateness_visits,
           sum(d.payable_gbp) AS payable_gbp
    FROM kpi_daily d, params p
    WHERE d.local_date >= %(start)s::date AND d.local_date < %(end)s::date + 6  -- index range
      AND ecm_week_start(d.local_date) IN (SELECT week_start FROM weeks)
      AND (p.provider_id IS NULL OR d.provider_id = p.provider_id)
      AND (p.lot_id IS NULL OR d.lot_id = p.lot_id)
    GROUP BY 1, 2, 3, 4
), package_versions AS (
    -- A version applies from its effective_from until its effective_to or the next version.
    SELECT cp.provider_id, cp.lot_id, cp.service, cp.weekly_hours, cp.effective_from,
           least(coalesce(cp.effective_to, 'infinity'::date),
                 coalesce(lead(cp.effective_from) OVER (PARTITION BY cp.package_id
                                                        ORDER BY cp.effective_from) - 1,
                          'infinity'::date)) AS valid_to
    FROM care_packages cp, params p
    WHERE (p.provider_id IS NULL OR cp.provider_id = p.provider_id)
      AND (p.lot_id IS NULL OR cp.lot_id = p.lot_id)
), commissioned AS (
    SELECT v.provider_id, v.lot_id, v.service, w.week_start,
           sum(v.weekly_hours * (least(v.valid_to, w.week_start + 6)
                                 - greatest(v.effective_from, w.week_start) + 1) / 7.0)
               AS commissioned_hours
    FROM package_versions v
    JOIN weeks w ON v.effective_from <= w.week_start + 6 AND v.valid_to >= w.week_start
    GROUP BY 1, 2, 3, 4
), continuity AS (
    SELECT c.provider_id, c.lot_id, c.service, c.week_start,
           count(*) AS continuity_clients, sum(cardinality(c.carer_ids)) AS continuity_carers
    FROM kpi_client_week c, params p
    WHERE c.week_start >= %(start)s::date AND c.week_start < %(end)s::date  -- Mondays in period
      AND (p.provider_id IS NULL OR c.provider_id = p.provider_id)
      AND (p.lot_id IS NULL OR c.lot_id = p.lot_id)
    GROUP BY 1, 2, 3, 4
), counters AS (
    SELECT *
    FROM visits
    FULL JOIN commissioned USING (provider_id, lot_id, service, week_start)
    LEFT JOIN continuity USING (provider_id, lot_id, service, week_start)
)
SELECT
    CASE WHEN p.grain NOT IN ('week_total', 'lot') THEN c.provider_id END AS provider_id,
    CASE WHEN p.grain IN ('week', 'lot') THEN nullif(c.lot_id, '') END AS lot_id,
    CASE WHEN p.grain = 'week' THEN nullif(c.service, '') END AS service,
    CASE WHEN p.grain NOT IN ('provider', 'lot') THEN to_char(c.week_start, 'IYYY-"W"IW') END AS iso_week,
    round(coalesce(sum(c.commissioned_hours), 0), 2) AS commissioned_hours,
    round(coalesce(sum(c.planned_seconds), 0) / 3600.0, 2) AS planned_hours,
    round(coalesce(sum(c.delivered_seconds), 0) / 3600.0, 2) AS delivered_hours,
    round(coalesce(sum(c.delivered_seconds), 0) / 3600.0
          / nullif(sum(c.commissioned_hours), 0), 4) AS delivery_ratio,
    coalesce(sum(c.visits_planned), 0)::bigint AS visits_planned,
    coalesce(sum(c.visits_completed), 0)::bigint AS visits_completed,
    coalesce(sum(c.visits_cancelled), 0)::bigint AS visits_cancelled,
    coalesce(sum(c.on_time), 0)::bigint AS on_time,
    coalesce(sum(c.early), 0)::bigint AS early,
    coalesce(sum(c.late), 0)::bigint AS late,
    coalesce(sum(c.missed), 0)::bigint AS missed,
    coalesce(sum(c.short), 0)::bigint AS short,
    coalesce(sum(c.no_checkout), 0)::bigint AS no_checkout,
    coalesce(sum(c.single_handed), 0)::bigint AS single_handed,
    coalesce(sum(c.manual_entries), 0)::bigint AS manual_entries,
    round(sum(c.electronic)::numeric / nullif(sum(c.checked_in), 0), 4) AS ecm_compliance,
    round(sum(c.continuity_carers)::numeric / nullif(sum(c.continuity_clients), 0), 4)
        AS continuity,
    round(sum(c.lateness_seconds) / 60.0 / nullif(sum(c.lateness_visits), 0), 2)
        AS avg_lateness_minutes,
    coalesce(sum(c.payable_gbp), 0)::numeric(14, 2) AS payable_gbp,
    -- League-table rates, over the same counters.
    round(sum(c.on_time)::numeric / nullif(sum(c.on_time + c.early + c.late), 0), 4)
        AS on_time_rate,
    round(sum(c.missed)::numeric / nullif(sum(c.visits_planned - c.visits_cancelled), 0), 4)
        AS missed_rate,
    round(sum(c.short)::numeric / nullif(sum(c.visits_completed), 0), 4) AS short_rate
FROM counters c, params p
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
