-- policy: cab_not_recorded
-- title: CAB approval required but not recorded
-- requires: cab_required, approved_at
-- definition: cab_required = true and no approved_at.
select source, change_id, 'cab_not_recorded' as policy,
       'CAB approval required but no approval time recorded' as detail
from changes
where cab_required = true and approved_at is null
