//! `relkpi trend`: each KPI month by month (the engine is `kpi::trend`).

use anyhow::Result;

use crate::cli::{GlobalArgs, TrendArgs};
use crate::kpi;
use crate::output;
use crate::warehouse::{Mode, Session};

pub fn run(g: &GlobalArgs, a: TrendArgs) -> Result<u8> {
    let s = Session::open(&g.db, g.config.as_deref(), Mode::ReadOnly)?;
    let end = kpi::resolve_period(s.conn(), a.period.request())?;
    let report = kpi::trend::trend_with_progress(&s, &end, a.months, &a.kpi)?;
    output::write_trend(&mut std::io::stdout().lock(), a.format, &report)?;
    Ok(crate::exit::OK)
}
