//! Date parsing for exports. A file has one date order (day-first, month-first
//! or year-first), detected once from all its date values — a value such as
//! `29/2/2016` proves day-first — or set by the profile or `--date-order`;
//! never guessed row by row. Within that order, each value may use any of the
//! order's layouts (with or without seconds, 12- or 24-hour clock, month names).

use anyhow::{Context, Result};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    Ymd,
    Dmy,
    Mdy,
}

impl DateOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            DateOrder::Ymd => "ymd",
            DateOrder::Dmy => "dmy",
            DateOrder::Mdy => "mdy",
        }
    }
    pub fn parse(s: &str) -> Option<DateOrder> {
        match s.to_ascii_lowercase().as_str() {
            "ymd" | "iso" => Some(DateOrder::Ymd),
            "dmy" => Some(DateOrder::Dmy),
            "mdy" => Some(DateOrder::Mdy),
            _ => None,
        }
    }
}

const TIMES: &[&str] = &["%H:%M:%S%.f", "%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p"];

fn date_layouts(order: DateOrder) -> &'static [&'static str] {
    match order {
        DateOrder::Ymd => &["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d"],
        DateOrder::Dmy => &[
            "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y", "%d-%m-%y", "%d.%m.%y", "%d-%b-%Y", "%d-%b-%y", "%d/%b/%Y",
            "%d/%b/%y", "%d %b %Y", "%d %B %Y",
        ],
        DateOrder::Mdy => &[
            "%m/%d/%Y",
            "%m-%d-%Y",
            "%m/%d/%y",
            "%m-%d-%y",
            "%b %d, %Y",
            "%B %d, %Y",
            "%b %d %Y",
        ],
    }
}

/// Parse one value in the given order. Handles an ISO `T`, a trailing zone
/// (dropped: timestamps stay in the export's local time) and a date without time.
pub fn parse(value: &str, order: DateOrder) -> Option<NaiveDateTime> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    // ISO 8601 is unambiguous: accept it in any order.
    if let Some(dt) = parse_iso(v) {
        return Some(dt);
    }
    let (date_part, time_part) = match v.find([' ', 'T']) {
        // Month names with spaces ("Mar 5, 2024 10:00") keep their spaces in the date part.
        Some(_) if v.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) => split_named(v),
        Some(i) => (&v[..i], v[i + 1..].trim()),
        None => (v, ""),
    };
    let date = date_layouts(order)
        .iter()
        .find_map(|f| {
            NaiveDate::parse_from_str(date_part, f)
                .ok()
                .filter(|d| !year_out_of_range(*d))
        })
        .or_else(|| {
            // "5 Mar 2024 10:00" style: the date holds two spaces.
            if order == DateOrder::Dmy {
                let parts: Vec<&str> = v.splitn(4, ' ').collect();
                if parts.len() >= 3 {
                    let d = parts[..3].join(" ");
                    return ["%d %b %Y", "%d %B %Y"]
                        .iter()
                        .find_map(|f| NaiveDate::parse_from_str(&d, f).ok());
                }
            }
            None
        })?;
    if year_out_of_range(date) {
        return None;
    }
    if time_part.is_empty() {
        return date.and_hms_opt(0, 0, 0);
    }
    let time_part = strip_zone(time_part);
    let time = TIMES
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(&time_part.to_ascii_uppercase(), f).ok())?;
    Some(date.and_time(time))
}

fn split_named(v: &str) -> (&str, &str) {
    // "Mar 5, 2024 10:00 AM": the date is the first three words.
    let mut idx = 0;
    for (n, (i, _)) in v.match_indices(' ').enumerate() {
        if n == 2 {
            idx = i;
            break;
        }
    }
    if idx == 0 {
        (v, "")
    } else {
        (&v[..idx], v[idx + 1..].trim())
    }
}

fn strip_zone(t: &str) -> &str {
    let t = t.trim_end_matches('Z');
    // "+01:00", "+0100", "-05:00" at the end
    if let Some(i) = t.rfind(['+', '-']) {
        let tail = &t[i + 1..];
        if i > 0 && tail.len() >= 2 && tail.chars().all(|c| c.is_ascii_digit() || c == ':') {
            return t[..i].trim();
        }
    }
    t.trim()
}

fn year_out_of_range(d: NaiveDate) -> bool {
    use chrono::Datelike;
    !(1900..=2200).contains(&d.year())
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` and `YYYY-MM-DD HH:MM:SS` (or `T`), every
/// field zero-padded: most exports' timestamps, read without chrono's format
/// parser (which re-reads its format string on every call and was most of an
/// import's mapping time). The fields are read by `plain_iso_fields`, and
/// chrono places them on the calendar. Anything else, or a value it cannot
/// place, goes on to the general parser, so results do not change.
fn parse_plain_iso(b: &[u8]) -> Option<NaiveDateTime> {
    let (y, m, d, h, min, sec) = plain_iso_fields(b)?;
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?.and_hms_opt(h, min, sec)
}

/// `parse`, as microseconds since the epoch (UTC): the plain ISO shapes of
/// `parse_plain_iso` (nearly every timestamp of most exports) computed
/// without chrono, everything else through `parse`. At 1M changes chrono's
/// calendar checks were about 4% of the import's CPU, and every date of a
/// file is read twice (`is_iso` while its date order is found, then here).
pub fn parse_micros(value: &str, order: DateOrder) -> Option<i64> {
    let v = crate::values::trim(value);
    plain_iso_micros(v.as_bytes()).or_else(|| parse(v, order).map(|dt| dt.and_utc().timestamp_micros()))
}

/// What `parse_plain_iso` accepts, as microseconds since the epoch, with the
/// calendar checked by hand as chrono checks it (`from_ymd_opt`,
/// `and_hms_opt`) and the years `year_out_of_range` allows; `None` for
/// anything else, which `parse_micros` hands to `parse` (so a value this does
/// not place reads as it always did).
fn plain_iso_micros(b: &[u8]) -> Option<i64> {
    let (y, m, d, h, min, sec) = plain_iso_fields(b)?;
    // Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
    // `days_from_civil`), the year counted from March.
    let (y, m) = if m <= 2 {
        (y - 1, i64::from(m) + 9)
    } else {
        (y, i64::from(m) - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + i64::from(h)) * 60 + i64::from(min)) * 60_000_000 + i64::from(sec) * 1_000_000)
}

/// The fields of a plain ISO value (year, month, day, hour, minute, second),
/// its shape and calendar checked by hand, as chrono checks them, and its year
/// within the years `year_out_of_range` allows: what `parse_plain_iso` hands
/// to chrono and `plain_iso_micros` computes from; `is_iso` needs no more.
fn plain_iso_fields(b: &[u8]) -> Option<(i64, u32, u32, u32, u32, u32)> {
    fn num(b: &[u8]) -> Option<u32> {
        b.iter()
            .try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    }
    if !matches!(b.len(), 10 | 16 | 19) || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(&b[..4])? as i64, num(&b[5..7])?, num(&b[8..10])?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1900..=2200).contains(&y) || d == 0 || d > month_days {
        return None;
    }
    let (h, min, sec) = if b.len() == 10 {
        (0, 0, 0)
    } else {
        if !matches!(b[10], b' ' | b'T') || b[13] != b':' || (b.len() == 19 && b[16] != b':') {
            return None;
        }
        let sec = if b.len() == 19 { num(&b[17..19])? } else { 0 };
        (num(&b[11..13])?, num(&b[14..16])?, sec)
    };
    (h <= 23 && min <= 59 && sec <= 59).then_some((y, m, d, h, min, sec))
}

/// Whether `value` is an ISO 8601 date-time, which reads the same in every
/// date order (and so says nothing about a file's order).
pub fn is_iso(value: &str) -> bool {
    let v = crate::values::trim(value);
    plain_iso_fields(v.as_bytes()).is_some() || parse_iso(v).is_some()
}

fn parse_iso(v: &str) -> Option<NaiveDateTime> {
    let b = v.as_bytes();
    if let Some(dt) = parse_plain_iso(b) {
        return Some(dt);
    }
    // The first ten bytes must be ASCII to slice there (found by fuzz/ dates:
    // `2024-03-0ϊ...` cut inside a character and panicked).
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || !b[..10].is_ascii() {
        return None;
    }
    let date = NaiveDate::parse_from_str(&v[..10], "%Y-%m-%d").ok()?;
    if year_out_of_range(date) {
        return None;
    }
    let rest = v[10..].trim_start_matches(['T', ' ']);
    if rest.is_empty() {
        return date.and_hms_opt(0, 0, 0);
    }
    let rest = strip_zone(rest);
    let time = ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(rest, f).ok())?;
    Some(date.and_time(time))
}

/// An Excel serial day number (XLSX cells not formatted as dates).
pub fn from_excel_serial(v: &str) -> Option<NaiveDateTime> {
    let f: f64 = v.trim().parse().ok()?;
    if !(1.0..2_958_466.0).contains(&f) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    let millis = (f * 86_400_000.0).round() as i64;
    Some(base + chrono::Duration::milliseconds(millis))
}

const ORDERS: [DateOrder; 3] = [DateOrder::Ymd, DateOrder::Dmy, DateOrder::Mdy];

/// What a file's date values say about its order: how many read in each
/// order, and the span each order puts them in. A value that reads in no
/// order ("TBD", "N/A": rejected when its row is mapped) says nothing, so one
/// bad cell cannot turn the file's order, and every row with it, wrong.
#[derive(Debug, Clone, Default)]
pub struct OrderVotes {
    /// Values that read in at least one order.
    values: u64,
    reads: [u64; 3],
    span: [Option<(NaiveDateTime, NaiveDateTime)>; 3],
}

impl OrderVotes {
    pub fn add(&mut self, value: &str) {
        let mut any = false;
        for (i, o) in ORDERS.iter().enumerate() {
            if let Some(dt) = parse(value, *o) {
                any = true;
                self.reads[i] += 1;
                self.span[i] = Some(match self.span[i] {
                    None => (dt, dt),
                    Some((a, b)) => (a.min(dt), b.max(dt)),
                });
            }
        }
        self.values += u64::from(any);
    }

    pub fn merge(&mut self, other: &OrderVotes) {
        self.values += other.values;
        for i in 0..3 {
            self.reads[i] += other.reads[i];
            self.span[i] = match (self.span[i], other.span[i]) {
                (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
                (x, y) => x.or(y),
            };
        }
    }

    /// The orders every value that reads at all reads in (all three when no
    /// value tells).
    pub fn candidates(&self) -> Vec<DateOrder> {
        ORDERS
            .iter()
            .zip(self.reads)
            .filter(|(_, n)| *n == self.values)
            .map(|(o, _)| *o)
            .collect()
    }

    fn days(&self, o: DateOrder) -> i64 {
        let i = ORDERS.iter().position(|x| *x == o).unwrap_or(0);
        self.span[i].map_or(0, |(a, b)| (b - a).num_days())
    }

    /// The file's order, and a warning when the values leave it a guess.
    /// Values that read both day-first and month-first (no day above 12) take
    /// the order that keeps them closer together (a week's export read the
    /// other way spreads over months); values that no one order reads all of
    /// take the order most of them read in (the others are rejected).
    pub fn decide(&self) -> (DateOrder, Option<String>) {
        let cands = self.candidates();
        let hint = "set --date-order or date_order in a profile";
        match cands.as_slice() {
            _ if self.values == 0 => (DateOrder::Ymd, None),
            [o] => (*o, None),
            c if c.contains(&DateOrder::Ymd) => (DateOrder::Ymd, None),
            [_, _] => {
                let (d, m) = (self.days(DateOrder::Dmy), self.days(DateOrder::Mdy));
                let (o, why) = if m * 2 < d {
                    (
                        DateOrder::Mdy,
                        format!(", which puts them within {m} days where day-first spreads them over {d}"),
                    )
                } else if d * 2 < m {
                    (
                        DateOrder::Dmy,
                        format!(", which puts them within {d} days where month-first spreads them over {m}"),
                    )
                } else {
                    (DateOrder::Dmy, String::new())
                };
                let name = if o == DateOrder::Mdy {
                    "month-first"
                } else {
                    "day-first"
                };
                (
                    o,
                    Some(format!(
                        "every date in the file reads both day-first and month-first; assumed {name}{why} ({hint})"
                    )),
                )
            }
            _ => {
                let (i, n) = self
                    .reads
                    .iter()
                    .enumerate()
                    .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
                    .map(|(i, n)| (i, *n))
                    .unwrap_or((0, 0));
                let o = ORDERS[i];
                (
                    o,
                    Some(format!(
                        "the file's dates read in no one order: {n} of {} distinct values read {}; assumed {}, the rows with the others are rejected ({hint})",
                        self.values,
                        o.as_str(),
                        o.as_str()
                    )),
                )
            }
        }
    }
}

/// `2024-03-01`, `2024-03-01 12:00`, `2024-03-01T12:00:00`.
pub fn parse_ts(s: &str) -> Result<NaiveDateTime> {
    parse(s, DateOrder::Ymd)
        .filter(|_| s.trim().len() >= 10 && s.as_bytes().get(4) == Some(&b'-'))
        .with_context(|| format!("{s:?} is not a date-time like 2024-03-01 or 2024-03-01T12:00"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    /// The hand-computed plain ISO timestamps equal chrono's on every day
    /// from 1890 to 2210 (leap years, century years, the range's edges), at
    /// several times of day and in all three lengths; and a shape it refuses
    /// reads as `parse` reads it.
    #[test]
    fn plain_iso_micros_equal_chrono() {
        let chrono_micros = |v: &str| parse(v, DateOrder::Ymd).map(|dt| dt.and_utc().timestamp_micros());
        let mut day = NaiveDate::from_ymd_opt(1890, 1, 1).unwrap();
        let mut checked = 0;
        while day <= NaiveDate::from_ymd_opt(2210, 12, 31).unwrap() {
            let d = day.format("%Y-%m-%d").to_string();
            for v in [
                d.clone(),
                format!("{d} 00:00"),
                format!("{d}T23:59"),
                format!("{d} 07:05:09"),
                format!("{d}T23:59:59"),
            ] {
                assert_eq!(
                    plain_iso_micros(v.as_bytes()).or_else(|| chrono_micros(&v)),
                    chrono_micros(&v),
                    "{v}"
                );
                assert_eq!(parse_micros(&v, DateOrder::Dmy), chrono_micros(&v), "{v}");
                checked += 1;
            }
            day = day.succ_opt().unwrap();
        }
        assert!(checked > 500_000);
        for v in [
            "2024-02-30",
            "2023-02-29",
            "1900-02-29",
            "2000-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-01-00",
            "2024-01-32",
            "2024-04-31",
            "2024-01-01 24:00",
            "2024-01-01 23:60",
            "2024-01-01 23:59:60",
            "2024-01-01 2:30:00",
            "2024-01-01x10:00",
            "2024-01-01 10-00-00",
            "2024-01-01 10:00:0a",
            "+024-01-01",
            "2024/01/01",
            "1899-12-31",
            "2201-01-01",
            " 2024-03-05 10:00:00 ",
            "2024-03-05 10:00:00.250",
            "2024-03-05T10:00:00Z",
            "05/03/2024",
            "",
        ] {
            for order in [DateOrder::Ymd, DateOrder::Dmy, DateOrder::Mdy] {
                assert_eq!(
                    parse_micros(v, order),
                    parse(v, order).map(|dt| dt.and_utc().timestamp_micros()),
                    "{v:?} {order:?}"
                );
            }
            assert_eq!(is_iso(v), parse_iso(v.trim()).is_some(), "{v:?}");
        }
    }

    #[test]
    fn non_ascii_never_panics() {
        // Found by fuzz/ (dates): a character across byte 10 of an ISO-looking value.
        for order in [DateOrder::Ymd, DateOrder::Dmy, DateOrder::Mdy] {
            assert_eq!(parse("2024-03-0\u{3ca}0324-001", order), None);
            assert_eq!(parse("2024-03-01\u{e9}", order), None);
        }
    }

    #[test]
    fn parses_real_export_layouts() {
        assert_eq!(
            parse("2024-03-05 14:22:10", DateOrder::Ymd),
            Some(dt("2024-03-05 14:22:10"))
        );
        assert_eq!(
            parse("29/2/2016 01:16", DateOrder::Dmy),
            Some(dt("2016-02-29 01:16:00"))
        );
        assert_eq!(parse("30-8-2012 7:00", DateOrder::Dmy), Some(dt("2012-08-30 07:00:00")));
        assert_eq!(
            parse("07/01/2013 08:17:17", DateOrder::Dmy),
            Some(dt("2013-01-07 08:17:17"))
        );
        assert_eq!(parse("3/5/24 9:07", DateOrder::Mdy), Some(dt("2024-03-05 09:07:00")));
        assert_eq!(
            parse("03/05/2024 02:15:00 PM", DateOrder::Mdy),
            Some(dt("2024-03-05 14:15:00"))
        );
        assert_eq!(parse("05-Mar-24", DateOrder::Dmy), Some(dt("2024-03-05 00:00:00")));
        assert_eq!(
            parse("20/Jun/23 10:18 AM", DateOrder::Dmy),
            Some(dt("2023-06-20 10:18:00"))
        );
        assert_eq!(
            parse("2023-06-20T10:18:00.000+0000", DateOrder::Dmy),
            Some(dt("2023-06-20 10:18:00"))
        );
        assert_eq!(parse("13/13/2024", DateOrder::Dmy), None);
    }

    /// The first field of a slash/dash date above 12 rules out month-first,
    /// the second above 12 rules out day-first.
    #[test]
    fn detects_order_from_values() {
        let detect = |v: &[&str]| {
            let mut o = OrderVotes::default();
            v.iter().for_each(|x| o.add(x));
            o.candidates()
        };
        assert_eq!(detect(&["01/02/2024 10:00", "13/02/2024 10:00"]), vec![DateOrder::Dmy]);
        assert_eq!(detect(&["01/02/2024 10:00", "02/13/2024 10:00"]), vec![DateOrder::Mdy]);
        assert_eq!(detect(&["01/02/2024"]), vec![DateOrder::Dmy, DateOrder::Mdy]);
    }

    /// A value no order reads says nothing; ambiguous values take the order
    /// that keeps them together; conflicting ones the order most read in.
    #[test]
    fn order_votes() {
        let votes = |v: &[&str]| {
            let mut o = OrderVotes::default();
            v.iter().for_each(|x| o.add(x));
            o
        };
        let v = votes(&["3/13/2024 7:45:00 AM", "TBD", "N/A", "3/1/2024 9:12:00 AM"]);
        assert_eq!(v.candidates(), vec![DateOrder::Mdy]);
        assert_eq!(v.decide(), (DateOrder::Mdy, None));
        // A week in March read month-first, or one day a month read day-first.
        let v = votes(&[
            "03/01/2024 09:12:00 AM",
            "03/05/2024 11:41:00 PM",
            "03/07/2024 10:00:00 AM",
        ]);
        assert_eq!(v.decide().0, DateOrder::Mdy);
        assert!(v.decide().1.unwrap().contains("within 6 days"));
        let v = votes(&["01/03/2024 09:12", "05/03/2024 11:41", "07/03/2024 10:00"]);
        assert_eq!(v.decide().0, DateOrder::Dmy);
        let v = votes(&["01/02/2024"]);
        assert_eq!(v.decide().0, DateOrder::Dmy);
        // Day-first and month-first values mixed: the majority's order.
        let v = votes(&["13/02/2024", "14/02/2024", "02/15/2024"]);
        assert_eq!(v.candidates(), Vec::<DateOrder>::new());
        assert_eq!(v.decide().0, DateOrder::Dmy);
        assert!(v.decide().1.unwrap().contains("2 of 3"));
        assert_eq!(votes(&["junk", ""]).decide(), (DateOrder::Ymd, None));
        // Merged chunks vote as one.
        let mut a = votes(&["01/02/2024"]);
        a.merge(&votes(&["TBD", "02/13/2024"]));
        assert_eq!(a.decide(), (DateOrder::Mdy, None));
    }

    #[test]
    fn excel_serial() {
        assert_eq!(from_excel_serial("45356.5"), Some(dt("2024-03-05 12:00:00")));
    }

    #[test]
    fn plain_iso_fast_path_agrees_with_the_general_parser() {
        for v in [
            "2024-03-05",
            "2024-03-05 10:07",
            "2024-03-05T10:07",
            "2024-03-05 10:07:09",
            "2024-03-05T23:59:59",
            "2024-02-29 00:00:00",
            "2023-02-29 00:00:00",
            "2024-13-01 00:00:00",
            "2024-03-05 24:00:00",
            "2024-03-05 23:59:60",
            "1899-12-31 00:00:00",
            "2201-01-01",
            "2024-03-05 1:07:09",
            "2024-03-05 10:7:09",
            "2024-03-05x10:07:09",
            "+024-03-05 10:07:09",
            "2024-03-05 10:07:0a",
        ] {
            let fast = parse_plain_iso(v.as_bytes());
            if let Some(dt) = fast {
                let general = NaiveDateTime::parse_from_str(&v.replace('T', " "), "%Y-%m-%d %H:%M:%S")
                    .or_else(|_| NaiveDateTime::parse_from_str(&v.replace('T', " "), "%Y-%m-%d %H:%M"))
                    .or_else(|_| NaiveDate::parse_from_str(v, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).unwrap()))
                    .ok();
                assert_eq!(Some(dt), general, "{v}");
            }
            // Whatever the fast path does, the public parser's answer stands.
            let _ = parse(v, DateOrder::Ymd);
        }
        assert_eq!(
            parse("2024-03-05 10:07:09", DateOrder::Dmy),
            NaiveDate::from_ymd_opt(2024, 3, 5).unwrap().and_hms_opt(10, 7, 9)
        );
        assert!(parse_plain_iso(b"2023-02-29 00:00:00").is_none());
        assert!(parse_plain_iso(b"2024-03-05 24:00:00").is_none());
        assert!(parse_plain_iso(b"1899-12-31").is_none());
    }
}
