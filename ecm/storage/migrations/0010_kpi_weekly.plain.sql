-- Weekly KPI rollup per provider × lot × service × ISO week: plain PostgreSQL flavour.
-- The KPI query (ecm/kpi/sql/kpi.sql) reports whole ISO weeks, so it reads these sums of
-- kpi_daily (week_start is the Monday) instead of adding up seven days of rows at every
-- call (~14,000 rows for a month of the Kent league table). A table maintained by
-- ecm_refresh_rollups() with kpi_daily, in the same transaction; the TimescaleDB flavour
-- makes it a continuous aggregate on kpi_daily with the same columns.
-- Safe to run again: it creates what is missing and, once the functions are applied,
-- rebuilds the table from kpi_daily.
CREATE TABLE IF NOT EXISTS kpi_weekly (
    provider_id       text    NOT NULL,
    lot_id            text    NOT NULL,
    service           text    NOT NULL,
    week_start        date    NOT NULL,
    visits_planned    bigint  NOT NULL,
    visits_cancelled  bigint  NOT NULL,
    visits_completed  bigint  NOT NULL,
    on_time           bigint  NOT NULL,
    early             bigint  NOT NULL,
    late              bigint  NOT NULL,
    missed            bigint  NOT NULL,
    short             bigint  NOT NULL,
    no_checkout       bigint  NOT NULL,
    single_handed     bigint  NOT NULL,
    manual_entries    bigint  NOT NULL,
    checked_in        bigint  NOT NULL,
    electronic        bigint  NOT NULL,
    planned_seconds   bigint  NOT NULL,
    delivered_seconds bigint  NOT NULL,
    lateness_seconds  bigint  NOT NULL,
    lateness_visits   bigint  NOT NULL,
    payable_gbp       numeric NOT NULL,
    PRIMARY KEY (week_start, provider_id, lot_id, service)
);
CREATE INDEX IF NOT EXISTS kpi_weekly_provider_idx ON kpi_weekly (provider_id, week_start);

-- ecm:refresh
-- Build it for every week already stored. Writers wait meanwhile, so none commits a day
-- the rebuild does not see.
LOCK TABLE kpi_daily IN SHARE MODE;
DELETE FROM kpi_weekly;
SELECT ecm_refresh_kpi_weeks(array_agg(provider_id), array_agg(week_start))
FROM (SELECT DISTINCT provider_id, ecm_week_start(local_date) AS week_start FROM kpi_daily) k;
