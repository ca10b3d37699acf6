//! Output for people and programs: aligned tables, CSV and JSON, and the one
//! place numbers are formatted for people.

use std::io::Write;

use anyhow::Result;
use comfy_table::{Table, presets};

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
pub fn fmt_value(unit: &str, v: Option<f64>) -> String {
    let Some(v) = v else { return "n/a".into() };
    match unit {
        "ratio" => format!("{:.1}%", v * 100.0),
        "days" => format!("{v:.1} d"),
        "hours" => format!("{v:.1} h"),
        "score" => format!("{v:.2}"),
        _ if v.fract() == 0.0 => format!("{v:.0}"),
        _ => format!("{v:.2}"),
    }
}

pub fn fmt_opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

pub fn write_json(out: &mut dyn Write, v: &impl serde::Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, v)?;
    writeln!(out)?;
    Ok(())
}

/// A signed change of a KPI value, by unit.
pub fn fmt_delta(unit: &str, d: f64) -> String {
    match unit {
        "ratio" => format!("{:+.1} pp", d * 100.0),
        "days" => format!("{d:+.1} d"),
        "hours" => format!("{d:+.1} h"),
        "score" => format!("{d:+.2}"),
        _ if d.fract() == 0.0 => format!("{d:+.0}"),
        _ => format!("{d:+.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_unit() {
        assert_eq!(fmt_value("ratio", Some(0.9234)), "92.3%");
        assert_eq!(fmt_value("days", Some(3.25)), "3.2 d");
        assert_eq!(fmt_value("count", Some(12.0)), "12");
        assert_eq!(fmt_value("count", None), "n/a");
    }
}
