-- export: changes, with the month they belong to (implementation, else planned start, else opening).
select *, coalesce(strftime(coalesce(actual_end, planned_start, opened_at), '%Y-%m'), 'unknown') as month
from changes
