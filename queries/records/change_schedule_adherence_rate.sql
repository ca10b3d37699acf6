-- records: change_schedule_adherence_rate
-- The changes implemented in the period that finished after planned_end (+ tolerance); value = slip in hours.
select change_id as record_id, title, service, team, actual_end as occurred_at,
       epoch(actual_end - planned_end) / 3600.0 as value, 'late by ' || round(epoch(actual_end - planned_end) / 3600.0, 1) || ' h' as detail
from changes
where is_implemented(actual_end, state, outcome, $period_from, $period_to)
  and actual_end > planned_end + to_microseconds(cast($tolerance_hours * 3600000000 as bigint))
order by occurred_at, record_id
