-- A stored input event as JSON, put together from its raw_events row (migration 0017):
-- the columns, then `detail` (the event's own fields no column holds), then the call's
-- distance and accuracy where measured. Reference events and workflow acts have no
-- detail here (their own tables keep them). What the visit page and the held
-- corrections show of an input.
CREATE OR REPLACE FUNCTION ecm_input_event(r raw_events)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('event_id', r.event_id, 'event_type', r.event_type,
                              'schema_version', 1, 'occurred_at', r.occurred_at,
                              'provider_id', r.provider_id, 'visit_id', r.visit_id)
           || coalesce(r.detail, '{}'::jsonb)
           || jsonb_strip_nulls(jsonb_build_object('distance_m', r.distance_m,
                                                   'accuracy_m', r.accuracy_m));
$$;
