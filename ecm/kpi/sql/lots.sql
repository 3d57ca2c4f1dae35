-- The lots a dashboard can pick (Grafana variable options: __value, __text), with
-- '__all' (every lot) first. No parameters.
SELECT __value, __text
FROM (
    SELECT '__all' AS __value, 'All lots' AS __text, 0 AS pos
    UNION ALL
    SELECT lot_id, coalesce(max(name) || ' (' || lot_id || ')', lot_id), 1
    FROM (
        SELECT lot_id, name FROM lots
        UNION ALL
        SELECT DISTINCT lot_id, NULL FROM visit_outcomes WHERE lot_id IS NOT NULL
    ) known
    GROUP BY lot_id
) options
ORDER BY pos, __value
