//! Run KPI files for a period: bind, execute, read typed results; RAG and DORA bands.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use duckdb::Connection;
use duckdb::types::Value;
use serde::Serialize;

use super::Prepared;
use super::defs::{Better, KpiDef, Unit, closest, kpi_defs};
use super::params::Params;
use super::policies::PolicyStatus;
use crate::config::Config;
use crate::period::Period;
use crate::queries;

#[derive(Debug, Clone, Serialize)]
pub struct KpiResult {
    pub id: String,
    pub title: String,
    pub unit: Unit,
    pub better: Better,
    pub value: Option<f64>,
    pub numerator: Option<i64>,
    pub denominator: Option<i64>,
    pub count: i64,
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<BTreeMap<String, String>>,
    /// Red, amber or green against the configured target, when there is one.
    pub rag: Option<Rag>,
}

/// Where a value stands against its target (`[targets]` in relkpi.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rag {
    Red,
    Amber,
    Green,
}

impl Rag {
    pub fn as_str(self) -> &'static str {
        match self {
            Rag::Red => "red",
            Rag::Amber => "amber",
            Rag::Green => "green",
        }
    }
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
            unit: def.unit,
            better: def.better,
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
            dora_band(conn, params, metric, def.dora_value.as_deref(), res)?;
        }
    }
    Ok(out)
}

fn rag(cfg: &Config, r: &KpiResult) -> Option<Rag> {
    let t = cfg.targets.get(&r.id)?;
    let v = r.value?;
    let at_least = |x: f64| if r.better == Better::Higher { v >= x } else { v <= x };
    Some(if at_least(t.green) {
        Rag::Green
    } else if at_least(t.amber) {
        Rag::Amber
    } else {
        Rag::Red
    })
}

/// The result's DORA band for `metric`, by its value or by the `extra` field named.
fn dora_band(conn: &Connection, params: &Params, metric: &str, field: Option<&str>, r: &mut KpiResult) -> Result<()> {
    let value = match field {
        Some(f) => r.extra.get(f).and_then(|v| v.as_f64()),
        None => r.value,
    };
    let sql = queries::text("benchmarks/dora_band.sql").context("dora_band.sql missing")?;
    let mut stmt = conn.prepare(sql)?;
    let mut p = params.clone();
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

/// Run the selected KPIs (all when `ids` is empty) for a period.
pub fn compute(
    conn: &Connection,
    cfg: &Config,
    prep: &Prepared,
    period: &Period,
    by: Option<&str>,
    ids: &[String],
) -> Result<KpiReport> {
    let defs = selected_defs(ids)?;
    let params = prep.params(period, by, cfg);
    let phases = crate::ui::Phases::start(format!("kpi {}", period.label));
    let runs = defs
        .iter()
        .map(|def| {
            let r = run_kept(conn, prep, def, &params, period, by, cfg);
            phases.lap(&def.id);
            r
        })
        .collect();
    Ok(assemble(cfg, prep, period, by, &defs, runs))
}

/// The KPIs of `ids` (all when it is empty), in their files' order; an
/// unknown id is an error that names the closest known one.
pub(super) fn selected_defs(ids: &[String]) -> Result<Vec<KpiDef>> {
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
    Ok(defs
        .into_iter()
        .filter(|d| ids.is_empty() || ids.contains(&d.id))
        .collect())
}

/// `run_kpi`, unless this process made the same run already: the warehouse
/// does not change while relkpi computes (`prepare`).
pub(super) fn run_kept(
    conn: &Connection,
    prep: &Prepared,
    def: &KpiDef,
    params: &Params,
    period: &Period,
    by: Option<&str>,
    cfg: &Config,
) -> Result<Vec<KpiResult>> {
    match prep.run_done(period, by, &def.id) {
        Some(done) => Ok(done),
        None => run_kpi(conn, def, params, by, cfg).inspect(|r| prep.keep_run(period, by, &def.id, r)),
    }
}

/// The report of one period from each KPI's run, in the order of `defs`.
pub(super) fn assemble(
    cfg: &Config,
    prep: &Prepared,
    period: &Period,
    by: Option<&str>,
    defs: &[KpiDef],
    runs: Vec<Result<Vec<KpiResult>>>,
) -> KpiReport {
    let mut kpis = Vec::new();
    let mut errors = Vec::new();
    for (def, result) in defs.iter().zip(runs) {
        match result {
            Ok(mut r) => kpis.append(&mut r),
            Err(e) => errors.push(KpiError {
                id: def.id.clone(),
                error: format!("{e:#}"),
            }),
        }
    }
    KpiReport {
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
    }
}
