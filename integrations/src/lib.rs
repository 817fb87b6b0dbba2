//! # integrations: real libraries under consim
//!
//! consim's first promise is that a protocol written as a Rust trait impl gets faults,
//! workloads and checkers for free; this crate keeps it for code consim did not write.
//! Each module wraps a library as consim replicas and declares it as a model, so that
//! every nemesis, workload, checker, sweep and shrink applies to it unchanged, and an
//! example gives it the whole `consim` command line:
//!
//! - [`raft_rs`]: tikv's [raft-rs](https://docs.rs/raft/0.7) (`RawNode`), used in
//!   production by TiKV, over a small key-value state machine;
//!   `cargo run --release -p integrations --example raft_rs -- sweep --seeds 0..1000`.
//!
//! The libraries are this crate's dependencies, not consim's: the core crates stay
//! free of them. The book's chapter *Testing a real library* walks through raft-rs.

pub mod raft_rs;
