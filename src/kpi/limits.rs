//! Process-behaviour charts: limits that tell a KPI's routine month-to-month
//! noise from a change worth looking into.
//!
//! Limits come from a baseline stretch of months and then apply to every
//! month, before and after. A chart needs at least [`MIN_BASELINE`] baseline
//! months with a value; with fewer, the noise cannot be judged and there are
//! no limits.
//!
//! - XmR (individuals and moving range), for any KPI: the centre is the mean
//!   of the baseline values and `mR` the mean of the moving ranges
//!   `|x_i − x_{i−1}|` between successive baseline values (a month without a
//!   value is skipped, its neighbours pair up). The limits are
//!   `centre ± 2.66 · mR`, the same for every month: `2.66 = 3 / 1.128`, three
//!   sigma estimated from month-to-month variation, which shifts and outliers
//!   inflate far less than a global standard deviation does.
//! - p-chart, for proportions whose denominators are small or vary:
//!   `p̄ = Σ numerators / Σ denominators` over the baseline, and each month `i`
//!   gets its own limits `p̄ ± 3 · sqrt(p̄ (1 − p̄) / n_i)`: wide for months
//!   with little work, narrow for months with much. Its points are
//!   `numerator / denominator`.
//!
//! Signal rules run over all months, each against its own centre and limits:
//! a value strictly outside the limits; 8 or more successive values strictly
//! on one side of the centre; 3 of 4 successive values beyond two thirds of
//! the way to the limit on one side. Months without a value are skipped and
//! break no run or window.
//!
//! The limits drawn are clipped to the KPI's possible range (for instance not
//! below 0, or within [0, 1] for a proportion). Clipping changes only what is
//! drawn: the rules use the unclipped limits.

use std::ops::Range;

use serde::Serialize;

/// The fewest baseline months with a value from which limits are computed.
pub const MIN_BASELINE: usize = 6;

/// `3 / d2`, with `d2 = 1.128` the mean range of two normal values in sigmas.
const XMR_FACTOR: f64 = 2.66;
/// Below this many units in a baseline month, a proportion is too coarse for
/// fixed-width limits.
const SMALL_DENOMINATOR: f64 = 30.0;
/// Above this largest-to-smallest ratio of the baseline denominators, the
/// months' noise differs too much for fixed-width limits.
const DENOMINATOR_SPREAD: f64 = 1.5;
/// Successive values on one side of the centre that make a run.
const RUN: usize = 8;

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    Xmr,
    P,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The value is strictly above the upper or below the lower limit.
    OutsideLimits,
    /// One of 8 or more successive values strictly on one side of the centre.
    RunOfEight,
    /// One of at least 3 of 4 successive values beyond two thirds of the way
    /// from the centre to the limit on the same side.
    ThreeOfFour,
}

/// The rules in the order a month lists them.
const RULES: [Rule; 3] = [Rule::OutsideLimits, Rule::RunOfEight, Rule::ThreeOfFour];

/// One month's centre, drawn (clipped) limits and signals.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PointLimits {
    pub centre: f64,
    pub lower: f64,
    pub upper: f64,
    pub signals: Vec<Rule>,
}

/// A chart over a monthly series.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Limits {
    pub kind: ChartKind,
    /// The mean (XmR) or `p̄` (p-chart) of the baseline.
    pub centre: f64,
    /// The mean moving range of the baseline; `None` for p-charts.
    pub mean_moving_range: Option<f64>,
    /// The baseline months, `baseline_from..baseline_to` (end exclusive),
    /// as indexes into the series, cut to its length.
    pub baseline_from: usize,
    pub baseline_to: usize,
    /// The baseline months that have a value (a numerator and denominator
    /// for p-charts).
    pub baseline_points: usize,
    /// One per month of the series; `None` for months without a value.
    pub points: Vec<Option<PointLimits>>,
}

/// One month of a KPI. Values that are not finite count as missing.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// The KPI's value for the month.
    pub value: Option<f64>,
    /// The numerator and denominator, for ratio KPIs.
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
}

#[cfg(test)]
impl Sample {
    /// A month of a KPI that is not a ratio.
    pub fn of(value: f64) -> Self {
        Self {
            value: Some(value),
            ..Self::default()
        }
    }

    /// A month of a ratio KPI; its value is `numerator / denominator`, or
    /// missing when the denominator is 0.
    pub fn ratio(numerator: f64, denominator: f64) -> Self {
        Self {
            value: (denominator != 0.0).then(|| numerator / denominator),
            numerator: Some(numerator),
            denominator: Some(denominator),
        }
    }
}

/// The chart that suits the series: a p-chart for a proportion (`is_ratio`)
/// whose every baseline month with a value has a numerator and a denominator,
/// when the denominators are small (the smallest under 30) or vary (largest
/// over smallest above 1.5); an XmR chart otherwise. A fixed-width XmR limit
/// is too tight for months with little work and too loose for months with
/// much, and is coarse for small counts, whereas the p-chart widens and
/// narrows each month's limits with its denominator.
pub fn choose_kind(samples: &[Sample], baseline: Range<usize>, is_ratio: bool) -> ChartKind {
    if !is_ratio {
        return ChartKind::Xmr;
    }
    let (from, to) = clamp(&baseline, samples.len());
    let denominators: Option<Vec<f64>> = samples[from..to]
        .iter()
        .filter(|s| finite(s.value).is_some())
        .map(|s| proportion(s).map(|(_, d)| d))
        .collect();
    let Some(denominators) = denominators.filter(|d| !d.is_empty()) else {
        return ChartKind::Xmr;
    };
    let smallest = denominators.iter().copied().fold(f64::INFINITY, f64::min);
    let largest = denominators.iter().copied().fold(0.0, f64::max);
    if smallest < SMALL_DENOMINATOR || largest / smallest > DENOMINATOR_SPREAD {
        ChartKind::P
    } else {
        ChartKind::Xmr
    }
}

/// An XmR chart. `bounds` is the KPI's possible range, `(Some(0.0), None)`
/// for a KPI that cannot be negative, `(Some(0.0), Some(1.0))` for a ratio;
/// it clips only the limits drawn. `None` with fewer than [`MIN_BASELINE`]
/// baseline values.
pub fn xmr(samples: &[Sample], baseline: Range<usize>, bounds: (Option<f64>, Option<f64>)) -> Option<Limits> {
    let (from, to) = clamp(&baseline, samples.len());
    let values: Vec<f64> = samples[from..to].iter().filter_map(|s| finite(s.value)).collect();
    if values.len() < MIN_BASELINE {
        return None;
    }
    let centre = values.iter().sum::<f64>() / values.len() as f64;
    let mr = values.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (values.len() - 1) as f64;
    let (lower, upper) = (centre - XMR_FACTOR * mr, centre + XMR_FACTOR * mr);
    let bands: Vec<Option<Band>> = samples
        .iter()
        .map(|s| {
            finite(s.value).map(|value| Band {
                value,
                centre,
                lower,
                upper,
            })
        })
        .collect();
    Some(Limits {
        kind: ChartKind::Xmr,
        centre,
        mean_moving_range: Some(mr),
        baseline_from: from,
        baseline_to: to,
        baseline_points: values.len(),
        points: points(&bands, bounds),
    })
}

/// A p-chart; limits are clipped to [0, 1] for drawing. Months need a
/// numerator between 0 and a positive denominator; others get no point.
/// `None` with fewer than [`MIN_BASELINE`] such baseline months.
pub fn p_chart(samples: &[Sample], baseline: Range<usize>) -> Option<Limits> {
    let (from, to) = clamp(&baseline, samples.len());
    let base: Vec<(f64, f64)> = samples[from..to].iter().filter_map(proportion).collect();
    if base.len() < MIN_BASELINE {
        return None;
    }
    let (num, den) = base.iter().fold((0.0, 0.0), |(a, b), (n, d)| (a + n, b + d));
    let p = num / den;
    let bands: Vec<Option<Band>> = samples
        .iter()
        .map(|s| {
            proportion(s).map(|(n, d)| {
                let spread = 3.0 * (p * (1.0 - p) / d).sqrt();
                Band {
                    value: n / d,
                    centre: p,
                    lower: p - spread,
                    upper: p + spread,
                }
            })
        })
        .collect();
    Some(Limits {
        kind: ChartKind::P,
        centre: p,
        mean_moving_range: None,
        baseline_from: from,
        baseline_to: to,
        baseline_points: base.len(),
        points: points(&bands, (Some(0.0), Some(1.0))),
    })
}

/// The chart [`choose_kind`] picks, computed; `bounds` applies to XmR.
pub fn limits(
    samples: &[Sample],
    baseline: Range<usize>,
    is_ratio: bool,
    bounds: (Option<f64>, Option<f64>),
) -> Option<Limits> {
    match choose_kind(samples, baseline.clone(), is_ratio) {
        ChartKind::Xmr => xmr(samples, baseline, bounds),
        ChartKind::P => p_chart(samples, baseline),
    }
}

/// A month's value with its centre and unclipped limits.
#[derive(Debug, Clone, Copy)]
struct Band {
    value: f64,
    centre: f64,
    lower: f64,
    upper: f64,
}

impl Band {
    /// +1 above the centre, −1 below, 0 on it.
    fn side(&self) -> i8 {
        if self.value > self.centre {
            1
        } else if self.value < self.centre {
            -1
        } else {
            0
        }
    }

    /// Beyond two thirds of the way from the centre to the limit on `side`.
    fn beyond_two_thirds(&self, side: i8) -> bool {
        if side > 0 {
            self.value > self.centre + 2.0 / 3.0 * (self.upper - self.centre)
        } else {
            self.value < self.centre - 2.0 / 3.0 * (self.centre - self.lower)
        }
    }
}

/// The drawn points: limits clipped to `bounds`, signals from the unclipped ones.
fn points(bands: &[Option<Band>], bounds: (Option<f64>, Option<f64>)) -> Vec<Option<PointLimits>> {
    bands
        .iter()
        .zip(signals(bands))
        .map(|(band, signals)| {
            band.map(|b| PointLimits {
                centre: b.centre,
                lower: clip(b.lower, bounds),
                upper: clip(b.upper, bounds),
                signals,
            })
        })
        .collect()
}

/// The rules each month breaks, in the order of [`RULES`].
fn signals(bands: &[Option<Band>]) -> Vec<Vec<Rule>> {
    let mut flags = vec![[false; 3]; bands.len()];
    let present: Vec<(usize, Band)> = bands
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.map(|b| (i, b)))
        .collect();
    for &(i, b) in &present {
        flags[i][0] = b.value > b.upper || b.value < b.lower;
    }
    for run in present.chunk_by(|(_, a), (_, b)| a.side() == b.side()) {
        if run.len() >= RUN && run[0].1.side() != 0 {
            for (i, _) in run {
                flags[*i][1] = true;
            }
        }
    }
    for window in present.windows(4) {
        for side in [1, -1] {
            let beyond = || window.iter().filter(|(_, b)| b.beyond_two_thirds(side));
            if beyond().count() >= 3 {
                for (i, _) in beyond() {
                    flags[*i][2] = true;
                }
            }
        }
    }
    flags
        .into_iter()
        .map(|f| {
            RULES
                .into_iter()
                .zip(f)
                .filter_map(|(rule, on)| on.then_some(rule))
                .collect()
        })
        .collect()
}

/// `baseline` cut to a series of `len` months, as `(from, to)` with `from <= to`.
fn clamp(baseline: &Range<usize>, len: usize) -> (usize, usize) {
    let to = baseline.end.min(len);
    (baseline.start.min(to), to)
}

fn clip(x: f64, (lower, upper): (Option<f64>, Option<f64>)) -> f64 {
    let x = lower.map_or(x, |l| x.max(l));
    upper.map_or(x, |u| x.min(u))
}

fn finite(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite())
}

/// `(numerator, denominator)` of a month that holds a proportion.
fn proportion(s: &Sample) -> Option<(f64, f64)> {
    let (n, d) = (finite(s.numerator)?, finite(s.denominator)?);
    (d > 0.0 && (0.0..=d).contains(&n)).then_some((n, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-9;

    fn series(values: &[f64]) -> Vec<Sample> {
        values.iter().map(|&v| Sample::of(v)).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < EPS
    }

    fn point(l: &Limits, i: usize) -> &PointLimits {
        l.points[i].as_ref().unwrap_or_else(|| panic!("no point at month {i}"))
    }

    /// The months (indexes) carrying `rule`.
    fn marked(l: &Limits, rule: Rule) -> Vec<usize> {
        l.points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.as_ref().is_some_and(|p| p.signals.contains(&rule)))
            .map(|(i, _)| i)
            .collect()
    }

    fn no_signals(l: &Limits) -> bool {
        l.points.iter().flatten().all(|p| p.signals.is_empty())
    }

    /// Baseline 150, 100, 150, 100, 150, 100: centre = 750/6 = 125,
    /// moving ranges 5 × 50 -> mR = 50, limits 125 ± 2.66 · 50 = 125 ± 133,
    /// i.e. −8 .. 258 (2.66 · 50 = 133 rounds exactly in binary too).
    /// Two thirds of the way: 125 ± 133 · 2/3 = 125 ± 88.67 -> 36.33 .. 213.67.
    /// The baseline alternates sides, so it holds no run and no 3-of-4.
    const BASE: [f64; 6] = [150.0, 100.0, 150.0, 100.0, 150.0, 100.0];

    fn after_base(rest: &[Option<f64>]) -> Vec<Sample> {
        BASE.iter()
            .map(|&v| Sample::of(v))
            .chain(rest.iter().map(|v| v.map_or_else(Sample::default, Sample::of)))
            .collect()
    }

    fn chart(samples: &[Sample]) -> Limits {
        xmr(samples, 0..6, (None, None)).unwrap_or_else(|| panic!("no limits"))
    }

    #[test]
    fn xmr_centre_and_limits_on_twelve_values() {
        // Σ = 10+12+11+13+12+14+11+12+13+12+11+13 = 144, centre = 144/12 = 12
        // moving ranges: 2,1,2,1,2,3,1,1,1,1,2 -> Σ = 17 over 11, mR = 17/11
        // 2.66 · 17/11 = 45.22/11 = 4.110909…, limits 7.889090… .. 16.110909…
        // No value outside; the 2/3 zone starts at 12 ± 2.74 (> 14.74 or
        // < 9.26), which no value reaches; the longest one-sided run is 2.
        let s = series(&[10., 12., 11., 13., 12., 14., 11., 12., 13., 12., 11., 13.]);
        let l = xmr(&s, 0..12, (None, None)).unwrap_or_else(|| panic!("no limits"));
        assert_eq!(l.kind, ChartKind::Xmr);
        assert!(close(l.centre, 12.0));
        assert!(l.mean_moving_range.is_some_and(|m| close(m, 17.0 / 11.0)));
        assert_eq!((l.baseline_from, l.baseline_to, l.baseline_points), (0, 12, 12));
        assert_eq!(l.points.len(), 12);
        for p in l.points.iter().flatten() {
            assert!(close(p.centre, 12.0));
            assert!(close(p.upper, 12.0 + 45.22 / 11.0) && close(p.upper, 16.110909090909));
            assert!(close(p.lower, 12.0 - 45.22 / 11.0) && close(p.lower, 7.889090909091));
        }
        assert!(no_signals(&l));
    }

    #[test]
    fn xmr_limits_are_clipped_for_drawing_only() {
        // 1,5,1,5,1,5: centre 3, mR = 4, limits 3 ± 10.64 = −7.64 .. 13.64.
        // Drawn with bounds [0, 10]: 0 .. 10.
        // Later months 9, 9, 9, 9: not above 13.64; two thirds of the
        // unclipped way is 3 + 10.64 · 2/3 = 10.093 > 9, so no 3-of-4 (the
        // clipped limit would put it at 3 + 7 · 2/3 = 7.67 and fire wrongly).
        // Run: 5 (month 5) and the four 9s = 5 months above: no run.
        let s = series(&[1., 5., 1., 5., 1., 5., 9., 9., 9., 9.]);
        let l = xmr(&s, 0..6, (Some(0.0), Some(10.0))).unwrap_or_else(|| panic!("no limits"));
        assert!(close(l.centre, 3.0));
        let p = point(&l, 0);
        assert_eq!((p.lower, p.upper), (0.0, 10.0));
        assert!(no_signals(&l));
        let open = xmr(&s, 0..6, (Some(0.0), None)).unwrap_or_else(|| panic!("no limits"));
        assert!(close(point(&open, 0).upper, 13.64));
        assert_eq!(point(&open, 0).lower, 0.0);
    }

    #[test]
    fn outside_limits_is_strict() {
        // Limits −8 .. 258 (see BASE). 258 and −8 lie on the limits: not
        // outside. 258.5 and −8.5 are. Windows hold at most 2 values beyond
        // two thirds on one side, and no side holds for 8 months.
        let s = after_base(&[Some(258.0), Some(258.5), Some(-8.0), Some(-8.5)]);
        let l = chart(&s);
        assert_eq!(point(&l, 6).upper, 258.0);
        assert_eq!(point(&l, 6).lower, -8.0);
        assert_eq!(marked(&l, Rule::OutsideLimits), [7, 9]);
        assert_eq!(point(&l, 7).signals, [Rule::OutsideLimits]);
        assert!(point(&l, 6).signals.is_empty() && point(&l, 8).signals.is_empty());
    }

    #[test]
    fn run_of_eight_after_a_shift() {
        // Baseline = months 0..6 (ends on 100, below 125), then a shift to
        // 130 for 8 months: months 6..14 are above the centre, 8 in a row.
        // 130 is inside the limits and below 213.67, so nothing else fires.
        let s = after_base(&[Some(130.0); 8]);
        let l = chart(&s);
        assert_eq!((l.baseline_from, l.baseline_to, l.baseline_points), (0, 6, 6));
        assert_eq!(l.points.len(), 14);
        assert_eq!(marked(&l, Rule::RunOfEight), (6..14).collect::<Vec<_>>());
        assert!(marked(&l, Rule::OutsideLimits).is_empty());
        assert!(marked(&l, Rule::ThreeOfFour).is_empty());
    }

    #[test]
    fn run_of_seven_does_not_fire() {
        // 7 × 130 then 120 (below 125): a run of 7 only.
        let mut rest = vec![Some(130.0); 7];
        rest.push(Some(120.0));
        assert!(no_signals(&chart(&after_base(&rest))));
    }

    #[test]
    fn run_skips_missing_months_and_breaks_on_the_centre() {
        // 4 × 130, a month without value, 4 × 130: 8 values above in a row.
        let mut rest = vec![Some(130.0); 4];
        rest.push(None);
        rest.extend([Some(130.0); 4]);
        let l = chart(&after_base(&rest));
        assert!(l.points[10].is_none());
        assert_eq!(marked(&l, Rule::RunOfEight), [6, 7, 8, 9, 11, 12, 13, 14]);
        // 4 × 130, 125 (on the centre), 4 × 130: two runs of 4.
        rest[4] = Some(125.0);
        assert!(no_signals(&chart(&after_base(&rest))));
    }

    #[test]
    fn three_of_four_beyond_two_thirds() {
        // 220, 130, 220, 220 after the baseline: 220 > 213.67 (beyond two
        // thirds), < 258 (inside). Window of months 6..10 holds 3 beyond
        // above -> months 6, 8, 9 marked, not month 7 (130).
        let l = chart(&after_base(&[Some(220.0), Some(130.0), Some(220.0), Some(220.0)]));
        assert_eq!(marked(&l, Rule::ThreeOfFour), [6, 8, 9]);
        assert!(marked(&l, Rule::OutsideLimits).is_empty());
        assert!(marked(&l, Rule::RunOfEight).is_empty());
        // Skipping a month without value: 220, –, 130, 220, 220 is the same
        // window of 4 values.
        let l = chart(&after_base(&[Some(220.0), None, Some(130.0), Some(220.0), Some(220.0)]));
        assert_eq!(marked(&l, Rule::ThreeOfFour), [6, 9, 10]);
    }

    #[test]
    fn two_of_four_or_mixed_sides_do_not_fire() {
        // 220, 130, 130, 220: at most 2 beyond in any window.
        assert!(no_signals(&chart(&after_base(&[
            Some(220.0),
            Some(130.0),
            Some(130.0),
            Some(220.0)
        ]))));
        // 220, 30, 220, 130: 30 < 36.33 is beyond on the low side, so the
        // window holds 2 high and 1 low: not 3 on one side.
        assert!(no_signals(&chart(&after_base(&[
            Some(220.0),
            Some(30.0),
            Some(220.0),
            Some(130.0)
        ]))));
    }

    #[test]
    fn several_rules_in_order() {
        // 8 × 260: each is above 258 (outside), the 8 make a run, and every
        // window of 4 is beyond two thirds: all three rules, in order.
        let l = chart(&after_base(&[Some(260.0); 8]));
        for i in 6..14 {
            assert_eq!(
                point(&l, i).signals,
                [Rule::OutsideLimits, Rule::RunOfEight, Rule::ThreeOfFour]
            );
        }
        for i in 0..6 {
            assert!(point(&l, i).signals.is_empty());
        }
    }

    #[test]
    fn xmr_missing_months() {
        // 10, –, 14, 12, –, 16, 10, 12 with baseline 0..8: 6 values,
        // centre = 74/6 = 12.3333…; moving ranges pair over the gaps:
        // |14−10| = 4, |12−14| = 2, |16−12| = 4, |10−16| = 6, |12−10| = 2
        // -> 18/5 = 3.6; 2.66 · 3.6 = 9.576; limits 2.757333… .. 21.909333…
        let s: Vec<Sample> = [
            Some(10.),
            None,
            Some(14.),
            Some(12.),
            None,
            Some(16.),
            Some(10.),
            Some(12.),
        ]
        .iter()
        .map(|v| v.map_or_else(Sample::default, Sample::of))
        .collect();
        let l = xmr(&s, 0..8, (None, None)).unwrap_or_else(|| panic!("no limits"));
        assert_eq!(l.baseline_points, 6);
        assert!(close(l.centre, 74.0 / 6.0));
        assert!(l.mean_moving_range.is_some_and(|m| close(m, 3.6)));
        assert!(close(point(&l, 0).upper, 21.909333333333));
        assert!(close(point(&l, 0).lower, 2.757333333333));
        assert!(l.points[1].is_none() && l.points[4].is_none());
        // Only 5 values in 0..7 (NaN is missing too): no limits.
        assert!(xmr(&s, 0..7, (None, None)).is_none());
        let mut nan = s.clone();
        nan[2] = Sample::of(f64::NAN);
        assert!(xmr(&nan, 0..8, (None, None)).is_none());
        // Empty series, and a baseline past the end is cut to the series.
        assert!(xmr(&[], 0..6, (None, None)).is_none());
        let l = xmr(&s, 0..20, (None, None)).unwrap_or_else(|| panic!("no limits"));
        assert_eq!((l.baseline_from, l.baseline_to), (0, 8));
    }

    /// Baseline of a proportion: 1/10, 5/20, 4/25, 12/50, 8/40, 10/55:
    /// Σ num = 40, Σ den = 200, p̄ = 0.2, p̄(1 − p̄) = 0.16. Then month 6
    /// with 35/100 and month 7 with no denominator.
    fn proportions() -> Vec<Sample> {
        let mut s: Vec<Sample> = [
            (1., 10.),
            (5., 20.),
            (4., 25.),
            (12., 50.),
            (8., 40.),
            (10., 55.),
            (35., 100.),
        ]
        .iter()
        .map(|&(n, d)| Sample::ratio(n, d))
        .collect();
        s.push(Sample {
            value: Some(0.3),
            numerator: Some(3.0),
            denominator: None,
        });
        s
    }

    #[test]
    fn p_chart_limits_follow_the_denominator() {
        let l = p_chart(&proportions(), 0..6).unwrap_or_else(|| panic!("no limits"));
        assert_eq!(l.kind, ChartKind::P);
        assert!(close(l.centre, 0.2));
        assert_eq!(l.mean_moving_range, None);
        assert_eq!(l.baseline_points, 6);
        // n = 10: σ = sqrt(0.016) = 0.04 · sqrt(10) = 0.04 · 3.16227766017
        //   = 0.126491106407; 3σ = 0.379473319220; upper 0.579473319220,
        //   lower 0.2 − 0.379 < 0 -> drawn at 0.
        let p = point(&l, 0);
        assert!(close(p.upper, 0.579473319220) && p.lower == 0.0);
        // n = 25: σ = sqrt(0.0064) = 0.08; 3σ = 0.24; upper 0.44, lower −0.04 -> 0.
        let p = point(&l, 2);
        assert!(close(p.upper, 0.44) && p.lower == 0.0);
        // n = 50: σ = sqrt(0.0032) = 0.04 · sqrt(2) = 0.04 · 1.41421356237
        //   = 0.056568542495; 3σ = 0.169705627485;
        //   limits 0.030294372515 .. 0.369705627485.
        let p = point(&l, 3);
        assert!(close(p.upper, 0.369705627485) && close(p.lower, 0.030294372515));
        // n = 100: σ = sqrt(0.0016) = 0.04; 3σ = 0.12; limits 0.08 .. 0.32.
        // 35/100 = 0.35 > 0.32: outside. The baseline values 0.1 .. 0.25
        // are inside their own limits.
        let p = point(&l, 6);
        assert!(close(p.upper, 0.32) && close(p.lower, 0.08));
        assert_eq!(marked(&l, Rule::OutsideLimits), [6]);
        // No denominator: no point.
        assert!(l.points[7].is_none());
        // Only 5 baseline months: no limits.
        assert!(p_chart(&proportions(), 0..5).is_none());
    }

    #[test]
    fn choose_kind_cases() {
        let ratios = |dens: &[f64]| -> Vec<Sample> { dens.iter().map(|&d| Sample::ratio(d / 10.0, d)).collect() };
        // Not a ratio: XmR whatever the counts.
        assert_eq!(choose_kind(&ratios(&[5.0; 6]), 0..6, false), ChartKind::Xmr);
        // Large, steady denominators: 150/100 = 1.5 is not above 1.5.
        let steady = ratios(&[100., 120., 110., 130., 140., 150.]);
        assert_eq!(choose_kind(&steady, 0..6, true), ChartKind::Xmr);
        // Smallest denominator 20 < 30.
        let small = ratios(&[100., 120., 20., 130., 140., 150.]);
        assert_eq!(choose_kind(&small, 0..6, true), ChartKind::P);
        // Varying: 200/100 = 2 > 1.5.
        let varying = ratios(&[100., 120., 110., 130., 140., 200.]);
        assert_eq!(choose_kind(&varying, 0..6, true), ChartKind::P);
        // A small denominator after the baseline does not count.
        let later = ratios(&[100., 120., 110., 130., 140., 150., 5.]);
        assert_eq!(choose_kind(&later, 0..6, true), ChartKind::Xmr);
        // A baseline month with a value but no denominator: XmR.
        let mut gap = small.clone();
        gap[1] = Sample::of(0.1);
        assert_eq!(choose_kind(&gap, 0..6, true), ChartKind::Xmr);
        // No baseline values at all: XmR (which then has no limits).
        assert_eq!(choose_kind(&[Sample::default(); 6], 0..6, true), ChartKind::Xmr);
        // limits() follows the choice.
        let l = limits(&small, 0..6, true, (Some(0.0), Some(1.0))).unwrap_or_else(|| panic!("no limits"));
        assert_eq!(l.kind, ChartKind::P);
        assert_eq!(l.mean_moving_range, None);
        let l = limits(&steady, 0..6, true, (Some(0.0), Some(1.0))).unwrap_or_else(|| panic!("no limits"));
        assert_eq!(l.kind, ChartKind::Xmr);
        // Every value is 0.1: mR = 0, limits collapse onto the centre.
        assert!(l.mean_moving_range.is_some_and(|m| m == 0.0));
    }
}
