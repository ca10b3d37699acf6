-- The warehouse's own tables and the rows DuckDB stores for each, deleted
-- ones included: a delete only marks its rows, and they stay in their row
-- group until a checkpoint's vacuum rewrites it. `relkpi import` counts the
-- live rows beside these to decide whether its checkpoints may skip the
-- vacuum (src/warehouse/mod.rs, `limit_vacuum`).
select table_name, estimated_size as stored
from duckdb_tables()
where database_name = current_database()
  and schema_name = 'main'
  and not temporary
  and estimated_size > 0
order by table_name
