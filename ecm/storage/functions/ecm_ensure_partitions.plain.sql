-- Create the monthly partitions of raw_events (UTC months) and visit_outcomes (local
-- date months) for p_months months from the month of p_from; returns how many were new.
-- Called by `ecm db migrate` and by the sink (ecm_sink): creating a partition takes
-- ownership of the parent, so the function runs as its owner (the migrating role), and
-- only the sink may call it. CREATE OR REPLACE keeps the grants; they are restated here
-- so this file alone says who may call it. A visit_outcomes partition leaves a fifth of
-- each page free, so an outcome's revision can be an in-place (HOT) update (migration
-- 0017; see UPDATE_OUTCOMES in ecm/storage/sink_sql.py for how many are).
CREATE OR REPLACE FUNCTION ecm_ensure_partitions(p_from date, p_months integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    month_start date;
    next_start  date;
    suffix      text;
    created     integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(4539213, 1);  -- one creator at a time
    FOR i IN 0 .. p_months - 1 LOOP
        month_start := (date_trunc('month', p_from) + make_interval(months => i))::date;
        next_start := (month_start + interval '1 month')::date;
        suffix := to_char(month_start, '"_y"YYYY"m"MM');
        IF to_regclass('visit_outcomes' || suffix) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF visit_outcomes FOR VALUES FROM (%L) TO (%L)'
                           ' WITH (fillfactor = 80)',
                           'visit_outcomes' || suffix, month_start, next_start);
            created := created + 1;
        END IF;
        IF to_regclass('raw_events' || suffix) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF raw_events FOR VALUES FROM (%L) TO (%L)',
                           'raw_events' || suffix,
                           month_start::timestamp AT TIME ZONE 'UTC',
                           next_start::timestamp AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;
REVOKE EXECUTE ON FUNCTION ecm_ensure_partitions(date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ecm_ensure_partitions(date, integer) TO ecm_sink;
