//! `relkpi kpi`: the KPIs of one period, optionally broken down (the engine
//! is `kpi::compute`); with `--months N`, the trend (`kpi::trend`).

use anyhow::Result;

use crate::cli::{Format, GlobalArgs, KpiArgs};
use crate::exit;
use crate::kpi;
use crate::output;
use crate::warehouse::{Mode, Session};

pub fn run(g: &GlobalArgs, a: KpiArgs) -> Result<u8> {
    let s = Session::open(&g.db, g.config.as_deref(), Mode::ReadOnly)?;
    let period = kpi::resolve_period(s.conn(), a.period.request())?;
    if let Some(months) = a.months {
        let report = kpi::trend::trend_with_progress(&s, &period, months, &a.kpi)?;
        output::write_trend(&mut std::io::stdout().lock(), a.format, &report)?;
        return Ok(exit::OK);
    }
    let by = a.by.map(|b| b.as_str());
    let report = kpi::compute_shared(&s, &period, by, &a.kpi)?;
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => output::write_json(&mut out, &report)?,
        Format::Csv => output::kpi_grid(&report, true).write_csv(&mut out)?,
        Format::Table => output::print_kpi_table(&mut out, &report)?,
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
