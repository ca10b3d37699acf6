//! A large file's records go to DuckDB as they are mapped, so the import's
//! memory does not grow with the file.
//!
//! Mapping holds a file's records until they are folded and loaded. Past
//! `SPILL_AT` records, `Spill` moves them, a batch at a time, into a temporary
//! table shaped as `load`'s stage (the table's columns less `batch_id`, then
//! `_line`), and a change's CIs into one shaped as `stage_cis`; DuckDB keeps
//! them within its memory limit and writes the rest to its temporary
//! directory. The load then merges straight from those tables.
//!
//! Folding needs every version of a record side by side. When the spilled
//! keys are all distinct (as in a table export) there is nothing to fold;
//! when they repeat (an audit log), the records are read back whole (values,
//! CIs, release flag, version counters) and folded in memory, as a file
//! below the threshold is.
//!
//! The tables are filled outside any transaction, one statement at a time:
//! see `load.rs` on the DuckDB defect that forbids filling, in the
//! transaction that created it, a table created empty.

use std::collections::{BTreeSet, HashMap};

use anyhow::{Context, Result};
use duckdb::Connection;
use duckdb::types::{TimeUnit, Value};

use super::load::{CI_COLUMNS, ci_rows, link_releases, text_columns};
use super::{Cell, ColType, Column, Record, key_column};

/// Records held before a file starts to spill, and spilled at a time.
/// `RELKPI_SPILL_ROWS` sets it (the tests make small files spill with it).
pub(super) fn spill_at() -> usize {
    std::env::var("RELKPI_SPILL_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1 << 17)
}

/// The records of one file (one kind) spilled so far.
pub(super) struct Spill<'c> {
    conn: &'c Connection,
    /// `temp.{table}` and, for changes, `temp.{table}_cis`.
    pub(super) table: String,
    canonical: String,
    columns: Vec<Column>,
    names: Vec<String>,
    at: usize,
    created: bool,
    /// The tables outlive the spill (handed to the load).
    keep: bool,
    /// Records spilled.
    pub(super) rows: u64,
    /// The sources the records name.
    pub(super) sources: BTreeSet<String>,
    /// Records that are also releases (kept: they are few, and staged as
    /// release rows by the load).
    pub(super) releases: Vec<Record>,
}

/// What a file left in DuckDB (see `Spill`): its records, its CI rows for
/// changes, the sources they name and the records that are also releases.
#[derive(Debug)]
pub struct Spilled {
    pub table: String,
    pub rows: u64,
    pub sources: BTreeSet<String>,
    pub releases: Vec<Record>,
}

impl Spilled {
    pub(super) fn cis_table(&self) -> String {
        format!("{}_cis", self.table)
    }
}

impl<'c> Spill<'c> {
    pub(super) fn new(conn: &'c Connection, canonical: &str, columns: &[Column]) -> Spill<'c> {
        static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Spill {
            conn,
            table: format!("spill_{n}"),
            canonical: canonical.to_owned(),
            columns: columns.to_vec(),
            names: columns.iter().map(|c| c.name.clone()).collect(),
            at: spill_at(),
            created: false,
            keep: false,
            rows: 0,
            sources: BTreeSet::new(),
            releases: Vec::new(),
        }
    }

    /// Spill `records` if they are many (or if the file spills already and
    /// `all`); they are left empty when spilled.
    pub(super) fn take(&mut self, records: &mut Vec<Record>, all: bool) -> Result<()> {
        if records.is_empty() || (records.len() < self.at && !(all && self.created)) {
            return Ok(());
        }
        if !self.created {
            self.create()?;
        }
        let mut batch = std::mem::take(records);
        // A record that is also a release links to itself, as `load` links
        // the records held in memory.
        if link_releases(&self.names, &mut batch).is_some() {
            self.releases.extend(batch.iter().filter(|r| r.release).cloned());
        }
        let src = self.names.iter().position(|n| n == "source").context("source")?;
        for r in &batch {
            if let Cell::Text(s) = &r.values[src]
                && !self.sources.contains(&**s)
            {
                self.sources.insert(s.to_string());
            }
        }
        if self.canonical == "changes" {
            let cis = ci_rows(&self.names, &batch)?;
            super::feed::insert(
                self.conn,
                &format!("temp.main.{}_cis", self.table),
                &text_columns(&CI_COLUMNS),
                cis,
            )?;
        }
        // Version counters break ties when versions of a record are folded.
        let versions: Vec<Record> = batch
            .iter()
            .filter(|r| !r.version.is_empty())
            .map(|r| Record {
                line: r.line,
                values: vec![Cell::Text(
                    r.version
                        .iter()
                        .map(f64::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                        .into(),
                )],
                cis: Vec::new(),
                version: Vec::new(),
                release: false,
            })
            .collect();
        if !versions.is_empty() {
            super::feed::insert(
                self.conn,
                &format!("temp.main.{}_ver", self.table),
                &text_columns(&["version"]),
                versions,
            )?;
        }
        self.rows += batch.len() as u64;
        super::feed::insert(self.conn, &format!("temp.main.{}", self.table), &self.columns, batch)
    }

    fn create(&mut self) -> Result<()> {
        let t = &self.table;
        self.conn.execute_batch(&format!(
            "create or replace temp table {t} as select * exclude (batch_id), 0::bigint as _line from main.\"{c}\" limit 0",
            c = self.canonical
        ))?;
        if self.canonical == "changes" {
            self.conn.execute_batch(&format!(
                "create or replace temp table {t}_cis (source varchar, change_id varchar, ci varchar, _line bigint)"
            ))?;
        }
        self.conn.execute_batch(&format!(
            "create or replace temp table {t}_ver (version varchar, _line bigint)"
        ))?;
        self.created = true;
        Ok(())
    }

    /// Start again (the file is mapped once more).
    pub(super) fn reset(&mut self) {
        self.drop_tables();
        self.created = false;
        self.rows = 0;
        self.sources.clear();
        self.releases.clear();
    }

    fn drop_tables(&self) {
        let _ = self.conn.execute_batch(&format!(
            "drop table if exists temp.{t}; drop table if exists temp.{t}_cis; drop table if exists temp.{t}_ver;",
            t = self.table
        ));
    }

    /// After mapping: `None` if nothing spilled (the records are in memory);
    /// else the spilled records if their keys are distinct, or, when they
    /// repeat, the records read back (in file order) for folding.
    pub(super) fn finish(self, rest: &mut Vec<Record>) -> Result<Option<Spilled>> {
        if !self.created {
            return Ok(None);
        }
        let mut this = self;
        this.take(rest, true)?;
        let key = key_column(&this.canonical);
        let repeats: i64 = this.conn.query_row(
            &format!("select count(*) - count(distinct \"{key}\") from temp.{}", this.table),
            [],
            |r| r.get(0),
        )?;
        if repeats == 0 {
            this.keep = true;
            return Ok(Some(Spilled {
                table: this.table.clone(),
                rows: this.rows,
                sources: std::mem::take(&mut this.sources),
                releases: std::mem::take(&mut this.releases),
            }));
        }
        *rest = this.read_back()?;
        Ok(None)
    }

    /// The spilled records, in file order, with their CIs and release flags.
    fn read_back(&self) -> Result<Vec<Record>> {
        let mut cis: HashMap<u64, Vec<String>> = HashMap::new();
        if self.canonical == "changes" {
            let mut stmt = self
                .conn
                .prepare(&format!("select _line, ci from temp.{}_cis order by rowid", self.table))?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let line: i64 = r.get(0)?;
                cis.entry(line as u64).or_default().push(r.get(1)?);
            }
        }
        let mut versions: HashMap<u64, Vec<f64>> = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare(&format!("select _line, version from temp.{}_ver", self.table))?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let line: i64 = r.get(0)?;
                let text: String = r.get(1)?;
                let v = text
                    .split(' ')
                    .map(str::parse)
                    .collect::<std::result::Result<Vec<f64>, _>>()
                    .with_context(|| format!("a spilled version {text:?}"))?;
                versions.insert(line as u64, v);
            }
        }
        let release_lines: BTreeSet<u64> = self.releases.iter().map(|r| r.line).collect();
        let list = self
            .names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = self
            .conn
            .prepare(&format!("select {list}, _line from temp.{} order by _line", self.table))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::with_capacity(self.rows as usize);
        while let Some(r) = rows.next()? {
            let mut values = Vec::with_capacity(self.columns.len());
            for (i, c) in self.columns.iter().enumerate() {
                values.push(cell(r.get::<_, Value>(i)?, c.ty)?);
            }
            let line = r.get::<_, i64>(self.columns.len())? as u64;
            out.push(Record {
                line,
                values,
                cis: cis.remove(&line).unwrap_or_default(),
                version: versions.remove(&line).unwrap_or_default(),
                release: release_lines.contains(&line),
            });
        }
        Ok(out)
    }
}

impl Drop for Spill<'_> {
    fn drop(&mut self) {
        if self.created && !self.keep {
            self.drop_tables();
        }
    }
}

/// A spilled value as the mapping made it.
fn cell(v: Value, ty: ColType) -> Result<Cell> {
    Ok(match (v, ty) {
        (Value::Null, _) => Cell::Null,
        (Value::Text(s), ColType::Text) => Cell::Text(s.into()),
        (Value::Int(n), ColType::Int) => Cell::Int(n),
        (Value::Boolean(b), ColType::Bool) => Cell::Boolean(b),
        (Value::Timestamp(unit, t), ColType::Timestamp) => Cell::Timestamp(match unit {
            TimeUnit::Second => t * 1_000_000,
            TimeUnit::Millisecond => t * 1_000,
            TimeUnit::Microsecond => t,
            TimeUnit::Nanosecond => t / 1_000,
        }),
        (v, ty) => anyhow::bail!("a spilled {v:?} in a {ty:?} column"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::Warehouse;
    use crate::warehouse::schema::table_columns;

    /// `n` changes of one source, keys `C0..`, with an end time, a CI each
    /// (two for every tenth), and every seventh also a release.
    fn changes(columns: &[Column], n: usize, keys: usize) -> Vec<Record> {
        let pos = |name: &str| columns.iter().position(|c| c.name == name).unwrap();
        let (src, id, end) = (pos("source"), pos("change_id"), pos("actual_end"));
        (0..n)
            .map(|i| {
                let mut values = vec![Cell::Null; columns.len()];
                values[src] = Cell::Text("s".into());
                values[id] = Cell::Text(format!("C{}", i % keys).into());
                values[end] = Cell::Timestamp(1_700_000_000_000_000 + i as i64 * 1_000_000);
                let mut cis = vec![format!("ci{}", i % 50)];
                if i % 10 == 0 {
                    cis.push("shared".to_owned());
                }
                Record {
                    line: i as u64 + 2,
                    values,
                    cis,
                    version: if i % 3 == 0 { vec![i as f64, 0.5] } else { Vec::new() },
                    release: i % 7 == 0,
                }
            })
            .collect()
    }

    /// An empty warehouse and the columns of its changes (less `batch_id`).
    fn scratch() -> (Warehouse, Vec<Column>) {
        let wh = Warehouse::scratch().unwrap();
        let columns = table_columns(&wh.conn, "changes")
            .unwrap()
            .into_iter()
            .filter(|c| c.name != "batch_id")
            .collect();
        (wh, columns)
    }

    /// The records as mapping hands them over, one at a time; what is left held.
    fn map_into(spill: &mut Spill, records: Vec<Record>) -> Vec<Record> {
        let mut held = Vec::new();
        for r in records {
            held.push(r);
            spill.take(&mut held, false).unwrap();
        }
        held
    }

    /// Spilled past two of DuckDB's row groups (122,880 rows) in several
    /// statements: every row is there and seen by scans (the defect of
    /// `warehouse::tests::ctas_then_insert_defect` would hide them).
    #[test]
    fn spilled_past_row_groups_scans_whole() {
        let (wh, columns) = scratch();
        let n = 250_000;
        let mut spill = Spill::new(&wh.conn, "changes", &columns);
        spill.at = 100_000;
        let mut batch = map_into(&mut spill, changes(&columns, n, n));
        let s = spill.finish(&mut batch).unwrap().expect("distinct keys stay spilled");
        assert!(batch.is_empty());
        assert_eq!(s.rows, n as u64);
        assert_eq!(s.sources.iter().collect::<Vec<_>>(), ["s"]);
        assert_eq!(s.releases.len(), n.div_ceil(7));
        let q = |sql: &str| -> i64 { wh.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        let t = &s.table;
        assert_eq!(
            q(&format!("select count(*) from (select * from temp.{t} limit 1000000)")),
            n as i64
        );
        assert_eq!(
            q(&format!(
                "select sum(epoch(actual_end))::bigint - 1700000000::bigint * {n} from temp.{t}"
            )),
            (n as i64 - 1) * n as i64 / 2
        );
        // Releases link to themselves.
        assert_eq!(
            q(&format!("select count(*) from temp.{t} where release_id = change_id")),
            n.div_ceil(7) as i64
        );
        assert_eq!(
            q(&format!(
                "select count(*) from (select * from temp.{} limit 1000000)",
                s.cis_table()
            )),
            n as i64 + n.div_ceil(10) as i64
        );
    }

    /// Keys that repeat: the records come back whole, in file order.
    #[test]
    fn repeated_keys_are_read_back_whole() {
        let (wh, columns) = scratch();
        let original = changes(&columns, 1000, 400);
        let mut spill = Spill::new(&wh.conn, "changes", &columns);
        spill.at = 64;
        let mut batch = map_into(&mut spill, original.clone());
        let table = spill.table.clone();
        assert!(spill.finish(&mut batch).unwrap().is_none());
        let release = columns.iter().position(|c| c.name == "release_id").unwrap();
        let id = columns.iter().position(|c| c.name == "change_id").unwrap();
        assert_eq!(batch.len(), original.len());
        for (back, mut o) in batch.into_iter().zip(original) {
            if o.release {
                o.values[release] = o.values[id].clone();
            }
            assert_eq!(
                (back.line, &back.values, &back.cis, &back.version, back.release),
                (o.line, &o.values, &o.cis, &o.version, o.release)
            );
        }
        let left: i64 = wh
            .conn
            .query_row(
                "select count(*) from duckdb_tables() where table_name like ?",
                [format!("{table}%")],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0, "the spill tables are dropped");
    }
}
