//! `relkpi import FILE...`: each file in its own transaction; a failed file is
//! reported and the others go on (exit 1), as are rejected rows.

use anyhow::Result;

use crate::cli::{DateOrderArg, Format, GlobalArgs, ImportArgs};
use crate::exit;
use crate::import::dates::DateOrder;
use crate::import::profile::Profile;
use crate::import::{self, FileSummary, ImportOptions};
use crate::output;
use crate::warehouse::{Mode, Warehouse};

pub fn options(a: &ImportArgs) -> Result<ImportOptions> {
    Ok(ImportOptions {
        source: a.source.clone(),
        kind: a.kind.clone(),
        profile: a.profile.as_deref().map(Profile::from_file).transpose()?,
        source_name: a.source_name.clone(),
        date_order: a.date_order.map(|d| match d {
            DateOrderArg::Dmy => DateOrder::Dmy,
            DateOrderArg::Mdy => DateOrder::Mdy,
            DateOrderArg::Ymd => DateOrder::Ymd,
        }),
    })
}

pub fn run(g: &GlobalArgs, a: ImportArgs) -> Result<u8> {
    let mut opts = options(&a)?;
    if let Some(k) = &a.kind {
        match import::kind_table(k) {
            Some(t) => opts.kind = Some(t.to_owned()),
            None => anyhow::bail!("--kind {k:?}: use releases, changes, incidents or satisfaction"),
        }
    }
    if a.dry_run {
        return dry_run(&a, &opts);
    }
    let wh = Warehouse::open(&g.db, Mode::ReadWrite)?;
    let (summaries, failed) = import_files(&wh, &a.files, &opts, g.quiet, a.format)?;
    let derived = summaries.is_empty() || derive(&wh, g.config.as_deref(), &g.db);
    finish(&a, &summaries, failed, !derived)
}

/// Print the summaries in the requested format (the table was printed file by
/// file) and give the exit code: 2 when every file failed, 1 when some failed,
/// rows were rejected or `other_failure`, else 0.
fn finish(a: &ImportArgs, summaries: &[FileSummary], failed: usize, other_failure: bool) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => output::write_json(&mut out, &summaries)?,
        Format::Csv => summary_grid(summaries).write_csv(&mut out)?,
        Format::Table => {}
    }
    let rejected = summaries.iter().any(|s| s.rejected > 0);
    Ok(if failed == a.files.len() {
        exit::ERROR
    } else if failed > 0 || rejected || other_failure {
        exit::PARTIAL
    } else {
        exit::OK
    })
}

/// `--dry-run`: each file read and mapped against an empty in-memory
/// warehouse of the current schema; nothing is written anywhere.
pub fn dry_run(a: &ImportArgs, opts: &ImportOptions) -> Result<u8> {
    let scratch = Warehouse::scratch()?;
    let mut summaries = Vec::new();
    let mut failed = 0;
    for f in &a.files {
        match import::prepare(&scratch.conn, f, opts) {
            Ok(prepared) => {
                for p in prepared {
                    let mut s = p.summary;
                    // Nothing is stored: every record would be new to an empty warehouse.
                    s.inserted = p.records.len() as u64;
                    if a.format == Format::Table {
                        println!("{}", summary_text(&s).replacen(": ", ": (dry run) ", 1));
                    }
                    summaries.push(s);
                }
            }
            Err(e) => {
                failed += 1;
                crate::ui::error(format!("{e:#}"));
            }
        }
    }
    finish(a, &summaries, failed, false)
}

/// Import files one by one; returns the summaries and how many files failed.
pub fn import_files(
    wh: &Warehouse,
    files: &[std::path::PathBuf],
    opts: &ImportOptions,
    quiet: bool,
    format: Format,
) -> Result<(Vec<FileSummary>, usize)> {
    let mut summaries = Vec::new();
    let mut failed = 0;
    let progress = crate::ui::Progress::new(files.len() as u64, "import");
    for f in files {
        progress.message(format!("{}: reading and mapping", f.display()));
        let started = std::time::Instant::now();
        // A mixed export is one load per record kind, each in its own transaction.
        let mut loaded = 0;
        let res = import::prepare(&wh.conn, f, opts).and_then(|prepared| {
            for p in prepared {
                progress.message(format!("{}: loading {} rows", f.display(), prepared_rows(&p)));
                let s = import::load::load(&wh.conn, p)?;
                if format == Format::Table && !quiet {
                    progress.println(summary_text(&s));
                }
                summaries.push(s);
                loaded += 1;
            }
            Ok(())
        });
        progress.step("");
        crate::ui::verbose(1, format!("{}: {:.2} s", f.display(), started.elapsed().as_secs_f64()));
        if let Err(e) = res {
            failed += 1;
            let what = if loaded == 0 {
                format!("nothing from {} was loaded", f.display())
            } else {
                format!(
                    "the record kinds of {} above were loaded; the others were not",
                    f.display()
                )
            };
            crate::ui::error(format!("{e:#}\n  {what}"));
        }
    }
    Ok((summaries, failed))
}

/// Rebuild the derived tables after an import; false when that failed (a
/// broken invariant included). The failure is reported and makes the exit
/// code 1; its transaction is rolled back, so the files stay in and KPI runs
/// attribute for themselves while the derived tables are not current.
pub fn derive(wh: &Warehouse, config: Option<&std::path::Path>, db: &std::path::Path) -> bool {
    let started = std::time::Instant::now();
    let res = crate::config::Config::load(config, db).and_then(|cfg| crate::kpi::derive(&wh.conn, &cfg));
    match res {
        Ok(()) => {
            crate::ui::verbose(
                1,
                format!("derived tables rebuilt: {:.2} s", started.elapsed().as_secs_f64()),
            );
            true
        }
        Err(e) => {
            crate::ui::error(format!(
                "the derived tables (attribution) were not rebuilt: {e:#}\n  their rebuild was rolled back; the files stand, and KPI runs will attribute for themselves"
            ));
            false
        }
    }
}

/// The summary of one file, as printed after it.
fn summary_text(s: &FileSummary) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = write!(
        out,
        "{}: {} {} ({} {}, dates {}), batch {}",
        s.file, s.source, s.kind, s.format, s.encoding, s.date_order, s.batch_id
    );
    let _ = write!(
        out,
        "\n  read {} = inserted {} + updated {} + unchanged {} + stale {} + folded {} + blank {} + skipped {} + rejected {}",
        s.read, s.inserted, s.updated, s.unchanged, s.stale, s.folded, s.blank, s.skipped, s.rejected
    );
    if s.derived_releases > 0 {
        let _ = write!(out, "\n  releases derived from release changes: {}", s.derived_releases);
    }
    if !s.detected.is_empty() {
        let _ = write!(out, "\n  detected: {}", s.detected);
    }
    let cov = &s.coverage;
    if !cov.used.is_empty() {
        let used: Vec<String> = cov
            .used
            .iter()
            .map(|u| format!("{} <- {:?}", u.column, u.header))
            .collect();
        let _ = write!(out, "\n  columns used: {}", used.join(", "));
    }
    if !cov.ignored.is_empty() {
        let _ = write!(out, "\n  headers ignored: {}", cov.ignored.join(", "));
    }
    if !cov.missing.is_empty() {
        let _ = write!(out, "\n  canonical columns left empty: {}", cov.missing.join(", "));
    }
    for c in &cov.costs {
        let _ = write!(out, "\n  cost: {c}");
    }
    for u in &s.unmapped_values {
        match &u.mapped_to {
            Some(v) => {
                let _ = write!(
                    out,
                    "\n  unrecognised {} value {:?} mapped to {v:?} by keyword ({} rows)",
                    u.column, u.value, u.rows
                );
            }
            None => {
                let _ = write!(
                    out,
                    "\n  unrecognised {} value {:?} kept as is ({} rows)",
                    u.column, u.value, u.rows
                );
            }
        }
    }
    for w in &s.warnings {
        let _ = write!(out, "\n  warning: {w}");
    }
    if s.rejected > 0 {
        let _ = write!(
            out,
            "\n  {} rows rejected: see `relkpi sql \"select * from import_rejects where batch_id = {}\"`",
            s.rejected, s.batch_id
        );
    }
    out
}

fn prepared_rows(p: &import::Prepared) -> usize {
    p.records.len() + p.rejects.len()
}

fn summary_grid(summaries: &[FileSummary]) -> output::Grid {
    let mut g = output::Grid::new(&[
        "file",
        "batch_id",
        "source",
        "kind",
        "read",
        "inserted",
        "updated",
        "unchanged",
        "stale",
        "folded",
        "blank",
        "skipped",
        "rejected",
    ]);
    for s in summaries {
        g.rows.push(vec![
            s.file.clone(),
            s.batch_id.to_string(),
            s.source.clone(),
            s.kind.clone(),
            s.read.to_string(),
            s.inserted.to_string(),
            s.updated.to_string(),
            s.unchanged.to_string(),
            s.stale.to_string(),
            s.folded.to_string(),
            s.blank.to_string(),
            s.skipped.to_string(),
            s.rejected.to_string(),
        ]);
    }
    g
}
