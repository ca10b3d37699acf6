-- policy: no_schedule
-- title: Normal change implemented without a planned window
-- requires: planned_start, planned_end
-- definition: a 'normal' change implemented (has actual_end, not cancelled) without
--   planned_start or planned_end.
select source, change_id, 'no_schedule' as policy,
       'normal change implemented without ' ||
       case when planned_start is null and planned_end is null then 'planned start and end'
            when planned_start is null then 'planned start' else 'planned end' end as detail
from changes
where change_type = 'normal'
  and actual_end is not null
  and coalesce(state, '') <> 'cancelled' and coalesce(outcome, '') <> 'cancelled'
  and (planned_start is null or planned_end is null)
