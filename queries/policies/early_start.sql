-- policy: early_start
-- title: Implementation began before its window
-- requires: actual_start, planned_start
-- definition: actual_start < planned_start.
select source, change_id, 'early_start' as policy,
       'started ' || strftime(actual_start, '%Y-%m-%d %H:%M') || ', window opened ' || strftime(planned_start, '%Y-%m-%d %H:%M') as detail
from changes
where actual_start < planned_start
