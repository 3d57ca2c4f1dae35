-- Closing the loop (issue #14; docs/rules.md "Closing the loop"): what people did about
-- exceptions, corrections and alerts, where each stands, and whether a visit's money is
-- verified. Every act is kept as it was sent (workflow_acts); the state it leads to is
-- what the engine judged and published (ExceptionStatusChanged, AlertHandled, outcome v2).

-- Every act people sent (explanations, decisions, corrections decided, frustrated visits,
-- acknowledgements, escalations, closures), once per event_id, never updated.
CREATE TABLE IF NOT EXISTS workflow_acts (
    event_id            text        PRIMARY KEY,
    event_type          text        NOT NULL,
    visit_id            text        NOT NULL,
    provider_id         text        NOT NULL,
    exception_id        text,
    alert_id            text,
    correction_event_id text,
    code                text,       -- reason, resolution or outcome code
    decision            text,       -- accepted | rejected
    by_user             text        NOT NULL,
    by_role             text        NOT NULL,
    note                text,
    occurred_at         timestamptz NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT now(),
    payload             jsonb       NOT NULL
);
CREATE INDEX IF NOT EXISTS workflow_acts_visit_idx ON workflow_acts (visit_id, occurred_at);
CREATE INDEX IF NOT EXISTS workflow_acts_exception_idx ON workflow_acts (exception_id, occurred_at)
    WHERE exception_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS workflow_acts_alert_idx ON workflow_acts (alert_id, occurred_at)
    WHERE alert_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS workflow_acts_correction_idx ON workflow_acts (correction_event_id)
    WHERE correction_event_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS workflow_acts_visit_idx ON workflow_acts (visit_id, occurred_at);

-- Where each exception stands. status_* is the last move (its code, who, when; when ecm
-- judged it: a move judged earlier than the stored one is stale); reason_code is the
-- provider's last explanation, explained_at and decided_at the last of each.
ALTER TABLE visit_exceptions
    ADD COLUMN IF NOT EXISTS status          text NOT NULL DEFAULT 'open',
    ADD COLUMN IF NOT EXISTS status_code     text,
    ADD COLUMN IF NOT EXISTS status_by       text,
    ADD COLUMN IF NOT EXISTS status_at       timestamptz,
    ADD COLUMN IF NOT EXISTS status_note     text,
    ADD COLUMN IF NOT EXISTS status_event_id text,
    ADD COLUMN IF NOT EXISTS status_learned_at timestamptz,
    ADD COLUMN IF NOT EXISTS reason_code     text,
    ADD COLUMN IF NOT EXISTS explained_at    timestamptz,
    ADD COLUMN IF NOT EXISTS decided_at      timestamptz;
UPDATE visit_exceptions SET status = 'settled'
WHERE resolved_at IS NOT NULL AND status = 'open';
CREATE INDEX IF NOT EXISTS visit_exceptions_status_idx
    ON visit_exceptions (provider_id, status, detected_at);

-- Who has each alert and what was done with it. *_learned_at: when ecm learned the fact
-- (the Kafka timestamp of the record ecm published), next to when it happened.
ALTER TABLE alerts
    ADD COLUMN IF NOT EXISTS tier                text NOT NULL DEFAULT 'provider_on_call',
    ADD COLUMN IF NOT EXISTS acknowledged_at     timestamptz,
    ADD COLUMN IF NOT EXISTS acknowledged_by     text,
    ADD COLUMN IF NOT EXISTS action_taken        text,
    ADD COLUMN IF NOT EXISTS closed_at           timestamptz,
    ADD COLUMN IF NOT EXISTS closed_by           text,
    ADD COLUMN IF NOT EXISTS outcome_code        text,
    ADD COLUMN IF NOT EXISTS monitor_only        boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS escalated_at        timestamptz,
    ADD COLUMN IF NOT EXISTS raised_learned_at   timestamptz,
    ADD COLUMN IF NOT EXISTS resolved_learned_at timestamptz;

-- An alert's timeline: one row per raise, AlertHandled and resolution, by event_id.
-- occurred_at is when it happened, learned_at when ecm learned it.
CREATE TABLE IF NOT EXISTS alert_history (
    event_id    text        PRIMARY KEY,
    alert_id    text        NOT NULL,
    action      text        NOT NULL,  -- raised | acknowledged | escalated | closed | monitor_only | resolved
    tier        text,
    by_user     text,
    by_role     text,
    code        text,                  -- outcome code of a closure, resolution of a resolve
    note        text,
    caused_by   text,
    occurred_at timestamptz NOT NULL,
    learned_at  timestamptz
);
CREATE INDEX IF NOT EXISTS alert_history_alert_idx ON alert_history (alert_id, occurred_at);

-- Whether a visit's payable money can be paid (version 1 outcomes: verified, all of it).
ALTER TABLE visit_outcomes
    ADD COLUMN IF NOT EXISTS verification text NOT NULL DEFAULT 'verified',
    ADD COLUMN IF NOT EXISTS verified_gbp numeric(12, 2),
    ADD COLUMN IF NOT EXISTS disputed_gbp numeric(12, 2) NOT NULL DEFAULT 0;
-- Outcomes stored before this migration: a visit with an exception still open that holds
-- payment (every kind but duplicate_event) is in dispute until someone decides; the
-- engine's next outcome of the visit replaces these values.
UPDATE visit_outcomes o SET
    verification = CASE WHEN held THEN 'in_dispute' ELSE 'verified' END,
    verified_gbp = CASE WHEN held THEN 0 ELSE o.payable_gbp END,
    disputed_gbp = CASE WHEN held THEN o.payable_gbp ELSE 0 END
FROM (SELECT v.visit_id, EXISTS (
          SELECT 1 FROM visit_exceptions e
          WHERE e.visit_id = v.visit_id AND e.resolved_at IS NULL
            AND e.kind <> 'duplicate_event') AS held
      FROM visit_outcomes v WHERE v.verified_gbp IS NULL) pending
WHERE o.visit_id = pending.visit_id AND o.verified_gbp IS NULL;
ALTER TABLE visit_outcomes ALTER COLUMN verified_gbp SET NOT NULL;

-- The council's lists of reason, resolution and outcome codes, versioned like rate cards.
CREATE TABLE IF NOT EXISTS reason_code_lists (
    code_list_id   text        NOT NULL,
    effective_from date        NOT NULL,
    effective_to   date,
    codes          jsonb       NOT NULL,
    event_id       text        NOT NULL,
    recorded_at    timestamptz NOT NULL,
    payload        jsonb       NOT NULL,
    PRIMARY KEY (code_list_id, effective_from)
);

-- Periods when alerts of a client or a service are monitor only (latest record per id).
CREATE TABLE IF NOT EXISTS alert_monitoring (
    monitoring_id text        PRIMARY KEY,
    client_id     text,
    service       text,
    starts        timestamptz NOT NULL,
    until         timestamptz NOT NULL,
    set_by        text        NOT NULL,
    reason        text        NOT NULL,
    event_id      text        NOT NULL,
    recorded_at   timestamptz NOT NULL,
    payload       jsonb       NOT NULL
);

-- API keys may be a duty officer's (acknowledge, escalate, close alerts; set monitoring).
ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
    CHECK (role IN ('provider', 'contract_manager', 'duty_officer', 'admin'));

-- Least privilege (0011): the API and the notifier read; the sink writes.
GRANT SELECT ON workflow_acts, alert_history, reason_code_lists, alert_monitoring
    TO ecm_api, ecm_sink, ecm_notify;
GRANT INSERT, UPDATE, DELETE ON workflow_acts, alert_history, reason_code_lists,
    alert_monitoring TO ecm_sink;
