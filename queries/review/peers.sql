-- review: the release against the releases of the same service (and source) deployed in
-- the 6 months before it: their median lead time, slip, defects and bundled changes, and
-- their success rate.
with this as (
    select * from releases where source = $release_source and release_id = $release_id
),
facts as (
    select * from release_facts(window_days := $window_days, major_priority := $major_priority, ci_window := $ci_window)
),
peers as (
    select f.*,
           (select count(*) from changes c where c.source = f.source and c.release_id = f.release_id) as changes
    from facts f, this t
    where f.source = t.source and f.service is not distinct from t.service and f.release_id <> t.release_id
      and f.actual_end < t.actual_end and f.actual_end >= t.actual_end - interval 6 month
      and coalesce(f.state, '') <> 'cancelled' and coalesce(f.outcome, '') <> 'cancelled'
)
select count(*) as releases,
       median(epoch(actual_end - requested_at) / 86400.0) as lead_time_days,
       median(epoch(actual_end - planned_end) / 3600.0) as slip_hours,
       median(defects) as defects,
       median(changes) as changes,
       avg(case when failed then 0.0 else 1.0 end) as success_rate
from peers
