//! `relkpi trend`: each KPI month by month (the engine is `kpi::trend`).

use anyhow::Result;

use crate::cli::{GlobalArgs, TrendArgs};
use crate::kpi;
use crate::output;
use crate::warehouse::{Mode, Session};

pub fn run(g: &GlobalArgs, a: TrendArgs) -> Result<u8> {
    let s = Session::open(&g.db, g.config.as_deref(), Mode::ReadOnly)?;
    let end = kpi::resolve_period(s.conn(), a.period.request())?;
    let mut report = kpi::trend::trend_with_progress(&s, &end, a.months, &a.kpi)?;
    if a.limits {
        kpi::trend::add_limits(&mut report, &s.config.limits);
        if a.months < kpi::trend::MIN_LIMIT_MONTHS as u32 {
            crate::ui::info(format!(
                "--limits needs at least {} months (--months {}): no limits computed",
                kpi::trend::MIN_LIMIT_MONTHS,
                a.months
            ));
        }
    }
    output::write_trend(&mut std::io::stdout().lock(), a.format, &report)?;
    Ok(crate::exit::OK)
}
