-- The rate card a visit is paid on, as three typed columns of visit_outcomes instead of a
-- JSON object in `extra` (issue #18, "store each fact once": its keys cost more than its
-- values, ~130 bytes a row against ~70). Rows stored before keep theirs in `extra`, which
-- ecm.storage.records still reads: no stored row is rewritten (a hypertable's compressed
-- chunks are left as they are).
ALTER TABLE visit_outcomes
    ADD COLUMN IF NOT EXISTS rate_card_id       text,
    ADD COLUMN IF NOT EXISTS rate_card_from     date,
    ADD COLUMN IF NOT EXISTS rate_card_event_id text;
