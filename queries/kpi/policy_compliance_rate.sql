-- id: policy_compliance_rate
-- title: Change policy compliance
-- unit: ratio
-- better: higher
-- order: 9
-- test: proportions
-- breakdown: 8
-- drill: 6 Policy violations
-- rolling: ratio
-- definition: Changes implemented in the period with no violation of any evaluated
--   policy / changes implemented in the period. Violations come from the policy files
--   (queries/policies/*.sql and the user's own), which relkpi runs first into the temp
--   table policy_violations(source, change_id, policy, detail); a policy that cannot be
--   evaluated for a source (its input columns are all NULL there) is left out of it.
-- excludes: cancelled changes. NULL when no policy could be evaluated for the group's
--   sources (policy_evaluated: a policy without the input columns or the settings it
--   checks against, such as freeze_window with no freeze windows, is not evaluated).
-- needs: changes.actual_end
-- partial: changes.approved (the approval policies are not evaluated); changes.outcome
--   (the no_outcome policy is not evaluated)
with implemented as (
    select kpi_group($by, service, team, change_type, risk, source) as grp, source, change_id
    from changes
    where is_implemented(actual_end, state, outcome, $period_from, $period_to)
),
evaluated as (
    -- The sources at least one policy could be evaluated for (a policy whose
    -- input columns are all NULL there, or whose settings are empty, is not).
    select distinct source from policy_evaluated
),
violating as (
    select distinct source, change_id from policy_violations
),
-- Counted per group and source first (see change_failure_rate).
per_source as (
    select c.grp, c.source,
           count(*) as n,
           count(v.change_id) as violating
    from implemented c
    left join violating v on v.source = c.source and v.change_id = c.change_id
    group by c.grp, c.source
),
groups as (select * from kpi_groups('per_source', $by)),
agg as (
    select g.grp,
           coalesce(sum(c.n), 0)::bigint as n,
           coalesce(sum(c.violating), 0)::bigint as violating,
           coalesce(sum(c.n) filter (where c.source in (select source from evaluated)), 0)::bigint as from_evaluated,
           string_agg(distinct c.source, ', ') as sources
    from groups g
    left join per_source c on c.grp is not distinct from g.grp
    group by g.grp
),
final as (
    select grp as group_value,
           case when n > 0 and from_evaluated > 0 and $policies_evaluated > 0 then (n - violating) / n::double end as value,
           n - violating as numerator,
           n as denominator,
           n as count,
           case when n = 0 then 'no changes implemented in the period'
                when $policies_evaluated = 0 or from_evaluated = 0 then 'no policy could be evaluated for source ' || sources end as note,
           to_json({violating: violating}) as extra
    from agg
)
select * from final order by group_value nulls first
