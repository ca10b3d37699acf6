-- id: defects_introduced
-- title: Defects introduced by releases
-- unit: count
-- better: lower
-- order: 4
-- test: poisson_rate_per_release releases_deployed
-- breakdown: 7
-- drill: 7 Incidents attributed to releases
-- definition: Incidents of any priority attributed to releases deployed in the period
--   (explicit link, via a change of the release, or CI window) and opened within the
--   attribution window after that release's actual_end. extra.per_release = count /
--   releases deployed; extra.explicit and extra.ci_window split the links by method.
-- excludes: incidents opened before the release or after the window. NULL when the
--   warehouse holds no incident records.
-- needs: releases.actual_end, incidents.opened_at
-- partial: incidents.ci (incidents are attributed by explicit links only)
with facts as (
    select * from release_facts(window_days := $window_days, major_priority := $major_priority, ci_window := $ci_window)
),
deployed as (
    select kpi_group($by, service, team, release_type, null, source) as grp, *
    from facts
    where is_deployed(actual_end, state, outcome, $period_from, $period_to)
),
groups as (select * from kpi_groups('deployed', $by)),
has_incidents as (
    select count(*) > 0 as any_incident from incidents
),
agg as (
    select g.grp,
           count(d.release_id) as releases,
           coalesce(sum(d.defects), 0) as defects,
           coalesce(sum(d.defects_explicit), 0) as explicit,
           coalesce(sum(d.defects_ci_window), 0) as ci_window,
           count(d.release_id) filter (where d.defects > 0) as releases_with_defects
    from groups g
    left join deployed d on d.grp is not distinct from g.grp
    group by g.grp
),
final as (
    select grp as group_value,
           case when h.any_incident then defects::double end as value,
           null::bigint as numerator,
           null::bigint as denominator,
           releases as count,
           case when not h.any_incident then 'no incident records in the warehouse' end as note,
           to_json({
               per_release: case when releases > 0 and h.any_incident then defects / releases::double end,
               releases_deployed: releases,
               releases_with_defects: releases_with_defects,
               explicit: explicit,
               ci_window: ci_window
           }) as extra
    from agg cross join has_incidents h
)
select * from final order by group_value nulls first
