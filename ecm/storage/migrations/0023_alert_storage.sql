-- Each fact of an alert stored once (issue #18).
--
-- alert_history keeps the acts on an alert (each alert_handled: acknowledged, escalated,
-- closed, monitor-only) and no copy of ecm's raise and resolution, which the alerts row
-- holds (raised_at, raised_learned_at; resolved_at, resolution, resolved_learned_at):
-- readers put the two entries of the timeline together from it (ecm/api/workflowreads.py).
-- A raise or resolution the alerts row does not hold as it was first told (a later
-- record replaced it, or one with another event id came) is still a row here, so every
-- timeline reads as before. Rows stored before this migration go only where the alerts
-- row holds the same facts.
--
-- An alert's raise and resolution event ids are NULL when they are the ones ecm gives
-- them (`{alert_id}:raised`, `{alert_id}:resolved`, ecm/visits/translate.py); readers
-- derive them.
--
-- An escalation on timeout's event id is NULL when it is the one ecm gives it
-- (`alert:{alert_id}:escalated:{tier}`, docs/rules.md "Records"); readers derive it.
-- alert_history is keyed by alert_id and event id, the tier standing for a NULL one (an
-- event id never starts with ':'): one index serves the redelivery check and an alert's
-- (or a visit's alerts') timeline. alerts loses alerts_open_idx, which no
-- query used (open alerts are read with conditions it cannot serve) and which, through
-- its predicate on resolved_at, made every resolution a non-HOT update with new index
-- entries. (Leaving room in each page for the updates was measured and did not pay:
-- an alert's raise and its later updates mostly meet in one sink batch.)

DELETE FROM alert_history h USING alerts a
WHERE h.alert_id = a.alert_id
  AND h.by_user = 'ecm' AND h.by_role = 'system'
  AND h.note IS NULL AND h.caused_by IS NULL
  AND ((h.action = 'raised'
        AND h.event_id = coalesce(a.raised_event_id, a.alert_id || ':raised')
        AND h.occurred_at = a.raised_at AND h.tier = 'provider_on_call' AND h.code IS NULL
        AND h.learned_at IS NOT DISTINCT FROM a.raised_learned_at)
    OR (h.action = 'resolved'
        AND h.event_id = coalesce(a.resolved_event_id, a.alert_id || ':resolved')
        AND h.occurred_at = a.resolved_at AND h.tier IS NULL
        AND h.code IS NOT DISTINCT FROM a.resolution
        AND h.learned_at IS NOT DISTINCT FROM a.resolved_learned_at));

UPDATE alerts SET
    raised_event_id = nullif(raised_event_id, alert_id || ':raised'),
    resolved_event_id = nullif(resolved_event_id, alert_id || ':resolved')
WHERE raised_event_id = alert_id || ':raised' OR resolved_event_id = alert_id || ':resolved';

DROP INDEX IF EXISTS alert_history_alert_idx;
ALTER TABLE alert_history DROP CONSTRAINT IF EXISTS alert_history_pkey;
ALTER TABLE alert_history ALTER COLUMN event_id DROP NOT NULL;
UPDATE alert_history SET event_id = NULL
WHERE action = 'escalated' AND event_id = 'alert:' || alert_id || ':escalated:' || tier;
CREATE UNIQUE INDEX IF NOT EXISTS alert_history_key
    ON alert_history (alert_id, (coalesce(event_id, ':' || tier)));

DROP INDEX IF EXISTS alerts_open_idx;
