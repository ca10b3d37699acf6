-- Migration 6: the CI-window attribution of migration 3, same links, with the
-- changes' ends per CI read in one join.
--
-- Migration 3 took each change's CIs from the change_affected_cis view (the
-- change_cis rows, union all the service of changes that have none: an
-- anti-join of changes against change_cis) and joined them back to changes
-- for actual_end: three hash joins over every change. A left join of changes
-- to change_cis gives the same (source, ci, actual_end, change_id) rows in one
-- (1M changes: 1.1-1.5 s -> 0.5 s for the ends; the stored links identical).
-- The view is unchanged and still what analysts and the schedule read.

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
