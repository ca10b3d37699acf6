-- id: change_schedule_adherence_rate
-- title: Change schedule adherence
-- unit: ratio
-- better: higher
-- order: 14
-- test: proportions
-- rolling: ratio
-- definition: Changes implemented in the period that have planned_end and finished on
--   time (actual_end <= planned_end + tolerance_hours) / changes implemented in the period
--   that have planned_end. extra.mean_slip_hours is the mean lateness of the late ones.
-- excludes: changes without planned_end (counted in extra.without_planned_end).
-- needs: changes.actual_end, changes.planned_end
with deployed as (
    select kpi_group($by, service, team, change_type, risk, source) as grp,
           change_id, planned_end,
           actual_end <= planned_end + to_microseconds(cast($tolerance_hours * 3600000000 as bigint)) as on_time,
           epoch(actual_end - planned_end) / 3600.0 as slip_hours
    from changes
    where is_implemented(actual_end, state, outcome, $period_from, $period_to)
),
-- Aggregated per group first (see change_lead_time).
per_group as (
    select grp,
           count(planned_end) as n,
           count(planned_end) filter (where on_time) as on_time,
           avg(slip_hours) filter (where not on_time) as mean_slip,
           count(change_id) filter (where planned_end is null) as without_plan
    from deployed
    group by grp
),
groups as (select * from kpi_groups('per_group', $by)),
agg as (
    select g.grp,
           coalesce(p.n, 0) as n,
           coalesce(p.on_time, 0) as on_time,
           p.mean_slip,
           coalesce(p.without_plan, 0) as without_plan
    from groups g
    left join per_group p on p.grp is not distinct from g.grp
),
final as (
    select grp as group_value,
           case when n > 0 then on_time / n::double end as value,
           on_time as numerator,
           n as denominator,
           n as count,
           case when n = 0 and without_plan > 0 then 'no change implemented in the period has a planned_end'
                when n = 0 then 'no changes implemented in the period' end as note,
           to_json({late: n - on_time, mean_slip_hours: mean_slip, without_planned_end: without_plan}) as extra
    from agg
)
select * from final order by group_value nulls first
