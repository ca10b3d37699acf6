-- The warehouse's attribution macros (queries/schema/) materialised for the
-- configured settings, one table each, created with their rows in one
-- statement. The i-th statement that creates a `{t}` table backs macro i of
-- attribution_macros.sql: relkpi runs them in pairs (table, then the temp
-- macro reading it); other statements (temp tables) run alone. Each table after
-- the first is filled by a warehouse macro whose body calls the earlier ones
-- unqualified, which resolve to the temp macros: the attribution is computed
-- once, and the release attribution and the facts reuse it.
--
-- Never `create table ... as ... limit 0` followed by an insert: in the bundled
-- DuckDB (2.0.0), a table created empty by CREATE TABLE AS and then given more
-- than one row group (122,880 rows) by one insert in the same transaction keeps
-- the empty table's column statistics, so every scan skips its rows (count(*)
-- is right, sum() NULL, joins find nothing): on 988,697 changes the facts
-- showed 0 incidents caused on every change (src/warehouse/mod.rs, `ctas_then_insert_defect`).
--
-- {t} is `{db}.main.derived_` (the warehouse's derived tables, rebuilt by
-- `relkpi import` in one transaction; documented in the README for analysts)
-- or `temp.main.cache_` with {kind} = `temp` (built by one process when the
-- derived tables are not current; {kind} is empty otherwise). The facts are
-- stored in actual_end order, so a period's filter skips the row groups
-- outside it: the change facts as `changes` is stored when that is close
-- enough already (changes_clustered.sql; {facts_order} is then empty, else
-- `order by actual_end`), since a copy of every change costs less unsorted.
-- The links are stored in change (release) order, so a period's changes,
-- joined to them, skip most of their row groups too (the join passes its keys'
-- range down to the scan; change numbers grow with time in every source we
-- know). At 10M changes a month's failed_deployment_recovery_time went from
-- 0.33 to 0.16 s; on a copy, writing the 2.45M links sorted took 5.6 s.

-- The links are found, then sorted, in two statements: in one, DuckDB held
-- the CI window's as-of join while it sorted, and at 30M changes that did not
-- fit in the 512 MB an import gives it (each fits alone). A statement that
-- creates no `{t}` table (the unsorted links, their drop) backs no macro.
create or replace temp table derived_links_unsorted as
select * from {db}.main.incident_change_attribution(window_days := {window_days}, ci_window := {ci_window});

create or replace {kind} table {t}incident_change_attribution as
select * from temp.derived_links_unsorted
order by source, change_id;

drop table temp.derived_links_unsorted;

create or replace {kind} table {t}incident_release_attribution as
select * from {db}.main.incident_release_attribution(window_days := {window_days}, ci_window := {ci_window})
order by source, release_id;

create or replace {kind} table {t}release_facts as
select * from {db}.main.release_facts(window_days := {window_days}, major_priority := {major_priority}, ci_window := {ci_window})
order by actual_end;

create or replace {kind} table {t}change_facts as
select * from {db}.main.change_facts(window_days := {window_days}, ci_window := {ci_window})
{facts_order};
