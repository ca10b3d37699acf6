//! Periods: half-open intervals [from, to) on naive timestamps. `2024-03` is a
//! month, `2024-Q1` a quarter, `2024` a year; `--from/--to` any interval.

use anyhow::{Result, bail};
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub label: String,
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
}

fn month_start(y: i32, m: u32) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)
}

/// (year, month) `n` months on. Years beyond `i32` saturate (chrono then
/// refuses them as dates) instead of overflowing: found by `fuzz/` (dates).
fn add_months(y: i32, m: u32, n: i32) -> (i32, u32) {
    let idx = i64::from(y) * 12 + (i64::from(m) - 1) + i64::from(n);
    let year = i32::try_from(idx.div_euclid(12)).unwrap_or(if idx < 0 { i32::MIN } else { i32::MAX });
    (year, (idx.rem_euclid(12) + 1) as u32)
}

/// Period labels name years relkpi can hold, as the date parsers do.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

impl Period {
    pub fn month(y: i32, m: u32) -> Result<Period> {
        let (ny, nm) = add_months(y, m, 1);
        match (month_start(y, m), month_start(ny, nm)) {
            (Some(from), Some(to)) => Ok(Period {
                label: format!("{y:04}-{m:02}"),
                from,
                to,
            }),
            _ => bail!("{y}-{m} is not a month"),
        }
    }

    pub fn parse(s: &str) -> Result<Period> {
        let s = s.trim();
        let bad = || anyhow::anyhow!("period {s:?}: use a month 2024-03, a quarter 2024-Q1 or a year 2024");
        if let Some((y, q)) = s.split_once(['-', ' ']).filter(|(_, q)| q.starts_with(['Q', 'q'])) {
            let y: i32 = y.parse().map_err(|_| bad())?;
            let q: u32 = q[1..].parse().map_err(|_| bad())?;
            if !(1..=4).contains(&q) || !YEARS.contains(&y) {
                return Err(bad());
            }
            let m = (q - 1) * 3 + 1;
            let (ny, nm) = add_months(y, m, 3);
            return Ok(Period {
                label: format!("{y:04}-Q{q}"),
                from: month_start(y, m).ok_or_else(bad)?,
                to: month_start(ny, nm).ok_or_else(bad)?,
            });
        }
        if let Some((y, m)) = s.split_once('-') {
            let y: i32 = y.parse().map_err(|_| bad())?;
            let m: u32 = m.parse().map_err(|_| bad())?;
            if !(1..=12).contains(&m) || !YEARS.contains(&y) {
                return Err(bad());
            }
            return Period::month(y, m);
        }
        let y: i32 = s.parse().map_err(|_| bad())?;
        if !YEARS.contains(&y) {
            return Err(bad());
        }
        Ok(Period {
            label: format!("{y:04}"),
            from: month_start(y, 1).ok_or_else(bad)?,
            to: month_start(y + 1, 1).ok_or_else(bad)?,
        })
    }

    pub fn custom(from: &str, to: &str) -> Result<Period> {
        let f = crate::dates::parse_ts(from)?;
        let t = crate::dates::parse_ts(to)?;
        if t <= f {
            bail!("--to {to} must be after --from {from}");
        }
        Ok(Period {
            label: format!("{} .. {}", f.format("%Y-%m-%d %H:%M"), t.format("%Y-%m-%d %H:%M")),
            from: f,
            to: t,
        })
    }

    /// The latest month that has ended by `now` and starts no later than `latest_data`.
    pub fn latest_complete_month(now: NaiveDateTime, latest_data: Option<NaiveDateTime>) -> Result<Period> {
        let (y, m) = add_months(now.year(), now.month(), -1);
        let mut p = Period::month(y, m)?;
        if let Some(d) = latest_data
            && d < p.from
        {
            p = Period::month(d.year(), d.month())?;
        }
        Ok(p)
    }

    /// The preceding period of the same kind and length: the previous month,
    /// quarter or year, or for a custom interval the one just before it.
    pub fn previous(&self) -> Result<Period> {
        let shift = self.calendar_months();
        match shift {
            Some(n) => self.shift_months(-n),
            None => {
                let len = self.to - self.from;
                Period::custom_dt(self.from - len, self.from)
            }
        }
    }

    /// The same period a year earlier.
    pub fn year_ago(&self) -> Result<Period> {
        match self.calendar_months() {
            Some(_) => self.shift_months(-12),
            None => {
                let f = self.from.checked_sub_months(chrono::Months::new(12));
                let t = self.to.checked_sub_months(chrono::Months::new(12));
                match (f, t) {
                    (Some(f), Some(t)) => Period::custom_dt(f, t),
                    _ => bail!("no period a year before {}", self.label),
                }
            }
        }
    }

    /// 1, 3 or 12 for a month, quarter or year label; None for a custom interval.
    fn calendar_months(&self) -> Option<i32> {
        let l = &self.label;
        if l.contains(" .. ") {
            None
        } else if l.contains('Q') {
            Some(3)
        } else if l.len() == 7 {
            Some(1)
        } else if l.len() == 4 {
            Some(12)
        } else {
            None
        }
    }

    fn shift_months(&self, n: i32) -> Result<Period> {
        let (y, m) = add_months(self.from.year(), self.from.month(), n);
        match self.calendar_months() {
            Some(1) => Period::month(y, m),
            Some(3) => Period::parse(&format!("{y:04}-Q{}", (m - 1) / 3 + 1)),
            _ => Period::parse(&format!("{y:04}")),
        }
    }

    pub fn custom_dt(from: NaiveDateTime, to: NaiveDateTime) -> Result<Period> {
        if to <= from {
            bail!("the period must end after it starts");
        }
        Ok(Period {
            label: format!("{} .. {}", from.format("%Y-%m-%d %H:%M"), to.format("%Y-%m-%d %H:%M")),
            from,
            to,
        })
    }

    /// The `n` months ending with this period's last month, oldest first.
    pub fn months_ending(&self, n: u32) -> Result<Vec<Period>> {
        let last = self.to - chrono::Duration::seconds(1);
        (0..n as i32)
            .rev()
            .map(|k| {
                let (y, m) = add_months(last.year(), last.month(), -k);
                Period::month(y, m)
            })
            .collect()
    }

    pub fn days(&self) -> f64 {
        (self.to - self.from).num_seconds() as f64 / 86400.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn months_quarters_years() {
        let p = Period::parse("2024-03").unwrap();
        assert_eq!((p.from, p.to), (ts("2024-03-01 00:00"), ts("2024-04-01 00:00")));
        let p = Period::parse("2024-12").unwrap();
        assert_eq!(p.to, ts("2025-01-01 00:00"));
        let p = Period::parse("2024-Q4").unwrap();
        assert_eq!((p.from, p.to), (ts("2024-10-01 00:00"), ts("2025-01-01 00:00")));
        let p = Period::parse("2024").unwrap();
        assert_eq!(p.days(), 366.0);
        assert!(Period::parse("2024-13").is_err());
        assert!(Period::parse("2024-Q5").is_err());
    }

    #[test]
    fn huge_years_are_errors_not_overflows() {
        // Found by fuzz/ (dates): the quarter's end overflowed `i32`.
        for s in [
            "2020244244-Q1",
            "2147483647-12",
            "-2147483648-Q1",
            "99999-01",
            "1899-12",
        ] {
            assert!(Period::parse(s).is_err(), "{s}");
        }
        assert_eq!(add_months(i32::MAX, 12, 1).0, i32::MAX);
    }

    #[test]
    fn previous_and_year_ago() {
        assert_eq!(Period::parse("2024-03").unwrap().previous().unwrap().label, "2024-02");
        assert_eq!(Period::parse("2024-01").unwrap().previous().unwrap().label, "2023-12");
        assert_eq!(Period::parse("2024-Q1").unwrap().previous().unwrap().label, "2023-Q4");
        assert_eq!(Period::parse("2024").unwrap().previous().unwrap().label, "2023");
        assert_eq!(Period::parse("2024-03").unwrap().year_ago().unwrap().label, "2023-03");
        let c = Period::custom("2024-03-10", "2024-03-20").unwrap().previous().unwrap();
        assert_eq!((c.from, c.to), (ts("2024-02-29 00:00"), ts("2024-03-10 00:00")));
        let m: Vec<String> = Period::parse("2024-02")
            .unwrap()
            .months_ending(3)
            .unwrap()
            .into_iter()
            .map(|p| p.label)
            .collect();
        assert_eq!(m, vec!["2023-12", "2024-01", "2024-02"]);
    }

    #[test]
    fn latest_complete() {
        let p = Period::latest_complete_month(ts("2026-11-28 10:00"), Some(ts("2025-06-30 12:00"))).unwrap();
        assert_eq!(p.label, "2025-06");
        let p = Period::latest_complete_month(ts("2026-11-28 10:00"), Some(ts("2026-11-02 12:00"))).unwrap();
        assert_eq!(p.label, "2026-10");
    }
}
