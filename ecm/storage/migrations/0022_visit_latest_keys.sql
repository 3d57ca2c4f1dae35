-- visit_latest keeps what the sink's lookup reads (issue #18, "store each fact once"):
-- per visit, the day (partition) of its stored outcome, when it was recorded and by which
-- event. Its provider and client were copies of the outcome's that nothing read (the
-- rollups take the replaced rows' keys from visit_outcomes itself). The table is rebuilt,
-- so the rows already stored lose the two copies too.
CREATE TABLE visit_latest_0022 (
    recorded_at timestamptz NOT NULL,
    local_date  date        NOT NULL,
    visit_id    text        NOT NULL,
    event_id    text        NOT NULL
) WITH (fillfactor = 80);
INSERT INTO visit_latest_0022 SELECT recorded_at, local_date, visit_id, event_id
FROM visit_latest;
DROP TABLE visit_latest;
ALTER TABLE visit_latest_0022 RENAME TO visit_latest;
ALTER TABLE visit_latest ADD CONSTRAINT visit_latest_pkey PRIMARY KEY (visit_id);
GRANT SELECT ON visit_latest TO ecm_api, ecm_sink, ecm_notify;
GRANT INSERT, UPDATE, DELETE ON visit_latest TO ecm_sink;
