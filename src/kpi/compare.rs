//! One period against another. For every KPI: both values,
//! the deltas, a verdict that follows the KPI's direction, a significance test
//! (two proportions or Fisher's exact test for ratios, Mann-Whitney U for
//! durations and scores, an exact Poisson-rate test for counts), and the
//! records behind the numbers in each period.

use anyhow::{Context, Result};
use serde::Serialize;

use crate::config::Config;
use crate::kpi::explain::{self, Explanation};
use crate::kpi::{self, Better, KpiDef, KpiResult, PeriodOut, RecordRow, SigTest, stats};
use crate::period::Period;
use crate::warehouse::Session;

/// Which way a KPI moved, whatever the significance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Improved,
    Worsened,
    Unchanged,
}

/// What a comparison concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    #[serde(rename = "improved")]
    Improved,
    #[serde(rename = "worsened")]
    Worsened,
    #[serde(rename = "unchanged")]
    Unchanged,
    #[serde(rename = "not significant")]
    NotSignificant,
    #[serde(rename = "too few records")]
    TooFewRecords,
    #[serde(rename = "no data")]
    NoData,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Worsened => "worsened",
            Verdict::Unchanged => "unchanged",
            Verdict::NotSignificant => "not significant",
            Verdict::TooFewRecords => "too few records",
            Verdict::NoData => "no data",
        }
    }
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Improved => "improved",
            Direction::Worsened => "worsened",
            Direction::Unchanged => "unchanged",
        }
    }
}

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
    pub verdict: Verdict,
    /// Which way it moved, whatever the significance.
    pub direction: Option<Direction>,
    pub test: Option<String>,
    pub p_value: Option<f64>,
    pub records: Records,
    /// Why it moved (`compare --drivers`, the report): the groups' drivers.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
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

/// The period to compare with: `previous`, `year-ago` or a period such as 2023-Q4.
pub fn resolve_against(current: &Period, against: &str) -> Result<Period> {
    match against {
        "previous" => current.previous(),
        "year-ago" | "year_ago" => current.year_ago(),
        other => Period::parse(other),
    }
}

/// When a difference earns a verdict: the test's level and the fewest records.
#[derive(Debug, Clone, Copy)]
pub struct Significance {
    pub level: f64,
    pub min_records: i64,
}

/// Which KPIs' changes `compare` explains by their drivers (`explain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drivers {
    None,
    /// Every KPI compared (`compare --drivers`).
    All,
    /// The KPIs whose verdict is improved or worsened (the report says why
    /// for those only, and spares the breakdowns of the others).
    Moved,
}

/// Compare the session's warehouse over `cur` with `prev`, and explain the
/// changes `drivers` asks for by their groups.
pub fn compare(
    s: &Session,
    cur: &Period,
    prev: &Period,
    ids: &[String],
    sig: Significance,
    drivers: Drivers,
) -> Result<CompareReport> {
    let mut report = compare_on(s.conn(), &s.config, s.prepared()?, cur, prev, ids, sig)?;
    if drivers != Drivers::None {
        let explained =
            |k: &Comparison| drivers == Drivers::All || matches!(k.verdict, Verdict::Improved | Verdict::Worsened);
        let defs = kpi::kpi_defs()?;
        let compared: Vec<&KpiDef> = defs
            .iter()
            .filter(|d| report.kpis.iter().any(|k| k.current.id == d.id && explained(k)))
            .collect();
        for (id, e) in explain::explain(s, &compared, prev, cur)? {
            if let Some(k) = report.kpis.iter_mut().find(|k| k.current.id == id) {
                k.explanation = Some(e);
            }
        }
    }
    Ok(report)
}

fn compare_on(
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
        let params = prep.params(p, None, cfg);
        let records: Vec<(String, Option<Vec<RecordRow>>)> = rep
            .kpis
            .iter()
            .map(|k| Ok((k.id.clone(), kpi::records(conn, &k.id, &params)?)))
            .collect::<Result<_>>()?;
        Ok((rep, records))
    })?;
    let (cur_rep, mut cur_records) = both.pop().context("the current period's KPIs")?;
    let (prev_rep, prev_records) = both.pop().context("the compared period's KPIs")?;
    let defs = kpi::kpi_defs()?;
    let mut out = Vec::new();
    for k in cur_rep.kpis {
        let Some(p) = prev_rep.kpis.iter().find(|x| x.id == k.id) else {
            continue;
        };
        let Some(def) = defs.iter().find(|d| d.id == k.id) else {
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
        out.push(compare_one(def, k, p, cur_recs, prev_recs, cur, prev, sig));
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
    def: &KpiDef,
    c: KpiResult,
    p: &KpiResult,
    cur_recs: Option<Vec<RecordRow>>,
    prev_recs: Option<Vec<RecordRow>>,
    cur: &Period,
    prev: &Period,
    sig: Significance,
) -> Comparison {
    let Significance { level, min_records } = sig;
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
            Direction::Unchanged
        } else if (d > 0.0) == (def.better == Better::Higher) {
            Direction::Improved
        } else {
            Direction::Worsened
        }
    });
    let (test, p_value) = significance(def, &c, p, &cur_recs, &prev_recs, cur, prev);
    let verdict = match direction {
        None => Verdict::NoData,
        Some(_) if c.count < min_records || p.count < min_records => Verdict::TooFewRecords,
        Some(Direction::Unchanged) => Verdict::Unchanged,
        Some(_) if p_value.is_some_and(|pv| pv >= level) => Verdict::NotSignificant,
        Some(Direction::Improved) => Verdict::Improved,
        Some(Direction::Worsened) => Verdict::Worsened,
    };
    let mut records = Records {
        current: cur_recs,
        against: prev_recs,
        entered: None,
        left: None,
    };
    if def.stock {
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
        explanation: None,
    }
}

/// The KPI's significance test (its header's `-- test:`) between the periods:
/// the test's name and p-value, when it applies to these results.
fn significance(
    def: &KpiDef,
    c: &KpiResult,
    p: &KpiResult,
    cur_recs: &[RecordRow],
    prev_recs: &[RecordRow],
    cur: &Period,
    prev: &Period,
) -> (Option<String>, Option<f64>) {
    let u = |x: Option<i64>| x.unwrap_or(0).max(0) as u64;
    let samples = |r: &[RecordRow]| r.iter().filter_map(|x| x.value).collect::<Vec<f64>>();
    match &def.test {
        SigTest::Proportions if c.denominator.is_some() && p.denominator.is_some() => {
            match stats::proportions(u(c.numerator), u(c.denominator), u(p.numerator), u(p.denominator)) {
                Some((pv, name)) => (Some(name.to_owned()), Some(pv)),
                None => (None, None),
            }
        }
        SigTest::MannWhitney => match stats::mann_whitney(&samples(cur_recs), &samples(prev_recs)) {
            Some((_, pv)) => (Some("mann_whitney_u".to_owned()), Some(pv)),
            None => (None, None),
        },
        SigTest::PoissonRate => {
            let pv = stats::poisson_rates(u(Some(c.count)), cur.days(), u(Some(p.count)), prev.days());
            (pv.map(|_| "poisson_rate".to_owned()), pv)
        }
        SigTest::PoissonRatePer { name, field } => {
            let exposure = |k: &KpiResult| k.extra.get(field).and_then(|v| v.as_f64()).unwrap_or(0.0);
            let pv = stats::poisson_rates(
                c.value.unwrap_or(0.0) as u64,
                exposure(c),
                p.value.unwrap_or(0.0) as u64,
                exposure(p),
            );
            (pv.map(|_| name.clone()), pv)
        }
        SigTest::Proportions | SigTest::None => (None, None),
    }
}
