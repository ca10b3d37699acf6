-- id: user_satisfaction
-- title: User satisfaction
-- unit: score
-- better: higher
-- order: 8
-- test: mann_whitney
-- definition: Mean score (1-5) of satisfaction responses submitted in the period;
--   extra.csat = share of scores >= 4; count = responses. A response's service and team
--   are its own service, else those of the release it is about.
-- excludes: responses without a score. NULL when there are no responses in the period.
-- needs: satisfaction.score, satisfaction.submitted_at
with responses as (
    select kpi_group($by, coalesce(s.service, r.service), r.team, r.release_type, null, s.source) as grp,
           s.response_id, s.score
    from satisfaction s
    left join releases r on r.source = s.source and r.release_id = s.release_id
    where s.submitted_at >= $period_from and s.submitted_at < $period_to
      and s.score is not null
),
-- Aggregated per group first, then joined to the groups (an empty period
-- still has its one group): the responses are read once, never held.
per_group as (
    select grp,
           avg(score) as mean,
           count(response_id) as responses,
           count(response_id) filter (where score >= 4) as satisfied
    from responses
    group by grp
),
groups as (select * from kpi_groups('per_group', $by)),
final as (
    select g.grp as group_value,
           x.mean as value,
           null::bigint as numerator,
           null::bigint as denominator,
           coalesce(x.responses, 0) as count,
           case when coalesce(x.responses, 0) = 0 then 'no satisfaction responses in the period' end as note,
           to_json({
               csat: coalesce(x.satisfied, 0) / nullif(coalesce(x.responses, 0), 0)::double,
               satisfied: coalesce(x.satisfied, 0),
               responses: coalesce(x.responses, 0)
           }) as extra
    from groups g
    left join per_group x on x.grp is not distinct from g.grp
)
select * from final order by group_value nulls first
