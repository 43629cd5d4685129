//! Statistics for ccwgate's host programs: one implementation of rates,
//! confidence bounds and significance tests, shared by the mechanism model
//! (`ccwgate-model`) and any later runner.
//!
//! The question ccwgate's users ask is "does host A fail more often than
//! host B?", where a failure is a FAIL verdict and the exposure is the number
//! of iterations run. Runs stop at their first failure, so the natural unit
//! is failures per iteration: a rare-event rate, reported per million
//! iterations.
//!
//! - [`Proportion`]: `k` successes out of `n` trials with a 95 % Wilson score
//!   interval, which stays inside `[0, 1]` and behaves at `k = 0` and `k = n`
//!   (where the textbook normal interval collapses to a point).
//! - [`compare_rates`]: the exact conditional test for two rates (given
//!   `k1 + k2` failures in total, `k1` is binomial with `p = n1 / (n1 + n2)`
//!   when both hosts fail equally often), two-sided, from log-factorials.
//! - [`Quantiles`]: median, p90 and worst of a sample.

/// Standard-normal quantile for a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// `k` events out of `n` trials.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Proportion {
    pub k: u64,
    pub n: u64,
}

impl Proportion {
    pub fn new(k: u64, n: u64) -> Self {
        assert!(k <= n, "{k} events out of {n} trials");
        Proportion { k, n }
    }

    /// The point estimate, 0 without trials.
    pub fn estimate(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.k as f64 / self.n as f64
        }
    }

    /// 95 % Wilson score interval; `(0, 1)` without trials.
    pub fn wilson95(&self) -> (f64, f64) {
        if self.n == 0 {
            return (0.0, 1.0);
        }
        let n = self.n as f64;
        let p = self.estimate();
        let z2 = Z95 * Z95;
        let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
        let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
        // At k = 0 (k = n) the bound is exactly 0 (1); rounding must not
        // push it past the estimate.
        let lo = if self.k == 0 {
            0.0
        } else {
            (centre - half).max(0.0)
        };
        let hi = if self.k == self.n {
            1.0
        } else {
            (centre + half).min(1.0)
        };
        (lo.min(p), hi.max(p))
    }

    /// Rate per million trials with its 95 % bounds: `(estimate, lo, hi)`.
    pub fn per_million(&self) -> (f64, f64, f64) {
        let (lo, hi) = self.wilson95();
        (self.estimate() * 1e6, lo * 1e6, hi * 1e6)
    }
}

/// Natural log of `n!`, exact summation below 256 and Stirling's series
/// above (error far below what a p-value needs).
pub fn ln_factorial(n: u64) -> f64 {
    if n < 256 {
        return (2..=n).map(|i| (i as f64).ln()).sum();
    }
    let x = n as f64;
    x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + 1.0 / (12.0 * x)
        - 1.0 / (360.0 * x * x * x)
}

fn ln_binomial_pmf(k: u64, n: u64, p: f64) -> f64 {
    if p <= 0.0 {
        return if k == 0 { 0.0 } else { f64::NEG_INFINITY };
    }
    if p >= 1.0 {
        return if k == n { 0.0 } else { f64::NEG_INFINITY };
    }
    ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
        + k as f64 * p.ln()
        + (n - k) as f64 * (1.0 - p).ln()
}

/// Which of two rates is lower, if the data can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    A,
    B,
    CannotTell,
}

/// The outcome of [`compare_rates`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    pub a: Proportion,
    pub b: Proportion,
    /// Two-sided p-value of "both fail equally often".
    pub p_value: f64,
    pub better: Better,
}

/// Compares the failure rates `a.k / a.n` and `b.k / b.n` (failures per
/// iteration) with the exact conditional binomial test at level `alpha`.
///
/// Under the null hypothesis of equal rates, given `k = a.k + b.k` failures,
/// `a.k` is binomial with `n = k` and `p = a.n / (a.n + b.n)`. The two-sided
/// p-value sums the probabilities of every outcome no more likely than the
/// one observed. Without any failure (or without exposure) the data cannot
/// tell.
pub fn compare_rates(a: Proportion, b: Proportion, alpha: f64) -> Comparison {
    let k = a.k + b.k;
    let exposure = a.n + b.n;
    if k == 0 || a.n == 0 || b.n == 0 {
        return Comparison {
            a,
            b,
            p_value: 1.0,
            better: Better::CannotTell,
        };
    }
    let p = a.n as f64 / exposure as f64;
    let observed = ln_binomial_pmf(a.k, k, p);
    // Relative tolerance so that ties in probability count as "as extreme".
    let limit = observed + 1e-7 * observed.abs().max(1.0);
    let p_value: f64 = (0..=k)
        .map(|i| ln_binomial_pmf(i, k, p))
        .filter(|&l| l <= limit)
        .map(f64::exp)
        .sum::<f64>()
        .min(1.0);
    let better = if p_value >= alpha {
        Better::CannotTell
    } else if a.estimate() < b.estimate() {
        Better::A
    } else {
        Better::B
    };
    Comparison {
        a,
        b,
        p_value,
        better,
    }
}

/// A sorted copy of `sample`; `None` when it is empty.
fn sorted<T: Copy>(
    sample: &[T],
    order: impl FnMut(&T, &T) -> std::cmp::Ordering,
) -> Option<Vec<T>> {
    if sample.is_empty() {
        return None;
    }
    let mut s = sample.to_vec();
    s.sort_by(order);
    Some(s)
}

/// Median, lowest and highest of a measured sample (hyperfine style): the
/// median is the middle value, or the mean of the two middle ones.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// `None` for an empty sample.
    pub fn of(sample: &[f64]) -> Option<Self> {
        let s = sorted(sample, f64::total_cmp)?;
        let mid = s.len() / 2;
        let median = if s.len() % 2 == 1 {
            s[mid]
        } else {
            (s[mid - 1] + s[mid]) / 2.0
        };
        Some(Spread {
            median,
            min: s[0],
            max: s[s.len() - 1],
        })
    }
}

/// Median, 90th percentile and worst of a sample (nearest rank).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantiles {
    pub median: u64,
    pub p90: u64,
    pub worst: u64,
}

impl Quantiles {
    /// `None` for an empty sample.
    pub fn of(sample: &[u64]) -> Option<Self> {
        let s = sorted(sample, u64::cmp)?;
        let rank = |q: f64| {
            let r = (q * s.len() as f64).ceil() as usize;
            s[r.clamp(1, s.len()) - 1]
        };
        Some(Quantiles {
            median: rank(0.5),
            p90: rank(0.9),
            worst: s[s.len() - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn spread_takes_the_middle_or_the_mean_of_the_two() {
        let s = Spread::of(&[3.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 10.0));
        assert_eq!(Spread::of(&[5.0, -1.0, 4.0]).unwrap().median, 4.0);
        assert_eq!(Spread::of(&[]), None);
    }

    #[test]
    fn wilson_matches_published_values() {
        // 95 % Wilson interval of 0/10 is [0, 0.2775], of 5/10 [0.2366, 0.7634].
        let (lo, hi) = Proportion::new(0, 10).wilson95();
        assert_eq!(lo, 0.0);
        assert!(close(hi, 0.2775, 1e-4), "{hi}");
        let (lo, hi) = Proportion::new(5, 10).wilson95();
        assert!(
            close(lo, 0.2366, 1e-4) && close(hi, 0.7634, 1e-4),
            "{lo} {hi}"
        );
        let (lo, hi) = Proportion::new(10, 10).wilson95();
        assert!(close(lo, 0.7225, 1e-4) && hi == 1.0);
        assert_eq!(Proportion::new(0, 0).wilson95(), (0.0, 1.0));
    }

    #[test]
    fn bounds_shrink_with_exposure() {
        let small = Proportion::new(1, 1_000).per_million();
        let large = Proportion::new(1_000, 1_000_000).per_million();
        assert!(close(small.0, large.0, 1e-9));
        assert!(large.2 - large.1 < small.2 - small.1);
        assert!(large.1 < 1000.0 && 1000.0 < large.2);
    }

    #[test]
    fn ln_factorial_is_exact_where_it_matters() {
        assert_eq!(ln_factorial(0), 0.0);
        assert!(close(ln_factorial(10), (3_628_800f64).ln(), 1e-9));
        // Both sides of the switch to Stirling agree with lgamma values.
        assert!(close(ln_factorial(255), 1_161.712_101_118_4, 1e-6));
        assert!(close(ln_factorial(256), 1_167.257_278_562_9, 1e-6));
        assert!(close(ln_factorial(1_000_000), 12_815_518.384_658_17, 1e-3));
    }

    #[test]
    fn clearly_different_rates_are_told_apart() {
        let worse = Proportion::new(40, 10_000);
        let better = Proportion::new(2, 10_000);
        let c = compare_rates(better, worse, 0.05);
        assert_eq!(c.better, Better::A);
        assert!(c.p_value < 1e-6, "{}", c.p_value);
        assert_eq!(compare_rates(worse, better, 0.05).better, Better::B);
    }

    #[test]
    fn too_little_data_cannot_tell() {
        let c = compare_rates(Proportion::new(1, 1000), Proportion::new(2, 1000), 0.05);
        assert_eq!(c.better, Better::CannotTell);
        assert!(c.p_value > 0.5);
        let none = compare_rates(Proportion::new(0, 5), Proportion::new(0, 5), 0.05);
        assert_eq!((none.better, none.p_value), (Better::CannotTell, 1.0));
    }

    #[test]
    fn exact_test_matches_a_hand_computed_value() {
        // Equal exposure, 0 vs 5 failures: p = 2 * 0.5^5 = 0.0625.
        let c = compare_rates(Proportion::new(0, 100), Proportion::new(5, 100), 0.05);
        assert!(close(c.p_value, 0.0625, 1e-9), "{}", c.p_value);
        assert_eq!(c.better, Better::CannotTell);
        // 0 vs 6: p = 2 * 0.5^6 = 0.03125, which tells.
        let c = compare_rates(Proportion::new(0, 100), Proportion::new(6, 100), 0.05);
        assert!(close(c.p_value, 0.03125, 1e-9));
        assert_eq!(c.better, Better::A);
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        assert_eq!(Quantiles::of(&[]), None);
        let q = Quantiles::of(&[5, 1, 9, 3, 7, 2, 8, 4, 6, 10]).unwrap();
        assert_eq!((q.median, q.p90, q.worst), (5, 9, 10));
        let q = Quantiles::of(&[42]).unwrap();
        assert_eq!((q.median, q.p90, q.worst), (42, 42, 42));
    }
}
