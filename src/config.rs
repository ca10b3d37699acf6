//! `relkpi.toml`: attribution window, major priority, schedule tolerance, freeze
//! windows, targets per KPI, DORA edition and extra policy folders. Every setting
//! has a default; an invalid file fails naming the line and the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub attribution: Attribution,
    pub schedule: Schedule,
    pub freeze_windows: Vec<FreezeWindow>,
    /// KPI id -> target, for red/amber/green.
    pub targets: BTreeMap<String, Target>,
    pub dora: Dora,
    pub policies: Policies,
    pub compare: Compare,
    pub limits: Limits,
    /// Folder of the file this came from (relative paths resolve against it).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Attribution {
    /// Days after a deployment within which an incident can be attributed to it.
    pub window_days: i32,
    /// Incidents with priority <= this are major.
    pub major_priority: i32,
    /// Attribute incidents without an explicit link by CI and time window.
    pub ci_window: bool,
    /// Read the attribution from tables built once (the warehouse's derived
    /// tables, or a per-process cache). `false`: every query computes it
    /// through the warehouse's macros; slow, for checking the tables.
    pub materialize: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schedule {
    /// Hours an implementation may end after its planned end and still be on time.
    pub tolerance_hours: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FreezeWindow {
    pub name: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Green when the value is at least this good.
    pub green: f64,
    /// Amber when at least this good (else red).
    pub amber: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dora {
    pub edition: i32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Compare {
    /// Significance level of the comparison tests.
    pub level: f64,
    /// With fewer records than this in either period, no verdict is given.
    pub min_records: i64,
}

/// The baseline of the process-behaviour limits (`trend --limits`, the
/// report): the first `baseline_months` months of the series shown, or the
/// months from `baseline_from` to `baseline_to` (inclusive, `YYYY-MM`), so a
/// review can ask whether the process changed after an improvement.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub baseline_months: u32,
    pub baseline_from: Option<String>,
    pub baseline_to: Option<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            baseline_months: 12,
            baseline_from: None,
            baseline_to: None,
        }
    }
}

impl Default for Compare {
    fn default() -> Self {
        Compare {
            level: 0.05,
            min_records: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Policies {
    /// Extra folders of policy files (*.sql), relative to the config file.
    pub dirs: Vec<PathBuf>,
    /// Policy ids to leave out.
    pub disabled: Vec<String>,
}

impl Default for Attribution {
    fn default() -> Self {
        Attribution {
            window_days: 7,
            major_priority: 2,
            ci_window: true,
            materialize: true,
        }
    }
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule { tolerance_hours: 0.0 }
    }
}

impl Default for Dora {
    fn default() -> Self {
        Dora { edition: 2024 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            attribution: Attribution::default(),
            schedule: Schedule::default(),
            freeze_windows: Vec::new(),
            targets: BTreeMap::new(),
            dora: Dora::default(),
            policies: Policies::default(),
            compare: Compare::default(),
            limits: Limits::default(),
            base_dir: PathBuf::from("."),
        }
    }
}

pub const DORA_EDITIONS: &[i32] = &[2021, 2023, 2024];

impl Config {
    /// `explicit` if given (must exist), else `relkpi.toml` beside the warehouse if present.
    pub fn load(explicit: Option<&Path>, db: &Path) -> Result<Config> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let dir = db
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let p = dir.join("relkpi.toml");
                if !p.exists() {
                    return Ok(Config::default());
                }
                p
            }
        };
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read configuration {}", path.display()))?;
        let mut cfg = Self::parse(&text, &path.display().to_string())?;
        cfg.base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        Ok(cfg)
    }

    pub fn parse(text: &str, origin: &str) -> Result<Config> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let line = relkpi_parse::toml_error_line(text, &e);
            anyhow::anyhow!("{origin}: line {line}: {}", e.message())
        })?;
        cfg.validate(origin)?;
        Ok(cfg)
    }

    fn validate(&self, origin: &str) -> Result<()> {
        if self.attribution.window_days < 0 {
            bail!("{origin}: attribution.window_days must be 0 or more");
        }
        if !(1..=5).contains(&self.attribution.major_priority) {
            bail!("{origin}: attribution.major_priority must be 1..5");
        }
        if !(0.0 < self.compare.level && self.compare.level < 1.0) {
            bail!("{origin}: compare.level must be between 0 and 1");
        }
        if !DORA_EDITIONS.contains(&self.dora.edition) {
            bail!("{origin}: dora.edition must be one of 2021, 2023, 2024");
        }
        let l = &self.limits;
        if l.baseline_from.is_some() != l.baseline_to.is_some() {
            bail!("{origin}: limits.baseline_from and limits.baseline_to go together");
        }
        for m in [&l.baseline_from, &l.baseline_to].into_iter().flatten() {
            if chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_err() {
                bail!("{origin}: limits baseline month {m:?} is not YYYY-MM");
            }
        }
        if l.baseline_months < 6 {
            bail!("{origin}: limits.baseline_months must be 6 or more (limits from fewer months mislead)");
        }
        for w in &self.freeze_windows {
            let from = parse_ts(&w.from).with_context(|| format!("{origin}: freeze window {:?}: from", w.name))?;
            let to = parse_ts(&w.to).with_context(|| format!("{origin}: freeze window {:?}: to", w.name))?;
            if to <= from {
                bail!("{origin}: freeze window {:?} ends before it starts", w.name);
            }
        }
        Ok(())
    }

    /// Freeze windows as the JSON the freeze_window policy reads.
    pub fn freeze_windows_json(&self) -> String {
        let v: Vec<serde_json::Value> = self
            .freeze_windows
            .iter()
            .filter_map(|w| {
                Some(serde_json::json!({
                    "name": w.name,
                    "from": parse_ts(&w.from).ok()?.format("%Y-%m-%d %H:%M:%S").to_string(),
                    "to": parse_ts(&w.to).ok()?.format("%Y-%m-%d %H:%M:%S").to_string(),
                }))
            })
            .collect();
        serde_json::Value::Array(v).to_string()
    }
}

pub use relkpi_parse::dates::parse_ts;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let c = Config::parse("", "x").unwrap();
        assert_eq!(c.attribution.window_days, 7);
        assert_eq!(c.dora.edition, 2024);
        let e = Config::parse("[attribution]\nwindow_days = 7\nwindo = 3\n", "relkpi.toml").unwrap_err();
        assert!(e.to_string().starts_with("relkpi.toml: line 3"), "{e}");
        let e = Config::parse("[dora]\nedition = 2022\n", "relkpi.toml").unwrap_err();
        assert!(e.to_string().contains("2021, 2023, 2024"), "{e}");
    }
}
