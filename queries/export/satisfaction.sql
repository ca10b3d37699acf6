-- export: satisfaction answers, in the month they were submitted.
select *, coalesce(strftime(submitted_at, '%Y-%m'), 'unknown') as month
from satisfaction
