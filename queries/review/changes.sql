-- review: the changes bundled in the release (changes.release_id), with their outcome
-- and the incidents attributed to each (change_facts).
select c.change_id, c.title, c.change_type, c.state, c.outcome, c.actual_end, c.failed, c.incidents_caused
from change_facts(window_days := $window_days, ci_window := $ci_window) c
where c.source = $release_source and c.release_id = $release_id
order by c.actual_end nulls last, c.change_id
