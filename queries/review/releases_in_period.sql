-- review: the releases deployed in the period (one card each).
select source, release_id
from releases
where is_deployed(actual_end, state, outcome, $period_from, $period_to)
order by actual_end, source, release_id
