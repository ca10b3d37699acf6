-- review: incidents attributed to each release under review (incident_release_attribution:
-- explicit, through one of its changes, or by CI window), with how they were attributed,
-- whether they opened within the window after the deployment, and hours to resolve.
-- Releases under review: the temp table review_releases (source, release_id); see changes.sql.
select l.source, l.release_id,
       i.incident_id, i.title, i.priority, l.method, l.via_change, i.opened_at, i.resolved_at,
       epoch(i.resolved_at - i.opened_at) / 3600.0 as recovery_hours,
       (i.opened_at >= r.actual_end and i.opened_at < r.actual_end + to_days(cast($window_days as integer))) as within_window
from incident_release_attribution(window_days := $window_days, ci_window := $ci_window) l
semi join review_releases k on k.source = l.source and k.release_id = l.release_id
join incidents i on i.source = l.source and i.incident_id = l.incident_id
join releases r on r.source = l.source and r.release_id = l.release_id
order by l.source, l.release_id, i.opened_at, i.incident_id
