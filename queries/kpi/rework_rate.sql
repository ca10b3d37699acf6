-- id: rework_rate
-- title: Rework rate
-- unit: ratio
-- better: lower
-- rolling: ratio
-- dora: rework_rate
-- definition: Changes implemented in the period that are unplanned fixes
--   (change_type = 'emergency' or origin = 'incident') / changes implemented in the period.
-- excludes: cancelled changes.
with implemented as (
    select kpi_group($by, service, team, change_type, risk, source) as grp, change_id, change_type, origin
    from changes
    where is_implemented(actual_end, state, outcome, $period_from, $period_to)
),
groups as (
    select distinct grp from implemented
    union
    select null where $by = 'none'
),
agg as (
    select g.grp,
           count(c.change_id) as n,
           count(c.change_id) filter (where c.change_type = 'emergency' or c.origin = 'incident') as rework,
           count(c.change_id) filter (where c.change_type = 'emergency') as emergency,
           count(c.change_id) filter (where c.origin = 'incident') as from_incident
    from groups g
    left join implemented c on c.grp is not distinct from g.grp
    group by g.grp
),
final as (
    select grp as group_value,
           case when n > 0 then rework / n::double end as value,
           rework as numerator,
           n as denominator,
           n as count,
           case when n = 0 then 'no changes implemented in the period' end as note,
           to_json({emergency: emergency, origin_incident: from_incident}) as extra
    from agg
)
select * from final order by group_value nulls first
