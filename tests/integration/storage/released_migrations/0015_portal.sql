-- The web portal's people and sessions (ecm/portal/accounts.py). Passwords are Argon2id
-- hashes; a session row keeps only the SHA-256 of the cookie's token, and its CSRF token.
CREATE TABLE IF NOT EXISTS portal_users (
    user_id          text PRIMARY KEY,
    display_name     text NOT NULL,
    role             text NOT NULL
        CHECK (role IN ('provider', 'contract_manager', 'duty_officer', 'admin')),
    provider_id      text,
    password_hash    text NOT NULL,
    failed_attempts  integer NOT NULL DEFAULT 0,
    locked_until     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'provider') = (provider_id IS NOT NULL))
);

CREATE TABLE IF NOT EXISTS portal_sessions (
    session_hash  bytea PRIMARY KEY,
    user_id       text NOT NULL REFERENCES portal_users (user_id) ON DELETE CASCADE,
    csrf_token    text NOT NULL,
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS portal_sessions_user ON portal_sessions (user_id);

-- The API process serves the portal: it signs people in and keeps their sessions, and
-- may change nothing else of an account (``ecm users add`` runs as the schema owner).
GRANT SELECT ON portal_users, portal_sessions TO ecm_api, ecm_sink, ecm_notify;
GRANT UPDATE (failed_attempts, locked_until) ON portal_users TO ecm_api;
GRANT INSERT, UPDATE, DELETE ON portal_sessions TO ecm_api;
