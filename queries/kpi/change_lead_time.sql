-- id: change_lead_time
-- title: Change lead time
-- unit: days
-- better: lower
-- order: 12
-- test: mann_whitney
-- dora: lead_time
-- definition: Median of actual_end - opened_at, in days, over changes implemented in
--   the period (50% continuous quantile); extra holds p85 and mean.
-- excludes: changes without opened_at; negative durations (extra.negative_excluded).
-- needs: changes.actual_end, changes.opened_at
with implemented as (
    select kpi_group($by, service, team, change_type, risk, source) as grp,
           change_id,
           epoch(actual_end - opened_at) / 86400.0 as days
    from changes
    where is_implemented(actual_end, state, outcome, $period_from, $period_to)
),
-- Aggregated per group first, then joined to the groups (an empty period
-- still has its one group): the changes are read once, never held.
per_group as (
    select grp,
           -- both quantiles from one state: the values are collected once
           quantile_cont(days, [0.5, 0.85]) filter (where days >= 0) as q,
           avg(days) filter (where days >= 0) as mean,
           count(days) filter (where days >= 0) as n,
           count(change_id) filter (where days < 0) as negative,
           count(change_id) filter (where days is null) as missing
    from implemented
    group by grp
),
groups as (select * from kpi_groups('per_group', $by)),
agg as (
    select g.grp, p.q[1] as median, p.q[2] as p85, p.mean,
           coalesce(p.n, 0) as n,
           coalesce(p.negative, 0) as negative,
           coalesce(p.missing, 0) as missing
    from groups g
    left join per_group p on p.grp is not distinct from g.grp
),
final as (
    select grp as group_value,
           median as value,
           null::bigint as numerator,
           null::bigint as denominator,
           n as count,
           case when n = 0 and negative + missing > 0 then 'no change implemented in the period has a usable opened_at'
                when n = 0 then 'no changes implemented in the period' end as note,
           to_json({p85: p85, mean: mean, negative_excluded: negative, missing_opened_at: missing}) as extra
    from agg
)
select * from final order by group_value nulls first
