//! `relkpi profile init`: a starting mapping profile for an export relkpi
//! does not know well. The file's headers are matched as an import would
//! (the best-fitting built-in kind), else against every alias of every
//! built-in profile; every other header is offered as a commented candidate,
//! and every distinct value of an enumerated column is listed with the
//! canonical value it would get (profile vocabulary, canonical value, or the
//! keyword rule), so a user maps a custom export by editing, not writing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Result;
use duckdb::Connection;

use super::detect::{canonical_profile, choose, vocabularies};
use super::profile::{HeaderIndex, KindMap, normalize_header};
use super::{ColType, ImportOptions, builtin_profiles, table_columns};
use relkpi_parse::values::keyword_value;

/// Distinct values listed per enumerated column at most.
const MAX_VALUES: usize = 200;

/// A proposed mapping for one file.
pub struct Proposal {
    /// The table the records go to.
    pub table: String,
    /// The built-in profile and kind it starts from, if one fits.
    pub based_on: Option<String>,
    /// Canonical column -> the header proposed for it.
    pub columns: BTreeMap<String, String>,
    /// Headers left unmapped, with a canonical column some built-in profile
    /// maps a header of that name to, when one does.
    pub candidates: Vec<(String, Option<String>)>,
    /// Enumerated canonical column -> (value as found, rows, proposed canonical
    /// value and where it comes from).
    pub values: BTreeMap<String, Vec<ValueProposal>>,
    pub key_prefix: Option<String>,
    pub date_order: String,
}

pub struct ValueProposal {
    pub raw: String,
    pub rows: u64,
    /// (canonical value, "profile" | "canonical" | "keyword"), None when unknown.
    pub mapped: Option<(String, &'static str)>,
}

/// Every alias of every built-in kind: normalised header -> (table, column).
fn aliases() -> Result<BTreeMap<String, BTreeSet<(String, String)>>> {
    let mut out: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for p in builtin_profiles()? {
        for k in &p.kinds {
            for (col, names) in &k.columns {
                for n in names.names() {
                    out.entry(normalize_header(&n))
                        .or_default()
                        .insert((k.table.clone(), col.clone()));
                }
            }
        }
    }
    Ok(out)
}

/// Propose a mapping for `path` (read whole: distinct values need every row).
pub fn propose(conn: &Connection, path: &Path, opts: &ImportOptions) -> Result<Proposal> {
    let (export, _) = super::scan(path)?;
    let mut raw = export.open()?;
    let headers = raw.headers.clone();
    let idx = HeaderIndex::new(&headers);
    let first_row: Option<Vec<String>> = raw.peek()?.map(|r| r.fields.iter().map(str::to_owned).collect());
    let mut profiles = builtin_profiles()?;
    profiles.push(canonical_profile(conn, &opts.source_name)?);
    let alias = aliases()?;
    let chosen = choose(&profiles, &headers, first_row.as_deref(), opts, path).ok();
    // The table: the chosen kind's, else the one most headers have an alias in.
    let table = match (&chosen, &opts.kind) {
        (Some((_, k, _)), _) => k.table.clone(),
        (None, Some(k)) => k.clone(),
        (None, None) => {
            let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
            for h in idx.names() {
                let tables: BTreeSet<&str> = alias.get(h).into_iter().flatten().map(|(t, _)| t.as_str()).collect();
                for t in tables {
                    *votes.entry(t).or_default() += 1;
                }
            }
            votes
                .into_iter()
                .max_by_key(|(_, n)| *n)
                .map(|(t, _)| t.to_owned())
                .unwrap_or_else(|| "changes".to_owned())
        }
    };
    let kind: Option<&KindMap> = chosen.as_ref().map(|(_, k, _)| *k);
    let mut columns: BTreeMap<String, String> = BTreeMap::new();
    if let Some(k) = kind {
        for (col, pos) in k.resolve(&idx) {
            columns.insert(col, headers[pos[0]].trim().to_owned());
        }
    }
    // Headers no column takes yet: an alias of another profile proposes one.
    let mut candidates = Vec::new();
    let taken: BTreeSet<String> = columns.values().map(|h| normalize_header(h)).collect();
    for h in headers.iter().filter(|h| !h.trim().is_empty()) {
        let n = normalize_header(h);
        if taken.contains(&n) {
            continue;
        }
        let col = alias
            .get(&n)
            .into_iter()
            .flatten()
            .find(|(t, c)| t == &table && !columns.contains_key(c))
            .map(|(_, c)| c.clone());
        match col {
            Some(c) if kind.is_none() => {
                columns.insert(c, h.trim().to_owned());
            }
            c => candidates.push((h.trim().to_owned(), c)),
        }
    }
    // Distinct values of the enumerated columns.
    let canonical = vocabularies(conn)?;
    let enumerated: Vec<(String, usize)> = table_columns(conn, &table)?
        .into_iter()
        .filter(|c| {
            canonical.contains_key(&(table.clone(), c.name.clone())) || (c.name == "priority" && c.ty == ColType::Int)
        })
        .filter_map(|c| Some((c.name.clone(), idx.get(columns.get(&c.name)?)?)))
        .collect();
    let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    loop {
        let rows = raw.next_rows(1 << 16)?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            for (col, pos) in &enumerated {
                let v = r.fields.get(*pos).unwrap_or("").trim();
                if v.is_empty() {
                    continue;
                }
                let m = counts.entry(col.clone()).or_default();
                if m.len() < MAX_VALUES || m.contains_key(v) {
                    *m.entry(v.to_owned()).or_default() += 1;
                }
            }
        }
    }
    let mut values = BTreeMap::new();
    for (col, found) in counts {
        let vocab = kind.and_then(|k| k.compiled_vocab(&col));
        let allowed = canonical.get(&(table.clone(), col.clone()));
        let list = found
            .into_iter()
            .map(|(raw, rows)| {
                let lower = raw.to_lowercase();
                let mapped = vocab
                    .as_ref()
                    .and_then(|v| v.lookup(&raw))
                    .map(|v| (v.to_owned(), "profile"))
                    .or_else(|| {
                        allowed
                            .is_some_and(|a| a.contains(&lower))
                            .then(|| (lower.clone(), "canonical"))
                    })
                    .or_else(|| {
                        (col == "priority" && relkpi_parse::values::parse_int(&raw).is_some())
                            .then(|| (raw.clone(), "canonical"))
                    })
                    .or_else(|| keyword_value(&table, &col, &raw).map(|v| (v.to_owned(), "keyword")));
                ValueProposal { raw, rows, mapped }
            })
            .collect();
        values.insert(col, list);
    }
    Ok(Proposal {
        based_on: chosen.as_ref().map(|(p, k, _)| format!("{} {}", p.name, k.table)),
        key_prefix: kind.and_then(|k| k.key_prefix.clone()),
        date_order: chosen
            .as_ref()
            .and_then(|(p, _, _)| p.date_order.clone())
            .unwrap_or_else(|| "auto".to_owned()),
        table,
        columns,
        candidates,
        values,
    })
}
