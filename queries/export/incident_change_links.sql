-- export: incident-to-change attribution with the configured settings, in the incident's month.
-- The columns it always had: the links' incident times (migration 12) give the month.
select l.source, l.incident_id, l.change_id, l.method,
       coalesce(strftime(l.opened_at, '%Y-%m'), 'unknown') as month
from incident_change_attribution(window_days := $window_days, ci_window := $ci_window) l
