-- The latest deployment, implementation or incident timestamp in the warehouse:
-- the default period is the latest complete month up to it.
select max(t) as latest
from (
    select max(actual_end) as t from releases
    union all select max(actual_end) from changes
    union all select max(opened_at) from incidents
    union all select max(submitted_at) from satisfaction
)
