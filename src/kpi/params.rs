//! The named parameters KPI, policy and records files may use, and the period a run is for.

use anyhow::{Context, Result};
use duckdb::types::Value;
use duckdb::{Connection, Statement};

use crate::config::Config;
use crate::period::Period;
use crate::queries;

/// The named parameters KPI and policy files may use.
#[derive(Clone)]
pub struct Params {
    values: Vec<(&'static str, Value)>,
}

fn ts(t: chrono::NaiveDateTime) -> Value {
    Value::Timestamp(duckdb::types::TimeUnit::Microsecond, t.and_utc().timestamp_micros())
}

impl Params {
    /// The parameters of a KPI run over `period`, broken down `by` a dimension.
    /// `prepared` (`kpi::prepare`) gives the policies' count to the KPIs that
    /// need it (`$policies_evaluated`).
    pub fn new(period: &Period, by: Option<&str>, cfg: &Config, prepared: Option<&super::Prepared>) -> Params {
        let mut p = Params::settings(cfg);
        if let Some(prep) = prepared {
            p.set("policies_evaluated", Value::BigInt(prep.evaluated));
        }
        p.set("period_from", ts(period.from));
        p.set("period_to", ts(period.to));
        p.set("by", Value::Text(by.unwrap_or("none").to_owned()));
        p
    }

    /// The settings alone, for SQL that sees no period (policies, review
    /// cards, exports): a file naming `$period_from` then fails clearly.
    pub fn settings(cfg: &Config) -> Params {
        Params {
            values: vec![
                ("window_days", Value::Int(cfg.attribution.window_days)),
                ("major_priority", Value::Int(cfg.attribution.major_priority)),
                ("ci_window", Value::Boolean(cfg.attribution.ci_window)),
                ("tolerance_hours", Value::Double(cfg.schedule.tolerance_hours)),
                ("freeze_windows", Value::Text(cfg.freeze_windows_json())),
                ("edition", Value::Int(cfg.dora.edition)),
            ],
        }
    }

    /// Whether a setting is unset or empty (no text, or an empty JSON list).
    pub fn is_empty(&self, name: &str) -> bool {
        match self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v) {
            None | Some(Value::Null) => true,
            Some(Value::Text(t)) => {
                let t = t.trim();
                t.is_empty() || t == "[]"
            }
            Some(_) => false,
        }
    }

    pub fn set(&mut self, name: &'static str, v: Value) {
        self.values.retain(|(n, _)| *n != name);
        self.values.push((name, v));
    }

    /// Bind every parameter the statement names; an unknown name is an error.
    pub fn bind(&self, stmt: &mut Statement<'_>, origin: &str) -> Result<()> {
        for i in 1..=stmt.parameter_count() {
            let name = stmt.parameter_name(i)?;
            let v = self
                .values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .with_context(|| {
                    format!(
                        "{origin}: unknown parameter ${name} (known: {})",
                        self.values
                            .iter()
                            .map(|(n, _)| format!("${n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?;
            stmt.raw_bind_parameter(i, v)?;
        }
        Ok(())
    }
}

/// The period a run is for, as asked: a named period (2024-03, 2024-Q1,
/// 2024), a range, or nothing (the latest complete month of the data).
#[derive(Debug, Clone, Copy, Default)]
pub struct PeriodRequest<'a> {
    pub period: Option<&'a str>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
}

/// The period asked for, or the latest complete month of the data.
pub fn resolve_period(conn: &Connection, req: PeriodRequest<'_>) -> Result<Period> {
    if let Some(p) = req.period {
        return Period::parse(p);
    }
    if let (Some(f), Some(t)) = (req.from, req.to) {
        return Period::custom(f, t);
    }
    let sql = queries::text("meta/latest_activity.sql").context("latest_activity.sql missing")?;
    let latest: Option<chrono::NaiveDateTime> = conn.query_row(sql, [], |r| r.get(0))?;
    Period::latest_complete_month(chrono::Local::now().naive_local(), latest)
}
