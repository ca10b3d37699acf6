-- id: change_failure_rate
-- title: Change failure rate
-- unit: ratio
-- better: lower
-- rolling: ratio
-- dora: change_failure_rate
-- definition: Changes implemented in the period that failed / changes implemented in
--   the period. A change failed when its outcome is 'unsuccessful' or 'rolled_back', or
--   at least one incident is caused by it (explicit caused_by link, or CI window).
-- excludes: cancelled changes; changes without actual_end.
with facts as (
    select * from change_facts(window_days := $window_days, ci_window := $ci_window)
),
implemented as (
    select kpi_group($by, service, team, change_type, risk, source) as grp, *
    from facts
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
           count(c.change_id) filter (where c.failed) as failed,
           count(c.change_id) filter (where c.outcome in ('unsuccessful', 'rolled_back')) as by_outcome,
           count(c.change_id) filter (where c.incidents_caused > 0) as by_incident,
           count(c.change_id) filter (where c.outcome is null) as unknown_outcome
    from groups g
    left join implemented c on c.grp is not distinct from g.grp
    group by g.grp
),
final as (
    select grp as group_value,
           case when n > 0 then failed / n::double end as value,
           failed as numerator,
           n as denominator,
           n as count,
           case when n = 0 then 'no changes implemented in the period' end as note,
           to_json({failed_by_outcome: by_outcome, failed_by_incident: by_incident, unknown_outcome: unknown_outcome}) as extra
    from agg
)
select * from final order by group_value nulls first
