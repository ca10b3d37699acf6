-- records: emergency_change_rate
-- The emergency changes implemented in the period.
select change_id as record_id, title, service, team, actual_end as occurred_at, null::double as value, 'emergency' as detail
from changes
where is_implemented(actual_end, state, outcome, $period_from, $period_to) and change_type = 'emergency'
order by occurred_at, record_id
