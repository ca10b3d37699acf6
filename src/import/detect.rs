//! Choose the mapping for a file: user profile, built-in profile or canonical
//! CSV, and within it the record kind whose mapping fits the headers best.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Result, bail};
use duckdb::Connection;

use super::profile::{self, HeaderIndex, KindMap, Profile};
use super::{ImportOptions, key_column, table_columns};
use crate::queries;

/// Canonical vocabularies: (table, column) -> allowed values.
pub(super) fn vocabularies(conn: &Connection) -> Result<HashMap<(String, String), Vec<String>>> {
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
pub(super) fn canonical_profile(conn: &Connection, source_name: &str) -> Result<Profile> {
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
pub(super) fn choose<'p>(
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
