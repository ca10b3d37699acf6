//! Each KPI for the N months
//! ending with a period, with a rolling 3-month value alongside: the KPI over
//! the 3 months ending with that month (for ratios, from the three months'
//! numerators and denominators; for medians, computed over the 3 months); for
//! counts, the mean of the three monthly values.

use anyhow::{Context, Result};
use serde::Serialize;

use crate::config::Config;
use crate::kpi::limits::{self, Limits, Sample};
use crate::kpi::{self, Better, PeriodOut, Rolling, Unit};
use crate::period::Period;
use crate::ui::Progress;
use crate::warehouse::Session;

#[derive(Debug, Serialize, Clone)]
pub struct Point {
    pub period: PeriodOut,
    pub value: Option<f64>,
    pub numerator: Option<i64>,
    pub denominator: Option<i64>,
    pub count: i64,
    pub note: Option<String>,
    pub rolling_3m: Option<f64>,
}

#[derive(Debug, Serialize, Clone)]
pub struct Series {
    pub id: String,
    pub title: String,
    pub unit: Unit,
    pub better: Better,
    pub points: Vec<Point>,
    /// Process-behaviour limits and signals (`add_limits`), one per point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
}

#[derive(Debug, Serialize)]
pub struct TrendReport {
    pub period: PeriodOut,
    pub months: u32,
    pub series: Vec<Series>,
}

/// The rolling value of three months' results (see `trend`).
fn roll(how: Rolling, last3: &[(Option<f64>, Option<i64>, Option<i64>)]) -> Option<f64> {
    if last3.len() < 3 {
        return None;
    }
    match how {
        Rolling::Months => {
            let v: Vec<f64> = last3.iter().filter_map(|m| m.0).collect();
            (v.len() == 3).then(|| v.iter().sum::<f64>() / 3.0)
        }
        Rolling::Ratio | Rolling::Recompute => {
            // A month whose value is NULL (no data for the KPI that month, such as
            // no known outcome) contributes nothing: its counts are not zeros of
            // the ratio. Three NULL months give NULL.
            let mut num = 0;
            let mut den = 0;
            let mut any = false;
            for (_, n, d) in last3.iter().filter(|m| m.0.is_some()) {
                num += (*n)?;
                den += (*d)?;
                any = true;
            }
            (any && den > 0).then(|| num as f64 / den as f64)
        }
    }
}

/// The trend of a session's warehouse, with a progress bar.
pub fn trend_with_progress(s: &Session, end: &Period, months: u32, ids: &[String]) -> Result<TrendReport> {
    let progress = Progress::new(u64::from(months), "trend");
    trend(s.conn(), &s.config, s.prepared()?, end, months, ids, &progress)
}

pub fn trend(
    conn: &duckdb::Connection,
    cfg: &Config,
    prep: &kpi::Prepared,
    end: &Period,
    months: u32,
    ids: &[String],
    progress: &Progress,
) -> Result<TrendReport> {
    let mut series: Vec<Series> = Vec::new();
    let defs = kpi::kpi_defs()?;
    let selected = |d: &&kpi::KpiDef| ids.is_empty() || ids.contains(&d.id);
    // How each KPI rolls (its file's `-- rolling:`): counts as the mean of three
    // monthly values (right for the backlog, a stock, too); ratios as the sums
    // of three months' numerators over the sums of their denominators (each
    // record counts in one month, so this equals the KPI over the 3 months,
    // which tests/kpi.rs checks); medians by computing the KPI over the 3 months.
    let rolling_of = |id: &str| {
        defs.iter()
            .find(|d| d.id == id)
            .map_or(Rolling::Recompute, |d| d.rolling)
    };
    let from_months: Vec<String> = defs
        .iter()
        .filter(selected)
        .filter(|d| d.rolling != Rolling::Recompute)
        .map(|d| d.id.clone())
        .collect();
    let windowed: Vec<String> = defs
        .iter()
        .filter(selected)
        .filter(|d| d.rolling == Rolling::Recompute)
        .map(|d| d.id.clone())
        .collect();
    let months = months.max(1);
    let all = end.months_ending(months + 2)?;
    // Every KPI run the trend needs, run together (kpi::compute_many): the two
    // months before the first one shown (for the ratios' rolling values), then
    // each month shown and, for the KPIs recomputed over 3 months, its window.
    let mut jobs: Vec<(Period, Vec<String>)> = Vec::new();
    if !from_months.is_empty() {
        jobs.extend(all[..2].iter().map(|m| (m.clone(), from_months.clone())));
    }
    for m in &all[2..] {
        jobs.push((m.clone(), ids.to_vec()));
        if !windowed.is_empty() {
            let window = Period::custom_dt(
                m.from.checked_sub_months(chrono::Months::new(2)).unwrap_or(m.from),
                m.to,
            )?;
            jobs.push((window, windowed.clone()));
        }
    }
    progress.message(format!("trend: {} months", months));
    let mut reports = kpi::compute_many(conn, cfg, prep, &jobs)?.into_iter();
    // Monthly (value, numerator, denominator), from the two months before the first one shown.
    type Monthly = (Option<f64>, Option<i64>, Option<i64>);
    let mut history: Vec<(String, Vec<Monthly>)> = from_months.iter().map(|id| (id.clone(), Vec::new())).collect();
    if !from_months.is_empty() {
        for rep in reports.by_ref().take(2) {
            for (id, h) in &mut history {
                let k = rep.kpis.iter().find(|k| &k.id == id);
                h.push((
                    k.and_then(|k| k.value),
                    k.and_then(|k| k.numerator),
                    k.and_then(|k| k.denominator),
                ));
            }
        }
    }
    for m in &all[2..] {
        progress.step(format!("trend: {}", m.label));
        let rep = reports.next().context("a trend month without its KPI run")?;
        let rolling = if windowed.is_empty() { None } else { reports.next() };
        for k in rep.kpis {
            let how = rolling_of(&k.id);
            let r = if how == Rolling::Recompute {
                rolling
                    .as_ref()
                    .and_then(|r| r.kpis.iter().find(|x| x.id == k.id))
                    .and_then(|x| x.value)
            } else {
                history.iter_mut().find(|(id, _)| id == &k.id).and_then(|(_, h)| {
                    h.push((k.value, k.numerator, k.denominator));
                    let last3: Vec<Monthly> = h.iter().rev().take(3).copied().collect();
                    roll(how, &last3)
                })
            };
            let point = Point {
                period: PeriodOut::from(m),
                value: k.value,
                numerator: k.numerator,
                denominator: k.denominator,
                count: k.count,
                note: k.note.clone(),
                rolling_3m: r,
            };
            match series.iter_mut().find(|s| s.id == k.id) {
                Some(s) => s.points.push(point),
                None => series.push(Series {
                    id: k.id.clone(),
                    title: k.title.clone(),
                    unit: k.unit,
                    better: k.better,
                    points: vec![point],
                    limits: None,
                }),
            }
        }
    }
    Ok(TrendReport {
        period: PeriodOut::from(end),
        months,
        series,
    })
}

/// The fewest months a series needs for process-behaviour limits.
pub const MIN_LIMIT_MONTHS: usize = 12;

/// The baseline months of a series of `labels` (oldest first): the months
/// from `baseline_from` to `baseline_to` when configured, else the first
/// `baseline_months`.
fn baseline(labels: &[&str], cfg: &crate::config::Limits) -> std::ops::Range<usize> {
    match (&cfg.baseline_from, &cfg.baseline_to) {
        (Some(from), Some(to)) => {
            let inside = |l: &&str| *l >= from.as_str() && *l <= to.as_str();
            let first = labels.iter().position(inside).unwrap_or(labels.len());
            let end = labels.iter().rposition(inside).map_or(first, |i| i + 1);
            first..end
        }
        _ => 0..(cfg.baseline_months as usize).min(labels.len()),
    }
}

/// Add each series' process-behaviour limits (`kpi::limits`): series of at
/// least `MIN_LIMIT_MONTHS` months whose baseline holds enough values.
/// Ratios are bounded to [0, 1], other KPIs to 0 and above.
pub fn add_limits(report: &mut TrendReport, cfg: &crate::config::Limits) {
    for s in &mut report.series {
        if s.points.len() < MIN_LIMIT_MONTHS {
            continue;
        }
        let labels: Vec<&str> = s.points.iter().map(|p| p.period.label.as_str()).collect();
        let base = baseline(&labels, cfg);
        let samples: Vec<Sample> = s
            .points
            .iter()
            .map(|p| Sample {
                value: p.value,
                numerator: p.numerator.map(|n| n as f64),
                denominator: p.denominator.map(|d| d as f64),
            })
            .collect();
        let ratio = s.unit == Unit::Ratio;
        let bounds = if ratio {
            (Some(0.0), Some(1.0))
        } else {
            (Some(0.0), None)
        };
        s.limits = limits::limits(&samples, base, ratio, bounds);
    }
}

#[cfg(test)]
mod tests {
    use super::{Rolling, baseline, roll};

    /// The baseline is the first N months, or the configured months.
    #[test]
    fn baselines() {
        let labels = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"];
        let mut cfg = crate::config::Limits {
            baseline_months: 3,
            ..Default::default()
        };
        assert_eq!(baseline(&labels, &cfg), 0..3);
        cfg.baseline_months = 12;
        assert_eq!(baseline(&labels, &cfg), 0..5);
        cfg.baseline_from = Some("2024-02".into());
        cfg.baseline_to = Some("2024-04".into());
        assert_eq!(baseline(&labels, &cfg), 1..4);
        cfg.baseline_from = Some("2023-01".into());
        cfg.baseline_to = Some("2023-12".into());
        assert_eq!(baseline(&labels, &cfg), 5..5);
    }

    /// Ratios roll as the sums of the months that have a value: a NULL month
    /// (no data that month) adds neither to the numerator nor the denominator.
    #[test]
    fn null_months_add_nothing_to_a_rolling_ratio() {
        // 2/10 and 3/10 with a NULL month of 0/5 between: 5/20, not 5/25.
        let m = [
            (Some(0.2), Some(2), Some(10)),
            (None, Some(0), Some(5)),
            (Some(0.3), Some(3), Some(10)),
        ];
        assert_eq!(roll(Rolling::Ratio, &m), Some(0.25));
        let none = [
            (None, Some(0), Some(5)),
            (None, Some(0), Some(3)),
            (None, Some(0), Some(0)),
        ];
        assert_eq!(roll(Rolling::Ratio, &none), None);
        // Counts roll as the mean of three months, all needed.
        assert_eq!(
            roll(
                Rolling::Months,
                &[
                    (Some(3.0), None, None),
                    (Some(6.0), None, None),
                    (Some(9.0), None, None)
                ]
            ),
            Some(6.0)
        );
        assert_eq!(
            roll(
                Rolling::Months,
                &[(Some(3.0), None, None), (None, None, None), (Some(9.0), None, None)]
            ),
            None
        );
    }
}
