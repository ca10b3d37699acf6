//! The canonical tables as the warehouse declares them.

use anyhow::Result;
use duckdb::Connection;

/// A canonical column of the warehouse and its DuckDB type.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: ColType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    Text,
    Timestamp,
    Int,
    Bool,
}

/// Canonical columns of `table` (without the bookkeeping `batch_id`), from the warehouse.
pub fn table_columns(conn: &Connection, table: &str) -> Result<Vec<Column>> {
    let mut stmt = conn.prepare(
        "select column_name, data_type from information_schema.columns \
         where table_schema = 'main' and table_name = ? and column_name <> 'batch_id' \
         order by ordinal_position",
    )?;
    let cols = stmt
        .query_map([table], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<duckdb::Result<Vec<_>>>()?;
    Ok(cols
        .into_iter()
        .map(|(name, ty)| Column {
            name,
            ty: match ty.as_str() {
                "TIMESTAMP" => ColType::Timestamp,
                "INTEGER" | "BIGINT" => ColType::Int,
                "BOOLEAN" => ColType::Bool,
                _ => ColType::Text,
            },
        })
        .collect())
}
