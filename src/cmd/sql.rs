//! `relkpi sql`: ad-hoc SQL for analysts. Read-only unless --write (the warehouse
//! is opened in DuckDB's read-only mode, so no statement can change it).
//! Results leave DuckDB once, as Arrow batches, and are printed as a table, CSV
//! or JSON; Parquet is written by DuckDB itself.

use std::io::Write;

use anyhow::{Context, Result, bail};
use duckdb::arrow::array::{Array, RecordBatch};
use duckdb::arrow::datatypes::DataType;
use duckdb::arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::cli::{GlobalArgs, SqlArgs, SqlFormat};
use crate::output::{self, Grid};
use crate::warehouse::{Mode, Warehouse};

pub fn run(g: &GlobalArgs, a: SqlArgs) -> Result<u8> {
    let query = match (&a.query, &a.file) {
        (Some(q), _) => q.clone(),
        (None, Some(f)) => std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?,
        (None, None) => bail!("give a query or -f FILE"),
    };
    let query = query.trim().trim_end_matches(';').to_owned();
    let mode = if a.write { Mode::ReadWrite } else { Mode::ReadOnly };
    let wh = Warehouse::open(&g.db, mode)?;
    if a.format == SqlFormat::Parquet {
        let out = a.output.as_ref().context("--format parquet needs --output FILE")?;
        // COPY cannot take its target as a parameter: quote it as a SQL string.
        let target = out.display().to_string().replace('\'', "''");
        wh.conn
            .execute_batch(&format!("copy ({query}) to '{target}' (format parquet)"))
            .map_err(|e| anyhow::anyhow!("query failed: {e}"))?;
        return Ok(0);
    }
    let mut stmt = wh
        .conn
        .prepare(&query)
        .map_err(|e| anyhow::anyhow!("query failed: {e}"))?;
    let batches: Vec<RecordBatch> = stmt
        .query_arrow([])
        .map_err(|e| anyhow::anyhow!("query failed: {e}"))?
        .collect();
    if a.write {
        // A write may change what the derived tables were built from in ways their
        // data version cannot see (an update in place): KPI runs stop using them
        // until the next import rebuilds them.
        wh.conn
            .execute("delete from derived_meta", [])
            .context("marking the derived tables out of date")?;
    }
    let schema = stmt.schema();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut out: Box<dyn Write> = match &a.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    match a.format {
        SqlFormat::Json => {
            let rows = json_rows(&batches, &names)?;
            output::write_json(&mut out, &rows)?;
        }
        SqlFormat::Table | SqlFormat::Csv => {
            let mut grid = Grid {
                headers: names.clone(),
                rows: Vec::new(),
            };
            let opts = FormatOptions::default().with_null("");
            for b in &batches {
                let fmts = b
                    .columns()
                    .iter()
                    .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
                    .collect::<Result<Vec<_>, _>>()?;
                for row in 0..b.num_rows() {
                    grid.rows.push(fmts.iter().map(|f| f.value(row).to_string()).collect());
                }
            }
            if a.format == SqlFormat::Csv {
                grid.write_csv(&mut out)?;
            } else {
                grid.write_table(&mut out)?;
                writeln!(out, "({} rows)", grid.rows.len())?;
            }
        }
        SqlFormat::Parquet => unreachable!(),
    }
    out.flush()?;
    Ok(0)
}

/// Rows as JSON objects: numbers and booleans stay typed, everything else is text.
fn json_rows(batches: &[RecordBatch], names: &[String]) -> Result<Vec<serde_json::Map<String, serde_json::Value>>> {
    let opts = FormatOptions::default();
    let mut rows = Vec::new();
    for b in batches {
        let fmts = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..b.num_rows() {
            let mut m = serde_json::Map::new();
            for (i, col) in b.columns().iter().enumerate() {
                let v = if col.is_null(row) {
                    serde_json::Value::Null
                } else {
                    let text = fmts[i].value(row).to_string();
                    match col.data_type() {
                        DataType::Boolean => serde_json::Value::Bool(text == "true"),
                        t if t.is_numeric() => serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
                        _ => serde_json::Value::String(text),
                    }
                };
                m.insert(names[i].clone(), v);
            }
            rows.push(m);
        }
    }
    Ok(rows)
}
