-- Rota realism per provider × lot × ISO week (docs/rules.md, "Rota realism"): the gaps
-- judged between consecutive visits of a carer's planned day, those shorter than the
-- travel the contract's rules estimate, their share, and the minutes of travel the rota
-- did not allow. What one gap adds is decided once (ecm/domain/kpis.py, RotaRow.add);
-- this only sums the stored gaps (a withdrawn one counts nowhere). The week is the ISO
-- week of the visit's planned day (ecm/domain/calendar.py, iso_week_of_date).
-- Parameters: start, end (local dates, [start, end), of the visit's planned day),
-- provider_id, lot_id (NULL = all).
SELECT provider_id, coalesce(lot_id, '') AS lot_id, to_char(local_date, 'IYYY-"W"IW') AS iso_week,
       count(*) FILTER (WHERE status = 'judged') AS gaps_judged,
       count(*) FILTER (WHERE short) AS gaps_short,
       round(count(*) FILTER (WHERE short)::numeric
             / nullif(count(*) FILTER (WHERE status = 'judged'), 0), 4) AS short_gap_share,
       round(sum(shortfall_seconds)::numeric / 60, 2) AS travel_minutes_not_allowed
FROM rota_gaps
WHERE status <> 'withdrawn'
  AND local_date >= %(start)s::date AND local_date < %(end)s::date
  AND (%(provider_id)s::text IS NULL OR provider_id = %(provider_id)s)
  AND (%(lot_id)s::text IS NULL OR lot_id = %(lot_id)s)
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
