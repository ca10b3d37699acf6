-- id: deployment_frequency
-- title: Deployment frequency
-- unit: count
-- better: higher
-- order: 2
-- test: poisson_rate
-- breakdown: 1
-- dora: deployment_frequency per_day
-- definition: Number of releases deployed in the period (actual_end in [from, to), state
--   and outcome not 'cancelled'). extra.per_week = count / (days in period / 7);
--   extra.per_day feeds the DORA band.
-- excludes: cancelled releases; releases without actual_end. NULL when the
--   warehouse holds no release records at all.
-- needs: releases.actual_end
-- partial: releases.state (cancelled releases cannot be told apart and are counted)
with deployed as (
    select kpi_group($by, service, team, release_type, null, source) as grp, release_id
    from releases
    where is_deployed(actual_end, state, outcome, $period_from, $period_to)
),
groups as (select * from kpi_groups('deployed', $by)),
days as (
    select epoch($period_to::timestamp - $period_from::timestamp) / 86400.0 as d
),
has_releases as (
    select count(*) > 0 as any_release from releases
),
final as (
    select g.grp as group_value,
           case when h.any_release then count(d.release_id)::double end as value,
           null::bigint as numerator,
           null::bigint as denominator,
           count(d.release_id) as count,
           case when not h.any_release then 'no release records in the warehouse' end as note,
           to_json({
               per_week: case when h.any_release then count(d.release_id) / (days.d / 7) end,
               per_day: case when h.any_release then count(d.release_id) / days.d end,
               days_in_period: days.d
           }) as extra
    from groups g
    left join deployed d on d.grp is not distinct from g.grp
    cross join days
    cross join has_releases h
    group by g.grp, days.d, h.any_release
)
select * from final order by group_value nulls first
