-- records: change_rollback_rate
-- The changes implemented in the period that were rolled back.
select change_id as record_id, title, service, team, actual_end as occurred_at, null::double as value, 'rolled back' as detail
from changes
where is_implemented(actual_end, state, outcome, $period_from, $period_to) and outcome = 'rolled_back'
order by occurred_at, record_id
