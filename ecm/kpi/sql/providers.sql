-- The providers a dashboard can pick (Grafana variable options: __value, __text): every
-- provider of the reference data or with visit outcomes. No parameters.
SELECT provider_id AS __value,
       coalesce(max(name) || ' (' || provider_id || ')', provider_id) AS __text
FROM (
    SELECT provider_id, name FROM providers
    UNION ALL
    SELECT DISTINCT provider_id, NULL FROM visit_outcomes
) known
GROUP BY provider_id
ORDER BY provider_id
