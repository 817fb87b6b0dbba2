//! # consim: what a user runs
//!
//! This crate (the package `consim`, in the folder `scenarios/`) joins the kernel
//! (`sim-core`), the protocols (`models`) and the checkers into runs: a workload
//! drives a model's clients, a fault plan breaks things, and the runner reports what
//! happened. It is the crate a user depends on, and the home of the `consim` binary.
//!
//! ## Your own model
//!
//! Write the replicas as [`prelude::Node`]s, say how the runner builds them
//! ([`prelude::Model`]) and declare the model ([`prelude::Declaration`]); then one line
//! gives your program the whole `consim` command line for it — `run`, `sweep`,
//! `shrink`, `matrix`, `list`, with `--json`, `--viz`, `--shard`, the artifacts under
//! `consim-out/` and the replay lines:
//!
//! ```no_run
//! # use models::single_copy::SINGLE_COPY as MY_MODEL;
//! fn main() -> std::process::ExitCode {
//!     consim::main(MY_MODEL)
//! }
//! ```
//!
//! [`harness::Harness`] does the same from code (tests, your own tools), and
//! [`prelude`] holds the names a model needs. The book's *Writing a model* chapter
//! walks through `examples/primary_backup.rs`, a whole model in one file.
//!
//! **What fails a run**: a guarantee the model promises (or a bug variant breaks)
//! violated, a broken invariant, or a panic. Everything else a run judges is measured.
//! `--require GUARANTEES` on `run`, `sweep` and `shrink` (and
//! [`config::RunConfig::required`]) adds to what fails a run beyond the model's
//! promises, so that a sweep can hunt, and `shrink` shrink, a violation of something the
//! model never claimed (a lost write in a store that promises only convergence).
//!
//! **The design decision: a run is a pure function of its configuration and seed.**
//! Everything here that decides anything draws from a purpose-named stream of the run
//! seed, so a run can be repeated, replayed from its fault plan, and compared across
//! builds by its trace hash.
//!
//! ## Where to start reading
//!
//! - [`config`]: what to run ([`config::RunConfig`]).
//! - [`run`]: model + workload + nemesis + seed → history, verdicts, availability and
//!   latency (a [`report::RunReport`]); the driver that walks a run through its phases
//!   is private to it.
//! - [`judge`]: a history's verdicts, one function per guarantee.
//! - [`report`]: what a run did.
//! - [`availability`]: the four measures of availability, each defined once.
//! - [`workload`]: the key-value workloads that drive clients, in a closed or an open
//!   loop.
//! - [`nemesis`]: fault plans generated from the seed, swarm included.
//! - [`sweep`]: seeds across cores, in seed order, sharded for CI.
//! - [`shrink`]: the fewest faults and operations that still fail a run.
//! - [`matrix`]: the CAP table.
//! - [`contention`]: Brooker's contention experiment, retry policy by retry policy.
//! - [`load`]: offered load, goodput, amplification, queues, and recovery from an
//!   overload trigger, each defined once.
//! - [`interval`]: the 95% intervals of its shares, with the run as the unit.
//! - [`strategies`]: proptest strategies for whole scenarios.
//! - [`artifacts`]: what a failing run leaves behind.
//! - [`picture`]: a run as one HTML page: its messages, faults and history on one time
//!   axis.
//! - [`kernel_bench`]: the relay benchmark behind `consim bench kernel`.
//! - [`exit`]: the exit codes every command ends with.
//! - [`harness`]: all of the above for a catalog's models, from one value.
//! - [`shown`]: pages that show what a program prints, checked against it.
//! - [`cli`]: the `consim` command line, for any catalog; `src/bin/consim/` is it
//!   over consim's own models.

pub mod artifacts;
pub mod availability;
mod charts;
pub mod cli;
pub mod config;
pub mod contention;
mod driver;
pub mod exit;
pub mod explore;
pub mod harness;
pub mod interval;
pub mod judge;
pub mod kernel_bench;
pub mod load;
pub mod matrix;
pub mod picture;
pub mod report;
pub mod run;
pub mod script;
pub mod shown;
pub mod shrink;
pub mod strategies;
pub mod sweep;

// The crates under this one, so that a user's crate depends on `consim` alone.
pub use checkers;
pub use models;
pub use sim_core;

/// The nemeses: fault plans generated from the seed (they live in sim-core, so that
/// the model tests use the same ones).
pub use sim_core::nemesis;
pub mod workload;

use std::process::ExitCode;

use models::Catalog;

/// The `consim` command line for the models of `catalog` (your [`models::Declaration`],
/// or a tuple of them): parses the program's arguments, runs the command and returns
/// its exit code. The whole `main` of a program of your own:
///
/// ```no_run
/// # use models::single_copy::SINGLE_COPY as MY_MODEL;
/// fn main() -> std::process::ExitCode {
///     consim::main(MY_MODEL)
/// }
/// ```
///
/// See [`harness::Harness::main`] to change where artifacts go or how many threads
/// sweeps use.
pub fn main<C: Catalog + Clone + 'static>(catalog: C) -> ExitCode {
    harness::Harness::new(catalog).main()
}

/// The names a model of your own needs, in one import: `use consim::prelude::*;`.
pub mod prelude {
    pub use std::convert::Infallible;

    pub use models::client::{
        Answer, ClientConfig, ClientMsg, Dedup, NoPeers, RequestId, Routing, Wire, reply,
    };
    pub use models::explore::{Explore, Explorer};
    pub use models::kv::{Mix, Reply, Request, Store};
    pub use models::settings;
    pub use models::{Declaration, Guarantee, Model, ModelError, ModelInfo, Replica};
    pub use sim_core::{Ctx, Duration, Node, NodeId, Time};

    pub use crate::config::RunConfig;
    pub use crate::explore::{ExploreConfig, ExploreOutcome};
    pub use crate::harness::{Harness, Until};
    pub use crate::nemesis::Nemesis;
}

// The README's examples are compiled and run as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
