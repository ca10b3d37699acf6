-- Invariants of the attribution tables just built (attribution_build.sql),
-- checked by `relkpi import` in the transaction that fills them: each row is
-- a broken invariant (zero rows = pass) and the rebuild is rolled back. They
-- compare the tables with the warehouse's base tables and with the rows their
-- statements wrote, so a fill that lost rows (as the DuckDB defect in
-- attribution_build.sql once made it do: 710,127 links, and 0 incidents
-- caused on every change) cannot be stored.
-- Every count reads a column (count(col), sum), not the table's row count.
-- Placeholders as in attribution_build.sql, and {rebuilt}: whether the link
-- tables were just rebuilt, so their counts are compared with the rows their
-- CREATE TABLE AS statements reported ({change_links_written},
-- {release_links_written}; NULL after a refresh, attribution_refresh.sql,
-- whose result is tested against a rebuild). Until December 2026 the links
-- were compared with the warehouse's macros run again over every incident:
-- the same protection against a fill that lost rows (the tables are filled by
-- those macros), for 13 of a 10M-change rebuild's 46 s.
-- After a refresh the invariants that join or group are checked on what it
-- rewrote ({c_scope} and the others: a condition on the alias they name,
-- `true` after a rebuild): the rows it left were checked when written, and
-- over every row they took 3 s of a 10M-change warehouse's refresh.

with counts as (
    select
        (select count(change_id) from changes) as changes,
        (select count(change_id) from {t}change_facts) as change_facts,
        (select count(release_id) from releases) as releases,
        (select count(release_id) from {t}release_facts) as release_facts,
        {change_links_written}::bigint as change_links_written,
        (select count(change_id) from {t}incident_change_attribution) as change_links,
        (select count(change_id) from {t}incident_change_attribution a where {ci_scope}) as change_links_scoped,
        (select count(distinct (source, incident_id)) from {t}incident_change_attribution a where {ci_scope}) as change_linked_incidents,
        (select coalesce(sum(incidents_caused), 0) from {t}change_facts) as incidents_caused,
        (select count(*) from changes c
         where {c_scope}
           and (coalesce(c.outcome in ('unsuccessful', 'rolled_back'), false)
                or exists (select 1 from {t}incident_change_attribution a
                           where a.source = c.source and a.change_id = c.change_id))) as changes_failed_expected,
        (select count(*) filter (where failed) from {t}change_facts f where {cf_scope}) as changes_failed,
        {release_links_written}::bigint as release_links_written,
        (select count(release_id) from {t}incident_release_attribution) as release_links,
        (select count(release_id) from {t}incident_release_attribution a where {ri_scope}) as release_links_scoped,
        (select count(distinct (source, incident_id)) from {t}incident_release_attribution a where {ri_scope}) as release_linked_incidents,
        (select count(*)
         from {t}incident_release_attribution l
         join incidents i on i.source = l.source and i.incident_id = l.incident_id
         join releases r on r.source = l.source and r.release_id = l.release_id
         where {rl_scope}
           and i.opened_at >= r.actual_end
           and i.opened_at < r.actual_end + to_days(cast({window_days} as integer))) as defects_expected,
        (select coalesce(sum(defects), 0) from {t}release_facts f where {rf_scope}) as defects
),
checks as (
    select 'one change fact per change' as invariant, changes as expected, change_facts as found from counts
    union all
    select 'one release fact per release', releases, release_facts from counts
    union all
    select 'incident-change links as written', change_links_written, change_links from counts where {rebuilt}
    union all
    select 'one change link per linked incident', change_linked_incidents, change_links_scoped from counts
    union all
    select 'incidents caused, summed over the change facts, equal the links', change_links, incidents_caused from counts
    union all
    select 'failed change facts as outcomes and links give them', changes_failed_expected, changes_failed from counts
    union all
    select 'incident-release links as written', release_links_written, release_links from counts where {rebuilt}
    union all
    select 'one release link per linked incident', release_linked_incidents, release_links_scoped from counts
    union all
    select 'defects, summed over the release facts, equal the links within the window', defects_expected, defects from counts
),
final as (
    select * from checks where expected is distinct from found
)
select * from final;
