//! The import engine: read an export (`relkpi_parse::read`), choose the
//! mapping (`detect`: built-in profile, user profile or canonical CSV), map
//! every row to a canonical record or a reject with its reason (`map`), fold
//! the versions of one record (`fold`), and merge into the warehouse in one
//! transaction per file (`load`). `coverage` says what the file's headers give
//! and what the missing columns cost; `propose` writes a profile for a file.

mod coverage;
mod detect;
mod feed;
mod fold;
pub mod load;
mod map;
pub mod propose;
mod spill;

pub use crate::warehouse::schema::{ColType, Column, table_columns};
pub use coverage::Coverage;
use coverage::coverage;
pub use detect::{builtin_profiles, known_sources};
use detect::{canonical_profile, choose, vocabularies};
use fold::fold;
pub use map::{Cell, Record, Reject};
use map::{ColumnMaps, MAP_CHUNK, Mapped, Mapper, map_rows};
pub use spill::Spilled;
use spill::{Finish, Spill};

pub use relkpi_parse::{dates, key_column, kind_table, profile, read};

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use duckdb::Connection;
use rayon::prelude::*;
use serde::Serialize;

use dates::DateOrder;
use profile::{HeaderIndex, KindMap, Profile};
use read::TableReader;

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub source: Option<String>,
    pub kind: Option<String>,
    pub profile: Option<Profile>,
    pub source_name: String,
    pub date_order: Option<DateOrder>,
}

/// The figures of one imported file. `read = inserted + updated + unchanged +
/// stale + folded + blank + skipped + rejected`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct FileSummary {
    pub file: String,
    pub batch_id: i64,
    pub source: String,
    pub kind: String,
    pub profile: String,
    pub format: String,
    pub encoding: String,
    pub date_order: String,
    pub read: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub stale: u64,
    pub folded: u64,
    pub blank: u64,
    /// Rows of another record kind in a mixed export (a profile's `filter`).
    pub skipped: u64,
    pub rejected: u64,
    pub derived_releases: u64,
    pub unmapped_values: Vec<UnmappedValue>,
    pub warnings: Vec<String>,
    /// Why this source and kind were chosen.
    pub detected: String,
    /// What the file's headers feed, what they do not, and what that costs.
    pub coverage: Coverage,
}

/// A value the mapping did not recognise: kept as is (lower-cased), or, in
/// an enumerated column, mapped by the keyword rule to `mapped_to`.
#[derive(Debug, Clone, Serialize)]
pub struct UnmappedValue {
    pub column: String,
    pub value: String,
    pub rows: u64,
    pub mapped_to: Option<String>,
}

/// The prepared content of one file, before it touches the warehouse.
pub struct Prepared {
    pub summary: FileSummary,
    pub table: String,
    pub columns: Vec<Column>,
    /// Canonical columns the file provides (the others keep stored values on update).
    pub present: Vec<bool>,
    /// The records, unless they were spilled to DuckDB (`spill`).
    pub records: Vec<Record>,
    pub spilled: Option<Spilled>,
    pub rejects: Vec<Reject>,
    pub release_type: Option<String>,
    pub sha256: String,
}

/// Open an export, reading it once for its SHA-256 (of the decompressed bytes).
pub(crate) fn scan(path: &Path) -> Result<(read::Export, String)> {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    let export = read::scan(path, &mut |b| hash.update(b))?;
    let sha256 = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((export, sha256))
}

/// Read and map one file (no warehouse writes): one `Prepared` per record
/// kind it holds (one, but for mixed exports).
pub fn prepare(conn: &Connection, path: &Path, opts: &ImportOptions) -> Result<Vec<Prepared>> {
    prepare_file(conn, path, opts, false)
}

/// `prepare`, for a load that follows at once: the records of a large first
/// import of a file of one kind go straight into their table, in a
/// transaction that `load::load` finishes (`spill.rs`).
fn prepare_to_load(conn: &Connection, path: &Path, opts: &ImportOptions) -> Result<Vec<Prepared>> {
    prepare_file(conn, path, opts, true)
}

fn prepare_file(conn: &Connection, path: &Path, opts: &ImportOptions, in_table: bool) -> Result<Vec<Prepared>> {
    let clock = crate::ui::Phases::start(path.display());
    let (export, sha256) = scan(path)?;
    clock.lap("read and hash");
    // Rows are parsed as the mapping takes them (a chunk at a time), a CSV
    // file's straight from the disk.
    let mut raw: TableReader = export.open()?;
    clock.lap("open");

    let profiles: Vec<Profile> = match (&opts.profile, &opts.source) {
        (Some(p), _) => vec![p.clone()],
        (None, Some(s)) if s == "canonical" => vec![canonical_profile(conn, &opts.source_name)?],
        (None, Some(s)) => {
            let all = builtin_profiles()?;
            match all.into_iter().find(|p| &p.name == s) {
                Some(p) => vec![p],
                None => bail!(
                    "unknown source {s:?}: relkpi knows {}; for another system write a mapping profile (--profile FILE)",
                    known_sources().join(", ")
                ),
            }
        }
        (None, None) => {
            let mut v = builtin_profiles()?;
            v.push(canonical_profile(conn, &opts.source_name)?);
            v
        }
    };
    let idx = HeaderIndex::new(&raw.headers);
    // A row filter's field under another of its labels.
    let mut profiles = profiles;
    for f in profiles
        .iter_mut()
        .flat_map(|p| p.kinds.iter_mut())
        .filter_map(|k| k.filter.as_mut())
    {
        if !idx.has(&f.header)
            && let Some(h) = f.also.iter().find(|h| idx.has(h))
        {
            f.header = h.clone();
        }
    }
    let first_row: Option<Vec<String>> = raw.peek()?.map(|r| r.fields.iter().map(str::to_owned).collect());
    let (profile, kind, detected) = choose(&profiles, &raw.headers, first_row.as_deref(), opts, path)?;
    // A mixed export (Jira changes and incidents; Remedy incidents and
    // requests): the profile's other kinds told apart by the same header.
    let siblings: Vec<&KindMap> = match (&kind.filter, &opts.kind) {
        (Some(f), None) if idx.has(&f.header) => profile
            .kinds
            .iter()
            .filter(|k| !std::ptr::eq(*k, kind))
            .filter(|k| {
                k.filter
                    .as_ref()
                    .is_some_and(|g| profile::normalize_header(&g.header) == profile::normalize_header(&f.header))
            })
            .filter(|k| k.fit(&idx, None).is_some())
            .collect(),
        _ => Vec::new(),
    };
    // A mixed export's kinds are all mapped before the first is loaded.
    let in_table = in_table && siblings.is_empty();
    let mut out = vec![prepare_kind(
        conn, path, opts, profile, kind, detected, raw, &sha256, &export, &clock, in_table,
    )?];
    for k in siblings {
        let raw = export.open()?;
        let why = format!(
            "the rows of this mixed export whose {:?} is one of {}",
            k.filter.as_ref().map(|f| f.header.as_str()).unwrap_or_default(),
            k.filter.as_ref().map(|f| f.values.join(", ")).unwrap_or_default()
        );
        out.push(prepare_kind(
            conn, path, opts, profile, k, why, raw, &sha256, &export, &clock, false,
        )?);
    }
    // A kind none of whose rows the file holds is left out (unless it is the only one).
    if out.len() > 1 {
        let first = out.remove(0);
        out.retain(|p| p.record_count() > 0 || !p.rejects.is_empty());
        if first.record_count() > 0 || !first.rejects.is_empty() || out.is_empty() {
            out.insert(0, first);
        }
    }
    Ok(out)
}

/// Map one file for one kind of a profile (no warehouse writes).
#[allow(clippy::too_many_arguments)]
fn prepare_kind(
    conn: &Connection,
    path: &Path,
    opts: &ImportOptions,
    profile: &Profile,
    kind: &KindMap,
    detected: String,
    mut raw: TableReader,
    sha256: &str,
    export: &read::Export,
    clock: &crate::ui::Phases,
    in_table: bool,
) -> Result<Prepared> {
    let idx = HeaderIndex::new(&raw.headers);
    let columns = table_columns(conn, &kind.table)?;
    let resolved = kind.resolve(&idx);
    let key_name = key_column(&kind.table);

    if kind.strict {
        let known: Vec<&str> = columns
            .iter()
            .map(|c| c.name.as_str())
            .chain((kind.table == "changes").then_some("ci"))
            .collect();
        let unknown: Vec<&String> = raw
            .headers
            .iter()
            .filter(|h| !h.is_empty() && !known.contains(&h.to_lowercase().as_str()))
            .collect();
        if !unknown.is_empty() {
            bail!(
                "{}: line 1: unknown column(s) {} for {} {}; expected some of: {}",
                path.display(),
                unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                profile.name,
                kind.table,
                known.join(", ")
            );
        }
    }
    if !resolved.contains_key(key_name) {
        let expected = kind
            .columns
            .get(key_name)
            .map(|c| c.names().join(" or "))
            .unwrap_or_default();
        bail!(
            "{}: line 1: missing required column for {} {} key {key_name} (expected header {expected}); headers found: {}",
            path.display(),
            profile.name,
            kind.table,
            raw.headers
                .iter()
                .filter(|h| !h.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let sources: Vec<Option<Vec<usize>>> = columns.iter().map(|c| resolved.get(&c.name).cloned()).collect();
    let mut present: Vec<bool> = sources.iter().map(Option::is_some).collect();
    let rules: Vec<_> = kind
        .rules
        .iter()
        .filter_map(|r| {
            let target = columns.iter().position(|c| c.name == r.column)?;
            let when = idx.get(&r.when)?;
            let from = match &r.from {
                Some(f) => Some(idx.get(f)?),
                None => None,
            };
            Some((target, when, from, r))
        })
        .collect();
    for (t, _, _, _) in &rules {
        present[*t] = true;
    }
    let rule_columns: Vec<(String, usize)> = rules
        .iter()
        .flat_map(|(t, when, from, _)| {
            [Some(*when), *from]
                .into_iter()
                .flatten()
                .map(|pos| (columns[*t].name.clone(), pos))
        })
        .collect();
    let coverage = coverage(kind, &columns, &raw.headers, &idx, &resolved, &rule_columns)?;
    let source_pos = columns
        .iter()
        .position(|c| c.name == "source")
        .context("no source column")?;
    present[source_pos] = true;

    // One date order for the whole file.
    let date_cols: Vec<usize> = columns
        .iter()
        .zip(&sources)
        .filter(|(c, _)| c.ty == ColType::Timestamp)
        .filter_map(|(_, s)| s.as_ref())
        .flatten()
        .copied()
        .collect();
    let mut warnings = Vec::new();
    let forced = opts
        .date_order
        .or_else(|| profile.date_order.as_deref().and_then(DateOrder::parse));
    // The file's date order: what its date values read in
    // (`dates::OrderVotes`: a value no order reads is left to be rejected),
    // gathered a chunk at a time so that nothing grows with the file. ISO
    // values read the same in every order and tell nothing; a chunk's values
    // are tried once each, on every core.
    let collect_dates = |rows: &[read::RawRow], votes: &mut dates::OrderVotes| {
        if forced.is_some() {
            return;
        }
        let found = rows
            .par_iter()
            .fold(std::collections::HashSet::<&str>::new, |mut found, r| {
                for v in date_cols.iter().filter_map(|c| r.fields.get(*c)) {
                    // ISO values (most) are told apart before they are hashed.
                    let t = relkpi_parse::values::trim(v);
                    if !t.is_empty()
                        && !profile.null_values.iter().any(|n| n == t)
                        && !dates::is_iso(t)
                        && !found.contains(t)
                    {
                        found.insert(t);
                    }
                }
                found
            })
            .reduce(std::collections::HashSet::new, |mut a, b| {
                a.extend(b);
                a
            });
        let chunk = found
            .par_iter()
            .fold(dates::OrderVotes::default, |mut c, v| {
                c.add(v);
                c
            })
            .reduce(dates::OrderVotes::default, |mut a, b| {
                a.merge(&b);
                a
            });
        votes.merge(&chunk);
    };
    let decide = |votes: &dates::OrderVotes| -> (DateOrder, Option<String>) {
        match forced {
            Some(o) => (o, None),
            None => votes.decide(),
        }
    };
    // The order is needed before the first row is mapped, but it is a property
    // of the whole file: the mapping starts with the order the first chunk of
    // rows shows, and if the whole file shows another, maps the file again.
    let mut date_orders = dates::OrderVotes::default();
    let first_chunk = raw.next_rows(MAP_CHUNK)?;
    collect_dates(&first_chunk, &mut date_orders);
    let (order, _) = decide(&date_orders);

    let vocab: HashMap<String, Vec<String>> = vocabularies(conn)?
        .into_iter()
        .filter(|((t, _), _)| t == &kind.table)
        .map(|((_, c), v)| (c, v))
        .collect();
    let per_column = columns
        .iter()
        .map(|c| ColumnMaps {
            vocab: kind.compiled_vocab(&c.name),
            placeholders: kind.placeholders.get(&c.name),
            allowed: vocab.get(&c.name).map(|v| v.iter().cloned().collect()),
        })
        .collect();
    let outcome_of_state = (kind.table == "changes")
        .then(|| {
            let at = |n: &str| columns.iter().position(|c| c.name == n);
            let (st, oc) = (at("state")?, at("outcome")?);
            sources[st].as_ref()?;
            Some((st, oc))
        })
        .flatten();
    if let Some((_, oc)) = outcome_of_state {
        present[oc] = true;
    }
    let mut mapper = Mapper {
        sources,
        // A kind's filter applies when the file has its column; without it,
        // every row is of this kind.
        filter: kind.filter.as_ref().and_then(|f| {
            Some((
                idx.get(&f.header)?,
                f.values.iter().map(|v| v.trim().to_lowercase()).collect(),
            ))
        }),
        ci_headers: resolved.get("ci").cloned().unwrap_or_default(),
        source_header: idx.get("source").filter(|_| profile.name == "canonical"),
        version_headers: kind.version_by.iter().filter_map(|h| idx.get(h)).collect(),
        rules,
        release_rule: kind.also_release.as_ref().and_then(|r| Some((idx.get(&r.when)?, r))),
        nulls: profile.null_values.clone(),
        order,
        format: raw.format,
        source_name: profile.source_name().to_owned(),
        table: kind.table.clone(),
        key: columns
            .iter()
            .position(|c| c.name == key_name)
            .context("no key column")?,
        headers: raw.headers.clone(),
        outcome_of_state,
        columns: columns.clone(),
        per_column,
    };

    // Headers up to the last named one: a row with fewer fields was cut short.
    let named = raw
        .headers
        .iter()
        .rposition(|h| !h.trim().is_empty())
        .map_or(0, |i| i + 1);
    // A large file's records go to DuckDB as they are mapped (`spill`),
    // straight into the table when they may.
    let mut spill = Spill::new(conn, &kind.table, &columns, &present, in_table);
    let mut mapped = map_rows(
        &mapper,
        named,
        first_chunk,
        &mut raw,
        |rows| collect_dates(rows, &mut date_orders),
        &mut spill,
    )?;
    let (order, warning) = decide(&date_orders);
    if order != mapper.order {
        crate::ui::verbose(
            1,
            format!(
                "{}: the first rows read as {} dates, the whole file as {}: mapping it again",
                path.display(),
                mapper.order.as_str(),
                order.as_str()
            ),
        );
        mapper.order = order;
        raw = export.open()?;
        spill.reset();
        mapped = map_rows(&mapper, named, Vec::new(), &mut raw, |_| (), &mut spill)?;
    }
    warnings.extend(warning);
    let mut finish = spill.finish(&mut mapped.records)?;
    if let Finish::Again = finish {
        // A direct spill that could not stay direct: into a stage this time.
        let mut spill = Spill::new(conn, &kind.table, &columns, &present, false);
        raw = export.open()?;
        mapped = map_rows(&mapper, named, Vec::new(), &mut raw, |_| (), &mut spill)?;
        finish = spill.finish(&mut mapped.records)?;
    }
    let Mapped {
        records,
        rejects,
        skipped,
        unmapped,
        rows_read,
    } = mapped;
    let spilled = match finish {
        Finish::Held => None,
        Finish::Spilled(s) => Some(s),
        Finish::Again => bail!("{}: mapped twice without a stage", path.display()),
    };
    let mapped_rows = spilled.as_ref().map_or(records.len() as u64, |s| s.rows);
    let updated_pos = columns.iter().position(|c| c.name == "updated_at");
    clock.lap("map");
    log_duckdb_memory(conn, format_args!("{}: after the map", path.display()));
    let (records, folded, duplicates) = match &spilled {
        // Spilled with distinct keys: nothing to fold.
        Some(_) => (records, 0, 0),
        None => fold(records, mapper.key, updated_pos, kind.group_rows),
    };
    clock.lap("fold");

    let mut unmapped_values: Vec<UnmappedValue> = unmapped
        .into_iter()
        .map(|((column, value, mapped_to), rows)| UnmappedValue {
            column,
            value,
            rows,
            mapped_to: mapped_to.map(str::to_owned),
        })
        .collect();
    unmapped_values.sort_by(|a, b| (&a.column, &a.value).cmp(&(&b.column, &b.value)));

    let summary = FileSummary {
        file: path.display().to_string(),
        source: profile.source_name().to_owned(),
        kind: kind.table.clone(),
        profile: profile.name.clone(),
        format: raw.format.as_str().to_owned(),
        encoding: raw.encoding.to_owned(),
        date_order: mapper.order.as_str().to_owned(),
        read: rows_read + raw.blank_rows,
        blank: raw.blank_rows,
        skipped,
        rejected: rejects.len() as u64,
        folded,
        unchanged: duplicates,
        unmapped_values,
        warnings,
        detected,
        coverage,
        ..Default::default()
    };
    debug_assert_eq!(
        mapped_rows,
        spilled.as_ref().map_or(records.len() as u64, |s| s.rows) + folded + duplicates
    );
    Ok(Prepared {
        summary,
        table: kind.table.clone(),
        columns,
        present,
        records,
        spilled,
        rejects,
        release_type: kind.also_release.as_ref().map(|r| r.release_type.clone()),
        sha256: sha256.to_owned(),
    })
}

/// Under `-vv`: what DuckDB holds after `what` (its buffers in memory and in
/// its temporary files), to tell its share of the process's memory (printed
/// with each phase) from relkpi's.
pub fn log_duckdb_memory(conn: &Connection, what: impl std::fmt::Display) {
    if crate::ui::verbosity() < 2 {
        return;
    }
    let Some(sql) = crate::queries::text("session/duckdb_memory.sql") else {
        return;
    };
    if let Ok((memory, temporary)) = conn.query_row(sql, [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))) {
        crate::ui::verbose(
            2,
            format!("{what}: DuckDB holds {memory} MB in memory, {temporary} MB in temporary files"),
        );
    }
}

/// DuckDB's memory for an import (its default is 80% of the machine's):
/// with the records spilled to it (`spill`), DuckDB holds them and the merge
/// within this and writes the rest to its temporary directory beside the
/// warehouse, so the import's memory does not grow with the files.
/// `RELKPI_IMPORT_MEMORY` sets it for both phases (a DuckDB size such as `2GB`),
/// `RELKPI_DERIVED_MEMORY` for the derived tables' first attempt only.
pub fn limit_memory(conn: &Connection, phase: MemoryPhase) -> Result<()> {
    let Some(default) = phase.default_limit() else {
        return conn
            .execute_batch("reset memory_limit")
            .context("resetting DuckDB's memory limit");
    };
    let own = match phase {
        MemoryPhase::Derived => std::env::var("RELKPI_DERIVED_MEMORY").ok(),
        MemoryPhase::Files | MemoryPhase::DerivedAgain | MemoryPhase::DerivedUnbounded => None,
    };
    let limit = std::env::var("RELKPI_IMPORT_MEMORY")
        .ok()
        .or(own)
        .unwrap_or_else(|| default.to_owned());
    conn.execute_batch(&format!("set memory_limit = '{}'", limit.replace('\'', "")))
        .with_context(|| {
            format!("memory limit {limit:?} (RELKPI_IMPORT_MEMORY or RELKPI_DERIVED_MEMORY): not a DuckDB memory size")
        })
}

/// The phases of an import, as far as DuckDB's memory goes: the files, then
/// the derived tables (up to three attempts, `derived_attempts`).
#[derive(Debug, Clone, Copy)]
pub enum MemoryPhase {
    /// Reading, mapping, spilling and merging the files: the process holds
    /// mapped chunks beside DuckDB, so DuckDB gets less.
    Files,
    /// Deriving the attribution tables: DuckDB alone works.
    Derived,
    /// Deriving them again after they did not fit in `Derived`'s share (at
    /// 30M changes, before the links were sorted in a statement of their
    /// own: 1 GB was enough, peak 1.31 GB).
    DerivedAgain,
    /// The last attempt: DuckDB's own limit (80% of the machine's memory).
    DerivedUnbounded,
}

impl MemoryPhase {
    /// DuckDB's memory limit in this phase unless the environment sets one;
    /// `None`: DuckDB's own default.
    fn default_limit(self) -> Option<&'static str> {
        match self {
            MemoryPhase::Files => Some(FILES_MEMORY),
            MemoryPhase::Derived => Some(DERIVED_MEMORY),
            MemoryPhase::DerivedAgain => Some(DERIVED_AGAIN_MEMORY),
            MemoryPhase::DerivedUnbounded => None,
        }
    }

    /// How much DuckDB gets, in words (for a retry's message).
    pub fn describe(self) -> String {
        match self.default_limit() {
            Some(limit) => format!("{limit} of memory for DuckDB"),
            None => "DuckDB's default memory limit".to_owned(),
        }
    }

    /// The attempts at the derived tables, in order (`RELKPI_IMPORT_MEMORY`
    /// set: that one only).
    pub fn derived_attempts() -> &'static [MemoryPhase] {
        if std::env::var_os("RELKPI_IMPORT_MEMORY").is_some() {
            &[MemoryPhase::Derived]
        } else {
            &[
                MemoryPhase::Derived,
                MemoryPhase::DerivedAgain,
                MemoryPhase::DerivedUnbounded,
            ]
        }
    }
}

/// Whether DuckDB refused an operation for want of memory within its limit.
pub fn is_out_of_memory(e: &anyhow::Error) -> bool {
    format!("{e:#}").contains("Out of Memory Error")
}

/// `limit_memory`'s defaults. At 10M changes (release build, docs/benchmarks.md),
/// 512 MB while mapping peaked at 927 MB, 384 MB at about 800 MB for the same
/// time; the derived tables took 10 s at 512 MB and 16 s at 384 MB.
const FILES_MEMORY: &str = "384MB";
const DERIVED_MEMORY: &str = "512MB";
const DERIVED_AGAIN_MEMORY: &str = "1GB";

/// Import files one by one; returns the summaries and how many files failed.
/// `show`: print each file's summary as it is loaded.
pub fn import_files(
    conn: &Connection,
    files: &[std::path::PathBuf],
    opts: &ImportOptions,
    show: bool,
) -> Result<(Vec<FileSummary>, usize)> {
    let mut summaries = Vec::new();
    let mut failed = 0;
    let progress = crate::ui::Progress::new(files.len() as u64, "import");
    for f in files {
        progress.message(format!("{}: reading and mapping", f.display()));
        let started = std::time::Instant::now();
        // A mixed export is one load per record kind, each in its own transaction.
        let mut loaded = 0;
        let res = prepare_to_load(conn, f, opts).and_then(|prepared| {
            for p in prepared {
                progress.message(format!("{}: loading {} rows", f.display(), prepared_rows(&p)));
                let s = load::load(conn, p)?;
                if show {
                    progress.println(crate::output::import_summary(&s));
                }
                summaries.push(s);
                loaded += 1;
            }
            Ok(())
        });
        if res.is_err() {
            // A guard: the spill and the load roll back a direct spill's
            // transaction themselves; with none open, DuckDB refuses this
            // harmlessly.
            spill::roll_back(conn);
        }
        progress.step("");
        crate::ui::verbose(1, format!("{}: {:.2} s", f.display(), started.elapsed().as_secs_f64()));
        if let Err(e) = res {
            failed += 1;
            let what = if loaded == 0 {
                format!("nothing from {} was loaded", f.display())
            } else {
                format!(
                    "the record kinds of {} above were loaded; the others were not",
                    f.display()
                )
            };
            crate::ui::error(format!("{e:#}\n  {what}"));
        }
    }
    Ok((summaries, failed))
}

fn prepared_rows(p: &Prepared) -> usize {
    p.record_count() as usize + p.rejects.len()
}

impl Prepared {
    /// Records to load, held or spilled.
    pub fn record_count(&self) -> u64 {
        self.records.len() as u64 + self.spilled.as_ref().map_or(0, |s| s.rows)
    }
}
