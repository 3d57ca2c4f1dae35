-- Exceptions can stop holding when later facts arrive (a plan for an "unscheduled"
-- visit, a late check-out): the worker then sends VisitExceptionResolved, recorded here.
ALTER TABLE visit_exceptions ADD COLUMN IF NOT EXISTS resolved_event_id text;
CREATE INDEX IF NOT EXISTS visit_exceptions_open_idx
    ON visit_exceptions (provider_id, detected_at) WHERE resolved_at IS NULL;
