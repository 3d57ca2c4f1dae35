-- Daily KPI rollup per provider × lot × service × local day: plain PostgreSQL flavour.
-- A table maintained incrementally: after each batch of outcomes the sink calls
-- ecm_refresh_rollups() for the (provider, day, client) keys the batch touched, in the
-- same transaction. The TimescaleDB flavour makes kpi_daily a continuous aggregate with
-- the same columns, so the KPI queries (ecm/kpi/sql) read either.
-- Columns are sums of the per-visit kpi_* measures; lot and service are '' when unknown.
CREATE TABLE kpi_daily (
    provider_id       text    NOT NULL,
    lot_id            text    NOT NULL,
    service           text    NOT NULL,
    local_date        date    NOT NULL,
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
    PRIMARY KEY (local_date, provider_id, lot_id, service)
);
CREATE INDEX kpi_daily_provider_idx ON kpi_daily (provider_id, local_date);
