//! Output for people and programs: aligned tables, CSV and JSON, and the one
//! place numbers are formatted for people.

use std::io::Write;

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use comfy_table::{Table, presets};

use crate::kpi::Unit;

mod tables;

pub use tables::{
    chart_name, driver_text, drivers_sentence, import_summary, kpi_grid, medians_sentence, print_kpi_table, rule_name,
    write_trend,
};

/// A grid of already-formatted cells.
pub struct Grid {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Grid {
    pub fn new(headers: &[&str]) -> Grid {
        Grid {
            headers: headers.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn table(&self) -> String {
        let mut t = Table::new();
        t.load_style(presets::ASCII_MARKDOWN);
        t.set_header(&self.headers);
        for r in &self.rows {
            t.add_row(r);
        }
        t.to_string()
    }

    pub fn write_table(&self, out: &mut dyn Write) -> Result<()> {
        writeln!(out, "{}", self.table())?;
        Ok(())
    }

    pub fn write_csv(&self, out: &mut dyn Write) -> Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(&self.headers)?;
        for r in &self.rows {
            w.write_record(r)?;
        }
        w.flush()?;
        Ok(())
    }
}

/// A KPI value for people, by unit.
pub fn fmt_value(unit: Unit, v: Option<f64>) -> String {
    let Some(v) = v else { return "n/a".into() };
    match unit {
        Unit::Ratio => format!("{:.1}%", v * 100.0),
        Unit::Days => format!("{v:.1} d"),
        Unit::Hours => format!("{v:.1} h"),
        Unit::Score => format!("{v:.2}"),
        Unit::Count if v.fract() == 0.0 => format!("{v:.0}"),
        Unit::Count => format!("{v:.2}"),
    }
}

pub fn fmt_opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// Render a template (text compiled into the binary) with a view model; `.html`
/// names escape every value (minijinja's default for them).
pub fn render_html(name: &'static str, template: &'static str, view: &impl serde::Serialize) -> Result<String> {
    let mut env = minijinja::Environment::new();
    env.add_template(name, template)
        .with_context(|| format!("templates/{name}"))?;
    env.get_template(name)?
        .render(minijinja::value::Serde(view))
        .with_context(|| format!("rendering templates/{name}"))
}

/// `.NAME.tmp-PID.EXT` beside `path`: hidden, per process, same extension (the
/// PNG encoder picks the format from it).
pub fn tmp_name(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!(".{stem}.tmp-{}{ext}", std::process::id()))
}

pub fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).with_context(|| format!("cannot move {} to {}", from.display(), to.display()))
}

/// Write to a temporary file in the same folder, flush it to disk, rename: a
/// reader sees the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| Ok(w.write_all(bytes)?))
}

/// `write_atomic` for content written as it is made (kpis.json at 10M
/// changes is 700 MB: streamed, never held whole).
pub fn write_atomic_with(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let tmp = tmp_name(path);
    let res = (|| -> Result<()> {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        write(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(())
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    rename(&tmp, path)
}

pub fn write_json(out: &mut dyn Write, v: &impl serde::Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, v)?;
    writeln!(out)?;
    Ok(())
}

/// A signed change of a KPI value, by unit.
pub fn fmt_delta(unit: Unit, d: f64) -> String {
    match unit {
        Unit::Ratio => format!("{:+.1} pp", d * 100.0),
        Unit::Days => format!("{d:+.1} d"),
        Unit::Hours => format!("{d:+.1} h"),
        Unit::Score => format!("{d:+.2}"),
        Unit::Count if d.fract() == 0.0 => format!("{d:+.0}"),
        Unit::Count => format!("{d:+.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_unit() {
        assert_eq!(fmt_value(Unit::Ratio, Some(0.9234)), "92.3%");
        assert_eq!(fmt_value(Unit::Days, Some(3.25)), "3.2 d");
        assert_eq!(fmt_value(Unit::Count, Some(12.0)), "12");
        assert_eq!(fmt_value(Unit::Count, None), "n/a");
    }
}
