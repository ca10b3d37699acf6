-- Migration 10: the canonical tables without primary keys.
--
-- DuckDB keeps a primary key as an ART index that an insert must hold in
-- memory: at 10 million changes, a first import of the file needed more than
-- the 512 MB an import gives DuckDB (`import::limit_memory`) and failed
-- ("could not allocate block": 488 MiB of 488 MiB used), where the same
-- insert into a table without the key took 6 s within the limit. relkpi
-- never relied on the index: the import classifies every record against the
-- stored ones by key and inserts only new keys, one version per key
-- (`src/import/load.rs`, `fold.rs`), and no query looks a record up by key
-- through it. The keys stay NOT NULL; `relkpi check` reports a key held
-- twice (queries/checks/duplicate_keys.sql), which only a write by hand can
-- make. Each table is rebuilt with the same columns, in the same order.

create table releases_v10 (
    source        varchar not null,
    release_id    varchar not null,
    title         varchar,
    release_type  varchar,   -- major | minor | patch | emergency | other
    state         varchar,   -- planned | in_progress | deployed | closed | cancelled
    outcome       varchar,   -- successful | successful_with_issues | failed | rolled_back | cancelled | NULL
    service       varchar,
    team          varchar,
    requested_at  timestamp,
    approved_at   timestamp,
    planned_start timestamp,
    planned_end   timestamp,
    actual_start  timestamp,
    actual_end    timestamp, -- the deployment time
    closed_at     timestamp,
    updated_at    timestamp,
    batch_id      integer   -- import batch that last wrote the row
);
insert into releases_v10 select * from releases;
drop table releases;
alter table releases_v10 rename to releases;

create table changes_v10 (
    source        varchar not null,
    change_id     varchar not null,
    title         varchar,
    change_type   varchar,   -- standard | normal | emergency | other
    risk          varchar,   -- low | moderate | high | very_high | NULL
    state         varchar,   -- new | assess | authorize | scheduled | implement | review | closed | cancelled
    outcome       varchar,   -- successful | successful_with_issues | unsuccessful | rolled_back | cancelled | NULL
    origin        varchar,   -- planned | incident | problem | other | NULL
    cab_required  boolean,
    approved      boolean,
    release_id    varchar,
    service       varchar,
    team          varchar,
    opened_at     timestamp,
    approved_at   timestamp,
    planned_start timestamp,
    planned_end   timestamp,
    actual_start  timestamp,
    actual_end    timestamp, -- when it was implemented
    closed_at     timestamp,
    updated_at    timestamp,
    batch_id      integer
);
insert into changes_v10 select * from changes;
drop table changes;
alter table changes_v10 rename to changes;

create table incidents_v10 (
    source           varchar not null,
    incident_id      varchar not null,
    title            varchar,
    priority         integer,  -- 1 (highest) .. 5
    state            varchar,  -- new | in_progress | on_hold | resolved | closed | cancelled
    ci               varchar,
    cause_ci         varchar,
    service          varchar,
    team             varchar,
    caused_by_change varchar,
    related_release  varchar,
    opened_at        timestamp,
    resolved_at      timestamp,
    closed_at        timestamp,
    updated_at       timestamp,
    batch_id         integer
);
insert into incidents_v10 select * from incidents;
drop table incidents;
alter table incidents_v10 rename to incidents;

create table satisfaction_v10 (
    source       varchar not null,
    response_id  varchar not null,
    release_id   varchar,
    service      varchar,
    submitted_at timestamp,
    score        integer,
    comment      varchar,
    updated_at   timestamp,
    batch_id     integer
);
insert into satisfaction_v10 select * from satisfaction;
drop table satisfaction;
alter table satisfaction_v10 rename to satisfaction;
