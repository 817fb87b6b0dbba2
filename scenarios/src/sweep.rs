//! Seed sweeps: one scenario over a range of seeds, across cores.
//!
//! Each run is single-threaded and deterministic; a sweep hands seeds to `jobs` worker
//! threads and reports the results **in seed order**, whatever the number of workers,
//! so that `--jobs 1` and `--jobs 8` print the same lines. `--shard I/N` keeps the
//! seeds whose position in the range is `I` modulo `N`, so that N CI jobs split one
//! sweep and their `--json` lines concatenate into the whole sweep's.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::config::RunConfig;
use crate::report::{OpCounts, RunError, RunReport};
use crate::run::run;

/// One shard of a sweep: `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard's number, below `count`.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// Parses `I/N`.
    ///
    /// ```
    /// use consim::sweep::Shard;
    /// assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
    /// assert!("0/0".parse::<Shard>().is_err());
    /// assert!("4/4".parse::<Shard>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("expected a shard as I/N with 0 <= I < N, such as 0/4, got {text:?}");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// Parses a seed range `A..B` (B excluded, as Rust ranges are), refusing empty ones.
///
/// ```
/// use consim::sweep::parse_seeds;
/// assert_eq!(parse_seeds("3..7"), Ok(3..7));
/// assert!(parse_seeds("7..3").is_err());
/// assert!(parse_seeds("5..5").is_err());
/// ```
pub fn parse_seeds(text: &str) -> Result<Range<u64>, String> {
    let (a, b) = text.split_once("..").ok_or_else(|| {
        format!("expected a seed range A..B (B excluded), such as 0..1000, got {text:?}")
    })?;
    let start: u64 = a
        .trim()
        .parse()
        .map_err(|_| format!("the range's start {a:?} is not a seed (a non-negative integer)"))?;
    let end: u64 = b
        .trim()
        .parse()
        .map_err(|_| format!("the range's end {b:?} is not a seed (a non-negative integer)"))?;
    if end < start {
        return Err(format!(
            "the seed range {text} is reversed: {end} is below {start}"
        ));
    }
    if end == start {
        return Err(format!(
            "the seed range {text} is empty (the end is excluded)"
        ));
    }
    Ok(start..end)
}

/// The seeds of `range` in `shard`.
pub fn shard_seeds(range: Range<u64>, shard: Option<Shard>) -> Vec<u64> {
    match shard {
        None => range.collect(),
        Some(s) => range
            .enumerate()
            .filter(|(i, _)| *i as u64 % s.count == s.index)
            .map(|(_, seed)| seed)
            .collect(),
    }
}

/// How a sweep ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepTotals {
    /// Runs reported.
    pub runs: u64,
    /// Runs that failed (a violated promise, or a panic).
    pub failures: u64,
    /// Runs with an undecided verdict and no failure.
    pub inconclusive: u64,
    /// Events simulated in all.
    pub events: u64,
    /// Simulated nanoseconds in all.
    pub simulated_ns: u128,
    /// The first failing seed, if any.
    pub first_failure: Option<u64>,
    /// How the workload operations of every run ended (so a sweep shows the model did
    /// some work).
    pub ops: OpCounts,
    /// For each measure the model's invariants take ([`models::Measure`]), in the
    /// order the model gives them, the run with its largest value (the first such seed
    /// in seed order) and that seed.
    pub largest: Vec<(u64, models::Measure)>,
}

impl SweepTotals {
    /// Keeps `report`'s measures that exceed the largest so far.
    fn keep_largest(&mut self, report: &RunReport) {
        for measure in &report.measures {
            match self
                .largest
                .iter_mut()
                .find(|(_, m)| m.name == measure.name)
            {
                Some(kept) if kept.1.value >= measure.value => {}
                Some(kept) => *kept = (report.seed, measure.clone()),
                None => self.largest.push((report.seed, measure.clone())),
            }
        }
    }
}

/// When a sweep stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// After every seed.
    AllSeeds,
    /// After the first failing seed (in seed order, whatever the threads did).
    FirstFailure,
}

/// Runs `base` with every seed of `seeds` on `jobs` threads, calling `report` with
/// each result in seed order, until `until` (the first failing seed is the first in
/// seed order, so the output is the same for every `jobs`).
pub fn sweep(
    base: &RunConfig,
    seeds: &[u64],
    jobs: usize,
    until: Until,
    report: impl FnMut(&RunReport),
) -> Result<SweepTotals, RunError> {
    // Configuration errors are the same for every seed: find them before starting.
    crate::run::validate(base)?;
    sweep_with(base, seeds, jobs, until, &run, report)
}

/// [`sweep`] with your own way to run one configuration: for a model outside the
/// catalog, a closure that calls [`crate::run::run_with`]. `run` gets `base` with
/// each seed in turn.
///
/// ```
/// use models::single_copy::SingleCopy;
/// use consim::config::RunConfig;
/// use consim::run::run_with;
/// use consim::sweep::{Until, sweep_with};
///
/// let info = models::find("single-copy").unwrap(); // or a ModelInfo of your own
/// let mut seeds = Vec::new();
/// let totals = sweep_with(
///     &RunConfig::new("single-copy", 0),
///     &[5, 6, 7],
///     2,
///     Until::AllSeeds,
///     &|config: &RunConfig| run_with(config, &SingleCopy, info),
///     |report| seeds.push(report.seed),
/// )?;
/// assert_eq!((totals.runs, totals.failures), (3, 0));
/// assert_eq!(seeds, [5, 6, 7]); // in seed order, whatever the threads did
/// # Ok::<(), consim::report::RunError>(())
/// ```
pub fn sweep_with(
    base: &RunConfig,
    seeds: &[u64],
    jobs: usize,
    until: Until,
    run: &(dyn Fn(&RunConfig) -> Result<RunReport, RunError> + Sync),
    mut report: impl FnMut(&RunReport),
) -> Result<SweepTotals, RunError> {
    let jobs = jobs.max(1);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, Result<RunReport, RunError>)>();
    let mut totals = SweepTotals::default();
    let mut error = None;
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else { break };
                    let mut config = base.clone();
                    config.seed = seed;
                    if tx.send((i, run(&config))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Emit in seed order.
        let mut waiting: BTreeMap<usize, Result<RunReport, RunError>> = BTreeMap::new();
        let mut emit = 0;
        for (i, result) in rx {
            waiting.insert(i, result);
            while let Some(result) = waiting.remove(&emit) {
                emit += 1;
                if stop.load(Ordering::Relaxed) {
                    continue;
                }
                match result {
                    Err(e) => {
                        error = Some(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                    Ok(r) => {
                        totals.runs += 1;
                        totals.ops.add(&r.ops);
                        totals.events += r.stats.events;
                        totals.simulated_ns += u128::from(r.simulated.as_nanos());
                        totals.keep_largest(&r);
                        if r.failed() {
                            totals.failures += 1;
                            totals.first_failure.get_or_insert(r.seed);
                        } else if r.inconclusive() {
                            totals.inconclusive += 1;
                        }
                        report(&r);
                        if r.failed() && until == Until::FirstFailure {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
    });
    match error {
        Some(e) => Err(e),
        None => Ok(totals),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_range() {
        let all: Vec<u64> = (10..30).collect();
        let mut joined: Vec<u64> = (0..3)
            .flat_map(|i| shard_seeds(10..30, Some(Shard { index: i, count: 3 })))
            .collect();
        joined.sort_unstable();
        assert_eq!(joined, all);
        assert_eq!(shard_seeds(10..13, None), vec![10, 11, 12]);
    }

    #[test]
    fn bad_ranges_and_shards_say_what_is_wrong() {
        assert!(parse_seeds("9..2").unwrap_err().contains("reversed"));
        assert!(parse_seeds("2..2").unwrap_err().contains("empty"));
        assert!(parse_seeds("a..2").unwrap_err().contains("not a seed"));
        assert!(parse_seeds("12").unwrap_err().contains("A..B"));
        assert!("0/0".parse::<Shard>().unwrap_err().contains("I/N"));
        assert!("x".parse::<Shard>().is_err());
    }
}
