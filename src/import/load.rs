//! Loading prepared records: one transaction per file. Records go to a
//! temporary stage through the Appender, are classified against the stored
//! versions (insert, update, unchanged, stale), merged by key, and the file's
//! batch, rejects and unmapped values are recorded. Any error rolls it all back.
//!
//! The merge statements are generated from the canonical column names (never
//! from values) so a file that lacks a column keeps the stored values of it.

use anyhow::{Context, Result};
use duckdb::types::Value;
use duckdb::{Connection, params};

use super::{FileSummary, Prepared, Record, key_column};

fn qi(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

struct MergeCounts {
    inserted: u64,
    updated: u64,
    unchanged: u64,
    stale: u64,
}

/// Merge `records` into `table`; returns the counts and the keys that were written.
fn merge(
    conn: &Connection,
    table: &str,
    names: &[String],
    present: &[bool],
    records: &[Record],
    batch_id: i64,
) -> Result<(MergeCounts, Vec<String>)> {
    let key = key_column(table);
    conn.execute_batch(&format!(
        "create or replace temp table stage as select * exclude (batch_id), 0::bigint as _line from main.{t} limit 0",
        t = qi(table)
    ))?;
    {
        let mut app = conn.appender_to_catalog_and_db("stage", "temp", "main")?;
        for r in records {
            let line = Value::BigInt(r.line as i64);
            app.append_row(duckdb::appender_params_from_iter(
                r.values.iter().chain(std::iter::once(&line)),
            ))?;
        }
        app.flush()?;
    }
    let cols: Vec<&String> = names.iter().zip(present).filter(|(_, p)| **p).map(|(n, _)| n).collect();
    let same = cols
        .iter()
        .map(|c| format!("s.{c} is not distinct from t.{c}", c = qi(c)))
        .collect::<Vec<_>>()
        .join(" and ");
    let has_updated = names.iter().zip(present).any(|(n, p)| n == "updated_at" && *p);
    let stale = if has_updated {
        "s.updated_at < t.updated_at"
    } else {
        "false"
    };
    conn.execute_batch(&format!(
        "create or replace temp table stage_class as
         select s._line, s.source, s.{k} as key,
                case when t.{k} is null then 'insert'
                     when {stale} then 'stale'
                     when {same} then 'unchanged'
                     else 'update' end as class
         from temp.stage s left join main.{t} t on t.source = s.source and t.{k} = s.{k}",
        k = qi(key),
        t = qi(table),
    ))?;
    let set = cols
        .iter()
        .filter(|c| c.as_str() != "source" && c.as_str() != key)
        .map(|c| format!("{c} = s.{c}", c = qi(c)))
        .chain(std::iter::once(format!("batch_id = {batch_id}")))
        .collect::<Vec<_>>()
        .join(", ");
    conn.execute_batch(&format!(
        "update main.{t} as tgt set {set}
         from temp.stage s join temp.stage_class k on k._line = s._line
         where k.class = 'update' and tgt.source = s.source and tgt.{k} = s.{k}",
        t = qi(table),
        k = qi(key)
    ))?;
    let list = cols.iter().map(|c| qi(c)).collect::<Vec<_>>().join(", ");
    let slist = cols
        .iter()
        .map(|c| format!("s.{}", qi(c)))
        .collect::<Vec<_>>()
        .join(", ");
    conn.execute_batch(&format!(
        "insert into main.{t} ({list}, batch_id)
         select {slist}, {batch_id} from temp.stage s join temp.stage_class k on k._line = s._line
         where k.class = 'insert'",
        t = qi(table)
    ))?;
    let mut counts = MergeCounts {
        inserted: 0,
        updated: 0,
        unchanged: 0,
        stale: 0,
    };
    let mut stmt = conn.prepare("select class, count(*) from temp.stage_class group by class")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (class, n) = row?;
        let n = n as u64;
        match class.as_str() {
            "insert" => counts.inserted = n,
            "update" => counts.updated = n,
            "unchanged" => counts.unchanged = n,
            _ => counts.stale = n,
        }
    }
    let mut stmt = conn.prepare("select key from temp.stage_class where class <> 'stale'")?;
    let written = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<duckdb::Result<Vec<_>>>()?;
    Ok((counts, written))
}

/// Load a prepared file in one transaction. On error nothing is kept.
pub fn load(conn: &Connection, prep: Prepared) -> Result<FileSummary> {
    conn.execute_batch("begin transaction")?;
    match load_in_tx(conn, prep) {
        Ok(s) => {
            conn.execute_batch("commit").context("committing the import")?;
            Ok(s)
        }
        Err(e) => {
            let _ = conn.execute_batch("rollback");
            Err(e)
        }
    }
}

fn load_in_tx(conn: &Connection, prep: Prepared) -> Result<FileSummary> {
    let started = chrono::Local::now().naive_local();
    let mut s = prep.summary;
    let batch_id: i64 = conn.query_row("select nextval('import_batch_seq')", [], |r| r.get(0))?;
    s.batch_id = batch_id;
    let names: Vec<String> = prep.columns.iter().map(|c| c.name.clone()).collect();

    let mut records = prep.records;
    let mut present = prep.present;
    // Records that are also releases (HP SM "Release Type" changes) link to themselves.
    let release_pos = names.iter().position(|n| n == "release_id");
    let id_pos = names.iter().position(|n| n == "change_id");
    if prep.table == "changes"
        && records.iter().any(|r| r.release)
        && let (Some(p), Some(id)) = (release_pos, id_pos)
    {
        present[p] = true;
        for r in records.iter_mut().filter(|r| r.release) {
            r.values[p] = r.values[id].clone();
        }
    }

    let (counts, written) = merge(conn, &prep.table, &names, &present, &records, batch_id)
        .with_context(|| format!("{}: loading {}", s.file, prep.table))?;
    s.inserted = counts.inserted;
    s.updated = counts.updated;
    s.unchanged += counts.unchanged;
    s.stale = counts.stale;

    if prep.table == "changes" {
        load_cis(conn, &names, &records, &written)?;
        let releases: Vec<&Record> = records.iter().filter(|r| r.release).collect();
        if !releases.is_empty() {
            s.derived_releases = derive_releases(
                conn,
                &names,
                &present,
                &releases,
                prep.release_type.as_deref(),
                batch_id,
            )?;
        }
    }

    {
        let mut app = conn.appender("import_rejects")?;
        for r in &prep.rejects {
            app.append_row(params![batch_id, r.line as i64, r.field, r.value, r.reason, r.raw])?;
        }
        app.flush()?;
        let mut app = conn.appender("import_unmapped")?;
        for u in &s.unmapped_values {
            app.append_row(params![batch_id, prep.table, u.column, u.value, u.rows as i64])?;
        }
        app.flush()?;
    }
    let finished = chrono::Local::now().naive_local();
    conn.execute(
        "insert into import_batches values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            batch_id,
            s.file,
            prep.sha256,
            s.source,
            s.kind,
            s.profile,
            s.read as i64,
            s.inserted as i64,
            s.updated as i64,
            s.unchanged as i64,
            s.stale as i64,
            s.folded as i64,
            s.blank as i64,
            s.skipped as i64,
            s.rejected as i64,
            started,
            finished
        ],
    )?;
    Ok(s)
}

/// Replace the CI set of every change written by this file that lists CIs.
fn load_cis(conn: &Connection, names: &[String], records: &[Record], written: &[String]) -> Result<()> {
    let key = names.iter().position(|n| n == "change_id").context("change_id")?;
    let src = names.iter().position(|n| n == "source").context("source")?;
    let written: std::collections::HashSet<&str> = written.iter().map(String::as_str).collect();
    conn.execute_batch("create or replace temp table stage_cis (source varchar, change_id varchar, ci varchar)")?;
    {
        let mut app = conn.appender_to_catalog_and_db("stage_cis", "temp", "main")?;
        for r in records.iter().filter(|r| !r.cis.is_empty()) {
            let (Value::Text(id), Value::Text(s)) = (&r.values[key], &r.values[src]) else {
                continue;
            };
            if !written.contains(id.as_str()) {
                continue;
            }
            for ci in &r.cis {
                app.append_row(params![s, id, ci])?;
            }
        }
        app.flush()?;
    }
    conn.execute_batch(
        "delete from main.change_cis where (source, change_id) in (select distinct source, change_id from temp.stage_cis);
         insert into main.change_cis select distinct source, change_id, ci from temp.stage_cis;",
    )?;
    Ok(())
}

/// Changes that are also releases become release rows with the same id and times.
fn derive_releases(
    conn: &Connection,
    names: &[String],
    present: &[bool],
    changes: &[&Record],
    release_type: Option<&str>,
    batch_id: i64,
) -> Result<u64> {
    let rel_cols = super::table_columns(conn, "releases")?;
    let rel_names: Vec<String> = rel_cols.iter().map(|c| c.name.clone()).collect();
    // release column <- change column
    let from = |rc: &str| -> Option<&str> {
        Some(match rc {
            "source" => "source",
            "release_id" => "change_id",
            "title" => "title",
            "service" => "service",
            "team" => "team",
            "requested_at" => "opened_at",
            "approved_at" => "approved_at",
            "planned_start" => "planned_start",
            "planned_end" => "planned_end",
            "actual_start" => "actual_start",
            "actual_end" => "actual_end",
            "closed_at" => "closed_at",
            "updated_at" => "updated_at",
            _ => return None,
        })
    };
    let pos = |n: &str| names.iter().position(|x| x == n);
    let mut rel_present = vec![false; rel_names.len()];
    let mut records = Vec::with_capacity(changes.len());
    for r in changes {
        let mut values = Vec::with_capacity(rel_names.len());
        for (i, rc) in rel_names.iter().enumerate() {
            let v = match rc.as_str() {
                "release_type" => Value::Text(release_type.unwrap_or("other").to_owned()),
                // A closed release record: deployed when it has an actual end.
                "state" => match pos("closed_at").map(|p| &r.values[p]) {
                    Some(Value::Null) | None => Value::Null,
                    _ => Value::Text("closed".into()),
                },
                other => match from(other).and_then(pos) {
                    Some(p) if present[p] => r.values[p].clone(),
                    _ => Value::Null,
                },
            };
            if !matches!(v, Value::Null) || rc == "state" || rc == "release_type" {
                rel_present[i] = true;
            }
            values.push(v);
        }
        records.push(Record {
            line: r.line,
            values,
            cis: Vec::new(),
            version: Vec::new(),
            release: false,
        });
    }
    let (counts, _) = merge(conn, "releases", &rel_names, &rel_present, &records, batch_id)?;
    Ok(counts.inserted + counts.updated)
}
