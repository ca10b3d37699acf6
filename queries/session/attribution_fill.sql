-- Fill the tables of attribution_tables.sql, after attribution_macros.sql, in
-- this order: each is filled by the warehouse's macro, whose body calls the
-- others unqualified; those resolve to the temp macros, so the release
-- attribution and the facts reuse the tables already filled instead of
-- attributing again. The facts are stored in actual_end order, so a period's
-- filter skips the row groups outside it.

insert into {t}incident_change_attribution
select * from {db}.main.incident_change_attribution(window_days := {window_days}, ci_window := {ci_window});

insert into {t}incident_release_attribution
select * from {db}.main.incident_release_attribution(window_days := {window_days}, ci_window := {ci_window});

insert into {t}release_facts
select * from {db}.main.release_facts(window_days := {window_days}, major_priority := {major_priority}, ci_window := {ci_window})
order by actual_end;

insert into {t}change_facts
select * from {db}.main.change_facts(window_days := {window_days}, ci_window := {ci_window})
order by actual_end;
