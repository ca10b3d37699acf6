//! Significance tests for period comparison. Each returns a two-sided p-value.
//! Checked against textbook examples in the unit tests below.

use statrs::distribution::{Binomial, ContinuousCDF, Discrete, Hypergeometric, Normal};

fn normal_two_sided(z: f64) -> f64 {
    let n = Normal::new(0.0, 1.0).expect("standard normal");
    (2.0 * (1.0 - n.cdf(z.abs()))).clamp(0.0, 1.0)
}

/// Which test suits two proportions: Fisher's exact test when an expected cell
/// count is below 5, else the pooled two-proportion z-test.
pub fn proportions(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<(f64, &'static str)> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let total = (n1 + n2) as f64;
    let succ = (x1 + x2) as f64;
    let fail = total - succ;
    let min_expected = [
        n1 as f64 * succ / total,
        n1 as f64 * fail / total,
        n2 as f64 * succ / total,
        n2 as f64 * fail / total,
    ]
    .into_iter()
    .fold(f64::INFINITY, f64::min);
    if min_expected < 5.0 {
        Some((fisher_exact(x1, n1 - x1, x2, n2 - x2)?, "fisher_exact"))
    } else {
        Some((two_proportion_z(x1, n1, x2, n2)?, "two_proportion_z"))
    }
}

/// Pooled two-proportion z-test.
pub fn two_proportion_z(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<f64> {
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let p = (x1 + x2) as f64 / (n1f + n2f);
    let se = (p * (1.0 - p) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if se == 0.0 || !se.is_finite() {
        return Some(1.0);
    }
    let z = (x1 as f64 / n1f - x2 as f64 / n2f) / se;
    Some(normal_two_sided(z))
}

/// Fisher's exact test on [[a, b], [c, d]], two-sided: the probability of all
/// tables with the same margins that are no more likely than the observed one.
pub fn fisher_exact(a: u64, b: u64, c: u64, d: u64) -> Option<f64> {
    let n = a + b + c + d;
    let row1 = a + b;
    let col1 = a + c;
    let h = Hypergeometric::new(n, col1, row1).ok()?;
    let observed = h.pmf(a);
    let lo = row1.saturating_sub(n - col1);
    let hi = row1.min(col1);
    let p: f64 = (lo..=hi)
        .map(|k| h.pmf(k))
        .filter(|p| *p <= observed * (1.0 + 1e-7))
        .sum();
    Some(p.min(1.0))
}

/// Mann-Whitney U test, normal approximation with tie and continuity correction.
/// Returns (U of the first sample, p).
pub fn mann_whitney(x: &[f64], y: &[f64]) -> Option<(f64, f64)> {
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    if x.is_empty() || y.is_empty() {
        return None;
    }
    let mut all: Vec<(f64, usize)> = x.iter().map(|v| (*v, 0)).chain(y.iter().map(|v| (*v, 1))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut ranks = vec![0.0; all.len()];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for r in ranks.iter_mut().take(j + 1).skip(i) {
            *r = rank;
        }
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let r1: f64 = all.iter().zip(&ranks).filter(|(a, _)| a.1 == 0).map(|(_, r)| r).sum();
    let u1 = r1 - n1 * (n1 + 1.0) / 2.0;
    let mu = n1 * n2 / 2.0;
    let n = n1 + n2;
    let sigma = (n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
    if sigma == 0.0 || !sigma.is_finite() {
        return Some((u1, 1.0));
    }
    let diff = (u1 - mu).abs() - 0.5;
    let z = diff.max(0.0) / sigma;
    Some((u1, normal_two_sided(z)))
}

/// Two Poisson counts over exposures t1, t2 (e.g. days): exact conditional test,
/// x1 ~ Binomial(x1 + x2, t1 / (t1 + t2)), two-sided by probability ordering.
pub fn poisson_rates(x1: u64, t1: f64, x2: u64, t2: f64) -> Option<f64> {
    let n = x1 + x2;
    if n == 0 || t1 <= 0.0 || t2 <= 0.0 {
        return None;
    }
    let b = Binomial::new(t1 / (t1 + t2), n).ok()?;
    let observed = b.pmf(x1);
    let p: f64 = (0..=n)
        .map(|k| b.pmf(k))
        .filter(|p| *p <= observed * (1.0 + 1e-7))
        .sum();
    Some(p.min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() < tol, "{a} vs {b}");
    }

    #[test]
    fn fisher_lady_tasting_tea() {
        // Fisher (1935): [[3, 1], [1, 3]], two-sided p = 34/70 = 0.4857.
        near(fisher_exact(3, 1, 1, 3).unwrap(), 34.0 / 70.0, 1e-9);
        // [[1, 9], [11, 3]]: two-sided p = 0.002759 (Wikipedia, "Fisher's exact test").
        near(fisher_exact(1, 9, 11, 3).unwrap(), 0.002759, 1e-6);
    }

    #[test]
    fn two_proportions() {
        // 45/100 vs 30/100: pooled p = 0.375, se = 0.068465, z = 2.1909, p = 0.02846.
        near(two_proportion_z(45, 100, 30, 100).unwrap(), 0.02846, 1e-4);
        assert_eq!(proportions(1, 4, 3, 4).unwrap().1, "fisher_exact");
        assert_eq!(proportions(45, 100, 30, 100).unwrap().1, "two_proportion_z");
    }

    #[test]
    fn mann_whitney_textbook() {
        // No ties: x = 1..5, y = 6..10: U1 = 0; z = (12.5 - 0.5) / sqrt(25 * 11 / 12) = 2.5067, p = 0.01219.
        let (u, p) = mann_whitney(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
        near(u, 0.0, 1e-12);
        near(p, 0.012186, 1e-5);
        // Identical samples: no evidence.
        let (_, p) = mann_whitney(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]).unwrap();
        near(p, 1.0, 1e-12);
    }

    #[test]
    fn poisson() {
        // 10 vs 10 events over equal time: p = 1. 20 vs 5 over equal time:
        // x1 ~ Bin(25, 0.5), P(X >= 20) * 2 = 2 * 0.0020387 = 0.0040775.
        near(poisson_rates(10, 30.0, 10, 30.0).unwrap(), 1.0, 1e-9);
        near(poisson_rates(20, 30.0, 5, 30.0).unwrap(), 0.0040775, 1e-6);
    }
}
