//! tikv's raft-rs as consim replicas.
//!
//! [raft-rs](https://docs.rs/raft/0.7) (the `raft` crate) is a sans-I/O Raft library:
//! its `RawNode` takes messages, ticks and proposals, and hands back `Ready`s — what
//! to persist, what to send, what to apply — leaving storage, network and time to its
//! user. That is exactly the shape of a consim [`consim::sim_core::Node`], so this
//! module wraps it as one ([`RaftRsReplica`]) over a small key-value state machine, and
//! declares it as a model ([`RAFT_RS`]) so that consim's nemeses, workloads, checkers,
//! sweeps and shrinking apply to it unchanged:
//!
//! ```
//! use consim::prelude::*;
//! use integrations::raft_rs::RAFT_RS;
//!
//! let mut config = RunConfig::new("raft-rs", 3);
//! config.nemesis = Nemesis::CrashRestart;
//! let report = Harness::new(RAFT_RS).run(&config)?;
//! assert!(!report.failed(), "{:?}", report.verdicts);
//! assert!(report.ops.ok > 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `examples/raft_rs.rs` gives it the `consim` command line, and the book's chapter
//! *Testing a real library* shows what it finds.
//!
//! ## Where to read
//!
//! - [`replica`]: the `Ready` loop, what survives a crash, how the library's
//!   randomness is pinned to the run's seed, and how clients are answered.
//! - [`storage`]: [`Persisted`], the durable state that is also raft-rs's `Storage`.
//! - [`codec`]: the bytes of a log entry.
//! - [`model`]: the settings (including the misuses) and the declaration.
//! - [`invariants`]: election safety and state machine safety, after every event.
//!
//! ## The misuses
//!
//! Three bug settings make mistakes real integrations make, to show that consim finds
//! them (`--bug NAME`): `send-before-persist` (acknowledging appends and votes before
//! they are durable), `ack-on-append` (answering a write before it commits) and
//! `local-reads` (reads without ReadIndex). A fourth, `library-randomness`, leaves
//! raft-rs's unseeded election timeouts on, which consim's determinism check catches.

pub mod codec;
pub mod invariants;
pub mod model;
pub mod replica;
pub mod storage;

pub use model::{RAFT_RS, RaftRs, RaftRsSettings};
pub use replica::{RaftMsg, RaftRsReplica};
pub use storage::Persisted;
