//! `relkpi compare`: one period against another (the engine is `kpi::compare`).

use std::io::Write;

use anyhow::{Result, bail};

use crate::cli::{CompareArgs, Format, GlobalArgs};
use crate::kpi::{
    self,
    compare::{CompareReport, Drivers, Significance, compare, resolve_against},
};
use crate::output::{self, Grid};
use crate::period::Period;
use crate::warehouse::{Mode, Session};

pub fn run(g: &GlobalArgs, a: CompareArgs) -> Result<u8> {
    let s = Session::open(&g.db, g.config.as_deref(), Mode::ReadOnly)?;
    let cur = kpi::resolve_period(s.conn(), a.period.request())?;
    let prev = match (&a.against_from, &a.against_to) {
        (Some(f), Some(t)) => Period::custom(f, t)?,
        _ => resolve_against(&cur, &a.against)?,
    };
    let level = a.level.unwrap_or(s.config.compare.level);
    if !(0.0 < level && level < 1.0) {
        bail!("--level must be between 0 and 1");
    }
    let min_records = a.min_records.unwrap_or(s.config.compare.min_records);
    let sig = Significance { level, min_records };
    let drivers = if a.drivers.is_some() {
        Drivers::All
    } else {
        Drivers::None
    };
    let report = compare(&s, &cur, &prev, &a.kpi, sig, drivers)?;
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => output::write_json(&mut out, &report)?,
        Format::Csv => grid(&report, true).write_csv(&mut out)?,
        Format::Table => {
            writeln!(
                out,
                "{} compared with {} (level {}, at least {} records)",
                report.period.label, report.against.label, level, min_records
            )?;
            grid(&report, false).write_table(&mut out)?;
            if let Some(n) = a.drivers {
                print_drivers(&mut out, &report, n)?;
            }
            if a.records {
                print_records(&mut out, &report)?;
            }
        }
    }
    for e in &report.errors {
        crate::ui::error(format!("KPI {}: {}", e.id, e.error));
    }
    Ok(if report.errors.is_empty() {
        crate::exit::OK
    } else {
        crate::exit::PARTIAL
    })
}

fn grid(r: &CompareReport, raw: bool) -> Grid {
    let mut g = if raw {
        Grid::new(&[
            "id",
            "unit",
            "better",
            "value",
            "against_value",
            "delta",
            "delta_rel",
            "verdict",
            "direction",
            "test",
            "p_value",
            "count",
            "against_count",
        ])
    } else {
        Grid::new(&[
            "KPI",
            r.period.label.as_str(),
            r.against.label.as_str(),
            "change",
            "verdict",
            "p",
        ])
    };
    for k in &r.kpis {
        let c = &k.current;
        if raw {
            g.rows.push(vec![
                c.id.clone(),
                c.unit.as_str().to_owned(),
                c.better.as_str().to_owned(),
                output::fmt_opt(c.value),
                output::fmt_opt(k.against.value),
                output::fmt_opt(k.delta),
                output::fmt_opt(k.delta_rel),
                k.verdict.as_str().to_owned(),
                k.direction.map(|d| d.as_str()).unwrap_or_default().to_owned(),
                k.test.clone().unwrap_or_default(),
                output::fmt_opt(k.p_value),
                c.count.to_string(),
                k.against.count.to_string(),
            ]);
        } else {
            let change = match (k.delta, k.delta_rel) {
                (Some(d), rel) => {
                    let d = output::fmt_delta(c.unit, d);
                    match rel {
                        Some(r) => format!("{d} ({:+.0}%)", r * 100.0),
                        None => d,
                    }
                }
                _ => String::new(),
            };
            g.rows.push(vec![
                c.title.clone(),
                output::fmt_value(c.unit, c.value),
                output::fmt_value(c.unit, k.against.value),
                change,
                k.verdict.as_str().to_owned(),
                k.p_value.map(|p| format!("{p:.3}")).unwrap_or_default(),
            ]);
        }
    }
    g
}

fn print_records(out: &mut dyn Write, r: &CompareReport) -> Result<()> {
    for k in &r.kpis {
        if k.records.current.is_empty() && k.records.against.is_empty() {
            continue;
        }
        writeln!(out, "\n{} — records behind the numbers", k.current.title)?;
        for (label, recs) in [
            (&r.period.label, &k.records.current),
            (&r.against.label, &k.records.against),
        ] {
            writeln!(out, "  {label}: {} records", recs.len())?;
            for x in recs.iter().take(20) {
                writeln!(
                    out,
                    "    {} {} {} {}",
                    x.record_id,
                    x.occurred_at.as_deref().unwrap_or(""),
                    x.service.as_deref().unwrap_or(""),
                    x.detail.as_deref().unwrap_or("")
                )?;
            }
            if recs.len() > 20 {
                writeln!(out, "    ... {} more (see --format json)", recs.len() - 20)?;
            }
        }
    }
    Ok(())
}

/// The N largest drivers under each KPI that moved.
fn print_drivers(out: &mut dyn Write, r: &CompareReport, n: usize) -> Result<()> {
    for k in &r.kpis {
        let Some(e) = &k.explanation else { continue };
        // Nothing moved, nothing to explain.
        if e.drivers.is_empty() && e.medians.is_empty() || k.delta.is_none_or(|d| d.abs() < 1e-12) {
            continue;
        }
        let c = &k.current;
        let change = k.delta.map(|d| output::fmt_delta(c.unit, d)).unwrap_or_default();
        writeln!(out, "\n{} {change}: drivers", c.title)?;
        for d in e.drivers.iter().filter(|d| d.total.abs() >= 1e-12).take(n) {
            writeln!(out, "  {}", output::driver_text(c.unit, d))?;
        }
        if !e.medians.is_empty() {
            writeln!(
                out,
                "  (a median does not add up over groups: each group's median and share of the records)"
            )?;
        }
        for m in e.medians.iter().take(n) {
            let v = |g: &Option<kpi::explain::GroupValue>| match g {
                Some(g) => format!(
                    "{} ({:.0}% of {} records)",
                    output::fmt_value(c.unit, g.value),
                    g.share.unwrap_or(0.0) * 100.0,
                    g.records
                ),
                None => "none".to_owned(),
            };
            writeln!(
                out,
                "  {} {}: {} → {}",
                m.dimension.replace('_', " "),
                m.group,
                v(&m.from),
                v(&m.to)
            )?;
        }
    }
    Ok(())
}
