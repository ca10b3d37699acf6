//! `relkpi generate`: a synthetic ServiceNow-format export set of any size, for
//! benchmarks and demos: change_request.csv, rm_release.csv, incident.csv and
//! satisfaction.csv (canonical), in the shapes of the bundled samples. Every
//! record is drawn from its own random stream (seed, kind, index), so the files
//! are identical for a seed and written row by row: memory does not grow with
//! the size.
//!
//! Proportions follow the samples: one release per 9 changes (5 of every 9
//! changes bundled in one), about one incident per change, three satisfaction
//! answers per release. Events that every KPI counts: failed and rolled-back
//! changes and releases, emergency changes, changes implemented without
//! approval, late releases, incidents caused by changes (explicit `caused_by`
//! or on the change's CI within days), and changes and releases planned after
//! the last day (for the forward schedule).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate, NaiveDateTime};

use crate::cli::{GenerateArgs, GlobalArgs};

const SERVICES: &[(&str, &str, [&str; 3])] = &[
    ("Payments", "Team Alpha", ["pay-api", "pay-db", "pay-gateway"]),
    ("Online Banking", "Team Beta", ["ob-web", "ob-auth", "ob-api"]),
    ("CRM", "Team Gamma", ["crm-app", "crm-db", "crm-sync"]),
    ("Data Platform", "Team Delta", ["dp-etl", "dp-warehouse", "dp-stream"]),
    ("Mobile", "Team Epsilon", ["mob-ios", "mob-android", "mob-backend"]),
    ("HR Systems", "Team Zeta", ["hr-portal", "hr-payroll", "hr-db"]),
    ("Logistics", "Team Eta", ["log-tracking", "log-wms", "log-api"]),
    ("Identity", "Team Theta", ["idp-core", "idp-mfa", "idp-directory"]),
];

/// Changes per release cycle; the first BUNDLED of each cycle belong to its release.
const CYCLE: u64 = 9;
const BUNDLED: u64 = 5;

/// One random stream per record: SplitMix64 over (seed, kind, index).
struct Rng(u64);

impl Rng {
    fn new(seed: u64, kind: u64, index: u64) -> Rng {
        let mut r = Rng(seed ^ kind.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn minutes(&mut self, lo: i64, hi: i64) -> Duration {
        Duration::minutes(lo + self.below((hi - lo + 1) as u64) as i64)
    }
}

const K_CHANGE: u64 = 1;
const K_RELEASE: u64 = 2;
const K_SURVEY: u64 = 4;
const K_BACKGROUND: u64 = 5;
const K_UPDATE: u64 = 6;

fn t(ts: NaiveDateTime) -> String {
    ts.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The shape of the data set: when it starts and how time is spread.
struct Plan {
    seed: u64,
    changes: u64,
    start: NaiveDateTime,
    span_minutes: i64,
}

impl Plan {
    /// When the `i`th change's window opens: evenly spread, in change order.
    fn slot(&self, i: u64) -> NaiveDateTime {
        self.start + Duration::minutes((i as i128 * self.span_minutes as i128 / self.changes.max(1) as i128) as i64)
    }
    fn release_of(&self, i: u64) -> Option<u64> {
        (i % CYCLE < BUNDLED).then_some(i / CYCLE)
    }
    fn service(&self, kind: u64, idx: u64) -> usize {
        Rng::new(self.seed, kind + 100, idx).below(SERVICES.len() as u64) as usize
    }
}

/// A release: its service, window and outcome, a function of its index alone.
struct ReleaseFacts {
    service: usize,
    planned_start: NaiveDateTime,
    planned_end: NaiveDateTime,
    actual_start: NaiveDateTime,
    actual_end: NaiveDateTime,
    outcome: &'static str,
    future: bool,
    opened: NaiveDateTime,
}

fn release_facts(p: &Plan, r: u64, last_day: NaiveDateTime) -> ReleaseFacts {
    let mut rng = Rng::new(p.seed, K_RELEASE, r);
    let planned_start = p.slot(r * CYCLE);
    let planned_end = planned_start + Duration::hours(4);
    let late = rng.f() < 0.2;
    let actual_start = planned_start + rng.minutes(0, 20);
    let actual_end = if late {
        planned_end + rng.minutes(30, 600)
    } else {
        planned_end - rng.minutes(10, 120)
    };
    let u = rng.f();
    let outcome = if u < 0.80 {
        "Successful"
    } else if u < 0.88 {
        "Successful with issues"
    } else if u < 0.95 {
        "Failed"
    } else {
        "Rolled back"
    };
    ReleaseFacts {
        service: p.service(K_RELEASE, r),
        planned_start,
        planned_end,
        actual_start,
        actual_end,
        outcome,
        future: planned_start > last_day,
        opened: planned_start - Duration::days(20 + rng.below(40) as i64),
    }
}

pub fn run(g: &GlobalArgs, a: GenerateArgs) -> Result<u8> {
    let out = &a.out;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let start = NaiveDate::from_ymd_opt(2024, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .context("start date")?;
    let months = a.months.clamp(1, 240);
    let end = start
        .checked_add_months(chrono::Months::new(months))
        .context("--months too large")?;
    let plan = Plan {
        seed: a.seed,
        changes: a.changes.max(1),
        start,
        span_minutes: (end - start).num_minutes(),
    };
    // The last 2% of the span is "after today": planned, not yet implemented.
    let last_day = start + Duration::minutes(plan.span_minutes * 98 / 100);
    let progress = crate::ui::Progress::new(plan.changes, "generate");
    let (counts, delta) = write_all(&plan, last_day, out, a.delta, &progress)?;
    drop(progress);
    if !g.quiet {
        println!(
            "{}: {} changes, {} releases, {} incidents, {} satisfaction answers ({} to {}, seed {})",
            out.display(),
            counts.0,
            counts.1,
            counts.2,
            counts.3,
            start.date(),
            end.date(),
            a.seed
        );
        if let Some(d) = delta {
            println!(
                "{}: {} changes (new or closed again), {} releases, {} incidents, {} satisfaction answers",
                out.join("delta").display(),
                d.0,
                d.1,
                d.2,
                d.3
            );
        }
    }
    Ok(crate::exit::OK)
}

fn writer(dir: &Path, name: &str) -> Result<csv::Writer<BufWriter<File>>> {
    let p = dir.join(name);
    let f = File::create(&p).with_context(|| format!("cannot create {}", p.display()))?;
    Ok(csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(BufWriter::with_capacity(1 << 20, f)))
}

/// One export set: the four files, headers written, and what went in them.
struct Files {
    changes: Csv,
    releases: Csv,
    incidents: Csv,
    surveys: Csv,
    counts: Counts,
}

type Csv = csv::Writer<BufWriter<File>>;

/// Records written to one export set: changes, releases, incidents, answers.
#[derive(Default, Clone, Copy)]
pub struct Counts(pub u64, pub u64, pub u64, pub u64);

impl Files {
    fn create(dir: &Path) -> Result<Files> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut f = Files {
            changes: writer(dir, "change_request.csv")?,
            releases: writer(dir, "rm_release.csv")?,
            incidents: writer(dir, "incident.csv")?,
            surveys: writer(dir, "satisfaction.csv")?,
            counts: Counts::default(),
        };
        f.changes.write_record([
            "number",
            "short_description",
            "type",
            "risk",
            "state",
            "close_code",
            "approval",
            "approval_set",
            "cab_required",
            "u_release",
            "business_service",
            "assignment_group",
            "cmdb_ci",
            "opened_at",
            "start_date",
            "end_date",
            "work_start",
            "work_end",
            "closed_at",
            "sys_updated_on",
            "u_origin",
        ])?;
        f.releases.write_record([
            "Number",
            "Short description",
            "Release type",
            "State",
            "Close code",
            "Business service",
            "Assignment group",
            "Opened",
            "Approval set",
            "Planned start date",
            "Planned end date",
            "Actual start",
            "Actual end",
            "Closed",
            "Updated",
        ])?;
        f.incidents.write_record([
            "number",
            "short_description",
            "priority",
            "state",
            "cmdb_ci",
            "business_service",
            "assignment_group",
            "caused_by",
            "opened_at",
            "resolved_at",
            "closed_at",
            "sys_updated_on",
        ])?;
        f.surveys.write_record([
            "source",
            "response_id",
            "release_id",
            "service",
            "submitted_at",
            "score",
            "comment",
        ])?;
        Ok(f)
    }

    fn flush(&mut self) -> Result<()> {
        for w in [
            &mut self.changes,
            &mut self.releases,
            &mut self.incidents,
            &mut self.surveys,
        ] {
            w.flush()?;
        }
        Ok(())
    }
}

/// Write the export set to `dir`; with `delta` > 0, the last `delta` changes
/// before the planned ones (with their releases, incidents and answers) go to
/// `dir/delta` instead, as a month's new records, with a tenth of the `delta`
/// changes before them closed again there (a later update: another outcome,
/// and for some another CI).
fn write_all(
    p: &Plan,
    last_day: NaiveDateTime,
    dir: &Path,
    delta: u64,
    progress: &crate::ui::Progress,
) -> Result<(Counts, Option<Counts>)> {
    let mut base = Files::create(dir)?;
    let mut later = if delta > 0 {
        Some(Files::create(&dir.join("delta"))?)
    } else {
        None
    };
    // The delta holds the last changes before the planned ones (the last 2%).
    let delta_to = p.changes * 98 / 100;
    let delta_from = delta_to.saturating_sub(delta);
    let (mut n_inc, mut n_sur) = (0u64, 0u64);
    const PRIORITIES: [&str; 5] = ["1 - Critical", "2 - High", "3 - Moderate", "4 - Low", "5 - Planning"];
    let mut incident = |w: &mut csv::Writer<BufWriter<File>>,
                        rng: &mut Rng,
                        title: &str,
                        ci: &str,
                        svc: usize,
                        caused_by: &str,
                        opened: NaiveDateTime|
     -> Result<()> {
        n_inc += 1;
        let pr = match rng.f() {
            x if x < 0.04 => 0,
            x if x < 0.15 => 1,
            x if x < 0.55 => 2,
            x if x < 0.95 => 3,
            _ => 4,
        };
        let resolved = opened + rng.minutes(20, 60 * 72);
        let closed = resolved + Duration::days(3);
        let (s, team, _) = SERVICES[svc];
        w.write_record([
            format!("INC{n_inc:09}").as_str(),
            title,
            PRIORITIES[pr],
            "Closed",
            ci,
            s,
            team,
            caused_by,
            &t(opened),
            &t(resolved),
            &t(closed),
            &t(closed),
        ])?;
        Ok(())
    };
    for i in 0..p.changes {
        let mut rng = Rng::new(p.seed, K_CHANGE, i);
        let rel = p.release_of(i);
        let side = match later.as_mut() {
            Some(d) if (delta_from..delta_to).contains(&i) => d,
            _ => &mut base,
        };
        // A new release cycle: write its release and its answers.
        if i % CYCLE == 0 {
            let r = i / CYCLE;
            let f = release_facts(p, r, last_day);
            let (svc, team, _) = SERVICES[f.service];
            let kind = ["Major", "Minor", "Minor", "Patch", "Patch", "Emergency"]
                [Rng::new(p.seed, K_RELEASE + 50, r).below(6) as usize];
            let id = format!("RLSE{r:08}");
            let (state, code, a_start, a_end, closed) = if f.future {
                ("Scoping", "", String::new(), String::new(), String::new())
            } else {
                (
                    "Completed",
                    f.outcome,
                    t(f.actual_start),
                    t(f.actual_end),
                    t(f.actual_end + Duration::days(2)),
                )
            };
            side.releases.write_record([
                id.as_str(),
                &format!("{svc} {} release {r}", kind.to_lowercase()),
                kind,
                state,
                code,
                svc,
                team,
                &t(f.opened),
                &t(f.opened + Duration::days(3)),
                &t(f.planned_start),
                &t(f.planned_end),
                &a_start,
                &a_end,
                &closed,
                &t(f.planned_end + Duration::days(2)),
            ])?;
            side.counts.1 += 1;
            if !f.future {
                for k in 0..3 {
                    let mut sr = Rng::new(p.seed, K_SURVEY, r * 3 + k);
                    let bad = f.outcome == "Failed" || f.outcome == "Rolled back";
                    let score = if bad { 1 + sr.below(3) } else { 3 + sr.below(3) };
                    n_sur += 1;
                    side.counts.3 += 1;
                    side.surveys.write_record([
                        "servicenow",
                        &format!("SURV{n_sur:09}"),
                        &id,
                        svc,
                        &t(f.actual_end + Duration::hours(6 + sr.below(200) as i64)),
                        &score.to_string(),
                        if bad { "Problems after go-live" } else { "Smooth" },
                    ])?;
                }
            }
        }
        // The change: bundled ones follow their release's service and window.
        let (svc_idx, start) = match rel {
            Some(r) => {
                let f = release_facts(p, r, last_day);
                (f.service, f.planned_start + Duration::minutes(10 * (i % CYCLE) as i64))
            }
            None => (p.service(K_CHANGE, i), p.slot(i) + rng.minutes(0, 300)),
        };
        let (svc, team, cis) = SERVICES[svc_idx];
        let ci = cis[rng.below(3) as usize];
        let u = rng.f();
        let kind = if u < 0.08 {
            "emergency"
        } else if u < 0.38 && rel.is_none() {
            "standard"
        } else {
            "normal"
        };
        let risk = (1 + rng.below(4)).to_string();
        let future = start > last_day;
        let approval = if kind == "standard" {
            "not requested"
        } else if rng.f() < 0.03 {
            "rejected"
        } else if future && rng.f() < 0.3 {
            "requested"
        } else {
            "approved"
        };
        let planned_end = start + rng.minutes(60, 240);
        let work_start = start + rng.minutes(0, 15);
        let overrun = if rng.f() < 0.15 { 300 } else { 10 };
        let work_end = planned_end + rng.minutes(-45, overrun);
        let v = rng.f();
        let code = if v < 0.86 {
            "successful"
        } else if v < 0.92 {
            "successful_issues"
        } else if v < 0.97 {
            "unsuccessful"
        } else {
            "rolled_back"
        };
        let opened = start - Duration::hours(6 + rng.below(24 * 20) as i64);
        let number = format!("CHG{i:09}");
        let (state, code, ws, we, closed) = if future {
            ("-2", "", String::new(), String::new(), String::new())
        } else {
            ("3", code, t(work_start), t(work_end), t(work_end + Duration::days(2)))
        };
        let record = [
            number.as_str(),
            &format!("Deploy {ci} ({kind})"),
            kind,
            &risk,
            state,
            code,
            approval,
            &if approval == "approved" {
                t(opened + Duration::hours(4))
            } else {
                String::new()
            },
            if kind == "normal" && rng.f() < 0.4 {
                "true"
            } else {
                "false"
            },
            &rel.map(|r| format!("RLSE{r:08}")).unwrap_or_default(),
            svc,
            team,
            ci,
            &t(opened),
            &t(start),
            &t(planned_end),
            &ws,
            &we,
            &closed,
            &if future {
                t(opened)
            } else {
                t(work_end + Duration::days(2))
            },
            // A customised instance's origin field: emergency fixes follow incidents.
            if kind == "emergency" { "incident" } else { "planned" },
        ];
        side.changes.write_record(record)?;
        side.counts.0 += 1;
        if !future {
            // Incidents caused by the change: more after a failed one; some name it
            // (caused_by), the others are on its CI within a few days.
            let failed = code == "unsuccessful" || code == "rolled_back";
            let n = match (failed, rng.f()) {
                (true, x) if x < 0.5 => 2,
                (true, _) => 1,
                (false, x) if x < 0.06 => 1,
                _ => 0,
            };
            for _ in 0..n {
                let explicit = rng.f() < 0.4;
                let at = work_end + rng.minutes(10, 60 * 24 * 6);
                incident(
                    &mut side.incidents,
                    &mut rng,
                    &format!("Errors after change on {ci}"),
                    ci,
                    svc_idx,
                    if explicit { number.as_str() } else { "" },
                    at,
                )?;
                side.counts.2 += 1;
            }
        }
        // Background incidents unrelated to any change, about 0.75 per change;
        // most name only the service (users report symptoms, not CIs), so the CI
        // window attributes only the few that name a CI.
        let mut bg = Rng::new(p.seed, K_BACKGROUND, i);
        let k = if bg.f() < 0.75 { 1 } else { 0 };
        for _ in 0..k {
            let s = p.service(K_BACKGROUND, i);
            let c = SERVICES[s].2[bg.below(3) as usize];
            let named = if bg.f() < 0.1 { c } else { "" };
            let at = p.slot(i) + bg.minutes(0, 60 * 24 * 3);
            if at <= last_day {
                incident(
                    &mut side.incidents,
                    &mut bg,
                    &format!("User reports problem with {c}"),
                    named,
                    s,
                    "",
                    at,
                )?;
                side.counts.2 += 1;
            }
        }
        // A tenth of the month before the delta: closed again in it, a month
        // later, with another outcome and some with another CI.
        if let Some(d) = later.as_mut()
            && !future
            && i < delta_from
            && i + delta >= delta_from
            && Rng::new(p.seed, K_UPDATE, i).f() < 0.1
        {
            let mut u = Rng::new(p.seed, K_UPDATE + 1, i);
            let mut again: Vec<String> = record.iter().map(|f| f.to_string()).collect();
            again[5] = ["successful", "unsuccessful", "rolled_back"][u.below(3) as usize].to_owned();
            if u.f() < 0.3 {
                again[12] = cis[u.below(3) as usize].to_owned();
            }
            again[19] = t(work_end + Duration::days(32));
            d.changes.write_record(&again)?;
            d.counts.0 += 1;
        }
        if i % 4096 == 0 {
            progress.set(i);
        }
    }
    base.flush()?;
    if let Some(d) = later.as_mut() {
        d.flush()?;
    }
    Ok((base.counts, later.map(|d| d.counts)))
}
