-- Closing the loop (ecm/notify): the webhook outbox also carries escalations,
-- acknowledgements and closures, and the notifier remembers, per alert, whether it is
-- monitor-only (nobody is paged) and the highest tier it reached (updates go to every
-- tier told so far). Both only ever grow, so re-reading the alerts topic changes nothing.
-- Written to run again safely (the migration tests re-run migrations).
ALTER TABLE webhook_deliveries DROP CONSTRAINT IF EXISTS webhook_deliveries_event_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_event_check
    CHECK (event IN ('raised', 'resolved', 'escalated', 'acknowledged', 'closed'));

CREATE TABLE IF NOT EXISTS notify_alerts (
    alert_id     text        PRIMARY KEY,
    monitor_only boolean     NOT NULL DEFAULT false,
    tier         text        NOT NULL DEFAULT 'provider_on_call'
                             CHECK (tier IN ('provider_on_call', 'council_duty', 'manager')),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The notifier keeps this table (0011 granted only what existed then).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ecm_notify') THEN
        GRANT SELECT, INSERT, UPDATE ON notify_alerts TO ecm_notify;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ecm_api') THEN
        GRANT SELECT ON notify_alerts TO ecm_api;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ecm_sink') THEN
        GRANT SELECT ON notify_alerts TO ecm_sink;
    END IF;
END
$$;
