-- check: placeholder_links
-- title: Placeholder values read as "no link" at import (e.g. HP SM #MULTIVALUE)
select 'placeholder_links' as check_id, b.source,
       u.table_name || '.' || u.column_name || ': ' || u.value || ' read as empty' as detail,
       sum(u.rows)::bigint as count, '' as examples
from import_unmapped u join import_batches b using (batch_id)
where u.value like 'placeholder:%'
group by all order by source, detail
