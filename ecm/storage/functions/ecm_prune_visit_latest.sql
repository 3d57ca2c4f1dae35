-- Forget the visits whose outcome is gone (their partition or chunk was dropped).
CREATE OR REPLACE FUNCTION ecm_prune_visit_latest(p_before date) RETURNS void LANGUAGE sql AS $$
    DELETE FROM visit_latest d
    WHERE d.local_date < p_before
      AND NOT EXISTS (SELECT 1 FROM visit_outcomes o
                      WHERE o.visit_id = d.visit_id AND o.local_date = d.local_date);
$$;
