-- The derived tables of attribution_build.sql brought up to date for the rows
-- that import batches after {since} wrote, instead of rebuilt: a monthly
-- import of 50,000 records into a warehouse of 10 million then recomputes the
-- links of the incidents it can concern, and the facts of the records whose
-- links or rows moved, not of every record. `relkpi import` runs these
-- statements in order, in the transaction that checks them
-- (derived_checks.sql) and records the new data version; a full rebuild gives
-- the same tables (tested: warehouse/derived.rs, `refresh_equals_rebuild`).
--
-- Every row an import writes carries its batch_id, and so does a change whose
-- CI list it changed (src/import/load.rs); rows are never deleted. What a
-- written row can move:
--   * a change (its row or CIs): the change link of an incident that names it
--     (caused_by_change), that is linked to it now, or that is opened on one
--     of its CIs within the window after its actual_end (the CI window can
--     pick it); the release link of those incidents; its own facts;
--   * a release: the release link of an incident that names it
--     (related_release), is linked to it, is linked to a change of it, or is
--     opened on its service within the window after its actual_end;
--   * an incident: its own links; the facts of the records linked to it
--     before and after.
-- Facts are recomputed for the records written and those that gained or
-- lost a link.
--
-- The links and facts are computed by the warehouse's own macros, reading
-- temp tables named like the base tables: an unqualified table name in a
-- macro's body is looked up in the temp schema first, so each such table
-- narrows what the macro reads (the incidents to re-attribute, the changes
-- and releases they can be linked to) without repeating its rules. They are
-- tables, not views, so that the narrowing runs once (a view is expanded
-- wherever the macro names the table: 16 s instead of 0.15 s at 1M changes),
-- and they are filled by joins, not `or ... in (...)`, which DuckDB runs
-- slowly (10 s). Every one is dropped before the next step and after the
-- refresh, whatever happens (derived.rs). The temp macros of attribution_macros.sql point at the
-- derived tables, so the release links read the change links just refreshed.
-- The derived tables were committed by an earlier transaction, so rows
-- inserted into them here are scanned whatever their number (the DuckDB
-- defect below concerns tables created in the same transaction; tested in
-- src/warehouse/mod.rs).
--
-- Placeholders as in attribution_build.sql ({t} is always the warehouse's
-- derived tables here), and {since}: the last batch the tables were built from.

create or replace temp table refresh_changes as
select source, change_id from {db}.main.changes where batch_id > {since};

create or replace temp table refresh_releases as
select source, release_id from {db}.main.releases where batch_id > {since};

create or replace temp table refresh_incidents as
select source, incident_id from {db}.main.incidents where batch_id > {since};

-- Where the CI window can see a written change or release: its CIs (change_cis,
-- else its service) and actual_end. Cancelled ones are kept (they may have been
-- candidates before): a superset only re-attributes a few more incidents.
create or replace temp table refresh_ends as
select c.source, coalesce(x.ci, c.service) as ci, c.actual_end, 'change' as kind
from {db}.main.changes c
join temp.main.refresh_changes d on d.source = c.source and d.change_id = c.change_id
left join {db}.main.change_cis x on x.source = c.source and x.change_id = c.change_id
where c.actual_end is not null and coalesce(x.ci, c.service) is not null
union all
select r.source, r.service as ci, r.actual_end, 'release' as kind
from {db}.main.releases r
join temp.main.refresh_releases d on d.source = r.source and d.release_id = r.release_id
where r.actual_end is not null and r.service is not null;

-- Incidents whose change link can differ from the stored one. For the window:
-- the latest written end at or before an incident's opening on its CI (ASOF)
-- is inside the window whenever any written end is.
create or replace temp table refresh_change_incidents as
select source, incident_id from temp.main.refresh_incidents
union
select i.source, i.incident_id
from {db}.main.incidents i
join temp.main.refresh_changes d on d.source = i.source and d.change_id = i.caused_by_change
union
select l.source, l.incident_id
from {t}incident_change_attribution l
join temp.main.refresh_changes d on d.source = l.source and d.change_id = l.change_id
union
select i.source, i.incident_id
from (select source, incident_id, opened_at, coalesce(cause_ci, ci) as ci
      from {db}.main.incidents
      where {ci_window}
        and opened_at >= (select min(actual_end) from temp.main.refresh_ends where kind = 'change')) i
asof join (select source, ci, actual_end from temp.main.refresh_ends where kind = 'change') e
  on e.source = i.source and e.ci = i.ci and i.opened_at >= e.actual_end
where i.opened_at < e.actual_end + to_days(cast({window_days} as integer));

-- Changes whose links these incidents hold now (their facts are recomputed).
-- Every temp table here is created with its rows in one statement and never
-- added to: in the bundled DuckDB, a table created empty by CREATE TABLE AS
-- and given more than one row group by an insert in the same transaction
-- hides those rows from scans (attribution_build.sql).
create or replace temp table refresh_unlinked_changes as
select l.source, l.change_id
from {t}incident_change_attribution l
join temp.main.refresh_change_incidents a on a.source = l.source and a.incident_id = l.incident_id;

delete from {t}incident_change_attribution
where (source, incident_id) in (select source, incident_id from temp.main.refresh_change_incidents);

-- The macro reads these incidents, and the changes they can be linked to:
-- those they name, and those that ended between the window before the first
-- of them and the last of them. An end earlier than that is outside every
-- one's window, and only the latest end before an incident can link it.
create or replace temp table incidents as
select * from {db}.main.incidents
where (source, incident_id) in (select source, incident_id from temp.main.refresh_change_incidents);

create or replace temp table changes as
with span as (
    select min(opened_at) - to_days(cast({window_days} as integer)) as lo, max(opened_at) as hi
    from temp.main.incidents
),
named as (
    select distinct source, caused_by_change as change_id
    from temp.main.incidents
    where caused_by_change is not null
)
select c.* from {db}.main.changes c, span
where c.actual_end >= span.lo and c.actual_end <= span.hi
union all
select c.* from {db}.main.changes c
join named n on n.source = c.source and n.change_id = c.change_id, span
where not coalesce(c.actual_end >= span.lo and c.actual_end <= span.hi, false);

insert into {t}incident_change_attribution
select * from {db}.main.incident_change_attribution(window_days := {window_days}, ci_window := {ci_window});

drop table temp.main.changes;

drop table temp.main.incidents;

-- Changes whose facts are recomputed: those written, those that lost a link
-- and those that gained one.
create or replace temp table refresh_fact_changes as
select source, change_id from temp.main.refresh_changes
union
select source, change_id from temp.main.refresh_unlinked_changes
union
select l.source, l.change_id
from {t}incident_change_attribution l
join temp.main.refresh_change_incidents a on a.source = l.source and a.incident_id = l.incident_id;

-- Incidents whose release link can differ: those whose change link was
-- refreshed (rule 2 goes through it), and those a written release concerns.
create or replace temp table refresh_release_incidents as
select source, incident_id from temp.main.refresh_change_incidents
union
select i.source, i.incident_id
from {db}.main.incidents i
join temp.main.refresh_releases d on d.source = i.source and d.release_id = i.related_release
union
select l.source, l.incident_id
from {t}incident_release_attribution l
join temp.main.refresh_releases d on d.source = l.source and d.release_id = l.release_id
union
select a.source, a.incident_id
from {t}incident_change_attribution a
join (select c.source, c.change_id
      from {db}.main.changes c
      join temp.main.refresh_releases d on d.source = c.source and d.release_id = c.release_id) x
  on x.source = a.source and x.change_id = a.change_id
union
select i.source, i.incident_id
from (select source, incident_id, opened_at, coalesce(cause_ci, ci) as ci
      from {db}.main.incidents
      where {ci_window}
        and opened_at >= (select min(actual_end) from temp.main.refresh_ends where kind = 'release')) i
asof join (select source, ci, actual_end from temp.main.refresh_ends where kind = 'release') e
  on e.source = i.source and e.ci = i.ci and i.opened_at >= e.actual_end
where i.opened_at < e.actual_end + to_days(cast({window_days} as integer));

create or replace temp table refresh_unlinked_releases as
select l.source, l.release_id
from {t}incident_release_attribution l
join temp.main.refresh_release_incidents a on a.source = l.source and a.incident_id = l.incident_id;

delete from {t}incident_release_attribution
where (source, incident_id) in (select source, incident_id from temp.main.refresh_release_incidents);

-- The macro reads these incidents, the changes their change links name, and
-- the releases they can be linked to: named, of those changes, or ended
-- within the window before them (as for changes above).
create or replace temp table incidents as
select * from {db}.main.incidents
where (source, incident_id) in (select source, incident_id from temp.main.refresh_release_incidents);

create or replace temp table changes as
select * from {db}.main.changes
where (source, change_id) in (
    select a.source, a.change_id from {t}incident_change_attribution a
    where (a.source, a.incident_id) in (select source, incident_id from temp.main.refresh_release_incidents));

create or replace temp table releases as
with span as (
    select min(opened_at) - to_days(cast({window_days} as integer)) as lo, max(opened_at) as hi
    from temp.main.incidents
),
named as (
    select source, related_release as release_id from temp.main.incidents where related_release is not null
    union
    select source, release_id from temp.main.changes where release_id is not null
)
select r.* from {db}.main.releases r, span
where r.actual_end >= span.lo and r.actual_end <= span.hi
union all
select r.* from {db}.main.releases r
join named n on n.source = r.source and n.release_id = r.release_id, span
where not coalesce(r.actual_end >= span.lo and r.actual_end <= span.hi, false);

-- Rule 2 reads every stored change link whose change is in `changes`: keep
-- the links of these incidents only.
insert into {t}incident_release_attribution
select * from {db}.main.incident_release_attribution(window_days := {window_days}, ci_window := {ci_window})
where (source, incident_id) in (select source, incident_id from temp.main.refresh_release_incidents);

drop table temp.main.releases;

drop table temp.main.changes;

drop table temp.main.incidents;

create or replace temp table refresh_fact_releases as
select source, release_id from temp.main.refresh_releases
union
select source, release_id from temp.main.refresh_unlinked_releases
union
select l.source, l.release_id
from {t}incident_release_attribution l
join temp.main.refresh_release_incidents a on a.source = l.source and a.incident_id = l.incident_id;

delete from {t}release_facts
where (source, release_id) in (select source, release_id from temp.main.refresh_fact_releases);

create or replace temp table releases as
select * from {db}.main.releases
where (source, release_id) in (select source, release_id from temp.main.refresh_fact_releases);

insert into {t}release_facts
select * from {db}.main.release_facts(window_days := {window_days}, major_priority := {major_priority}, ci_window := {ci_window});

drop table temp.main.releases;

delete from {t}change_facts
where (source, change_id) in (select source, change_id from temp.main.refresh_fact_changes);

create or replace temp table changes as
select * from {db}.main.changes
where (source, change_id) in (select source, change_id from temp.main.refresh_fact_changes);

insert into {t}change_facts
select * from {db}.main.change_facts(window_days := {window_days}, ci_window := {ci_window});

drop table temp.main.changes;
