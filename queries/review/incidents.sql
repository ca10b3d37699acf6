-- review: incidents attributed to the release (incident_release_attribution: explicit,
-- through one of its changes, or by CI window), with how they were attributed, whether
-- they opened within the window after the deployment, and hours to resolve.
select i.incident_id, i.title, i.priority, l.method, l.via_change, i.opened_at, i.resolved_at,
       epoch(i.resolved_at - i.opened_at) / 3600.0 as recovery_hours,
       (i.opened_at >= r.actual_end and i.opened_at < r.actual_end + to_days(cast($window_days as integer))) as within_window
from incident_release_attribution(window_days := $window_days, ci_window := $ci_window) l
join incidents i on i.source = l.source and i.incident_id = l.incident_id
join releases r on r.source = l.source and r.release_id = l.release_id
where l.source = $release_source and l.release_id = $release_id
order by i.opened_at, i.incident_id
