#![no_main]
//! Dates and periods: every date order (and the import's microseconds, equal
//! to them), order detection over a column of values, Excel serials,
//! `--from/--to` timestamps and period labels.
use libfuzzer_sys::fuzz_target;
use relkpi_parse::dates::{self, DateOrder};
use relkpi_parse::period::Period;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for order in [DateOrder::Ymd, DateOrder::Dmy, DateOrder::Mdy] {
        let parsed = dates::parse(s, order);
        if let Some(dt) = parsed {
            // A parsed value is a real calendar date-time, within the years accepted.
            let y = chrono::Datelike::year(&dt);
            assert!((1900..=2200).contains(&y), "{s:?} parsed to {dt}");
        }
        // The import's fast path reads every value as `parse` does.
        assert_eq!(
            dates::parse_micros(s, order),
            parsed.map(|dt| dt.and_utc().timestamp_micros()),
            "{s:?} in {order:?}"
        );
    }
    let mut votes = dates::OrderVotes::default();
    s.lines().for_each(|l| votes.add(l));
    let orders = [dates::DateOrder::Ymd, dates::DateOrder::Dmy, dates::DateOrder::Mdy];
    // A candidate reads every line that some order reads (the others say nothing).
    for o in &votes.candidates() {
        for line in s.lines().filter(|l| orders.iter().any(|x| dates::parse(l, *x).is_some())) {
            assert!(
                dates::parse(line, *o).is_some(),
                "{o:?} kept but {line:?} does not parse"
            );
        }
    }
    let _ = votes.decide();
    let _ = dates::from_excel_serial(s);
    let _ = dates::parse_ts(s);
    if let Ok(p) = Period::parse(s) {
        assert!(p.from < p.to, "{s:?}: empty period {p:?}");
        let _ = p.previous();
    }
    if let Some((a, b)) = s.split_once('|')
        && let Ok(p) = Period::custom(a, b)
    {
        assert!(p.from < p.to);
    }
});
