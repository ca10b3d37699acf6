//! Why a KPI moved between two periods: the change is split into one driver
//! per group of a dimension (team, repository, service, ...).
//!
//! Ratio KPIs (numerator / denominator) use the symmetric two-factor
//! Kitagawa / Das Gupta decomposition. The overall rate is a weighted mean of
//! the group rates, `R = Σ w_g · r_g`, with `w_g = den_g / Σ den` (the group's
//! share of the work) and `r_g = num_g / den_g`. For each group, with 1 the
//! earlier period and 2 the later one:
//!
//! - `rate_effect = (r2 − r1) · (w1 + w2) / 2`: the group itself did better or worse;
//! - `mix_effect = (w2 − w1) · (r1 + r2) / 2`: the group's share of the work changed;
//! - `total = rate_effect + mix_effect = w2 · r2 − w1 · r1`.
//!
//! The last identity is exact, so the totals add up to `R2 − R1` (with
//! `R = Σ num / Σ den` over the groups given) and leave no unexplained
//! residual; the averaged weights make the split the same whichever period is
//! called "before". The split tells "every team got better" apart from "the
//! work moved to the team with the higher rate", which a plain difference of
//! rates hides (Simpson's paradox).
//!
//! A group absent from a period, or with no positive denominator there, has
//! weight 0 in that period and takes its rate from the other one, so its whole
//! contribution is mix: work that entered or left. Its numerator then counts
//! in neither the rate nor `R`. A group with no work in either period is
//! dropped, and when a period has no work at all there is nothing to split and
//! the result is empty. Rows naming the same group twice are summed.
//!
//! Count KPIs add up over groups directly: `total = c2 − c1`, all of it rate
//! effect (there are no shares to shift).
//!
//! Drivers come ranked by the size of their total, largest first.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// A group's raw figures in one period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Counts {
    /// The numerator of a ratio KPI, or the count of a count KPI.
    pub numerator: f64,
    /// The denominator of a ratio KPI; `None` for count KPIs.
    pub denominator: Option<f64>,
}

impl Counts {
    /// The figures of a ratio KPI.
    pub fn ratio(numerator: f64, denominator: f64) -> Self {
        Self {
            numerator,
            denominator: Some(denominator),
        }
    }

    /// The figure of a count KPI.
    pub fn count(count: f64) -> Self {
        Self {
            numerator: count,
            denominator: None,
        }
    }
}

/// One group's share of the change of the KPI between two periods.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Driver {
    pub dimension: String,
    pub group: String,
    /// The part due to the group's own rate changing (all of it for counts).
    pub rate_effect: f64,
    /// The part due to the group's share of the work changing (0 for counts).
    pub mix_effect: f64,
    /// `rate_effect + mix_effect`: the group's contribution to the change.
    pub total: f64,
    /// The group's figures in the earlier period; `None` when absent.
    pub from: Option<Counts>,
    /// The group's figures in the later period; `None` when absent.
    pub to: Option<Counts>,
}

/// Splits the change of a ratio KPI between two periods into per-group rate
/// and mix effects. `from` and `to` hold `(group, counts)` rows of one period
/// each; a row whose denominator is `None`, zero, negative or not finite is no
/// work for that period. The totals add up to `R2 − R1`; an empty list when
/// either period has no work.
pub fn ratio_drivers(dimension: &str, from: &[(String, Counts)], to: &[(String, Counts)]) -> Vec<Driver> {
    let groups: BTreeSet<&str> = from.iter().chain(to).map(|(g, _)| g.as_str()).collect();
    let mut from = merge(from);
    let mut to = merge(to);
    let work = |m: &BTreeMap<&str, Counts>| m.values().filter_map(usable).map(|(_, d)| d).sum::<f64>();
    let (work1, work2) = (work(&from), work(&to));
    if work1 <= 0.0 || work2 <= 0.0 {
        return Vec::new();
    }
    let mut drivers: Vec<Driver> = groups
        .into_iter()
        .filter_map(|group| {
            let (c1, c2) = (from.remove(group), to.remove(group));
            let (p1, p2) = (c1.as_ref().and_then(usable), c2.as_ref().and_then(usable));
            let (r1, r2) = match (p1, p2) {
                (None, None) => return None,
                (Some((n1, d1)), Some((n2, d2))) => (n1 / d1, n2 / d2),
                (Some((n, d)), None) | (None, Some((n, d))) => (n / d, n / d),
            };
            let w1 = p1.map_or(0.0, |(_, d)| d / work1);
            let w2 = p2.map_or(0.0, |(_, d)| d / work2);
            let rate_effect = (r2 - r1) * (w1 + w2) / 2.0;
            let mix_effect = (w2 - w1) * (r1 + r2) / 2.0;
            Some(Driver {
                dimension: dimension.to_owned(),
                group: group.to_owned(),
                rate_effect,
                mix_effect,
                total: rate_effect + mix_effect,
                from: c1,
                to: c2,
            })
        })
        .collect();
    drivers.sort_by(by_size);
    drivers
}

/// Splits the change of a count KPI between two periods by group:
/// `total = c2 − c1` (an absent group counts 0), all of it rate effect.
/// `from` and `to` hold `(group, count)` rows; counts that are not finite are
/// ignored. Groups absent or zero in both periods are dropped.
pub fn count_drivers(dimension: &str, from: &[(String, f64)], to: &[(String, f64)]) -> Vec<Driver> {
    let from = sum_counts(from);
    let to = sum_counts(to);
    let groups: BTreeSet<&str> = from.keys().chain(to.keys()).copied().collect();
    let mut drivers: Vec<Driver> = groups
        .into_iter()
        .filter_map(|group| {
            let (c1, c2) = (from.get(group).copied(), to.get(group).copied());
            let (a, b) = (c1.unwrap_or(0.0), c2.unwrap_or(0.0));
            if a == 0.0 && b == 0.0 {
                return None;
            }
            let total = b - a;
            Some(Driver {
                dimension: dimension.to_owned(),
                group: group.to_owned(),
                rate_effect: total,
                mix_effect: 0.0,
                total,
                from: c1.map(Counts::count),
                to: c2.map(Counts::count),
            })
        })
        .collect();
    drivers.sort_by(by_size);
    drivers
}

/// The `n` largest drivers by `|total|`, ties broken by group name.
pub fn top(drivers: &[Driver], n: usize) -> Vec<&Driver> {
    let mut ranked: Vec<&Driver> = drivers.iter().collect();
    ranked.sort_by(|a, b| by_size(a, b));
    ranked.truncate(n);
    ranked
}

/// Largest `|total|` first, then by group name.
fn by_size(a: &Driver, b: &Driver) -> Ordering {
    b.total
        .abs()
        .total_cmp(&a.total.abs())
        .then_with(|| a.group.cmp(&b.group))
}

/// `(numerator, denominator)` when the figures describe some work.
fn usable(c: &Counts) -> Option<(f64, f64)> {
    c.denominator
        .filter(|d| d.is_finite() && *d > 0.0 && c.numerator.is_finite())
        .map(|d| (c.numerator, d))
}

/// Sums the rows of each group.
fn merge(rows: &[(String, Counts)]) -> BTreeMap<&str, Counts> {
    let mut merged: BTreeMap<&str, Counts> = BTreeMap::new();
    for (group, c) in rows {
        let m = merged.entry(group.as_str()).or_insert(Counts {
            numerator: 0.0,
            denominator: None,
        });
        m.numerator += c.numerator;
        m.denominator = match (m.denominator, c.denominator) {
            (Some(a), Some(b)) => Some(a + b),
            (d, None) | (None, d) => d,
        };
    }
    merged
}

/// Sums the finite counts of each group.
fn sum_counts(rows: &[(String, f64)]) -> BTreeMap<&str, f64> {
    let mut sums = BTreeMap::new();
    for (group, c) in rows.iter().filter(|(_, c)| c.is_finite()) {
        *sums.entry(group.as_str()).or_insert(0.0) += c;
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-12;

    fn rows(r: &[(&str, f64, f64)]) -> Vec<(String, Counts)> {
        r.iter().map(|&(g, n, d)| (g.to_owned(), Counts::ratio(n, d))).collect()
    }

    fn find<'a>(ds: &'a [Driver], group: &str) -> &'a Driver {
        ds.iter()
            .find(|d| d.group == group)
            .unwrap_or_else(|| panic!("no driver for {group}"))
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < EPS
    }

    fn sum(ds: &[Driver], f: fn(&Driver) -> f64) -> f64 {
        ds.iter().map(f).sum()
    }

    #[test]
    fn two_groups_add_up_to_the_change() {
        // from: A 2/10, B 3/30 -> Σden = 40, w1A = 0.25, r1A = 0.2,
        //       w1B = 0.75, r1B = 0.1, R1 = 5/40 = 0.125
        // to:   A 6/20, B 2/20 -> Σden = 40, w2A = 0.5, r2A = 0.3,
        //       w2B = 0.5, r2B = 0.1, R2 = 8/40 = 0.2;  R2 − R1 = 0.075
        // A: rate = (0.3 − 0.2)(0.25 + 0.5)/2 = 0.1 · 0.375 = 0.0375
        //    mix  = (0.5 − 0.25)(0.2 + 0.3)/2 = 0.25 · 0.25 = 0.0625
        //    total = 0.1 = w2r2 − w1r1 = 0.15 − 0.05
        // B: rate = 0 · … = 0
        //    mix  = (0.5 − 0.75)(0.1 + 0.1)/2 = −0.25 · 0.1 = −0.025
        //    total = −0.025 = 0.05 − 0.075
        // Σ totals = 0.1 − 0.025 = 0.075 = R2 − R1
        let from = rows(&[("A", 2.0, 10.0), ("B", 3.0, 30.0)]);
        let to = rows(&[("A", 6.0, 20.0), ("B", 2.0, 20.0)]);
        let ds = ratio_drivers("team", &from, &to);
        assert_eq!(ds.len(), 2);
        assert_eq!(ds[0].group, "A");
        assert_eq!(ds[0].dimension, "team");
        assert!(close(ds[0].rate_effect, 0.0375));
        assert!(close(ds[0].mix_effect, 0.0625));
        assert!(close(ds[0].total, 0.1));
        assert_eq!(ds[1].group, "B");
        assert!(close(ds[1].rate_effect, 0.0));
        assert!(close(ds[1].mix_effect, -0.025));
        assert!(close(ds[1].total, -0.025));
        assert!(close(sum(&ds, |d| d.total), 8.0 / 40.0 - 5.0 / 40.0));
        assert_eq!(ds[1].from, Some(Counts::ratio(3.0, 30.0)));
        assert_eq!(ds[1].to, Some(Counts::ratio(2.0, 20.0)));
    }

    #[test]
    fn simpsons_paradox_shows_as_mix() {
        // A failure rate. Both groups improve, but the work moves to B, the
        // group with the high rate:
        //   A: 10/100 = 0.10 -> 1/20  = 0.05
        //   B: 10/20  = 0.50 -> 40/100 = 0.40
        // Σden = 120 in both periods: w1A = 5/6, w1B = 1/6, w2A = 1/6, w2B = 5/6.
        // R1 = 20/120 = 1/6, R2 = 41/120: overall worse by 21/120 = 0.175.
        // A: rate = (0.05 − 0.10)(5/6 + 1/6)/2 = −0.05 · 0.5 = −0.025
        //    mix  = (1/6 − 5/6)(0.10 + 0.05)/2 = −2/3 · 0.075 = −0.05
        //    total = −0.075 = 1/120 − 10/120
        // B: rate = (0.40 − 0.50)(1/6 + 5/6)/2 = −0.1 · 0.5 = −0.05
        //    mix  = (5/6 − 1/6)(0.50 + 0.40)/2 = 2/3 · 0.45 = 0.3
        //    total = 0.25 = 40/120 − 10/120
        // Σ rate = −0.075 (better), Σ mix = 0.25 (worse), Σ total = 0.175.
        // (The brief's example, A 1/10 -> 9/100 and B 50/100 -> 4/10, moves
        // the work to A, the low-rate group: R falls from 51/110 to 13/110
        // with rate and mix both negative, so it shows no paradox.)
        let from = rows(&[("A", 10.0, 100.0), ("B", 10.0, 20.0)]);
        let to = rows(&[("A", 1.0, 20.0), ("B", 40.0, 100.0)]);
        let ds = ratio_drivers("team", &from, &to);
        assert!(ds.iter().all(|d| d.rate_effect < 0.0));
        let (rate, mix) = (sum(&ds, |d| d.rate_effect), sum(&ds, |d| d.mix_effect));
        assert!(mix > 0.0 && mix > rate.abs());
        assert!(close(rate, -0.075));
        assert!(close(mix, 0.25));
        assert!(close(sum(&ds, |d| d.total), 41.0 / 120.0 - 20.0 / 120.0));
        let b = find(&ds, "B");
        assert!(close(b.rate_effect, -0.05) && close(b.mix_effect, 0.3) && close(b.total, 0.25));
        let a = find(&ds, "A");
        assert!(close(a.rate_effect, -0.025) && close(a.mix_effect, -0.05) && close(a.total, -0.075));
        assert_eq!(ds[0].group, "B");
    }

    #[test]
    fn entering_and_leaving_groups_are_all_mix() {
        // from: A 2/10, B 3/10           -> Σden = 20, R1 = 5/20 = 0.25
        // to:   A 5/10, C 3/30 (B gone)  -> Σden = 40, R2 = 8/40 = 0.2
        // A: w1 = 0.5, r1 = 0.2, w2 = 0.25, r2 = 0.5
        //    rate = 0.3 · 0.75/2 = 0.1125, mix = −0.25 · 0.7/2 = −0.0875, total 0.025
        // B leaves: w1 = 0.5, w2 = 0, r1 = r2 = 0.3
        //    rate = 0, mix = −0.5 · 0.6/2 = −0.15, total −0.15 = 0 − 3/20
        // C enters: w1 = 0, w2 = 0.75, r1 = r2 = 0.1
        //    rate = 0, mix = 0.75 · 0.2/2 = 0.075, total 0.075 = 3/40 − 0
        // Σ = 0.025 − 0.15 + 0.075 = −0.05 = 0.2 − 0.25
        // Ranked: B (0.15), C (0.075), A (0.025).
        let from = rows(&[("A", 2.0, 10.0), ("B", 3.0, 10.0)]);
        let to = rows(&[("A", 5.0, 10.0), ("C", 3.0, 30.0)]);
        let ds = ratio_drivers("repo", &from, &to);
        let order: Vec<&str> = ds.iter().map(|d| d.group.as_str()).collect();
        assert_eq!(order, ["B", "C", "A"]);
        let (b, c, a) = (&ds[0], &ds[1], &ds[2]);
        assert!(close(b.rate_effect, 0.0) && close(b.mix_effect, -0.15) && close(b.total, -0.15));
        assert_eq!(b.to, None);
        assert!(close(c.rate_effect, 0.0) && close(c.mix_effect, 0.075) && close(c.total, 0.075));
        assert_eq!(c.from, None);
        assert!(close(a.rate_effect, 0.1125) && close(a.mix_effect, -0.0875) && close(a.total, 0.025));
        assert!(close(sum(&ds, |d| d.total), -0.05));
    }

    #[test]
    fn counts_split_directly() {
        // from: A 5, B 3, C 2, E 0 (Σ 10); to: A 2, B 7, D 4 (Σ 13)
        // A −3, B +4, C −2, D +4; E is 0 in one period and absent in the
        // other, so dropped. Σ = −3 + 4 − 2 + 4 = 3 = 13 − 10.
        // Ranked by |total| then name: B 4, D 4, A −3, C −2.
        let from: Vec<(String, f64)> = [("A", 5.0), ("B", 3.0), ("C", 2.0), ("E", 0.0)]
            .iter()
            .map(|&(g, c)| (g.to_owned(), c))
            .collect();
        let to: Vec<(String, f64)> = [("A", 2.0), ("B", 7.0), ("D", 4.0)]
            .iter()
            .map(|&(g, c)| (g.to_owned(), c))
            .collect();
        let ds = count_drivers("team", &from, &to);
        let got: Vec<(&str, f64)> = ds.iter().map(|d| (d.group.as_str(), d.total)).collect();
        assert_eq!(got, [("B", 4.0), ("D", 4.0), ("A", -3.0), ("C", -2.0)]);
        assert!(ds.iter().all(|d| d.rate_effect == d.total && d.mix_effect == 0.0));
        assert_eq!(sum(&ds, |d| d.total), 3.0);
        let d = find(&ds, "D");
        assert_eq!(d.from, None);
        assert_eq!(d.to, Some(Counts::count(4.0)));
        let best: Vec<&str> = top(&ds, 2).iter().map(|d| d.group.as_str()).collect();
        assert_eq!(best, ["B", "D"]);
    }

    #[test]
    fn empty_and_zero_denominators() {
        // No rows, or a period whose denominators sum to 0: nothing to split.
        assert!(ratio_drivers("team", &[], &[]).is_empty());
        let zero = rows(&[("A", 0.0, 0.0)]);
        let some = rows(&[("A", 1.0, 4.0)]);
        assert!(ratio_drivers("team", &zero, &some).is_empty());
        assert!(ratio_drivers("team", &some, &[]).is_empty());
        assert!(count_drivers("team", &[], &[]).is_empty());

        // from: A 1/4, B 0/0, Z 0/0 -> Σden = 4,  R1 = 1/4
        // to:   A 1/8, B 2/8, Z 0/0 -> Σden = 16, R2 = 3/16; R2 − R1 = −1/16
        // A: w1 = 1, r1 = 0.25, w2 = 0.5, r2 = 0.125
        //    rate = −0.125 · 1.5/2 = −0.09375, mix = −0.5 · 0.375/2 = −0.09375,
        //    total = −0.1875 = 1/16 − 4/16
        // B: no work before, so w1 = 0 and r1 = r2 = 0.25, w2 = 0.5
        //    rate = 0, mix = 0.5 · 0.5/2 = 0.125 = 2/16
        // Z: no work in either period: dropped.
        // Σ = −0.1875 + 0.125 = −0.0625 = −1/16
        let from = rows(&[("A", 1.0, 4.0), ("B", 0.0, 0.0), ("Z", 0.0, 0.0)]);
        let to = rows(&[("A", 1.0, 8.0), ("B", 2.0, 8.0), ("Z", 0.0, 0.0)]);
        let ds = ratio_drivers("team", &from, &to);
        assert_eq!(ds.len(), 2);
        let a = find(&ds, "A");
        assert!(close(a.rate_effect, -0.09375) && close(a.mix_effect, -0.09375));
        let b = find(&ds, "B");
        assert!(close(b.rate_effect, 0.0) && close(b.mix_effect, 0.125));
        assert_eq!(b.from, Some(Counts::ratio(0.0, 0.0)));
        assert!(close(sum(&ds, |d| d.total), -1.0 / 16.0));
    }

    #[test]
    fn duplicate_rows_are_summed() {
        // A 1/10 + A 3/10 = A 4/20; alone in both periods, so w = 1 and
        // total = 6/20 − 4/20 = 0.1, all rate.
        let from = rows(&[("A", 1.0, 10.0), ("A", 3.0, 10.0)]);
        let to = rows(&[("A", 6.0, 20.0)]);
        let ds = ratio_drivers("team", &from, &to);
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].from, Some(Counts::ratio(4.0, 20.0)));
        assert!(close(ds[0].rate_effect, 0.1) && close(ds[0].mix_effect, 0.0));
    }

    #[test]
    fn top_ranks_by_size_then_name() {
        let d = |group: &str, total: f64| Driver {
            dimension: "team".to_owned(),
            group: group.to_owned(),
            rate_effect: total,
            mix_effect: 0.0,
            total,
            from: None,
            to: None,
        };
        let ds = [d("c", 1.0), d("b", -2.0), d("a", 1.0), d("d", 0.5)];
        let names: Vec<&str> = top(&ds, 3).iter().map(|d| d.group.as_str()).collect();
        assert_eq!(names, ["b", "a", "c"]);
        assert_eq!(top(&ds, 10).len(), 4);
        assert!(top(&ds, 0).is_empty());
    }
}
