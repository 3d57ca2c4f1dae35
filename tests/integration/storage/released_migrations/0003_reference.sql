-- Reference data, versioned in time (ecm/contracts/reference.py). Each table keeps the
-- latest version received per id and effective_from: a later event for the same key
-- replaces it, a new effective_from adds a version. effective_to is inclusive.
-- The full event is kept in payload; typed columns are what queries need.

CREATE TABLE lots (
    lot_id         text    NOT NULL,
    effective_from date    NOT NULL,
    effective_to   date,
    name           text    NOT NULL,
    msoa_codes     text[]  NOT NULL,
    event_id       text    NOT NULL,
    recorded_at    timestamptz NOT NULL,
    payload        jsonb   NOT NULL,
    PRIMARY KEY (lot_id, effective_from)
);

CREATE TABLE providers (
    provider_id    text    NOT NULL,
    effective_from date    NOT NULL,
    effective_to   date,
    name           text    NOT NULL,
    kind           text    NOT NULL,
    lot_ids        text[]  NOT NULL,
    event_id       text    NOT NULL,
    recorded_at    timestamptz NOT NULL,
    payload        jsonb   NOT NULL,
    PRIMARY KEY (provider_id, effective_from)
);

CREATE TABLE clients (
    client_id      text    NOT NULL,
    effective_from date    NOT NULL,
    effective_to   date,
    lot_id         text    NOT NULL,
    rurality       text    NOT NULL,
    event_id       text    NOT NULL,
    recorded_at    timestamptz NOT NULL,
    payload        jsonb   NOT NULL,
    PRIMARY KEY (client_id, effective_from)
);

CREATE TABLE carers (
    carer_id       text    NOT NULL,
    effective_from date    NOT NULL,
    effective_to   date,
    provider_id    text    NOT NULL,
    event_id       text    NOT NULL,
    recorded_at    timestamptz NOT NULL,
    payload        jsonb   NOT NULL,
    PRIMARY KEY (carer_id, effective_from)
);
CREATE INDEX carers_provider_idx ON carers (provider_id);

CREATE TABLE care_packages (
    package_id     text    NOT NULL,
    effective_from date    NOT NULL,
    effective_to   date,
    client_id      text    NOT NULL,
    provider_id    text    NOT NULL,
    lot_id         text    NOT NULL,
    service        text    NOT NULL,
    tier           text    NOT NULL,
    weekly_hours   numeric(7, 2) NOT NULL,
    event_id       text    NOT NULL,
    recorded_at    timestamptz NOT NULL,
    payload        jsonb   NOT NULL,
    PRIMARY KEY (package_id, effective_from)
);
CREATE INDEX care_packages_provider_idx ON care_packages (provider_id, lot_id, service);

CREATE TABLE rate_cards (
    rate_card_id   text    NOT NULL,
    effective_from date    NOT NULL,
    effective_to   date,
    provider_id    text,
    lot_id         text    NOT NULL,
    service        text    NOT NULL,
    tier           text    NOT NULL,
    hourly_rate    numeric(12, 4) NOT NULL,
    event_id       text    NOT NULL,
    recorded_at    timestamptz NOT NULL,
    payload        jsonb   NOT NULL,
    PRIMARY KEY (rate_card_id, effective_from)
);

CREATE TABLE contract_rules (
    rules_id       text    NOT NULL,
    effective_from date    NOT NULL,
    effective_to   date,   -- always NULL: rules apply until superseded
    lot_id         text,
    service        text,
    rules          jsonb   NOT NULL,
    event_id       text    NOT NULL,
    recorded_at    timestamptz NOT NULL,
    payload        jsonb   NOT NULL,
    PRIMARY KEY (rules_id, effective_from)
);
