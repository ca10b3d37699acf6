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
groups as (select * from kpi_groups('implemented', $by)),
agg as (
    select g.grp,
           quantile_cont(c.days, 0.5) filter (where c.days >= 0) as median,
           quantile_cont(c.days, 0.85) filter (where c.days >= 0) as p85,
           avg(c.days) filter (where c.days >= 0) as mean,
           count(c.days) filter (where c.days >= 0) as n,
           count(c.change_id) filter (where c.days < 0) as negative,
           count(c.change_id) filter (where c.days is null) as missing
    from groups g
    left join implemented c on c.grp is not distinct from g.grp
    group by g.grp
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
