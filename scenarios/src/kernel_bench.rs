//! The kernel's relay benchmark: 5 nodes, each delivery answered by one more message to
//! a random node, turmoil's latency model, no faults, trace off, hash on.
//!
//! The same function backs `consim bench kernel` and the criterion bench in `benches/`,
//! so both measure exactly the same work.

use models::relay::{Relay, RelayConfig};
use sim_core::{BuildError, LinkConfig, Sim, Time};

/// How many nodes the relay benchmark runs.
pub const RELAY_NODES: u32 = 5;

/// What one relay run did (the time it took is the caller's to measure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayRun {
    /// Messages delivered.
    pub deliveries: u64,
    /// Simulated time at the end.
    pub simulated: Time,
    /// The run's trace hash.
    pub trace_hash: u64,
}

/// Builds the relay simulation for `seed`.
pub fn relay_sim(seed: u64) -> Result<Sim<Relay>, BuildError> {
    let mut builder = Sim::<Relay>::builder(seed).links(LinkConfig::default());
    for _ in 0..RELAY_NODES {
        builder = builder.replica(RelayConfig { nodes: RELAY_NODES });
    }
    builder.build()
}

/// Runs the relay benchmark until `deliveries` messages have been delivered.
///
/// ```
/// let run = consim::kernel_bench::relay(1, 10_000)?;
/// assert_eq!(run.deliveries, 10_000);
/// assert_eq!(run, consim::kernel_bench::relay(1, 10_000)?);
/// # Ok::<(), sim_core::BuildError>(())
/// ```
pub fn relay(seed: u64, deliveries: u64) -> Result<RelayRun, BuildError> {
    let mut sim = relay_sim(seed)?;
    sim.run_deliveries(deliveries);
    Ok(RelayRun {
        deliveries: sim.stats().deliveries,
        simulated: sim.now(),
        trace_hash: sim.trace_hash(),
    })
}

/// What one run of the bare loop did ([`bare_relay`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BareRun {
    /// Messages delivered.
    pub deliveries: u64,
    /// Simulated time at the end, in nanoseconds.
    pub simulated_ns: u64,
    /// A hash of every delivery's time and endpoints.
    pub hash: u64,
}

/// The kernel's ceiling: the relay workload as a bare event loop, with nothing of the
/// kernel around it. A `BinaryHeap` of (arrival time, send number, sender, receiver),
/// a ChaCha8 stream per node for the random receiver and one per link for the latency
/// (the kernel's streams, draws and latency model, `LinkConfig::default()`, turmoil's:
/// a test checks both end at the same simulated time), and two words folded into a
/// hash per delivery as the kernel's trace hash does. No node dispatch, contexts, fault or partition checks, statistics or
/// trace kinds. [`relay`] over this, in one session, is how close the kernel comes to
/// the loop it is built around.
///
/// ```
/// let run = consim::kernel_bench::bare_relay(1, 10_000);
/// assert_eq!(run.deliveries, 10_000);
/// assert_eq!(run, consim::kernel_bench::bare_relay(1, 10_000));
/// ```
pub fn bare_relay(seed: u64, deliveries: u64) -> BareRun {
    use sim_core::{Purpose, SimRng};
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    use sim_core::NodeId;
    let latency = LinkConfig::default().latency;
    let nodes = (0..RELAY_NODES).map(NodeId);
    let mut picks: Vec<SimRng> = nodes
        .clone()
        .map(|id| SimRng::new(seed, Purpose::Process(id)))
        .collect();
    let mut links: Vec<SimRng> = nodes
        .clone()
        .flat_map(|source| nodes.clone().map(move |target| (source, target)))
        .map(|(source, target)| SimRng::new(seed, Purpose::Link { source, target }))
        .collect();
    let mut queue: BinaryHeap<Reverse<(u64, u64, u32, u32)>> = BinaryHeap::new();
    let mut sent = 0u64;
    let mut send = |queue: &mut BinaryHeap<_>, now: u64, from: u32| {
        let pick = picks[from as usize].below(u64::from(RELAY_NODES - 1)) as u32;
        let to = if pick >= from { pick + 1 } else { pick };
        let link = &mut links[(from * RELAY_NODES + to) as usize];
        let at = now + latency.sample(link).as_nanos();
        queue.push(Reverse((at, sent, from, to)));
        sent += 1;
    };
    for node in 0..RELAY_NODES {
        send(&mut queue, 0, node);
    }
    let (mut hash, mut now, mut delivered) = (seed, 0u64, 0u64);
    while delivered < deliveries {
        let Reverse((at, _, from, to)) = queue.pop().expect("a message is always in flight");
        now = at;
        for word in [at, u64::from(from) | (u64::from(to) << 32)] {
            hash = (hash.rotate_left(23) ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        delivered += 1;
        send(&mut queue, now, to);
    }
    BareRun {
        deliveries: delivered,
        simulated_ns: now,
        hash,
    }
}

#[cfg(test)]
mod tests {
    /// The bare loop does the kernel's work: the same messages, drawn from the same
    /// streams, so both end at the same simulated time after any number of deliveries.
    #[test]
    fn the_bare_loop_delivers_what_the_kernel_delivers() {
        for (seed, deliveries) in [(1, 1), (1, 10), (1, 1_000), (7, 100_000)] {
            let kernel = super::relay(seed, deliveries).expect("a valid relay");
            let bare = super::bare_relay(seed, deliveries);
            assert_eq!(
                (kernel.deliveries, kernel.simulated.as_nanos()),
                (bare.deliveries, bare.simulated_ns),
                "seed {seed}, {deliveries} deliveries"
            );
        }
    }
}
