-- Bring the rollups up to date with the outcome batch the sink just wrote (its session's
-- staging tables, ecm/storage/sink_sql.py): ecm_stage_outcomes holds the new versions,
-- ecm_stage_replaced the stored versions they replaced. kpi_daily and kpi_weekly gain the
-- batch's difference (new minus replaced, summed per row of each), a row whose last
-- visit left it is dropped; kpi_client_week and kpi_continuity_weekly follow
-- (ecm_refresh_batch_client_weeks). Work in proportion to the batch, not to the days it
-- touches. Takes the same
-- (provider, ISO week) advisory locks as ecm_refresh_rollups, in the same order.
CREATE OR REPLACE FUNCTION ecm_refresh_batch_rollups()
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    sums     text[] := ARRAY['visits_planned', 'visits_cancelled', 'visits_completed', 'on_time',
                             'early', 'late', 'missed', 'short', 'no_checkout', 'single_handed',
                             'manual_entries', 'checked_in', 'electronic', 'planned_seconds',
                             'delivered_seconds', 'lateness_seconds', 'lateness_visits',
                             'payable_gbp', 'visits_verified', 'visits_frustrated',
                             'verified_gbp', 'disputed_gbp', 'visits', 'trust_sum',
                             'trust_assessed'];
    names    text := array_to_string(sums, ', ');
    added    text := (SELECT string_agg(format('%I = r.%I + EXCLUDED.%I', c, c, c), ', ')
                      FROM unnest(sums) AS c);
    summed   text := (SELECT string_agg(format('sum(%I)', c), ', ') FROM unnest(sums) AS c);
    rollup   record;
    lock_key record;
    days      date[];
    providers text[];
    lots      text[];
    services  text[];
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS ecm_stage_delta (LIKE kpi_daily) ON COMMIT DELETE ROWS;
    FOR lock_key IN SELECT DISTINCT provider_id, ecm_week_start(local_date) AS week
             FROM (SELECT provider_id, local_date FROM ecm_stage_outcomes
                   UNION ALL SELECT provider_id, local_date FROM ecm_stage_replaced) k
             ORDER BY 1, 2 LOOP
        PERFORM pg_advisory_xact_lock(
            hashtextextended(lock_key.provider_id || '|' || lock_key.week::text, 4539213));
    END LOOP;

    INSERT INTO ecm_stage_delta (provider_id, lot_id, service, local_date, visits_planned,
        visits_cancelled, visits_completed, on_time, early, late, missed, short, no_checkout,
        single_handed, manual_entries, checked_in, electronic, planned_seconds,
        delivered_seconds, lateness_seconds, lateness_visits, payable_gbp, visits_verified,
        visits_frustrated, verified_gbp, disputed_gbp, visits, trust_sum, trust_assessed)
    SELECT o.provider_id, coalesce(o.lot_id, ''), coalesce(o.service, ''), o.local_date,
           sum(o.n * o.scheduled::int),
           sum(o.n * o.kpi_cancelled::int),
           sum(o.n * o.kpi_completed::int),
           sum(CASE WHEN o.punctuality = 'on_time' THEN o.n ELSE 0 END),
           sum(CASE WHEN o.punctuality = 'early' THEN o.n ELSE 0 END),
           sum(CASE WHEN o.punctuality = 'late' THEN o.n ELSE 0 END),
           sum(o.n * o.kpi_missed::int),
           sum(o.n * o.short::int),
           sum(o.n * o.kpi_no_checkout::int),
           sum(o.n * o.single_handed::int),
           sum(o.n * o.manual_entry::int),
           sum(o.n * o.kpi_checked_in::int),
           sum(o.n * o.electronic::int),
           sum(o.n * o.kpi_planned_seconds),
           sum(o.n * o.delivered_seconds),
           sum(o.n * coalesce(o.kpi_lateness_seconds, 0)),
           sum(o.n * (o.kpi_lateness_seconds IS NOT NULL)::int),
           sum(o.n * o.payable_gbp),
           sum(o.n * (o.verification = 'verified')::int),
           sum(o.n * (o.status = 'frustrated')::int),
           sum(o.n * o.verified_gbp),
           sum(o.n * o.disputed_gbp),
           sum(o.n),
           sum(o.n * coalesce(o.trust_score, 0)),
           sum(o.n * (o.trust_score IS NOT NULL)::int)
    FROM (SELECT 1 AS n, * FROM ecm_stage_outcomes
          UNION ALL SELECT -1, * FROM ecm_stage_replaced) o
    GROUP BY 1, 2, 3, 4;

    -- kpi_daily and kpi_weekly gain the delta, summed per row of each. A row the batch
    -- emptied (its last visit moved away) is dropped: each upsert returns the rows it left
    -- without visits, and only those are deleted, by key (a join of the delta with the
    -- whole rollup scanned it at every batch).
    FOR rollup IN SELECT * FROM (VALUES ('kpi_daily', 'local_date', 'local_date'),
                                        ('kpi_weekly', 'week_start', 'ecm_week_start(local_date)')
                                 ) AS r(name, day_column, day_of) LOOP
        EXECUTE format('WITH up AS (INSERT INTO %1$I AS r (provider_id, lot_id, service, %2$I,'
                       ' %3$s) SELECT provider_id, lot_id, service, %4$s, %5$s'
                       ' FROM ecm_stage_delta GROUP BY 1, 2, 3, 4'
                       ' ON CONFLICT (%2$I, provider_id, lot_id, service) DO UPDATE SET %6$s'
                       ' RETURNING r.%2$I AS day, r.provider_id, r.lot_id, r.service, r.visits)'
                       ' SELECT array_agg(day), array_agg(provider_id), array_agg(lot_id),'
                       ' array_agg(service) FROM up WHERE visits = 0',
                       rollup.name, rollup.day_column, names, rollup.day_of, summed, added)
            INTO days, providers, lots, services;
        IF days IS NOT NULL THEN
            EXECUTE format('DELETE FROM %I r WHERE (r.%I, r.provider_id, r.lot_id, r.service)'
                           ' IN (SELECT * FROM unnest($1, $2, $3, $4)) AND r.visits = 0',
                           rollup.name, rollup.day_column)
                USING days, providers, lots, services;
        END IF;
    END LOOP;

    PERFORM ecm_refresh_batch_client_weeks();
END $$;
