//! Writing the monthly KPI report: one self-contained HTML page
//! (inline CSS and SVG, no scripts), the figures as kpis.json and kpis.csv,
//! every chart as SVG and PNG, and optionally a PDF printed by headless
//! Chromium. Files are written under a temporary name and renamed, and a lock
//! keeps two reports from writing into the same folder at once.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::{ReportModel, ReportRequest, charts, review};
use crate::kpi::PeriodOut;
use crate::kpi::compare::Comparison;
use crate::kpi::trend::Series;
use crate::output::{self, Grid};
use crate::warehouse::Session;

static TEMPLATE: &str = include_str!("../../templates/report.html");

/// kpis.json: the figures the page shows, with the records behind them.
#[derive(Serialize)]
struct KpisFile<'a> {
    period: &'a PeriodOut,
    against: &'a PeriodOut,
    generated_at: &'a str,
    kpis: &'a [Comparison],
    trend: &'a [Series],
}

/// Build and write the report into `out`; returns the path of index.html and
/// the view model it was rendered from.
pub fn write_report(s: &Session, req: &ReportRequest, out: &Path, pdf: bool) -> Result<(PathBuf, ReportModel)> {
    std::fs::create_dir_all(out.join("charts")).with_context(|| format!("cannot create {}", out.display()))?;
    let _lock = lock(out)?;
    let progress = crate::ui::Progress::new(0, "report");
    let built = super::build(s, req, &progress)?;
    progress.message("writing files");
    let clock = crate::ui::Phases::start("report");
    for (id, spec) in &built.specs {
        let svg = charts::svg(spec)?;
        output::write_atomic(&out.join("charts").join(format!("{id}.svg")), svg.as_bytes())?;
        let png = out.join("charts").join(format!("{id}.png"));
        let tmp = output::tmp_name(&png);
        charts::png(spec, &tmp).with_context(|| format!("writing {}", png.display()))?;
        output::rename(&tmp, &png)?;
    }
    clock.lap("chart files");
    review::write_period(
        &built.cards,
        &req.period,
        "the releases the report lists as failed, rolled back or late",
        &out.join("reviews"),
    )?;
    let kpis = KpisFile {
        period: &built.model.period,
        against: &built.model.against,
        generated_at: &built.model.generated_at,
        kpis: &built.comparison.kpis,
        trend: &built.trend.series,
    };
    output::write_atomic_with(&out.join("kpis.json"), |w| Ok(serde_json::to_writer_pretty(w, &kpis)?))?;
    let mut csv = Vec::new();
    kpis_grid(&built.model, &built.comparison.kpis).write_csv(&mut csv)?;
    output::write_atomic(&out.join("kpis.csv"), &csv)?;
    let html = output::render_html("report.html", TEMPLATE, &built.model)?;
    let index = out.join("index.html");
    output::write_atomic(&index, html.as_bytes())?;
    clock.lap("review, data and page files");
    if pdf {
        progress.message("printing the PDF");
        print_pdf(&index, &out.join("report.pdf"))?;
    }
    Ok((index, built.model))
}

fn kpis_grid(m: &ReportModel, kpis: &[Comparison]) -> Grid {
    let mut g = Grid::new(&[
        "id",
        "title",
        "unit",
        "better",
        "period",
        "value",
        "numerator",
        "denominator",
        "count",
        "against_period",
        "against_value",
        "delta",
        "delta_rel",
        "verdict",
        "p_value",
        "rag",
        "dora_band",
    ]);
    for k in kpis {
        let c = &k.current;
        g.rows.push(vec![
            c.id.clone(),
            c.title.clone(),
            c.unit.as_str().to_owned(),
            c.better.as_str().to_owned(),
            m.period.label.clone(),
            output::fmt_opt(c.value),
            output::fmt_opt(c.numerator),
            output::fmt_opt(c.denominator),
            c.count.to_string(),
            m.against.label.clone(),
            output::fmt_opt(k.against.value),
            output::fmt_opt(k.delta),
            output::fmt_opt(k.delta_rel),
            k.verdict.as_str().to_owned(),
            output::fmt_opt(k.p_value),
            c.rag.map(|r| r.as_str()).unwrap_or_default().to_owned(),
            c.extra
                .get("dora_band")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
        ]);
    }
    g
}

/// An exclusive lock on `DIR/.relkpi-report.lock`, held while writing.
fn lock(out: &Path) -> Result<File> {
    let path = out.join(".relkpi-report.lock");
    let f = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another relkpi report is writing into {}; wait for it or choose another --out",
            out.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", path.display())),
    }
}

/// Chromium or Chrome: `RELKPI_CHROMIUM`, else the usual names on PATH.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RELKPI_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn print_pdf(index: &Path, pdf: &Path) -> Result<()> {
    let Some(browser) = find_chromium() else {
        bail!(
            "--pdf needs Chromium or Chrome to print the page, and none was found on PATH; \
             install it (Debian/Ubuntu: apt-get install chromium) or set RELKPI_CHROMIUM to its path. \
             The HTML report is at {}",
            index.display()
        );
    };
    let index = index.canonicalize()?;
    let tmp = output::tmp_name(pdf);
    let profile = std::env::temp_dir().join(format!("relkpi-chromium-{}", std::process::id()));
    std::fs::create_dir_all(&profile).with_context(|| format!("cannot create {}", profile.display()))?;
    let output = Command::new(&browser)
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--no-pdf-header-footer")
        .arg(format!("--print-to-pdf={}", tmp.display()))
        .arg(format!("file://{}", index.display()))
        .output()
        .with_context(|| format!("cannot run {}", browser.display()));
    let _ = std::fs::remove_dir_all(&profile);
    let output = output?;
    if !output.status.success() || !tmp.is_file() {
        let _ = std::fs::remove_file(&tmp);
        bail!(
            "{} could not print the PDF ({}): {}",
            browser.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("")
        );
    }
    output::rename(&tmp, pdf)
}

/// Headless, offline, and no background traffic on a closed network.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
];
