-- policy: no_outcome
-- title: Closed change without an outcome
-- requires: outcome
-- definition: a change closed (state = 'closed') with NULL outcome.
select source, change_id, 'no_outcome' as policy,
       'closed without a close code / outcome' as detail
from changes
where state = 'closed' and outcome is null
