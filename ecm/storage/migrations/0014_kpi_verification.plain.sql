-- Money follows verification (issue #14): the daily and weekly KPI rollups gain the
-- visits verified and frustrated and the money verified and in dispute, summed from the
-- per-visit columns of migration 0012 (visit_outcomes.verification, verified_gbp,
-- disputed_gbp; a frustrated visit has status 'frustrated'). Plain PostgreSQL flavour:
-- the columns are added; once the functions (which sum them) are applied, every stored
-- day and week is recomputed.
ALTER TABLE kpi_daily
    ADD COLUMN IF NOT EXISTS visits_verified   bigint  NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS visits_frustrated bigint  NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS verified_gbp      numeric NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS disputed_gbp      numeric NOT NULL DEFAULT 0;
ALTER TABLE kpi_weekly
    ADD COLUMN IF NOT EXISTS visits_verified   bigint  NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS visits_frustrated bigint  NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS verified_gbp      numeric NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS disputed_gbp      numeric NOT NULL DEFAULT 0;

-- ecm:refresh
-- Recompute every stored day and week. Writers wait meanwhile.
LOCK TABLE visit_outcomes IN SHARE MODE;
SELECT ecm_refresh_rollups(array_agg(provider_id), array_agg(local_date), array_agg(client_id))
FROM (SELECT DISTINCT provider_id, local_date, client_id FROM visit_outcomes) k;
