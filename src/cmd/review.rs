//! `relkpi review`: the post-implementation review card of a release (HTML and
//! JSON): planned against actual window and slip, outcome, the changes it
//! bundled, the incidents attributed to it with their recovery, satisfaction,
//! policy violations, and how it compares with the median release of its
//! service over the previous 6 months. With `--period`, one card per release
//! deployed in the period plus an index. The figures come from
//! queries/review/*.sql.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::NaiveDateTime;
use duckdb::types::Value;
use serde::Serialize;

use crate::cli::{GlobalArgs, ReviewArgs};
use crate::config::Config;
use crate::kpi::{self, Params, PeriodOut};
use crate::output;
use crate::period::Period;
use crate::queries;
use crate::warehouse::{Mode, Warehouse};

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

fn params_for(cfg: &Config, source: &str, id: &str) -> Result<Params> {
    let mut p = Params::settings(cfg, 0);
    p.set("release_source", Value::Text(source.to_owned()));
    p.set("release_id", Value::Text(id.to_owned()));
    Ok(p)
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
    let p = params_for(cfg, source, id)?;
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
    let s = |r: &duckdb::Row<'_>, i: usize| -> duckdb::Result<String> {
        Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default())
    };
    let head = each(conn, "release", &p, |r| {
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
    })?
    .into_iter()
    .next()
    .with_context(|| format!("no release {id} from {source}"))?;
    let changes = each(conn, "changes", &p, |r| {
        Ok(ChangeRow {
            change_id: r.get(0)?,
            title: s(r, 1)?,
            change_type: s(r, 2)?,
            state: s(r, 3)?,
            outcome: s(r, 4)?,
            actual_end: ts(r.get(5)?),
            failed: r.get::<_, Option<bool>>(6)?.unwrap_or(false),
            incidents_caused: r.get::<_, Option<i64>>(7)?.unwrap_or(0),
        })
    })?;
    let incidents = each(conn, "incidents", &p, |r| {
        let recovery_hours: Option<f64> = r.get(7)?;
        Ok(IncidentRow {
            incident_id: r.get(0)?,
            title: s(r, 1)?,
            priority: r.get(2)?,
            method: s(r, 3)?,
            via_change: s(r, 4)?,
            opened_at: ts(r.get(5)?),
            resolved_at: ts(r.get(6)?),
            recovery_hours,
            recovery: recovery_hours
                .map(|h| format!("{h:.1} h"))
                .unwrap_or_else(|| "unresolved".into()),
            within_window: r.get::<_, Option<bool>>(8)?.unwrap_or(false),
        })
    })?;
    let satisfaction = each(conn, "satisfaction", &p, |r| {
        Ok(Answer {
            response_id: r.get(0)?,
            submitted_at: ts(r.get(1)?),
            score: r.get(2)?,
            comment: s(r, 3)?,
        })
    })?;
    let violations = each(conn, "violations", &p, |r| {
        Ok(Violation {
            change_id: r.get(0)?,
            policy: r.get(1)?,
            detail: s(r, 2)?,
        })
    })?;
    let peers = each(conn, "peers", &p, |r| {
        Ok(Peers {
            releases: r.get(0)?,
            lead_time_days: r.get(1)?,
            slip_hours: r.get(2)?,
            defects: r.get(3)?,
            changes: r.get(4)?,
            success_rate: r.get(5)?,
        })
    })?
    .into_iter()
    .next()
    .context("queries/review/peers.sql returned no row")?;
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
    Ok(Card {
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
        lead_time: output::fmt_value("days", head.lead_time_days),
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
    })
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
    let p = Params::new(period, None, cfg, 0);
    let ids = each(conn, "releases_in_period", &p, |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    ids.iter().map(|(source, id)| card(conn, cfg, source, id)).collect()
}

/// Cards for releases named by id (every source holding the id).
pub fn cards_for_ids(conn: &duckdb::Connection, cfg: &Config, ids: &[String]) -> Result<Vec<Card>> {
    let mut out = Vec::new();
    for id in ids {
        for source in sources_of(conn, cfg, id)? {
            out.push(card(conn, cfg, &source, id)?);
        }
    }
    Ok(out)
}

fn sources_of(conn: &duckdb::Connection, cfg: &Config, id: &str) -> Result<Vec<String>> {
    let mut p = Params::settings(cfg, 0);
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

fn write_card(c: &Card, out: &Path) -> Result<PathBuf> {
    let html = out.join(&c.file);
    output::write_atomic(&html, output::render_html("review.html", CARD, c)?.as_bytes())?;
    output::write_atomic(&html.with_extension("json"), &serde_json::to_vec_pretty(c)?)?;
    Ok(html)
}

pub fn run(g: &GlobalArgs, a: ReviewArgs) -> Result<u8> {
    let cfg = Config::load(g.config.as_deref(), &g.db)?;
    let wh = Warehouse::open(&g.db, Mode::ReadOnly)?;
    // Policy violations feed the cards; the attribution cache speeds them up.
    kpi::prepare(&wh.conn, &cfg)?;
    if let Some(id) = &a.release {
        let source = match &a.source {
            Some(s) => s.clone(),
            None => {
                let sources = sources_of(&wh.conn, &cfg, id)?;
                match sources.as_slice() {
                    [one] => one.clone(),
                    [] => bail!(
                        "no release {id:?} in the warehouse (see `relkpi sql \"select release_id from releases\"`)"
                    ),
                    many => bail!(
                        "release {id:?} exists in several sources ({}); choose one with --source",
                        many.join(", ")
                    ),
                }
            }
        };
        let c = card(&wh.conn, &cfg, &source, id)?;
        let out = a
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("reports").join("reviews"));
        std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
        let html = write_card(&c, &out)?;
        println!("{}", html.display());
        return Ok(crate::exit::OK);
    }
    let period = kpi::resolve_period(&wh.conn, &a.period)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(&period.label).join("reviews"));
    let cards = cards_for_period(&wh.conn, &cfg, &period)?;
    write_period(&cards, &period, "every release deployed in the period", &out)?;
    crate::ui::verbose(1, format!("{} review cards for {}", cards.len(), period.label));
    println!("{}", out.join("index.html").display());
    Ok(crate::exit::OK)
}
