-- An alerts row as JSON, every column as the records set it: the raise and resolution
-- event ids the sink stores as NULL because they are the ones ecm gives them
-- ({alert_id}:raised, {alert_id}:resolved; migration 0023, ecm/storage/rows.py,
-- alert_event_id) are put back. What the API shows of a stored alert.
CREATE OR REPLACE FUNCTION ecm_alert_record(a alerts)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(a) || jsonb_build_object(
        'raised_event_id', CASE WHEN a.raised_at IS NOT NULL
                                THEN coalesce(a.raised_event_id, a.alert_id || ':raised') END,
        'resolved_event_id', CASE WHEN a.resolved_at IS NOT NULL
                                  THEN coalesce(a.resolved_event_id, a.alert_id || ':resolved')
                                  END);
$$;
