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
//! The tables are filled outside any transaction, one statement at a time
//! (temporary tables belong to the connection: nothing reaches the warehouse).
//!
//! A first import of its sources needs no stage at all: every record is an
//! insert. When the table (and, for changes, `change_cis`) holds none of the
//! sources of the first batch, and the caller allows it (`InTable`), the spill
//! opens the file's transaction and inserts each batch straight into the
//! table, stamped with the file's batch id, and its CI rows into
//! `change_cis`; the load then records the batch and commits. The records
//! are written once instead of twice (into the stage, then from it), and no
//! stage grows in DuckDB's temporary files. It stops being direct, rolls back
//! and asks for the file to be mapped again into a stage (`Finish::Again`)
//! when a later batch names a source the first did not, or when the keys
//! repeat (the versions must be folded first). An error, or a spill dropped
//! before its load, rolls the transaction back: the warehouse is as it was.
//! From its first batch to the end of the file, a direct spill is one
//! statement (`Spill::stream`) that DuckDB runs on two threads, while a
//! thread beside it takes the mapped chunks, checks their sources and sends
//! their records on. One statement per batch ran on one thread only (without
//! a batch index, which a C-API table function cannot give, DuckDB keeps the
//! insertion order by inserting on one thread), and that thread, compressing
//! every row group, was the one the import waited on: 10M changes took 50.6 s
//! (48.5 s mapping), streamed 31.0 s, in the same hour. Unordered inserts
//! per batch would not do: each statement left part-filled row groups of its
//! own (127 for 10M changes, against 82), the file grew by half, and closing
//! the warehouse took 11 s more to rewrite them; one statement leaves one
//! part-filled group per thread. The rows are stored in no set order
//! (vectors of the file interleaved by the two threads).

use std::collections::{BTreeSet, HashMap};

use anyhow::{Context, Result};
use duckdb::Connection;
use duckdb::types::{TimeUnit, Value};

use super::load::{
    CI_COLUMNS, ci_rows, create_stage, holds_any, insert_cis, insert_records, link_releases, present_columns, qi,
    text_columns,
};
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
    /// The columns the file provides, as a direct spill inserts them
    /// (quoted, comma-separated; the others are left to the table).
    list: String,
    at: usize,
    created: bool,
    /// Whether the spill may insert straight into the table (see the module note).
    may_go_in: bool,
    /// Inserting straight into the table, in the transaction it opened.
    in_table: Option<Direct>,
    /// It stopped being direct: the file must be mapped again.
    again: bool,
    /// The tables outlive the spill (handed to the load).
    keep: bool,
    /// Records spilled.
    pub(super) rows: u64,
    /// The sources the records name.
    pub(super) sources: BTreeSet<String>,
    /// Records that are also releases (kept: they are few, and staged as
    /// release rows by the load).
    pub(super) releases: Vec<Record>,
    /// The first batch of a direct spill, until `stream` sends it.
    first: Option<Vec<Record>>,
}

/// What a file left in DuckDB (see `Spill`): its records, its CI rows for
/// changes, the sources they name and the records that are also releases.
#[derive(Debug)]
pub struct Spilled {
    pub table: String,
    pub rows: u64,
    pub sources: BTreeSet<String>,
    pub releases: Vec<Record>,
    /// The records are in the table already, in the transaction left open
    /// for the load to finish.
    pub in_table: Option<InTable>,
}

/// A spill that went straight into the table (see the module note).
#[derive(Debug, Clone, Copy)]
pub struct InTable {
    /// The batch its rows carry.
    pub batch_id: i64,
    /// Its CI rows went into `change_cis` too (else they are in `{table}_cis`).
    pub cis: bool,
}

/// The open transaction of a direct spill, and the sources it checked.
struct Direct {
    to: InTable,
    sources: BTreeSet<String>,
}

/// What `Spill::take` did with the records.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Taken {
    /// Held, spilled or dropped (mapped again later): go on mapping.
    Done,
    /// A direct spill began: hand it the rest of the file (`Spill::stream`).
    Stream,
}

/// How a file's mapping ended (`Spill::finish`).
pub(super) enum Finish {
    /// Nothing is spilled: the records are held in memory.
    Held,
    Spilled(Spilled),
    /// A direct spill rolled back: map the file again, not direct.
    Again,
}

/// A new import batch id.
pub(super) fn next_batch(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("select nextval('import_batch_seq')", [], |r| r.get(0))?)
}

/// Roll back a direct spill's transaction, and the insertion order a
/// stream's failed statement may have left off (`feed::stream` turns it back
/// on after the statement, which an aborted transaction refuses).
pub(super) fn roll_back(conn: &Connection) {
    let _ = conn.execute_batch("rollback");
    let _ = conn.execute_batch("reset preserve_insertion_order");
}

impl Spilled {
    pub(super) fn cis_table(&self) -> String {
        format!("{}_cis", self.table)
    }
}

impl<'c> Spill<'c> {
    /// `present`: the columns the file provides; `may_go_in`: whether the
    /// records may go straight into the table (in a transaction the load
    /// must finish: see the module note).
    pub(super) fn new(
        conn: &'c Connection,
        canonical: &str,
        columns: &[Column],
        present: &[bool],
        may_go_in: bool,
    ) -> Spill<'c> {
        static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        Spill {
            conn,
            table: format!("spill_{n}"),
            canonical: canonical.to_owned(),
            columns: columns.to_vec(),
            list: present_columns(&names, present)
                .iter()
                .map(|n| qi(n))
                .collect::<Vec<_>>()
                .join(", "),
            names,
            at: spill_at(),
            created: false,
            may_go_in,
            in_table: None,
            again: false,
            keep: false,
            rows: 0,
            sources: BTreeSet::new(),
            releases: Vec::new(),
            first: None,
        }
    }

    /// Spill `records` if they are many (or if the file spills already and
    /// `all`); they are left empty when spilled.
    pub(super) fn take(&mut self, records: &mut Vec<Record>, all: bool) -> Result<Taken> {
        if records.is_empty() || (records.len() < self.at && !(all && self.created)) {
            return Ok(Taken::Done);
        }
        let mut batch = std::mem::take(records);
        if self.again {
            // Rolled back: the file is mapped again.
            return Ok(Taken::Done);
        }
        let first = !self.created;
        let grew = add_sources(&self.names, &batch, &mut self.sources)?;
        if !self.created {
            self.create()?;
        }
        if let Some(d) = &self.in_table
            && grew
            && !self.sources.is_subset(&d.sources)
        {
            self.another_source();
            return Ok(Taken::Done);
        }
        if first && self.in_table.is_some() && !all {
            // The rest of the file streams in (`stream`), this batch first.
            self.first = Some(batch);
            return Ok(Taken::Stream);
        }
        keep_releases(&self.names, &mut batch, &mut self.releases);
        if self.canonical == "changes" {
            self.put_cis(ci_rows(&self.names, &batch)?)?;
        }
        if let Some(d) = &self.in_table {
            self.rows += batch.len() as u64;
            insert_records(
                self.conn,
                &self.canonical,
                &self.list,
                &self.columns,
                batch,
                d.to.batch_id,
            )?;
            return Ok(Taken::Done);
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
        super::feed::insert(self.conn, &format!("temp.main.{}", self.table), &self.columns, batch)?;
        Ok(Taken::Done)
    }

    /// CI rows into `change_cis` (a direct spill that may) or the spill's own table.
    fn put_cis(&self, cis: Vec<Record>) -> Result<()> {
        if cis.is_empty() {
            return Ok(());
        }
        if self.in_table.as_ref().is_some_and(|d| d.to.cis) {
            insert_cis(self.conn, cis)
        } else {
            let columns = text_columns(&CI_COLUMNS);
            super::feed::insert(self.conn, &format!("temp.main.{}_cis", self.table), &columns, cis)
        }
    }

    /// A direct spill's records, from its first batch to the end of the file,
    /// in one statement that DuckDB runs on two threads (`feed::stream`):
    /// one statement per batch runs on one (a C-API table function gives
    /// DuckDB no batch index, and without one it keeps the rows' order only
    /// by inserting on one thread), and a parallel insert per batch would
    /// leave part-filled row groups behind every statement. A thread takes
    /// the mapped chunks meanwhile (`Feeder`), checks their sources as `take`
    /// does, and sends their records on; a change's CI rows wait in a file
    /// (the connection is busy with the statement) and follow in batches.
    /// The table's rows are then in no set order (nothing reads them in file
    /// order: the change facts are sorted when `changes` is not close to
    /// actual_end order, `changes_clustered.sql`).
    pub(super) fn stream(&mut self, out: &mut super::Mapped, chunks: super::map::MappedChunks) -> Result<()> {
        let (Some(first), Some(d)) = (self.first.take(), &self.in_table) else {
            anyhow::bail!("{}: a stream without a direct spill", self.canonical);
        };
        let batch_id = d.to.batch_id;
        let mut feeder = Feeder {
            names: &self.names,
            allowed: &d.sources,
            cis: (self.canonical == "changes").then(CiFile::create).transpose()?,
            sources: std::mem::take(&mut self.sources),
            releases: Vec::new(),
            rows: 0,
            again: false,
            error: None,
        };
        let (tx, batches) = std::sync::mpsc::sync_channel::<Vec<Record>>(2);
        let inserted = std::thread::scope(|s| {
            let feeding = s.spawn(|| feeder.feed(first, out, chunks, tx));
            let inserted = super::feed::stream(
                self.conn,
                &format!("main.{} ({}, batch_id)", qi(&self.canonical), self.list),
                &format!("{}, {batch_id}", self.list),
                &self.columns,
                batches,
            );
            if feeding.join().is_err() {
                anyhow::bail!("{}: the thread feeding the insert panicked", self.canonical);
            }
            inserted
        });
        let Feeder {
            cis,
            sources,
            releases,
            rows,
            again,
            error,
            ..
        } = feeder;
        if let Some(e) = error {
            return Err(e);
        }
        inserted?;
        self.sources = sources;
        if again {
            self.another_source();
            return Ok(());
        }
        self.rows += rows;
        self.releases.extend(releases);
        if let Some(mut file) = cis {
            while let Some(batch) = file.read(self.at)? {
                self.put_cis(batch)?;
            }
        }
        Ok(())
    }

    /// The spill's tables, before the first batch (whose sources are
    /// `self.sources`); or, if it may, the transaction of a direct spill and
    /// the tables it still needs. (Declared with column lists: they may be
    /// filled inside that transaction; see `load.rs`.)
    fn create(&mut self) -> Result<()> {
        let sources = || self.sources.iter().map(String::as_str);
        if self.may_go_in && !holds_any(self.conn, &self.canonical, sources())? {
            let cis = self.canonical == "changes" && !holds_any(self.conn, "change_cis", sources())?;
            self.conn.execute_batch("begin transaction")?;
            self.in_table = Some(Direct {
                to: InTable { batch_id: 0, cis },
                sources: self.sources.clone(),
            });
        }
        self.created = true;
        let t = &self.table;
        let res = (|| -> Result<()> {
            if let Some(d) = &mut self.in_table {
                d.to.batch_id = next_batch(self.conn)?;
                crate::ui::verbose(
                    2,
                    format!(
                        "{}: a first import of its sources: records straight into the table{}",
                        self.canonical,
                        if d.to.cis { ", CI rows into change_cis" } else { "" }
                    ),
                );
            } else {
                create_stage(self.conn, t, &self.canonical)?;
                self.conn.execute_batch(&format!(
                    "create or replace temp table {t}_ver (version varchar, _line bigint)"
                ))?;
            }
            if self.canonical == "changes" && !self.in_table.as_ref().is_some_and(|d| d.to.cis) {
                self.conn.execute_batch(&format!(
                    "create or replace temp table {t}_cis (source varchar, change_id varchar, ci varchar, _line bigint)"
                ))?;
            }
            Ok(())
        })();
        if res.is_err() {
            self.end_direct();
        }
        res
    }

    /// Roll back a direct spill's transaction, if one is open.
    fn end_direct(&mut self) {
        if self.in_table.take().is_some() {
            roll_back(self.conn);
        }
    }

    /// A direct spill's batch named a source its first did not: stop it.
    fn another_source(&mut self) {
        crate::ui::verbose(
            1,
            format!(
                "{}: a source the first rows did not name; mapping the file again",
                self.canonical
            ),
        );
        self.give_up();
    }

    /// Stop a direct spill: roll back, and have the file mapped again.
    fn give_up(&mut self) {
        self.end_direct();
        self.again = true;
    }

    /// Start again (the file is mapped once more).
    pub(super) fn reset(&mut self) {
        self.end_direct();
        self.drop_tables();
        self.created = false;
        self.again = false;
        self.rows = 0;
        self.sources.clear();
        self.releases.clear();
        self.first = None;
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
    pub(super) fn finish(self, rest: &mut Vec<Record>) -> Result<Finish> {
        if !self.created {
            return Ok(Finish::Held);
        }
        let mut this = self;
        this.take(rest, true)?;
        if this.again {
            return Ok(Finish::Again);
        }
        let key = qi(key_column(&this.canonical));
        let within = match &this.in_table {
            Some(d) => format!("main.{} where batch_id = {}", qi(&this.canonical), d.to.batch_id),
            None => format!("temp.{}", this.table),
        };
        let (stored, repeats): (i64, i64) = this.conn.query_row(
            // The key column counted, not the rows: a defect that hid
            // stored rows from scans would show here (`attribution_build.sql`).
            &format!("select count({key}), count({key}) - count(distinct {key}) from {within}"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if stored as u64 != this.rows {
            anyhow::bail!(
                "{}: {} records were inserted but {stored} are stored; nothing was imported",
                this.canonical,
                this.rows
            );
        }
        if repeats == 0 {
            this.keep = true;
            return Ok(Finish::Spilled(Spilled {
                table: this.table.clone(),
                rows: this.rows,
                sources: std::mem::take(&mut this.sources),
                releases: std::mem::take(&mut this.releases),
                in_table: this.in_table.take().map(|d| d.to),
            }));
        }
        if this.in_table.is_some() {
            crate::ui::verbose(
                1,
                format!("{}: keys repeat; mapping the file again to fold them", this.canonical),
            );
            this.give_up();
            return Ok(Finish::Again);
        }
        *rest = this.read_back()?;
        Ok(Finish::Held)
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

/// Add the sources `batch` names to `sources`; whether it named a new one.
fn add_sources(names: &[String], batch: &[Record], sources: &mut BTreeSet<String>) -> Result<bool> {
    let src = names.iter().position(|n| n == "source").context("source")?;
    let before = sources.len();
    for r in batch {
        if let Cell::Text(s) = &r.values[src]
            && !sources.contains(&**s)
        {
            sources.insert(s.to_string());
        }
    }
    Ok(sources.len() > before)
}

/// A record that is also a release links to itself, as `load` links the
/// records held in memory; such records are kept in `releases` too.
fn keep_releases(names: &[String], batch: &mut [Record], releases: &mut Vec<Record>) {
    if link_releases(names, batch).is_some() {
        releases.extend(batch.iter().filter(|r| r.release).cloned());
    }
}

/// The thread beside a stream's statement (`Spill::stream`): it takes the
/// mapped chunks, checks their sources, keeps the releases and the CI rows
/// aside, and sends the records to the statement.
struct Feeder<'a> {
    names: &'a [String],
    /// The sources the first batch named (the stream stops at another one).
    allowed: &'a BTreeSet<String>,
    cis: Option<CiFile>,
    sources: BTreeSet<String>,
    releases: Vec<Record>,
    /// Records sent.
    rows: u64,
    /// A source the first batch did not name: the file is mapped again.
    again: bool,
    error: Option<anyhow::Error>,
}

impl Feeder<'_> {
    /// Send `first`, then the records of every chunk, until the chunks end,
    /// something fails or the statement stops taking them (it failed).
    /// Dropping `to` ends the statement's input.
    fn feed(
        &mut self,
        first: Vec<Record>,
        out: &mut super::Mapped,
        chunks: super::map::MappedChunks,
        to: std::sync::mpsc::SyncSender<Vec<Record>>,
    ) {
        let mut batch = first;
        loop {
            match self.check(&mut batch) {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            }
            self.rows += batch.len() as u64;
            if to.send(batch).is_err() {
                return;
            }
            match chunks.recv() {
                Ok(Ok(mapped)) => {
                    out.absorb(mapped);
                    batch = std::mem::take(&mut out.records);
                }
                Ok(Err(e)) => {
                    self.error = Some(e);
                    return;
                }
                Err(_) => return,
            }
        }
    }

    /// `Spill::take`'s work on a batch, less the inserts: false when the
    /// stream must stop (a source the first batch did not name).
    fn check(&mut self, batch: &mut [Record]) -> Result<bool> {
        if add_sources(self.names, batch, &mut self.sources)? && !self.sources.is_subset(self.allowed) {
            self.again = true;
            return Ok(false);
        }
        keep_releases(self.names, batch, &mut self.releases);
        if let Some(file) = &mut self.cis {
            file.write(&ci_rows(self.names, batch)?)?;
        }
        Ok(true)
    }
}

/// A stream's CI rows (`ci_rows`: source, change_id, ci), kept in a file of
/// the system's temporary directory until the statement is done, then read
/// back in batches. The file is removed from its directory as soon as it is
/// open (where the system allows it), so a killed import leaves none behind;
/// else when dropped.
struct CiFile {
    path: std::path::PathBuf,
    /// Removed from its directory already (only the open file holds it).
    unlinked: bool,
    writer: Option<std::io::BufWriter<std::fs::File>>,
    reader: Option<std::io::BufReader<std::fs::File>>,
}

impl CiFile {
    fn create() -> Result<CiFile> {
        static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("relkpi-cis-{}-{n}.bin", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        let unlinked = std::fs::remove_file(&path).is_ok();
        Ok(CiFile {
            path,
            unlinked,
            writer: Some(std::io::BufWriter::with_capacity(1 << 20, file)),
            reader: None,
        })
    }

    /// Each row: its line (8 bytes), then its three values, each as a 4-byte
    /// length and its bytes.
    fn write(&mut self, rows: &[Record]) -> Result<()> {
        use std::io::Write;
        let w = self.writer.as_mut().context("the CI file is being read")?;
        let mut put = || -> std::io::Result<()> {
            for r in rows {
                w.write_all(&r.line.to_le_bytes())?;
                for v in &r.values {
                    let s: &str = match v {
                        Cell::Text(s) => s,
                        _ => "",
                    };
                    w.write_all(&(s.len() as u32).to_le_bytes())?;
                    w.write_all(s.as_bytes())?;
                }
            }
            Ok(())
        };
        put().with_context(|| format!("writing {}", self.path.display()))
    }

    /// Up to `n` rows, in the order written; None at the end.
    fn read(&mut self, n: usize) -> Result<Option<Vec<Record>>> {
        use std::io::{Read, Seek, Write};
        if let Some(mut w) = self.writer.take() {
            w.flush().with_context(|| format!("writing {}", self.path.display()))?;
            let mut file = w.into_inner().map_err(|e| e.into_error())?;
            file.rewind()?;
            self.reader = Some(std::io::BufReader::with_capacity(1 << 20, file));
        }
        let r = self.reader.as_mut().context("the CI file is not open")?;
        let path = &self.path;
        let mut rows = Vec::new();
        let mut word = [0u8; 8];
        while rows.len() < n {
            match r.read_exact(&mut word) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            }
            let line = u64::from_le_bytes(word);
            let mut values = Vec::with_capacity(CI_COLUMNS.len());
            for _ in 0..CI_COLUMNS.len() {
                r.read_exact(&mut word[..4])
                    .with_context(|| format!("reading {}", path.display()))?;
                let mut bytes = vec![0u8; u32::from_le_bytes([word[0], word[1], word[2], word[3]]) as usize];
                r.read_exact(&mut bytes)
                    .with_context(|| format!("reading {}", path.display()))?;
                let text = String::from_utf8(bytes).with_context(|| format!("reading {}", path.display()))?;
                values.push(Cell::Text(text.into()));
            }
            rows.push(Record {
                line,
                values,
                cis: Vec::new(),
                version: Vec::new(),
                release: false,
            });
        }
        Ok((!rows.is_empty()).then_some(rows))
    }
}

impl Drop for CiFile {
    fn drop(&mut self) {
        self.writer = None;
        self.reader = None;
        if !self.unlinked {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Drop for Spill<'_> {
    fn drop(&mut self) {
        self.end_direct();
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

    /// The records as `map_rows` hands them over: one at a time until a
    /// direct spill begins, then the rest in chunks of 100 from another
    /// thread, streamed (`Spill::stream`); what is left held.
    fn map_into(spill: &mut Spill, records: Vec<Record>) -> Vec<Record> {
        let mut held = Vec::new();
        let mut rest = records.into_iter();
        while let Some(r) = rest.next() {
            held.push(r);
            if spill.take(&mut held, false).unwrap() == Taken::Stream {
                let rest: Vec<Record> = rest.collect();
                let mut out = crate::import::map::Mapped {
                    records: Vec::new(),
                    rejects: Vec::new(),
                    skipped: 0,
                    unmapped: HashMap::new(),
                    rows_read: 0,
                };
                let (tx, chunks) = std::sync::mpsc::sync_channel(1);
                std::thread::scope(|s| {
                    s.spawn(move || {
                        let mut rest = rest.into_iter().peekable();
                        while rest.peek().is_some() {
                            let chunk: Vec<_> = rest
                                .by_ref()
                                .take(100)
                                .map(|r| (crate::import::map::Outcome::Record(r), Vec::new()))
                                .collect();
                            if tx.send(Ok(chunk)).is_err() {
                                break;
                            }
                        }
                    });
                    spill.stream(&mut out, chunks).unwrap();
                });
                return out.records;
            }
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
        let mut spill = Spill::new(&wh.conn, "changes", &columns, &vec![true; columns.len()], false);
        spill.at = 100_000;
        let mut batch = map_into(&mut spill, changes(&columns, n, n));
        let Finish::Spilled(s) = spill.finish(&mut batch).unwrap() else {
            panic!("distinct keys stay spilled")
        };
        assert!(s.in_table.is_none());
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
        let mut spill = Spill::new(&wh.conn, "changes", &columns, &vec![true; columns.len()], false);
        spill.at = 64;
        let mut batch = map_into(&mut spill, original.clone());
        let table = spill.table.clone();
        assert!(matches!(spill.finish(&mut batch).unwrap(), Finish::Held));
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

    /// A direct spill (`may_go_in`) of `records` into the changes of `wh`,
    /// `at` records at a time; how it finished.
    fn go_in(wh: &Warehouse, columns: &[Column], records: Vec<Record>, at: usize) -> Finish {
        let mut spill = Spill::new(&wh.conn, "changes", columns, &vec![true; columns.len()], true);
        spill.at = at;
        let mut held = map_into(&mut spill, records);
        spill.finish(&mut held).unwrap()
    }

    /// No transaction is open on `conn` (duckdb-rs's `is_autocommit` always
    /// says so): DuckDB begins one. (Inside one, the refusal aborts it.)
    fn closed(conn: &Connection) -> bool {
        let began = conn.execute_batch("begin transaction").is_ok();
        if began {
            conn.execute_batch("rollback").unwrap();
        }
        began
    }

    fn count(wh: &Warehouse, sql: &str) -> i64 {
        wh.conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// A first import's records go straight into the table, past several row
    /// groups, in a transaction left open for the load: a rollback leaves
    /// nothing, and no stage is left in DuckDB.
    #[test]
    fn first_import_goes_into_the_table_in_an_open_transaction() {
        let (wh, columns) = scratch();
        let n = 250_000;
        let Finish::Spilled(s) = go_in(&wh, &columns, changes(&columns, n, n), 100_000) else {
            panic!("distinct keys stay spilled")
        };
        let to = s.in_table.expect("straight into the table");
        assert!(to.cis, "change_cis held nothing of the source");
        // Uncommitted: another connection sees none of it.
        let other = wh.conn.try_clone().unwrap();
        let seen = |c: &Connection| -> i64 { c.query_row("select count(*) from changes", [], |r| r.get(0)).unwrap() };
        assert_eq!(
            (seen(&wh.conn), seen(&other)),
            (n as i64, 0),
            "the transaction is left open"
        );
        assert_eq!(s.rows, n as u64);
        assert_eq!(s.releases.len(), n.div_ceil(7));
        let b = to.batch_id;
        // Every row seen by scans (see `spilled_past_row_groups_scans_whole`).
        assert_eq!(
            count(
                &wh,
                &format!("select count(*) from (select * from changes where batch_id = {b} limit 1000000)")
            ),
            n as i64
        );
        assert_eq!(
            count(
                &wh,
                "select sum(epoch(actual_end))::bigint - 1700000000::bigint * 250000 from changes"
            ),
            (n as i64 - 1) * n as i64 / 2
        );
        assert_eq!(
            count(&wh, "select count(*) from changes where release_id = change_id"),
            n.div_ceil(7) as i64
        );
        assert_eq!(
            count(&wh, "select count(*) from change_cis"),
            n as i64 + n.div_ceil(10) as i64
        );
        assert_eq!(
            count(&wh, "select count(*) from duckdb_tables() where temporary"),
            0,
            "no stage"
        );
        roll_back(&wh.conn);
        assert!(closed(&wh.conn));
        assert_eq!(count(&wh, "select count(*) from changes"), 0);
        assert_eq!(count(&wh, "select count(*) from change_cis"), 0);
    }

    /// A direct spill that cannot stay direct rolls back and asks for the
    /// file again: keys that repeat (to fold), a source the first batch did
    /// not name (the table may hold it), a spill dropped before its load.
    /// Each leaves the warehouse as it was, outside any transaction.
    #[test]
    fn direct_spill_rolls_back_when_it_cannot_stay_direct() {
        let (wh, columns) = scratch();
        let unchanged = |wh: &Warehouse| {
            assert!(closed(&wh.conn));
            assert_eq!(count(wh, "select count(*) from changes"), 0);
            assert_eq!(count(wh, "select count(*) from change_cis"), 0);
        };
        assert!(matches!(
            go_in(&wh, &columns, changes(&columns, 1000, 400), 64),
            Finish::Again
        ));
        unchanged(&wh);
        let src = columns.iter().position(|c| c.name == "source").unwrap();
        let mut two = changes(&columns, 1000, 1000);
        for r in &mut two[500..] {
            r.values[src] = Cell::Text("t".into());
        }
        assert!(matches!(go_in(&wh, &columns, two, 64), Finish::Again));
        unchanged(&wh);
        {
            let mut spill = Spill::new(&wh.conn, "changes", &columns, &vec![true; columns.len()], true);
            spill.at = 64;
            map_into(&mut spill, changes(&columns, 1000, 1000));
            assert_eq!(count(&wh, "select count(*) from changes"), 1000, "streamed whole");
        }
        unchanged(&wh);
    }

    /// A table that holds the source already: a stage, as before.
    #[test]
    fn direct_spill_only_for_a_first_import() {
        let (wh, columns) = scratch();
        wh.conn
            .execute_batch("insert into changes (source, change_id) values ('s', 'old')")
            .unwrap();
        let Finish::Spilled(s) = go_in(&wh, &columns, changes(&columns, 1000, 1000), 64) else {
            panic!("distinct keys stay spilled")
        };
        assert!(s.in_table.is_none());
        assert!(closed(&wh.conn));
        assert_eq!(count(&wh, &format!("select count(*) from temp.{}", s.table)), 1000);
        assert_eq!(count(&wh, "select count(*) from changes"), 1);
    }
}
