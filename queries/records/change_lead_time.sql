-- records: change_lead_time
-- The changes implemented in the period with their lead time in days.
select change_id as record_id, title, service, team, actual_end as occurred_at,
       epoch(actual_end - opened_at) / 86400.0 as value, '' as detail
from changes
where is_implemented(actual_end, state, outcome, $period_from, $period_to)
  and actual_end >= opened_at
order by occurred_at, record_id
