//! `relkpi chart KPI`: one KPI's trend as an SVG or PNG file, for slides: the
//! months ending with the period, the rolling 3-month value, the target lines
//! and the comparison period's value.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::cli::{ChartArgs, ChartKind, GlobalArgs};
use crate::kpi;
use crate::report::charts::{self, ChartSpec, Kind};
use crate::warehouse::{Mode, Session};

pub fn run(g: &GlobalArgs, a: ChartArgs) -> Result<u8> {
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from(format!("{}.svg", a.kpi)));
    let ext = out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if ext != "svg" && ext != "png" {
        bail!("--out {}: the file name must end in .svg or .png", out.display());
    }
    let s = Session::open(&g.db, g.config.as_deref(), Mode::ReadOnly)?;
    let end = kpi::resolve_period(s.conn(), a.period.request())?;
    let ids = vec![a.kpi.clone()];
    let tr = kpi::trend::trend_with_progress(&s, &end, a.months.clamp(1, 120), &ids)?;
    let Some(series) = tr.series.first() else {
        bail!("KPI {} returned nothing for {}", a.kpi, end.label);
    };
    let against = match a.against.as_deref() {
        Some("none") | None => None,
        Some(x) => {
            let p = kpi::compare::resolve_against(&end, x)?;
            let rep = kpi::compute(s.conn(), &s.config, s.prepared()?, &p, None, &ids)?;
            rep.kpis.first().and_then(|k| k.value).map(|v| (p.label.clone(), v))
        }
    };
    let target = s.config.targets.get(&series.id);
    let spec = ChartSpec {
        title: series.title.clone(),
        unit: series.unit,
        labels: series.points.iter().map(|p| p.period.label.clone()).collect(),
        values: series.points.iter().map(|p| p.value).collect(),
        rolling: if a.no_rolling {
            Vec::new()
        } else {
            series.points.iter().map(|p| p.rolling_3m).collect()
        },
        target_green: target.map(|t| t.green),
        target_amber: target.map(|t| t.amber),
        against,
        limits: None,
        kind: match a.kind {
            ChartKind::Auto => ChartSpec::default_kind(series.unit),
            ChartKind::Line => Kind::Line,
            ChartKind::Bar => Kind::Bar,
        },
        width: a.width.clamp(200, 4000),
        height: a.height.clamp(120, 3000),
    };
    if ext == "svg" {
        crate::output::write_atomic(&out, charts::svg(&spec)?.as_bytes())?;
    } else {
        charts::png(&spec, &out)?;
    }
    if !g.quiet {
        eprintln!(
            "{} ({} months ending {}) written to {}",
            series.title,
            series.points.len(),
            end.label,
            out.display()
        );
    }
    Ok(crate::exit::OK)
}
