-- What the latest import of each source and kind fed (`relkpi status`): the
-- canonical columns used, the headers ignored, and the canonical columns the
-- export lacked (import_coverage, migration 7), with why the kind was chosen.
with latest as (
    select source, kind, max(batch_id) as batch_id
    from import_batches
    group by all
),
final as (
    select l.source, l.kind, l.batch_id, coalesce(b.detected, '') as detected,
           count(c.status) filter (where c.status = 'used') as used,
           count(c.status) filter (where c.status = 'ignored') as ignored,
           coalesce(array_to_string(list(c.column_name order by c.column_name)
               filter (where c.status = 'missing'), ','), '') as missing
    from latest l
    join import_batches b on b.batch_id = l.batch_id
    left join import_coverage c on c.batch_id = l.batch_id
    group by all
)
select * from final order by source, kind
