-- records: failed_deployment_recovery_time
-- The resolved incidents caused by changes implemented in the period, with hours to resolve.
with linked as materialized (
    -- The implemented changes' links first (few), then their incidents: left
    -- to itself DuckDB joined the links to every incident first.
    select c.service, c.team, c.change_id, a.source, a.incident_id, a.method
    from changes c
    join incident_change_attribution(window_days := $window_days, ci_window := $ci_window) a
      on a.source = c.source and a.change_id = c.change_id
    where is_implemented(c.actual_end, c.state, c.outcome, $period_from, $period_to)
)
select i.incident_id as record_id, i.title, l.service, l.team, i.opened_at as occurred_at,
       epoch(i.resolved_at - i.opened_at) / 3600.0 as value, 'change ' || l.change_id || ' (' || l.method || ')' as detail
from linked l
join incidents i on i.source = l.source and i.incident_id = l.incident_id
where i.resolved_at >= i.opened_at
order by occurred_at, record_id
