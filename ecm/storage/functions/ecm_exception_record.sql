-- A visit_exceptions row as JSON, every column as the records set it: the record ids
-- the sink stores as '' because they are derived from the exception's id (migration
-- 0024; ecm/storage/rows.py, stored_record_id) are put back. What the API and a subject
-- access export show of a stored exception.
CREATE OR REPLACE FUNCTION ecm_exception_record(e visit_exceptions)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(e) || jsonb_build_object(
        'event_id', CASE WHEN e.event_id = '' THEN e.exception_id ELSE e.event_id END,
        'resolved_event_id', CASE WHEN e.resolved_event_id = ''
                                  THEN e.exception_id || ':resolved'
                                  ELSE e.resolved_event_id END,
        'status_event_id', CASE WHEN e.status_event_id = ''
                                THEN 'exception:' || e.exception_id || ':settled'
                                ELSE e.status_event_id END);
$$;
