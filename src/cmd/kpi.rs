//! `relkpi kpi`: the KPIs of one period, optionally broken down.

use std::io::Write;

use anyhow::Result;

use crate::cli::{Format, GlobalArgs, KpiArgs};
use crate::config::Config;
use crate::exit;
use crate::kpi::{self, KpiReport};
use crate::output::{self, Grid};
use crate::warehouse::{Mode, Warehouse};

pub fn run(g: &GlobalArgs, a: KpiArgs) -> Result<u8> {
    if let Some(months) = a.months {
        return crate::cmd::trend::run_with(g, &a.period, months, &a.kpi, a.format);
    }
    let cfg = Config::load(g.config.as_deref(), &g.db)?;
    let wh = Warehouse::open(&g.db, Mode::ReadOnly)?;
    let period = kpi::resolve_period(&wh.conn, &a.period)?;
    let by = a.by.map(|b| b.as_str());
    let prep = kpi::prepare(&wh.conn, &cfg)?;
    let report = kpi::compute(&wh.conn, &cfg, &prep, &period, by, &a.kpi)?;
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => output::write_json(&mut out, &report)?,
        Format::Csv => grid(&report, true).write_csv(&mut out)?,
        Format::Table => print_table(&mut out, &report)?,
    }
    for e in &report.errors {
        crate::ui::error(format!("KPI {}: {}", e.id, e.error));
    }
    for p in report.policies.iter().filter(|p| p.error.is_some()) {
        crate::ui::error(format!("policy {}: {}", p.id, p.error.as_deref().unwrap_or_default()));
    }
    let partial = !report.errors.is_empty() || report.policies.iter().any(|p| p.error.is_some());
    Ok(if partial { exit::PARTIAL } else { exit::OK })
}

/// The KPI rows; `raw` keeps machine values (CSV), else values are formatted.
pub fn grid(report: &KpiReport, raw: bool) -> Grid {
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
        let mut row = vec![k.id.clone(), k.title.clone(), k.unit.clone(), k.better.clone()];
        if let Some(b) = &by {
            row.push(k.group.as_ref().and_then(|g| g.get(b)).cloned().unwrap_or_default());
        }
        row.push(if raw {
            output::fmt_opt(k.value)
        } else {
            output::fmt_value(&k.unit, k.value)
        });
        row.push(output::fmt_opt(k.numerator));
        row.push(output::fmt_opt(k.denominator));
        row.push(k.count.to_string());
        row.push(
            k.extra
                .get("dora_band")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_owned(),
        );
        row.push(k.rag.clone().unwrap_or_default());
        row.push(k.note.clone().unwrap_or_default());
        if raw {
            row.push(serde_json::Value::Object(k.extra.clone()).to_string());
        }
        g.rows.push(row);
    }
    g
}

pub fn print_table(out: &mut dyn Write, report: &KpiReport) -> Result<()> {
    writeln!(
        out,
        "KPIs for {} [{} .. {}), window {} days, major priority <= {}",
        report.period.label,
        report.period.from,
        report.period.to,
        report.settings.window_days,
        report.settings.major_priority
    )?;
    let mut g = grid(report, false);
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
