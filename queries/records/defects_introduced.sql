-- records: defects_introduced
-- The incidents attributed to releases deployed in the period, opened within the window.
with links as (
    select * from incident_release_attribution(window_days := $window_days, ci_window := $ci_window)
),
final as (
    select i.incident_id as record_id, i.title, r.service, r.team, i.opened_at as occurred_at, i.priority::double as value,
           'release ' || r.release_id || ' (' || l.method || coalesce(', via ' || l.via_change, '') || ')' as detail
    from links l
    join incidents i on i.source = l.source and i.incident_id = l.incident_id
    join releases r on r.source = l.source and r.release_id = l.release_id
    where is_deployed(r.actual_end, r.state, r.outcome, $period_from, $period_to)
      and i.opened_at >= r.actual_end
      and i.opened_at < r.actual_end + to_days(cast($window_days as integer))
)
select * from final order by occurred_at, record_id
