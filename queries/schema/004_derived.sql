-- Migration 4: bookkeeping of the derived tables (queries/session/attribution_build.sql).
-- `relkpi import` rebuilds derived_incident_change_attribution,
-- derived_incident_release_attribution, derived_release_facts and derived_change_facts
-- for the configured settings and records here what they were built from; KPI runs
-- read them only while `settings` and `data_version` still match.
create table derived_meta (
    name         varchar primary key,  -- 'attribution'
    settings     varchar not null,     -- window_days, ci_window, major_priority
    data_version varchar not null,     -- queries/session/data_version.sql when built
    built_at     timestamp not null
);
