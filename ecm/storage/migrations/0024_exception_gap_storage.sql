-- Store each fact of visit_exceptions and rota_gaps once (issue #18).
--
-- visit_exceptions: an exception's record ids are almost always derived from its id
-- (ecm/visits/translate.py): the raise's event_id is the exception_id, the resolution's
-- `{exception_id}:resolved`, the settling move's `exception:{exception_id}:settled`.
-- Such an id is stored as '' (an id is never empty) and read back by
-- ecm_exception_record (ecm/storage/functions); any other id is stored as it is, so
-- nothing is lost and the sink's "same record again changes nothing" comparisons hold on
-- the stored form. Two indexes go (EXPLAIN over a year of a tenth of Kent): the partial
-- open index served no query, and visit_exceptions_status_idx (provider_id, status,
-- detected_at) serves what (provider_id, detected_at) did (the exception counts' range of
-- detected_at is an index condition on it) and the queue better (3 ms, not 41). Settling
-- an exception (resolved_at) no longer adds an entry to either.
UPDATE visit_exceptions
SET event_id = CASE WHEN event_id = exception_id THEN '' ELSE event_id END,
    resolved_event_id = CASE WHEN resolved_event_id = exception_id || ':resolved' THEN ''
                             ELSE resolved_event_id END,
    status_event_id = CASE WHEN status_event_id = 'exception:' || exception_id || ':settled'
                           THEN '' ELSE status_event_id END
WHERE event_id = exception_id
   OR resolved_event_id = exception_id || ':resolved'
   OR status_event_id = 'exception:' || exception_id || ':settled';
DROP INDEX IF EXISTS visit_exceptions_open_idx;
DROP INDEX IF EXISTS visit_exceptions_provider_idx;

-- rota_gaps: keyed by (visit_id, carer_id), what gap_id said; iso_week is the ISO week of
-- local_date (the KPI query computes it); event_id, a digest of everything the record
-- says, is not kept: the sink compares what a record says with the stored row instead
-- (ecm/storage/rota_gaps.py), so a redelivery still changes nothing. Fixed-width columns
-- first (no alignment padding). The (provider_id, iso_week, lot_id) index served no
-- query: rota realism reads a range of local_date.
CREATE TABLE rota_gaps_0024 (
    judged_at           timestamptz NOT NULL,
    local_date          date NOT NULL,
    shortfall_seconds   integer NOT NULL,
    gap_seconds         integer,
    travel_seconds      integer,
    straight_m          integer,
    short               boolean NOT NULL,
    visit_id            text NOT NULL,
    carer_id            text NOT NULL,
    provider_id         text NOT NULL,
    client_id           text NOT NULL,
    lot_id              text,
    service             text,
    status              text NOT NULL,
    previous_visit_id   text,
    previous_client_id  text,
    PRIMARY KEY (visit_id, carer_id)
);
INSERT INTO rota_gaps_0024
SELECT judged_at, local_date, shortfall_seconds, gap_seconds, travel_seconds, straight_m,
       short, visit_id, carer_id, provider_id, client_id, lot_id, service, status,
       previous_visit_id, previous_client_id
FROM rota_gaps;
DROP TABLE rota_gaps;
ALTER TABLE rota_gaps_0024 RENAME TO rota_gaps;
ALTER INDEX rota_gaps_0024_pkey RENAME TO rota_gaps_pkey;
CREATE INDEX rota_gaps_date ON rota_gaps (local_date);

GRANT SELECT ON rota_gaps TO ecm_api, ecm_sink, ecm_notify;
GRANT INSERT, UPDATE, DELETE ON rota_gaps TO ecm_sink;
