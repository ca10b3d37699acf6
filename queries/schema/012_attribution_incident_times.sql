-- Migration 12: each incident-change link carries its incident's opened_at
-- and resolved_at.
--
-- failed_deployment_recovery_time (and its records) joined the links back to
-- every incident for the two times: over 24 months of 10M changes, 1.3 of the
-- KPI's 1.6 s of CPU were that join of 2.4M links to 9M incidents. The times
-- are at hand where the links are found (the explicit links join the
-- incident; the CI window's ASOF join reads opened_at already), so the macro
-- returns them, and `relkpi import` stores them with the links. The links are
-- the same rows as before (source, incident_id, change_id, method), with the
-- two columns after them. The derived tables stored before this migration
-- lack the columns: their record in derived_meta is dropped, so KPI runs
-- attribute in their own process until the next `relkpi import` rebuilds
-- them (a rebuild, not a refresh).

create or replace macro incident_change_attribution(window_days := 7, ci_window := true) as table
with explicit_links as (
    select i.source, i.incident_id, c.change_id, 'explicit' as method, i.opened_at, i.resolved_at
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
ci_keys as materialized (
    -- Every CI a change can be on (change_cis, else the service), numbered
    -- once: materialised, so both sides read the same numbers.
    select source, ci, row_number() over () as ci_key
    from (select source, ci from change_cis
          union
          select source, service from changes where service is not null)
),
numbered_ends as (
    select k.ci_key, e.actual_end, e.change_id
    from change_ends e
    join ci_keys k on k.source = e.source and k.ci = e.ci
),
unlinked as (
    -- An incident whose CI no change is on has no window link: the inner
    -- join drops it before the ASOF join, as that join would.
    select i.source, i.incident_id, i.opened_at, i.resolved_at, k.ci_key
    from incidents i
    join ci_keys k on k.source = i.source and k.ci = coalesce(i.cause_ci, i.ci)
    where ci_window
      and i.caused_by_change is null and i.related_release is null
      and i.opened_at is not null
),
window_links as (
    select u.source, u.incident_id, e.change_id, u.opened_at, u.resolved_at
    from unlinked u
    asof join numbered_ends e
      on e.ci_key = u.ci_key and u.opened_at >= e.actual_end
    where u.opened_at < e.actual_end + to_days(cast(window_days as integer))
),
final as (
    select source, incident_id, change_id, method, opened_at, resolved_at from explicit_links
    union all
    select source, incident_id, change_id, 'ci_window' as method, opened_at, resolved_at from window_links
)
select * from final;

-- The view over the macro, bound again to its new columns.
create or replace view incident_change_links as select * from incident_change_attribution();

delete from derived_meta;
