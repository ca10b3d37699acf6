-- records: rework_rate
-- The changes implemented in the period that were unplanned fixes.
select change_id as record_id, title, service, team, actual_end as occurred_at, null::double as value,
       concat_ws('; ', case when change_type = 'emergency' then 'emergency' end,
                       case when origin = 'incident' then 'raised from an incident' end) as detail
from changes
where is_implemented(actual_end, state, outcome, $period_from, $period_to)
  and (change_type = 'emergency' or origin = 'incident')
order by occurred_at, record_id
