-- records: deployment_frequency
-- The releases deployed in the period.
select release_id as record_id, title, service, team, actual_end as occurred_at, null::double as value, coalesce(outcome, 'outcome unknown') as detail
from releases
where is_deployed(actual_end, state, outcome, $period_from, $period_to)
order by occurred_at, record_id
