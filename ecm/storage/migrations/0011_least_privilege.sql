-- Least privilege: each component connects as a role that can do only what it needs,
-- and nothing but migrations (run as the owner of the schema) can change the schema.
--   ecm_api     reads everything it serves; issues and revokes API keys; writes no
--               outcome, alert, exception, KPI or reference row
--   ecm_sink    writes what the workers derive and the reference data it stores
--   ecm_notify  reads alerts; keeps the webhook outbox
-- None of them owns a table or may create one (PostgreSQL 15 gives PUBLIC no CREATE on
-- schema public), so none can alter the schema. The roles are created here when the
-- migrating role may (the local stack creates them, LOGIN, beforehand); give them LOGIN
-- and a password to let a component connect as one (docs/data-protection.md).
DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['ecm_api', 'ecm_sink', 'ecm_notify'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
            EXCEPTION WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role % does not exist and % may not create it: create the '
                    'roles ecm_api, ecm_sink and ecm_notify first', role_name, current_user;
            END;
        END IF;
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA public TO ecm_api, ecm_sink, ecm_notify;

GRANT SELECT ON ALL TABLES IN SCHEMA public TO ecm_api, ecm_sink, ecm_notify;
GRANT INSERT, UPDATE ON api_keys TO ecm_api;
GRANT INSERT, UPDATE, DELETE ON raw_events, visit_outcomes, visit_latest, alerts,
    visit_exceptions, kpi_daily, kpi_weekly, kpi_client_week, kpi_continuity_weekly, lots,
    providers, clients, carers, care_packages, rate_cards, contract_rules TO ecm_sink;
GRANT INSERT, UPDATE ON webhook_deliveries TO ecm_notify;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ecm_api, ecm_sink, ecm_notify;

-- The sink creates the monthly partitions a batch needs: ecm_ensure_partitions() runs as
-- its owner and only ecm_sink may call it (ecm/storage/functions/ecm_ensure_partitions.*).
