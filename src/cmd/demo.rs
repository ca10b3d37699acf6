//! `relkpi demo`: the whole job on the bundled sample data (compiled into the
//! binary, so it works from any folder): a fresh warehouse, the KPIs of the
//! latest complete month, and that month's report in `reports/demo/`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::cli::{DemoArgs, GlobalArgs};
use crate::config::Config;
use crate::import::{self, ImportOptions};
use crate::kpi::{self, PeriodRequest};
use crate::output;
use crate::queries::SAMPLE_DATA;
use crate::report::{ReportRequest, render};
use crate::warehouse::{Mode, Session, Warehouse, derived};

pub fn run(g: &GlobalArgs, a: DemoArgs) -> Result<u8> {
    std::fs::create_dir_all(&a.dir).with_context(|| format!("cannot create {}", a.dir.display()))?;
    let db = a.dir.join("relkpi.duckdb");
    for p in [db.clone(), db.with_extension("duckdb.wal")] {
        if p.exists() {
            std::fs::remove_file(&p)
                .with_context(|| format!("cannot remove the old demo warehouse {}", p.display()))?;
        }
    }
    // The samples live in the binary; write them to a scratch folder to import.
    let samples = std::env::temp_dir().join(format!("relkpi-demo-{}", std::process::id()));
    std::fs::create_dir_all(&samples).with_context(|| format!("cannot create {}", samples.display()))?;
    SAMPLE_DATA
        .extract(&samples)
        .with_context(|| format!("cannot write the sample data to {}", samples.display()))?;
    // The ServiceNow samples tell the story once; the other systems' folders hold
    // the same story again (for tests), so importing them too would count it twice.
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(dir) = SAMPLE_DATA.get_dir("servicenow") {
        collect(dir, &samples, &mut files);
    }
    files.sort();
    let wh = Warehouse::open(&db, Mode::ReadWrite)?;
    let opts = ImportOptions {
        source_name: "canonical".into(),
        ..Default::default()
    };
    let (_, failed) = import::import_files(&wh.conn, &files, &opts, !g.quiet)?;
    let _ = std::fs::remove_dir_all(&samples);
    anyhow::ensure!(failed == 0, "{failed} sample files failed to import");
    // Example targets, so the report shows red/amber/green; an existing file is kept.
    let cfg_path = a.dir.join("relkpi.toml");
    if !cfg_path.exists()
        && let Some(f) = SAMPLE_DATA.get_file("relkpi.toml")
    {
        std::fs::write(&cfg_path, f.contents()).with_context(|| format!("cannot write {}", cfg_path.display()))?;
    }
    let cfg = Config::load(g.config.as_deref(), &db)?;
    derived::derive(&wh.conn, &cfg)?;
    let s = Session::with(cfg, wh);
    let period = kpi::resolve_period(s.conn(), PeriodRequest::default())?;
    let report = kpi::compute(s.conn(), &s.config, s.prepared()?, &period, None, &[])?;
    let mut out = std::io::stdout().lock();
    writeln!(out)?;
    output::print_kpi_table(&mut out, &report)?;
    drop(out);
    let req = ReportRequest {
        against: period.previous()?,
        period: period.clone(),
        months: 12,
        level: s.config.compare.level,
        min_records: s.config.compare.min_records,
    };
    let (index, _) = render::write_report(&s, &req, &a.dir.join("reports").join("demo"), false)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\nwarehouse: {}\nreport:    {}\ntry: relkpi --db {} kpi --period {} --by service",
        db.display(),
        index.display(),
        db.display(),
        report.period.label
    )?;
    Ok(0)
}

/// Every sample file (not READMEs), recursively.
fn collect(dir: &include_dir::Dir<'_>, root: &std::path::Path, out: &mut Vec<PathBuf>) {
    for f in dir.files() {
        if f.path().extension().is_some_and(|e| e != "md") {
            out.push(root.join(f.path()));
        }
    }
    for d in dir.dirs() {
        collect(d, root, out);
    }
}
