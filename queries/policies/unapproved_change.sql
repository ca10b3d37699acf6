-- policy: unapproved_change
-- title: Normal or emergency change implemented without approval
-- requires: approved
-- definition: A 'normal' or 'emergency' change that was implemented (has actual_end,
--   not cancelled) with approved = false.
select source, change_id, 'unapproved_change' as policy,
       change_type || ' change implemented ' || strftime(actual_end, '%Y-%m-%d %H:%M') || ' without approval' as detail
from changes
where change_type in ('normal', 'emergency')
  and approved = false
  and actual_end is not null
  and coalesce(state, '') <> 'cancelled' and coalesce(outcome, '') <> 'cancelled'
