-- records: policy_compliance_rate
-- The changes implemented in the period that violate a policy (from policy_violations).
select c.change_id as record_id, c.title, c.service, c.team, c.actual_end as occurred_at, null::double as value,
       string_agg(v.policy || ': ' || v.detail, '; ' order by v.policy) as detail
from changes c
join policy_violations v on v.source = c.source and v.change_id = c.change_id
where is_implemented(c.actual_end, c.state, c.outcome, $period_from, $period_to)
group by all
order by occurred_at, record_id
