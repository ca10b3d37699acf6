//! `relkpi check`: data-quality findings (queries/checks/*.sql) plus the
//! policies that cannot be evaluated on this data.

use std::io::Write;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::{CheckArgs, Format, GlobalArgs};
use crate::config::Config;
use crate::kpi;
use crate::output::{self, Grid};
use crate::queries;
use crate::warehouse::{Mode, Warehouse};

#[derive(Debug, Serialize)]
pub struct Finding {
    pub check: String,
    pub source: String,
    pub detail: String,
    pub count: i64,
    pub examples: String,
}

#[derive(Serialize)]
struct CheckReport {
    findings: Vec<Finding>,
    policies_not_evaluated: Vec<kpi::PolicyStatus>,
}

pub fn findings(conn: &duckdb::Connection) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    for f in queries::sql_files("checks") {
        out.extend(run_check(conn, &f)?);
    }
    Ok(out)
}

/// The same findings, the checks shared among connections (`kpi::par_map`):
/// for a process that has set up the KPI session (the report).
pub fn findings_par(conn: &duckdb::Connection, cfg: &Config, prep: &kpi::Prepared) -> Result<Vec<Finding>> {
    let files = queries::sql_files("checks");
    let found = kpi::par_map(conn, cfg, prep, &files, |conn, _, f| run_check(conn, f))?;
    Ok(found.into_iter().flatten().collect())
}

fn run_check(conn: &duckdb::Connection, f: &queries::SqlFile) -> Result<Vec<Finding>> {
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

pub fn run(g: &GlobalArgs, a: CheckArgs) -> Result<u8> {
    let cfg = Config::load(g.config.as_deref(), &g.db)?;
    let wh = Warehouse::open(&g.db, Mode::ReadOnly)?;
    let found = findings(&wh.conn)?;
    // Policy evaluability does not depend on the period.
    let params = kpi::Params::settings(&cfg, 0);
    let statuses = kpi::run_policies(&wh.conn, &kpi::policy_defs(&cfg)?, &params)?;
    let report = CheckReport {
        findings: found,
        policies_not_evaluated: statuses
            .into_iter()
            .filter(|s| !s.not_evaluated.is_empty() || s.error.is_some())
            .collect(),
    };
    let mut out = std::io::stdout().lock();
    if a.format == Format::Json {
        output::write_json(&mut out, &report)?;
        return Ok(0);
    }
    let mut grid = Grid::new(&["check", "source", "finding", "count", "examples"]);
    for f in &report.findings {
        grid.rows.push(vec![
            f.check.clone(),
            f.source.clone(),
            f.detail.clone(),
            f.count.to_string(),
            f.examples.clone(),
        ]);
    }
    for p in &report.policies_not_evaluated {
        let detail = match &p.error {
            Some(e) => format!("policy {} failed: {e}", p.id),
            None => format!("policy {} not evaluated: its input columns are empty", p.id),
        };
        grid.rows.push(vec![
            "policy_not_evaluated".into(),
            p.not_evaluated.join(", "),
            detail,
            String::new(),
            String::new(),
        ]);
    }
    if a.format == Format::Csv {
        grid.write_csv(&mut out)?;
    } else if grid.rows.is_empty() {
        writeln!(out, "no data-quality findings")?;
    } else {
        grid.write_table(&mut out)?;
    }
    Ok(0)
}
