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
//!
//! Still to come (see the issue tracker): the Jepsen EDN and log readers, sequential
//! models, the linearizability checker, session guarantees and convergence.

pub mod brute;
pub mod check;
pub mod formats;
pub mod history;
pub mod linear;
pub mod model;
pub mod viz;
