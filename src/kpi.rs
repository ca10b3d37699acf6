//! Loads `queries/kpi/*.sql` and `queries/policies/*.sql`, binds the period and
//! settings as named parameters, runs them and returns typed results. Holds no
//! KPI logic: every number comes from the SQL files.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use duckdb::types::Value;
use duckdb::{Connection, Statement};
use serde::Serialize;

use crate::config::Config;
use crate::period::Period;
use crate::queries::{self, SqlFile};

/// A KPI as declared by the header of its SQL file.
#[derive(Debug, Clone, Serialize)]
pub struct KpiDef {
    pub id: String,
    pub title: String,
    pub unit: String,
    pub better: String,
    pub dora: Option<String>,
    /// How the rolling 3-month value is had (`-- rolling:`): `ratio` (the sums of
    /// the monthly numerators over the sums of the denominators, exact when each
    /// record counts in one month), `months` (the mean of the monthly values;
    /// the default for counts) or `recompute` (the KPI over the 3 months; the
    /// default otherwise, and the only way for medians).
    pub rolling: String,
    /// The header's definition and exclusions, in words.
    pub definition: String,
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
    let get = |k: &str| -> Result<String> {
        h.get(k)
            .cloned()
            .with_context(|| format!("{}: header lacks `-- {k}:`", f.origin))
    };
    let better = get("better")?;
    if better != "higher" && better != "lower" {
        bail!("{}: `-- better:` must be higher or lower", f.origin);
    }
    let mut definition = get("definition")?;
    if let Some(x) = h.get("excludes") {
        definition.push_str(" Excludes: ");
        definition.push_str(x);
    }
    let unit = get("unit")?;
    let rolling = match h.get("rolling").map(String::as_str) {
        Some(r @ ("ratio" | "months" | "recompute")) => r.to_owned(),
        Some(other) => bail!("{}: `-- rolling: {other}` must be ratio, months or recompute", f.origin),
        None if unit == "count" => "months".to_owned(),
        None => "recompute".to_owned(),
    };
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
        dora: h.get("dora").cloned(),
        definition,
        needs,
        partial,
        sql: f.sql,
        origin: f.origin,
    })
}

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

/// The named parameters KPI and policy files may use.
pub struct Params {
    values: Vec<(&'static str, Value)>,
}

fn ts(t: chrono::NaiveDateTime) -> Value {
    Value::Timestamp(duckdb::types::TimeUnit::Microsecond, t.and_utc().timestamp_micros())
}

impl Params {
    /// The parameters of a KPI run over `period`, broken down `by` a dimension.
    pub fn new(period: &Period, by: Option<&str>, cfg: &Config, policies_evaluated: i64) -> Params {
        let mut p = Params::settings(cfg, policies_evaluated);
        p.set("period_from", ts(period.from));
        p.set("period_to", ts(period.to));
        p.set("by", Value::Text(by.unwrap_or("none").to_owned()));
        p
    }

    /// The settings alone, for SQL that sees no period (policies, review
    /// cards, exports): a file naming `$period_from` then fails clearly.
    pub fn settings(cfg: &Config, policies_evaluated: i64) -> Params {
        Params {
            values: vec![
                ("window_days", Value::Int(cfg.attribution.window_days)),
                ("major_priority", Value::Int(cfg.attribution.major_priority)),
                ("ci_window", Value::Boolean(cfg.attribution.ci_window)),
                ("tolerance_hours", Value::Double(cfg.schedule.tolerance_hours)),
                ("freeze_windows", Value::Text(cfg.freeze_windows_json())),
                ("policies_evaluated", Value::BigInt(policies_evaluated)),
                ("edition", Value::Int(cfg.dora.edition)),
            ],
        }
    }

    /// Whether a setting is unset or empty (no text, or an empty JSON list).
    pub fn is_empty(&self, name: &str) -> bool {
        match self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v) {
            None | Some(Value::Null) => true,
            Some(Value::Text(t)) => {
                let t = t.trim();
                t.is_empty() || t == "[]"
            }
            Some(_) => false,
        }
    }

    pub fn set(&mut self, name: &'static str, v: Value) {
        self.values.retain(|(n, _)| *n != name);
        self.values.push((name, v));
    }

    /// Bind every parameter the statement names; an unknown name is an error.
    pub fn bind(&self, stmt: &mut Statement<'_>, origin: &str) -> Result<()> {
        for i in 1..=stmt.parameter_count() {
            let name = stmt.parameter_name(i)?;
            let v = self
                .values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .with_context(|| {
                    format!(
                        "{origin}: unknown parameter ${name} (known: {})",
                        self.values
                            .iter()
                            .map(|(n, _)| format!("${n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?;
            stmt.raw_bind_parameter(i, v)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyStatus {
    pub id: String,
    pub title: String,
    pub origin: String,
    pub evaluated: Vec<String>,
    pub not_evaluated: Vec<String>,
    pub violations: i64,
    pub error: Option<String>,
}

/// Run every policy into the temp table `policy_violations`, leaving out the
/// sources where a policy cannot be evaluated (one of its `requires` columns is
/// NULL on every change of that source). A failing policy is reported, not fatal.
pub fn run_policies(conn: &Connection, defs: &[PolicyDef], params: &Params) -> Result<Vec<PolicyStatus>> {
    // policy_evaluated: the sources each policy could be evaluated for, so a
    // KPI can tell "compliant" from "not checked" per source.
    conn.execute_batch(
        "create or replace temp table policy_violations (source varchar, change_id varchar, policy varchar, detail varchar);
         create or replace temp table policy_evaluated (policy varchar, source varchar);",
    )?;
    // Per source, the change columns that are NULL on every change: counted once
    // for all policies (one query, generated from the schema's column names).
    let columns = crate::import::table_columns(conn, "changes")?;
    let counts = columns
        .iter()
        .map(|c| format!("count(\"{}\")", c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = conn.prepare(&format!(
        "select source, {counts} from changes group by source order by source"
    ))?;
    let mut rows = stmt.query([])?;
    let mut empty_by_source: Vec<(String, Vec<String>)> = Vec::new();
    while let Some(r) = rows.next()? {
        let mut empty = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            if r.get::<_, i64>(i + 1)? == 0 {
                empty.push(c.name.clone());
            }
        }
        empty_by_source.push((r.get(0)?, empty));
    }
    drop(rows);
    let mut out = Vec::new();
    for def in defs {
        let mut status = PolicyStatus {
            id: def.id.clone(),
            title: def.title.clone(),
            origin: def.origin.clone(),
            evaluated: Vec::new(),
            not_evaluated: Vec::new(),
            violations: 0,
            error: None,
        };
        let res = (|| -> Result<()> {
            if let Some(col) = def.requires.iter().find(|col| !columns.iter().any(|c| &c.name == *col)) {
                bail!("requires unknown column {col:?} of changes");
            }
            let unset = def.needs_setting.iter().any(|n| params.is_empty(n));
            for (s, empty) in &empty_by_source {
                if unset || def.requires.iter().any(|col| empty.contains(col)) {
                    status.not_evaluated.push(s.clone());
                } else {
                    status.evaluated.push(s.clone());
                }
            }
            if status.evaluated.is_empty() {
                return Ok(());
            }
            let body = def.sql.trim().trim_end_matches(';');
            let mut stmt = conn.prepare(&format!(
                "insert into policy_violations select source, change_id, policy, detail from ({body}\n) v"
            ))?;
            params.bind(&mut stmt, &def.origin)?;
            stmt.raw_execute()?;
            for s in &status.not_evaluated {
                conn.execute(
                    "delete from policy_violations where policy = ? and source = ?",
                    [&def.id, s],
                )?;
            }
            status.violations = conn.query_row(
                "select count(*) from policy_violations where policy = ?",
                [&def.id],
                |r| r.get(0),
            )?;
            for s in &status.evaluated {
                conn.execute("insert into policy_evaluated values (?, ?)", [&def.id, s])?;
            }
            Ok(())
        })();
        if let Err(e) = res {
            status.error = Some(format!("{}: {e:#}", def.origin));
            status.evaluated.clear();
            conn.execute("delete from policy_violations where policy = ?", [&def.id])?;
            conn.execute("delete from policy_evaluated where policy = ?", [&def.id])?;
        }
        out.push(status);
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct KpiResult {
    pub id: String,
    pub title: String,
    pub unit: String,
    pub better: String,
    pub value: Option<f64>,
    pub numerator: Option<i64>,
    pub denominator: Option<i64>,
    pub count: i64,
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<BTreeMap<String, String>>,
    /// red / amber / green against the configured target, when there is one.
    pub rag: Option<String>,
}

/// Run one KPI file; one result per group (one when not broken down).
pub fn run_kpi(
    conn: &Connection,
    def: &KpiDef,
    params: &Params,
    by: Option<&str>,
    cfg: &Config,
) -> Result<Vec<KpiResult>> {
    // Cached: a trend runs each KPI once a month (DuckDB re-binds a cached
    // statement itself when the temp macros it uses are re-created).
    let mut stmt = conn
        .prepare_cached(&def.sql)
        .with_context(|| format!("{}: cannot prepare", def.origin))?;
    params.bind(&mut stmt, &def.origin)?;
    stmt.raw_execute()?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next().with_context(|| format!("{}: failed", def.origin))? {
        let group_value: Option<String> = r.get(0)?;
        let extra_text: Option<String> = r.get(6)?;
        let extra = match extra_text.as_deref().map(serde_json::from_str::<serde_json::Value>) {
            Some(Ok(serde_json::Value::Object(m))) => m,
            _ => serde_json::Map::new(),
        };
        let value: Option<f64> = r.get(1)?;
        out.push(KpiResult {
            id: def.id.clone(),
            title: def.title.clone(),
            unit: def.unit.clone(),
            better: def.better.clone(),
            value: value.filter(|v| v.is_finite()),
            numerator: r.get(2)?,
            denominator: r.get(3)?,
            count: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
            extra,
            note: r.get(5)?,
            group: by.map(|b| BTreeMap::from([(b.to_owned(), group_value.unwrap_or_default())])),
            rag: None,
        });
    }
    drop(rows);
    for res in &mut out {
        res.rag = rag(cfg, res);
        if let Some(metric) = &def.dora {
            dora_band(conn, params, metric, res)?;
        }
    }
    Ok(out)
}

fn rag(cfg: &Config, r: &KpiResult) -> Option<String> {
    let t = cfg.targets.get(&r.id)?;
    let v = r.value?;
    let at_least = |x: f64| if r.better == "higher" { v >= x } else { v <= x };
    Some(
        if at_least(t.green) {
            "green"
        } else if at_least(t.amber) {
            "amber"
        } else {
            "red"
        }
        .to_owned(),
    )
}

fn dora_band(conn: &Connection, params: &Params, metric: &str, r: &mut KpiResult) -> Result<()> {
    let value = match metric {
        "deployment_frequency" => r.extra.get("per_day").and_then(|v| v.as_f64()),
        _ => r.value,
    };
    let sql = queries::text("benchmarks/dora_band.sql").context("dora_band.sql missing")?;
    let mut stmt = conn.prepare(sql)?;
    let mut p = Params {
        values: params.values.clone(),
    };
    p.set("metric", Value::Text(metric.to_owned()));
    p.set("value", value.map(Value::Double).unwrap_or(Value::Null));
    p.bind(&mut stmt, "queries/benchmarks/dora_band.sql")?;
    stmt.raw_execute()?;
    let mut rows = stmt.raw_query();
    let band: Option<String> = match rows.next()? {
        Some(row) => row.get(0)?,
        None => None,
    };
    r.extra.insert(
        "dora_band".into(),
        band.map(serde_json::Value::String).unwrap_or(serde_json::Value::Null),
    );
    Ok(())
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

/// Everything `relkpi kpi` computes for one period.
#[derive(Debug, Clone, Serialize)]
pub struct KpiReport {
    pub period: PeriodOut,
    pub settings: Settings,
    pub kpis: Vec<KpiResult>,
    pub policies: Vec<PolicyStatus>,
    /// KPIs that failed to run: (id, error).
    pub errors: Vec<KpiError>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KpiError {
    pub id: String,
    pub error: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeriodOut {
    pub label: String,
    pub from: String,
    pub to: String,
}

impl From<&Period> for PeriodOut {
    /// The period as the JSON contract shows it: ISO timestamps.
    fn from(p: &Period) -> PeriodOut {
        PeriodOut {
            label: p.label.clone(),
            from: p.from.format("%Y-%m-%dT%H:%M:%S").to_string(),
            to: p.to.format("%Y-%m-%dT%H:%M:%S").to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub window_days: i32,
    pub major_priority: i32,
    pub ci_window: bool,
    pub tolerance_hours: f64,
    pub dora_edition: i32,
    pub by: Option<String>,
}

/// The period the user asked for, or the latest complete month of the data.
pub fn resolve_period(conn: &Connection, args: &crate::cli::PeriodArgs) -> Result<Period> {
    if let Some(p) = &args.period {
        return Period::parse(p);
    }
    if let (Some(f), Some(t)) = (&args.from, &args.to) {
        return Period::custom(f, t);
    }
    let sql = queries::text("meta/latest_activity.sql").context("latest_activity.sql missing")?;
    let latest: Option<chrono::NaiveDateTime> = conn.query_row(sql, [], |r| r.get(0))?;
    Period::latest_complete_month(chrono::Local::now().naive_local(), latest)
}

/// What every KPI run of one process shares: the policies' verdicts on the
/// changes (in the temp table `policy_violations`; they do not depend on the
/// period), run once by `prepare`.
pub struct Prepared {
    pub policies: Vec<PolicyStatus>,
    evaluated: i64,
    /// The attribution reads the warehouse's derived tables (so another
    /// connection can share it for the cost of its temp macros).
    derived: bool,
}

/// A session SQL file (`queries/session/`) with its placeholders filled in:
/// the warehouse's catalog, the table prefix `{t}` and the attribution settings.
fn session_sql(name: &str, db: &str, t: &str, cfg: &Config) -> Result<String> {
    let a = &cfg.attribution;
    Ok(queries::text(&format!("session/{name}"))
        .with_context(|| format!("session/{name} missing"))?
        .replace("{kind}", if t.starts_with("temp.") { "temp" } else { "" })
        .replace("{t}", t)
        .replace("{db}", db)
        .replace("{window_days}", &a.window_days.to_string())
        .replace("{major_priority}", &a.major_priority.to_string())
        .replace("{ci_window}", if a.ci_window { "true" } else { "false" }))
}

/// Name prefix of the warehouse's derived tables (queries/session/attribution_build.sql).
const DERIVED_PREFIX: &str = "derived_";

/// The attribution settings the derived tables are built for, as stored in `derived_meta`.
fn derived_settings(cfg: &Config) -> String {
    let a = &cfg.attribution;
    format!(
        "window_days={} ci_window={} major_priority={}",
        a.window_days, a.ci_window, a.major_priority
    )
}

fn quoted_db(conn: &Connection) -> Result<String> {
    let db: String = conn.query_row("select current_database()", [], |r| r.get(0))?;
    Ok(format!("\"{}\"", db.replace('"', "\"\"")))
}

fn data_version(conn: &Connection) -> Result<String> {
    let sql = queries::text("session/data_version.sql").context("session/data_version.sql missing")?;
    Ok(conn.query_row(sql, [], |r| r.get(0))?)
}

/// Build the attribution tables with prefix `t` and point the temp macros at
/// them: table i of queries/session/attribution_build.sql (created with its
/// rows), then macro i of attribution_macros.sql reading it, so each later
/// table is filled through the macros of the earlier ones.
fn build_attribution(conn: &Connection, db: &str, t: &str, cfg: &Config) -> Result<()> {
    let tables = queries::statements(&session_sql("attribution_build.sql", db, t, cfg)?);
    let macros = queries::statements(&session_sql("attribution_macros.sql", db, t, cfg)?);
    anyhow::ensure!(
        tables.len() == macros.len(),
        "queries/session: attribution_build.sql has {} statements, attribution_macros.sql {}",
        tables.len(),
        macros.len()
    );
    for (table, mac) in tables.iter().zip(&macros) {
        conn.execute_batch(table)
            .context("queries/session/attribution_build.sql")?;
        conn.execute_batch(mac)
            .context("queries/session/attribution_macros.sql")?;
    }
    Ok(())
}

/// A broken invariant of the derived tables (queries/session/derived_checks.sql).
#[derive(Debug)]
struct BrokenInvariant {
    invariant: String,
    expected: i64,
    found: i64,
}

/// Check the attribution tables with prefix `t` against the base tables and
/// the warehouse's macros; an error names every invariant that does not hold.
fn check_attribution(conn: &Connection, db: &str, t: &str, cfg: &Config) -> Result<()> {
    let sql = session_sql("derived_checks.sql", db, t, cfg)?;
    let mut stmt = conn.prepare(&sql).context("queries/session/derived_checks.sql")?;
    let broken = stmt
        .query_map([], |r| {
            Ok(BrokenInvariant {
                invariant: r.get(0)?,
                expected: r.get(1)?,
                found: r.get(2)?,
            })
        })?
        .collect::<duckdb::Result<Vec<_>>>()
        .context("queries/session/derived_checks.sql")?;
    if broken.is_empty() {
        return Ok(());
    }
    let list = broken
        .iter()
        .map(|b| format!("\n  {}: expected {}, found {}", b.invariant, b.expected, b.found))
        .collect::<String>();
    anyhow::bail!(
        "the derived tables do not agree with the warehouse's macros (a defect in relkpi or DuckDB; please report it):{list}"
    )
}

/// Rebuild the warehouse's derived tables (the attribution and the facts, for
/// the configured settings; queries/session/attribution_build.sql) in one
/// transaction, check their invariants in it (derived_checks.sql), and record
/// what they were built from. A broken invariant rolls it all back, so stale
/// tables stay marked as such and KPI runs attribute for themselves.
/// `relkpi import` calls it after loading, so KPI runs start from them.
pub fn derive(conn: &Connection, cfg: &Config) -> Result<()> {
    let db = quoted_db(conn)?;
    let t = format!("{db}.main.{DERIVED_PREFIX}");
    crate::warehouse::in_transaction(conn, "committing the derived tables", || {
        build_attribution(conn, &db, &t, cfg)?;
        check_attribution(conn, &db, &t, cfg)?;
        conn.execute(
            "insert or replace into derived_meta values ('attribution', ?, ?, ?)",
            duckdb::params![
                derived_settings(cfg),
                data_version(conn)?,
                chrono::Local::now().naive_local()
            ],
        )?;
        Ok(())
    })
}

/// Whether the stored derived tables were built for these settings from the
/// data as it is now.
fn derived_current(conn: &Connection, cfg: &Config) -> Result<bool> {
    let stored: Option<(String, String)> = conn
        .query_row(
            "select settings, data_version from derived_meta where name = 'attribution'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            duckdb::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    Ok(match stored {
        Some((settings, version)) => settings == derived_settings(cfg) && version == data_version(conn)?,
        None => false,
    })
}

/// Run the policies and set up the attribution for the configured settings,
/// once per process (the warehouse does not change while relkpi computes):
/// temp macros read the warehouse's derived tables when they are current
/// (built by `relkpi import` for these settings from this data), else tables
/// this process builds in its temp schema (queries/session/).
pub fn prepare(conn: &Connection, cfg: &Config) -> Result<Prepared> {
    let db = quoted_db(conn)?;
    let derived = cfg.attribution.materialize && derived_current(conn, cfg)?;
    if !cfg.attribution.materialize {
        crate::ui::verbose(
            1,
            "attribution.materialize = false: every query attributes through the macros",
        );
    } else if derived {
        let t = format!("{db}.main.{DERIVED_PREFIX}");
        conn.execute_batch(&session_sql("attribution_macros.sql", &db, &t, cfg)?)
            .context("queries/session/attribution_macros.sql")?;
    } else {
        crate::ui::verbose(
            1,
            "derived tables missing, stale or for other settings: attributing in this process",
        );
        build_attribution(conn, &db, "temp.main.cache_", cfg)?;
    }
    let defs = policy_defs(cfg)?;
    let statuses = run_policies(conn, &defs, &Params::settings(cfg, 0))?;
    let evaluated = statuses.iter().filter(|s| !s.evaluated.is_empty()).count() as i64;
    Ok(Prepared {
        policies: statuses,
        evaluated,
        derived,
    })
}

/// Connections `par_map` uses at most.
const MAX_WORKERS: usize = 4;

/// Run independent KPI computations (a period and its KPIs, all when empty;
/// no breakdown), results in job order (see `par_map`).
pub fn compute_many(
    conn: &Connection,
    cfg: &Config,
    prep: &Prepared,
    jobs: &[(Period, Vec<String>)],
) -> Result<Vec<KpiReport>> {
    par_map(conn, cfg, prep, jobs, |conn, prep, (p, ids)| {
        compute(conn, cfg, prep, p, None, ids)
    })
}

/// `f` over independent jobs, results in job order. With cores to spare and
/// the derived tables current, the jobs are shared among connections to the
/// same warehouse, each set up like this one (temp macros and policies: about
/// 0.2 s at a million changes), since one KPI query keeps little more than one
/// core busy. Otherwise they run on this connection in turn.
pub fn par_map<J, T, F>(conn: &Connection, cfg: &Config, prep: &Prepared, jobs: &[J], f: F) -> Result<Vec<T>>
where
    J: Sync,
    T: Send,
    F: Fn(&Connection, &Prepared, &J) -> Result<T> + Sync,
{
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = cores.min(MAX_WORKERS).min(jobs.len());
    if workers < 2 || !prep.derived {
        return jobs.iter().map(|j| f(conn, prep, j)).collect();
    }
    let clones = (1..workers)
        .map(|_| conn.try_clone().context("opening another connection to the warehouse"))
        .collect::<Result<Vec<_>>>()?;
    // Job i goes to worker i % workers; worker 0 is this connection.
    let share = |w: usize| jobs.iter().enumerate().filter(move |(i, _)| i % workers == w);
    let f = &f;
    let mut out: Vec<Option<T>> = jobs.iter().map(|_| None).collect();
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = clones
            .into_iter()
            .enumerate()
            .map(|(n, clone)| {
                s.spawn(move || -> Result<Vec<(usize, T)>> {
                    let prep = prepare(&clone, cfg)?;
                    share(n + 1).map(|(i, j)| Ok((i, f(&clone, &prep, j)?))).collect()
                })
            })
            .collect();
        for (i, j) in share(0) {
            out[i] = Some(f(conn, prep, j)?);
        }
        for h in handles {
            let done = h
                .join()
                .map_err(|_| anyhow::anyhow!("a KPI worker thread panicked"))??;
            for (i, r) in done {
                out[i] = Some(r);
            }
        }
        Ok(())
    })?;
    Ok(out.into_iter().map(|r| r.expect("every job ran")).collect())
}

/// Run the selected KPIs (all when `ids` is empty) for a period.
pub fn compute(
    conn: &Connection,
    cfg: &Config,
    prep: &Prepared,
    period: &Period,
    by: Option<&str>,
    ids: &[String],
) -> Result<KpiReport> {
    let defs = kpi_defs()?;
    for id in ids {
        if !defs.iter().any(|d| &d.id == id) {
            let hint = closest(id, defs.iter().map(|d| d.id.as_str()))
                .map(|c| format!(" (did you mean {c}?)"))
                .unwrap_or_default();
            bail!(
                "unknown KPI {id:?}{hint}; known: {}",
                defs.iter().map(|d| d.id.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
    }
    let params = Params::new(period, by, cfg, prep.evaluated);
    let mut kpis = Vec::new();
    let mut errors = Vec::new();
    for def in defs.iter().filter(|d| ids.is_empty() || ids.contains(&d.id)) {
        match run_kpi(conn, def, &params, by, cfg) {
            Ok(mut r) => kpis.append(&mut r),
            Err(e) => errors.push(KpiError {
                id: def.id.clone(),
                error: format!("{e:#}"),
            }),
        }
    }
    Ok(KpiReport {
        period: PeriodOut::from(period),
        settings: Settings {
            window_days: cfg.attribution.window_days,
            major_priority: cfg.attribution.major_priority,
            ci_window: cfg.attribution.ci_window,
            tolerance_hours: cfg.schedule.tolerance_hours,
            dora_edition: cfg.dora.edition,
            by: by.map(str::to_owned),
        },
        kpis,
        policies: prep.policies.clone(),
        errors,
    })
}

/// One record behind a KPI (queries/records/<id>.sql).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecordRow {
    pub record_id: String,
    pub title: Option<String>,
    pub service: Option<String>,
    pub team: Option<String>,
    pub occurred_at: Option<String>,
    pub value: Option<f64>,
    pub detail: Option<String>,
}

/// The records behind a KPI in a period, when the KPI has a records file.
/// `policy_compliance_rate` needs `policy_violations` (filled by `compute`).
pub fn records(conn: &Connection, id: &str, params: &Params) -> Result<Option<Vec<RecordRow>>> {
    let Some(sql) = queries::text(&format!("records/{id}.sql")) else {
        return Ok(None);
    };
    let origin = format!("queries/records/{id}.sql");
    let mut stmt = conn.prepare(sql).with_context(|| origin.clone())?;
    params.bind(&mut stmt, &origin)?;
    stmt.raw_execute()?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next().with_context(|| origin.clone())? {
        out.push(RecordRow {
            record_id: r.get(0)?,
            title: r.get(1)?,
            service: r.get(2)?,
            team: r.get(3)?,
            occurred_at: r
                .get::<_, Option<chrono::NaiveDateTime>>(4)?
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string()),
            value: r.get(5)?,
            detail: r.get(6)?,
        });
    }
    Ok(Some(out))
}

#[cfg(test)]
mod derived_tests {
    use super::*;

    /// `derive` stores tables that pass their invariants; tables that lost
    /// rows (as the DuckDB defect of attribution_build.sql made them) fail
    /// the check with every broken invariant named.
    #[test]
    fn derived_checks_catch_lost_rows() {
        let dir = tempfile::tempdir().unwrap();
        let wh =
            crate::warehouse::Warehouse::open(&dir.path().join("w.duckdb"), crate::warehouse::Mode::ReadWrite).unwrap();
        let conn = &wh.conn;
        conn.execute_batch(
            "insert into changes (source, change_id, service, actual_end) values
                 ('sn', 'C1', 'pay', timestamp '2025-01-01 10:00'),
                 ('sn', 'C2', 'pay', timestamp '2025-01-05 10:00');
             insert into incidents (source, incident_id, priority, ci, opened_at) values
                 ('sn', 'I1', 1, 'pay', timestamp '2025-01-01 12:00'),
                 ('sn', 'I2', 3, 'pay', timestamp '2025-01-06 12:00'),
                 ('sn', 'I3', 3, 'other', timestamp '2025-01-06 12:00');",
        )
        .unwrap();
        let cfg = Config::default();
        derive(conn, &cfg).unwrap();
        let caused: i64 = conn
            .query_row("select sum(incidents_caused) from derived_change_facts", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(caused, 2, "I1 -> C1, I2 -> C2 by CI window; I3 on another CI");
        let db = quoted_db(conn).unwrap();
        let t = format!("{db}.main.{DERIVED_PREFIX}");
        check_attribution(conn, &db, &t, &cfg).unwrap();
        conn.execute_batch("update derived_change_facts set incidents_caused = 0")
            .unwrap();
        let err = check_attribution(conn, &db, &t, &cfg).unwrap_err().to_string();
        assert!(
            err.contains("incidents caused, summed over the change facts, equal the links: expected 2, found 0"),
            "{err}"
        );
        conn.execute_batch("delete from derived_incident_change_attribution")
            .unwrap();
        let err = check_attribution(conn, &db, &t, &cfg).unwrap_err().to_string();
        assert!(
            err.contains("incident-change links as the macro gives them: expected 2, found 0"),
            "{err}"
        );
    }
}
