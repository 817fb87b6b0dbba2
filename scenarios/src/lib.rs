//! # scenarios: what a user runs
//!
//! This crate joins the kernel (`sim-core`), the protocols (`models`) and the checkers
//! into runs: a workload drives a model's clients, a fault plan breaks things, and the
//! runner reports what happened. It is also the home of the `consim` binary.
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
//! - [`interval`]: the 95% intervals of its shares, with the run as the unit.
//! - [`strategies`]: proptest strategies for whole scenarios.
//! - [`artifacts`]: what a failing run leaves behind.
//! - [`kernel_bench`]: the relay benchmark behind `consim bench kernel`.
//! - [`exit`]: the exit codes every command ends with.
//!
//! The `consim` binary is `src/bin/consim/`, one module per command.

pub mod artifacts;
pub mod availability;
pub mod config;
mod driver;
pub mod exit;
pub mod interval;
pub mod judge;
pub mod kernel_bench;
pub mod matrix;
pub mod report;
pub mod run;
pub mod shrink;
pub mod strategies;
pub mod sweep;

/// The nemeses: fault plans generated from the seed (they live in sim-core, so that
/// the model tests use the same ones).
pub use sim_core::nemesis;
pub mod workload;

// The README's examples are compiled and run as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
