-- review: each release under review, with its slip, lead time and failure facts
-- (release_facts: failed = outcome failed/rolled_back or a major incident within W).
-- Releases under review: the temp table review_releases (source, release_id); see changes.sql.
select r.source, r.release_id, r.title, r.release_type, r.state, r.outcome, r.service, r.team,
       r.requested_at, r.planned_start, r.planned_end, r.actual_start, r.actual_end,
       epoch(r.actual_end - r.planned_end) / 3600.0 as slip_hours,
       epoch(r.actual_end - r.requested_at) / 86400.0 as lead_time_days,
       r.failed, r.defects, r.major_incidents,
       r.actual_end > r.planned_end + to_microseconds(cast($tolerance_hours * 3600000000 as bigint)) as late
from release_facts(window_days := $window_days, major_priority := $major_priority, ci_window := $ci_window) r
semi join review_releases k on k.source = r.source and k.release_id = r.release_id
