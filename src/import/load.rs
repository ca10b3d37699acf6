//! Loading prepared records. Records go to temporary stage tables (through the
//! table function of `feed.rs`, as do a change's CIs); then,
//! in one transaction per file, they are classified against the
//! stored versions (insert, update, unchanged, stale), merged by key, and the
//! file's batch, rejects and unmapped values are recorded. Any error rolls the
//! transaction back, leaving the warehouse as it was.
//!
//! The stages are created and filled *before* the transaction opens, each in
//! its own statement's transaction (temporary tables belong to the
//! connection, so staging outside the transaction changes nothing in the
//! warehouse), and they are declared with a column list (`create_stage`): in
//! the bundled DuckDB (2.0.0), a table created empty by `create table ... as
//! ... limit 0` and given more than one row group (122,880 rows) by one insert
//! in the same transaction keeps the empty table's column statistics, so scans
//! skip every row (`warehouse::tests::ctas_then_insert_defect`); a 1M-change
//! import once read every row and stored none. (`tests/import.rs` and
//! `tests/scale.rs` guard it at 130,000 records.)

//! The merge statements are generated from the canonical column names (never
//! from values) so a file that lacks a column keeps the stored values of it.
//!
//! A large file's records are already in DuckDB when the load starts
//! (`spill.rs`): its spill tables become the stages, `stage` and `stage_cis`.
//! A large first import of its sources went further: its records (and CI
//! rows) are in the table already, in the file's transaction, which the
//! mapping opened and the load finishes (`InTable`); its release rows are
//! staged inside that transaction, which the column-list stage allows.
//!
//! A file whose sources the table does not hold yet (a first import: see
//! `fresh`) has only inserts, so it skips the stage and the classification:
//! its records go from the table function straight into the table, in the
//! transaction (the table was created by a migration, so the defect above
//! does not concern it). So do its
//! changes' CI rows, unless `change_cis` already holds rows of those sources
//! (put there by hand), which the stage's replace-by-key then handles.

use anyhow::{Context, Result};
use duckdb::{Connection, params};

use super::{Cell, FileSummary, Prepared, Record, key_column};

pub(super) use crate::warehouse::quote_ident as qi;

struct MergeCounts {
    inserted: u64,
    updated: u64,
    unchanged: u64,
    stale: u64,
}

/// Records staged for one canonical table: the temp table `stage` holds the
/// table's columns (less batch_id) and `_line`.
struct Stage {
    stage: &'static str,
    table: String,
    names: Vec<String>,
    present: Vec<bool>,
    /// A first import of its sources into `table` (see `fresh`): every record
    /// is inserted, with no classification against stored rows.
    direct: Option<Direct>,
}

/// Where a first import's records come from.
enum Direct {
    /// Held in memory: inserted straight from the table function by the
    /// merge (which takes them); `stage` is left empty.
    Records(Vec<super::Column>, Vec<Record>),
    /// Spilled to DuckDB (`spill.rs`), now in `stage`.
    Staged,
    /// Inserted into the table as they were mapped, in the transaction that
    /// is still open (`spill.rs`, `InTable`): this many.
    Inserted(u64),
}

/// Whether `table` holds no row of any source the records name, so every
/// record is an insert: nothing to stage and classify against stored rows.
fn fresh(conn: &Connection, table: &str, names: &[String], records: &[Record]) -> Result<bool> {
    let src = names.iter().position(|n| n == "source").context("source")?;
    Ok(!holds_source(conn, table, records, src)?)
}

/// Whether `table` holds a row of any source the records name (column `src`).
fn holds_source(conn: &Connection, table: &str, records: &[Record], src: usize) -> Result<bool> {
    let sources: std::collections::BTreeSet<&str> = records
        .iter()
        .filter_map(|r| match &r.values[src] {
            Cell::Text(s) => Some(&**s),
            _ => None,
        })
        .collect();
    holds_any(conn, table, sources)
}

/// Whether `table` holds a row of any of `sources`.
pub(super) fn holds_any<'a>(
    conn: &Connection,
    table: &str,
    sources: impl IntoIterator<Item = &'a str>,
) -> Result<bool> {
    let mut stmt = conn.prepare(&format!(
        "select count(*) from (select 1 from main.{t} where source = ? limit 1)",
        t = qi(table)
    ))?;
    for s in sources {
        if stmt.query_row([s], |r| r.get::<_, i64>(0))? > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Create (or replace) temp table `name` with the columns of `main.{table}`
/// (less batch_id), then `_line`. Declared with a column list, not as
/// `create ... as ... limit 0`, so it may be filled in the transaction that
/// creates it (see the module note).
pub(super) fn create_stage(conn: &Connection, name: &str, table: &str) -> Result<()> {
    let list = crate::warehouse::schema::column_types(conn, table)?
        .iter()
        .map(|(n, ty)| format!("{} {ty}", qi(n)))
        .collect::<Vec<_>>()
        .join(", ");
    conn.execute_batch(&format!("create or replace temp table {name} ({list}, _line bigint)"))
        .with_context(|| format!("creating temp table {name}"))
}

/// Put `records` in a fresh temp table `stage` shaped like `table` (whose
/// columns, less batch_id, are `columns`), through the table function of
/// `feed`.
fn stage(
    conn: &Connection,
    stage: &'static str,
    table: &str,
    columns: &[super::Column],
    present: Vec<bool>,
    records: Vec<Record>,
) -> Result<Stage> {
    create_stage(conn, stage, table)?;
    super::feed::insert(conn, &format!("temp.main.{stage}"), columns, records)?;
    Ok(Stage {
        stage,
        table: table.to_owned(),
        names: columns.iter().map(|c| c.name.clone()).collect(),
        present,
        direct: None,
    })
}

/// Statements that replace the rows of `main.{table}` whose keys temp table
/// `rows` holds by `rows`' rows (whole rows, in the table's column order),
/// then drop `rows`. An update is always written this way, never as an
/// `UPDATE`: in DuckDB 2.0.0 an UPDATE of 4,460 rows of a 10M-row table made
/// the next checkpoint take 3.6 s; deleting and appending them, 0.01 s
/// (docs/benchmarks.md).
fn replace_rows(table: &str, key: &str, rows: &str) -> String {
    format!(
        "delete from main.{t} where (source, {k}) in (select source, {k} from temp.{rows});
         insert into main.{t} select * from temp.{rows};
         drop table temp.{rows};",
        t = qi(table),
        k = qi(key)
    )
}

/// The columns of `names` that `present` marks.
pub(super) fn present_columns<'a>(names: &'a [String], present: &[bool]) -> Vec<&'a String> {
    names.iter().zip(present).filter(|(_, p)| **p).map(|(n, _)| n).collect()
}

/// Insert `records` (their columns: `columns`) straight into `main.{table}`:
/// the columns `list` names (quoted, comma-separated), and `batch_id`.
pub(super) fn insert_records(
    conn: &Connection,
    table: &str,
    list: &str,
    columns: &[super::Column],
    records: Vec<Record>,
    batch_id: i64,
) -> Result<()> {
    super::feed::insert_select(
        conn,
        &format!("main.{t} ({list}, batch_id)", t = qi(table)),
        &format!("{list}, {batch_id}"),
        columns,
        records,
    )
}

/// CI rows (`ci_rows`) straight into `change_cis`.
pub(super) fn insert_cis(conn: &Connection, rows: Vec<Record>) -> Result<()> {
    let list = CI_COLUMNS.join(", ");
    super::feed::insert_select(
        conn,
        &format!("main.change_cis ({list})"),
        &list,
        &text_columns(&CI_COLUMNS),
        rows,
    )
}

/// Merge a stage into its table; the classification is left in `{stage}_class`
/// (`_line`, `source`, `key`, `class`).
fn merge(conn: &Connection, st: &mut Stage, batch_id: i64) -> Result<MergeCounts> {
    let (stage, table) = (st.stage, st.table.as_str());
    let key = key_column(table);
    let cols = present_columns(&st.names, &st.present);
    let list = cols.iter().map(|c| qi(c)).collect::<Vec<_>>().join(", ");
    if let Some(direct) = &mut st.direct {
        let inserted = match direct {
            Direct::Records(columns, records) => {
                let records = std::mem::take(records);
                let inserted = records.len() as u64;
                insert_records(conn, table, &list, columns, records, batch_id)?;
                inserted
            }
            Direct::Inserted(n) => *n,
            Direct::Staged => conn.execute(
                &format!(
                    "insert into main.{t} ({list}, batch_id) select {list}, {batch_id} from temp.{stage}",
                    t = qi(table)
                ),
                [],
            )? as u64,
        };
        return Ok(MergeCounts {
            inserted,
            updated: 0,
            unchanged: 0,
            stale: 0,
        });
    }
    let same = cols
        .iter()
        .map(|c| format!("s.{c} is not distinct from t.{c}", c = qi(c)))
        .collect::<Vec<_>>()
        .join(" and ");
    let has_updated = cols.iter().any(|n| n.as_str() == "updated_at");
    let stale = if has_updated {
        "s.updated_at < t.updated_at"
    } else {
        "false"
    };
    conn.execute_batch(&format!(
        "create or replace temp table {stage}_class as
         select s._line, s.source, s.{k} as key,
                case when t.{k} is null then 'insert'
                     when {stale} then 'stale'
                     when {same} then 'unchanged'
                     else 'update' end as class
         from temp.{stage} s left join main.{t} t on t.source = s.source and t.{k} = s.{k}",
        k = qi(key),
        t = qi(table),
    ))?;
    // An update is a delete and an insert of the whole new row
    // (`replace_rows`): the file's columns from the stage, the others as stored.
    let replaced = cols
        .iter()
        .filter(|c| c.as_str() != "source" && c.as_str() != key)
        .map(|c| format!("s.{c} as {c}", c = qi(c)))
        .chain(std::iter::once(format!("{batch_id} as batch_id")))
        .collect::<Vec<_>>()
        .join(", ");
    conn.execute_batch(&format!(
        "create or replace temp table {stage}_updated as
         select tgt.* replace ({replaced})
         from temp.{stage} s join temp.{stage}_class k on k._line = s._line
         join main.{t} tgt on tgt.source = s.source and tgt.{k} = s.{k}
         where k.class = 'update';
         {replace}",
        t = qi(table),
        k = qi(key),
        replace = replace_rows(table, key, &format!("{stage}_updated")),
    ))?;
    let slist = cols
        .iter()
        .map(|c| format!("s.{}", qi(c)))
        .collect::<Vec<_>>()
        .join(", ");
    conn.execute_batch(&format!(
        "insert into main.{t} ({list}, batch_id)
         select {slist}, {batch_id} from temp.{stage} s join temp.{stage}_class k on k._line = s._line
         where k.class = 'insert'",
        t = qi(table)
    ))?;
    let mut counts = MergeCounts {
        inserted: 0,
        updated: 0,
        unchanged: 0,
        stale: 0,
    };
    let mut stmt = conn.prepare(&format!(
        "select class, count(*) from temp.{stage}_class group by class"
    ))?;
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
    Ok(counts)
}

/// What a file puts in the stages before its transaction.
struct Staged {
    records: Stage,
    /// Changes that are also releases, staged as release rows.
    releases: Option<Stage>,
    /// A first import of changes (`Stage::direct`) that `change_cis` holds
    /// nothing of: their CI rows go straight into `change_cis` in the
    /// transaction.
    direct_cis: Option<DirectCis>,
}

/// Where a first import's CI rows come from (`Staged::direct_cis`).
enum DirectCis {
    /// Held in memory.
    Records(Vec<Record>),
    /// Inserted into `change_cis` as they were mapped (`spill.rs`).
    Done,
    /// Spilled (temp table `stage_cis`). Distinct already: a spilled file's
    /// keys are distinct (else it is folded in memory), and each change's
    /// list holds a CI once.
    Spilled,
}

/// Load a prepared file: stage it, then merge it in one transaction. On error
/// nothing is kept in the warehouse.
pub fn load(conn: &Connection, prep: Prepared) -> Result<FileSummary> {
    let names: Vec<String> = prep.columns.iter().map(|c| c.name.clone()).collect();
    let mut records = prep.records;
    let mut present = prep.present;
    let spilled = prep.spilled;
    // Spilled records were linked as they were spilled.
    if prep.table == "changes"
        && (records.iter().any(|r| r.release) || spilled.as_ref().is_some_and(|s| !s.releases.is_empty()))
        && let Some(p) = link_releases(&names, &mut records)
    {
        present[p] = true;
    }
    let clock = crate::ui::Phases::start(&prep.summary.file);
    let file = prep.summary.file.clone();
    // Records inserted as they were mapped, in a transaction still open.
    let in_table = spilled.as_ref().and_then(|s| s.in_table);
    let staged = (|| -> Result<Staged> {
        let first = match &spilled {
            Some(s) if s.in_table.is_some() => true,
            Some(s) => !holds_any(conn, &prep.table, s.sources.iter().map(String::as_str))?,
            None => fresh(conn, &prep.table, &names, &records)?,
        };
        let mut releases = None;
        let mut direct_cis = None;
        if prep.table == "changes" {
            if in_table.is_some_and(|t| t.cis) {
                direct_cis = Some(DirectCis::Done);
            } else if let Some(s) = &spilled {
                conn.execute_batch(&format!(
                    "drop table if exists temp.stage_cis; alter table temp.{} rename to stage_cis",
                    s.cis_table()
                ))?;
                if first && !holds_any(conn, "change_cis", s.sources.iter().map(String::as_str))? {
                    direct_cis = Some(DirectCis::Spilled);
                }
            } else {
                let cis = ci_rows(&names, &records)?;
                // CI rows left in change_cis by hand are replaced through the stage.
                if first && !holds_source(conn, "change_cis", &cis, 0)? {
                    direct_cis = Some(DirectCis::Records(cis));
                } else {
                    stage_cis(conn, cis)?;
                }
            }
            clock.lap("stage CIs");
            let rel: Vec<&Record> = match &spilled {
                Some(s) => s.releases.iter().collect(),
                None => records.iter().filter(|r| r.release).collect(),
            };
            if !rel.is_empty() {
                releases = Some(stage_releases(
                    conn,
                    &names,
                    &present,
                    &rel,
                    prep.release_type.as_deref(),
                )?);
            }
        }
        let main = if let Some(s) = spilled.as_ref().filter(|s| s.in_table.is_some()) {
            Stage {
                stage: "stage",
                table: prep.table.clone(),
                names: names.clone(),
                present,
                direct: Some(Direct::Inserted(s.rows)),
            }
        } else if let Some(s) = &spilled {
            conn.execute_batch(&format!(
                "drop table if exists temp.stage; alter table temp.{t} rename to stage;
                 drop table if exists temp.{t}_ver;",
                t = s.table
            ))?;
            Stage {
                stage: "stage",
                table: prep.table.clone(),
                names: names.clone(),
                present,
                direct: first.then_some(Direct::Staged),
            }
        } else if first {
            Stage {
                stage: "stage",
                table: prep.table.clone(),
                names: names.clone(),
                present,
                direct: Some(Direct::Records(prep.columns.clone(), records)),
            }
        } else {
            // The stage frees the records as it takes them; DuckDB's merge
            // reuses that memory (one allocator for both: src/alloc.rs).
            let st = stage(conn, "stage", &prep.table, &prep.columns, present, records)?;
            clock.lap("stage");
            st
        };
        Ok(Staged {
            records: main,
            releases,
            direct_cis,
        })
    })()
    .with_context(|| format!("{}: staging {} records", prep.summary.file, prep.table));
    let mut staged = match staged {
        Ok(s) => s,
        Err(e) => {
            if in_table.is_some() {
                super::spill::roll_back(conn);
            }
            return Err(e);
        }
    };

    let res = unordered(conn, || {
        let body = || {
            load_in_tx(
                conn,
                &mut staged,
                prep.summary,
                &prep.rejects,
                &prep.sha256,
                in_table.map(|t| t.batch_id),
            )
        };
        match in_table {
            Some(_) => crate::warehouse::commit_or_roll_back(conn, "committing the import", body),
            None => crate::warehouse::in_transaction(conn, "committing the import", body),
        }
    });
    clock.lap("merge");
    super::log_duckdb_memory(conn, format_args!("{file}: after the merge"));
    let _ = conn.execute_batch(
        "drop table if exists temp.stage; drop table if exists temp.stage_class;
         drop table if exists temp.stage_cis; drop table if exists temp.stage_rel;
         drop table if exists temp.stage_rel_class;",
    );
    res
}

/// Run `f` with DuckDB free to insert rows in any order. A row's place in a
/// table means nothing (every read names its order), and keeping the order
/// keeps the source's layout: a spilled file's stage has a part-filled row
/// group per spill batch (each batch is written as row groups of its own),
/// and DuckDB's next checkpoint merges them, table by table (8.5 s at 10M
/// changes: the first refresh after an import paid it). Unordered, DuckDB
/// fills whole row groups, leaving one part-filled per thread.
pub(super) fn unordered<T>(conn: &Connection, f: impl FnOnce() -> Result<T>) -> Result<T> {
    conn.execute_batch("set preserve_insertion_order = false")?;
    let res = f();
    let reset = conn
        .execute_batch("reset preserve_insertion_order")
        .context("resetting preserve_insertion_order");
    let out = res?;
    reset?;
    Ok(out)
}

/// The file's transaction: merge, batch, rejects. `batch_id`: the batch the
/// records were inserted as while mapped (`spill.rs`), else a new one.
fn load_in_tx(
    conn: &Connection,
    staged: &mut Staged,
    mut s: FileSummary,
    rejects: &[super::Reject],
    sha256: &str,
    batch_id: Option<i64>,
) -> Result<FileSummary> {
    let started = chrono::Local::now().naive_local();
    let batch_id = match batch_id {
        Some(b) => b,
        None => super::spill::next_batch(conn)?,
    };
    s.batch_id = batch_id;

    let counts = merge(conn, &mut staged.records, batch_id)
        .with_context(|| format!("{}: loading {}", s.file, staged.records.table))?;
    s.inserted = counts.inserted;
    s.updated = counts.updated;
    s.unchanged += counts.unchanged;
    s.stale = counts.stale;

    if let Some(direct) = staged.direct_cis.take() {
        // A first import that `change_cis` holds nothing of: every CI row is
        // new, and distinct (one list per change, each CI once in it). Taken
        // as they are: at 30M changes the distinct and the delete of the
        // staged path did not fit in the import's memory.
        let list = CI_COLUMNS.join(", ");
        match direct {
            DirectCis::Done => Ok(()),
            DirectCis::Records(rows) => insert_cis(conn, rows),
            DirectCis::Spilled => conn
                .execute_batch(&format!(
                    "insert into main.change_cis ({list}) select {list} from temp.stage_cis;
                     drop table temp.stage_cis;"
                ))
                .map_err(Into::into),
        }
        .with_context(|| format!("{}: loading change_cis", s.file))?;
    } else if staged.records.table == "changes" {
        // Their CI lists were staged (temp table `stage_cis`). Replace the CI
        // set of every change written by this file that lists CIs (when every
        // change was inserted, that is every change). A change whose CI list
        // differs from the stored one is stamped with this batch, as a
        // written row is: the derived tables are refreshed for the rows of
        // the batches since they were built (warehouse/derived.rs). Its row
        // is rewritten by a delete and an insert, as an update (see `merge`).
        let written = if staged.records.direct.is_some() {
            ""
        } else {
            "semi join temp.stage_class k on k.source = c.source and k.key = c.change_id and k.class <> 'stale'"
        };
        // On a first import every change was inserted by this batch: no CI
        // list moved, and comparing them all (30M at once) would not fit the
        // import's memory.
        let (moved, restamp) = if staged.records.direct.is_some() {
            (String::new(), String::new())
        } else {
            (
                "create or replace temp table stage_cis_moved as
                 with stored as (
                     select source, change_id, ci from main.change_cis
                     where (source, change_id) in (select source, change_id from temp.stage_cis_written)
                 ),
                 moved as (
                     (select * from stored except select * from temp.stage_cis_written)
                     union all
                     (select * from temp.stage_cis_written except select * from stored)
                 )
                 select distinct source, change_id from moved;"
                    .to_owned(),
                format!(
                    "create or replace temp table stage_cis_restamped as
                     select * replace ({batch_id} as batch_id) from main.changes
                     where (source, change_id) in (select source, change_id from temp.stage_cis_moved)
                       and batch_id is distinct from {batch_id};
                     {replace}
                     drop table temp.stage_cis_moved;",
                    replace = replace_rows("changes", "change_id", "stage_cis_restamped"),
                ),
            )
        };
        conn.execute_batch(&format!(
            "create or replace temp table stage_cis_written as
             select distinct c.source, c.change_id, c.ci from temp.stage_cis c {written};
             {moved}
             delete from main.change_cis where (source, change_id) in
                 (select distinct source, change_id from temp.stage_cis_written);
             insert into main.change_cis select source, change_id, ci from temp.stage_cis_written;
             {restamp}
             drop table temp.stage_cis_written;"
        ))
        .with_context(|| format!("{}: loading change_cis", s.file))?;
    }
    if let Some(rel) = &mut staged.releases {
        let counts = merge(conn, rel, batch_id).with_context(|| format!("{}: loading releases", s.file))?;
        s.derived_releases = counts.inserted + counts.updated;
    }

    {
        let mut app = conn.appender("import_rejects")?;
        for r in rejects {
            app.append_row(params![batch_id, r.line as i64, r.field, r.value, r.reason, r.raw])?;
        }
        app.flush()?;
        let mut app = conn.appender("import_unmapped")?;
        for u in &s.unmapped_values {
            app.append_row(params![
                batch_id,
                staged.records.table,
                u.column,
                u.value,
                u.rows as i64,
                u.mapped_to
            ])?;
        }
        app.flush()?;
        let mut app = conn.appender("import_coverage")?;
        let cov = &s.coverage;
        for u in &cov.used {
            app.append_row(params![batch_id, u.column, u.header, "used"])?;
        }
        for h in &cov.ignored {
            app.append_row(params![batch_id, None::<String>, h, "ignored"])?;
        }
        for c in &cov.missing {
            app.append_row(params![batch_id, c, None::<String>, "missing"])?;
        }
        app.flush()?;
    }
    let finished = chrono::Local::now().naive_local();
    conn.execute(
        "insert into import_batches (batch_id, file_path, file_sha256, source, kind, profile, rows_read,
             rows_inserted, rows_updated, rows_unchanged, rows_stale, rows_folded, rows_blank,
             rows_skipped, rows_rejected, started_at, finished_at, detected)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            batch_id,
            s.file,
            sha256,
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
            finished,
            s.detected
        ],
    )?;
    Ok(s)
}

/// Records that are also releases (HP SM "Release Type" changes) link to
/// themselves: their `release_id` becomes their `change_id`. Returns the
/// position of `release_id`, if the columns have both.
pub(super) fn link_releases(names: &[String], records: &mut [Record]) -> Option<usize> {
    let p = names.iter().position(|n| n == "release_id")?;
    let id = names.iter().position(|n| n == "change_id")?;
    for r in records.iter_mut().filter(|r| r.release) {
        r.values[p] = r.values[id].clone();
    }
    Some(p)
}

/// The columns of a CI row (`ci_rows`), as in `change_cis`.
pub(super) const CI_COLUMNS: [&str; 3] = ["source", "change_id", "ci"];

/// The CI lists of the changes that have them: one row (`CI_COLUMNS`) per CI,
/// as records for the table function.
pub(super) fn ci_rows(names: &[String], records: &[Record]) -> Result<Vec<Record>> {
    let key = names.iter().position(|n| n == "change_id").context("change_id")?;
    let src = names.iter().position(|n| n == "source").context("source")?;
    let mut rows = Vec::new();
    for r in records.iter().filter(|r| !r.cis.is_empty()) {
        let (id @ Cell::Text(_), s @ Cell::Text(_)) = (&r.values[key], &r.values[src]) else {
            continue;
        };
        for ci in &r.cis {
            rows.push(Record {
                line: r.line,
                values: vec![s.clone(), id.clone(), Cell::Text(ci.as_str().into())],
                cis: Vec::new(),
                version: Vec::new(),
                release: false,
            });
        }
    }
    Ok(rows)
}

/// CI rows (`ci_rows`) into `temp.stage_cis`, before the transaction.
fn stage_cis(conn: &Connection, rows: Vec<Record>) -> Result<()> {
    conn.execute_batch(
        "create or replace temp table stage_cis (source varchar, change_id varchar, ci varchar, _line bigint)",
    )?;
    super::feed::insert(conn, "temp.main.stage_cis", &text_columns(&CI_COLUMNS), rows)
}

/// Text columns of these names.
pub(super) fn text_columns(names: &[&str]) -> Vec<super::Column> {
    names
        .iter()
        .map(|n| super::Column {
            name: (*n).to_owned(),
            ty: super::ColType::Text,
        })
        .collect()
}

/// Changes that are also releases become release rows with the same id and
/// times, staged in `temp.stage_rel`.
fn stage_releases(
    conn: &Connection,
    names: &[String],
    present: &[bool],
    changes: &[&Record],
    release_type: Option<&str>,
) -> Result<Stage> {
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
        let text = |n: &str| match pos(n).filter(|p| present[*p]).map(|p| &r.values[p]) {
            Some(Cell::Text(t)) => Some(&**t),
            _ => None,
        };
        let mut values = Vec::with_capacity(rel_names.len());
        for (i, rc) in rel_names.iter().enumerate() {
            let v = match rc.as_str() {
                "release_type" => Cell::Text(release_type.unwrap_or("other").into()),
                // A cancelled change (HPSM's Withdrawn) is a cancelled
                // release; else a closed release record, deployed when it
                // has an actual end.
                "state" if text("state") == Some("cancelled") || text("outcome") == Some("cancelled") => {
                    Cell::Text("cancelled".into())
                }
                "state" => match pos("closed_at").map(|p| &r.values[p]) {
                    Some(Cell::Null) | None => Cell::Null,
                    _ => Cell::Text("closed".into()),
                },
                // The change's outcome, in the releases' words.
                "outcome" => match text("outcome") {
                    Some("unsuccessful") => Cell::Text("failed".into()),
                    Some(o) => Cell::Text(o.into()),
                    None => Cell::Null,
                },
                other => match from(other).and_then(pos) {
                    Some(p) if present[p] => r.values[p].clone(),
                    _ => Cell::Null,
                },
            };
            if !v.is_null() || rc == "state" || rc == "release_type" {
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
    stage(conn, "stage_rel", "releases", &rel_cols, rel_present, records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_record(line: u64, values: &[&str]) -> Record {
        Record {
            line,
            values: values.iter().map(|v| Cell::Text((*v).into())).collect(),
            cis: Vec::new(),
            version: Vec::new(),
            release: false,
        }
    }

    /// `n` records (source "s", key "k{i}", v "v"), lines from 2, with their
    /// columns: past one DuckDB row group (122,880) when `n` is larger.
    fn many_records(n: u64) -> (Vec<super::super::Column>, Vec<Record>) {
        let columns = text_columns(&["source", "response_id", "v"]);
        let records = (0..n)
            .map(|i| text_record(i + 2, &["s", &format!("k{i}"), "v"]))
            .collect();
        (columns, records)
    }

    /// A first import goes from the table function straight into the table,
    /// inside the transaction, past one row group: every record is written.
    #[test]
    fn direct_insert_past_one_row_group() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "create table t (source varchar not null, response_id varchar primary key, v varchar, batch_id integer)",
        )
        .unwrap();
        let (columns, records) = many_records(130_000);
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        assert!(fresh(&conn, "t", &names, &records).unwrap());
        let mut st = Stage {
            stage: "stage",
            table: "t".into(),
            names,
            present: vec![true, true, false],
            direct: Some(Direct::Records(columns, records)),
        };
        conn.execute_batch("begin transaction").unwrap();
        let c = merge(&conn, &mut st, 7).unwrap();
        conn.execute_batch("commit").unwrap();
        assert_eq!((c.inserted, c.updated, c.unchanged, c.stale), (130_000, 0, 0, 0));
        // v is not present in the file: left NULL, as an insert through the stage leaves it.
        let (n, keys, v): (i64, i64, i64) = conn
            .query_row(
                "select count(*), count(distinct response_id), count(v) from t where batch_id = 7",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((n, keys, v), (130_000, 130_000, 0));
    }

    /// Rows inserted from a stage filled a batch at a time, as a spilled
    /// file's is, fill whole row groups: with the order kept, the table took
    /// the stage's part-filled row group of every batch, and the first
    /// checkpoint after the import merged them (`unordered`).
    #[test]
    fn unordered_insert_fills_whole_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.duckdb")).unwrap();
        conn.execute_batch("set threads = 2; create table ordered (i bigint); create table t (i bigint); create temp table s (i bigint)")
            .unwrap();
        for b in 0..5 {
            conn.execute(
                "insert into temp.s select range from range(?, ?)",
                params![b * 130_000, (b + 1) * 130_000],
            )
            .unwrap();
        }
        let part_filled = |t: &str| -> (i64, i64) {
            conn.query_row(
                &format!(
                    "select count(*) filter (where n < 122880), sum(n) from (
                         select row_group_id, sum(count) as n from pragma_storage_info('{t}')
                         where column_id = 0 and segment_type <> 'VALIDITY' group by all)"
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        conn.execute_batch("begin; insert into ordered select * from temp.s; commit")
            .unwrap();
        // DuckDB's behaviour that makes `unordered` needed: one part-filled
        // row group per batch.
        assert_eq!(part_filled("ordered"), (5, 650_000));
        unordered(&conn, || {
            crate::warehouse::in_transaction(&conn, "test", || {
                conn.execute_batch("insert into t select * from temp.s")
                    .map_err(Into::into)
            })
        })
        .unwrap();
        let (part, rows) = part_filled("t");
        assert!(part <= 2, "{part} part-filled row groups");
        assert_eq!(rows, 650_000);
        let order: String = conn
            .query_row("select current_setting('preserve_insertion_order')::varchar", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(order, "true", "the setting is put back");
    }

    /// A file is a first import (inserted straight, no stage) only while the
    /// table holds no row of any source it names: another source's rows do
    /// not count, and one stored source among several makes it a merge.
    #[test]
    fn fresh_is_decided_per_source() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("create table t (source varchar, response_id varchar); insert into t values ('a', '1')")
            .unwrap();
        let names = vec!["source".to_owned(), "response_id".to_owned()];
        let b = [text_record(2, &["b", "1"]), text_record(3, &["b", "2"])];
        assert!(fresh(&conn, "t", &names, &b).unwrap());
        assert!(fresh(&conn, "t", &names, &[]).unwrap());
        let ab = [text_record(2, &["b", "1"]), text_record(3, &["a", "2"])];
        assert!(!fresh(&conn, "t", &names, &ab).unwrap());
    }

    /// More records than one DuckDB row group (122,880) go through the stage
    /// (the table function, many vectors) and the merge in a transaction, and
    /// every one is written, with its line.
    #[test]
    fn appender_stage_past_one_row_group() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "create table t (source varchar not null, response_id varchar not null, v varchar, batch_id integer)",
        )
        .unwrap();
        let (columns, records) = many_records(130_000);
        let mut st = stage(&conn, "stage", "t", &columns, vec![true; 3], records).unwrap();
        conn.execute_batch("begin transaction").unwrap();
        let c = merge(&conn, &mut st, 1).unwrap();
        conn.execute_batch("commit").unwrap();
        assert_eq!((c.inserted, c.updated, c.unchanged, c.stale), (130_000, 0, 0, 0));
        let n: i64 = conn
            .query_row("select count(*) from t where v = 'v' and batch_id = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(n, 130_000);
        let (lines, last): (i64, String) = conn
            .query_row(
                "select sum(_line) - sum(i) , max(response_id) filter (where _line = 130001)
                 from (select _line, row_number() over (order by _line) + 1 as i, response_id from temp.stage)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((lines, last.as_str()), (0, "k129999"));
    }
}
