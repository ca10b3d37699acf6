//! Mapping profiles: a small TOML file that maps an export's columns, value
//! vocabularies and date order onto the canonical model. The built-in
//! ServiceNow mapping is one (`profiles/servicenow.toml`, compiled in); users
//! pass their own with `--profile FILE`. The canonical-CSV mapping is generated
//! from the warehouse schema itself.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Profile name, used by `--source`.
    pub name: String,
    /// The `source` value written to the canonical tables (default: the name).
    #[serde(default)]
    pub source: Option<String>,
    /// What the profile is for (shown in error messages listing known formats).
    #[serde(default)]
    #[allow(dead_code)]
    pub description: String,
    /// `auto` (detect from the values), `ymd`, `dmy` or `mdy`.
    #[serde(default)]
    pub date_order: Option<String>,
    /// Values read as empty (besides the empty string).
    #[serde(default)]
    pub null_values: Vec<String>,
    /// One mapping per record kind the system exports.
    #[serde(default, rename = "kind")]
    pub kinds: Vec<KindMap>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn names(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindMap {
    /// Canonical table: releases, changes, incidents or satisfaction.
    pub table: String,
    /// Header sets: the kind is detected when every header of one set is present.
    #[serde(default)]
    pub detect: Vec<Vec<String>>,
    /// Detect the kind also when the first record's key starts with this prefix
    /// (ServiceNow numbers: CHG, INC, RLSE), for exports with unusual columns.
    #[serde(default)]
    pub key_prefix: Option<String>,
    /// Canonical column -> the export's header (or candidates, first present wins).
    /// `ci` on changes fills `change_cis`.
    #[serde(default)]
    pub columns: BTreeMap<String, OneOrMany>,
    /// Canonical column -> { export value -> canonical value }. Keys compare
    /// case-insensitively; a key ending in `*` matches a prefix; `*` alone is the default.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// Conditional values: set `column` to `value` when header `when` equals `equals`
    /// (or starts with `prefix`); applied before `values`.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Canonical column -> values that stand for "several / unknown" (such as HP SM's
    /// `#MULTIVALUE`): read as empty and counted as a data-quality finding.
    #[serde(default)]
    pub placeholders: BTreeMap<String, Vec<String>>,
    /// Headers that order versions of one record within a file (audit logs),
    /// after `updated_at`: the latest version is kept.
    #[serde(default)]
    pub version_by: Vec<String>,
    /// Rows sharing a key are one record (one row per affected CI): the first
    /// non-empty value of each column wins, every `ci` is kept.
    #[serde(default)]
    pub group_rows: bool,
    /// Records of this kind are also releases when header `when` starts with `prefix`.
    #[serde(default)]
    pub also_release: Option<AlsoRelease>,
    /// Fail the file on headers the mapping does not know.
    #[serde(default)]
    pub strict: bool,
    /// Only rows where header `header` equals one of `values` are records of this
    /// kind (e.g. Type = Incident); the others are counted as skipped.
    #[serde(default)]
    pub filter: Option<RowFilter>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowFilter {
    pub header: String,
    /// Other labels of the same field (BMC: `Service Type` where older
    /// reports say `Case Type`): the first the file has stands in for
    /// `header` when it lacks that.
    #[serde(default)]
    pub also: Vec<String>,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub column: String,
    /// The value to set (or use `from`).
    #[serde(default)]
    pub value: Option<String>,
    /// Take the value from this header instead of a constant.
    #[serde(default)]
    pub from: Option<String>,
    pub when: String,
    #[serde(default)]
    pub equals: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    /// The rule applies when `when` holds any value.
    #[serde(default)]
    pub nonempty: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlsoRelease {
    pub when: String,
    pub prefix: String,
    #[serde(default = "other")]
    pub release_type: String,
}

fn other() -> String {
    "other".into()
}

impl Profile {
    pub fn source_name(&self) -> &str {
        self.source.as_deref().unwrap_or(&self.name)
    }

    pub fn from_toml(text: &str, origin: &str) -> Result<Profile> {
        let p: Profile = toml::from_str(text).map_err(|e| {
            let line = crate::toml_error_line(text, &e);
            anyhow::anyhow!("{origin}: line {line}: invalid profile: {}", e.message())
        })?;
        for k in &p.kinds {
            if !["releases", "changes", "incidents", "satisfaction"].contains(&k.table.as_str()) {
                bail!(
                    "{origin}: kind table {:?} is not one of releases, changes, incidents, satisfaction",
                    k.table
                );
            }
        }
        Ok(p)
    }

    pub fn from_file(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read profile {}", path.display()))?;
        Self::from_toml(&text, &path.display().to_string())
    }
}

/// A header as relkpi compares it: case, spacing and punctuation folded
/// (`Short description`, `short_description` and `SHORT-DESCRIPTION` are one
/// name), BMC Remedy's decorations dropped (`Status*`, `Change ID*+`: `*`
/// marks a required field, `+` a system one) and Jira's `Custom field (X)`
/// read as `X`.
pub fn normalize_header(h: &str) -> String {
    let t = h.trim().trim_start_matches('\u{feff}').trim();
    let lower = t.to_lowercase();
    let inner = lower
        .strip_prefix("custom field (")
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(&lower);
    let mut out = String::with_capacity(inner.len());
    for c in inner.chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// Headers of a file, looked up by their normalised form (`normalize_header`).
pub struct HeaderIndex {
    map: HashMap<String, Vec<usize>>,
}

impl HeaderIndex {
    pub fn new(headers: &[String]) -> HeaderIndex {
        let mut map: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            let n = normalize_header(h);
            if !n.is_empty() {
                map.entry(n).or_default().push(i);
            }
        }
        HeaderIndex { map }
    }
    /// The first column of that name.
    pub fn get(&self, name: &str) -> Option<usize> {
        self.map.get(&normalize_header(name)).map(|v| v[0])
    }
    /// Every column of that name (Jira repeats `Fix Version/s`, `Component/s`
    /// once per value).
    pub fn all(&self, name: &str) -> &[usize] {
        self.map.get(&normalize_header(name)).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// The normalised names of the file's headers.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }
}

/// How well a file fits one kind of a profile (see `KindMap::fit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fit {
    /// Canonical columns the file's headers resolve (the key included).
    pub resolved: usize,
    /// A `detect` header set of the kind is complete.
    pub detect_set: bool,
    /// The first record's key starts with the kind's `key_prefix`.
    pub prefix: bool,
    /// A strict mapping (canonical CSV) and the file has headers it does not know.
    pub unknown_headers: bool,
}

impl Fit {
    /// The ordering used to pick the best kind: more canonical columns
    /// resolved wins; then a complete detect set; then the key prefix.
    pub fn rank(&self) -> (bool, usize, bool, bool) {
        (!self.unknown_headers, self.resolved, self.detect_set, self.prefix)
    }
}

impl KindMap {
    /// How well the headers fit this kind: None unless the key resolves and
    /// there is some evidence beyond it (a complete detect set, the key
    /// prefix on the first record, or three canonical columns besides the key).
    pub fn fit(&self, idx: &HeaderIndex, first_row: Option<&[String]>) -> Option<Fit> {
        let key = self.table_key_header(idx)?;
        let detect_set = self.detect.iter().any(|set| set.iter().all(|h| idx.has(h)));
        let prefix = self.key_prefix.as_deref().is_some_and(|p| {
            first_row
                .and_then(|r| r.get(key))
                .is_some_and(|v| v.trim().to_lowercase().starts_with(&p.to_lowercase()))
        });
        let resolved = self
            .columns
            .values()
            .filter(|c| c.names().iter().any(|h| idx.has(h)))
            .count();
        let unknown_headers = self.strict && {
            let known: std::collections::HashSet<String> = self
                .columns
                .values()
                .flat_map(|c| c.names())
                .map(|h| normalize_header(&h))
                .collect();
            idx.names().any(|h| !known.contains(h))
        };
        (detect_set || prefix || resolved >= 4).then_some(Fit {
            resolved,
            detect_set,
            prefix,
            unknown_headers,
        })
    }

    fn table_key_header(&self, idx: &HeaderIndex) -> Option<usize> {
        let key = super::key_column(&self.table);
        self.columns.get(key)?.names().iter().find_map(|h| idx.get(h))
    }

    /// Canonical column -> the columns that feed it (a repeated header gives several:
    /// the first non-empty value wins).
    pub fn resolve(&self, idx: &HeaderIndex) -> BTreeMap<String, Vec<usize>> {
        self.columns
            .iter()
            .filter_map(|(col, c)| {
                let cols = c.names().iter().map(|h| idx.all(h)).find(|v| !v.is_empty())?;
                Some((col.clone(), cols.to_vec()))
            })
            .collect()
    }

    /// Map a raw value through the vocabulary of `column`.
    pub fn vocab(&self, column: &str, raw: &str) -> Option<String> {
        self.compiled_vocab(column)?.lookup(raw).map(str::to_owned)
    }

    /// The vocabulary of `column` made ready for many lookups (an import
    /// compiles each column's once, not once a value).
    pub fn compiled_vocab(&self, column: &str) -> Option<Vocab> {
        let table = self.values.get(column)?;
        let mut v = Vocab::default();
        for (k, val) in table {
            let kl = k.to_lowercase();
            if kl == "*" {
                v.default = Some(val.clone());
            } else if let Some(p) = kl.strip_suffix('*') {
                v.prefixes.push((p.to_owned(), val.clone()));
            } else {
                // Keys equal but for case: the first in key order wins.
                v.exact.entry(kl).or_insert_with(|| val.clone());
            }
        }
        // The longest matching prefix wins; of equal lengths, the first in key
        // order (the sort is stable).
        v.prefixes.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        Some(v)
    }
}

/// One column's vocabulary: exact keys (lower-cased), prefixes (longest
/// first) and the default. Keys compare case-insensitively, after trimming.
#[derive(Debug, Clone, Default)]
pub struct Vocab {
    exact: std::collections::HashMap<String, String>,
    prefixes: Vec<(String, String)>,
    default: Option<String>,
}

impl Vocab {
    pub fn lookup(&self, raw: &str) -> Option<&str> {
        let key = crate::values::lowercase(crate::values::trim(raw));
        if let Some(v) = self.exact.get(&*key) {
            return Some(v);
        }
        self.prefixes
            .iter()
            .find(|(p, _)| key.starts_with(p.as_str()))
            .map(|(_, v)| v.as_str())
            .or(self.default.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocab_exact_prefix_default() {
        let p = Profile::from_toml(
            r#"
name = "x"
[[kind]]
table = "changes"
detect = [["Change ID"]]
columns = { change_id = "Change ID" }
[kind.values.change_type]
"Standard*" = "standard"
"Standard Activity*" = "other"
"*" = "normal"
"Emergency" = "emergency"
"#,
            "test",
        )
        .unwrap();
        let k = &p.kinds[0];
        assert_eq!(k.vocab("change_type", "emergency").as_deref(), Some("emergency"));
        assert_eq!(
            k.vocab("change_type", "Standard Change Type 12").as_deref(),
            Some("standard")
        );
        assert_eq!(
            k.vocab("change_type", "Standard Activity Type 3").as_deref(),
            Some("other")
        );
        assert_eq!(k.vocab("change_type", "Master Change").as_deref(), Some("normal"));
    }

    #[test]
    fn bad_profile_names_the_line() {
        let err = Profile::from_toml("name = \"x\"\n\n[[kind]]\ntable = 3\n", "p.toml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("p.toml: line 4"), "{msg}");
    }

    #[test]
    fn headers_compare_without_case_spacing_punctuation_or_decorations() {
        for (a, b) in [
            ("Change ID*+", "change id"),
            ("Status*", "status"),
            ("Assigned Group*+", "assigned group"),
            ("short_description", "short description"),
            ("Short  Description", "short description"),
            ("Custom field (Change type)", "change type"),
            ("Fix Version/s", "fix version s"),
            ("\u{feff}Number", "number"),
            ("CI Name (aff)", "ci name aff"),
        ] {
            assert_eq!(normalize_header(a), b, "{a:?}");
        }
        let idx = HeaderIndex::new(&["Fix versions".into(), "Fix versions".into(), "Status*".into()]);
        assert_eq!(idx.all("fix_versions"), &[0, 1]);
        assert_eq!(idx.get("STATUS"), Some(2));
    }

    /// The kind that resolves the most canonical columns fits best; a key
    /// alone is not evidence enough.
    #[test]
    fn fit_ranks_by_columns_resolved() {
        let p = Profile::from_toml(
            r#"
name = "x"
[[kind]]
table = "changes"
key_prefix = "CHG"
[kind.columns]
change_id = "Number"
state = "State"
outcome = "Close code"
actual_end = "Work end"
[[kind]]
table = "incidents"
key_prefix = "INC"
[kind.columns]
incident_id = "Number"
state = "State"
priority = "Priority"
"#,
            "test",
        )
        .unwrap();
        let headers: Vec<String> = ["Number", "State", "Close Code", "Work End"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let idx = HeaderIndex::new(&headers);
        let row: Vec<String> = ["INC1", "x", "y", "z"].iter().map(|s| s.to_string()).collect();
        let c = p.kinds[0].fit(&idx, Some(&row)).unwrap();
        assert_eq!((c.resolved, c.prefix), (4, false));
        // Two columns resolved and the prefix: still a candidate, ranked lower.
        let i = p.kinds[1].fit(&idx, Some(&row)).unwrap();
        assert_eq!((i.resolved, i.prefix), (2, true));
        assert!(c.rank() > i.rank());
        // The key alone, without a prefix or detect set: no fit.
        let only_key = HeaderIndex::new(&["Number".to_string()]);
        assert!(p.kinds[0].fit(&only_key, None).is_none());
    }
}
