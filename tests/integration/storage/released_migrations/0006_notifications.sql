-- Outbox of webhook notifications (ecm/notify). One row per alert, event and endpoint:
-- the unique key makes a redelivered alert (Kafka at-least-once) a no-op, and a row is
-- marked delivered in the same transaction that claimed it (FOR UPDATE SKIP LOCKED),
-- so several notifiers can run and none sends a delivered row again.
CREATE TABLE webhook_deliveries (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id         text        NOT NULL,
    event            text        NOT NULL CHECK (event IN ('raised', 'resolved')),
    endpoint         text        NOT NULL,  -- 'duty_team' or 'provider:<provider_id>'
    kind             text        NOT NULL,
    provider_id      text        NOT NULL,
    idempotency_key  text        NOT NULL,
    body             text        NOT NULL,  -- the exact bytes that are signed and sent
    status           text        NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    last_status_code integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    failed_at        timestamptz,
    CONSTRAINT webhook_deliveries_once UNIQUE (alert_id, event, endpoint)
);

-- The delivery loop's claim: rows not yet delivered, by when they are due.
CREATE INDEX webhook_deliveries_due_idx
    ON webhook_deliveries (next_attempt_at, id) WHERE status <> 'delivered';
