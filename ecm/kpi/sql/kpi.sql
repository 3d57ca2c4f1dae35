-- KPIs of contract monitoring, as defined in docs/rules.md "Key performance indicators".
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
-- Inputs: kpi_weekly (sums of per-visit measures per ISO week), kpi_continuity_weekly
-- (per week, the clients with a check-in and the sum of their distinct carers) and
-- care_packages (commissioned hours, pro rata by active days).
--
-- Run it with the values bound, not as a prepared statement (ecm.kpi.queries; Grafana
-- sends literals): params is inlined wherever it is used, so the planner sees the values,
-- a NULL filter drops out and a provider or lot filter becomes an index condition.
WITH params AS NOT MATERIALIZED (
    -- The whole ISO weeks whose Monday is in [start, end): days [first_monday, after_last).
    SELECT m AS first_monday, m + 7 * ((%(end)s::date - m + 6) / 7) AS after_last,
           %(provider_id)s::text AS provider_id, %(lot_id)s::text AS lot_id,
           %(grain)s::text AS grain
    FROM (SELECT %(start)s::date + (8 - extract(isodow FROM %(start)s::date)::int) %% 7 AS m) s
), weeks AS (
    -- An integer series, so the planner knows how many weeks there are.
    SELECT p.first_monday + 7 * i AS week_start
    FROM params p, generate_series(0, (p.after_last - p.first_monday) / 7 - 1) AS i
), visits AS (
    -- One row per provider × lot × service × week already.
    SELECT w.provider_id, w.lot_id, w.service, w.week_start, w.visits_planned,
           w.visits_cancelled, w.visits_completed, w.on_time, w.early, w.late, w.missed,
           w.short, w.no_checkout, w.single_handed, w.manual_entries, w.checked_in,
           w.electronic, w.planned_seconds, w.delivered_seconds, w.lateness_seconds,
           w.lateness_visits, w.payable_gbp, w.visits_verified, w.visits_frustrated,
           w.verified_gbp, w.disputed_gbp, w.trust_sum, w.trust_assessed
    FROM kpi_weekly w, params p
    WHERE w.week_start >= p.first_monday AND w.week_start < p.after_last
      AND (p.provider_id IS NULL OR w.provider_id = p.provider_id)
      AND (p.lot_id IS NULL OR w.lot_id = p.lot_id)
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
           c.clients AS continuity_clients, c.carers AS continuity_carers
    FROM kpi_continuity_weekly c, params p
    WHERE c.week_start >= p.first_monday AND c.week_start < p.after_last
      AND (p.provider_id IS NULL OR c.provider_id = p.provider_id)
      AND (p.lot_id IS NULL OR c.lot_id = p.lot_id)
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
    -- Money follows verification (docs/rules.md, "Closing the loop").
    coalesce(sum(c.visits_verified), 0)::bigint AS visits_verified,
    coalesce(sum(c.visits_frustrated), 0)::bigint AS visits_frustrated,
    coalesce(sum(c.verified_gbp), 0)::numeric(14, 2) AS verified_gbp,
    coalesce(sum(c.disputed_gbp), 0)::numeric(14, 2) AS disputed_gbp,
    -- Over the visits whose outcome states a trust score (docs/rules.md, "Trust score").
    round(sum(c.trust_sum)::numeric / nullif(sum(c.trust_assessed), 0), 2) AS mean_trust_score,
    coalesce(sum(c.trust_assessed), 0)::bigint AS trust_assessed,
    -- League-table rates, over the same counters.
    round(sum(c.on_time)::numeric / nullif(sum(c.on_time + c.early + c.late), 0), 4)
        AS on_time_rate,
    round(sum(c.missed)::numeric / nullif(sum(c.visits_planned - c.visits_cancelled), 0), 4)
        AS missed_rate,
    round(sum(c.short)::numeric / nullif(sum(c.visits_completed), 0), 4) AS short_rate
FROM counters c, params p
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
