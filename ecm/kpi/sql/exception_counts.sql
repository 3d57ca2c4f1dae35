-- Exceptions detected in the period, counted per provider and kind (most first), with
-- one example visit each. Parameters: start, end (local dates, [start, end)),
-- provider_id, lot_id (NULL = all; the lot is the visit's, when the visit is known).
SELECT e.provider_id, e.kind, count(*) AS exceptions,
       count(DISTINCT e.visit_id) AS visits, min(e.visit_id) AS example_visit_id
FROM visit_exceptions e
LEFT JOIN LATERAL (
    SELECT o.lot_id FROM visit_outcomes o WHERE o.visit_id = e.visit_id LIMIT 1
) v ON true
WHERE e.detected_at >= (%(start)s::date::timestamp AT TIME ZONE 'Europe/London')
  AND e.detected_at < (%(end)s::date::timestamp AT TIME ZONE 'Europe/London')
  AND (%(provider_id)s::text IS NULL OR e.provider_id = %(provider_id)s)
  AND (%(lot_id)s::text IS NULL OR v.lot_id = %(lot_id)s)
GROUP BY 1, 2
ORDER BY 3 DESC, 1, 2
