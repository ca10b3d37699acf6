-- records: release_lead_time
-- The releases deployed in the period with their lead time in days (the sample the median is taken from).
select release_id as record_id, title, service, team, actual_end as occurred_at,
       epoch(actual_end - requested_at) / 86400.0 as value, '' as detail
from releases
where is_deployed(actual_end, state, outcome, $period_from, $period_to)
  and actual_end >= requested_at
order by occurred_at, record_id
