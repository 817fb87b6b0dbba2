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
