//! Data-quality checks (queries/checks/*.sql): zero-row data tests over the warehouse.

use anyhow::{Context, Result};
use serde::Serialize;

use crate::config::Config;
use crate::kpi;
use crate::queries;

#[derive(Debug, Serialize)]
pub struct Finding {
    pub check: String,
    pub source: String,
    pub detail: String,
    pub count: i64,
    pub examples: String,
}

/// The findings of every check, the checks shared among connections
/// (`kpi::par_map`), for a process that has set up the KPI session.
pub fn findings_par(conn: &duckdb::Connection, cfg: &Config, prep: &kpi::Prepared) -> Result<Vec<Finding>> {
    let files = queries::sql_files("checks");
    let found = kpi::par_map(conn, cfg, prep, &files, |conn, _, f| run_check(conn, f))?;
    Ok(found.into_iter().flatten().collect())
}

fn run_check(conn: &duckdb::Connection, f: &queries::SqlFile) -> Result<Vec<Finding>> {
    let started = std::time::Instant::now();
    let found = findings_of(conn, f)?;
    crate::ui::verbose(
        2,
        format!("check: {} {:.2} s", f.origin, started.elapsed().as_secs_f64()),
    );
    Ok(found)
}

fn findings_of(conn: &duckdb::Connection, f: &queries::SqlFile) -> Result<Vec<Finding>> {
    let mut stmt = conn.prepare(&f.sql).with_context(|| f.origin.clone())?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Finding {
                check: r.get(0)?,
                source: r.get(1)?,
                detail: r.get(2)?,
                count: r.get(3)?,
                examples: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            })
        })
        .with_context(|| f.origin.clone())?;
    rows.map(|r| r.with_context(|| f.origin.clone())).collect()
}
