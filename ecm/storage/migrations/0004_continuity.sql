-- Continuity (distinct carers per client per week) is not summable, so the rollup keeps
-- one row per provider × lot × service × ISO week × client with the carers who checked
-- in; the KPI query averages their counts. Lot and service are '' when unknown.
-- Maintained by ecm_refresh_rollups() and ecm_refresh_client_weeks() in both storage
-- modes (a continuous aggregate cannot take distinct elements of an array).
CREATE TABLE kpi_client_week (
    provider_id text   NOT NULL,
    lot_id      text   NOT NULL,
    service     text   NOT NULL,
    week_start  date   NOT NULL,
    client_id   text   NOT NULL,
    carer_ids   text[] NOT NULL,
    PRIMARY KEY (provider_id, week_start, client_id, lot_id, service)
);
CREATE INDEX kpi_client_week_week_idx ON kpi_client_week (week_start);
