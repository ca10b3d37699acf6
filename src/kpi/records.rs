//! The records behind a KPI (queries/records/<id>.sql).

use anyhow::{Context, Result};
use duckdb::Connection;
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
    stmt.raw_execute()?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next().with_context(|| origin.clone())? {
        out.push(RecordRow {
            record_id: r.get(0)?,
            title: r.get(1)?,
            service: r.get(2)?,
            team: r.get(3)?,
            occurred_at: r
                .get::<_, Option<chrono::NaiveDateTime>>(4)?
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string()),
            value: r.get(5)?,
            detail: r.get(6)?,
        });
    }
    Ok(Some(out))
}
