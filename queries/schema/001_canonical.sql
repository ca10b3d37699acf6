-- Migration 1: the canonical model (spec/MODEL.md) and the import bookkeeping.
-- Every importer writes these tables; every KPI reads only them or views over them.
-- A record is identified by (source, id); links point to records of the same source.

create table releases (
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
    batch_id      integer,   -- import batch that last wrote the row
    primary key (source, release_id)
);

create table changes (
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
    batch_id      integer,
    primary key (source, change_id)
);

-- Unique per (source, change_id, ci); kept so by the importer, which replaces a
-- change's CI set when it loads a newer version of the change.
create table change_cis (
    source    varchar not null,
    change_id varchar not null,
    ci        varchar not null
);

create table incidents (
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
    batch_id         integer,
    primary key (source, incident_id)
);

create table satisfaction (
    source       varchar not null,
    response_id  varchar not null,
    release_id   varchar,
    service      varchar,
    submitted_at timestamp,
    score        integer,
    comment      varchar,
    updated_at   timestamp,
    batch_id     integer,
    primary key (source, response_id)
);

create sequence import_batch_seq start 1;

create table import_batches (
    batch_id      integer primary key,
    file_path     varchar not null,
    file_sha256   varchar not null,
    source        varchar not null,
    kind          varchar not null, -- releases | changes | incidents | satisfaction
    profile       varchar not null,
    rows_read     bigint not null,
    rows_inserted bigint not null,
    rows_updated  bigint not null,
    rows_unchanged bigint not null, -- exact duplicates of what is stored (or of an earlier row)
    rows_stale    bigint not null,  -- older than the stored version (by updated_at): kept the stored one
    rows_folded   bigint not null,  -- rows folded into another row of the same record in the file: earlier versions (audit logs) or extra CI rows
    rows_blank    bigint not null,  -- empty rows (only delimiters)
    rows_skipped  bigint not null,  -- rows of another record kind in a mixed export (profile filter)
    rows_rejected bigint not null,
    started_at    timestamp not null,
    finished_at   timestamp not null
);

create table import_rejects (
    batch_id  integer not null,
    line      bigint not null,   -- 1-based physical line of the record's start (header = 1)
    field     varchar,           -- the column at fault, when one is
    value     varchar,
    reason    varchar not null,
    raw       varchar            -- the record as read
);

-- Values the mapping did not recognise, kept lower-cased in the canonical column.
create table import_unmapped (
    batch_id   integer not null,
    table_name varchar not null,
    column_name varchar not null,
    value      varchar not null,
    rows       bigint not null
);

-- The canonical vocabularies. Values outside them are kept (lower-cased) and
-- reported by `relkpi check`.
create table vocabulary (table_name varchar, column_name varchar, value varchar);
insert into vocabulary values
    ('releases', 'release_type', 'major'), ('releases', 'release_type', 'minor'),
    ('releases', 'release_type', 'patch'), ('releases', 'release_type', 'emergency'),
    ('releases', 'release_type', 'other'),
    ('releases', 'state', 'planned'), ('releases', 'state', 'in_progress'),
    ('releases', 'state', 'deployed'), ('releases', 'state', 'closed'),
    ('releases', 'state', 'cancelled'),
    ('releases', 'outcome', 'successful'), ('releases', 'outcome', 'successful_with_issues'),
    ('releases', 'outcome', 'failed'), ('releases', 'outcome', 'rolled_back'),
    ('releases', 'outcome', 'cancelled'),
    ('changes', 'change_type', 'standard'), ('changes', 'change_type', 'normal'),
    ('changes', 'change_type', 'emergency'), ('changes', 'change_type', 'other'),
    ('changes', 'risk', 'low'), ('changes', 'risk', 'moderate'),
    ('changes', 'risk', 'high'), ('changes', 'risk', 'very_high'),
    ('changes', 'state', 'new'), ('changes', 'state', 'assess'),
    ('changes', 'state', 'authorize'), ('changes', 'state', 'scheduled'),
    ('changes', 'state', 'implement'), ('changes', 'state', 'review'),
    ('changes', 'state', 'closed'), ('changes', 'state', 'cancelled'),
    ('changes', 'outcome', 'successful'), ('changes', 'outcome', 'successful_with_issues'),
    ('changes', 'outcome', 'unsuccessful'), ('changes', 'outcome', 'rolled_back'),
    ('changes', 'outcome', 'cancelled'),
    ('changes', 'origin', 'planned'), ('changes', 'origin', 'incident'),
    ('changes', 'origin', 'problem'), ('changes', 'origin', 'other'),
    ('incidents', 'state', 'new'), ('incidents', 'state', 'in_progress'),
    ('incidents', 'state', 'on_hold'), ('incidents', 'state', 'resolved'),
    ('incidents', 'state', 'closed'), ('incidents', 'state', 'cancelled');
