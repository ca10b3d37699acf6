-- Per-process cache of the attribution macros (queries/schema/002_attribution.sql)
-- for the configured settings. Run once by `relkpi` before computing KPIs, so that
-- a report's ~30 KPI runs attribute incidents once instead of ~120 times.
--
-- Each macro is materialised into a temp table, and a temp macro of the same name
-- and parameters (temp objects are found first) returns the cached rows when it is
-- called with the configured settings and falls back to the warehouse's own macro
-- ({db}.main.NAME) otherwise; the optimizer drops the branch that cannot apply. The
-- warehouse is not changed; the SQL files run by hand use the warehouse's macros.
-- {db}, {window_days}, {ci_window} and {major_priority} are filled in by relkpi
-- (a quoted catalog name, two integers and a boolean).

create or replace temp table cache_incident_change_attribution as
select * from {db}.main.incident_change_attribution(window_days := {window_days}, ci_window := {ci_window});

create or replace temp macro incident_change_attribution(window_days := 7, ci_window := true) as table
select * from temp.main.cache_incident_change_attribution
where window_days = {window_days} and ci_window = {ci_window}
union all
select * from {db}.main.incident_change_attribution(window_days := window_days, ci_window := ci_window)
where not (window_days = {window_days} and ci_window = {ci_window});

create or replace temp table cache_incident_release_attribution as
select * from {db}.main.incident_release_attribution(window_days := {window_days}, ci_window := {ci_window});

create or replace temp macro incident_release_attribution(window_days := 7, ci_window := true) as table
select * from temp.main.cache_incident_release_attribution
where window_days = {window_days} and ci_window = {ci_window}
union all
select * from {db}.main.incident_release_attribution(window_days := window_days, ci_window := ci_window)
where not (window_days = {window_days} and ci_window = {ci_window});

create or replace temp table cache_release_facts as
select * from {db}.main.release_facts(window_days := {window_days}, major_priority := {major_priority}, ci_window := {ci_window});

create or replace temp macro release_facts(window_days := 7, major_priority := 2, ci_window := true) as table
select * from temp.main.cache_release_facts
where window_days = {window_days} and major_priority = {major_priority} and ci_window = {ci_window}
union all
select * from {db}.main.release_facts(window_days := window_days, major_priority := major_priority, ci_window := ci_window)
where not (window_days = {window_days} and major_priority = {major_priority} and ci_window = {ci_window});

create or replace temp table cache_change_facts as
select * from {db}.main.change_facts(window_days := {window_days}, ci_window := {ci_window});

create or replace temp macro change_facts(window_days := 7, ci_window := true) as table
select * from temp.main.cache_change_facts
where window_days = {window_days} and ci_window = {ci_window}
union all
select * from {db}.main.change_facts(window_days := window_days, ci_window := ci_window)
where not (window_days = {window_days} and ci_window = {ci_window});
