-- export: incident-to-change attribution with the configured settings, in the incident's month.
select l.*, coalesce(strftime(i.opened_at, '%Y-%m'), 'unknown') as month
from incident_change_attribution(window_days := $window_days, ci_window := $ci_window) l
join incidents i on i.source = l.source and i.incident_id = l.incident_id
