-- Trigger function: note a reference version (a contract rule change or a rate card)
-- whose effective date is before the Europe/London day it was recorded, as a
-- recalculation due (docs/rules.md, "Recalculation"). Arguments: the kind noted and the
-- name of the row's id column. A version stored again (the same event) is noted once.
CREATE OR REPLACE FUNCTION ecm_note_retroactive_change()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.effective_from < (NEW.recorded_at AT TIME ZONE 'Europe/London')::date THEN
        INSERT INTO recalculations_due (event_id, kind, record_id, effective_from, recorded_at)
        VALUES (NEW.event_id, TG_ARGV[0], to_jsonb(NEW) ->> TG_ARGV[1], NEW.effective_from,
                NEW.recorded_at)
        ON CONFLICT (event_id) DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
