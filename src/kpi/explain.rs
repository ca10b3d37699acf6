//! Why a KPI moved between two periods: each KPI broken down by every
//! dimension relkpi knows, in both periods, and the change split into the
//! groups' drivers (`drivers`). Ratio KPIs split into rate and mix effects;
//! counts split by group directly; medians show each group's median and share
//! of the records, without a decomposition (a median does not add up over
//! groups).

use anyhow::Result;
use serde::Serialize;

use super::drivers::{self, Counts, Driver};
use super::{KpiDef, KpiResult, Unit};
use crate::period::Period;
use crate::warehouse::Session;

/// The dimensions a change is explained by (`kpi_group` in queries/schema).
pub const DIMENSIONS: &[&str] = &["service", "team", "change_type", "risk", "source"];

/// A group's median in one period, and its share of the KPI's records.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GroupValue {
    pub value: Option<f64>,
    pub records: i64,
    pub share: Option<f64>,
}

/// One group of a median KPI in both periods.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GroupMedian {
    pub dimension: String,
    pub group: String,
    pub from: Option<GroupValue>,
    pub to: Option<GroupValue>,
}

/// The explanation of one KPI's change.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Explanation {
    /// rate_mix (ratios), by_group (counts) or medians (no decomposition).
    #[serde(rename = "drivers_method")]
    pub method: &'static str,
    /// Every driver of every dimension, largest |total| first. Within one
    /// dimension the totals add up to the change of the groups' combined value.
    pub drivers: Vec<Driver>,
    /// Median KPIs: each group's median and share of the records.
    #[serde(rename = "group_medians", skip_serializing_if = "Vec::is_empty")]
    pub medians: Vec<GroupMedian>,
}

/// Each KPI of `defs` explained between `from` (the earlier period) and `to`.
pub fn explain(s: &Session, defs: &[&KpiDef], from: &Period, to: &Period) -> Result<Vec<(String, Explanation)>> {
    let ids: Vec<String> = defs.iter().map(|d| d.id.clone()).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let jobs: Vec<(&Period, &str)> = DIMENSIONS.iter().flat_map(|d| [(from, *d), (to, *d)]).collect();
    let (conn, cfg, prep) = (s.conn(), &s.config, s.prepared()?);
    let runs = super::par_map(conn, cfg, prep, &jobs, |conn, prep, (p, dim)| {
        super::compute(conn, cfg, prep, p, Some(dim), &ids)
    })?;
    let mut out = Vec::new();
    for def in defs {
        let mut e = Explanation {
            method: match def.unit {
                Unit::Ratio => "rate_mix",
                Unit::Count => "by_group",
                Unit::Days | Unit::Hours | Unit::Score => "medians",
            },
            ..Default::default()
        };
        for (i, dim) in DIMENSIONS.iter().enumerate() {
            let rows =
                |k: usize| -> Vec<&KpiResult> { runs[2 * i + k].kpis.iter().filter(|r| r.id == def.id).collect() };
            let (before, after) = (rows(0), rows(1));
            // A dimension the KPI's records do not carry (one group, "(none)",
            // in both periods) explains nothing.
            let groups: std::collections::BTreeSet<&str> =
                before.iter().chain(&after).map(|r| group_of(r, dim)).collect();
            if groups.len() < 2 {
                continue;
            }
            match e.method {
                "rate_mix" => {
                    let counts = |rs: &[&KpiResult]| -> Vec<(String, Counts)> {
                        rs.iter()
                            .filter_map(|r| {
                                Some((
                                    group_of(r, dim).to_owned(),
                                    Counts::ratio(r.numerator? as f64, r.denominator? as f64),
                                ))
                            })
                            .collect()
                    };
                    e.drivers
                        .extend(drivers::ratio_drivers(dim, &counts(&before), &counts(&after)));
                }
                "by_group" => {
                    let counts = |rs: &[&KpiResult]| -> Vec<(String, f64)> {
                        rs.iter()
                            .filter_map(|r| Some((group_of(r, dim).to_owned(), r.value?)))
                            .collect()
                    };
                    e.drivers
                        .extend(drivers::count_drivers(dim, &counts(&before), &counts(&after)));
                }
                _ => e.medians.extend(medians(dim, &before, &after)),
            }
        }
        e.drivers = drivers::top(&e.drivers, e.drivers.len()).into_iter().cloned().collect();
        out.push((def.id.clone(), e));
    }
    Ok(out)
}

fn group_of<'a>(r: &'a KpiResult, dim: &str) -> &'a str {
    r.group
        .as_ref()
        .and_then(|g| g.get(dim))
        .map_or("(none)", String::as_str)
}

/// Each group's median and share of the records in both periods.
fn medians(dim: &str, before: &[&KpiResult], after: &[&KpiResult]) -> Vec<GroupMedian> {
    let value = |rs: &[&KpiResult], g: &str| -> Option<GroupValue> {
        let total: i64 = rs.iter().map(|r| r.count).sum();
        let r = rs.iter().find(|r| group_of(r, dim) == g)?;
        (r.count > 0).then(|| GroupValue {
            value: r.value,
            records: r.count,
            share: (total > 0).then(|| r.count as f64 / total as f64),
        })
    };
    let groups: std::collections::BTreeSet<&str> = before.iter().chain(after).map(|r| group_of(r, dim)).collect();
    let mut out: Vec<GroupMedian> = groups
        .into_iter()
        .map(|g| GroupMedian {
            dimension: dim.to_owned(),
            group: g.to_owned(),
            from: value(before, g),
            to: value(after, g),
        })
        .filter(|m| m.from.is_some() || m.to.is_some())
        .collect();
    // Most records first.
    let records = |m: &GroupMedian| m.to.as_ref().map_or(0, |v| v.records) + m.from.as_ref().map_or(0, |v| v.records);
    out.sort_by_key(|m| std::cmp::Reverse(records(m)));
    out
}
