-- Each fact stored once (issue #18): TimescaleDB flavour, the same as the plain one but
-- for how the free room is set: on the hypertable (its chunks follow), and not on
-- kpi_daily and kpi_weekly, which are continuous aggregates here. (Cannot be exercised
-- in CI: the extension is not installable there.)
--
-- visit_outcomes loses its jsonb payload, which repeated every typed column: the row is
-- the typed columns plus schema_version and `extra`, the outcome's fields that have no
-- column (corrections, frustrated_reason, held_corrections), NULL when it has none. The
-- API rebuilds the outcome event from them (ecm/storage/records.py). A revision of an
-- outcome updates the row in place: partitions leave a fifth of each page free
-- (fillfactor 80) so the update is a HOT update, pruned within its page, with no new
-- index entries and no dead row for VACUUM to find; the revisions' audit trail is
-- raw_events (what was sent) and the outcomes topic (every revision the engine judged).
--
-- raw_events loses its payload too: a row is who sent what and when (event_id,
-- event_type, provider_id, visit_id, occurred_at, received_at), the SHA-256 `digest` of
-- the event as stored (its compact JSON without the location), and `detail`, a visit
-- input's own fields that no column holds (nulls left out): what the visit page tells
-- and what a recalculation judges the visit again from (plan, changes, cancellation,
-- calls, corrections). Reference events and workflow acts have no detail here: their own
-- tables keep them. Rows stored before
-- this migration get the digest of their stored JSON text. Coordinates were never stored.
--
-- The rollup tables leave room in each page too (their refresh is an in-place upsert).
-- The KPI rollups are unchanged.

ALTER TABLE visit_outcomes
    ADD COLUMN IF NOT EXISTS schema_version smallint NOT NULL DEFAULT 1,
    ADD COLUMN IF NOT EXISTS extra jsonb;
-- Safe to run again: what needs the payload runs while there is one.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
               AND table_name = 'visit_outcomes' AND column_name = 'payload') THEN
        UPDATE visit_outcomes SET
            schema_version = coalesce((payload ->> 'schema_version')::smallint, 1),
            extra = (SELECT jsonb_object_agg(key, value) FROM jsonb_each(payload)
                     WHERE key IN ('corrections', 'frustrated_reason', 'held_corrections')
                       AND value NOT IN ('null'::jsonb, '[]'::jsonb));
        ALTER TABLE visit_outcomes DROP COLUMN payload;
    END IF;
END $$;

ALTER TABLE raw_events
    ADD COLUMN IF NOT EXISTS digest bytea,
    ADD COLUMN IF NOT EXISTS detail jsonb;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
               AND table_name = 'raw_events' AND column_name = 'payload') THEN
        UPDATE raw_events SET
            digest = sha256(convert_to(payload::text, 'UTF8')),
            detail = CASE WHEN event_type IN ('visit_planned', 'visit_changed', 'visit_cancelled',
                                              'carer_checked_in', 'carer_checked_out',
                                              'call_time_corrected')
                THEN (SELECT jsonb_object_agg(key, value) FROM jsonb_each(payload)
                      WHERE key NOT IN ('event_id', 'event_type', 'occurred_at', 'provider_id',
                                        'visit_id', 'location')
                        AND value <> 'null'::jsonb
                        AND NOT (key = 'schema_version' AND value = '1'::jsonb)) END;
        ALTER TABLE raw_events DROP COLUMN payload;
    END IF;
END $$;
ALTER TABLE raw_events ALTER COLUMN digest SET NOT NULL;

-- The story of a visit reads its raw events by visit_id alone: one deduplicated entry per
-- visit instead of one per event (it sorts the few rows itself).
DROP INDEX IF EXISTS raw_events_visit_idx;
CREATE INDEX IF NOT EXISTS raw_events_visit_idx ON raw_events (visit_id);

-- Room for in-place (HOT) updates.
ALTER TABLE visit_outcomes SET (fillfactor = 80);
ALTER TABLE visit_latest SET (fillfactor = 80);
ALTER TABLE kpi_client_week SET (fillfactor = 70);
ALTER TABLE kpi_continuity_weekly SET (fillfactor = 70);
