//! # sim-core: the deterministic discrete-event kernel of consim
//!
//! One seed fixes a whole run: every message latency, loss and duplicate, every fault,
//! every clock reading and every random number a node draws. The kernel knows nothing
//! of keys, operations or histories; it runs [`Node`]s (replicas and clients) on a
//! simulated network and reports what they output.
//!
//! **The design decision that shapes it: a single-threaded event loop over a queue
//! ordered by `(time, sequence)`.** Nothing is concurrent, so nothing depends on the
//! OS's scheduling; ties are broken by insertion order, never by hashing or addresses;
//! every random choice comes from a ChaCha8 stream derived from the run seed and named
//! by its purpose ([`Purpose`]), so adding randomness in one place does not perturb
//! another. The price is one core per run, which sweeps win back by running many seeds
//! side by side.
//!
//! ## Where to start reading
//!
//! - [`node`](Node): the trait a protocol implements, and [`Ctx`], its handle on the world.
//! - [`Sim`] and [`SimBuilder`]: the event loop and how to set one up.
//! - [`network`](LinkConfig): links ([`Latency`], loss, duplication) and [`Partition`]s.
//! - [`Clock`]: per-node offset and drift; [`Fault`] and [`FaultPlan`]: faults as data.
//! - [`Capacity`]: work and queues, for nodes that should be able to be overloaded
//!   (off unless given).
//! - [`nemesis`]: fault plans generated from a seed (partitions, crashes, clock skew,
//!   swarm…), the runner's and the model tests' alike.
//! - [`SchedulerConfig`]: random, PCT-style priorities, or replay of a [`DecisionLog`].
//! - [`TraceEvent`]: the optional full trace; [`Sim::trace_hash`] is always on.
//! - [`Observed`]: messages handed to an observer as they are sent and delivered,
//!   for measurements that need the messages themselves.
//! - [`Time`], [`Duration`], [`NodeId`]: the newtypes everything is measured in.
//!
//! ## What a run guarantees
//!
//! - A message is delivered no earlier than its send time plus its link's minimum
//!   latency, and only if its link was not cut at any moment of its flight.
//! - A crashed node receives nothing and its timers never fire; on restart it sees
//!   only what it synced.
//! - A paused node loses nothing: what arrived during the pause is handled on resume,
//!   in arrival order.
//! - A node's clock is monotone unless a clock fault jumps it.
//! - The same seed and build give the same trace hash.

mod capacity;
mod clock;
pub mod explore;
mod fault;
mod id;
pub mod nemesis;
mod network;
mod node;
mod observe;
mod queue;
mod rng;
mod sched;
mod sim;
mod time;
mod trace;

pub use capacity::Capacity;
pub use clock::{Clock, MAX_DRIFT_PPM};
pub use fault::{Fault, FaultPlan, PlanError, TimedFault};
pub use id::{NodeId, TimerId};
pub use network::{Latency, LinkConfig, Partition};
pub use node::{Ctx, Idle, Node};
pub use observe::{Observation, Observed, Observer};
pub use rng::{InvalidProbability, Probability, Purpose, SimRng};
pub use sched::{Decision, DecisionLog, SchedulerConfig};
pub use sim::{BuildError, Emitted, Sim, SimBuilder, Stats};
pub use time::{Duration, Time};
pub use trace::{EventKind, TraceEvent};
