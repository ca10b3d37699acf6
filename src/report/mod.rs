//! The monthly report's view model: everything the page shows, already
//! formatted for people, built from the KPI engine (compare, trend, breakdowns,
//! records), the data-quality checks and the import batches. The template
//! (templates/report.html) only lays it out; `relkpi report` writes it.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::config::Config;
use crate::kpi::compare::{self, CompareReport, Comparison, Verdict};
use crate::kpi::trend::{self, TrendReport};
use crate::kpi::{self, Better, KpiDef, KpiResult, PeriodOut, Rag, RecordRow, Unit};
use crate::output;
use crate::period::Period;
use crate::queries;
use crate::ui::Progress;
use crate::warehouse::{Session, checks};
use charts::ChartSpec;

pub mod charts;
pub mod render;
pub mod review;
pub mod schedule;

/// Weeks of the forward schedule shown after the period ("coming up").
const UPCOMING_WEEKS: u32 = 6;
/// Rows of the forward schedule the page shows.
const UPCOMING_ROWS: usize = 200;

/// Rows shown per drill-down table; the rest are in kpis.json.
const DRILL_ROWS: usize = 50;

#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub period: Period,
    pub against: Period,
    pub months: u32,
    pub level: f64,
    pub min_records: i64,
}

#[derive(Debug, Serialize)]
pub struct ReportModel {
    pub title: String,
    pub period: PeriodOut,
    pub period_text: String,
    pub against: PeriodOut,
    pub against_text: String,
    pub generated_at: String,
    pub data_as_of: String,
    pub months: u32,
    pub summary: Vec<SummaryItem>,
    pub tiles: Vec<Tile>,
    pub charts: Vec<ChartView>,
    pub breakdowns: Vec<Breakdown>,
    pub drilldowns: Vec<Drill>,
    pub quality: Quality,
    pub methodology: Vec<Method>,
    pub batches: Vec<BatchView>,
    pub settings: Vec<Setting>,
    pub errors: Vec<String>,
    /// Planned in the weeks after the period (the forward schedule).
    pub upcoming: Vec<UpcomingView>,
    pub upcoming_weeks: u32,
    /// Items in the forward schedule; the page shows the first UPCOMING_ROWS.
    pub upcoming_total: usize,
    /// Review cards written next to the page (reviews/).
    pub reviews: usize,
}

#[derive(Debug, Serialize)]
pub struct SummaryItem {
    pub label: String,
    pub count: usize,
    pub class: String,
}

#[derive(Debug, Serialize)]
pub struct Tile {
    pub id: String,
    pub title: String,
    pub value: String,
    pub basis: String,
    pub against_value: String,
    pub delta: String,
    pub verdict: String,
    /// good / bad / flat / muted: the verdict's colour.
    pub verdict_class: String,
    pub arrow: String,
    /// red / amber / green, or empty without a target.
    pub rag: String,
    pub target: String,
    pub dora_band: String,
    pub p_value: String,
    pub note: String,
    /// "signal" or "routine variation": the current month against the KPI's
    /// process-behaviour limits; empty without limits.
    pub behaviour: String,
    /// bad (a signal) or muted (routine).
    pub behaviour_class: String,
    /// Which rules the current month breaks, or how the limits were had.
    pub behaviour_detail: String,
    /// Improved or worsened: the largest drivers of the change, in a sentence.
    pub drivers: String,
    /// Where the records behind it are: the KPI's drill-down, else its chart.
    pub drivers_link: String,
}

#[derive(Debug, Serialize)]
pub struct ChartView {
    pub id: String,
    pub title: String,
    pub caption: String,
    /// The chart as SVG markup, inlined in the page.
    pub svg: String,
    pub svg_file: String,
    pub png_file: String,
}

#[derive(Debug, Serialize)]
pub struct Breakdown {
    pub dimension: String,
    pub columns: Vec<String>,
    pub rows: Vec<BreakdownRow>,
}

#[derive(Debug, Serialize)]
pub struct BreakdownRow {
    pub name: String,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Serialize)]
pub struct Cell {
    pub text: String,
    pub rag: String,
}

#[derive(Debug, Serialize)]
pub struct Drill {
    pub id: String,
    pub title: String,
    pub explanation: String,
    pub kpi: String,
    pub rows: Vec<DrillRow>,
    pub total: usize,
    pub more: usize,
}

#[derive(Debug, Serialize)]
pub struct DrillRow {
    pub record_id: String,
    /// The record's review card, for releases (relative to index.html).
    pub link: String,
    pub title: String,
    pub service: String,
    pub team: String,
    pub when: String,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct Quality {
    pub rejected_total: i64,
    /// Rows rejected at import, by file and reason.
    pub rejected: Vec<checks::Finding>,
    pub findings: Vec<checks::Finding>,
    pub unattributed_incidents: i64,
    pub not_evaluated: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Method {
    pub id: String,
    pub title: String,
    pub unit: String,
    pub better: String,
    pub definition: String,
    pub origin: String,
}

#[derive(Debug, Serialize)]
pub struct BatchView {
    pub batch_id: i64,
    pub file: String,
    pub source: String,
    pub kind: String,
    pub read: i64,
    pub inserted: i64,
    pub updated: i64,
    pub rejected: i64,
    pub finished_at: String,
}

#[derive(Debug, Serialize)]
pub struct Setting {
    pub name: String,
    pub value: String,
}

/// A release or change planned in the coming weeks (filled by the schedule).
#[derive(Debug, Serialize, Clone)]
pub struct UpcomingView {
    pub kind: String,
    pub id: String,
    pub title: String,
    pub service: String,
    pub planned_start: String,
    pub planned_end: String,
    pub flags: String,
}

/// Everything the report shows, plus the data behind kpis.json.
pub struct Built {
    pub model: ReportModel,
    pub comparison: CompareReport,
    pub trend: TrendReport,
    /// One chart per KPI, for the SVG and PNG files.
    pub specs: Vec<(String, ChartSpec)>,
    /// Review cards of the releases deployed in the period.
    pub cards: Vec<review::Card>,
}

pub fn build(session: &Session, req: &ReportRequest, progress: &Progress) -> Result<Built> {
    let (conn, cfg) = (session.conn(), &session.config);
    // The KPIs as their headers place them: page order, breakdown columns,
    // drill-down tables.
    let mut defs = kpi::kpi_defs()?;
    defs.sort_by(|a, b| a.rank().cmp(&b.rank()));
    let rank = |id: &str| defs.iter().position(|d| d.id == id).unwrap_or(defs.len());
    // compare, the trend months, two breakdowns, the checks, the charts.
    progress.inc_length(u64::from(req.months) + 5 + defs.len() as u64);
    progress.message("policies");
    let clock = crate::ui::Phases::start("report");
    let prep = session.prepared()?;
    clock.lap("attribution and policies");
    progress.step(format!("{} against {}", req.period.label, req.against.label));
    let sig = compare::Significance {
        level: req.level,
        min_records: req.min_records,
    };
    let mut cmp = compare::compare(session, &req.period, &req.against, &[], sig, compare::Drivers::Moved)?;
    clock.lap("compare");
    progress.step("trend");
    cmp.kpis.sort_by_key(|k| rank(&k.current.id));
    let mut tr = trend::trend(conn, cfg, prep, &req.period, req.months, &[], progress)?;
    trend::add_limits(&mut tr, &cfg.limits);
    tr.series.sort_by_key(|s| rank(&s.id));
    clock.lap("trend");
    let mut breakdowns = Vec::new();
    let mut columns: Vec<&KpiDef> = defs.iter().filter(|d| d.breakdown.is_some()).collect();
    columns.sort_by_key(|d| d.breakdown);
    let ids: Vec<String> = columns.iter().map(|d| d.id.clone()).collect();
    for (dim, label) in [("service", "Service"), ("team", "Team")] {
        progress.step(format!("by {dim}"));
        let rep = kpi::compute(conn, cfg, prep, &req.period, Some(dim), &ids)?;
        breakdowns.push(breakdown(label, dim, &ids, &rep.kpis));
    }
    clock.lap("breakdowns");
    progress.step("review cards and the forward schedule");
    // Cards for the releases the drill-down tables show (the bad news), not for
    // every release of the period: `relkpi review --period` writes those.
    let mut card_ids: Vec<String> = Vec::new();
    let release_drills: Vec<&str> = defs
        .iter()
        .filter(|d| d.drill.is_some() && d.records_of.as_deref() == Some("releases"))
        .map(|d| d.id.as_str())
        .collect();
    for id in &release_drills {
        if let Some(c) = cmp.kpis.iter().find(|k| k.current.id == *id) {
            for r in c.records.current.iter().take(DRILL_ROWS) {
                if !card_ids.contains(&r.record_id) {
                    card_ids.push(r.record_id.clone());
                }
            }
        }
    }
    let cards = review::cards_for_ids(conn, cfg, &card_ids)?;
    clock.lap(&format!("{} review cards", card_ids.len()));
    let schedule = schedule::forward_schedule(conn, cfg, req.period.to, UPCOMING_WEEKS, Some(UPCOMING_ROWS))?;
    let upcoming_total = schedule.total;
    // A page, not a dump: the first items in time order; the rest are counted
    // and `relkpi schedule` lists them all.
    let upcoming = schedule
        .items
        .into_iter()
        .map(|i| UpcomingView {
            kind: i.kind,
            id: i.id,
            title: i.title.unwrap_or_default(),
            service: i.service.unwrap_or_default(),
            planned_start: i.planned_start,
            planned_end: i.planned_end.unwrap_or_default(),
            flags: i.flags.join("; "),
        })
        .collect();
    clock.lap("forward schedule");
    progress.step("data-quality checks");
    let findings = checks::findings_par(conn, cfg, prep)?;
    clock.lap("checks");
    let quality = quality(&prep.policies, findings);
    let specs: Vec<(String, ChartSpec)> = tr
        .series
        .iter()
        .map(|s| (s.id.clone(), chart_spec(s, cfg, &cmp)))
        .collect();
    let mut charts = Vec::new();
    for (id, spec) in &specs {
        progress.step(format!("chart: {id}"));
        let series = tr.series.iter().find(|s| &s.id == id);
        charts.push(ChartView {
            id: id.clone(),
            title: spec.title.clone(),
            caption: series.map(caption).unwrap_or_default(),
            svg: charts::svg(spec).with_context(|| format!("chart of {id}"))?,
            svg_file: format!("charts/{id}.svg"),
            png_file: format!("charts/{id}.png"),
        });
    }
    clock.lap("charts");
    let tiles: Vec<Tile> = cmp
        .kpis
        .iter()
        .map(|c| {
            let series = tr.series.iter().find(|s| s.id == c.current.id);
            let drilled = defs.iter().any(|d| d.id == c.current.id && d.drill.is_some());
            tile(c, cfg, series, drilled)
        })
        .collect();
    let count = |f: &dyn Fn(&Tile) -> bool| tiles.iter().filter(|t| f(t)).count();
    let summary = vec![
        SummaryItem {
            label: "improved".into(),
            count: count(&|t| t.verdict == Verdict::Improved.as_str()),
            class: "good".into(),
        },
        SummaryItem {
            label: "worsened".into(),
            count: count(&|t| t.verdict == Verdict::Worsened.as_str()),
            class: "bad".into(),
        },
        SummaryItem {
            label: "red".into(),
            count: count(&|t| t.rag == Rag::Red.as_str()),
            class: "red".into(),
        },
        SummaryItem {
            label: "amber".into(),
            count: count(&|t| t.rag == Rag::Amber.as_str()),
            class: "amber".into(),
        },
        SummaryItem {
            label: "green".into(),
            count: count(&|t| t.rag == Rag::Green.as_str()),
            class: "green".into(),
        },
    ];
    let mut drilled: Vec<&KpiDef> = defs.iter().filter(|d| d.drill.is_some()).collect();
    drilled.sort_by_key(|d| d.drill.as_ref().map(|x| x.order));
    let drilldowns = drilled
        .iter()
        .filter_map(|d| {
            let title = &d.drill.as_ref()?.title;
            let c = cmp.kpis.iter().find(|k| k.current.id == d.id)?;
            let links = d.records_of.as_deref() == Some("releases");
            Some(drill(&d.id, title, links, &c.records.current, &cards))
        })
        .collect();
    let mut by_id: Vec<&KpiDef> = defs.iter().collect();
    by_id.sort_by(|a, b| a.id.cmp(&b.id));
    let methodology = by_id
        .into_iter()
        .map(|d| Method {
            id: d.id.clone(),
            title: d.title.clone(),
            unit: d.unit.as_str().to_owned(),
            better: d.better.as_str().to_owned(),
            definition: d.definition.clone(),
            origin: d.origin.clone(),
        })
        .collect();
    let batches = batches(conn)?;
    let data_as_of = batches
        .iter()
        .map(|b| b.finished_at.clone())
        .max()
        .unwrap_or_else(|| "no imports".into());
    let s = &cmp.settings;
    let settings = vec![
        Setting {
            name: "Attribution window".into(),
            value: format!("{} days", s.window_days),
        },
        Setting {
            name: "Major incident".into(),
            value: format!("priority {} or higher", s.major_priority),
        },
        Setting {
            name: "CI-window attribution".into(),
            value: if s.ci_window { "on" } else { "off" }.into(),
        },
        Setting {
            name: "Schedule tolerance".into(),
            value: format!("{} h", s.tolerance_hours),
        },
        Setting {
            name: "DORA benchmark".into(),
            value: format!("{} edition", s.dora_edition),
        },
        Setting {
            name: "Significance level".into(),
            value: format!(
                "{} (verdict needs at least {} records per period)",
                req.level, req.min_records
            ),
        },
    ];
    let errors = cmp.errors.iter().map(|e| format!("{}: {}", e.id, e.error)).collect();
    let model = ReportModel {
        title: format!("Release management KPIs — {}", cmp.period.label),
        period_text: period_text(&req.period),
        against_text: period_text(&req.against),
        period: cmp.period.clone(),
        against: cmp.against.clone(),
        generated_at: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
        data_as_of,
        months: req.months,
        summary,
        tiles,
        charts,
        breakdowns,
        drilldowns,
        quality,
        methodology,
        batches,
        settings,
        errors,
        upcoming,
        upcoming_weeks: UPCOMING_WEEKS,
        upcoming_total,
        reviews: cards.len(),
    };
    Ok(Built {
        model,
        comparison: cmp,
        trend: tr,
        specs,
        cards,
    })
}

/// "1 Mar 2024 – 31 Mar 2024" (the end shown inclusive).
pub fn period_text(p: &Period) -> String {
    let last = p.to - chrono::Duration::seconds(1);
    format!("{} – {}", p.from.format("%-d %b %Y"), last.format("%-d %b %Y"))
}

fn target_text(cfg: &Config, id: &str, unit: Unit, better: Better) -> String {
    match cfg.targets.get(id) {
        Some(t) => format!(
            "target {} {}",
            if better == Better::Higher { "≥" } else { "≤" },
            output::fmt_value(unit, Some(t.green))
        ),
        None => String::new(),
    }
}

fn basis(k: &KpiResult) -> String {
    match (k.unit, k.numerator, k.denominator) {
        (Unit::Ratio, Some(n), Some(d)) => format!("{n} of {d}"),
        (Unit::Days | Unit::Hours | Unit::Score, _, _) => format!("median of {}", k.count),
        _ => String::new(),
    }
}

/// Drivers named in a tile's sentence.
const TILE_DRIVERS: usize = 2;

fn tile(c: &Comparison, cfg: &Config, series: Option<&trend::Series>, drilled: bool) -> Tile {
    let k = &c.current;
    let (behaviour, behaviour_class, behaviour_detail) = match series.and_then(behaviour) {
        Some((signal, detail)) => (
            if signal { "signal" } else { "routine variation" },
            if signal { "bad" } else { "muted" },
            detail,
        ),
        None => ("", "", String::new()),
    };
    let drivers = match (&c.explanation, c.verdict) {
        (Some(e), Verdict::Improved | Verdict::Worsened) if !e.drivers.is_empty() => {
            let top = kpi::drivers::top(&e.drivers, TILE_DRIVERS);
            format!("Largest drivers: {}.", output::drivers_sentence(k.unit, &top))
        }
        // A median does not split into drivers: the largest groups' medians.
        (Some(e), Verdict::Improved | Verdict::Worsened) if !e.medians.is_empty() => {
            let top: Vec<_> = e.medians.iter().take(TILE_DRIVERS).collect();
            format!("Largest groups: {}.", output::medians_sentence(k.unit, &top))
        }
        _ => String::new(),
    };
    let verdict_class = match c.verdict {
        Verdict::Improved => "good",
        Verdict::Worsened => "bad",
        Verdict::Unchanged => "flat",
        Verdict::NotSignificant | Verdict::TooFewRecords | Verdict::NoData => "muted",
    };
    let arrow = match c.delta {
        Some(d) if d > 1e-12 => "▲",
        Some(d) if d < -1e-12 => "▼",
        Some(_) => "■",
        None => "",
    };
    let delta = match (c.delta, c.delta_rel) {
        (Some(d), Some(r)) => format!("{} ({:+.0}%)", output::fmt_delta(k.unit, d), r * 100.0),
        (Some(d), None) => output::fmt_delta(k.unit, d),
        _ => String::new(),
    };
    Tile {
        id: k.id.clone(),
        title: k.title.clone(),
        value: output::fmt_value(k.unit, k.value),
        basis: basis(k),
        against_value: output::fmt_value(k.unit, c.against.value),
        delta,
        verdict: c.verdict.as_str().to_owned(),
        verdict_class: verdict_class.into(),
        arrow: arrow.into(),
        rag: k.rag.map(Rag::as_str).unwrap_or_default().to_owned(),
        target: target_text(cfg, &k.id, k.unit, k.better),
        dora_band: k
            .extra
            .get("dora_band")
            .and_then(|v| v.as_str())
            .map(|b| format!("DORA: {b}"))
            .unwrap_or_default(),
        p_value: c.p_value.map(|p| format!("p = {p:.3}")).unwrap_or_default(),
        note: k.note.clone().unwrap_or_default(),
        behaviour: behaviour.into(),
        behaviour_class: behaviour_class.into(),
        behaviour_detail,
        drivers,
        drivers_link: if drilled {
            format!("#drill-{}", k.id)
        } else {
            format!("#chart-{}", k.id)
        },
    }
}

/// Whether the series' last month signals against its limits, and a line
/// saying which rules it breaks or what the limits are; `None` without limits.
fn behaviour(s: &trend::Series) -> Option<(bool, String)> {
    let l = s.limits.as_ref()?;
    let last = l.points.last()?.as_ref()?;
    let name = output::chart_name(l.kind);
    let rules: Vec<&str> = last.signals.iter().map(|r| output::rule_name(*r)).collect();
    let limits = format!(
        "{name} limits {} – {}",
        output::fmt_value(s.unit, Some(last.lower)),
        output::fmt_value(s.unit, Some(last.upper))
    );
    Some(if rules.is_empty() {
        (false, limits)
    } else {
        (true, format!("{}; {limits}", rules.join(", ")))
    })
}

fn chart_spec(s: &trend::Series, cfg: &Config, cmp: &CompareReport) -> ChartSpec {
    let target = cfg.targets.get(&s.id);
    let against = cmp
        .kpis
        .iter()
        .find(|c| c.current.id == s.id)
        .and_then(|c| c.against.value)
        .map(|v| (cmp.against.label.clone(), v));
    ChartSpec {
        title: s.title.clone(),
        unit: s.unit,
        labels: s.points.iter().map(|p| p.period.label.clone()).collect(),
        values: s.points.iter().map(|p| p.value).collect(),
        rolling: s.points.iter().map(|p| p.rolling_3m).collect(),
        target_green: target.map(|t| t.green),
        target_amber: target.map(|t| t.amber),
        against,
        kind: ChartSpec::default_kind(s.unit),
        limits: s.limits.as_ref().map(|l| charts::ChartLimits {
            name: output::chart_name(l.kind).into(),
            centre: l.points.iter().map(|p| p.as_ref().map(|p| p.centre)).collect(),
            lower: l.points.iter().map(|p| p.as_ref().map(|p| p.lower)).collect(),
            upper: l.points.iter().map(|p| p.as_ref().map(|p| p.upper)).collect(),
            signals: l
                .points
                .iter()
                .map(|p| p.as_ref().is_some_and(|p| !p.signals.is_empty()))
                .collect(),
        }),
        width: 640,
        height: 270,
    }
}

fn caption(s: &trend::Series) -> String {
    let shown: Vec<f64> = s.points.iter().filter_map(|p| p.value).collect();
    let better = if s.better == Better::Higher {
        "higher is better"
    } else {
        "lower is better"
    };
    match (
        shown.iter().copied().reduce(f64::min),
        shown.iter().copied().reduce(f64::max),
    ) {
        (Some(lo), Some(hi)) => format!(
            "{} months; {better}; lowest {}, highest {}.",
            s.points.len(),
            output::fmt_value(s.unit, Some(lo)),
            output::fmt_value(s.unit, Some(hi))
        ),
        _ => format!("{} months; {better}; no data.", s.points.len()),
    }
}

/// A breakdown table: one row per group, one column per KPI of `ids` (in order).
fn breakdown(label: &str, dim: &str, ids: &[String], kpis: &[KpiResult]) -> Breakdown {
    let defs: Vec<&KpiResult> = ids.iter().filter_map(|id| kpis.iter().find(|k| &k.id == id)).collect();
    let mut groups: BTreeMap<String, BTreeMap<String, &KpiResult>> = BTreeMap::new();
    for k in kpis {
        let Some(g) = k.group.as_ref().and_then(|g| g.get(dim)) else {
            continue;
        };
        if ids.contains(&k.id) {
            groups.entry(g.clone()).or_default().insert(k.id.clone(), k);
        }
    }
    let rows = groups
        .into_iter()
        // A group with nothing to show in this period is left out.
        .filter(|(_, m)| m.values().any(|k| k.value.is_some_and(|v| v != 0.0) || k.count > 0))
        .map(|(name, m)| BreakdownRow {
            name,
            cells: defs
                .iter()
                .map(|d| match m.get(&d.id) {
                    Some(k) => Cell {
                        text: output::fmt_value(k.unit, k.value),
                        rag: k.rag.map(Rag::as_str).unwrap_or_default().to_owned(),
                    },
                    None => Cell {
                        text: "–".into(),
                        rag: String::new(),
                    },
                })
                .collect(),
        })
        .collect();
    Breakdown {
        dimension: label.into(),
        columns: defs.iter().map(|d| d.title.clone()).collect(),
        rows,
    }
}

/// The records file's description (its comment after the `records:` line).
fn records_explanation(id: &str) -> String {
    queries::text(&format!("records/{id}.sql"))
        .map(|sql| {
            sql.lines()
                .map_while(|l| l.strip_prefix("--"))
                .map(str::trim)
                .filter(|l| !l.starts_with("records:"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// A drill-down table; `release_kpi`: its records are releases, whose rows
/// link to their review cards.
fn drill(id: &str, title: &str, release_kpi: bool, records: &[RecordRow], cards: &[review::Card]) -> Drill {
    let rows = records
        .iter()
        .take(DRILL_ROWS)
        .map(|r| DrillRow {
            link: cards
                .iter()
                .find(|c| release_kpi && c.release_id == r.record_id)
                .map(|c| format!("reviews/{}", c.file))
                .unwrap_or_default(),
            record_id: r.record_id.clone(),
            title: r.title.clone().unwrap_or_default(),
            service: r.service.clone().unwrap_or_default(),
            team: r.team.clone().unwrap_or_default(),
            when: r.occurred_at.clone().unwrap_or_default(),
            detail: r.detail.clone().unwrap_or_default(),
        })
        .collect();
    Drill {
        id: format!("drill-{id}"),
        title: title.into(),
        explanation: records_explanation(id),
        kpi: id.into(),
        rows,
        total: records.len(),
        more: records.len().saturating_sub(DRILL_ROWS),
    }
}

fn quality(policies: &[kpi::PolicyStatus], findings: Vec<checks::Finding>) -> Quality {
    let (rejected, findings): (Vec<checks::Finding>, Vec<checks::Finding>) =
        findings.into_iter().partition(|f| f.check == "rejected_rows");
    let rejected_total = rejected.iter().map(|r| r.count).sum();
    let unattributed_incidents = findings
        .iter()
        .filter(|f| f.check == "unattributed_incidents")
        .map(|f| f.count)
        .sum();
    let not_evaluated = policies
        .iter()
        .flat_map(|p| {
            let mut v: Vec<String> = p
                .not_evaluated
                .iter()
                .map(|s| {
                    format!(
                        "{} ({}): not evaluated for source {s}, which lacks the data it needs",
                        p.title, p.id
                    )
                })
                .collect();
            if let Some(e) = &p.error {
                v.push(format!("{} ({}): failed: {e}", p.title, p.id));
            }
            v
        })
        .collect();
    Quality {
        rejected_total,
        rejected,
        findings,
        unattributed_incidents,
        not_evaluated,
    }
}

fn batches(conn: &duckdb::Connection) -> Result<Vec<BatchView>> {
    let sql = queries::text("report/import_batches.sql").context("report/import_batches.sql missing")?;
    let rows = conn
        .prepare(sql)?
        .query_map([], |r| {
            Ok(BatchView {
                batch_id: r.get(0)?,
                file: r.get(1)?,
                source: r.get(2)?,
                kind: r.get(3)?,
                read: r.get(4)?,
                inserted: r.get(5)?,
                updated: r.get(6)?,
                rejected: r.get(7)?,
                finished_at: r.get(8)?,
            })
        })?
        .collect::<duckdb::Result<_>>()
        .context("queries/report/import_batches.sql")?;
    Ok(rows)
}
