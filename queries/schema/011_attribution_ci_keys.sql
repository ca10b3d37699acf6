-- Migration 11: the CI window's ASOF join on a number per (source, CI)
-- instead of the two strings.
--
-- DuckDB's ASOF join partitions and sorts both sides by their equality keys,
-- then the time: with (source, ci) as strings, every comparison inside a
-- CI's run compares both strings in full. The CIs are numbered first (the
-- distinct CIs of change_cis and the changes' services: a few thousand rows at
-- most), and both sides carry the number. At 10M changes (release build, 512
-- MB for DuckDB) the links alone went from 10.4 to 6.5 s, and in the import's
-- rebuild from 13.1 to 7.4 s; the links are the same rows (compared link by
-- link on the benchmark's 10M set; tests/kpi_edges.rs checks them against an
-- independent reading of the rule). The grouping of the ends by (CI,
-- actual_end) keeps max(change_id) for ties, as before.
-- The body reads `changes`, `change_cis` and `incidents` unqualified, so the
-- refresh's temp tables still narrow it (attribution_refresh.sql).
-- Same links: the derived tables stay current.

create or replace macro incident_change_attribution(window_days := 7, ci_window := true) as table
with explicit_links as (
    select i.source, i.incident_id, c.change_id, 'explicit' as method
    from incidents i
    join changes c on c.source = i.source and c.change_id = i.caused_by_change
),
ci_keys as materialized (
    -- Every CI a change can be on (change_cis, else the service), numbered
    -- once: materialised, so both sides read the same numbers.
    select source, ci, row_number() over () as ci_key
    from (select source, ci from change_cis
          union
          select source, service from changes where service is not null)
),
change_ends as (
    -- change_affected_cis, read in one join: a change's CIs are its
    -- change_cis rows (ci is never NULL there), else its service. The inner
    -- join to ci_keys drops a change with neither.
    select k.ci_key, c.actual_end, max(c.change_id) as change_id
    from changes c
    left join change_cis x on x.source = c.source and x.change_id = c.change_id
    join ci_keys k on k.source = c.source and k.ci = coalesce(x.ci, c.service)
    where c.actual_end is not null
      and coalesce(c.state, '') <> 'cancelled' and coalesce(c.outcome, '') <> 'cancelled'
    group by k.ci_key, c.actual_end
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
    asof join change_ends e
      on e.ci_key = u.ci_key and u.opened_at >= e.actual_end
    where u.opened_at < e.actual_end + to_days(cast(window_days as integer))
),
final as (
    select source, incident_id, change_id, method from explicit_links
    union all
    select source, incident_id, change_id, 'ci_window' as method from window_links
)
select * from final;
