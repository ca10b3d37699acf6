//! `relkpi review`: the post-implementation review card of a release (HTML and
//! JSON): planned against actual window and slip, outcome, the changes it
//! bundled, the incidents attributed to it with their recovery, satisfaction,
//! policy violations, and how it compares with the median release of its
//! service over the previous 6 months. With `--period`, one card per release
//! deployed in the period plus an index. The figures come from
//! queries/review/*.sql.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::NaiveDateTime;
use duckdb::types::Value;
use serde::Serialize;

use crate::config::Config;
use crate::kpi::{self, Params, PeriodOut};
use crate::output;
use crate::period::Period;
use crate::queries;

static CARD: &str = include_str!("../../templates/review.html");
static INDEX: &str = include_str!("../../templates/review_index.html");

#[derive(Debug, Serialize)]
pub struct Figures {
    pub slip_hours: Option<f64>,
    pub lead_time_days: Option<f64>,
    pub failed: bool,
    pub late: Option<bool>,
    pub defects: i64,
    pub major_incidents: i64,
    pub satisfaction_mean: Option<f64>,
    pub peers: Peers,
}

#[derive(Debug, Serialize)]
pub struct Peers {
    pub releases: i64,
    pub lead_time_days: Option<f64>,
    pub slip_hours: Option<f64>,
    pub defects: Option<f64>,
    pub changes: Option<f64>,
    pub success_rate: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ChangeRow {
    pub change_id: String,
    pub title: String,
    pub change_type: String,
    pub state: String,
    pub outcome: String,
    pub actual_end: String,
    pub failed: bool,
    pub incidents_caused: i64,
}

#[derive(Debug, Serialize)]
pub struct IncidentRow {
    pub incident_id: String,
    pub title: String,
    pub priority: Option<i32>,
    pub method: String,
    pub via_change: String,
    pub opened_at: String,
    pub resolved_at: String,
    pub recovery_hours: Option<f64>,
    pub recovery: String,
    pub within_window: bool,
}

#[derive(Debug, Serialize)]
pub struct Answer {
    pub response_id: String,
    pub submitted_at: String,
    pub score: Option<i32>,
    pub comment: String,
}

#[derive(Debug, Serialize)]
pub struct Violation {
    pub change_id: String,
    pub policy: String,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct Comparison {
    pub measure: String,
    pub this: String,
    pub median: String,
    /// better / worse / same, or empty when either side is unknown.
    pub verdict: String,
}

/// One release's card: raw figures (for JSON) and text for the page.
#[derive(Debug, Serialize)]
pub struct Card {
    pub source: String,
    pub release_id: String,
    pub title: String,
    pub release_type: String,
    pub service: String,
    pub team: String,
    pub state: String,
    pub outcome: String,
    pub planned: String,
    pub actual: String,
    pub slip: String,
    pub lead_time: String,
    pub result: String,
    pub figures: Figures,
    pub changes: Vec<ChangeRow>,
    pub incidents: Vec<IncidentRow>,
    pub satisfaction: Vec<Answer>,
    pub violations: Vec<Violation>,
    pub comparison: Vec<Comparison>,
    pub window_days: i32,
    /// The card's file name in its folder.
    pub file: String,
}

fn ts(t: Option<NaiveDateTime>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
}

/// A file name for a release: its source and id, with anything unusual as `_`.
pub fn card_file(source: &str, id: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}-{}.html", clean(source), clean(id))
}

/// Run a queries/review file with the release bound, row by row.
fn each<T>(
    conn: &duckdb::Connection,
    name: &str,
    params: &Params,
    mut f: impl FnMut(&duckdb::Row<'_>) -> duckdb::Result<T>,
) -> Result<Vec<T>> {
    let origin = format!("queries/review/{name}.sql");
    let sql = queries::text(&format!("review/{name}.sql")).with_context(|| format!("{origin} missing"))?;
    let mut stmt = conn.prepare(sql).with_context(|| origin.clone())?;
    params.bind(&mut stmt, &origin)?;
    stmt.raw_execute().with_context(|| origin.clone())?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next().with_context(|| origin.clone())? {
        out.push(f(r).with_context(|| origin.clone())?);
    }
    Ok(out)
}

/// A release: (source, release_id).
type Key = (String, String);

/// Run a queries/review file for the releases in the temp table
/// `review_releases`; rows are grouped by their first two columns (source,
/// release_id), in the file's order.
fn grouped<T>(
    conn: &duckdb::Connection,
    name: &str,
    params: &Params,
    mut f: impl FnMut(&duckdb::Row<'_>) -> duckdb::Result<T>,
) -> Result<HashMap<Key, Vec<T>>> {
    let mut out: HashMap<Key, Vec<T>> = HashMap::new();
    for (k, v) in each(conn, name, params, |r| Ok(((r.get(0)?, r.get(1)?), f(r)?)))? {
        out.entry(k).or_default().push(v);
    }
    Ok(out)
}

struct Head {
    title: String,
    release_type: String,
    state: String,
    outcome: String,
    service: String,
    team: String,
    planned: (Option<NaiveDateTime>, Option<NaiveDateTime>),
    actual: (Option<NaiveDateTime>, Option<NaiveDateTime>),
    slip_hours: Option<f64>,
    lead_time_days: Option<f64>,
    failed: bool,
    defects: i64,
    major_incidents: i64,
    late: Option<bool>,
}

fn compare_row(
    measure: &str,
    this: Option<f64>,
    median: Option<f64>,
    lower_is_better: bool,
    fmt: &dyn Fn(f64) -> String,
) -> Comparison {
    let verdict = match (this, median) {
        (Some(a), Some(b)) if (a - b).abs() < 1e-9 => "same",
        (Some(a), Some(b)) if (a < b) == lower_is_better => "better",
        (Some(_), Some(_)) => "worse",
        _ => "",
    };
    Comparison {
        measure: measure.into(),
        this: this.map(fmt).unwrap_or_else(|| "n/a".into()),
        median: median.map(fmt).unwrap_or_else(|| "n/a".into()),
        verdict: verdict.into(),
    }
}

/// The card of one release.
pub fn card(conn: &duckdb::Connection, cfg: &Config, source: &str, id: &str) -> Result<Card> {
    let mut cards = cards(conn, cfg, &[(source.to_owned(), id.to_owned())])?;
    cards.pop().with_context(|| format!("no release {id} from {source}"))
}

/// The cards of `keys`, in that order (a release named twice gets one card).
/// Each queries/review file runs once for all of them, not once a release.
pub fn cards(conn: &duckdb::Connection, cfg: &Config, keys: &[Key]) -> Result<Vec<Card>> {
    let mut unique: Vec<&Key> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for k in keys {
        if seen.insert(k) {
            unique.push(k);
        }
    }
    conn.execute_batch("create or replace temp table review_releases (source varchar, release_id varchar)")?;
    {
        let mut app = conn.appender_to_catalog_and_db("review_releases", "temp", "main")?;
        for (source, id) in &unique {
            app.append_row(duckdb::params![source, id])?;
        }
        app.flush()?;
    }
    let p = Params::settings(cfg);
    let s = |r: &duckdb::Row<'_>, i: usize| -> duckdb::Result<String> {
        Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default())
    };
    let mut heads = grouped(conn, "release", &p, |r| {
        Ok(Head {
            title: s(r, 2)?,
            release_type: s(r, 3)?,
            state: s(r, 4)?,
            outcome: s(r, 5)?,
            service: s(r, 6)?,
            team: s(r, 7)?,
            planned: (r.get(9)?, r.get(10)?),
            actual: (r.get(11)?, r.get(12)?),
            slip_hours: r.get(13)?,
            lead_time_days: r.get(14)?,
            failed: r.get::<_, Option<bool>>(15)?.unwrap_or(false),
            defects: r.get::<_, Option<i64>>(16)?.unwrap_or(0),
            major_incidents: r.get::<_, Option<i64>>(17)?.unwrap_or(0),
            late: r.get(18)?,
        })
    })?;
    let mut changes = grouped(conn, "changes", &p, |r| {
        Ok(ChangeRow {
            change_id: r.get(2)?,
            title: s(r, 3)?,
            change_type: s(r, 4)?,
            state: s(r, 5)?,
            outcome: s(r, 6)?,
            actual_end: ts(r.get(7)?),
            failed: r.get::<_, Option<bool>>(8)?.unwrap_or(false),
            incidents_caused: r.get::<_, Option<i64>>(9)?.unwrap_or(0),
        })
    })?;
    let mut incidents = grouped(conn, "incidents", &p, |r| {
        let recovery_hours: Option<f64> = r.get(9)?;
        Ok(IncidentRow {
            incident_id: r.get(2)?,
            title: s(r, 3)?,
            priority: r.get(4)?,
            method: s(r, 5)?,
            via_change: s(r, 6)?,
            opened_at: ts(r.get(7)?),
            resolved_at: ts(r.get(8)?),
            recovery_hours,
            recovery: recovery_hours
                .map(|h| format!("{h:.1} h"))
                .unwrap_or_else(|| "unresolved".into()),
            within_window: r.get::<_, Option<bool>>(10)?.unwrap_or(false),
        })
    })?;
    let mut satisfaction = grouped(conn, "satisfaction", &p, |r| {
        Ok(Answer {
            response_id: r.get(2)?,
            submitted_at: ts(r.get(3)?),
            score: r.get(4)?,
            comment: s(r, 5)?,
        })
    })?;
    let mut violations = grouped(conn, "violations", &p, |r| {
        Ok(Violation {
            change_id: r.get(2)?,
            policy: r.get(3)?,
            detail: s(r, 4)?,
        })
    })?;
    let mut peers = grouped(conn, "peers", &p, |r| {
        Ok(Peers {
            releases: r.get(2)?,
            lead_time_days: r.get(3)?,
            slip_hours: r.get(4)?,
            defects: r.get(5)?,
            changes: r.get(6)?,
            success_rate: r.get(7)?,
        })
    })?;
    unique
        .into_iter()
        .map(|k| {
            let (source, id) = k;
            let head = heads
                .remove(k)
                .and_then(|h| h.into_iter().next())
                .with_context(|| format!("no release {id} from {source}"))?;
            let peers = peers
                .remove(k)
                .and_then(|p| p.into_iter().next())
                .context("queries/review/peers.sql returned no row for the release")?;
            Ok(assemble(
                cfg,
                source,
                id,
                head,
                changes.remove(k).unwrap_or_default(),
                incidents.remove(k).unwrap_or_default(),
                satisfaction.remove(k).unwrap_or_default(),
                violations.remove(k).unwrap_or_default(),
                peers,
            ))
        })
        .collect()
}

/// One card from its release's rows.
#[allow(clippy::too_many_arguments)]
fn assemble(
    cfg: &Config,
    source: &str,
    id: &str,
    head: Head,
    changes: Vec<ChangeRow>,
    incidents: Vec<IncidentRow>,
    satisfaction: Vec<Answer>,
    violations: Vec<Violation>,
    peers: Peers,
) -> Card {
    let scores: Vec<f64> = satisfaction.iter().filter_map(|a| a.score.map(f64::from)).collect();
    let satisfaction_mean = (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
    let comparison = vec![
        compare_row("Lead time", head.lead_time_days, peers.lead_time_days, true, &|v| {
            format!("{v:.1} d")
        }),
        compare_row(
            "Slip against planned end",
            head.slip_hours,
            peers.slip_hours,
            true,
            &|v| format!("{v:+.1} h"),
        ),
        compare_row(
            "Defects (incidents within the window)",
            Some(head.defects as f64),
            peers.defects,
            true,
            &|v| format!("{v:.1}"),
        ),
        compare_row(
            "Changes bundled",
            Some(changes.len() as f64),
            peers.changes,
            true,
            &|v| format!("{v:.1}"),
        ),
    ];
    let slip = match (head.slip_hours, head.late) {
        (Some(h), Some(true)) => format!("{h:+.1} h (late)"),
        (Some(h), _) => format!("{h:+.1} h (on time)"),
        _ => "unknown (no planned or actual end)".into(),
    };
    let result = if head.failed {
        let mut why = Vec::new();
        if head.outcome == "failed" || head.outcome == "rolled_back" {
            why.push(format!("outcome {}", head.outcome));
        }
        if head.major_incidents > 0 {
            why.push(format!(
                "{} major incident(s) within {} days",
                head.major_incidents, cfg.attribution.window_days
            ));
        }
        format!("failed: {}", why.join("; "))
    } else if head.outcome.is_empty() {
        "no outcome recorded".into()
    } else {
        "successful".into()
    };
    Card {
        source: source.into(),
        release_id: id.into(),
        title: head.title,
        release_type: head.release_type,
        service: head.service,
        team: head.team,
        state: head.state,
        outcome: head.outcome,
        planned: format!("{} – {}", ts(head.planned.0), ts(head.planned.1)),
        actual: format!("{} – {}", ts(head.actual.0), ts(head.actual.1)),
        slip,
        lead_time: output::fmt_value(kpi::Unit::Days, head.lead_time_days),
        result,
        figures: Figures {
            slip_hours: head.slip_hours,
            lead_time_days: head.lead_time_days,
            failed: head.failed,
            late: head.late,
            defects: head.defects,
            major_incidents: head.major_incidents,
            satisfaction_mean,
            peers,
        },
        changes,
        incidents,
        satisfaction,
        violations,
        comparison,
        window_days: cfg.attribution.window_days,
        file: card_file(source, id),
    }
}

#[derive(Serialize)]
struct IndexView<'a> {
    title: String,
    scope: &'a str,
    period: PeriodOut,
    cards: &'a [Card],
}

/// Cards for every release deployed in `period` (needs `kpi::prepare` first).
pub fn cards_for_period(conn: &duckdb::Connection, cfg: &Config, period: &Period) -> Result<Vec<Card>> {
    let p = Params::new(period, None, cfg, None);
    let ids = each(conn, "releases_in_period", &p, |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    cards(conn, cfg, &ids)
}

/// Cards for releases named by id (every source holding the id).
pub fn cards_for_ids(conn: &duckdb::Connection, cfg: &Config, ids: &[String]) -> Result<Vec<Card>> {
    let mut keys = Vec::new();
    for id in ids {
        for source in sources_of(conn, cfg, id)? {
            keys.push((source, id.clone()));
        }
    }
    cards(conn, cfg, &keys)
}

pub fn sources_of(conn: &duckdb::Connection, cfg: &Config, id: &str) -> Result<Vec<String>> {
    let mut p = Params::settings(cfg);
    p.set("release_id", Value::Text(id.to_owned()));
    each(conn, "find_release", &p, |r| r.get::<_, String>(0))
}

/// The cards and their index (index.html, index.json) into `out`.
pub fn write_period(cards: &[Card], period: &Period, scope: &str, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for c in cards {
        write_card(c, out)?;
    }
    let view = IndexView {
        title: format!("Release reviews — {}", period.label),
        scope,
        period: PeriodOut::from(period),
        cards,
    };
    output::write_atomic(
        &out.join("index.html"),
        output::render_html("review_index.html", INDEX, &view)?.as_bytes(),
    )?;
    output::write_atomic(&out.join("index.json"), &serde_json::to_vec_pretty(&cards)?)?;
    Ok(())
}

pub fn write_card(c: &Card, out: &Path) -> Result<PathBuf> {
    let html = out.join(&c.file);
    output::write_atomic(&html, output::render_html("review.html", CARD, c)?.as_bytes())?;
    output::write_atomic(&html.with_extension("json"), &serde_json::to_vec_pretty(c)?)?;
    Ok(html)
}
