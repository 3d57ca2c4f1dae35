-- Bring kpi_client_week and kpi_continuity_weekly up to date with the outcome batch the
-- sink just wrote (ecm_stage_outcomes: the new versions; ecm_stage_replaced: the stored
-- versions they replaced; ecm/storage/sink_sql.py). A client-week's carers are a set:
-- the new versions' carers are added to it, which is exact unless a replaced version
-- leaves its client-week (moved) or loses a carer; only those client-weeks are recomputed
-- from visit_outcomes. Then the continuity of the (provider, week) keys whose client-weeks
-- changed (most of a batch's visits are of a client-week that already has their carers,
-- and the continuity of their (provider, week) stays as it is). The same in both storage
-- modes; the caller holds the (provider, week) locks.
CREATE OR REPLACE FUNCTION ecm_refresh_batch_client_weeks()
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    p text[];
    w date[];
    c text[];
BEGIN
    WITH changed AS (
        INSERT INTO kpi_client_week AS k (provider_id, lot_id, service, week_start, client_id,
                                          carer_ids)
        SELECT provider_id, coalesce(lot_id, ''), coalesce(service, ''),
               ecm_week_start(local_date), client_id, array_agg(DISTINCT carer ORDER BY carer)
        FROM ecm_stage_outcomes CROSS JOIN LATERAL unnest(carer_ids) AS carer
        GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (provider_id, week_start, client_id, lot_id, service) DO UPDATE
        SET carer_ids = ARRAY(SELECT DISTINCT x FROM unnest(k.carer_ids || EXCLUDED.carer_ids)
                              AS x ORDER BY x)
        WHERE NOT k.carer_ids @> EXCLUDED.carer_ids
        RETURNING k.provider_id, k.week_start
    )
    SELECT array_agg(provider_id), array_agg(week_start) INTO p, w FROM changed;
    IF p IS NOT NULL THEN
        PERFORM ecm_refresh_continuity_weeks(p, w);
    END IF;

    SELECT array_agg(r.provider_id), array_agg(ecm_week_start(r.local_date)),
           array_agg(r.client_id) INTO p, w, c
    FROM ecm_stage_replaced r JOIN ecm_stage_outcomes s USING (visit_id)
    WHERE cardinality(r.carer_ids) > 0
      AND ((s.provider_id, ecm_week_start(s.local_date), s.client_id, s.lot_id, s.service)
           IS DISTINCT FROM
           (r.provider_id, ecm_week_start(r.local_date), r.client_id, r.lot_id, r.service)
           OR NOT s.carer_ids @> r.carer_ids);
    IF p IS NOT NULL THEN
        PERFORM ecm_refresh_client_weeks(p, w, c);  -- and their continuity
    END IF;
END $$;
