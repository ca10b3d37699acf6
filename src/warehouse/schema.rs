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
    Ok(column_types(conn, table)?
        .into_iter()
        .map(|(name, ty)| Column {
            ty: match ty.as_str() {
                "TIMESTAMP" => ColType::Timestamp,
                "INTEGER" | "BIGINT" => ColType::Int,
                "BOOLEAN" => ColType::Bool,
                _ => ColType::Text,
            },
            name,
        })
        .collect())
}

/// The columns of `main.{table}` (without `batch_id`) and their DuckDB types
/// as DDL spells them, in order.
pub fn column_types(conn: &Connection, table: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare(
        "select column_name, data_type from information_schema.columns \
         where table_schema = 'main' and table_name = ? and column_name <> 'batch_id' \
         order by ordinal_position",
    )?;
    Ok(stmt
        .query_map([table], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<duckdb::Result<Vec<_>>>()?)
}
