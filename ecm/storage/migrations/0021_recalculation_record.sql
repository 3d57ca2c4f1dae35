-- A recalculation's record, whole (issue #19; docs/rules.md, "Recalculation"): the
-- stored outcome each changed visit was compared with, and the visits judged and the
-- money per provider, so that the difference can be read again later (`ecm recalc show`,
-- the portal) exactly as it was first written, including one the sink recorded by itself.
-- A recalculation recorded before this migration has no providers' rows and no stored
-- outcomes here: it is shown from the columns it kept.
ALTER TABLE recalculation_visits ADD COLUMN IF NOT EXISTS outcome_before jsonb;

CREATE TABLE IF NOT EXISTS recalculation_providers (
    recalculation_id text           NOT NULL REFERENCES recalculations,
    provider_id      text           NOT NULL,
    visits_judged    integer        NOT NULL,
    visits_changed   integer        NOT NULL,
    payable_before   numeric(14, 2) NOT NULL,
    payable_after    numeric(14, 2) NOT NULL,
    verified_before  numeric(14, 2) NOT NULL,
    verified_after   numeric(14, 2) NOT NULL,
    PRIMARY KEY (recalculation_id, provider_id)
);

GRANT SELECT ON recalculation_providers TO ecm_api, ecm_sink, ecm_notify;
GRANT INSERT ON recalculation_providers TO ecm_sink;
