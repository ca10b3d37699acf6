//! `relkpi schedule`: the forward schedule of change. Releases and changes
//! planned over the next N weeks (queries/schedule/forward_schedule.sql), with
//! collisions, freeze windows and missing approvals flagged; as a table, CSV,
//! JSON, or an HTML calendar to send to stakeholders.

use anyhow::{Context, Result};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::config::Config;
use crate::kpi::Params;
use crate::output;
use crate::period::Period;
use crate::queries;

static TEMPLATE: &str = include_str!("../../templates/schedule.html");

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub day: String,
    pub kind: String,
    pub source: String,
    pub id: String,
    pub title: Option<String>,
    pub service: Option<String>,
    /// Release type or change type.
    #[serde(rename = "type")]
    pub kind_type: Option<String>,
    pub state: Option<String>,
    pub planned_start: String,
    pub planned_end: Option<String>,
    pub collides_with: Option<String>,
    pub freeze: Option<String>,
    pub unapproved: bool,
    /// The flags in words, for people.
    pub flags: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Schedule {
    pub from: String,
    pub to: String,
    pub weeks: u32,
    pub items: Vec<Item>,
    /// Every planned item, listed or not (`items` holds the first `limit`).
    #[serde(skip)]
    pub total: usize,
    pub collisions: usize,
    pub in_freeze: usize,
    pub unapproved: usize,
}

fn minute(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// Releases and changes planned in [from, from + weeks).
/// With `limit`, only the first `limit` items (in time order) are listed and
/// flagged (the counts then cover those alone), and `total` counts them all.
pub fn forward_schedule(
    conn: &duckdb::Connection,
    cfg: &Config,
    from: NaiveDateTime,
    weeks: u32,
    limit: Option<usize>,
) -> Result<Schedule> {
    let to = from + Duration::weeks(i64::from(weeks));
    let period = Period::custom_dt(from, to)?;
    let origin = "queries/schedule/forward_schedule.sql";
    let sql = queries::text("schedule/forward_schedule.sql").context("forward_schedule.sql missing")?;
    let mut stmt = conn.prepare(sql).context(origin)?;
    let mut params = Params::new(&period, None, cfg, None);
    params.set(
        "limit",
        limit.map_or(duckdb::types::Value::Null, |n| duckdb::types::Value::BigInt(n as i64)),
    );
    params.bind(&mut stmt, origin)?;
    stmt.raw_execute().context(origin)?;
    let mut rows = stmt.raw_query();
    let mut items = Vec::new();
    let mut total = 0;
    while let Some(r) = rows.next().context(origin)? {
        total = r.get::<_, i64>(13)? as usize;
        let collides_with: Option<String> = r.get(10)?;
        let freeze: Option<String> = r.get(11)?;
        let unapproved: bool = r.get::<_, Option<bool>>(12)?.unwrap_or(false);
        let mut flags = Vec::new();
        if let Some(c) = &collides_with {
            flags.push(format!("collides with {c}"));
        }
        if let Some(f) = &freeze {
            flags.push(format!("in freeze window {f}"));
        }
        if unapproved {
            flags.push("not approved".to_owned());
        }
        items.push(Item {
            day: r.get::<_, NaiveDate>(0)?.to_string(),
            kind: r.get(1)?,
            source: r.get(2)?,
            id: r.get(3)?,
            title: r.get(4)?,
            service: r.get(5)?,
            kind_type: r.get(6)?,
            state: r.get(7)?,
            planned_start: minute(r.get(8)?),
            planned_end: r.get::<_, Option<NaiveDateTime>>(9)?.map(minute),
            collides_with,
            freeze,
            unapproved,
            flags,
        });
    }
    Ok(Schedule {
        from: minute(from),
        to: minute(to),
        weeks,
        total,
        collisions: items.iter().filter(|i| i.collides_with.is_some()).count(),
        in_freeze: items.iter().filter(|i| i.freeze.is_some()).count(),
        unapproved: items.iter().filter(|i| i.unapproved).count(),
        items,
    })
}

#[derive(Serialize)]
struct CalendarDay {
    date: String,
    label: String,
    weekend: bool,
    outside: bool,
    items: Vec<CalendarItem>,
}

#[derive(Serialize)]
struct CalendarItem {
    time: String,
    kind: String,
    id: String,
    title: String,
    service: String,
    flagged: bool,
    flags: String,
}

#[derive(Serialize)]
struct CalendarView<'a> {
    title: String,
    schedule: &'a Schedule,
    weeks: Vec<Vec<CalendarDay>>,
    generated_at: String,
}

/// Whole weeks (Monday to Sunday) covering the schedule, each day with its items.
fn calendar(s: &Schedule, from: NaiveDate, to: NaiveDate) -> Vec<Vec<CalendarDay>> {
    let start = from - Duration::days(i64::from(from.weekday().num_days_from_monday()));
    let mut weeks = Vec::new();
    let mut day = start;
    while day < to {
        let mut week = Vec::new();
        for _ in 0..7 {
            let date = day.to_string();
            week.push(CalendarDay {
                label: day.format("%a %-d %b").to_string(),
                weekend: day.weekday().number_from_monday() >= 6,
                outside: day < from || day >= to,
                items: s
                    .items
                    .iter()
                    .filter(|i| i.day == date)
                    .map(|i| CalendarItem {
                        time: i.planned_start.get(11..).unwrap_or_default().to_owned(),
                        kind: i.kind.clone(),
                        id: i.id.clone(),
                        title: i.title.clone().unwrap_or_default(),
                        service: i.service.clone().unwrap_or_default(),
                        flagged: !i.flags.is_empty(),
                        flags: i.flags.join("; "),
                    })
                    .collect(),
                date,
            });
            day += Duration::days(1);
        }
        weeks.push(week);
    }
    weeks
}

pub fn render_html(s: &Schedule, from: NaiveDateTime) -> Result<String> {
    let to = from + Duration::weeks(i64::from(s.weeks));
    let view = CalendarView {
        title: format!("Forward schedule of change, {} weeks from {}", s.weeks, from.date()),
        schedule: s,
        // The last day shown is the one `to` falls in, unless `to` is its midnight.
        weeks: calendar(
            s,
            from.date(),
            (to - Duration::microseconds(1)).date() + Duration::days(1),
        ),
        generated_at: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
    };
    output::render_html("schedule.html", TEMPLATE, &view)
}
