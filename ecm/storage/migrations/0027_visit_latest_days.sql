-- visit_latest keeps only the day (partition) of each visit's stored outcome (issue #18,
-- "store each fact once"). When the outcome was recorded and by which event were copies
-- of the outcome's own columns, rewritten at every revision (a dead row each): the sink's
-- lookup and the recalculation read them from visit_outcomes, by visit and day. The table
-- is rebuilt, so the rows already stored lose the two copies too; run again, it changes
-- nothing.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'visit_latest'
                 AND column_name = 'recorded_at') THEN
        CREATE TABLE visit_latest_0027 (
            visit_id   text NOT NULL,
            local_date date NOT NULL
        );
        INSERT INTO visit_latest_0027 SELECT visit_id, local_date FROM visit_latest;
        DROP TABLE visit_latest;
        ALTER TABLE visit_latest_0027 RENAME TO visit_latest;
        ALTER TABLE visit_latest ADD CONSTRAINT visit_latest_pkey PRIMARY KEY (visit_id);
        GRANT SELECT ON visit_latest TO ecm_api, ecm_sink, ecm_notify;
        GRANT INSERT, UPDATE, DELETE ON visit_latest TO ecm_sink;
    END IF;
END $$;
