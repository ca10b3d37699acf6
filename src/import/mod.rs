//! `relkpi import`: read an export, pick the mapping (built-in profile, user
//! profile or canonical CSV), map every row to a canonical record or a reject
//! with its reason, fold versions of one record, and merge into the warehouse in
//! one transaction per file (see `load.rs`).

mod feed;
pub mod load;
pub mod propose;

pub use relkpi_parse::{dates, key_column, kind_table, profile, read};

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::NaiveDateTime;
use duckdb::Connection;
use rayon::prelude::*;
use serde::Serialize;

use crate::queries;
use dates::DateOrder;
use profile::{HeaderIndex, KindMap, Profile};
use read::{FileFormat, TableReader};
use relkpi_parse::values::{keyword_value, parse_bool, parse_int};

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

/// A file's headers against the canonical table: the columns used (canonical
/// column and the header feeding it), the headers ignored, the canonical
/// columns left empty, and the KPIs and policies that costs (`kpi::column_costs`).
#[derive(Debug, Clone, Serialize, Default)]
pub struct Coverage {
    pub used: Vec<ColumnUse>,
    pub ignored: Vec<String>,
    pub missing: Vec<String>,
    pub costs: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnUse {
    pub column: String,
    pub header: String,
}

/// What `kind`'s mapping takes from a file with these headers (`resolved`:
/// canonical column -> header positions; `rules`: the canonical columns rules
/// set, with the header each reads).
fn coverage(
    kind: &KindMap,
    columns: &[Column],
    headers: &[String],
    idx: &HeaderIndex,
    resolved: &BTreeMap<String, Vec<usize>>,
    rule_columns: &[(String, usize)],
) -> Result<Coverage> {
    let mut used: Vec<ColumnUse> = Vec::new();
    let mut taken = std::collections::BTreeSet::new();
    let mut take = |column: &str, pos: usize, used: &mut Vec<ColumnUse>| {
        taken.insert(pos);
        if !used.iter().any(|u| u.column == column) {
            used.push(ColumnUse {
                column: column.to_owned(),
                header: headers[pos].trim().to_owned(),
            });
        }
    };
    for c in columns {
        if let Some(pos) = resolved.get(&c.name) {
            for p in pos {
                take(&c.name, *p, &mut used);
            }
        }
    }
    for (col, pos) in rule_columns {
        take(col, *pos, &mut used);
    }
    // `ci` of changes feeds change_cis, not a column of the table.
    let ci = resolved.get("ci").filter(|_| !columns.iter().any(|c| c.name == "ci"));
    for p in ci.into_iter().flatten() {
        take("ci", *p, &mut used);
    }
    // Headers that steer the mapping without feeding a column are not ignored.
    for h in kind
        .version_by
        .iter()
        .chain(kind.filter.iter().map(|f| &f.header))
        .chain(kind.also_release.iter().map(|r| &r.when))
    {
        for p in idx.all(h) {
            taken.insert(*p);
        }
    }
    let ignored = headers
        .iter()
        .enumerate()
        .filter(|(i, h)| !h.trim().is_empty() && !taken.contains(i))
        .map(|(_, h)| h.trim().to_owned())
        .collect();
    let mut missing: Vec<String> = columns
        .iter()
        .map(|c| c.name.clone())
        .filter(|c| c != "source" && !used.iter().any(|u| &u.column == c))
        .collect();
    if kind.table == "changes" && ci.is_none() {
        missing.push("ci".to_owned());
    }
    let mut costs = crate::kpi::column_costs(&kind.table, &missing)?;
    if kind.table == "changes" && ci.is_none() && !used.iter().any(|u| u.column == "service") {
        costs.push(
            "incident attribution by CI window: no CI or service on these changes, explicit links only".to_owned(),
        );
    }
    Ok(Coverage {
        used,
        ignored,
        missing,
        costs,
    })
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

/// A value noticed while mapping one row: (canonical column, value, what the
/// keyword rule mapped it to).
type Hit = (String, String, Option<&'static str>);

/// A canonical column of the warehouse and its DuckDB type.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: ColType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    Text,
    Timestamp,
    Int,
    Bool,
}

/// Canonical columns of `table` (without the bookkeeping `batch_id`), from the warehouse.
pub fn table_columns(conn: &Connection, table: &str) -> Result<Vec<Column>> {
    let mut stmt = conn.prepare(
        "select column_name, data_type from information_schema.columns \
         where table_schema = 'main' and table_name = ? and column_name <> 'batch_id' \
         order by ordinal_position",
    )?;
    let cols = stmt
        .query_map([table], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<duckdb::Result<Vec<_>>>()?;
    Ok(cols
        .into_iter()
        .map(|(name, ty)| Column {
            name,
            ty: match ty.as_str() {
                "TIMESTAMP" => ColType::Timestamp,
                "INTEGER" | "BIGINT" => ColType::Int,
                "BOOLEAN" => ColType::Bool,
                _ => ColType::Text,
            },
        })
        .collect())
}

/// Canonical vocabularies: (table, column) -> allowed values.
fn vocabularies(conn: &Connection) -> Result<HashMap<(String, String), Vec<String>>> {
    let mut stmt = conn.prepare("select table_name, column_name, value from vocabulary")?;
    let mut out: HashMap<(String, String), Vec<String>> = HashMap::new();
    for row in stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
    })? {
        let (t, c, v) = row?;
        out.entry((t, c)).or_default().push(v);
    }
    Ok(out)
}

/// The mapping for canonical CSV files: every canonical column maps to itself.
fn canonical_profile(conn: &Connection, source_name: &str) -> Result<Profile> {
    let mut kinds = Vec::new();
    for table in ["releases", "changes", "incidents", "satisfaction"] {
        let cols = table_columns(conn, table)?;
        let key = key_column(table);
        kinds.push(KindMap {
            table: table.to_owned(),
            detect: vec![vec![key.to_owned()]],
            // Changes also take `ci`: the CIs they affect (change_cis), one a
            // row or several in one cell separated by `;`.
            columns: cols
                .iter()
                .map(|c| c.name.as_str())
                .chain((table == "changes").then_some("ci"))
                .map(|c| (c.to_owned(), profile::OneOrMany::One(c.to_owned())))
                .collect(),
            key_prefix: None,
            filter: None,
            values: BTreeMap::new(),
            placeholders: BTreeMap::new(),
            rules: Vec::new(),
            version_by: Vec::new(),
            group_rows: false,
            also_release: None,
            strict: true,
        });
    }
    Ok(Profile {
        name: "canonical".into(),
        source: Some(source_name.to_owned()),
        description: "relkpi's own column names, one file per table".into(),
        date_order: None,
        null_values: Vec::new(),
        kinds,
    })
}

pub fn builtin_profiles() -> Result<Vec<Profile>> {
    queries::builtin_profiles()
        .into_iter()
        .map(|(name, text)| Profile::from_toml(text, &format!("built-in profile {name}")))
        .collect()
}

/// Names of the sources relkpi knows, for error messages and help.
pub fn known_sources() -> Vec<String> {
    let mut v: Vec<String> = queries::builtin_profiles().into_iter().map(|p| p.0).collect();
    v.push("canonical".into());
    v
}

/// Pick profile and kind for a file's headers: the kind whose mapping
/// resolves the most canonical columns (see `KindMap::fit`), and a sentence
/// saying why, for the summary.
fn choose<'p>(
    profiles: &'p [Profile],
    headers: &[String],
    first_row: Option<&[String]>,
    opts: &ImportOptions,
    path: &Path,
) -> Result<(&'p Profile, &'p KindMap, String)> {
    let idx = HeaderIndex::new(headers);
    let mut fits: Vec<(profile::Fit, &Profile, &KindMap)> = Vec::new();
    for p in profiles {
        for k in &p.kinds {
            if opts.kind.as_deref().is_some_and(|want| want != k.table) {
                continue;
            }
            if let Some(fit) = k.fit(&idx, first_row) {
                fits.push((fit, p, k));
            }
        }
    }
    // Stable: of equal fits, the first profile (built-ins by name) wins.
    fits.sort_by_key(|f| std::cmp::Reverse(f.0.rank()));
    if let Some((fit, p, k)) = fits.first() {
        let mut why = format!("{} canonical columns resolved", fit.resolved);
        if fit.detect_set {
            why.push_str(", its typical headers present");
        }
        if fit.prefix {
            why.push_str(&format!(
                ", keys start with {}",
                k.key_prefix.as_deref().unwrap_or_default()
            ));
        }
        if let Some((next, np, nk)) = fits.get(1) {
            why.push_str(&format!(
                "; next best {} {} ({} resolved)",
                np.name, nk.table, next.resolved
            ));
        }
        return Ok((p, k, why));
    }
    // Forced source and kind: map anyway; missing columns are reported next.
    if let (Some(kind), true) = (&opts.kind, profiles.len() == 1)
        && let Some(k) = profiles[0].kinds.iter().find(|k| &k.table == kind)
    {
        return Ok((&profiles[0], k, "forced by --source and --kind".to_owned()));
    }
    let shown: Vec<&str> = headers
        .iter()
        .filter(|h| !h.is_empty())
        .map(String::as_str)
        .take(30)
        .collect();
    let mut known = String::new();
    for p in profiles {
        for k in &p.kinds {
            let sets: Vec<String> = k.detect.iter().map(|s| s.join(" + ")).collect();
            known.push_str(&format!("\n  {} {}: headers {}", p.name, k.table, sets.join(" or ")));
        }
    }
    bail!(
        "{}: cannot tell which system and record kind this export is{}.\n  headers found: {}\nknown formats:{known}\nforce one with --source NAME --kind KIND, or describe the export in a mapping profile (--profile FILE, see README \"Mapping profiles\")",
        path.display(),
        opts.kind
            .as_ref()
            .map(|k| format!(" (looking for {k})"))
            .unwrap_or_default(),
        shown.join(", ")
    )
}

/// One mapped value. Compact (24 bytes, where duckdb's `Value` takes 48): a
/// file's records are held until they are staged, and at a million records of
/// twenty columns that halves the import's largest allocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Text(Box<str>),
    Int(i32),
    Boolean(bool),
    /// Microseconds since the epoch.
    Timestamp(i64),
}

impl Cell {
    pub fn is_null(&self) -> bool {
        matches!(self, Cell::Null)
    }
}

/// One row mapped to the canonical table.
#[derive(Debug, Clone)]
pub struct Record {
    pub line: u64,
    pub values: Vec<Cell>,
    pub cis: Vec<String>,
    pub version: Vec<f64>,
    pub release: bool,
}

#[derive(Debug, Clone)]
pub struct Reject {
    pub line: u64,
    pub field: Option<String>,
    pub value: Option<String>,
    pub reason: String,
    pub raw: String,
}

fn ts_value(dt: NaiveDateTime) -> Cell {
    Cell::Timestamp(dt.and_utc().timestamp_micros())
}

fn raw_line(fields: &csv::StringRecord) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record(fields);
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).trim_end().to_owned()
}

/// Everything the per-row mapping needs, resolved once per file.
struct Mapper<'a> {
    columns: Vec<Column>,
    /// canonical column index -> the columns that feed it
    sources: Vec<Option<Vec<usize>>>,
    filter: Option<(usize, Vec<String>)>,
    /// The columns of the `ci` header (several when it repeats).
    ci_headers: Vec<usize>,
    source_header: Option<usize>,
    version_headers: Vec<usize>,
    rules: Vec<(usize, usize, Option<usize>, &'a profile::Rule)>,
    release_rule: Option<(usize, &'a profile::AlsoRelease)>,
    nulls: Vec<String>,
    order: DateOrder,
    format: FileFormat,
    source_name: String,
    /// The canonical table the records go to.
    table: String,
    key: usize,
    headers: Vec<String>,
    /// Per canonical column, resolved once: the profile's vocabulary, its
    /// placeholders, and the canonical values (enumerated columns).
    per_column: Vec<ColumnMaps<'a>>,
}

struct ColumnMaps<'a> {
    vocab: Option<profile::Vocab>,
    placeholders: Option<&'a Vec<String>>,
    allowed: Option<std::collections::HashSet<String>>,
}

impl Mapper<'_> {
    fn is_null(&self, s: &str) -> bool {
        let t = s.trim();
        t.is_empty() || self.nulls.iter().any(|n| n == t)
    }

    fn map_row(&self, row: &read::RawRow, unmapped: &mut Vec<Hit>) -> std::result::Result<Record, Reject> {
        let reject = |field: Option<&str>, value: Option<&str>, reason: String| Reject {
            line: row.line,
            field: field.map(str::to_owned),
            value: value.map(str::to_owned),
            reason,
            raw: raw_line(&row.fields),
        };
        let get = |i: usize| row.fields.get(i).unwrap_or("");
        let mut values = Vec::with_capacity(self.columns.len());
        for (ci, col) in self.columns.iter().enumerate() {
            if col.name == "source" {
                let v = self
                    .source_header
                    .map(get)
                    .filter(|v| !self.is_null(v))
                    .map(|v| v.trim().to_owned())
                    .unwrap_or_else(|| self.source_name.clone());
                values.push(Cell::Text(v.into()));
                continue;
            }
            // Borrowed from the row (or the profile) until the value is built:
            // one allocation per text value, none for the others.
            let mut raw: Option<&str> = self.sources[ci]
                .as_ref()
                .map(|hs| hs.iter().map(|h| get(*h)).find(|v| !self.is_null(v)).unwrap_or(""));
            for (target, when, from, rule) in &self.rules {
                if *target == ci {
                    let w = get(*when).trim();
                    let hit = (rule.nonempty && !self.is_null(w))
                        || rule.equals.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(w))
                        || rule
                            .prefix
                            .as_deref()
                            .is_some_and(|p| w.to_lowercase().starts_with(&p.to_lowercase()));
                    if hit {
                        raw = match from {
                            Some(f) => Some(get(*f)),
                            None => rule.value.as_deref(),
                        };
                        break;
                    }
                }
            }
            let maps = &self.per_column[ci];
            if let Some(r) = raw
                && maps
                    .placeholders
                    .is_some_and(|ps| ps.iter().any(|p| p.eq_ignore_ascii_case(r.trim())))
            {
                unmapped.push((col.name.clone(), format!("placeholder:{}", r.trim()), None));
                values.push(Cell::Null);
                continue;
            }
            let Some(raw) = raw.filter(|r| !self.is_null(r)) else {
                // A vocabulary default ("*") applies to empty values too.
                match maps.vocab.as_ref().and_then(|v| v.default_value()) {
                    Some(d) if self.sources[ci].is_some() => values.push(Cell::Text(d.into())),
                    _ => values.push(Cell::Null),
                }
                continue;
            };
            let header = self.sources[ci]
                .as_ref()
                .map(|h| self.headers[h[0]].as_str())
                .unwrap_or(col.name.as_str());
            let mapped = maps.vocab.as_ref().and_then(|v| v.lookup(raw));
            let text = mapped.unwrap_or_else(|| raw.trim());
            if text.is_empty() {
                values.push(Cell::Null);
                continue;
            }
            let v = match col.ty {
                ColType::Text => {
                    if let Some(allowed) = &maps.allowed {
                        let lower: Box<str> = if text.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
                            text.to_lowercase().into()
                        } else {
                            text.into()
                        };
                        if mapped.is_none() && !allowed.contains(&*lower) {
                            let fallback = keyword_value(&self.table, &col.name, &lower);
                            unmapped.push((col.name.clone(), lower.to_string(), fallback));
                            match fallback {
                                Some(v) => Cell::Text(v.into()),
                                None => Cell::Text(lower),
                            }
                        } else {
                            Cell::Text(lower)
                        }
                    } else {
                        Cell::Text(text.into())
                    }
                }
                ColType::Timestamp => {
                    let parsed = dates::parse(text, self.order).or_else(|| {
                        (self.format == FileFormat::Xlsx)
                            .then(|| dates::from_excel_serial(text))
                            .flatten()
                    });
                    match parsed {
                        Some(dt) => ts_value(dt),
                        None => {
                            return Err(reject(
                                Some(header),
                                Some(raw),
                                format!(
                                    "{header}: {raw:?} is not a date in this file's format ({} order)",
                                    self.order.as_str()
                                ),
                            ));
                        }
                    }
                }
                ColType::Int => match parse_int(text).or_else(|| {
                    // Priorities as words no vocabulary knows (`P2 - High`).
                    let word = (col.name == "priority")
                        .then(|| keyword_value(&self.table, &col.name, text))
                        .flatten()?;
                    unmapped.push((col.name.clone(), text.to_lowercase(), Some(word)));
                    parse_int(word)
                }) {
                    Some(n) if matches!(col.name.as_str(), "priority" | "score") && !(1..=5).contains(&n) => {
                        return Err(reject(
                            Some(header),
                            Some(raw),
                            format!("{header}: {raw:?} is outside 1..5"),
                        ));
                    }
                    Some(n) => Cell::Int(n as i32),
                    None => {
                        return Err(reject(
                            Some(header),
                            Some(raw),
                            format!("{header}: {raw:?} is not a number"),
                        ));
                    }
                },
                ColType::Bool => match parse_bool(text) {
                    Some(b) => Cell::Boolean(b),
                    None => {
                        return Err(reject(
                            Some(header),
                            Some(raw),
                            format!("{header}: {raw:?} is not a yes/no value"),
                        ));
                    }
                },
            };
            values.push(v);
        }
        if values[self.key].is_null() {
            let h = self.sources[self.key]
                .as_ref()
                .map(|h| self.headers[h[0]].clone())
                .unwrap_or_default();
            return Err(reject(
                Some(&h),
                None,
                format!("{h}: the record has no key (empty {h})"),
            ));
        }
        // Every column of the CI header (Jira repeats one per value), each
        // cell possibly a list separated by `;` or line breaks.
        let mut cis: Vec<String> = Vec::new();
        for v in self.ci_headers.iter().map(|h| get(*h)).filter(|v| !self.is_null(v)) {
            add_cis(
                &mut cis,
                v.split([';', '\n'])
                    .map(str::trim)
                    .filter(|c| !c.is_empty() && !self.is_null(c))
                    .map(str::to_owned),
            );
        }
        let version = self
            .version_headers
            .iter()
            .map(|h| get(*h).trim().replace(',', ".").parse::<f64>().unwrap_or(f64::MIN))
            .collect();
        let release = self
            .release_rule
            .is_some_and(|(h, r)| get(h).trim().to_lowercase().starts_with(&r.prefix.to_lowercase()));
        Ok(Record {
            line: row.line,
            values,
            cis,
            version,
            release,
        })
    }
}

/// Rows mapped in parallel at a time (bounded so rows are freed as they go).
const MAP_CHUNK: usize = 1 << 16;

/// What became of one row.
enum Outcome {
    Record(Record),
    Reject(Reject),
    Skipped,
}

/// A file's rows, mapped.
struct Mapped {
    records: Vec<Record>,
    rejects: Vec<Reject>,
    skipped: u64,
    /// (column, value, keyword mapping) not in the vocabulary -> rows holding it.
    unmapped: HashMap<Hit, u64>,
    /// Rows read (blank rows aside).
    rows_read: u64,
}

/// One row, independent of every other: loaded, rejected or skipped, and the
/// unrecognised values it holds. `named`: the header's fields up to the last
/// named one (a row with fewer was cut short).
fn classify(mapper: &Mapper, named: usize, row: read::RawRow) -> (Outcome, Vec<Hit>) {
    let mut hits = Vec::new();
    if let Some((field, reason)) = &row.problem {
        let reject = Reject {
            line: row.line,
            field: Some(field.clone()),
            value: None,
            reason: format!("{field}: {reason}"),
            raw: raw_line(&row.fields),
        };
        return (Outcome::Reject(reject), hits);
    }
    if row.fields.len() < named {
        let reject = Reject {
            line: row.line,
            field: None,
            value: None,
            reason: format!(
                "the row has {} fields but the header names {named}: truncated or misaligned row",
                row.fields.len()
            ),
            raw: raw_line(&row.fields),
        };
        return (Outcome::Reject(reject), hits);
    }
    // Cells beyond the header that hold data: a field with an unquoted
    // delimiter shifted every value after it. Trailing empty cells (Excel, a
    // trailing delimiter) are harmless.
    if let Some(last) = (named..row.fields.len())
        .rev()
        .find(|i| !row.fields[*i].trim().is_empty())
    {
        let extra = last + 1 - named;
        let reject = Reject {
            line: row.line,
            field: None,
            value: Some(row.fields[last].to_owned()),
            reason: format!(
                "{extra} field{} more than the header (which names {named}): a value holds an unquoted delimiter, or the row is misaligned",
                if extra == 1 { "" } else { "s" }
            ),
            raw: raw_line(&row.fields),
        };
        return (Outcome::Reject(reject), hits);
    }
    if let Some((h, values)) = &mapper.filter
        && !values.contains(&row.fields.get(*h).unwrap_or("").trim().to_lowercase())
    {
        return (Outcome::Skipped, hits);
    }
    let out = match mapper.map_row(&row, &mut hits) {
        Ok(r) => Outcome::Record(r),
        Err(r) => Outcome::Reject(r),
    };
    (out, hits)
}

/// Map `first`, then every further row of `table`, a chunk at a time: a
/// thread parses the next chunk while this one's rows are shown to `seen`,
/// then mapped in parallel and freed as they are mapped, so a file's rows are
/// never all in memory. Results keep file order.
fn map_rows(
    mapper: &Mapper,
    named: usize,
    first: Vec<read::RawRow>,
    table: &mut TableReader,
    mut seen: impl FnMut(&[read::RawRow]),
) -> Result<Mapped> {
    let mut out = Mapped {
        records: Vec::new(),
        rejects: Vec::new(),
        skipped: 0,
        unmapped: HashMap::new(),
        rows_read: 0,
    };
    let mut map = |chunk: Vec<read::RawRow>| {
        out.rows_read += chunk.len() as u64;
        let mapped: Vec<(Outcome, Vec<Hit>)> = chunk.into_par_iter().map(|row| classify(mapper, named, row)).collect();
        for (outcome, hits) in mapped {
            for h in hits {
                *out.unmapped.entry(h).or_default() += 1;
            }
            match outcome {
                Outcome::Record(r) => out.records.push(r),
                Outcome::Reject(r) => out.rejects.push(r),
                Outcome::Skipped => out.skipped += 1,
            }
        }
    };
    map(first);
    std::thread::scope(|s| -> Result<()> {
        // One chunk parsed ahead; the reader stops when this side hangs up.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<read::RawRow>>>(1);
        s.spawn(move || {
            loop {
                let chunk = table.next_rows(MAP_CHUNK);
                let last = chunk.as_ref().map_or(true, Vec::is_empty);
                if tx.send(chunk).is_err() || last {
                    break;
                }
            }
        });
        for chunk in rx {
            let chunk = chunk?;
            if chunk.is_empty() {
                break;
            }
            seen(&chunk);
            map(chunk);
        }
        Ok(())
    })?;
    Ok(out)
}

/// The prepared content of one file, before it touches the warehouse.
pub struct Prepared {
    pub summary: FileSummary,
    pub table: String,
    pub columns: Vec<Column>,
    /// Canonical columns the file provides (the others keep stored values on update).
    pub present: Vec<bool>,
    pub records: Vec<Record>,
    pub rejects: Vec<Reject>,
    pub release_type: Option<String>,
    pub sha256: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Read and map one file (no warehouse writes): one `Prepared` per record
/// kind it holds (one, but for mixed exports).
pub fn prepare(conn: &Connection, path: &Path, opts: &ImportOptions) -> Result<Vec<Prepared>> {
    let clock = crate::ui::Phases::start(path.display());
    let bytes = read::read_bytes(path)?;
    let sha256 = sha256_hex(&bytes);
    clock.lap("read and hash");
    let format = read::detect_format(path, &bytes);
    // Rows are parsed as the mapping takes them (a chunk at a time).
    let mut raw: TableReader = read::open_table(path, bytes, format)?;
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
    let first_row: Option<Vec<String>> = raw.peek()?.map(|r| r.fields.iter().map(str::to_owned).collect());
    let (profile, kind, detected) = choose(&profiles, &raw.headers, first_row.as_deref(), opts, path)?;
    let idx = HeaderIndex::new(&raw.headers);
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
    let mut out = vec![prepare_kind(
        conn, path, opts, profile, kind, detected, raw, &sha256, format, &clock,
    )?];
    for k in siblings {
        let raw = read::open_table(path, read::read_bytes(path)?, format)?;
        let why = format!(
            "the rows of this mixed export whose {:?} is one of {}",
            k.filter.as_ref().map(|f| f.header.as_str()).unwrap_or_default(),
            k.filter.as_ref().map(|f| f.values.join(", ")).unwrap_or_default()
        );
        out.push(prepare_kind(
            conn, path, opts, profile, k, why, raw, &sha256, format, &clock,
        )?);
    }
    // A kind none of whose rows the file holds is left out (unless it is the only one).
    if out.len() > 1 {
        let first = out.remove(0);
        out.retain(|p| !p.records.is_empty() || !p.rejects.is_empty());
        if !first.records.is_empty() || !first.rejects.is_empty() || out.is_empty() {
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
    format: FileFormat,
    clock: &crate::ui::Phases,
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
    // The file's date order from the distinct date values it holds (audit logs
    // repeat the same stamps many times); ISO values read the same in every
    // order, so they tell nothing and are not kept.
    let collect_dates = |rows: &[read::RawRow], values: &mut std::collections::HashSet<String>| {
        if forced.is_some() {
            return;
        }
        // On every core: a chunk holds hundreds of thousands of dates.
        let found = rows
            .par_iter()
            .fold(std::collections::HashSet::<&str>::new, |mut found, r| {
                for v in date_cols.iter().filter_map(|c| r.fields.get(*c)) {
                    if !v.trim().is_empty()
                        && !profile.null_values.iter().any(|n| n == v.trim())
                        && !values.contains(v)
                        && !found.contains(v)
                        && !dates::is_iso(v)
                    {
                        found.insert(v);
                    }
                }
                found
            })
            .reduce(std::collections::HashSet::new, |mut a, b| {
                a.extend(b);
                a
            });
        values.extend(found.into_iter().map(str::to_owned));
    };
    let decide = |values: &std::collections::HashSet<String>| -> (DateOrder, Option<String>) {
        if let Some(o) = forced {
            return (o, None);
        }
        let cands = dates::detect_order(values.iter().map(String::as_str));
        match cands.as_slice() {
            [] => (DateOrder::Ymd, None),
            [o] => (*o, None),
            c if c.contains(&DateOrder::Ymd) => (DateOrder::Ymd, None),
            _ => (
                DateOrder::Dmy,
                Some("every date in the file reads both day-first and month-first; assumed day-first (set --date-order or date_order in a profile)".to_owned()),
            ),
        }
    };
    // The order is needed before the first row is mapped, but it is a property
    // of the whole file: the mapping starts with the order the first chunk of
    // rows shows, and if the whole file shows another, maps the file again.
    let mut date_values = std::collections::HashSet::new();
    let first_chunk = raw.next_rows(MAP_CHUNK)?;
    collect_dates(&first_chunk, &mut date_values);
    let (order, _) = decide(&date_values);

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
        columns: columns.clone(),
        per_column,
    };

    // Headers up to the last named one: a row with fewer fields was cut short.
    let named = raw
        .headers
        .iter()
        .rposition(|h| !h.trim().is_empty())
        .map_or(0, |i| i + 1);
    let mut mapped = map_rows(&mapper, named, first_chunk, &mut raw, |rows| {
        collect_dates(rows, &mut date_values)
    })?;
    let (order, warning) = decide(&date_values);
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
        raw = read::open_table(path, read::read_bytes(path)?, format)?;
        mapped = map_rows(&mapper, named, Vec::new(), &mut raw, |_| ())?;
    }
    warnings.extend(warning);
    let Mapped {
        records,
        rejects,
        skipped,
        unmapped,
        rows_read,
    } = mapped;
    let mapped_rows = records.len() as u64;
    let updated_pos = columns.iter().position(|c| c.name == "updated_at");
    clock.lap("map");
    let (records, folded, duplicates) = fold(records, mapper.key, updated_pos, kind.group_rows);
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
    debug_assert_eq!(mapped_rows, records.len() as u64 + folded + duplicates);
    Ok(Prepared {
        summary,
        table: kind.table.clone(),
        columns,
        present,
        records,
        rejects,
        release_type: kind.also_release.as_ref().map(|r| r.release_type.clone()),
        sha256: sha256.to_owned(),
    })
}

/// Add to a record's CI list the CIs it does not hold yet, in order.
fn add_cis(into: &mut Vec<String>, cis: impl IntoIterator<Item = String>) {
    for ci in cis {
        if !into.contains(&ci) {
            into.push(ci);
        }
    }
}

/// Fold the rows of one record: grouped rows merge (first non-empty value wins,
/// all CIs kept); otherwise the latest version wins (updated_at, then the
/// profile's version headers, then file order). Returns (records, folded, exact duplicates).
fn fold(records: Vec<Record>, key: usize, updated: Option<usize>, group: bool) -> (Vec<Record>, u64, u64) {
    // Most files hold each record once: when every key is distinct text there is
    // nothing to fold, and the records stay as they are (no keyed copy of them).
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::with_capacity(records.len());
    let distinct = records.iter().all(|r| match &r.values[key] {
        Cell::Text(s) => seen.insert(&**s),
        _ => false,
    });
    drop(seen);
    if distinct {
        return (records, 0, 0);
    }
    let key_of = |r: &Record| match &r.values[key] {
        Cell::Text(s) => s.to_string(),
        v => format!("{v:?}"),
    };
    let mut order: Vec<String> = Vec::new();
    let mut by_key: HashMap<String, Record> = HashMap::with_capacity(records.len());
    let (mut folded, mut dups) = (0u64, 0u64);
    for r in records {
        let k = key_of(&r);
        match by_key.get_mut(&k) {
            None => {
                order.push(k.clone());
                by_key.insert(k, r);
            }
            Some(kept) if group => {
                for (a, b) in kept.values.iter_mut().zip(r.values) {
                    if a.is_null() {
                        *a = b;
                    }
                }
                add_cis(&mut kept.cis, r.cis);
                kept.release |= r.release;
                folded += 1;
            }
            Some(kept) => {
                if kept.values == r.values {
                    if r.cis.iter().all(|c| kept.cis.contains(c)) {
                        dups += 1;
                        continue;
                    }
                    // The same record again with other CIs (one row per CI):
                    // one record affecting all of them.
                    add_cis(&mut kept.cis, r.cis);
                    folded += 1;
                    continue;
                }
                folded += 1;
                let stamp = |x: &Record| match updated.map(|u| &x.values[u]) {
                    Some(Cell::Timestamp(t)) => *t,
                    _ => i64::MIN,
                };
                // Ties go to the later row.
                let order = (stamp(&r), &r.version).partial_cmp(&(stamp(kept), &kept.version));
                if order != Some(std::cmp::Ordering::Less) {
                    *kept = r;
                }
            }
        }
    }
    let out = order.into_iter().filter_map(|k| by_key.remove(&k)).collect();
    (out, folded, dups)
}
