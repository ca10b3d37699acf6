//! Map each row to a canonical record or a reject with its reason (line,
//! field, value), in parallel chunks.

use std::collections::HashMap;

use anyhow::Result;
use rayon::prelude::*;

use super::dates::DateOrder;
use super::read::{self, FileFormat, TableReader};
use super::{ColType, Column};
use super::{dates, profile};
use relkpi_parse::values::{keyword_value, lowercase, outcome_of_state, parse_bool, parse_int, trim};

/// A value noticed while mapping one row: (canonical column, value, what the
/// keyword rule mapped it to).
pub(super) type Hit = (String, String, Option<&'static str>);

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

pub(super) fn raw_line(fields: &csv::StringRecord) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record(fields);
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).trim_end().to_owned()
}

/// Everything the per-row mapping needs, resolved once per file.
pub(super) struct Mapper<'a> {
    pub(super) columns: Vec<Column>,
    /// canonical column index -> the columns that feed it
    pub(super) sources: Vec<Option<Vec<usize>>>,
    pub(super) filter: Option<(usize, Vec<String>)>,
    /// The columns of the `ci` header (several when it repeats).
    pub(super) ci_headers: Vec<usize>,
    pub(super) source_header: Option<usize>,
    pub(super) version_headers: Vec<usize>,
    pub(super) rules: Vec<(usize, usize, Option<usize>, &'a profile::Rule)>,
    pub(super) release_rule: Option<(usize, &'a profile::AlsoRelease)>,
    pub(super) nulls: Vec<String>,
    pub(super) order: DateOrder,
    pub(super) format: FileFormat,
    pub(super) source_name: String,
    /// The canonical table the records go to.
    pub(super) table: String,
    pub(super) key: usize,
    pub(super) headers: Vec<String>,
    /// Per canonical column, resolved once: the profile's vocabulary, its
    /// placeholders, and the canonical values (enumerated columns).
    pub(super) per_column: Vec<ColumnMaps<'a>>,
    /// Changes: the state and outcome columns, when the export maps both. A
    /// state that names an outcome ("Failed", "Rolled back") gives it to a
    /// change whose outcome is empty or merely successful (Jira's Resolution
    /// "Done" on a failed change), reported as a value mapped by keyword.
    pub(super) outcome_of_state: Option<(usize, usize)>,
}

pub(super) struct ColumnMaps<'a> {
    pub(super) vocab: Option<profile::Vocab>,
    pub(super) placeholders: Option<&'a Vec<String>>,
    pub(super) allowed: Option<std::collections::HashSet<String>>,
}

impl Mapper<'_> {
    fn is_null(&self, s: &str) -> bool {
        self.is_null_trimmed(trim(s))
    }

    /// `is_null` of a value trimmed already.
    fn is_null_trimmed(&self, t: &str) -> bool {
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
        let mut state_text: Option<&str> = None;
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
                    let w = trim(get(*when));
                    let hit = (rule.nonempty && !self.is_null_trimmed(w))
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
            // Trimmed once; `raw` as read stays for the reasons of rejects.
            let trimmed = raw.map(trim);
            if let Some(t) = trimmed
                && maps
                    .placeholders
                    .is_some_and(|ps| ps.iter().any(|p| p.eq_ignore_ascii_case(t)))
            {
                unmapped.push((col.name.clone(), format!("placeholder:{t}"), None));
                values.push(Cell::Null);
                continue;
            }
            // An empty value stays empty: a vocabulary's default ("*") is for
            // values it does not list, not for unknown ones (an HPSM change
            // with no `Originated from` is of unknown origin, not "other").
            let (Some(raw), Some(trimmed)) = (raw, trimmed.filter(|t| !self.is_null_trimmed(t))) else {
                values.push(Cell::Null);
                continue;
            };
            if self.outcome_of_state.is_some_and(|(st, _)| st == ci) {
                state_text = Some(trimmed);
            }
            let header = self.sources[ci]
                .as_ref()
                .map(|h| self.headers[h[0]].as_str())
                .unwrap_or(col.name.as_str());
            let mapped = maps.vocab.as_ref().and_then(|v| v.lookup(trimmed));
            let text = mapped.unwrap_or(trimmed);
            if text.is_empty() {
                values.push(Cell::Null);
                continue;
            }
            let v = match col.ty {
                ColType::Text => {
                    if let Some(allowed) = &maps.allowed {
                        let lower: Box<str> = lowercase(text).into();
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
                    let parsed = dates::parse_micros(text, self.order).or_else(|| {
                        (self.format == FileFormat::Xlsx)
                            .then(|| dates::from_excel_serial(text))
                            .flatten()
                            .map(|dt| dt.and_utc().timestamp_micros())
                    });
                    match parsed {
                        Some(micros) => Cell::Timestamp(micros),
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
        if let (Some((_, oc)), Some(st)) = (self.outcome_of_state, state_text)
            && let Some(o) = outcome_of_state(st)
            && match &values[oc] {
                Cell::Null => true,
                Cell::Text(t) => &**t == "successful",
                _ => false,
            }
        {
            unmapped.push(("outcome".to_owned(), format!("state:{}", lowercase(st)), Some(o)));
            values[oc] = Cell::Text(o.into());
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
/// With chunks mapped while the last ones are inserted (`map_rows`), at 10M
/// changes (release build): 65,536 rows and two mapped chunks waiting peaked
/// at 908 MB (778 MB before the overlap), one waiting 842 MB; 32,768 rows
/// and one waiting 781 MB, the changes' mapping no slower (31-32 s).
pub(super) const MAP_CHUNK: usize = 1 << 15;

/// What became of one row.
pub(super) enum Outcome {
    Record(Record),
    Reject(Reject),
    Skipped,
}

/// A file's rows, mapped.
pub(super) struct Mapped {
    pub(super) records: Vec<Record>,
    pub(super) rejects: Vec<Reject>,
    pub(super) skipped: u64,
    /// (column, value, keyword mapping) not in the vocabulary -> rows holding it.
    pub(super) unmapped: HashMap<Hit, u64>,
    /// Rows read (blank rows aside).
    pub(super) rows_read: u64,
}

/// Chunks of mapped rows, as the mapping hands them on (`map_rows`).
pub(super) type MappedChunks = std::sync::mpsc::Receiver<Result<Vec<(Outcome, Vec<Hit>)>>>;

impl Mapped {
    /// Count a mapped chunk in: its records, rejects, skipped rows and hits.
    pub(super) fn absorb(&mut self, mapped: Vec<(Outcome, Vec<Hit>)>) {
        self.rows_read += mapped.len() as u64;
        for (outcome, hits) in mapped {
            for h in hits {
                *self.unmapped.entry(h).or_default() += 1;
            }
            match outcome {
                Outcome::Record(r) => self.records.push(r),
                Outcome::Reject(r) => self.rejects.push(r),
                Outcome::Skipped => self.skipped += 1,
            }
        }
    }
}

/// One row, independent of every other: loaded, rejected or skipped, and the
/// unrecognised values it holds. `named`: the header's fields up to the last
/// named one (a row with fewer was cut short).
pub(super) fn classify(mapper: &Mapper, named: usize, row: read::RawRow) -> (Outcome, Vec<Hit>) {
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

/// Map `first`, then every further row of `table`, a chunk at a time, in
/// three stages that overlap: a thread parses the next chunk; another shows
/// each chunk's rows to `seen` and maps them in parallel, freeing them as they
/// are mapped; this thread takes the mapped records and hands them to `spill`
/// (DuckDB's insert runs while the next chunk is mapped). A file's rows are
/// never all in memory; results keep file order.
pub(super) fn map_rows(
    mapper: &Mapper,
    named: usize,
    first: Vec<read::RawRow>,
    table: &mut TableReader,
    mut seen: impl FnMut(&[read::RawRow]) + Send,
    spill: &mut super::spill::Spill,
) -> Result<Mapped> {
    let mut out = Mapped {
        records: Vec::new(),
        rejects: Vec::new(),
        skipped: 0,
        unmapped: HashMap::new(),
        rows_read: 0,
    };
    std::thread::scope(|s| -> Result<()> {
        // One chunk parsed ahead; one mapped ahead, held until this thread
        // takes it (a rendezvous: a second one waiting cost memory, not
        // time). Each stage stops when the next one hangs up (an error, or
        // the end).
        let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel::<Result<Vec<read::RawRow>>>(1);
        let (mapped_tx, mapped_rx) = std::sync::mpsc::sync_channel::<Result<Vec<(Outcome, Vec<Hit>)>>>(0);
        s.spawn(move || {
            loop {
                let chunk = table.next_rows(MAP_CHUNK);
                let last = chunk.as_ref().map_or(true, Vec::is_empty);
                if raw_tx.send(chunk).is_err() || last {
                    break;
                }
            }
        });
        s.spawn(move || {
            let map = |chunk: Vec<read::RawRow>| -> Vec<(Outcome, Vec<Hit>)> {
                chunk.into_par_iter().map(|row| classify(mapper, named, row)).collect()
            };
            if !first.is_empty() && mapped_tx.send(Ok(map(first))).is_err() {
                return;
            }
            for chunk in raw_rx {
                let chunk = match chunk {
                    Ok(c) if c.is_empty() => break,
                    Ok(c) => c,
                    Err(e) => {
                        let _ = mapped_tx.send(Err(e));
                        break;
                    }
                };
                seen(&chunk);
                if mapped_tx.send(Ok(map(chunk))).is_err() {
                    break;
                }
            }
        });
        while let Ok(mapped) = mapped_rx.recv() {
            out.absorb(mapped?);
            if spill.take(&mut out.records, false)? == super::spill::Taken::Stream {
                // The rest of the file goes to DuckDB in one statement, from
                // a thread that takes the mapped chunks from here on.
                return spill.stream(&mut out, mapped_rx);
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// Add to a record's CI list the CIs it does not hold yet, in order.
pub(super) fn add_cis(into: &mut Vec<String>, cis: impl IntoIterator<Item = String>) {
    for ci in cis {
        if !into.contains(&ci) {
            into.push(ci);
        }
    }
}
