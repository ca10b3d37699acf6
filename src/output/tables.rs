//! The tables relkpi prints for people: the KPIs of a period, an import's summary.

use std::io::Write;

use anyhow::Result;

use super::Grid;
use crate::cli::Format;
use crate::import::FileSummary;
use crate::kpi::KpiReport;
use crate::kpi::Unit;
use crate::kpi::drivers::{Counts, Driver};
use crate::kpi::explain::{GroupMedian, GroupValue};
use crate::kpi::limits::{ChartKind, Rule};
use crate::kpi::trend::TrendReport;

/// The KPI rows; `raw` keeps machine values (CSV), else values are formatted.
pub fn kpi_grid(report: &KpiReport, raw: bool) -> Grid {
    let by = report.settings.by.clone();
    let mut headers = vec!["id", "title", "unit", "better"];
    if let Some(b) = &by {
        headers.push(b);
    }
    headers.extend(["value", "numerator", "denominator", "count", "dora_band", "rag", "note"]);
    if raw {
        headers.push("extra");
    }
    let mut g = Grid::new(&headers);
    for k in &report.kpis {
        let mut row = vec![
            k.id.clone(),
            k.title.clone(),
            k.unit.as_str().to_owned(),
            k.better.as_str().to_owned(),
        ];
        if let Some(b) = &by {
            row.push(k.group.as_ref().and_then(|g| g.get(b)).cloned().unwrap_or_default());
        }
        row.push(if raw {
            super::fmt_opt(k.value)
        } else {
            super::fmt_value(k.unit, k.value)
        });
        row.push(super::fmt_opt(k.numerator));
        row.push(super::fmt_opt(k.denominator));
        row.push(k.count.to_string());
        row.push(
            k.extra
                .get("dora_band")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_owned(),
        );
        row.push(k.rag.map(|r| r.as_str()).unwrap_or_default().to_owned());
        row.push(k.note.clone().unwrap_or_default());
        if raw {
            row.push(serde_json::Value::Object(k.extra.clone()).to_string());
        }
        g.rows.push(row);
    }
    g
}

pub fn print_kpi_table(out: &mut dyn Write, report: &KpiReport) -> Result<()> {
    writeln!(
        out,
        "KPIs for {} [{} .. {}), window {} days, major priority <= {}",
        report.period.label,
        report.period.from,
        report.period.to,
        report.settings.window_days,
        report.settings.major_priority
    )?;
    let mut g = kpi_grid(report, false);
    // The table drops the unit and direction columns: the value shows the unit.
    for r in g.rows.iter_mut() {
        r.remove(3);
        r.remove(2);
        r.remove(0);
    }
    g.headers.remove(3);
    g.headers.remove(2);
    g.headers.remove(0);
    g.write_table(out)?;
    let not_eval: Vec<String> = report
        .policies
        .iter()
        .filter(|p| !p.not_evaluated.is_empty())
        .map(|p| format!("{} ({})", p.id, p.not_evaluated.join(", ")))
        .collect();
    if !not_eval.is_empty() {
        writeln!(out, "policies not evaluated (no data): {}", not_eval.join("; "))?;
    }
    Ok(())
}

/// The summary of one file, as printed after it.
pub fn import_summary(s: &FileSummary) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = write!(
        out,
        "{}: {} {} ({} {}, dates {}), batch {}",
        s.file, s.source, s.kind, s.format, s.encoding, s.date_order, s.batch_id
    );
    let _ = write!(
        out,
        "\n  read {} = inserted {} + updated {} + unchanged {} + stale {} + folded {} + blank {} + skipped {} + rejected {}",
        s.read, s.inserted, s.updated, s.unchanged, s.stale, s.folded, s.blank, s.skipped, s.rejected
    );
    if s.derived_releases > 0 {
        let _ = write!(out, "\n  releases derived from release changes: {}", s.derived_releases);
    }
    if !s.detected.is_empty() {
        let _ = write!(out, "\n  detected: {}", s.detected);
    }
    let cov = &s.coverage;
    if !cov.used.is_empty() {
        let used: Vec<String> = cov
            .used
            .iter()
            .map(|u| format!("{} <- {:?}", u.column, u.header))
            .collect();
        let _ = write!(out, "\n  columns used: {}", used.join(", "));
    }
    if !cov.ignored.is_empty() {
        let _ = write!(out, "\n  headers ignored: {}", cov.ignored.join(", "));
    }
    if !cov.missing.is_empty() {
        let _ = write!(out, "\n  canonical columns left empty: {}", cov.missing.join(", "));
    }
    for c in &cov.costs {
        let _ = write!(out, "\n  cost: {c}");
    }
    for u in &s.unmapped_values {
        match &u.mapped_to {
            // A change whose state names its outcome (`map::Mapper::outcome_of_state`).
            Some(v) if u.value.starts_with("state:") => {
                let _ = write!(
                    out,
                    "\n  {} {v:?} taken from state {:?} ({} rows)",
                    u.column,
                    &u.value["state:".len()..],
                    u.rows
                );
            }
            Some(v) => {
                let _ = write!(
                    out,
                    "\n  unrecognised {} value {:?} mapped to {v:?} by keyword ({} rows)",
                    u.column, u.value, u.rows
                );
            }
            None => {
                let _ = write!(
                    out,
                    "\n  unrecognised {} value {:?} kept as is ({} rows)",
                    u.column, u.value, u.rows
                );
            }
        }
    }
    for w in &s.warnings {
        let _ = write!(out, "\n  warning: {w}");
    }
    if s.rejected > 0 {
        let _ = write!(
            out,
            "\n  {} rows rejected: see `relkpi sql \"select * from import_rejects where batch_id = {} order by line\"`",
            s.rejected, s.batch_id
        );
    }
    out
}

/// A trend as JSON, CSV or a table of months.
pub fn write_trend(out: &mut dyn Write, format: Format, report: &TrendReport) -> Result<()> {
    match format {
        Format::Json => super::write_json(out, &report)?,
        Format::Csv => {
            let with_limits = report.series.iter().any(|s| s.limits.is_some());
            let mut headers = vec![
                "id",
                "period",
                "from",
                "to",
                "value",
                "numerator",
                "denominator",
                "count",
                "rolling_3m",
                "note",
            ];
            if with_limits {
                headers.extend(["chart", "centre", "lower_limit", "upper_limit", "signals"]);
            }
            let mut grid = Grid::new(&headers);
            for s in &report.series {
                for (i, p) in s.points.iter().enumerate() {
                    let mut row = vec![
                        s.id.clone(),
                        p.period.label.clone(),
                        p.period.from.clone(),
                        p.period.to.clone(),
                        super::fmt_opt(p.value),
                        super::fmt_opt(p.numerator),
                        super::fmt_opt(p.denominator),
                        p.count.to_string(),
                        super::fmt_opt(p.rolling_3m),
                        p.note.clone().unwrap_or_default(),
                    ];
                    if with_limits {
                        let l = s.limits.as_ref();
                        let at = l.and_then(|l| l.points.get(i)).and_then(Option::as_ref);
                        row.extend([
                            l.map(|l| chart_name(l.kind)).unwrap_or_default().to_owned(),
                            super::fmt_opt(at.map(|x| x.centre)),
                            super::fmt_opt(at.map(|x| x.lower)),
                            super::fmt_opt(at.map(|x| x.upper)),
                            at.map(|x| x.signals.iter().map(|r| rule_name(*r)).collect::<Vec<_>>().join(";"))
                                .unwrap_or_default(),
                        ]);
                    }
                    grid.rows.push(row);
                }
            }
            grid.write_csv(out)?;
        }
        Format::Table => {
            let labels: Vec<String> = report
                .series
                .first()
                .map(|s| s.points.iter().map(|p| p.period.label.clone()).collect())
                .unwrap_or_default();
            let mut headers: Vec<&str> = vec!["KPI"];
            headers.extend(labels.iter().map(String::as_str));
            let mut grid = Grid::new(&headers);
            for s in &report.series {
                let mut row = vec![s.title.clone()];
                row.extend(s.points.iter().map(|p| super::fmt_value(s.unit, p.value)));
                grid.rows.push(row);
            }
            writeln!(out, "{} months ending {}", report.months, report.period.label)?;
            grid.write_table(out)?;
            for s in &report.series {
                let Some(l) = &s.limits else { continue };
                let label = |i: usize| s.points.get(i).map_or("", |p| p.period.label.as_str());
                let base = format!(
                    "{} .. {}",
                    label(l.baseline_from),
                    label(l.baseline_to.saturating_sub(1))
                );
                let last = l.points.iter().rev().flatten().next();
                let bounds = last
                    .map(|p| {
                        format!(
                            "limits {} .. {}",
                            super::fmt_value(s.unit, Some(p.lower)),
                            super::fmt_value(s.unit, Some(p.upper))
                        )
                    })
                    .unwrap_or_default();
                writeln!(
                    out,
                    "\n{}: {} chart, centre {}, {bounds} (baseline {base}, {} months)",
                    s.title,
                    chart_name(l.kind),
                    super::fmt_value(s.unit, Some(l.centre)),
                    l.baseline_points
                )?;
                let signals: Vec<String> = l
                    .points
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| {
                        let p = p.as_ref().filter(|p| !p.signals.is_empty())?;
                        let rules: Vec<&str> = p.signals.iter().map(|r| rule_name(*r)).collect();
                        Some(format!("{} ({})", label(i), rules.join(", ")))
                    })
                    .collect();
                if signals.is_empty() {
                    writeln!(out, "  routine variation: no signals")?;
                } else {
                    writeln!(out, "  signals: {}", signals.join("; "))?;
                }
            }
        }
    }
    Ok(())
}

/// The chart's name for people: XmR or p-chart.
pub fn chart_name(k: ChartKind) -> &'static str {
    match k {
        ChartKind::Xmr => "XmR",
        ChartKind::P => "p-chart",
    }
}

/// A signal rule for people.
pub fn rule_name(r: Rule) -> &'static str {
    match r {
        Rule::OutsideLimits => "outside the limits",
        Rule::RunOfEight => "8 in a row on one side of the centre",
        Rule::ThreeOfFour => "3 of 4 near a limit",
    }
}

/// One driver for people: "service Payments: +4.1 pp (rate +3.0 pp, mix
/// +1.1 pp; 9/60 → 21/64)", or for counts "team Ops: +5 (3 → 8)".
pub fn driver_text(unit: Unit, d: &Driver) -> String {
    let dim = d.dimension.replace('_', " ");
    let moved = format!(
        "{} → {}",
        figures(d.from.as_ref(), "none"),
        figures(d.to.as_ref(), "none")
    );
    if unit == Unit::Ratio {
        format!(
            "{dim} {}: {} (rate {}, mix {}; {moved})",
            d.group,
            super::fmt_delta(unit, d.total),
            super::fmt_delta(unit, d.rate_effect),
            super::fmt_delta(unit, d.mix_effect)
        )
    } else {
        format!("{dim} {}: {} ({moved})", d.group, super::fmt_delta(unit, d.total))
    }
}

/// A group's figures: "9/60" for a ratio, "11" for a count, `none` when absent.
fn figures(c: Option<&Counts>, none: &str) -> String {
    match c {
        Some(Counts {
            numerator,
            denominator: Some(den),
        }) => format!("{numerator}/{den}"),
        Some(Counts { numerator, .. }) => numerator.to_string(),
        None => none.to_owned(),
    }
}

/// The largest drivers in one sentence, for the report's tiles: "Payments
/// (service) +4.1 pp, 9/60 → 21/64; emergency (change type) +2.2 pp of mix,
/// 11 → 25 records."
pub fn drivers_sentence(unit: Unit, drivers: &[&Driver]) -> String {
    let parts: Vec<String> = drivers
        .iter()
        .map(|d| {
            let of_mix = unit == Unit::Ratio && d.mix_effect.abs() > d.rate_effect.abs();
            let (from, to) = (d.from.as_ref(), d.to.as_ref());
            let moved = if of_mix {
                // Mix: the group's share of the work moved; say how much work.
                let den = |c: Option<&Counts>| c.and_then(|c| c.denominator).unwrap_or(0.0);
                format!(
                    "{} of mix, {} → {} records",
                    super::fmt_delta(unit, d.total),
                    den(from),
                    den(to)
                )
            } else {
                format!(
                    "{}, {} → {}",
                    super::fmt_delta(unit, d.total),
                    figures(from, "0"),
                    figures(to, "0")
                )
            };
            format!("{} ({}) {moved}", d.group, d.dimension.replace('_', " "))
        })
        .collect();
    parts.join("; ")
}

/// The largest groups of a median KPI in one sentence: "CRM (service) 21.9 d
/// → 36.3 d, 40% → 50% of the records".
pub fn medians_sentence(unit: Unit, groups: &[&GroupMedian]) -> String {
    let value = |g: &Option<GroupValue>| {
        g.as_ref()
            .map_or("none".to_owned(), |g| super::fmt_value(unit, g.value))
    };
    let share = |g: &Option<GroupValue>| {
        g.as_ref()
            .and_then(|g| g.share)
            .map_or("0%".to_owned(), |s| format!("{:.0}%", s * 100.0))
    };
    groups
        .iter()
        .map(|m| {
            format!(
                "{} ({}) {} → {}, {} → {} of the records",
                m.group,
                m.dimension.replace('_', " "),
                value(&m.from),
                value(&m.to),
                share(&m.from),
                share(&m.to)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}
