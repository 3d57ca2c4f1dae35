-- Alerts still open at the end of the period (raised before it, not resolved by then),
-- oldest first. Parameters: end (local date, exclusive), provider_id, lot_id (NULL = all),
-- limit; as_of (an instant, e.g. now for a live board) replaces the end of the period when
-- not NULL. Times are Europe/London.
WITH cutoff AS (
    SELECT coalesce(%(as_of)s::timestamptz,
                    %(end)s::date::timestamp AT TIME ZONE 'Europe/London') AS at
)
SELECT a.alert_id, a.kind, a.provider_id, a.lot_id, a.visit_id, a.client_id,
       a.due_at, a.raised_at,
       round(extract(epoch FROM t.at - a.due_at) / 3600.0, 1) AS hours_open
FROM alerts a, cutoff t
WHERE a.raised_at < t.at
  AND (a.resolved_at IS NULL OR a.resolved_at >= t.at)
  AND (%(provider_id)s::text IS NULL OR a.provider_id = %(provider_id)s)
  AND (%(lot_id)s::text IS NULL OR a.lot_id = %(lot_id)s)
ORDER BY a.due_at, a.alert_id
LIMIT %(limit)s
