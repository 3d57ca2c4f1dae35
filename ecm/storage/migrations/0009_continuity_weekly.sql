-- Continuity per provider × lot × service × ISO week, summable: the clients with a
-- check-in that week and, summed over them, their distinct carers (kpi_client_week). The
-- KPI query (ecm/kpi/sql/kpi.sql) divides the sums; it used to count kpi_client_week's
-- rows at every call (one per client and week: ~23,000 for a month of the Kent league
-- table, more than the rest of the query). Lot and service are '' when unknown.
-- Maintained with kpi_client_week by ecm_refresh_client_weeks(), the same function in
-- both storage modes, so this migration has one flavour. Safe to run again: it creates
-- what is missing and, once the functions are applied, rebuilds the table from
-- kpi_client_week.
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

-- ecm:refresh
-- Build it for every week already stored. Writers wait meanwhile, so none commits a
-- client week the rebuild does not see.
LOCK TABLE kpi_client_week IN SHARE MODE;
DELETE FROM kpi_continuity_weekly;
SELECT ecm_refresh_continuity_weeks(array_agg(provider_id), array_agg(week_start))
FROM (SELECT DISTINCT provider_id, week_start FROM kpi_client_week) k;
