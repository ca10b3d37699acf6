//! `relkpi import FILE...`: each file in its own transaction; a failed file is
//! reported and the others go on (exit 1), as are rejected rows.

use anyhow::Result;

use crate::cli::{DateOrderArg, Format, GlobalArgs, ImportArgs};
use crate::exit;
use crate::import::dates::DateOrder;
use crate::import::profile::Profile;
use crate::import::{self, FileSummary, ImportOptions};
use crate::output;
use crate::warehouse::{Mode, Warehouse, derived};

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
    import::limit_memory(&wh.conn, import::MemoryPhase::Files)?;
    crate::warehouse::limit_vacuum(&wh.conn)?;
    let show = a.format == Format::Table && !g.quiet;
    let (summaries, failed) = import::import_files(&wh.conn, &a.files, &opts, show)?;
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
                    // Nothing is stored: every record would be new to an empty warehouse.
                    let inserted = p.record_count();
                    let mut s = p.summary;
                    s.inserted = inserted;
                    if a.format == Format::Table {
                        println!("{}", output::import_summary(&s).replacen(": ", ": (dry run) ", 1));
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

/// Bring the derived tables up to date after an import (refreshed for the
/// batches since they were built, or rebuilt); false when that failed (a
/// broken invariant included). The failure is reported and makes the exit
/// code 1; its transaction is rolled back, so the files stay in and KPI runs
/// attribute for themselves while the derived tables are not current.
pub fn derive(wh: &Warehouse, config: Option<&std::path::Path>, db: &std::path::Path) -> bool {
    let started = std::time::Instant::now();
    let cfg = crate::config::Config::load(config, db);
    let attempt = |phase| -> anyhow::Result<derived::Derivation> {
        let cfg = cfg.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        import::limit_memory(&wh.conn, phase)?;
        derived::derive(&wh.conn, cfg)
    };
    // Past what DuckDB's share holds (at 30M changes the CI-window links and
    // their sort did, until they were split into two statements), the
    // rebuild, rolled back, runs again with more memory rather than leave the
    // derived tables stale.
    let attempts = import::MemoryPhase::derived_attempts();
    let mut res = attempt(attempts[0]);
    for phase in &attempts[1..] {
        match &res {
            Err(e) if import::is_out_of_memory(e) => {
                crate::ui::verbose(
                    1,
                    format!("derived tables: {e:#}\n  trying again with {}", phase.describe()),
                );
                res = attempt(*phase);
            }
            _ => break,
        }
    }
    match res {
        Ok(how) => {
            let how = match how {
                derived::Derivation::Rebuilt => "rebuilt".to_owned(),
                derived::Derivation::Refreshed { since } => format!("refreshed for the batches after {since}"),
            };
            crate::ui::verbose(
                1,
                format!("derived tables {how}: {:.2} s", started.elapsed().as_secs_f64()),
            );
            import::log_duckdb_memory(&wh.conn, "derived tables");
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
