//! `relkpi import FILE...`: each file in its own transaction; a failed file is
//! reported and the others go on (exit 1), as are rejected rows.

use std::io::Write;
use std::path::Path;

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
    let wh = Warehouse::open(&g.db, Mode::ReadWrite)?;
    let (summaries, failed) = import_files(&wh, &a.files, &opts, g.quiet, a.format)?;
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => output::write_json(&mut out, &summaries)?,
        Format::Csv => summary_grid(&summaries).write_csv(&mut out)?,
        Format::Table => {}
    }
    let rejected = summaries.iter().any(|s| s.rejected > 0);
    Ok(if failed == a.files.len() {
        exit::ERROR
    } else if failed > 0 || rejected {
        exit::PARTIAL
    } else {
        exit::OK
    })
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
    for f in files {
        match import_one(wh, f, opts) {
            Ok(s) => {
                if format == Format::Table && !quiet {
                    print_summary(&s)?;
                }
                summaries.push(s);
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {e:#}\n  nothing from {} was loaded", f.display());
            }
        }
    }
    Ok((summaries, failed))
}

fn import_one(wh: &Warehouse, path: &Path, opts: &ImportOptions) -> Result<FileSummary> {
    let prepared = import::prepare(&wh.conn, path, opts)?;
    import::load::load(&wh.conn, prepared)
}

fn print_summary(s: &FileSummary) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}: {} {} ({} {}, dates {}), batch {}",
        s.file, s.source, s.kind, s.format, s.encoding, s.date_order, s.batch_id
    )?;
    writeln!(
        out,
        "  read {} = inserted {} + updated {} + unchanged {} + stale {} + folded {} + blank {} + skipped {} + rejected {}",
        s.read, s.inserted, s.updated, s.unchanged, s.stale, s.folded, s.blank, s.skipped, s.rejected
    )?;
    if s.derived_releases > 0 {
        writeln!(out, "  releases derived from release changes: {}", s.derived_releases)?;
    }
    for u in &s.unmapped_values {
        writeln!(
            out,
            "  unrecognised {} value {:?} kept as is ({} rows)",
            u.column, u.value, u.rows
        )?;
    }
    for w in &s.warnings {
        writeln!(out, "  warning: {w}")?;
    }
    if s.rejected > 0 {
        writeln!(
            out,
            "  {} rows rejected: see `relkpi sql \"select * from import_rejects where batch_id = {}\"`",
            s.rejected, s.batch_id
        )?;
    }
    Ok(())
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
