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
//!   two per-run totals. Its variance comes from how far each run's hits stray from
//!   the pooled share times its trials (the ratio estimator of cluster sampling). The
//!   [`ratio`] interval turns that variance into an effective number of independent
//!   trials and takes Wilson's interval for it, scaled for the number of runs by
//!   Student's t (Korn and Graubard, 1998): so it does not collapse to a point when
//!   every run has the same share, as at 0% and 100%.
//!
//! A difference between two cells is one to rely on only when their intervals do not
//! overlap (a conservative test: non-overlap implies a significant difference, not the
//! other way round).

use crate::availability::Ratio;

/// The two-sided 95% quantile of Student's t with `df` degrees of freedom (`df` ≥ 1).
///
/// ```
/// use consim::interval::t975;
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
/// use consim::interval::wilson;
/// let (low, high) = wilson(20, 20).unwrap();
/// assert!((low - 0.8389).abs() < 1e-4 && high == 1.0);
/// let (low, high) = wilson(5, 10).unwrap();
/// assert!((low - 0.2366).abs() < 1e-4 && (high - 0.7634).abs() < 1e-4);
/// assert_eq!(wilson(0, 0), None);
/// ```
pub fn wilson(hits: u64, trials: u64) -> Option<(f64, f64)> {
    assert!(hits <= trials, "{hits} hits out of {trials} trials");
    (trials > 0).then(|| wilson_share(hits as f64 / trials as f64, trials as f64))
}

/// Wilson's interval for share `p` of `n` trials (`n` may be fractional: an
/// effective number).
fn wilson_share(p: f64, n: f64) -> (f64, f64) {
    assert!(
        (0.0..=1.0).contains(&p) && n > 0.0,
        "share {p} of {n} trials"
    );
    let z: f64 = 1.959_963_984_540_054;
    let centre = p + z * z / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    let scale = 1.0 + z * z / n;
    (
        ((centre - spread) / scale).clamp(0.0, p),
        ((centre + spread) / scale).clamp(p, 1.0),
    )
}

/// The 95% interval of the pooled share `Σ hits / Σ trials` over runs, each run one
/// observation (`runs`: each run's counts; runs with no trials carry no information
/// and are left out). `None` with fewer than two runs that counted something.
///
/// The ratio estimator's variance, `Σ (hitsᵢ − p·trialsᵢ)² / (n (n−1) t̄²)`, is what
/// `p(1−p)/m` would be for `m` independent trials: `m`, at most the trials counted, is
/// the effective sample size (all of them when the runs do not vary). Wilson's
/// interval for `p` of `m · (z / t₀.₉₇₅,ₙ₋₁)²` trials is the answer.
///
/// ```
/// use consim::availability::Ratio;
/// use consim::interval::ratio;
/// // Two runs of 10 operations: 9 and 7 succeeded.
/// let runs = [Ratio { hits: 9, trials: 10 }, Ratio { hits: 7, trials: 10 }];
/// let (low, high) = ratio(&runs).unwrap();
/// assert!(low < 0.8 && 0.8 < high);
/// // Every run alike, at 0%: no spread between runs, yet no certainty either.
/// let (low, high) = ratio(&[Ratio { hits: 0, trials: 5 }; 20]).unwrap();
/// assert!(low == 0.0 && 0.03 < high && high < 0.05);
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
    let effective = if variance > 0.0 {
        (p * (1.0 - p) / variance).min(trials as f64)
    } else {
        trials as f64
    };
    let z: f64 = 1.959_963_984_540_054;
    let scale = (z / t975(n - 1)).powi(2);
    Some(wilson_share(p, effective * scale))
}

/// How many resamples [`percentiles`] draws.
pub const RESAMPLES: usize = 400;

/// The 95% intervals of the percentiles `ranks` (each in 0..=1, nearest rank) of the
/// pooled `runs` (each run's samples), with the run as the unit: a percentile
/// bootstrap that resamples whole runs ([`RESAMPLES`] times, from a fixed seed, so
/// the same runs give the same intervals). `None` with fewer than two runs that have
/// samples.
///
/// ```
/// use consim::interval::percentiles;
/// // Runs whose medians are 10, 11, ... 29.
/// let runs: Vec<Vec<u64>> = (10..30).map(|m| vec![m - 1, m, m + 1]).collect();
/// let [(low, high)] = percentiles(&runs, &[0.5]).unwrap()[..] else { unreachable!() };
/// assert!(low < 19.5 && 19.5 < high && high - low < 10.0);
/// assert_eq!(percentiles(&runs[..1], &[0.5]), None);
/// ```
pub fn percentiles(runs: &[Vec<u64>], ranks: &[f64]) -> Option<Vec<(f64, f64)>> {
    let runs: Vec<&Vec<u64>> = runs.iter().filter(|r| !r.is_empty()).collect();
    if runs.len() < 2 {
        return None;
    }
    let mut rng = sim_core::SimRng::new(0, sim_core::Purpose::Custom(0x424F_4F54));
    let mut pooled: Vec<u64> = Vec::new();
    let mut estimates: Vec<Vec<f64>> = vec![Vec::with_capacity(RESAMPLES); ranks.len()];
    for _ in 0..RESAMPLES {
        pooled.clear();
        for _ in 0..runs.len() {
            pooled.extend_from_slice(runs[rng.below(runs.len() as u64) as usize]);
        }
        for (estimate, &rank) in estimates.iter_mut().zip(ranks) {
            let i = ((rank * pooled.len() as f64).ceil() as usize).clamp(1, pooled.len()) - 1;
            let (_, value, _) = pooled.select_nth_unstable(i);
            estimate.push(*value as f64);
        }
    }
    Some(
        estimates
            .into_iter()
            .map(|mut e| {
                e.sort_by(f64::total_cmp);
                let at = |q: f64| e[((q * RESAMPLES as f64) as usize).min(RESAMPLES - 1)];
                (at(0.025), at(0.975))
            })
            .collect(),
    )
}

/// Whether two intervals overlap (`None`, no interval, overlaps everything).
///
/// ```
/// use consim::interval::overlap;
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
        /// With one trial per run the runs are independent trials, and the ratio
        /// interval is (nearly) Wilson's interval of the pooled counts.
        #[test]
        fn one_trial_a_run_is_wilsons_interval(hits in prop::collection::vec(any::<bool>(), 200..400)) {
            let runs: Vec<Ratio> = hits.iter().map(|&h| Ratio { hits: u64::from(h), trials: 1 }).collect();
            let k = hits.iter().filter(|&&h| h).count() as u64;
            let (low, high) = ratio(&runs).unwrap();
            let (w_low, w_high) = wilson(k, hits.len() as u64).unwrap();
            prop_assert!((low - w_low).abs() < 0.01 && (high - w_high).abs() < 0.01,
                "{low}..{high} vs {w_low}..{w_high}");
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
    /// The bootstrap interval of a median holds the true median of the runs'
    /// distribution about 95% of the time, when the runs differ from one another.
    #[test]
    fn the_median_interval_covers_about_95_percent_of_the_time() {
        let mut rng = sim_core::SimRng::new(5, sim_core::Purpose::Custom(1));
        // Each run's level is uniform in 50..150, its samples uniform in level ± 10:
        // the pooled distribution is symmetric around 100, its median.
        let (mut covered, tries) = (0, 300);
        for _ in 0..tries {
            let runs: Vec<Vec<u64>> = (0..30)
                .map(|_| {
                    let level = 50 + rng.below(101);
                    (0..20).map(|_| level - 10 + rng.below(21)).collect()
                })
                .collect();
            let intervals = percentiles(&runs, &[0.5]).unwrap();
            let (low, high) = intervals[0];
            covered += u32::from(low <= 100.0 && 100.0 <= high);
        }
        let coverage = f64::from(covered) / f64::from(tries);
        assert!((0.89..0.99).contains(&coverage), "coverage {coverage}");
    }

    /// Of many simulated matrices of 20 runs, about 95% of the intervals hold the true
    /// share, in the middle and near the edge: the interval means what it says (the
    /// runs differ, as runs under different fault plans do).
    #[test]
    fn about_95_percent_of_intervals_cover_the_truth() {
        let mut rng = sim_core::SimRng::new(11, sim_core::Purpose::Custom(0));
        for (truth, spread) in [(0.7, 0.2), (0.97, 0.04)] {
            let (mut covered, tries) = (0, 2_000);
            for _ in 0..tries {
                let runs: Vec<Ratio> = (0..20)
                    .map(|_| {
                        // Each run has its own share around the truth, and its own size.
                        let own = (truth + spread * (rng.unit_f64() - 0.5)).clamp(0.0, 1.0);
                        let trials = 20 + rng.below(40);
                        let hits = (0..trials).filter(|_| rng.unit_f64() < own).count() as u64;
                        Ratio { hits, trials }
                    })
                    .collect();
                let (low, high) = ratio(&runs).unwrap();
                covered += u32::from(low <= truth && truth <= high);
            }
            let coverage = f64::from(covered) / f64::from(tries);
            assert!(
                (0.92..0.98).contains(&coverage),
                "truth {truth}: coverage {coverage}"
            );
        }
    }
}
