-- What the report was built from: every import batch, newest first.
select batch_id, file_path, source, kind, rows_read, rows_inserted, rows_updated, rows_rejected,
       strftime(finished_at, '%Y-%m-%d %H:%M') as finished_at
from import_batches
order by batch_id desc
