//! # checkers: histories and what can be concluded from them
//!
//! A history is what clients saw: invocations and their outcomes, in Jepsen's
//! vocabulary. This crate reads histories and decides what they prove. It depends on no
//! other crate of consim, so it checks histories recorded from real systems as readily
//! as simulated ones.
//!
//! **The design decision: a verdict is never guessed.** Every check answers `ok`,
//! `violation` with a witness a person can follow, or `unknown` when its budget runs
//! out; malformed input is a typed error naming the file and line, never a panic.
//!
//! ## Where to start reading
//!
//! - [`history`]: events, values, the native JSONL format, and pairing events into
//!   [`history::Operation`]s (`fail` dropped, `info` left open).
//! - [`formats`]: readers for Jepsen's EDN and text logs, Porcupine's kv, elle-cli JSON.
//! - [`model`]: the [`model::Model`] trait (a sequential specification) and the
//!   built-in `register`, `cas-register`, `kv` and `list-append`.
//! - [`linear`]: the linearizability checker, its verdicts and witnesses.
//! - [`check`]: a file end to end (read, pair, pick a model, check, time).
//! - [`viz`]: the self-contained HTML picture of a verdict.
//! - [`brute`]: the exponential reference checker the fast one is tested against.
//!
//! - [`session`]: the four session guarantees on list-append and unique-value
//!   register histories.
//!
//! - [`convergence`]: whether final reads agree, and what became of every write.
//!
//! - [`anomalies`]: what a list-append history shows outright (garbage and aborted
//!   reads, duplicate elements, incompatible orders).
//!
//! - [`elle`]: the dependency graph (ww, wr, rw, process and real-time edges), its
//!   cycles named and explained as Elle does, and the consistency models they rule out.

pub mod anomalies;
pub mod brute;
pub mod check;
pub mod convergence;
pub mod elle;
pub mod formats;
pub mod history;
pub mod linear;
pub mod model;
pub mod proof;
pub mod session;
pub mod viz;
