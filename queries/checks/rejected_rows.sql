-- check: rejected_rows
-- title: Rows rejected at import, by file and reason
select 'rejected_rows' as check_id, b.source,
       b.file_path || ': ' || regexp_replace(r.reason, '"[^"]*"', '…', 'g') as detail,
       count(*) as count,
       array_to_string(list_transform(min(r.line, 5), lambda l: 'line ' || l), ', ') as examples
from import_rejects r join import_batches b using (batch_id)
group by all order by source, detail
