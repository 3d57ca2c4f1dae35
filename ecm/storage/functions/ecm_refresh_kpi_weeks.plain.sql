-- Recompute the kpi_weekly rows of the given (provider, week) keys (parallel arrays) from
-- kpi_daily, one key at a time so each uses kpi_daily_provider_idx. Callers hold the
-- locks. Plain flavour only: with TimescaleDB kpi_weekly is a continuous aggregate.
CREATE OR REPLACE FUNCTION ecm_refresh_kpi_weeks(p_provider text[], p_week date[])
RETURNS void LANGUAGE sql AS $$
    DELETE FROM kpi_weekly r
    USING (SELECT DISTINCT * FROM unnest(p_provider, p_week) AS t(p, w)) k
    WHERE r.provider_id = k.p AND r.week_start = k.w;

    INSERT INTO kpi_weekly
    SELECT k.p, v.*
    FROM (SELECT DISTINCT * FROM unnest(p_provider, p_week) AS t(p, w)) k
    CROSS JOIN LATERAL (
        SELECT d.lot_id, d.service, k.w,
               sum(d.visits_planned), sum(d.visits_cancelled), sum(d.visits_completed),
               sum(d.on_time), sum(d.early), sum(d.late), sum(d.missed), sum(d.short),
               sum(d.no_checkout), sum(d.single_handed), sum(d.manual_entries),
               sum(d.checked_in), sum(d.electronic), sum(d.planned_seconds),
               sum(d.delivered_seconds), sum(d.lateness_seconds), sum(d.lateness_visits),
               sum(d.payable_gbp), sum(d.visits_verified), sum(d.visits_frustrated),
               sum(d.verified_gbp), sum(d.disputed_gbp), sum(d.visits), sum(d.trust_sum),
               sum(d.trust_assessed)
        FROM kpi_daily d
        WHERE d.provider_id = k.p AND d.local_date >= k.w AND d.local_date < k.w + 7
        GROUP BY 1, 2
    ) v;
$$;
