-- Monday of the ISO week of a date.
CREATE OR REPLACE FUNCTION ecm_week_start(d date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT d - (extract(isodow FROM d)::int - 1) $$;
