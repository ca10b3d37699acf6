-- How many changes, incidents and releases the batches after $1 wrote, and
-- how many the warehouse holds: `relkpi import` refreshes the derived tables
-- (attribution_refresh.sql) only when the first is a small part of the second.
select
    (select count(*) from changes where batch_id > $1)
        + (select count(*) from incidents where batch_id > $1)
        + (select count(*) from releases where batch_id > $1) as written,
    (select count(*) from changes)
        + (select count(*) from incidents)
        + (select count(*) from releases) as total
