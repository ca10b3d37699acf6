-- id: release_lead_time
-- title: Release lead time
-- unit: days
-- better: lower
-- order: 3
-- test: mann_whitney
-- breakdown: 6
-- dora: lead_time
-- definition: Median of actual_end - requested_at, in days, over releases deployed in
--   the period (50% continuous quantile); extra holds p85, mean and the counts.
-- excludes: releases without requested_at; negative durations (counted in
--   extra.negative_excluded and reported by `relkpi check`).
-- needs: releases.actual_end, releases.requested_at
with deployed as (
    select kpi_group($by, service, team, release_type, null, source) as grp,
           release_id,
           epoch(actual_end - requested_at) / 86400.0 as days
    from releases
    where is_deployed(actual_end, state, outcome, $period_from, $period_to)
),
groups as (select * from kpi_groups('deployed', $by)),
agg as (
    select g.grp,
           -- both quantiles from one state: the values are collected once
           quantile_cont(d.days, [0.5, 0.85]) filter (where d.days >= 0) as q,
           avg(d.days) filter (where d.days >= 0) as mean,
           count(d.days) filter (where d.days >= 0) as n,
           count(d.release_id) filter (where d.days < 0) as negative,
           count(d.release_id) filter (where d.days is null) as missing
    from groups g
    left join deployed d on d.grp is not distinct from g.grp
    group by g.grp
),
final as (
    select grp as group_value,
           q[1] as value,
           null::bigint as numerator,
           null::bigint as denominator,
           n as count,
           case when n = 0 and negative + missing > 0 then 'no release deployed in the period has a usable requested_at'
                when n = 0 then 'no releases deployed in the period' end as note,
           to_json({p85: q[2], mean: mean, negative_excluded: negative, missing_requested_at: missing}) as extra
    from agg
)
select * from final order by group_value nulls first
