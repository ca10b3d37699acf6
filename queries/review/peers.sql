-- review: each release under review against the releases of the same service (and
-- source) deployed in the 6 months before it: their median lead time, slip, defects and
-- bundled changes, and their success rate. One row per release under review (count 0
-- and NULLs when it has no peers).
-- Releases under review: the temp table review_releases (source, release_id); see changes.sql.
with this as (
    select r.*
    from releases r
    semi join review_releases k on k.source = r.source and k.release_id = r.release_id
),
facts as (
    select * from release_facts(window_days := $window_days, major_priority := $major_priority, ci_window := $ci_window)
),
bundled as (
    select source, release_id, count(*) as changes
    from changes
    where release_id is not null
    group by source, release_id
),
peers as (
    select t.source as this_source, t.release_id as this_release, f.*, coalesce(b.changes, 0) as changes
    from this t
    join facts f
      on f.source = t.source and f.service is not distinct from t.service and f.release_id <> t.release_id
     and f.actual_end < t.actual_end and f.actual_end >= t.actual_end - interval 6 month
    left join bundled b on b.source = f.source and b.release_id = f.release_id
    where coalesce(f.state, '') <> 'cancelled' and coalesce(f.outcome, '') <> 'cancelled'
)
select t.source, t.release_id,
       count(p.release_id) as releases,
       median(epoch(p.actual_end - p.requested_at) / 86400.0) as lead_time_days,
       median(epoch(p.actual_end - p.planned_end) / 3600.0) as slip_hours,
       median(p.defects) as defects,
       median(p.changes) as changes,
       avg(case when p.release_id is null then null when p.failed then 0.0 else 1.0 end) as success_rate
from this t
left join peers p on p.this_source = t.source and p.this_release = t.release_id
group by t.source, t.release_id
