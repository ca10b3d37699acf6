//! KPI and policy definitions: the typed metadata of each SQL file's header.
//! Everything Rust knows of a KPI comes from here, never from its id.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::config::Config;
use crate::queries::{self, SqlFile};

/// What a KPI's value measures (`-- unit:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// A share of records, 0..1 (shown as a percentage).
    Ratio,
    Count,
    Days,
    Hours,
    /// A satisfaction score.
    Score,
}

/// Which way is better (`-- better:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Higher,
    Lower,
}

/// How the rolling 3-month value is had (`-- rolling:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rolling {
    /// The sums of the monthly numerators over the sums of the denominators
    /// (exact when each record counts in one month).
    Ratio,
    /// The mean of the monthly values (the default for counts).
    Months,
    /// The KPI over the 3 months (the default otherwise; the only way for medians).
    Recompute,
}

/// The significance test `relkpi compare` applies between two periods (`-- test:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SigTest {
    /// Numerators over denominators: two proportions (Fisher's exact test when small).
    Proportions,
    /// The records' values: Mann-Whitney U (medians of durations and scores).
    MannWhitney,
    /// The value is a count of events over the period's days: an exact Poisson-rate test.
    PoissonRate,
    /// The value is a count of events per unit of exposure, the number in the
    /// result's `extra` field named here
    /// (`-- test: poisson_rate_per_release releases_deployed`: test name, field).
    PoissonRatePer {
        name: String,
        field: String,
    },
    None,
}

/// Where a KPI's records appear in the report as a drill-down table.
#[derive(Debug, Clone, Serialize)]
pub struct Drill {
    /// Position among the drill-downs.
    pub order: u32,
    pub title: String,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Ratio => "ratio",
            Unit::Count => "count",
            Unit::Days => "days",
            Unit::Hours => "hours",
            Unit::Score => "score",
        }
    }
}

impl Better {
    pub fn as_str(self) -> &'static str {
        match self {
            Better::Higher => "higher",
            Better::Lower => "lower",
        }
    }
}

/// A KPI as declared by the header of its SQL file.
#[derive(Debug, Clone, Serialize)]
pub struct KpiDef {
    pub id: String,
    pub title: String,
    pub unit: Unit,
    pub better: Better,
    /// The DORA metric whose bands the KPI is placed in (`-- dora: metric
    /// [field]`), compared by its value or by the named `extra` field.
    pub dora: Option<String>,
    #[serde(skip)]
    pub dora_value: Option<String>,
    pub rolling: Rolling,
    /// The header's definition and exclusions, in words.
    pub definition: String,
    /// Position on the report's page (`-- order:`); KPIs without one go last, by id.
    #[serde(skip)]
    pub order: Option<u32>,
    #[serde(skip)]
    pub test: SigTest,
    /// Column position in the report's breakdown tables (`-- breakdown:`).
    #[serde(skip)]
    pub breakdown: Option<u32>,
    /// The report's drill-down table of its records (`-- drill: N Title`).
    #[serde(skip)]
    pub drill: Option<Drill>,
    /// What the records file lists (`-- records-of: releases`), so rows can link
    /// to release review cards.
    #[serde(skip)]
    pub records_of: Option<String>,
    /// A stock measured at the period's end (`-- stock: yes`): a comparison
    /// lists the records that entered and left it.
    #[serde(skip)]
    pub stock: bool,
    /// Canonical columns (`table.column`) without which the KPI is NULL for a
    /// source (`-- needs:`).
    #[serde(skip)]
    pub needs: Vec<String>,
    /// Canonical columns without which the KPI is computed from less, and
    /// what that means (`-- partial: table.column (what) ; ...`).
    #[serde(skip)]
    pub partial: Vec<(String, String)>,
    #[serde(skip)]
    pub sql: String,
    pub origin: String,
}

impl KpiDef {
    /// A rough rank of the KPI's cost, for scheduling (`compute_shared`): 2
    /// when it joins the incidents (millions of rows, keyed by text), plus 1
    /// when it takes a quantile (every value held and sorted).
    pub fn weight(&self) -> u8 {
        let sql = self.sql.to_lowercase();
        let incidents = ["join incidents", "from incidents"].iter().any(|t| sql.contains(t));
        2 * u8::from(incidents) + u8::from(sql.contains("quantile"))
    }

    /// Whether the KPI reads the policies' verdicts (`prepare` runs them into
    /// temp tables of its connection).
    pub fn reads_policies(&self) -> bool {
        ["policy_violations", "policy_evaluated", "$policies_evaluated"]
            .iter()
            .any(|t| self.sql.contains(t))
    }

    /// The page order: by `-- order:`, then by id.
    pub fn rank(&self) -> (u32, &str) {
        (self.order.unwrap_or(u32::MAX), self.id.as_str())
    }
}

/// `-- key: value` lines of a file's leading comment block; continuation lines
/// (`--   more`) extend the previous key.
pub fn header(sql: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in sql.lines() {
        let Some(c) = line.strip_prefix("--") else { break };
        if c.starts_with("   ") || c.starts_with('\t') {
            if let Some(k) = &last {
                let e = out.entry(k.clone()).or_default();
                e.push(' ');
                e.push_str(c.trim());
            }
            continue;
        }
        let c = c.trim();
        if let Some((k, v)) = c.split_once(':')
            && !k.contains(' ')
        {
            out.insert(k.trim().to_owned(), v.trim().to_owned());
            last = Some(k.trim().to_owned());
        } else {
            last = None;
        }
    }
    out
}

fn kpi_def(f: SqlFile) -> Result<KpiDef> {
    let h = header(&f.sql);
    let origin = f.origin.as_str();
    let get = |k: &str| -> Result<String> {
        h.get(k)
            .cloned()
            .with_context(|| format!("{origin}: header lacks `-- {k}:`"))
    };
    let number = |k: &str| -> Result<Option<u32>> {
        h.get(k)
            .map(|v| {
                v.parse::<u32>()
                    .with_context(|| format!("{origin}: `-- {k}: {v}` is not a number"))
            })
            .transpose()
    };
    let better = match get("better")?.as_str() {
        "higher" => Better::Higher,
        "lower" => Better::Lower,
        _ => bail!("{origin}: `-- better:` must be higher or lower"),
    };
    let unit = match get("unit")?.as_str() {
        "ratio" => Unit::Ratio,
        "count" => Unit::Count,
        "days" => Unit::Days,
        "hours" => Unit::Hours,
        "score" => Unit::Score,
        other => bail!("{origin}: `-- unit: {other}` must be ratio, count, days, hours or score"),
    };
    let mut definition = get("definition")?;
    if let Some(x) = h.get("excludes") {
        definition.push_str(" Excludes: ");
        definition.push_str(x);
    }
    let rolling = match h.get("rolling").map(String::as_str) {
        Some("ratio") => Rolling::Ratio,
        Some("months") => Rolling::Months,
        Some("recompute") => Rolling::Recompute,
        Some(other) => bail!("{origin}: `-- rolling: {other}` must be ratio, months or recompute"),
        None if unit == Unit::Count => Rolling::Months,
        None => Rolling::Recompute,
    };
    let test = match h
        .get("test")
        .map(|t| t.split_whitespace().collect::<Vec<_>>())
        .as_deref()
    {
        Some(["proportions"]) => SigTest::Proportions,
        Some(["mann_whitney"]) => SigTest::MannWhitney,
        Some(["poisson_rate"]) => SigTest::PoissonRate,
        Some([name, field]) if name.starts_with("poisson_rate_per_") => SigTest::PoissonRatePer {
            name: (*name).to_owned(),
            field: (*field).to_owned(),
        },
        Some(["none"]) => SigTest::None,
        Some(other) => bail!(
            "{origin}: `-- test: {}` must be proportions, mann_whitney, poisson_rate, poisson_rate_per_X FIELD or none",
            other.join(" ")
        ),
        None if unit == Unit::Ratio => SigTest::Proportions,
        None => SigTest::None,
    };
    let drill = h
        .get("drill")
        .map(|d| -> Result<Drill> {
            let (n, title) = d
                .split_once(' ')
                .with_context(|| format!("{origin}: `-- drill:` is a position and a title"))?;
            Ok(Drill {
                order: n
                    .parse()
                    .with_context(|| format!("{origin}: `-- drill: {d}`: the position is not a number"))?,
                title: title.trim().to_owned(),
            })
        })
        .transpose()?;
    let needs = header_list(&h, "needs");
    let partial = h
        .get("partial")
        .map(|p| {
            p.split(';')
                .filter_map(|item| {
                    let (col, what) = item.trim().split_once(' ')?;
                    Some((
                        col.to_owned(),
                        what.trim().trim_start_matches('(').trim_end_matches(')').to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(KpiDef {
        id: f.id.clone(),
        title: get("title")?,
        unit,
        rolling,
        better,
        dora: h
            .get("dora")
            .and_then(|d| d.split_whitespace().next())
            .map(str::to_owned),
        dora_value: h
            .get("dora")
            .and_then(|d| d.split_whitespace().nth(1))
            .map(str::to_owned),
        definition,
        order: number("order")?,
        test,
        breakdown: number("breakdown")?,
        drill,
        records_of: h.get("records-of").cloned(),
        stock: h.get("stock").is_some_and(|v| v == "yes"),
        needs,
        partial,
        sql: f.sql,
        origin: f.origin,
    })
}

/// Every KPI, by id (`KpiDef::rank` gives the page order).
pub fn kpi_defs() -> Result<Vec<KpiDef>> {
    queries::sql_files("kpi").into_iter().map(kpi_def).collect()
}

/// What a file that lacks the canonical columns `missing` of `table` costs:
/// one sentence per KPI that will be NULL or partial, and per built-in policy
/// that will not be evaluated, for the file's source (from the `-- needs:`
/// and `-- partial:` headers of the KPI files and the policies' `-- requires:`).
pub fn column_costs(table: &str, missing: &[String]) -> Result<Vec<String>> {
    let lacks = |qualified: &str| {
        qualified
            .split_once('.')
            .is_some_and(|(t, c)| t == table && missing.iter().any(|m| m == c))
    };
    let mut out = Vec::new();
    for def in kpi_defs()? {
        if let Some(col) = def.needs.iter().find(|n| lacks(n)) {
            out.push(format!("{}: NULL (no {col})", def.title.to_lowercase()));
            continue;
        }
        for (col, what) in def.partial.iter().filter(|(c, _)| lacks(c)) {
            out.push(format!("{}: no {col}: {what}", def.title.to_lowercase()));
        }
    }
    if table == "changes" {
        for def in queries::sql_files("policies").into_iter().map(policy_def) {
            if let Some(col) = def.requires.iter().find(|c| missing.contains(c)) {
                out.push(format!("policy {}: not evaluated (no changes.{col})", def.id));
            }
        }
    }
    Ok(out)
}

/// A policy file: returns violating changes (source, change_id, policy, detail).
#[derive(Debug, Clone, Serialize)]
pub struct PolicyDef {
    pub id: String,
    pub title: String,
    pub requires: Vec<String>,
    /// Settings the policy checks against (`-- needs-setting:`, e.g. the
    /// freeze windows): while one is empty the policy cannot fire, so it is
    /// not evaluated for any source.
    pub needs_setting: Vec<String>,
    pub definition: String,
    #[serde(skip)]
    pub sql: String,
    pub origin: String,
}

/// A header value that lists names separated by commas (`-- requires: a, b`).
fn header_list(h: &BTreeMap<String, String>, key: &str) -> Vec<String> {
    h.get(key)
        .map(|r| {
            r.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn policy_def(f: SqlFile) -> PolicyDef {
    let h = header(&f.sql);
    PolicyDef {
        id: h.get("policy").cloned().unwrap_or_else(|| f.id.clone()),
        title: h.get("title").cloned().unwrap_or_else(|| f.id.clone()),
        requires: header_list(&h, "requires"),
        definition: h.get("definition").cloned().unwrap_or_default(),
        needs_setting: header_list(&h, "needs-setting"),
        sql: f.sql,
        origin: f.origin,
    }
}

/// Built-in policies plus `*.sql` from the configured folders (a file with the
/// same id replaces the built-in one), minus the disabled ones.
pub fn policy_defs(cfg: &Config) -> Result<Vec<PolicyDef>> {
    let mut defs: BTreeMap<String, PolicyDef> = queries::sql_files("policies")
        .into_iter()
        .map(policy_def)
        .map(|p| (p.id.clone(), p))
        .collect();
    for dir in &cfg.policies.dirs {
        let dir = if dir.is_absolute() {
            dir.clone()
        } else {
            cfg.base_dir.join(dir)
        };
        let entries = std::fs::read_dir(&dir).with_context(|| format!("policy folder {}", dir.display()))?;
        let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for path in files.into_iter().filter(|p| p.extension().is_some_and(|e| e == "sql")) {
            let sql = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let p = policy_def(SqlFile {
                id: path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                origin: path.display().to_string(),
                sql,
            });
            defs.insert(p.id.clone(), p);
        }
    }
    Ok(defs
        .into_values()
        .filter(|p| !cfg.policies.disabled.contains(&p.id))
        .collect())
}

/// Names for error messages: the closest known id to a misspelled one.
pub fn closest<'a>(want: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|k| (strsim(want, k), k))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn strsim(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kpi_headers_name_the_columns_they_need() {
        let defs = kpi_defs().unwrap();
        let cfr = defs.iter().find(|d| d.id == "change_failure_rate").unwrap();
        assert_eq!(cfr.needs, vec!["changes.actual_end"]);
        assert_eq!(
            cfr.partial[0],
            (
                "changes.outcome".to_owned(),
                "counts incident-caused failures only".to_owned()
            )
        );
        // Every named column is a canonical one.
        for d in &defs {
            for c in d.needs.iter().chain(d.partial.iter().map(|p| &p.0)) {
                let (t, _) = c.split_once('.').unwrap_or_else(|| panic!("{}: {c}", d.id));
                assert!(
                    ["changes", "releases", "incidents", "satisfaction"].contains(&t),
                    "{}: {c}",
                    d.id
                );
            }
        }
        let costs = column_costs("changes", &["outcome".to_owned()]).unwrap();
        assert!(
            costs.contains(&"change failure rate: no changes.outcome: counts incident-caused failures only".to_owned()),
            "{costs:?}"
        );
        assert!(
            costs.contains(&"change rollback rate: NULL (no changes.outcome)".to_owned()),
            "{costs:?}"
        );
        assert!(
            costs.contains(&"policy no_outcome: not evaluated (no changes.outcome)".to_owned()),
            "{costs:?}"
        );
    }

    #[test]
    fn every_kpi_file_has_a_complete_header() {
        let defs = kpi_defs().unwrap();
        assert!(defs.len() >= 14);
        for d in defs {
            assert!(!d.title.is_empty() && !d.definition.is_empty(), "{}", d.origin);
        }
    }

    #[test]
    fn closest_names() {
        assert_eq!(
            closest("change_failur_rate", ["change_failure_rate", "rework_rate"].into_iter()),
            Some("change_failure_rate")
        );
        assert_eq!(closest("zzz", ["rework_rate"].into_iter()), None);
    }
}
