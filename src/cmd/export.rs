//! `relkpi export`: the canonical tables, the attribution links and monthly KPI
//! results as Parquet or CSV, Hive-partitioned by source and month
//! (`DIR/changes/source=servicenow/month=2024-03/data_0.parquet`), so larger
//! engines and BI tools can take over. DuckDB's COPY writes the files.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cli::{ExportArgs, ExportFormat, GlobalArgs};
use crate::kpi::{self, Params, PeriodRequest};
use crate::queries;
use crate::warehouse::{Mode, Session};

/// `'path'` as a SQL string literal.
fn literal(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "''"))
}

fn copy_options(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Parquet => "FORMAT parquet, PARTITION_BY (source, month), OVERWRITE_OR_IGNORE",
        ExportFormat::Csv => "FORMAT csv, HEADER, PARTITION_BY (source, month), OVERWRITE_OR_IGNORE",
    }
}

pub fn run(g: &GlobalArgs, a: ExportArgs) -> Result<u8> {
    let s = Session::open(&g.db, g.config.as_deref(), Mode::ReadOnly)?;
    let (conn, cfg) = (s.conn(), &s.config);
    if a.out.exists() && std::fs::read_dir(&a.out)?.next().is_some() && !a.force {
        bail!(
            "{} is not empty; choose an empty folder or add --force to write into it",
            a.out.display()
        );
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    let prep = s.prepared()?;
    let params = Params::settings(cfg);
    let files = queries::sql_files("export");
    let progress = crate::ui::Progress::new(files.len() as u64 + u64::from(a.months), "export");
    for f in &files {
        progress.step(f.id.clone());
        let body = f.sql.trim().trim_end_matches(';');
        let target = a.out.join(&f.id);
        let mut stmt = conn
            .prepare(&format!(
                "copy ({body}\n) to {} ({})",
                literal(&target),
                copy_options(a.format)
            ))
            .with_context(|| f.origin.clone())?;
        params.bind(&mut stmt, &f.origin)?;
        stmt.raw_execute()
            .with_context(|| format!("{}: exporting to {}", f.origin, target.display()))?;
    }
    // KPI results: every KPI by source for each month, into a temp table, then out.
    conn.execute_batch(
        "create or replace temp table kpi_results (source varchar, month varchar, kpi varchar, title varchar, unit varchar, \
         value double, numerator bigint, denominator bigint, count bigint, note varchar)",
    )?;
    let end = kpi::resolve_period(
        conn,
        PeriodRequest {
            period: a.period.as_deref(),
            ..Default::default()
        },
    )?;
    let mut rows = 0usize;
    {
        let mut app = conn.appender_to_catalog_and_db("kpi_results", "temp", "main")?;
        for m in end.months_ending(a.months.clamp(1, 240))? {
            progress.step(format!("KPIs {}", m.label));
            let rep = kpi::compute(conn, cfg, prep, &m, Some("source"), &[])?;
            for k in rep.kpis {
                let source = k
                    .group
                    .as_ref()
                    .and_then(|g| g.get("source"))
                    .cloned()
                    .unwrap_or_default();
                app.append_row(duckdb::params![
                    source,
                    m.label,
                    k.id,
                    k.title,
                    k.unit.as_str(),
                    k.value,
                    k.numerator,
                    k.denominator,
                    k.count,
                    k.note
                ])?;
                rows += 1;
            }
        }
    }
    let target = a.out.join("kpi_results");
    conn.execute_batch(&format!(
        "copy (select * from temp.main.kpi_results) to {} ({})",
        literal(&target),
        copy_options(a.format)
    ))
    .with_context(|| format!("exporting KPI results to {}", target.display()))?;
    drop(progress);
    if !g.quiet {
        println!(
            "{}: {} tables and links, {} KPI results ({} months ending {})",
            a.out.display(),
            files.len(),
            rows,
            a.months,
            end.label
        );
    }
    Ok(crate::exit::OK)
}
