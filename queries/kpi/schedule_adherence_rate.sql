-- id: schedule_adherence_rate
-- title: Release schedule adherence
-- unit: ratio
-- better: higher
-- order: 10
-- test: proportions
-- breakdown: 5
-- drill: 3 Late releases
-- records-of: releases
-- rolling: ratio
-- definition: Releases deployed in the period that have planned_end and finished on
--   time (actual_end <= planned_end + tolerance_hours) / releases deployed in the period
--   that have planned_end. extra.mean_slip_hours is the mean lateness of the late ones.
-- excludes: releases without planned_end (counted in extra.without_planned_end).
-- needs: releases.actual_end, releases.planned_end
with deployed as (
    select kpi_group($by, service, team, release_type, null, source) as grp,
           release_id, planned_end,
           actual_end <= planned_end + to_microseconds(cast($tolerance_hours * 3600000000 as bigint)) as on_time,
           epoch(actual_end - planned_end) / 3600.0 as slip_hours
    from releases
    where is_deployed(actual_end, state, outcome, $period_from, $period_to)
),
groups as (select * from kpi_groups('deployed', $by)),
agg as (
    select g.grp,
           count(d.planned_end) as n,
           count(d.planned_end) filter (where d.on_time) as on_time,
           avg(d.slip_hours) filter (where not d.on_time) as mean_slip,
           count(d.release_id) filter (where d.planned_end is null) as without_plan
    from groups g
    left join deployed d on d.grp is not distinct from g.grp
    group by g.grp
),
final as (
    select grp as group_value,
           case when n > 0 then on_time / n::double end as value,
           on_time as numerator,
           n as denominator,
           n as count,
           case when n = 0 and without_plan > 0 then 'no release deployed in the period has a planned_end'
                when n = 0 then 'no releases deployed in the period' end as note,
           to_json({late: n - on_time, mean_slip_hours: mean_slip, without_planned_end: without_plan}) as extra
    from agg
)
select * from final order by group_value nulls first
