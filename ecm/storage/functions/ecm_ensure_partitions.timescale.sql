-- Hypertables create their chunks on insert: nothing to do ahead. Same signature,
-- security and grants as the plain flavour, so the sink's call works in both modes.
CREATE OR REPLACE FUNCTION ecm_ensure_partitions(p_from date, p_months integer)
RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT 0 $$;
REVOKE EXECUTE ON FUNCTION ecm_ensure_partitions(date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ecm_ensure_partitions(date, integer) TO ecm_sink;
