//! `relkpi compare`: one period against another. For every KPI: both values,
//! the deltas, a verdict that follows the KPI's direction, a significance test
//! (two proportions or Fisher's exact test for ratios, Mann-Whitney U for
//! durations and scores, an exact Poisson-rate test for counts), and the
//! records behind the numbers in each period.

use std::io::Write;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::cli::{CompareArgs, Format, GlobalArgs};
use crate::config::Config;
use crate::kpi::{self, KpiResult, Params, PeriodOut, RecordRow};
use crate::output::{self, Grid};
use crate::period::Period;
use crate::stats;
use crate::warehouse::{Mode, Warehouse};

#[derive(Debug, Serialize)]
pub struct AgainstValue {
    pub value: Option<f64>,
    pub numerator: Option<i64>,
    pub denominator: Option<i64>,
    pub count: i64,
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, Default)]
pub struct Records {
    pub current: Vec<RecordRow>,
    pub against: Vec<RecordRow>,
    /// Backlog only: pending at the current period's end but not at the other's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entered: Option<Vec<RecordRow>>,
    /// Backlog only: pending at the other period's end but no longer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left: Option<Vec<RecordRow>>,
}

/// The `kpi` contract for the current period plus the comparison fields.
#[derive(Debug, Serialize)]
pub struct Comparison {
    #[serde(flatten)]
    pub current: KpiResult,
    pub against: AgainstValue,
    pub delta: Option<f64>,
    pub delta_rel: Option<f64>,
    /// improved / worsened / unchanged / not significant / too few records / no data
    pub verdict: String,
    /// improved / worsened / unchanged, whatever the significance.
    pub direction: Option<String>,
    pub test: Option<String>,
    pub p_value: Option<f64>,
    pub records: Records,
}

#[derive(Debug, Serialize)]
pub struct CompareReport {
    pub period: PeriodOut,
    pub against: PeriodOut,
    pub level: f64,
    pub min_records: i64,
    pub settings: kpi::Settings,
    pub kpis: Vec<Comparison>,
    pub errors: Vec<kpi::KpiError>,
}

pub fn resolve_against(current: &Period, a: &CompareArgs) -> Result<Period> {
    if let (Some(f), Some(t)) = (&a.against_from, &a.against_to) {
        return Period::custom(f, t);
    }
    resolve_against_str(current, &a.against)
}

/// `previous`, `year-ago` or a period such as 2023-Q4.
pub fn resolve_against_str(current: &Period, against: &str) -> Result<Period> {
    match against {
        "previous" => current.previous(),
        "year-ago" | "year_ago" => current.year_ago(),
        other => Period::parse(other),
    }
}

const MEDIAN_KPIS: &[&str] = &[
    "release_lead_time",
    "change_lead_time",
    "failed_deployment_recovery_time",
    "user_satisfaction",
];

/// When a difference earns a verdict: the test's level and the fewest records.
#[derive(Debug, Clone, Copy)]
pub struct Significance {
    pub level: f64,
    pub min_records: i64,
}

pub fn compare(
    conn: &duckdb::Connection,
    cfg: &Config,
    prep: &kpi::Prepared,
    cur: &Period,
    prev: &Period,
    ids: &[String],
    sig: Significance,
) -> Result<CompareReport> {
    let Significance { level, min_records } = sig;
    // Each period's KPIs and the records behind them, the two periods side by
    // side (kpi::par_map).
    let mut both = kpi::par_map(conn, cfg, prep, &[prev, cur], |conn, prep, p| {
        let rep = kpi::compute(conn, cfg, prep, p, None, ids)?;
        let params = Params::new(p, None, cfg, 0);
        let records: Vec<(String, Option<Vec<RecordRow>>)> = rep
            .kpis
            .iter()
            .map(|k| Ok((k.id.clone(), kpi::records(conn, &k.id, &params)?)))
            .collect::<Result<_>>()?;
        Ok((rep, records))
    })?;
    let (cur_rep, mut cur_records) = both.pop().context("the current period's KPIs")?;
    let (prev_rep, prev_records) = both.pop().context("the compared period's KPIs")?;
    let mut out = Vec::new();
    for k in cur_rep.kpis {
        let Some(p) = prev_rep.kpis.iter().find(|x| x.id == k.id) else {
            continue;
        };
        let cur_recs = cur_records
            .iter_mut()
            .find(|(id, _)| id == &k.id)
            .and_then(|(_, r)| r.take());
        let prev_recs = prev_records
            .iter()
            .find(|(id, _)| id == &k.id)
            .and_then(|(_, r)| r.clone());
        out.push(compare_one(k, p, cur_recs, prev_recs, cur, prev, level, min_records));
    }
    let mut errors = cur_rep.errors;
    errors.extend(prev_rep.errors);
    Ok(CompareReport {
        period: cur_rep.period,
        against: prev_rep.period,
        level,
        min_records,
        settings: cur_rep.settings,
        kpis: out,
        errors,
    })
}

#[allow(clippy::too_many_arguments)]
fn compare_one(
    c: KpiResult,
    p: &KpiResult,
    cur_recs: Option<Vec<RecordRow>>,
    prev_recs: Option<Vec<RecordRow>>,
    cur: &Period,
    prev: &Period,
    level: f64,
    min_records: i64,
) -> Comparison {
    let cur_recs = cur_recs.unwrap_or_default();
    let prev_recs = prev_recs.unwrap_or_default();
    let delta = match (c.value, p.value) {
        (Some(a), Some(b)) => Some(a - b),
        _ => None,
    };
    let delta_rel = match (delta, p.value) {
        (Some(d), Some(b)) if b != 0.0 => Some(d / b.abs()),
        _ => None,
    };
    let direction = delta.map(|d| {
        if d.abs() < 1e-12 {
            "unchanged"
        } else if (d > 0.0) == (c.better == "higher") {
            "improved"
        } else {
            "worsened"
        }
        .to_owned()
    });
    let u = |x: Option<i64>| x.unwrap_or(0).max(0) as u64;
    let samples = |r: &[RecordRow]| r.iter().filter_map(|x| x.value).collect::<Vec<f64>>();
    let (test, p_value) = if c.unit == "ratio" && c.denominator.is_some() && p.denominator.is_some() {
        match stats::proportions(u(c.numerator), u(c.denominator), u(p.numerator), u(p.denominator)) {
            Some((pv, name)) => (Some(name.to_owned()), Some(pv)),
            None => (None, None),
        }
    } else if MEDIAN_KPIS.contains(&c.id.as_str()) {
        match stats::mann_whitney(&samples(&cur_recs), &samples(&prev_recs)) {
            Some((_, pv)) => (Some("mann_whitney_u".to_owned()), Some(pv)),
            None => (None, None),
        }
    } else if c.id == "deployment_frequency" {
        let pv = stats::poisson_rates(u(Some(c.count)), cur.days(), u(Some(p.count)), prev.days());
        (pv.map(|_| "poisson_rate".to_owned()), pv)
    } else if c.id == "defects_introduced" {
        let rel = |k: &KpiResult| k.extra.get("releases_deployed").and_then(|v| v.as_f64()).unwrap_or(0.0);
        let pv = stats::poisson_rates(
            c.value.unwrap_or(0.0) as u64,
            rel(&c),
            p.value.unwrap_or(0.0) as u64,
            rel(p),
        );
        (pv.map(|_| "poisson_rate_per_release".to_owned()), pv)
    } else {
        (None, None)
    };
    let verdict = match &direction {
        None => "no data".to_owned(),
        Some(_) if c.count < min_records || p.count < min_records => "too few records".to_owned(),
        Some(d) if d == "unchanged" => d.clone(),
        Some(_) if p_value.is_some_and(|pv| pv >= level) => "not significant".to_owned(),
        Some(d) => d.clone(),
    };
    let mut records = Records {
        current: cur_recs,
        against: prev_recs,
        entered: None,
        left: None,
    };
    if c.id == "pending_release_backlog" {
        let ids = |r: &[RecordRow]| {
            r.iter()
                .map(|x| x.record_id.clone())
                .collect::<std::collections::HashSet<_>>()
        };
        let (now, before) = (ids(&records.current), ids(&records.against));
        records.entered = Some(
            records
                .current
                .iter()
                .filter(|r| !before.contains(&r.record_id))
                .cloned()
                .collect(),
        );
        records.left = Some(
            records
                .against
                .iter()
                .filter(|r| !now.contains(&r.record_id))
                .cloned()
                .collect(),
        );
    }
    Comparison {
        against: AgainstValue {
            value: p.value,
            numerator: p.numerator,
            denominator: p.denominator,
            count: p.count,
            extra: p.extra.clone(),
            note: p.note.clone(),
        },
        current: c,
        delta,
        delta_rel,
        verdict,
        direction,
        test,
        p_value,
        records,
    }
}

pub fn run(g: &GlobalArgs, a: CompareArgs) -> Result<u8> {
    let cfg = Config::load(g.config.as_deref(), &g.db)?;
    let wh = Warehouse::open(&g.db, Mode::ReadOnly)?;
    let cur = kpi::resolve_period(&wh.conn, &a.period)?;
    let prev = resolve_against(&cur, &a)?;
    let level = a.level.unwrap_or(cfg.compare.level);
    if !(0.0 < level && level < 1.0) {
        bail!("--level must be between 0 and 1");
    }
    let min_records = a.min_records.unwrap_or(cfg.compare.min_records);
    let prep = kpi::prepare(&wh.conn, &cfg)?;
    let sig = Significance { level, min_records };
    let report = compare(&wh.conn, &cfg, &prep, &cur, &prev, &a.kpi, sig)?;
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => output::write_json(&mut out, &report)?,
        Format::Csv => grid(&report, true).write_csv(&mut out)?,
        Format::Table => {
            writeln!(
                out,
                "{} compared with {} (level {}, at least {} records)",
                report.period.label, report.against.label, level, min_records
            )?;
            grid(&report, false).write_table(&mut out)?;
            if a.records {
                print_records(&mut out, &report)?;
            }
        }
    }
    for e in &report.errors {
        crate::ui::error(format!("KPI {}: {}", e.id, e.error));
    }
    Ok(if report.errors.is_empty() {
        crate::exit::OK
    } else {
        crate::exit::PARTIAL
    })
}

fn grid(r: &CompareReport, raw: bool) -> Grid {
    let mut g = if raw {
        Grid::new(&[
            "id",
            "unit",
            "better",
            "value",
            "against_value",
            "delta",
            "delta_rel",
            "verdict",
            "direction",
            "test",
            "p_value",
            "count",
            "against_count",
        ])
    } else {
        Grid::new(&[
            "KPI",
            r.period.label.as_str(),
            r.against.label.as_str(),
            "change",
            "verdict",
            "p",
        ])
    };
    for k in &r.kpis {
        let c = &k.current;
        if raw {
            g.rows.push(vec![
                c.id.clone(),
                c.unit.clone(),
                c.better.clone(),
                output::fmt_opt(c.value),
                output::fmt_opt(k.against.value),
                output::fmt_opt(k.delta),
                output::fmt_opt(k.delta_rel),
                k.verdict.clone(),
                k.direction.clone().unwrap_or_default(),
                k.test.clone().unwrap_or_default(),
                output::fmt_opt(k.p_value),
                c.count.to_string(),
                k.against.count.to_string(),
            ]);
        } else {
            let change = match (k.delta, k.delta_rel) {
                (Some(d), rel) => {
                    let d = output::fmt_delta(&c.unit, d);
                    match rel {
                        Some(r) => format!("{d} ({:+.0}%)", r * 100.0),
                        None => d,
                    }
                }
                _ => String::new(),
            };
            g.rows.push(vec![
                c.title.clone(),
                output::fmt_value(&c.unit, c.value),
                output::fmt_value(&c.unit, k.against.value),
                change,
                k.verdict.clone(),
                k.p_value.map(|p| format!("{p:.3}")).unwrap_or_default(),
            ]);
        }
    }
    g
}

fn print_records(out: &mut dyn Write, r: &CompareReport) -> Result<()> {
    for k in &r.kpis {
        if k.records.current.is_empty() && k.records.against.is_empty() {
            continue;
        }
        writeln!(out, "\n{} — records behind the numbers", k.current.title)?;
        for (label, recs) in [
            (&r.period.label, &k.records.current),
            (&r.against.label, &k.records.against),
        ] {
            writeln!(out, "  {label}: {} records", recs.len())?;
            for x in recs.iter().take(20) {
                writeln!(
                    out,
                    "    {} {} {} {}",
                    x.record_id,
                    x.occurred_at.as_deref().unwrap_or(""),
                    x.service.as_deref().unwrap_or(""),
                    x.detail.as_deref().unwrap_or("")
                )?;
            }
            if recs.len() > 20 {
                writeln!(out, "    ... {} more (see --format json)", recs.len() - 20)?;
            }
        }
    }
    Ok(())
}
