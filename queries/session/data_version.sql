-- What the derived tables were built from: the last import batch and the size
-- of every canonical table. `relkpi` rebuilds or bypasses the derived tables
-- when this differs from the value stored with them (derived_meta).
select concat_ws(':',
    (select coalesce(max(batch_id), 0) from import_batches),
    (select count(*) from changes),
    (select count(*) from change_cis),
    (select count(*) from incidents),
    (select count(*) from releases),
    (select count(*) from satisfaction)) as data_version
