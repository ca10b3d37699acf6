-- records: rollback_rate
-- The releases deployed in the period that were rolled back.
select release_id as record_id, title, service, team, actual_end as occurred_at, null::double as value, 'rolled back' as detail
from releases
where is_deployed(actual_end, state, outcome, $period_from, $period_to) and outcome = 'rolled_back'
order by occurred_at, record_id
