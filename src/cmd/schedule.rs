//! `relkpi schedule`: the forward schedule of changes (the engine is `report::schedule`).

use std::io::Write;

use anyhow::{Context, Result};

use crate::cli::{GlobalArgs, ScheduleArgs, ScheduleFormat};
use crate::output::{self, Grid};
use crate::report::schedule::{self, Schedule};
use crate::warehouse::{Mode, Session};

fn grid(s: &Schedule) -> Grid {
    let mut g = Grid::new(&[
        "day",
        "kind",
        "id",
        "title",
        "service",
        "type",
        "planned_start",
        "planned_end",
        "flags",
    ]);
    for i in &s.items {
        g.rows.push(vec![
            i.day.clone(),
            i.kind.clone(),
            i.id.clone(),
            i.title.clone().unwrap_or_default(),
            i.service.clone().unwrap_or_default(),
            i.kind_type.clone().unwrap_or_default(),
            i.planned_start.clone(),
            output::fmt_opt(i.planned_end.as_ref()),
            i.flags.join("; "),
        ]);
    }
    g
}

pub fn run(g: &GlobalArgs, a: ScheduleArgs) -> Result<u8> {
    let session = Session::open(&g.db, g.config.as_deref(), Mode::ReadOnly)?;
    let from = match &a.from {
        Some(f) => crate::config::parse_ts(f).with_context(|| format!("--from {f:?}"))?,
        None => chrono::Local::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default(),
    };
    let weeks = a.weeks.clamp(1, 104);
    let s = schedule::forward_schedule(session.conn(), &session.config, from, weeks, None)?;
    let mut buf: Vec<u8> = Vec::new();
    match a.format {
        ScheduleFormat::Json => output::write_json(&mut buf, &s)?,
        ScheduleFormat::Csv => grid(&s).write_csv(&mut buf)?,
        ScheduleFormat::Html => buf.extend_from_slice(schedule::render_html(&s, from)?.as_bytes()),
        ScheduleFormat::Table => {
            writeln!(
                buf,
                "{} items planned {} .. {}: {} colliding, {} in a freeze window, {} not approved",
                s.items.len(),
                s.from,
                s.to,
                s.collisions,
                s.in_freeze,
                s.unapproved
            )?;
            grid(&s).write_table(&mut buf)?;
        }
    }
    match &a.out {
        Some(p) => {
            output::write_atomic(p, &buf)?;
            crate::ui::verbose(1, format!("schedule written to {}", p.display()));
        }
        None => std::io::stdout().lock().write_all(&buf)?,
    }
    Ok(crate::exit::OK)
}
