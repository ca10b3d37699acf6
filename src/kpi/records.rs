//! The records behind a KPI (queries/records/<id>.sql).

use anyhow::{Context, Result, bail};
use duckdb::Connection;
use duckdb::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use duckdb::arrow::compute::cast;
use duckdb::arrow::datatypes::{DataType, Float64Type, TimeUnit, TimestampMicrosecondType};
use serde::Serialize;

use super::params::Params;
use crate::queries;

/// One record behind a KPI (queries/records/<id>.sql).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecordRow {
    pub record_id: String,
    pub title: Option<String>,
    pub service: Option<String>,
    pub team: Option<String>,
    pub occurred_at: Option<String>,
    pub value: Option<f64>,
    pub detail: Option<String>,
}

/// The records behind a KPI in a period, when the KPI has a records file.
/// `policy_compliance_rate` needs `policy_violations` (filled by `compute`).
pub fn records(conn: &Connection, id: &str, params: &Params) -> Result<Option<Vec<RecordRow>>> {
    let Some(sql) = queries::text(&format!("records/{id}.sql")) else {
        return Ok(None);
    };
    let origin = format!("queries/records/{id}.sql");
    let mut stmt = conn.prepare(sql).with_context(|| origin.clone())?;
    params.bind(&mut stmt, &origin)?;
    stmt.raw_execute().with_context(|| format!("{origin}: failed"))?;
    // Read a vector at a time as Arrow columns (a month of a large warehouse
    // is hundreds of thousands of records), each cast to the type it is read as.
    let mut out = Vec::new();
    while let Some(batch) = stmt.step().with_context(|| format!("{origin}: failed"))? {
        let batch = RecordBatch::from(&batch);
        if batch.num_columns() < 7 {
            bail!("{origin}: returns {} columns, not 7", batch.num_columns());
        }
        let col = |i: usize, to: &DataType| {
            cast(batch.column(i), to).with_context(|| format!("{origin}: column {} as {to}", i + 1))
        };
        let text = |i: usize| -> Result<StringArray> { Ok(col(i, &DataType::Utf8)?.as_string::<i32>().clone()) };
        let (id, title, service, team, detail) = (text(0)?, text(1)?, text(2)?, text(3)?, text(6)?);
        let at = col(4, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
        let at = at.as_primitive::<TimestampMicrosecondType>();
        let value = col(5, &DataType::Float64)?;
        let value = value.as_primitive::<Float64Type>();
        let opt = |a: &StringArray, r: usize| a.is_valid(r).then(|| a.value(r).to_owned());
        for r in 0..batch.num_rows() {
            out.push(RecordRow {
                record_id: opt(&id, r).with_context(|| format!("{origin}: record_id is NULL"))?,
                title: opt(&title, r),
                service: opt(&service, r),
                team: opt(&team, r),
                occurred_at: at
                    .is_valid(r)
                    .then(|| chrono::DateTime::from_timestamp_micros(at.value(r)))
                    .flatten()
                    .map(|t| t.naive_utc().format("%Y-%m-%d %H:%M").to_string()),
                value: value.is_valid(r).then(|| value.value(r)),
                detail: opt(&detail, r),
            });
        }
    }
    Ok(Some(out))
}
