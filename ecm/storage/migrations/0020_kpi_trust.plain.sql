-- The mean trust score per provider is a KPI (issue #19; docs/rules.md, "Key performance
-- indicators", `mean_trust_score`): the daily and weekly KPI rollups gain the sum of the
-- trust scores and how many visits have one, summed from visit_outcomes.trust_score
-- (migration 0018; NULL for an outcome recorded before version 3, which counts in
-- neither). Sums only, as every KPI column: the KPI query divides them when read. Plain
-- PostgreSQL flavour: the columns are added; once the functions (which sum them) are
-- applied, every stored day and week is recomputed.
ALTER TABLE kpi_daily
    ADD COLUMN IF NOT EXISTS trust_sum      bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS trust_assessed bigint NOT NULL DEFAULT 0;
ALTER TABLE kpi_weekly
    ADD COLUMN IF NOT EXISTS trust_sum      bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS trust_assessed bigint NOT NULL DEFAULT 0;

-- ecm:refresh
-- Recompute every stored day and week. Writers wait meanwhile.
LOCK TABLE visit_outcomes IN SHARE MODE;
SELECT ecm_refresh_rollups(array_agg(provider_id), array_agg(local_date), array_agg(client_id))
FROM (SELECT DISTINCT provider_id, local_date, client_id FROM visit_outcomes) k;
