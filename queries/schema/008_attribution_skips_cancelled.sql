-- Migration 8: cancelled changes and releases are never CI-window candidates.
--
-- A cancelled change or release was not deployed, yet one with an actual_end
-- could win the CI window over the change that really ran before an incident
-- (issue "KPI edge cases", 4). The window now looks only at records that are
-- not cancelled (state and outcome, as "implemented"/"deployed" in KPIS.md);
-- explicit links (caused_by_change, related_release) are kept as recorded.
-- Otherwise the macros of migrations 6 and 3, unchanged. The derived tables
-- were built with the old macros: marked out of date, rebuilt by the next import.

create or replace macro incident_change_attribution(window_days := 7, ci_window := true) as table
with explicit_links as (
    select i.source, i.incident_id, c.change_id, 'explicit' as method
    from incidents i
    join changes c on c.source = i.source and c.change_id = i.caused_by_change
),
change_ends as (
    -- change_affected_cis, read in one join: a change's CIs are its
    -- change_cis rows (ci is never NULL there), else its service.
    select c.source, coalesce(x.ci, c.service) as ci, c.actual_end, max(c.change_id) as change_id
    from changes c
    left join change_cis x on x.source = c.source and x.change_id = c.change_id
    where c.actual_end is not null
      and coalesce(c.state, '') <> 'cancelled' and coalesce(c.outcome, '') <> 'cancelled'
      and (x.ci is not null or c.service is not null)
    group by c.source, coalesce(x.ci, c.service), c.actual_end
),
unlinked as (
    select source, incident_id, opened_at, coalesce(cause_ci, ci) as ci
    from incidents
    where ci_window
      and caused_by_change is null and related_release is null
      and opened_at is not null
),
window_links as (
    select u.source, u.incident_id, e.change_id
    from unlinked u
    asof join change_ends e
      on e.source = u.source and e.ci = u.ci and u.opened_at >= e.actual_end
    where u.opened_at < e.actual_end + to_days(cast(window_days as integer))
),
final as (
    select source, incident_id, change_id, method from explicit_links
    union all
    select source, incident_id, change_id, 'ci_window' as method from window_links
)
select * from final;

create or replace macro incident_release_attribution(window_days := 7, ci_window := true) as table
with by_release_link as (
    select i.source, i.incident_id, r.release_id, 'explicit' as method, null::varchar as via_change, 1 as rule
    from incidents i
    join releases r on r.source = i.source and r.release_id = i.related_release
),
by_change as (
    select a.source, a.incident_id, r.release_id, a.method, a.change_id as via_change, 2 as rule
    from incident_change_attribution(window_days := window_days, ci_window := ci_window) a
    join changes c on c.source = a.source and c.change_id = a.change_id
    join releases r on r.source = c.source and r.release_id = c.release_id
),
release_ends as (
    select source, service, actual_end, max(release_id) as release_id
    from releases
    where actual_end is not null and service is not null
      and coalesce(state, '') <> 'cancelled' and coalesce(outcome, '') <> 'cancelled'
    group by source, service, actual_end
),
unlinked as (
    select source, incident_id, opened_at, coalesce(cause_ci, ci) as ci
    from incidents
    where ci_window
      and caused_by_change is null and related_release is null
      and opened_at is not null
),
by_window as (
    select u.source, u.incident_id, e.release_id, 'ci_window' as method, null::varchar as via_change, 3 as rule
    from unlinked u
    asof join release_ends e
      on e.source = u.source and e.service = u.ci and u.opened_at >= e.actual_end
    where u.opened_at < e.actual_end + to_days(cast(window_days as integer))
),
candidates as (
    select source, incident_id, release_id, method, via_change, rule from by_release_link
    union all
    select source, incident_id, release_id, method, via_change, rule from by_change
    union all
    select source, incident_id, release_id, method, via_change, rule from by_window
),
final as (
    select source, incident_id, release_id, method, via_change
    from candidates
    qualify row_number() over (partition by source, incident_id order by rule) = 1
)
select * from final;

delete from derived_meta;
