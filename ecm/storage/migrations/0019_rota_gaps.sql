-- Rota realism (docs/rules.md, "Rota realism"): the time each carer's rota leaves before
-- each planned visit, and the travel the contract's rules say it needs. One row per
-- carer and visit (gap_id = visit_id:carer_id), the latest travel_gap_judged wins.
-- The KPI (ecm/kpi/sql/rota_realism.sql) sums it per provider, lot and ISO week.
CREATE TABLE IF NOT EXISTS rota_gaps (
    gap_id              text PRIMARY KEY,
    carer_id            text NOT NULL,
    visit_id            text NOT NULL,
    provider_id         text NOT NULL,
    client_id           text NOT NULL,
    lot_id              text,
    service             text,
    iso_week            text NOT NULL,
    local_date          date NOT NULL,
    status              text NOT NULL,
    previous_visit_id   text,
    previous_client_id  text,
    gap_seconds         integer,
    travel_seconds      integer,
    straight_m          integer,
    short               boolean NOT NULL,
    shortfall_seconds   integer NOT NULL,
    judged_at           timestamptz NOT NULL,
    event_id            text NOT NULL
);

CREATE INDEX IF NOT EXISTS rota_gaps_provider_week
    ON rota_gaps (provider_id, iso_week, lot_id);
CREATE INDEX IF NOT EXISTS rota_gaps_date ON rota_gaps (local_date);

GRANT SELECT ON rota_gaps TO ecm_api, ecm_sink, ecm_notify;
GRANT INSERT, UPDATE, DELETE ON rota_gaps TO ecm_sink;
