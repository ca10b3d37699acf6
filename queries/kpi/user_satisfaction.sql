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
groups as (select * from kpi_groups('responses', $by)),
final as (
    select g.grp as group_value,
           avg(x.score) as value,
           null::bigint as numerator,
           null::bigint as denominator,
           count(x.response_id) as count,
           case when count(x.response_id) = 0 then 'no satisfaction responses in the period' end as note,
           to_json({
               csat: count(x.response_id) filter (where x.score >= 4) / nullif(count(x.response_id), 0)::double,
               satisfied: count(x.response_id) filter (where x.score >= 4),
               responses: count(x.response_id)
           }) as extra
    from groups g
    left join responses x on x.grp is not distinct from g.grp
    group by g.grp
)
select * from final order by group_value nulls first
