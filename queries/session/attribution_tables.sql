-- The tables that hold the attribution macros materialised for the configured
-- settings, created empty (their columns are the macros' columns):
-- attribution_macros.sql then points temp macros at them, and
-- attribution_fill.sql fills them. With {t} = `{db}.main.derived_` these are the
-- warehouse's derived tables, rebuilt by `relkpi import` (documented in the
-- README for analysts); with {t} = `temp.main.cache_` and {kind} = `temp` they
-- live for one process ({kind} is empty otherwise).

create or replace {kind} table {t}incident_change_attribution as
select * from {db}.main.incident_change_attribution(window_days := {window_days}, ci_window := {ci_window}) limit 0;

create or replace {kind} table {t}incident_release_attribution as
select * from {db}.main.incident_release_attribution(window_days := {window_days}, ci_window := {ci_window}) limit 0;

create or replace {kind} table {t}release_facts as
select * from {db}.main.release_facts(window_days := {window_days}, major_priority := {major_priority}, ci_window := {ci_window}) limit 0;

create or replace {kind} table {t}change_facts as
select * from {db}.main.change_facts(window_days := {window_days}, ci_window := {ci_window}) limit 0;
