-- Migration 7: what an import made of an export's headers and values, kept per
-- batch so that `relkpi status`, `relkpi check` and the report can show each
-- source's coverage (README, "What an import tells you").

-- Why the source and kind were chosen ("14 canonical columns resolved, ...").
alter table import_batches add column detected varchar;

-- The canonical value the keyword rule gave an unrecognised value; NULL when the
-- value was kept as is (lower-cased).
alter table import_unmapped add column mapped_to varchar;

-- One row per canonical column the file fed (status 'used', with the header),
-- per header no column used ('ignored', column_name NULL) and per canonical
-- column the file lacks ('missing', header NULL).
create table import_coverage (
    batch_id    integer not null,
    column_name varchar,
    header      varchar,
    status      varchar not null  -- used | ignored | missing
);
