//! `relkpi report`: the monthly KPI report (the engine is `report`).

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{GlobalArgs, ReportArgs};
use crate::kpi;
use crate::output;
use crate::report::{ReportRequest, render};
use crate::warehouse::{Mode, Session};

pub fn run(g: &GlobalArgs, a: ReportArgs) -> Result<u8> {
    let s = Session::open(&g.db, g.config.as_deref(), Mode::ReadOnly)?;
    let period = kpi::resolve_period(s.conn(), a.period.request())?;
    let against = kpi::compare::resolve_against(&period, &a.against)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(&period.label));
    let req = ReportRequest {
        period,
        against,
        months: a.months.clamp(1, 120),
        level: s.config.compare.level,
        min_records: s.config.compare.min_records,
    };
    let (written, model) = render::write_report(&s, &req, &out, a.pdf)?;
    if let Some(p) = &a.view_model {
        output::write_atomic(p, &serde_json::to_vec_pretty(&model)?)?;
    }
    crate::ui::verbose(1, format!("report written to {}", written.display()));
    println!("{}", written.display());
    Ok(crate::exit::OK)
}
