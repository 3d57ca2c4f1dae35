-- A visit input's own fields as typed columns of raw_events, not as a JSON object in
-- `detail` (issue #18, "store each fact once": a plan's ten keys cost more than its
-- values, ~300 bytes a row against ~70). The fields every visit input shares with
-- others are columns: the client, the carer and the call's method, a plan's times,
-- carers, criticality, service, tier, package and planned carers, and the event's schema
-- version (NULL: version 1); `detail` keeps the rest (a cancellation's who and why, a
-- correction's times, a call's reason code), NULL when nothing is left. Rows stored
-- before keep everything in `detail`, which ecm_input_event and ecm.recalc.store still
-- read: no stored row is rewritten.
ALTER TABLE raw_events
    ADD COLUMN IF NOT EXISTS input_version     smallint,
    ADD COLUMN IF NOT EXISTS carers_required   smallint,
    ADD COLUMN IF NOT EXISTS time_critical     boolean,
    ADD COLUMN IF NOT EXISTS planned_start     timestamptz,
    ADD COLUMN IF NOT EXISTS planned_end       timestamptz,
    ADD COLUMN IF NOT EXISTS client_id         text,
    ADD COLUMN IF NOT EXISTS carer_id          text,
    ADD COLUMN IF NOT EXISTS method            text,
    ADD COLUMN IF NOT EXISTS service           text,
    ADD COLUMN IF NOT EXISTS tier              text,
    ADD COLUMN IF NOT EXISTS package_id        text,
    ADD COLUMN IF NOT EXISTS planned_carer_ids text[];
