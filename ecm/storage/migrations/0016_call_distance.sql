-- What the database keeps of a carer's location: the call's distance from the client's
-- registered location on the call's day and the accuracy the phone claimed, in whole
-- metres (the visit page shows them); never the coordinates (docs/data-protection.md).
ALTER TABLE raw_events
    ADD COLUMN IF NOT EXISTS distance_m integer,
    ADD COLUMN IF NOT EXISTS accuracy_m integer;
