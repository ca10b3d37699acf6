-- records: failed_deployment_recovery_time
-- The resolved incidents caused by changes implemented in the period, with hours to resolve.
select i.incident_id as record_id, i.title, c.service, c.team, i.opened_at as occurred_at,
       epoch(i.resolved_at - i.opened_at) / 3600.0 as value, 'change ' || c.change_id || ' (' || a.method || ')' as detail
from changes c
join incident_change_attribution(window_days := $window_days, ci_window := $ci_window) a
  on a.source = c.source and a.change_id = c.change_id
join incidents i on i.source = a.source and i.incident_id = a.incident_id
where is_implemented(c.actual_end, c.state, c.outcome, $period_from, $period_to)
  and i.resolved_at >= i.opened_at
order by occurred_at, record_id
