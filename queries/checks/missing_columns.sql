-- check: missing_columns
-- title: Canonical columns the latest export of a source and kind did not provide
-- One row per (source, kind, column) that the latest import batch of that source
-- and kind left empty (import_coverage); `relkpi import` and `relkpi status` say
-- what each costs (the KPIs that are NULL or partial, the policies not evaluated).
with latest as (
    select source, kind, max(batch_id) as batch_id
    from import_batches
    group by all
),
final as (
    select 'missing_columns' as check_id, l.source,
           l.kind || '.' || c.column_name || ': not in the export' as detail,
           1 as count,
           'batch ' || l.batch_id || ' (' || b.file_path || ')' as examples
    from latest l
    join import_batches b on b.batch_id = l.batch_id
    join import_coverage c on c.batch_id = l.batch_id
    where c.status = 'missing'
)
select * from final order by source, detail
