//! # models: protocols written against sim-core
//!
//! Each model is a set of [`sim_core::Node`] implementations (replicas, and the
//! client-side logic that talks to them) and a line in the [`catalog`] saying what it
//! promises, so that the runner checks exactly those promises and reports the rest as
//! measurements rather than failures.
//!
//! **The design decision: models are plain state machines with no I/O.** Everything a
//! model does goes through [`sim_core::Ctx`], so the same code runs under every fault,
//! scheduler and seed, and the rustdoc of each model doubles as a walk-through of how
//! to write one's own.
//!
//! ## Where to start reading
//!
//! - [`single_copy`]: the smallest correct store, one server and timing-out clients;
//!   the template for a new model.
//! - [`kv`]: the requests every store serves and the outcomes clients report.
//! - [`relay`]: the kernel benchmark's workload (no keys, no clients).
//! - [`catalog`]: every model with its promises.

pub mod kv;
pub mod relay;
pub mod single_copy;

use serde::Serialize;

/// A guarantee a model may promise; checkers decide whether a history keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guarantee {
    /// Every history is linearizable.
    Linearizable,
    /// A session reads its own writes.
    ReadYourWrites,
    /// A session's reads never go back in time.
    MonotonicReads,
    /// A session's writes are seen in the order it made them.
    MonotonicWrites,
    /// A write is seen after the writes its session had read.
    WritesFollowReads,
    /// After healing and quiet, all replicas agree.
    Convergence,
    /// No acknowledged write is lost.
    NoLostWrites,
}

/// What the catalog says about one model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ModelInfo {
    /// The name accepted by `--model`.
    pub name: &'static str,
    /// One line on what it is.
    pub summary: &'static str,
    /// Whether it serves key-value clients (and so can be checked); `false` for
    /// kernel workloads such as `relay`.
    pub serves_clients: bool,
    /// What it promises.
    pub promises: &'static [Guarantee],
}

/// Every model, in the order `consim list` shows them.
///
/// ```
/// let names: Vec<&str> = models::catalog().iter().map(|m| m.name).collect();
/// assert!(names.contains(&"single-copy"));
/// ```
pub fn catalog() -> &'static [ModelInfo] {
    &[
        ModelInfo {
            name: "single-copy",
            summary: "one server holds every key, syncs before acknowledging; clients time out",
            serves_clients: true,
            promises: &[
                Guarantee::Linearizable,
                Guarantee::ReadYourWrites,
                Guarantee::MonotonicReads,
                Guarantee::MonotonicWrites,
                Guarantee::WritesFollowReads,
                Guarantee::NoLostWrites,
            ],
        },
        ModelInfo {
            name: "relay",
            summary: "every delivery is passed on to a random node: the kernel benchmark",
            serves_clients: false,
            promises: &[],
        },
    ]
}

/// The catalog entry for `name`, if there is one.
pub fn find(name: &str) -> Option<&'static ModelInfo> {
    catalog().iter().find(|m| m.name == name)
}
