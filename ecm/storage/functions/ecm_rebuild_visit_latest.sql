-- Rebuild visit_latest from visit_outcomes: run after migration 0007, and by bulk
-- loaders that write visit_outcomes without the sink (the sink keeps it up to date).
CREATE OR REPLACE FUNCTION ecm_rebuild_visit_latest() RETURNS bigint LANGUAGE sql AS $$
    DELETE FROM visit_latest;
    WITH inserted AS (
        INSERT INTO visit_latest (visit_id, local_date)
        SELECT DISTINCT ON (visit_id) visit_id, local_date
        FROM visit_outcomes
        ORDER BY visit_id, recorded_at DESC
        RETURNING 1
    )
    SELECT count(*) FROM inserted;
$$;
