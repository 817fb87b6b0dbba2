//! Workloads: what the clients ask for.
//!
//! A workload is an operation mix over a key space: `register` (reads and writes),
//! `kv` (reads, writes and cas) or `list-append` (reads and appends, Elle's traceable
//! workload). Keys are drawn uniformly or from a Zipf distribution (a few hot keys, as
//! real traffic has). Every write, cas and append writes a value never written before:
//! the checkers rely on it to tell which write a read saw.
//!
//! Operations reach the clients in one of two ways:
//!
//! - a **closed loop** (the default): each client has one operation in flight and gets
//!   the next when the last ends, after an optional think time, until the run's budget
//!   of operations is spent. A client that is stuck asks for nothing more, so a
//!   cut-off client is barely sampled while the others use up the budget.
//! - an **open loop** (`rate`): operations arrive at each client as a Poisson process
//!   of `rate` per second for the whole fault window, whatever happens to them, and
//!   queue at their client, which still has at most one in flight (as a history
//!   requires of a process). A cut-off client's demand goes on arriving, and is counted.
//!
//! After the faults heal and the system is quiet, every client reads every key: the
//! final reads that convergence is judged from.

use std::collections::VecDeque;

use models::kv::{Key, Op, Request, Value};
use serde::Serialize;
use sim_core::{Duration, Purpose, SimRng, Time};

/// Operations per second per client, for an open-loop workload: a positive, finite
/// number up to [`Rate::MAX`].
///
/// ```
/// use consim::workload::Rate;
/// assert_eq!("12.5".parse::<Rate>()?.per_second(), 12.5);
/// assert!("0".parse::<Rate>().is_err());
/// assert!("-3".parse::<Rate>().is_err());
/// assert!("1e9".parse::<Rate>().is_err());
/// assert!("NaN".parse::<Rate>().is_err());
/// # Ok::<(), String>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize)]
pub struct Rate(f64);

impl Rate {
    /// The highest rate: a thousand operations per second per client, far more than a
    /// client with one operation in flight at simulated latencies can serve.
    pub const MAX: f64 = 1_000.0;

    /// `per_second`, if it is a rate.
    pub fn new(per_second: f64) -> Result<Rate, String> {
        if per_second.is_finite() && per_second > 0.0 && per_second <= Rate::MAX {
            Ok(Rate(per_second))
        } else {
            Err(format!(
                "a rate is a number of operations per second per client above 0 and at most {}, not {per_second}",
                Rate::MAX
            ))
        }
    }

    /// Operations per second per client.
    pub fn per_second(self) -> f64 {
        self.0
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Rate, String> {
        let value: f64 = text.trim().parse().map_err(|_| {
            format!("expected operations per second per client, such as 20 or 2.5, got {text:?}")
        })?;
        Rate::new(value)
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The random stream of client `client`'s arrivals ([`Purpose::Custom`]): one per
/// client, so that a client's arrivals do not depend on how many others there are.
fn arrivals_stream(client: usize) -> Purpose {
    Purpose::Custom(0x4152_0000 + client as u32)
}

/// How the arrival rate changes over a run: the times at which a surge
/// ([`sim_core::Fault::Surge`]) sets a new multiplier, in time order. Empty: the
/// rate never changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Surges(Vec<(Time, f64)>);

impl Surges {
    /// The surges of `plan`.
    pub fn of(plan: &sim_core::FaultPlan) -> Surges {
        let mut steps: Vec<(Time, f64)> = plan
            .faults
            .iter()
            .filter_map(|f| match f.fault {
                sim_core::Fault::Surge { factor } => Some((f.at, factor)),
                _ => None,
            })
            .collect();
        steps.sort_by_key(|(at, _)| *at);
        Surges(steps)
    }

    /// `t` (in nanoseconds) advanced by `base` nanoseconds of the usual rate's time:
    /// at a multiplier `f`, each real nanosecond counts `f`. Without surges, `t +
    /// base`.
    fn advance(&self, mut t: f64, mut base: f64) -> f64 {
        let mut factor = 1.0;
        for &(at, next) in &self.0 {
            let at = at.as_nanos() as f64;
            if at > t {
                let room = (at - t) * factor;
                if base <= room {
                    break;
                }
                base -= room;
                t = at;
            }
            factor = next;
        }
        t + base / factor
    }
}

/// The arrival times of an open-loop workload: for each of `clients` clients, a
/// Poisson process of `rate` per second (times any surge in force, see [`Surges`])
/// over `0..window`; then only the first `cap` arrivals of all (in time order, ties by
/// client) are kept.
///
/// ```
/// use consim::workload::{Rate, Surges, arrivals};
/// use sim_core::{Duration, Fault, FaultPlan, Time};
/// let (rate, ten_s) = (Rate::new(50.0)?, Duration::from_secs(10));
/// let a = arrivals(7, rate, 4, ten_s, u64::MAX, &Surges::default());
/// let total: usize = a.iter().map(|q| q.len()).sum();
/// assert!((1_800..2_200).contains(&total), "{total}"); // about 50 × 4 × 10
/// let capped = arrivals(7, rate, 4, ten_s, 100, &Surges::default());
/// assert_eq!(capped.iter().map(|q| q.len()).sum::<usize>(), 100);
/// // Three times the rate from 2 s to 7 s: about 50 × 4 × (5 + 3 × 5).
/// let mut plan = FaultPlan::default();
/// plan.push(Time::ZERO + Duration::from_secs(2), Fault::Surge { factor: 3.0 });
/// plan.push(Time::ZERO + Duration::from_secs(7), Fault::Surge { factor: 1.0 });
/// let surged = arrivals(7, rate, 4, ten_s, u64::MAX, &Surges::of(&plan));
/// let total: usize = surged.iter().map(|q| q.len()).sum();
/// assert!((3_700..4_300).contains(&total), "{total}");
/// # Ok::<(), String>(())
/// ```
pub fn arrivals(
    seed: u64,
    rate: Rate,
    clients: usize,
    window: Duration,
    cap: u64,
    surges: &Surges,
) -> Vec<VecDeque<Time>> {
    let end = Time::ZERO + window;
    let mean_gap_ns = 1e9 / rate.per_second();
    let mut all: Vec<(Time, usize)> = Vec::new();
    for client in 0..clients {
        let mut rng = SimRng::new(seed, arrivals_stream(client));
        let mut t = 0.0;
        loop {
            t = surges.advance(t, rng.exp1() * mean_gap_ns);
            let at = Time::from_nanos(t as u64);
            if at >= end {
                break;
            }
            all.push((at, client));
        }
    }
    all.sort_unstable();
    all.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
    let mut queues = vec![VecDeque::new(); clients];
    for (at, client) in all {
        queues[client].push_back(at);
    }
    queues
}

/// The operation mix (see [`models::kv::Mix`]).
pub use models::kv::Mix;

/// How keys are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyChoice {
    /// Every key equally often.
    Uniform,
    /// Key `k` (from 0) with weight `1 / (k+1)^s`.
    Zipf {
        /// The exponent (1.0 is classic Zipf).
        s: f64,
    },
}

/// A workload's settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct WorkloadConfig {
    /// The operation mix.
    pub mix: Mix,
    /// Operations in all, across clients (the final reads not counted): the closed
    /// loop's budget; with a `rate`, a cap on the arrivals (`u64::MAX`: none).
    pub ops: u64,
    /// Keys are `0..keys`.
    pub keys: u64,
    /// How keys are chosen.
    pub key_choice: KeyChoice,
    /// Out of 100: reads.
    pub read_percent: u8,
    /// Out of 100: cas (the `kv` mix only; the rest are writes).
    pub cas_percent: u8,
    /// The longest pause a client takes between operations (uniform in 0..=this; zero
    /// is a tight closed loop). Not used with a `rate`.
    pub think: Duration,
    /// Open loop: operations arrive at each client at this rate (`None`: a closed
    /// loop).
    pub rate: Option<Rate>,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            mix: Mix::Kv,
            ops: 200,
            keys: 4,
            key_choice: KeyChoice::Uniform,
            read_percent: 50,
            cas_percent: 10,
            think: Duration::ZERO,
            rate: None,
        }
    }
}

/// Why a workload's settings make no sense.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadError {
    /// No keys.
    #[error("a workload needs at least one key")]
    NoKeys,
    /// Percentages over 100.
    #[error("read {read}% + cas {cas}% is over 100%")]
    Percent {
        /// Reads.
        read: u8,
        /// Cas.
        cas: u8,
    },
    /// A Zipf exponent that is not a positive finite number.
    #[error("the zipf exponent must be positive and finite, not {0}")]
    Zipf(String),
}

impl WorkloadConfig {
    /// Refuses settings that make no sense.
    pub fn validate(&self) -> Result<(), WorkloadError> {
        if self.keys == 0 {
            return Err(WorkloadError::NoKeys);
        }
        if u16::from(self.read_percent) + u16::from(self.cas_percent) > 100 {
            return Err(WorkloadError::Percent {
                read: self.read_percent,
                cas: self.cas_percent,
            });
        }
        if let KeyChoice::Zipf { s } = self.key_choice
            && !(s.is_finite() && s > 0.0)
        {
            return Err(WorkloadError::Zipf(s.to_string()));
        }
        Ok(())
    }
}

/// Hands out operations, drawn from the run seed's workload stream.
#[derive(Debug)]
pub struct Workload {
    config: WorkloadConfig,
    rng: SimRng,
    issued: u64,
    next_value: Value,
    /// For Zipf: the cumulative weights of keys `0..keys`.
    cdf: Vec<f64>,
}

impl Workload {
    /// The workload of run `seed`.
    ///
    /// ```
    /// use consim::workload::{Workload, WorkloadConfig};
    /// let config = WorkloadConfig { ops: 3, ..WorkloadConfig::default() };
    /// let mut w = Workload::new(1, config)?;
    /// let ops: Vec<_> = std::iter::from_fn(|| w.next_op()).collect();
    /// assert_eq!(ops.len(), 3);
    /// assert_eq!(ops.iter().map(|o| o.id).collect::<Vec<_>>(), vec![0, 1, 2]);
    /// # Ok::<(), consim::workload::WorkloadError>(())
    /// ```
    pub fn new(seed: u64, config: WorkloadConfig) -> Result<Workload, WorkloadError> {
        config.validate()?;
        let cdf = match config.key_choice {
            KeyChoice::Uniform => Vec::new(),
            KeyChoice::Zipf { s } => {
                let mut total = 0.0;
                (0..config.keys)
                    .map(|k| {
                        total += 1.0 / libm::pow(k as f64 + 1.0, s);
                        total
                    })
                    .collect()
            }
        };
        Ok(Workload {
            config,
            rng: SimRng::new(seed, Purpose::Workload),
            issued: 0,
            next_value: 1,
            cdf,
        })
    }

    fn key(&mut self) -> Key {
        match self.config.key_choice {
            KeyChoice::Uniform => self.rng.below(self.config.keys),
            KeyChoice::Zipf { .. } => {
                let total = *self.cdf.last().expect("at least one key");
                let x = self.rng.unit_f64() * total;
                self.cdf.partition_point(|&c| c <= x) as Key
            }
        }
    }

    /// The next operation, or `None` when the budget is spent.
    pub fn next_op(&mut self) -> Option<Op> {
        if self.issued >= self.config.ops {
            return None;
        }
        let id = self.issued;
        self.issued += 1;
        let key = self.key();
        let roll = self.rng.below(100) as u8;
        let request = if roll < self.config.read_percent {
            Request::Read { key }
        } else {
            match self.config.mix {
                Mix::ListAppend => Request::Append {
                    key,
                    value: self.fresh_value(),
                },
                Mix::Kv if roll < self.config.read_percent + self.config.cas_percent => {
                    // Compare against a value some earlier write may have put there.
                    let from = self.rng.between(1, self.next_value.max(1));
                    Request::Cas {
                        key,
                        from,
                        to: self.fresh_value(),
                    }
                }
                Mix::Kv | Mix::Register => Request::Write {
                    key,
                    value: self.fresh_value(),
                },
            }
        };
        Some(Op {
            id,
            request,
            queued: Duration::ZERO,
        })
    }

    /// A pause before a client's next operation.
    pub fn think(&mut self) -> Duration {
        match self.config.think.as_nanos() {
            0 => Duration::ZERO,
            max => Duration::from_nanos(self.rng.below(max + 1)),
        }
    }

    fn fresh_value(&mut self) -> Value {
        let value = self.next_value;
        self.next_value += 1;
        value
    }

    /// How many operations have been handed out.
    pub fn issued(&self) -> u64 {
        self.issued
    }

    /// The settings.
    pub fn config(&self) -> &WorkloadConfig {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(seed: u64, config: WorkloadConfig) -> Vec<Op> {
        let mut w = Workload::new(seed, config).unwrap();
        std::iter::from_fn(move || w.next_op()).collect()
    }

    #[test]
    fn written_values_are_unique_in_every_mix() {
        for mix in Mix::ALL {
            let config = WorkloadConfig {
                mix,
                ops: 1_000,
                ..WorkloadConfig::default()
            };
            let mut seen = std::collections::BTreeSet::new();
            for op in all(3, config) {
                if let Some(v) = op.request.written() {
                    assert!(seen.insert(v), "{mix:?}: value {v} written twice");
                }
            }
            assert!(
                seen.len() > 300,
                "{mix:?}: the mix writes about half the time"
            );
        }
    }

    #[test]
    fn list_append_appends_and_register_never_cas() {
        let ops = all(
            4,
            WorkloadConfig {
                mix: Mix::ListAppend,
                ..WorkloadConfig::default()
            },
        );
        assert!(
            ops.iter()
                .all(|o| matches!(o.request, Request::Append { .. } | Request::Read { .. }))
        );
        let ops = all(
            4,
            WorkloadConfig {
                mix: Mix::Register,
                ..WorkloadConfig::default()
            },
        );
        assert!(
            ops.iter()
                .all(|o| matches!(o.request, Request::Write { .. } | Request::Read { .. }))
        );
    }

    #[test]
    fn zipf_prefers_low_keys() {
        let config = WorkloadConfig {
            ops: 10_000,
            keys: 10,
            key_choice: KeyChoice::Zipf { s: 1.0 },
            ..WorkloadConfig::default()
        };
        let mut counts = [0u32; 10];
        for op in all(5, config) {
            counts[op.request.key() as usize] += 1;
        }
        // Key 0 has weight 1 of H(10) ≈ 2.93: about 34%; key 9 about 3.4%.
        assert!((3_000..3_900).contains(&counts[0]), "{counts:?}");
        assert!((200..500).contains(&counts[9]), "{counts:?}");
        assert!(
            counts.windows(2).filter(|w| w[0] < w[1]).count() <= 2,
            "{counts:?}"
        );
    }

    #[test]
    fn same_seed_same_operations() {
        assert_eq!(
            all(5, WorkloadConfig::default()),
            all(5, WorkloadConfig::default())
        );
        assert_ne!(
            all(5, WorkloadConfig::default()),
            all(6, WorkloadConfig::default())
        );
    }

    #[test]
    fn nonsense_settings_are_errors() {
        let bad = |c: WorkloadConfig| Workload::new(1, c).unwrap_err().to_string();
        assert!(
            bad(WorkloadConfig {
                keys: 0,
                ..WorkloadConfig::default()
            })
            .contains("at least one key")
        );
        assert!(
            bad(WorkloadConfig {
                read_percent: 90,
                cas_percent: 20,
                ..WorkloadConfig::default()
            })
            .contains("over 100%")
        );
        assert!(
            bad(WorkloadConfig {
                key_choice: KeyChoice::Zipf { s: -1.0 },
                ..WorkloadConfig::default()
            })
            .contains("zipf")
        );
    }
}
