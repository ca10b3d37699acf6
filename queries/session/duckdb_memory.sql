-- What DuckDB holds at this moment (`relkpi import -vv` logs it after each
-- phase, beside the process's memory): its buffers in memory and the data it
-- wrote to its temporary directory, in MB.
select (sum(memory_usage_bytes) // 1000000)::bigint as memory_mb,
       (sum(temporary_storage_bytes) // 1000000)::bigint as temporary_mb
from duckdb_memory()
