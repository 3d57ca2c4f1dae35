-- A trust score per visit and auditable recalculation (issue #19; docs/rules.md, "Trust
-- score" and "Recalculation").
--
-- visit_outcomes gains the trust score of version 3 of the outcome (0-100; NULL for an
-- outcome stored before version 3), to rank the visits most worth auditing and average it
-- per provider. Its deductions and which rules and rate card judged the visit go in
-- `extra` with the outcome's other fields that no column holds (ecm/storage/rows.py).
ALTER TABLE visit_outcomes ADD COLUMN IF NOT EXISTS trust_score smallint;
CREATE INDEX IF NOT EXISTS visit_outcomes_trust_idx
    ON visit_outcomes (local_date, trust_score) WHERE trust_score < 100;

-- A rule or rate published with an effective date before the day it was recorded changes
-- how visits already judged would be judged. The sink stores it like any reference
-- version; this table notes it (a trigger, below), so it is never silently ignored:
-- `ecm recalc --due` recalculates from the earliest change due and marks each covered.
CREATE TABLE IF NOT EXISTS recalculations_due (
    event_id         text        PRIMARY KEY,
    kind             text        NOT NULL,  -- contract_rules | rate_card
    record_id        text        NOT NULL,  -- rules_id | rate_card_id
    effective_from   date        NOT NULL,
    recorded_at      timestamptz NOT NULL,
    noticed_at       timestamptz NOT NULL DEFAULT now(),
    recalculation_id text                   -- the recalculation that covered it
);

-- One recalculation: visits of [from_date, to_date] judged again under the reference data
-- as it now stands, compared with the stored outcomes. Nothing replaces a stored outcome
-- until `ecm recalc apply` (applied_at, applied_by); the before and after of every visit
-- that changed stay here for good.
CREATE TABLE IF NOT EXISTS recalculations (
    recalculation_id text        PRIMARY KEY,
    from_date        date        NOT NULL,
    to_date          date,
    reason           text        NOT NULL,
    source           text        NOT NULL,  -- where the visits' events were read from
    created_by       text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    visits_judged    integer     NOT NULL,
    visits_changed   integer     NOT NULL,
    payable_before   numeric(14, 2) NOT NULL,
    payable_after    numeric(14, 2) NOT NULL,
    applied_by       text,
    applied_at       timestamptz
);

CREATE TABLE IF NOT EXISTS recalculation_visits (
    recalculation_id text    NOT NULL REFERENCES recalculations,
    visit_id         text    NOT NULL,
    local_date       date    NOT NULL,
    provider_id      text    NOT NULL,
    changes          text[]  NOT NULL,  -- the figures that differ, by name
    status_before    text,
    status_after     text    NOT NULL,
    payable_before   numeric(14, 2),
    payable_after    numeric(14, 2) NOT NULL,
    verified_before  numeric(14, 2),
    verified_after   numeric(14, 2) NOT NULL,
    trust_before     smallint,
    trust_after      smallint NOT NULL,
    judged_by_before text,
    judged_by_after  text    NOT NULL,
    event_id_before  text,              -- the stored outcome compared with
    outcome          jsonb   NOT NULL,  -- the recalculated outcome record, applied as sent
    PRIMARY KEY (recalculation_id, visit_id)
);
CREATE INDEX IF NOT EXISTS recalculation_visits_provider_idx
    ON recalculation_visits (recalculation_id, provider_id);

-- Everyone reads them; the sink's role notes changes due (the trigger runs as it) and may
-- record and apply recalculations (`ecm recalc` run with its credentials).
GRANT SELECT ON recalculations_due, recalculations, recalculation_visits
    TO ecm_api, ecm_sink, ecm_notify;
GRANT INSERT, UPDATE ON recalculations_due, recalculations, recalculation_visits TO ecm_sink;

-- ecm:refresh
-- After the functions: note every retroactive rule or rate the sink stores.
DROP TRIGGER IF EXISTS contract_rules_retroactive ON contract_rules;
CREATE TRIGGER contract_rules_retroactive AFTER INSERT OR UPDATE ON contract_rules
    FOR EACH ROW EXECUTE FUNCTION ecm_note_retroactive_change('contract_rules', 'rules_id');
DROP TRIGGER IF EXISTS rate_cards_retroactive ON rate_cards;
CREATE TRIGGER rate_cards_retroactive AFTER INSERT OR UPDATE ON rate_cards
    FOR EACH ROW EXECUTE FUNCTION ecm_note_retroactive_change('rate_card', 'rate_card_id');
