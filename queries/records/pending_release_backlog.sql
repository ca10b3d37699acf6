-- records: pending_release_backlog
-- The releases pending at the period end; value = age in days.
select release_id as record_id, title, service, team, requested_at as occurred_at,
       epoch($period_to::timestamp - requested_at) / 86400.0 as value, coalesce(state, '') as detail
from releases
where requested_at < $period_to
  and (actual_end is null or actual_end >= $period_to)
  and (closed_at is null or closed_at >= $period_to)
order by occurred_at, record_id
