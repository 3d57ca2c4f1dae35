-- Forget the rota gaps of the local days retention dropped (before p_before, the first
-- day kept). A gap is as old as the planned day of the visit after it (local_date), the
-- day that visit's outcome partition or chunk is chosen by, so a month's gaps go with
-- its outcomes. The rota realism KPI (ecm/kpi/sql/rota_realism.sql) sums these rows and
-- has no rollup: its figures for those days go too.
CREATE OR REPLACE FUNCTION ecm_prune_rota_gaps(p_before date) RETURNS void LANGUAGE sql AS $$
    DELETE FROM rota_gaps WHERE local_date < p_before;
$$;
