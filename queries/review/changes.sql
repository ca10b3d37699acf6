-- review: the changes bundled in each release under review (changes.release_id), with
-- their outcome and the incidents attributed to each (change_facts).
-- The releases under review are the rows of the temp table review_releases
-- (source, release_id), which relkpi fills; by hand:
--   create temp table review_releases as select 'servicenow' as source, 'RLSE0001' as release_id;
select c.source, c.release_id,
       c.change_id, c.title, c.change_type, c.state, c.outcome, c.actual_end, c.failed, c.incidents_caused
from change_facts(window_days := $window_days, ci_window := $ci_window) c
semi join review_releases k on k.source = c.source and k.release_id = c.release_id
order by c.source, c.release_id, c.actual_end nulls last, c.change_id
