-- export: the CIs changes affect, in their change's month.
select x.*, coalesce(strftime(coalesce(c.actual_end, c.planned_start, c.opened_at), '%Y-%m'), 'unknown') as month
from change_cis x
left join changes c on c.source = x.source and c.change_id = x.change_id
