-- API keys of the provider ingestion API (ecm/api/keys.py).
-- Only the SHA-256 of each key's secret is stored; the key is shown once when issued.
-- A key authenticates while revoked_at IS NULL OR now() < revoked_at (rotation grace).
CREATE TABLE IF NOT EXISTS api_keys (
    key_id        text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{12}$'),
    provider_id   text NOT NULL,
    role          text NOT NULL CHECK (role IN ('provider', 'contract_manager', 'admin')),
    secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
    label         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);

CREATE INDEX IF NOT EXISTS api_keys_provider_idx ON api_keys (provider_id, created_at DESC);
