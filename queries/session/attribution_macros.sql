-- Temp macros that shadow the attribution macros of queries/schema/002-003 for
-- the configured settings, reading materialised tables instead of recomputing:
-- a report's ~30 KPI runs then attribute incidents once (or never: see below).
--
-- Macro i reads table i of attribution_build.sql, which must exist first (a
-- macro is bound when it is created): relkpi runs the two files in pairs.
-- {t} is where the tables are:
-- `{db}.main.derived_` (built by `relkpi import` and kept in the warehouse) or
-- `temp.main.cache_` (built by this process when the stored ones are missing,
-- stale, or made for other settings). A temp macro is found before the warehouse's own one; called
-- with other settings it falls back to the warehouse's macro ({db}.main.NAME),
-- and the optimizer drops the branch that cannot apply. The warehouse's macros
-- are not changed, so the SQL files still run by hand.
-- {db}, {t}, {window_days}, {ci_window} and {major_priority} are filled in by
-- relkpi (a quoted catalog name, a table prefix, two integers and a boolean).

create or replace temp macro incident_change_attribution(window_days := 7, ci_window := true) as table
select * from {t}incident_change_attribution
where window_days = {window_days} and ci_window = {ci_window}
union all
select * from {db}.main.incident_change_attribution(window_days := window_days, ci_window := ci_window)
where not (window_days = {window_days} and ci_window = {ci_window});

create or replace temp macro incident_release_attribution(window_days := 7, ci_window := true) as table
select * from {t}incident_release_attribution
where window_days = {window_days} and ci_window = {ci_window}
union all
select * from {db}.main.incident_release_attribution(window_days := window_days, ci_window := ci_window)
where not (window_days = {window_days} and ci_window = {ci_window});

create or replace temp macro release_facts(window_days := 7, major_priority := 2, ci_window := true) as table
select * from {t}release_facts
where window_days = {window_days} and major_priority = {major_priority} and ci_window = {ci_window}
union all
select * from {db}.main.release_facts(window_days := window_days, major_priority := major_priority, ci_window := ci_window)
where not (window_days = {window_days} and major_priority = {major_priority} and ci_window = {ci_window});

create or replace temp macro change_facts(window_days := 7, ci_window := true) as table
select * from {t}change_facts
where window_days = {window_days} and ci_window = {ci_window}
union all
select * from {db}.main.change_facts(window_days := window_days, ci_window := ci_window)
where not (window_days = {window_days} and ci_window = {ci_window});
