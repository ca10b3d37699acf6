-- Migration 11: the CI window's ASOF join on a number per (source, CI)
-- instead of the two strings.
--
-- DuckDB's ASOF join partitions and sorts both sides by their equality keys,
-- then the time: with (source, ci) as strings, every comparison inside a
-- CI's run compares both strings in full. The CIs are numbered first (the
-- distinct CIs of change_cis and the changes' services: a few thousand rows at
-- most), and both sides carry the number into the ASOF join. The changes'
-- ends are grouped by (source, ci, actual_end) as before, max(change_id) for
-- ties, and numbered after: numbering them before the grouping was faster at
-- 10M (6.5 s against 7.7 s for the links alone) but did not fit in the 512
-- MB an import gives DuckDB at 30M changes (the import then retried with 1
-- GB: peak 1.38 GB), where this form takes 28-46 s within it (the strings'
-- ASOF join, 43 s). The links are the same rows (compared link by link at 10M
-- and 30M; tests/kpi_edges.rs checks them against an independent reading of
-- the rule). The body reads `changes`, `change_cis` and `incidents`
-- unqualified, so the refresh's temp tables still narrow it
-- (attribution_refresh.sql). Same links: the derived tables stay current.

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
    select i.source, i.incident_id, i.opened_at, k.ci_key
    from incidents i
    join ci_keys k on k.source = i.source and k.ci = coalesce(i.cause_ci, i.ci)
    where ci_window
      and i.caused_by_change is null and i.related_release is null
      and i.opened_at is not null
),
window_links as (
    select u.source, u.incident_id, e.change_id
    from unlinked u
    asof join numbered_ends e
      on e.ci_key = u.ci_key and u.opened_at >= e.actual_end
    where u.opened_at < e.actual_end + to_days(cast(window_days as integer))
),
final as (
    select source, incident_id, change_id, method from explicit_links
    union all
    select source, incident_id, change_id, 'ci_window' as method from window_links
)
select * from final;
