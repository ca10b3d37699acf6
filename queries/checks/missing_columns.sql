-- check: missing_columns
-- title: Canonical columns the latest export of a source and kind did not provide
-- One row per source and kind whose latest import batch left canonical columns
-- empty (import_coverage), naming them; `relkpi import` and `relkpi status` say
-- what each costs (the KPIs that are NULL or partial, the policies not evaluated).
with latest as (
    select source, kind, max(batch_id) as batch_id
    from import_batches
    group by all
),
missing as (
    select l.source, l.kind, l.batch_id,
           regexp_extract(b.file_path, '[^/\\]+$') as file,
           string_agg(c.column_name, ', ' order by c.column_name) as columns,
           count(*) as n
    from latest l
    join import_batches b on b.batch_id = l.batch_id
    join import_coverage c on c.batch_id = l.batch_id
    where c.status = 'missing'
    group by all
),
final as (
    select 'missing_columns' as check_id, source,
           kind || ' without ' || columns as detail,
           n as count,
           'batch ' || batch_id || ' (' || file || ')' as examples
    from missing
)
select * from final order by source, detail
