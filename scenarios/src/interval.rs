//! 95% confidence intervals for the shares the matrix reports, with the **run** as
//! the unit.
//!
//! The operations of one run share one fault plan, so they are not independent
//! samples: 400 operations of one unlucky run say less than 400 operations of 400
//! runs. Both intervals here treat each run (seed) as one observation:
//!
//! - a share of runs (how often a guarantee held) is a binomial proportion over runs:
//!   the [`wilson`] score interval, which behaves at 0% and 100%, where the textbook
//!   interval collapses to a point;
//! - a share of operations pooled over runs (an availability measure) is a ratio of
//!   two per-run totals: the [`ratio`] estimator's interval, whose variance comes from
//!   how far each run's hits stray from the pooled share times its trials (cluster
//!   sampling), with Student's t for the number of runs.
//!
//! A difference between two cells is one to rely on only when their intervals do not
//! overlap (a conservative test: non-overlap implies a significant difference, not the
//! other way round).

use crate::availability::Ratio;

/// The two-sided 95% quantile of Student's t with `df` degrees of freedom (`df` ≥ 1).
///
/// ```
/// use scenarios::interval::t975;
/// assert!((t975(1) - 12.706).abs() < 1e-3);
/// assert!((t975(19) - 2.093).abs() < 1e-3);
/// assert!((t975(1_000_000) - 1.960).abs() < 1e-3);
/// ```
pub fn t975(df: u64) -> f64 {
    // Exact to three decimals up to 30 degrees of freedom...
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    assert!(df >= 1, "Student's t needs a degree of freedom, not {df}");
    if let Some(&t) = TABLE.get(df as usize - 1) {
        return t;
    }
    // ... and beyond, the Cornish-Fisher expansion around the normal quantile, good to
    // four decimals from 30 on.
    let z: f64 = 1.959_963_984_540_054;
    let v = df as f64;
    z + (z.powi(3) + z) / (4.0 * v)
        + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * v * v)
        + (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / (384.0 * v.powi(3))
}

/// The Wilson score interval (95%) of `hits` out of `trials`, or `None` with no
/// trials.
///
/// ```
/// use scenarios::interval::wilson;
/// let (low, high) = wilson(20, 20).unwrap();
/// assert!((low - 0.8389).abs() < 1e-4 && high == 1.0);
/// let (low, high) = wilson(5, 10).unwrap();
/// assert!((low - 0.2366).abs() < 1e-4 && (high - 0.7634).abs() < 1e-4);
/// assert_eq!(wilson(0, 0), None);
/// ```
pub fn wilson(hits: u64, trials: u64) -> Option<(f64, f64)> {
    assert!(hits <= trials, "{hits} hits out of {trials} trials");
    if trials == 0 {
        return None;
    }
    let z: f64 = 1.959_963_984_540_054;
    let n = trials as f64;
    let p = hits as f64 / n;
    let centre = p + z * z / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    let scale = 1.0 + z * z / n;
    Some((
        ((centre - spread) / scale).max(0.0),
        ((centre + spread) / scale).min(1.0),
    ))
}

/// The 95% interval of the pooled share `Σ hits / Σ trials` over runs, each run one
/// observation (`runs`: each run's counts; runs with no trials carry no information
/// and are left out). `None` with fewer than two runs that counted something.
///
/// ```
/// use scenarios::availability::Ratio;
/// use scenarios::interval::ratio;
/// // Two runs of 10 operations: 9 and 7 succeeded.
/// let runs = [Ratio { hits: 9, trials: 10 }, Ratio { hits: 7, trials: 10 }];
/// let (low, high) = ratio(&runs).unwrap();
/// assert!(low < 0.8 && 0.8 < high);
/// // Every run alike: no spread between runs.
/// let same = [Ratio { hits: 0, trials: 5 }; 20];
/// assert_eq!(ratio(&same), Some((0.0, 0.0)));
/// assert_eq!(ratio(&[Ratio { hits: 1, trials: 2 }]), None);
/// ```
pub fn ratio(runs: &[Ratio]) -> Option<(f64, f64)> {
    let counted: Vec<&Ratio> = runs.iter().filter(|r| r.trials > 0).collect();
    let n = counted.len() as u64;
    if n < 2 {
        return None;
    }
    let hits: u64 = counted.iter().map(|r| r.hits).sum();
    let trials: u64 = counted.iter().map(|r| r.trials).sum();
    let p = hits as f64 / trials as f64;
    let mean_trials = trials as f64 / n as f64;
    let squares: f64 = counted
        .iter()
        .map(|r| {
            let residual = r.hits as f64 - p * r.trials as f64;
            residual * residual
        })
        .sum();
    let variance = squares / ((n * (n - 1)) as f64 * mean_trials * mean_trials);
    let half = t975(n - 1) * variance.sqrt();
    Some(((p - half).max(0.0), (p + half).min(1.0)))
}

/// Whether two intervals overlap (`None`, no interval, overlaps everything).
///
/// ```
/// use scenarios::interval::overlap;
/// assert!(overlap(Some((0.1, 0.3)), Some((0.25, 0.5))));
/// assert!(!overlap(Some((0.1, 0.2)), Some((0.25, 0.5))));
/// assert!(overlap(None, Some((0.25, 0.5))));
/// ```
pub fn overlap(a: Option<(f64, f64)>, b: Option<(f64, f64)>) -> bool {
    match (a, b) {
        (Some((a_low, a_high)), Some((b_low, b_high))) => a_low <= b_high && b_low <= a_high,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_expansion_meets_the_table() {
        // At 30 degrees of freedom the expansion and the table agree.
        let z: f64 = 1.959_963_984_540_054;
        let v = 30.0;
        let expanded = z
            + (z.powi(3) + z) / (4.0 * v)
            + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * v * v)
            + (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z)
                / (384.0 * v.powi(3));
        assert!((expanded - t975(30)).abs() < 5e-4, "{expanded}");
        // 60 and 120 degrees of freedom: 2.000 and 1.980 in the tables.
        assert!((t975(60) - 2.000).abs() < 5e-4, "{}", t975(60));
        assert!((t975(120) - 1.980).abs() < 5e-4, "{}", t975(120));
        // It falls with the degrees of freedom.
        assert!((1..200).all(|df| t975(df) > t975(df + 1)));
    }

    proptest! {
        /// With the same number of trials in every run, the ratio interval is the
        /// t-interval of the runs' own shares: the mean plus or minus t times the
        /// standard error.
        #[test]
        fn equal_runs_give_the_t_interval_of_their_shares(
            hits in prop::collection::vec(0u64..=10, 2..40)
        ) {
            let runs: Vec<Ratio> = hits.iter().map(|&h| Ratio { hits: h, trials: 10 }).collect();
            let shares: Vec<f64> = hits.iter().map(|&h| h as f64 / 10.0).collect();
            let n = shares.len() as f64;
            let mean = shares.iter().sum::<f64>() / n;
            let sd = (shares.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            let half = t975(shares.len() as u64 - 1) * sd / n.sqrt();
            let (low, high) = ratio(&runs).unwrap();
            prop_assert!((low - (mean - half).max(0.0)).abs() < 1e-9, "{low} vs {}", mean - half);
            prop_assert!((high - (mean + half).min(1.0)).abs() < 1e-9, "{high} vs {}", mean + half);
        }

        /// Every interval holds its own point estimate and stays within 0..=1.
        #[test]
        fn intervals_hold_their_estimate(
            runs in prop::collection::vec((0u64..50, 0u64..50), 0..30)
        ) {
            let runs: Vec<Ratio> = runs
                .into_iter()
                .map(|(a, b)| Ratio { hits: a.min(b), trials: a.max(b) })
                .collect();
            let pooled = runs.iter().fold(Ratio::default(), |mut acc, r| { acc.add(*r); acc });
            if let Some((low, high)) = ratio(&runs) {
                let p = pooled.share().unwrap();
                prop_assert!(0.0 <= low && low <= p + 1e-12 && p <= high + 1e-12 && high <= 1.0);
            }
            for r in &runs {
                if let Some((low, high)) = wilson(r.hits, r.trials) {
                    let p = r.share().unwrap();
                    prop_assert!(0.0 <= low && low <= p + 1e-12 && p <= high + 1e-12 && high <= 1.0);
                }
            }
        }
    }

    /// Of many simulated matrices of 20 runs, about 95% of the intervals hold the true
    /// share: the interval means what it says (the runs differ, as runs under
    /// different fault plans do).
    #[test]
    fn about_95_percent_of_intervals_cover_the_truth() {
        let mut rng = sim_core::SimRng::new(11, sim_core::Purpose::Custom(0));
        let truth = 0.7;
        let (mut covered, tries) = (0, 2_000);
        for _ in 0..tries {
            let runs: Vec<Ratio> = (0..20)
                .map(|_| {
                    // Each run has its own share around the truth, and its own size.
                    let own = (truth + 0.2 * (rng.unit_f64() - 0.5)).clamp(0.0, 1.0);
                    let trials = 20 + rng.below(40);
                    let hits = (0..trials).filter(|_| rng.unit_f64() < own).count() as u64;
                    Ratio { hits, trials }
                })
                .collect();
            let (low, high) = ratio(&runs).unwrap();
            covered += u32::from(low <= truth && truth <= high);
        }
        let coverage = f64::from(covered) / f64::from(tries);
        assert!((0.92..0.975).contains(&coverage), "coverage {coverage}");
    }
}
