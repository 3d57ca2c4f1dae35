-- A stored input event as JSON, put together from its raw_events row (migration 0017):
-- the columns, then a visit input's own fields (typed columns since migration 0026,
-- `detail` the rest; all in `detail` before), then the call's distance and accuracy where
-- measured. Reference events and workflow acts have no detail here (their own tables
-- keep them). What the visit page and the held corrections show of an input; the same
-- fields as ecm.storage.rows.stored_input_fields.
CREATE OR REPLACE FUNCTION ecm_input_event(r raw_events)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('event_id', r.event_id, 'event_type', r.event_type,
                              'schema_version', coalesce(r.input_version, 1),
                              'occurred_at', r.occurred_at,
                              'provider_id', r.provider_id, 'visit_id', r.visit_id)
           || coalesce(r.detail, '{}'::jsonb)
           || jsonb_strip_nulls(jsonb_build_object(
                  'carers_required', r.carers_required, 'time_critical', r.time_critical,
                  'planned_start', r.planned_start, 'planned_end', r.planned_end,
                  'client_id', r.client_id, 'carer_id', r.carer_id, 'method', r.method,
                  'service', r.service, 'tier', r.tier, 'package_id', r.package_id,
                  'planned_carer_ids', to_jsonb(r.planned_carer_ids)))
           || jsonb_strip_nulls(jsonb_build_object('distance_m', r.distance_m,
                                                   'accuracy_m', r.accuracy_m));
$$;
