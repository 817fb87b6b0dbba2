//! Schedulers: who decides each message's fate (latency, loss, duplication).
//!
//! - [`SchedulerConfig::Random`] (default): every message draws its latency from its
//!   link's distribution and its loss and duplication from the link's probabilities.
//! - [`SchedulerConfig::Pct`]: a PCT-style priority scheduler (Burckhardt et al.,
//!   ASPLOS 2010), adapted to message passing after Ozkan et al. (OOPSLA 2018): each
//!   process's chain of sends gets a random distinct priority; the `depth − 1` priority
//!   change points, drawn among the first `expected_sends` sends, each drop the current
//!   sender below every other chain. Priorities become latencies inside the link's
//!   bounds: the highest chain sends at the link's minimum latency, the lowest at its
//!   maximum, so higher chains are delivered first among concurrent messages. Loss and
//!   duplication still follow the link.
//! - [`SchedulerConfig::Replay`]: decisions come from a recorded [`DecisionLog`], one per
//!   send, in order, whatever the random streams say. When the log runs out, the random
//!   scheduler takes over and [`Stats::replay_exhausted_at`](crate::Stats) records where.

use serde::{Deserialize, Serialize};

use crate::{Duration, LinkConfig, NodeId, SimRng};

/// What happens to one sent message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Lost on the way (never delivered).
    pub lost: bool,
    /// Latency of the delivery (unused if lost).
    pub delay: Duration,
    /// Latency of a second, duplicate delivery, if any.
    pub duplicate: Option<Duration>,
}

/// Every decision of a run, in send order: enough to replay its network exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionLog {
    /// One decision per send.
    pub decisions: Vec<Decision>,
}

/// Which scheduler a simulation uses.
///
/// ```
/// use sim_core::SchedulerConfig;
/// let pct = SchedulerConfig::Pct { depth: 3, expected_sends: 1_000 };
/// assert!(pct.validate().is_ok());
/// assert!(SchedulerConfig::Pct { depth: 0, expected_sends: 1 }.validate().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchedulerConfig {
    /// Latencies, loss and duplicates drawn from each link's config.
    #[default]
    Random,
    /// PCT-style priorities with `depth − 1` change points among the first
    /// `expected_sends` sends.
    Pct {
        /// Bug depth the scheduler targets (at least 1).
        depth: u32,
        /// Range in which change points are drawn (at least 1).
        expected_sends: u64,
    },
    /// Decisions replayed from a log.
    Replay(DecisionLog),
}

impl SchedulerConfig {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            SchedulerConfig::Pct {
                depth,
                expected_sends,
            } if *depth == 0 || *expected_sends == 0 => Err(format!(
                "PCT needs depth ≥ 1 and expected_sends ≥ 1, got depth {depth}, expected_sends {expected_sends}"
            )),
            _ => Ok(()),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Scheduler {
    Random,
    Pct(Pct),
    Replay { log: Vec<Decision>, next: usize },
}

#[derive(Clone, Debug)]
pub(crate) struct Pct {
    /// Priority per process; higher is delivered sooner.
    priority: Vec<u64>,
    /// Send indices (1-based) at which the sender is demoted, ascending.
    change_points: Vec<u64>,
    next_change: usize,
    sends: u64,
    top: u64,
}

impl Pct {
    fn new(processes: usize, depth: u32, expected_sends: u64, rng: &mut SimRng) -> Pct {
        let depth = u64::from(depth);
        // Initial priorities are depth..depth+n (distinct, shuffled); the i-th change
        // point demotes to depth-1-i, below every initial priority.
        let mut priority: Vec<u64> = (0..processes as u64).map(|i| depth + i).collect();
        rng.shuffle(&mut priority);
        let mut change_points: Vec<u64> = Vec::new();
        let wanted = (depth - 1).min(expected_sends);
        while (change_points.len() as u64) < wanted {
            let point = rng.between(1, expected_sends);
            if !change_points.contains(&point) {
                change_points.push(point);
            }
        }
        change_points.sort_unstable();
        let top = depth + processes as u64 - 1;
        Pct {
            priority,
            change_points,
            next_change: 0,
            sends: 0,
            top,
        }
    }

    fn delay(&mut self, source: NodeId, link: &LinkConfig) -> Duration {
        self.sends += 1;
        if self.change_points.get(self.next_change) == Some(&self.sends) {
            let demoted = (self.change_points.len() - 1 - self.next_change) as u64;
            self.priority[source.index()] = demoted;
            self.next_change += 1;
        }
        let rank = self.top - self.priority[source.index()];
        let (min, max) = (link.latency.min().as_nanos(), link.latency.max().as_nanos());
        let levels = self.top.max(1);
        let span = u128::from(max - min) * u128::from(rank) / u128::from(levels);
        Duration::from_nanos(min + span as u64)
    }
}

impl Scheduler {
    pub(crate) fn new(config: SchedulerConfig, processes: usize, rng: &mut SimRng) -> Scheduler {
        match config {
            SchedulerConfig::Random => Scheduler::Random,
            SchedulerConfig::Pct {
                depth,
                expected_sends,
            } => Scheduler::Pct(Pct::new(processes, depth, expected_sends, rng)),
            SchedulerConfig::Replay(log) => Scheduler::Replay {
                log: log.decisions,
                next: 0,
            },
        }
    }

    /// Decides the fate of one message; `exhausted` is set when a replay log ran out.
    #[inline]
    pub(crate) fn decide(
        &mut self,
        source: NodeId,
        link: &LinkConfig,
        rng: &mut SimRng,
        exhausted: &mut Option<u64>,
    ) -> Decision {
        match self {
            Scheduler::Random => random_decision(link, rng),
            Scheduler::Pct(pct) => {
                let lost = rng.chance(link.loss);
                let delay = pct.delay(source, link);
                let duplicate = rng.chance(link.duplicate).then(|| link.latency.sample(rng));
                Decision {
                    lost,
                    delay,
                    duplicate,
                }
            }
            Scheduler::Replay { log, next } => {
                if let Some(decision) = log.get(*next) {
                    *next += 1;
                    *decision
                } else {
                    exhausted.get_or_insert(*next as u64);
                    random_decision(link, rng)
                }
            }
        }
    }
}

#[inline]
fn random_decision(link: &LinkConfig, rng: &mut SimRng) -> Decision {
    let lost = rng.chance(link.loss);
    let delay = if lost {
        Duration::ZERO
    } else {
        link.latency.sample(rng)
    };
    let duplicate = if !lost && rng.chance(link.duplicate) {
        Some(link.latency.sample(rng))
    } else {
        None
    };
    Decision {
        lost,
        delay,
        duplicate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Latency, Purpose};

    fn link() -> LinkConfig {
        LinkConfig {
            latency: Latency::Uniform {
                min: Duration::from_millis(1),
                max: Duration::from_millis(11),
            },
            ..LinkConfig::default()
        }
    }

    #[test]
    fn pct_priorities_are_distinct_and_map_into_link_bounds() {
        let mut rng = SimRng::new(1, Purpose::Scheduler);
        let mut pct = Pct::new(4, 3, 100, &mut rng);
        let mut sorted = pct.priority.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 4);
        assert_eq!(pct.change_points.len(), 2);
        let mut delays = Vec::new();
        for n in 0..4 {
            let d = pct.delay(NodeId(n), &link());
            assert!(d >= Duration::from_millis(1) && d <= Duration::from_millis(11));
            delays.push(d);
        }
        delays.sort();
        delays.dedup();
        assert_eq!(
            delays.len(),
            4,
            "distinct priorities give distinct latencies"
        );
    }

    #[test]
    fn pct_change_point_demotes_the_sender_below_everyone() {
        let mut rng = SimRng::new(2, Purpose::Scheduler);
        let mut pct = Pct::new(3, 2, 1, &mut rng);
        assert_eq!(pct.change_points, vec![1]);
        let first = pct.delay(NodeId(0), &link());
        assert_eq!(
            first,
            Duration::from_millis(11),
            "demoted at send 1: slowest"
        );
        for n in 1..3 {
            assert!(pct.delay(NodeId(n), &link()) < first);
        }
    }

    #[test]
    fn replay_returns_the_log_then_falls_back() {
        let decision = Decision {
            lost: true,
            delay: Duration::ZERO,
            duplicate: None,
        };
        let log = DecisionLog {
            decisions: vec![decision],
        };
        let mut rng = SimRng::new(3, Purpose::Network);
        let mut sched = Scheduler::new(SchedulerConfig::Replay(log), 2, &mut rng);
        let mut exhausted = None;
        assert_eq!(
            sched.decide(NodeId(0), &link(), &mut rng, &mut exhausted),
            decision
        );
        assert_eq!(exhausted, None);
        let next = sched.decide(NodeId(0), &link(), &mut rng, &mut exhausted);
        assert!(!next.lost);
        assert_eq!(exhausted, Some(1));
    }
}
