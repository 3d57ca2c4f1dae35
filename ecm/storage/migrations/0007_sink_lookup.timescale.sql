-- Set-based sink (ecm/storage/sink.py): TimescaleDB flavour.
-- 1. visit_latest: per visit, the day (partition) and rollup keys of its stored outcome,
--    when it was recorded and by which event; maintained by the sink with
--    visit_outcomes, so deciding whether an incoming outcome is stale, identical, moved or
--    new is one index scan of this table for the whole batch instead of a probe (or a
--    scan) of every chunk of visit_outcomes per visit. Retention prunes it.
-- 2. The rollup refresh reads visit_outcomes one touched key at a time (LATERAL), so it
--    uses the (provider_id, local_date) and (client_id, local_date) indexes of the one
--    chunk concerned whatever the planner thinks of the touched-key count.
-- Same as 0007_sink_lookup.plain.sql; its functions are in ecm/storage/functions.
-- Cannot be exercised in CI.

-- Mirrors visit_outcomes: whatever empties visit_outcomes (TRUNCATE in tests) empties it too.
CREATE TABLE visit_latest (
    visit_id    text        PRIMARY KEY,
    local_date  date        NOT NULL,
    provider_id text        NOT NULL,
    client_id   text        NOT NULL,
    recorded_at timestamptz NOT NULL,
    event_id    text        NOT NULL
);

-- ecm:refresh
-- Fill it from the outcomes already stored.
SELECT ecm_rebuild_visit_latest();
