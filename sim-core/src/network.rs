//! The simulated network: per-link latency, loss and duplication, and partitions.
//!
//! Every ordered pair of processes is a directed link with a [`LinkConfig`]. Reordering
//! needs no switch of its own: each message draws its own latency, so two messages on
//! one link overtake each other whenever the distribution has spread (jitter).
//!
//! A [`Partition`] is a set of cut directed links. A message is delivered only if its
//! link was not cut at any moment between its send and its delivery; partitions can
//! overlap, and a link heals when every partition that cut it has healed.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{Duration, NodeId, Probability, SimRng, Time};

/// A latency distribution. Every variant is bounded: [`Latency::min`] and
/// [`Latency::max`] are hard limits that no sample crosses.
///
/// ```
/// use sim_core::{Duration, Latency, Purpose, SimRng};
/// let latency = Latency::Exponential {
///     min: Duration::ZERO,
///     mean: Duration::from_millis(20),
///     max: Duration::from_millis(100),
/// };
/// let mut rng = SimRng::new(1, Purpose::Network);
/// let d = latency.sample(&mut rng);
/// assert!(d <= Duration::from_millis(100));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Latency {
    /// Always the same.
    Constant {
        /// The latency.
        value: Duration,
    },
    /// Uniform in `min..=max`.
    Uniform {
        /// Smallest latency.
        min: Duration,
        /// Largest latency.
        max: Duration,
    },
    /// `min + floor(mean × Exp(1))`, capped at `max`. turmoil's default model is
    /// `min: 0, mean: 20ms, max: 100ms` (`min(100ms × Exp(λ=5), 100ms)`).
    Exponential {
        /// Added to every sample.
        min: Duration,
        /// Mean of the exponential part.
        mean: Duration,
        /// Cap on the whole latency.
        max: Duration,
    },
    /// `min + median × e^(sigma × N(0,1))`, capped at `max`: a heavy right tail.
    LogNormal {
        /// Added to every sample.
        min: Duration,
        /// Median of the log-normal part.
        median: Duration,
        /// Shape: the standard deviation of the underlying normal.
        sigma: f64,
        /// Cap on the whole latency.
        max: Duration,
    },
}

impl Latency {
    /// Latency `value`, always.
    pub const fn constant(value: Duration) -> Latency {
        Latency::Constant { value }
    }

    /// The smallest latency this distribution can produce.
    pub fn min(&self) -> Duration {
        match *self {
            Latency::Constant { value } => value,
            Latency::Uniform { min, .. }
            | Latency::Exponential { min, .. }
            | Latency::LogNormal { min, .. } => min,
        }
    }

    /// The largest latency this distribution can produce.
    pub fn max(&self) -> Duration {
        match *self {
            Latency::Constant { value } => value,
            Latency::Uniform { max, .. }
            | Latency::Exponential { max, .. }
            | Latency::LogNormal { max, .. } => max,
        }
    }

    /// Checks that the bounds are ordered and the shape is finite.
    pub fn validate(&self) -> Result<(), String> {
        if self.min() > self.max() {
            return Err(format!(
                "latency min {} is above its max {}",
                self.min(),
                self.max()
            ));
        }
        if let Latency::LogNormal { sigma, .. } = *self {
            if !(sigma.is_finite() && sigma >= 0.0) {
                return Err(format!(
                    "log-normal sigma must be finite and non-negative, got {sigma}"
                ));
            }
        }
        Ok(())
    }

    /// Draws one latency.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> Duration {
        match *self {
            Latency::Constant { value } => value,
            Latency::Uniform { min, max } => {
                Duration::from_nanos(rng.between(min.as_nanos(), max.as_nanos()))
            }
            Latency::Exponential { min, mean, max } => {
                let extra = (mean.as_nanos() as f64 * rng.exp1()) as u64;
                Duration::from_nanos(min.as_nanos().saturating_add(extra).min(max.as_nanos()))
            }
            Latency::LogNormal {
                min,
                median,
                sigma,
                max,
            } => {
                let factor = libm::exp(sigma * rng.std_normal());
                let extra = (median.as_nanos() as f64 * factor) as u64;
                Duration::from_nanos(min.as_nanos().saturating_add(extra).min(max.as_nanos()))
            }
        }
    }
}

/// How one directed link behaves.
///
/// ```
/// use sim_core::{Duration, Latency, LinkConfig, Probability};
/// let lossy = LinkConfig {
///     loss: Probability::new(0.1)?,
///     ..LinkConfig::default()
/// };
/// assert_eq!(lossy.latency, LinkConfig::default().latency);
/// # Ok::<(), sim_core::InvalidProbability>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkConfig {
    /// How long a message takes.
    pub latency: Latency,
    /// Chance that a message is lost.
    pub loss: Probability,
    /// Chance that a delivered message is delivered a second time (with its own latency).
    pub duplicate: Probability,
}

impl Default for LinkConfig {
    /// turmoil's default latency (`min(100ms × Exp(λ=5), 100ms)`), no loss, no duplicates.
    fn default() -> LinkConfig {
        LinkConfig {
            latency: Latency::Exponential {
                min: Duration::ZERO,
                mean: Duration::from_millis(20),
                max: Duration::from_millis(100),
            },
            loss: Probability::ZERO,
            duplicate: Probability::ZERO,
        }
    }
}

/// A set of cut directed links, built with the named constructors.
///
/// ```
/// use sim_core::{NodeId, Partition};
/// let nodes: Vec<NodeId> = (0..5).map(NodeId).collect();
/// let p = Partition::halves(&nodes[..2], &nodes[2..]);
/// assert!(p.cuts(NodeId(0), NodeId(3)));
/// assert!(p.cuts(NodeId(3), NodeId(0)));
/// assert!(!p.cuts(NodeId(0), NodeId(1)));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// The cut links, as `(source, target)` pairs.
    pub cut: BTreeSet<(NodeId, NodeId)>,
}

impl Partition {
    /// No cut links.
    pub fn none() -> Partition {
        Partition::default()
    }

    /// Cuts every link from `sources` to `targets` (one direction only).
    pub fn one_way(sources: &[NodeId], targets: &[NodeId]) -> Partition {
        let mut cut = BTreeSet::new();
        for &s in sources {
            for &t in targets {
                if s != t {
                    cut.insert((s, t));
                }
            }
        }
        Partition { cut }
    }

    /// Cuts every link between `a` and `b`, both ways: two halves that cannot talk.
    pub fn halves(a: &[NodeId], b: &[NodeId]) -> Partition {
        Partition::one_way(a, b).union(&Partition::one_way(b, a))
    }

    /// Cuts `node` off from every other node of `all`, both ways.
    pub fn isolate(node: NodeId, all: &[NodeId]) -> Partition {
        let rest: Vec<NodeId> = all.iter().copied().filter(|&n| n != node).collect();
        Partition::halves(&[node], &rest)
    }

    /// Two halves `a` and `b` that cannot talk to each other, except through `bridge`,
    /// which talks to both (Jepsen's "bridge" nemesis). `bridge` must be in neither half.
    pub fn bridge(a: &[NodeId], bridge: NodeId, b: &[NodeId]) -> Partition {
        assert!(
            !a.contains(&bridge) && !b.contains(&bridge),
            "bridge {bridge} must not be in either half"
        );
        Partition::halves(a, b)
    }

    /// Every link cut by `self` or by `other`.
    pub fn union(&self, other: &Partition) -> Partition {
        Partition {
            cut: self.cut.union(&other.cut).copied().collect(),
        }
    }

    /// Whether the link `source → target` is cut.
    pub fn cuts(&self, source: NodeId, target: NodeId) -> bool {
        self.cut.contains(&(source, target))
    }

    /// Whether no link is cut.
    pub fn is_empty(&self) -> bool {
        self.cut.is_empty()
    }
}

/// The network's live state: link configs and cuts, in flat `n × n` tables so that the
/// per-message checks are one index each.
#[derive(Clone, Debug)]
pub(crate) struct Network {
    n: usize,
    links: Vec<LinkConfig>,
    /// How many active partitions cut each link.
    cut_count: Vec<u16>,
    /// The last time each link became cut (`None`: never).
    last_cut: Vec<Option<Time>>,
    /// The run seed, for the links' random streams.
    seed: u64,
    /// Each link's random stream ([`crate::Purpose::Link`]), made when the link first
    /// carries a message.
    rngs: Vec<Option<Box<SimRng>>>,
}

impl Network {
    pub(crate) fn new(n: usize, default: LinkConfig, seed: u64) -> Network {
        Network {
            n,
            links: vec![default; n * n],
            cut_count: vec![0; n * n],
            last_cut: vec![None; n * n],
            seed,
            rngs: vec![None; n * n],
        }
    }

    #[inline]
    fn slot(&self, source: NodeId, target: NodeId) -> usize {
        source.index() * self.n + target.index()
    }

    /// A link's config, and the link's random stream to decide with.
    #[inline]
    pub(crate) fn link_and_rng(
        &mut self,
        source: NodeId,
        target: NodeId,
    ) -> (&LinkConfig, &mut SimRng) {
        let slot = self.slot(source, target);
        let seed = self.seed;
        let rng = self.rngs[slot].get_or_insert_with(|| {
            Box::new(SimRng::new(seed, crate::Purpose::Link { source, target }))
        });
        (&self.links[slot], rng)
    }

    pub(crate) fn set_link(&mut self, source: NodeId, target: NodeId, config: LinkConfig) {
        let slot = self.slot(source, target);
        self.links[slot] = config;
    }

    pub(crate) fn set_all_links(&mut self, config: LinkConfig) {
        self.links.fill(config);
    }

    pub(crate) fn is_cut(&self, source: NodeId, target: NodeId) -> bool {
        self.cut_count[self.slot(source, target)] > 0
    }

    /// Whether a message sent at `sent` may be delivered now: its link is not cut and
    /// was not cut at any moment since `sent`.
    #[inline]
    pub(crate) fn passes(&self, source: NodeId, target: NodeId, sent: Time) -> bool {
        let slot = self.slot(source, target);
        self.cut_count[slot] == 0 && self.last_cut[slot].is_none_or(|cut_at| cut_at < sent)
    }

    pub(crate) fn apply_cut(&mut self, partition: &Partition, now: Time) {
        for &(s, t) in &partition.cut {
            let slot = self.slot(s, t);
            self.cut_count[slot] += 1;
            self.last_cut[slot] = Some(now);
        }
    }

    pub(crate) fn heal(&mut self, partition: &Partition) {
        for &(s, t) in &partition.cut {
            let slot = self.slot(s, t);
            self.cut_count[slot] = self.cut_count[slot].saturating_sub(1);
        }
    }

    pub(crate) fn heal_all(&mut self) {
        self.cut_count.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Purpose;
    use proptest::prelude::*;

    fn ids(n: u32) -> Vec<NodeId> {
        (0..n).map(NodeId).collect()
    }

    #[test]
    fn isolate_cuts_both_directions_and_nothing_else() {
        let all = ids(4);
        let p = Partition::isolate(NodeId(2), &all);
        for &a in &all {
            for &b in &all {
                let expected = a != b && (a == NodeId(2) || b == NodeId(2));
                assert_eq!(p.cuts(a, b), expected, "{a} -> {b}");
            }
        }
    }

    #[test]
    fn bridge_talks_to_both_halves() {
        let all = ids(5);
        let p = Partition::bridge(&all[..2], NodeId(2), &all[3..]);
        assert!(!p.cuts(NodeId(0), NodeId(2)));
        assert!(!p.cuts(NodeId(2), NodeId(4)));
        assert!(p.cuts(NodeId(0), NodeId(4)));
        assert!(p.cuts(NodeId(4), NodeId(1)));
    }

    #[test]
    fn one_way_cuts_one_direction() {
        let p = Partition::one_way(&[NodeId(0)], &[NodeId(1)]);
        assert!(p.cuts(NodeId(0), NodeId(1)));
        assert!(!p.cuts(NodeId(1), NodeId(0)));
    }

    #[test]
    fn overlapping_partitions_heal_separately() {
        let all = ids(3);
        let mut net = Network::new(3, LinkConfig::default(), 0);
        let a = Partition::isolate(NodeId(0), &all);
        let b = Partition::halves(&all[..1], &all[1..2]);
        net.apply_cut(&a, Time::from_nanos(10));
        net.apply_cut(&b, Time::from_nanos(20));
        net.heal(&a);
        assert!(net.is_cut(NodeId(0), NodeId(1)), "b still cuts 0-1");
        assert!(!net.is_cut(NodeId(0), NodeId(2)), "only a cut 0-2");
        net.heal(&b);
        assert!(!net.is_cut(NodeId(0), NodeId(1)));
        // A message sent before the cut started must not be delivered after it healed.
        assert!(!net.passes(NodeId(0), NodeId(1), Time::from_nanos(15)));
        assert!(net.passes(NodeId(0), NodeId(1), Time::from_nanos(21)));
    }

    fn latency() -> impl Strategy<Value = Latency> {
        let d = (0u64..10_000_000).prop_map(Duration::from_nanos);
        prop_oneof![
            d.clone().prop_map(Latency::constant),
            (d.clone(), d.clone()).prop_map(|(a, b)| Latency::Uniform {
                min: a.min(b),
                max: a.max(b)
            }),
            (d.clone(), d.clone(), d.clone()).prop_map(|(a, m, b)| Latency::Exponential {
                min: a.min(b),
                mean: m,
                max: a.max(b)
            }),
            (d.clone(), d.clone(), 0.0..3.0f64, d).prop_map(|(a, m, s, b)| Latency::LogNormal {
                min: a.min(b),
                median: m,
                sigma: s,
                max: a.max(b)
            }),
        ]
    }

    proptest! {
        #[test]
        fn samples_stay_within_bounds(latency in latency(), seed: u64) {
            let mut rng = SimRng::new(seed, Purpose::Network);
            for _ in 0..64 {
                let d = latency.sample(&mut rng);
                prop_assert!(d >= latency.min() && d <= latency.max(), "{d} outside {latency:?}");
            }
        }
    }

    #[test]
    fn exponential_mean_is_close() {
        let latency = LinkConfig::default().latency;
        let mut rng = SimRng::new(5, Purpose::Network);
        let n = 100_000u64;
        let total: u64 = (0..n).map(|_| latency.sample(&mut rng).as_nanos()).sum();
        let mean_ms = total as f64 / n as f64 / 1e6;
        // Exp(mean 20ms) capped at 100ms has mean 20 × (1 − e^−5) ≈ 19.87ms.
        assert!((19.5..20.2).contains(&mean_ms), "mean {mean_ms}ms");
    }
}
