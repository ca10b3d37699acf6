//! `relkpi status`: what the warehouse holds.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::cli::{Format, GlobalArgs, StatusArgs};
use crate::output::{self, Grid};
use crate::queries;
use crate::warehouse::{Mode, Warehouse};

#[derive(Serialize)]
struct TableCount {
    table: String,
    source: String,
    rows: i64,
    first: Option<String>,
    last: Option<String>,
}

#[derive(Serialize)]
struct Batch {
    batch_id: i64,
    file: String,
    source: String,
    kind: String,
    rows_read: i64,
    rows_rejected: i64,
    finished_at: String,
}

/// What the latest import of one source and kind provided.
#[derive(Serialize)]
struct SourceCoverage {
    source: String,
    kind: String,
    batch_id: i64,
    detected: String,
    columns_used: i64,
    headers_ignored: i64,
    columns_missing: Vec<String>,
    costs: Vec<String>,
}

#[derive(Serialize)]
struct Status {
    warehouse: String,
    schema_version: i64,
    tables: Vec<TableCount>,
    last_imports: Vec<Batch>,
    coverage: Vec<SourceCoverage>,
}

pub fn run(g: &GlobalArgs, a: StatusArgs) -> Result<u8> {
    let wh = Warehouse::open(&g.db, Mode::ReadOnly)?;
    let sql = queries::text("meta/status_counts.sql").unwrap_or_default();
    let tables = wh
        .conn
        .prepare(sql)?
        .query_map([], |r| {
            Ok(TableCount {
                table: r.get(0)?,
                source: r.get(1)?,
                rows: r.get(2)?,
                first: r.get::<_, Option<chrono::NaiveDateTime>>(3)?.map(|t| t.to_string()),
                last: r.get::<_, Option<chrono::NaiveDateTime>>(4)?.map(|t| t.to_string()),
            })
        })?
        .collect::<duckdb::Result<Vec<_>>>()?;
    let last_imports = wh
        .conn
        .prepare(
            "select batch_id, file_path, source, kind, rows_read, rows_rejected, finished_at::varchar \
             from import_batches order by batch_id desc limit 10",
        )?
        .query_map([], |r| {
            Ok(Batch {
                batch_id: r.get(0)?,
                file: r.get(1)?,
                source: r.get(2)?,
                kind: r.get(3)?,
                rows_read: r.get(4)?,
                rows_rejected: r.get(5)?,
                finished_at: r.get(6)?,
            })
        })?
        .collect::<duckdb::Result<Vec<_>>>()?;
    let sql = queries::text("meta/coverage.sql").unwrap_or_default();
    let mut coverage = wh
        .conn
        .prepare(sql)?
        .query_map([], |r| {
            let missing: String = r.get(6)?;
            Ok(SourceCoverage {
                source: r.get(0)?,
                kind: r.get(1)?,
                batch_id: r.get(2)?,
                detected: r.get(3)?,
                columns_used: r.get(4)?,
                headers_ignored: r.get(5)?,
                columns_missing: missing
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect(),
                costs: Vec::new(),
            })
        })?
        .collect::<duckdb::Result<Vec<_>>>()?;
    for c in &mut coverage {
        c.costs = crate::kpi::column_costs(&c.kind, &c.columns_missing)?;
    }
    let st = Status {
        warehouse: wh.path.display().to_string(),
        schema_version: wh.schema_version()?,
        tables,
        last_imports,
        coverage,
    };
    let mut out = std::io::stdout().lock();
    if a.format == Format::Json {
        return output::write_json(&mut out, &st).map(|_| 0);
    }
    writeln!(out, "warehouse {} (schema version {})", st.warehouse, st.schema_version)?;
    let mut grid = Grid::new(&["table", "source", "rows", "from", "to"]);
    for t in &st.tables {
        grid.rows.push(vec![
            t.table.clone(),
            t.source.clone(),
            t.rows.to_string(),
            output::fmt_opt(t.first.as_ref()),
            output::fmt_opt(t.last.as_ref()),
        ]);
    }
    let mut batches = Grid::new(&["batch", "file", "source", "kind", "read", "rejected", "at"]);
    for b in &st.last_imports {
        batches.rows.push(vec![
            b.batch_id.to_string(),
            b.file.clone(),
            b.source.clone(),
            b.kind.clone(),
            b.rows_read.to_string(),
            b.rows_rejected.to_string(),
            b.finished_at.clone(),
        ]);
    }
    if a.format == Format::Csv {
        grid.write_csv(&mut out)?;
        return Ok(0);
    }
    grid.write_table(&mut out)?;
    writeln!(out, "last imports:")?;
    batches.write_table(&mut out)?;
    if !st.coverage.is_empty() {
        writeln!(out, "coverage (the latest import of each source and kind):")?;
        for c in &st.coverage {
            writeln!(
                out,
                "  {} {} (batch {}): {} canonical columns used, {} headers ignored",
                c.source, c.kind, c.batch_id, c.columns_used, c.headers_ignored
            )?;
            if !c.columns_missing.is_empty() {
                writeln!(out, "    left empty: {}", c.columns_missing.join(", "))?;
            }
            for cost in &c.costs {
                writeln!(out, "    cost: {cost}")?;
            }
        }
    }
    Ok(0)
}
