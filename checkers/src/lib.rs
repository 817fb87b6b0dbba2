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
//! - [`edn`]: the EDN reader under them: one linear pass, zero-copy, a line and column
//!   for every op map and every error.
//! - [`spec`]: the [`spec::SequentialSpec`] trait (what one object does, one operation
//!   at a time) and the built-in `register`, `cas-register`, `kv` and `list-append`,
//!   named by [`spec::SpecName`] as `consim check --model` names them.
//! - [`linear`]: the linearizability checker, its verdicts and witnesses.
//! - [`check`]: a file end to end (read, pair, pick a specification, check, time).
//! - [`viz`]: the self-contained HTML picture of a verdict.
//! - [`brute`]: the exponential reference checker the fast one is tested against.
//!
//! - [`anomalies`]: the one vocabulary of anomalies ([`anomalies::Kind`]), which
//!   checker detects each, and what a history shows outright: on list-append, garbage
//!   and aborted reads, duplicate elements and incompatible orders (one detection,
//!   shared with [`elle`]); on registers, what real time alone proves.
//! - [`traceable`]: the two workloads whose reads say which writes they saw, and the
//!   one error ([`traceable::NotTraceable`]) for a history that is neither.
//! - [`session`]: the four session guarantees on traceable histories.
//! - [`elle`]: the dependency graph (ww, wr, rw, process and real-time edges), its
//!   cycles named and explained as Elle does, and the consistency models they rule out.
//! - [`proof`]: everything a history proves outright, in sentences, for the runner and
//!   the picture.
//!
//! - [`convergence`]: whether final reads agree, and what became of every write.
//! - [`effects`]: how many times each append (an intent) took effect, counted from the
//!   reads: no duplicate effects.
//!
//! - [`shared`]: what the checkers share — how a witness names an operation and its
//!   time ([`shared::describe_op`], [`shared::when`]), and the crate's internal helpers.

pub mod anomalies;
pub mod brute;
pub mod check;
pub mod convergence;
pub mod edn;
pub mod effects;
pub mod elle;
pub mod formats;
pub mod history;
pub mod linear;
pub mod proof;
pub mod session;
pub mod shared;
pub mod spec;
pub mod synth;
pub mod traceable;
pub mod viz;
