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
//! - [`raft`]: a replicated store on Raft, and its bug zoo.
//! - [`catalog`]: every model with its promises.

pub mod abd;
pub mod client;
pub mod dynamo;
pub mod kv;
pub mod primary_async;
pub mod raft;
pub mod relay;
pub mod retry_without_idempotency;
pub mod single_copy;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Debug;
use std::str::FromStr;

use serde::Serialize;
use sim_core::Node;

use crate::client::{ClientConfig, Routing, Wire};

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
    /// For a bug-zoo variant: the correct model it breaks.
    pub variant_of: Option<&'static str>,
    /// For a bug-zoo variant: the guarantees it breaks (promised by `variant_of`,
    /// not by the variant; the runner checks them and expects a violation).
    pub breaks: &'static [Guarantee],
    /// The nemesis under which the variant's bug shows, or the model's usual one.
    pub default_scenario: &'static str,
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
            variant_of: None,
            breaks: &[],
            default_scenario: "crash-restart",
        },
        ModelInfo {
            name: "retry-without-idempotency",
            summary: "single-copy whose clients retry timed-out writes without idempotency keys, so a write can apply twice",
            serves_clients: true,
            promises: &[],
            variant_of: Some("single-copy"),
            breaks: &[Guarantee::Linearizable],
            // Seed 0, in 948 of seeds 0..1000: the paused server applies the held first
            // attempt and its retry (flaky-network: seed 0, 979; isolate-leader: seed 4,
            // 434; never under crash-restart, clock-skew, bridge, one-way,
            // majorities-ring, none).
            default_scenario: "pause",
        },
        ModelInfo {
            name: "raft",
            summary: "Raft: elections, log replication, the current-term commit rule, \
                      ReadIndex reads (leases optional)",
            serves_clients: true,
            promises: &[
                Guarantee::Linearizable,
                Guarantee::ReadYourWrites,
                Guarantee::MonotonicReads,
                Guarantee::MonotonicWrites,
                Guarantee::WritesFollowReads,
                Guarantee::Convergence,
                Guarantee::NoLostWrites,
            ],
            variant_of: None,
            breaks: &[],
            default_scenario: "swarm",
        },
        ModelInfo {
            name: "raft-commit-old-term",
            summary: "raft that commits entries of earlier terms by counting replicas \
                      (the Raft paper's Figure 8)",
            serves_clients: true,
            promises: &[Guarantee::Convergence],
            variant_of: Some("raft"),
            breaks: &[Guarantee::Linearizable],
            default_scenario: "leader-churn",
        },
        ModelInfo {
            name: "raft-stale-read",
            summary: "raft whose leader reads its own state without confirming it still leads",
            serves_clients: true,
            promises: &[
                Guarantee::MonotonicWrites,
                Guarantee::WritesFollowReads,
                Guarantee::Convergence,
                Guarantee::NoLostWrites,
            ],
            variant_of: Some("raft"),
            breaks: &[Guarantee::Linearizable],
            default_scenario: "isolate-leader",
        },
        ModelInfo {
            name: "raft-lease-drift",
            summary: "raft with lease reads whose bound assumes clocks do not drift",
            serves_clients: true,
            promises: &[
                Guarantee::MonotonicWrites,
                Guarantee::WritesFollowReads,
                Guarantee::Convergence,
                Guarantee::NoLostWrites,
            ],
            variant_of: Some("raft"),
            breaks: &[Guarantee::Linearizable],
            default_scenario: "swarm",
        },
        ModelInfo {
            name: "raft-ack-before-sync",
            summary: "raft that acknowledges log entries before syncing them",
            serves_clients: true,
            promises: &[Guarantee::Convergence],
            variant_of: Some("raft"),
            breaks: &[Guarantee::Linearizable, Guarantee::NoLostWrites],
            default_scenario: "crash-restart",
        },
        ModelInfo {
            name: "abd",
            summary: "multi-writer atomic register: query a quorum, then store (reads write back); r + w > n",
            serves_clients: true,
            promises: &[
                Guarantee::Linearizable,
                Guarantee::ReadYourWrites,
                Guarantee::MonotonicReads,
                Guarantee::MonotonicWrites,
                Guarantee::WritesFollowReads,
                Guarantee::NoLostWrites,
            ],
            variant_of: None,
            breaks: &[],
            default_scenario: "crash-restart",
        },
        ModelInfo {
            name: "abd-no-write-back",
            summary: "abd whose reads answer the highest value queried without writing it back",
            serves_clients: true,
            promises: &[],
            variant_of: Some("abd"),
            breaks: &[Guarantee::Linearizable],
            // First violation at seed 48 of 0..1000, in 45 of them (crash-restart: seed
            // 13, 31; partition-halves: seed 124, 9; isolate-leader: seed 127, 3; no
            // faults or partition-majorities-ring, which cannot cut 3 replicas: seed 1, 7;
            // pause: seed 577, 1).
            default_scenario: "swarm",
        },
        ModelInfo {
            name: "quorum-overlap",
            summary: "abd with read and write quorums that need not meet (r + w <= n, default r = w = 1)",
            serves_clients: true,
            promises: &[],
            variant_of: Some("abd"),
            breaks: &[Guarantee::Linearizable],
            // Seed 0 under every nemesis; one-way in 999 of 1,000 seeds.
            default_scenario: "one-way",
        },
        ModelInfo {
            name: "primary-async",
            summary: "a fixed primary ships its log to followers asynchronously; session tokens hold reads until the follower caught up",
            serves_clients: true,
            promises: &[
                Guarantee::ReadYourWrites,
                Guarantee::MonotonicReads,
                Guarantee::MonotonicWrites,
                Guarantee::WritesFollowReads,
                Guarantee::Convergence,
                Guarantee::NoLostWrites,
            ],
            variant_of: None,
            breaks: &[],
            default_scenario: "partition-halves",
        },
        ModelInfo {
            name: "session-token-ignored",
            summary: "primary-async whose followers serve reads without waiting for the session token",
            serves_clients: true,
            promises: &[],
            variant_of: Some("primary-async"),
            breaks: &[Guarantee::ReadYourWrites],
            // Seed 0 under every nemesis; one-way in 1,000 of 1,000 seeds.
            default_scenario: "one-way",
        },
        ModelInfo {
            name: "dynamo",
            summary: "leaderless N/R/W replication, sloppy quorums with hinted handoff, read repair, anti-entropy; last writer wins by the coordinator's clock, so skewed clocks lose acknowledged writes",
            serves_clients: true,
            promises: &[Guarantee::Convergence],
            variant_of: None,
            breaks: &[],
            default_scenario: "clock-skew",
        },
        ModelInfo {
            name: "dynamo-crdt",
            summary: "dynamo whose keys are add-only sets merged by union: appends are never lost (writes and cas refused)",
            serves_clients: true,
            promises: &[Guarantee::Convergence, Guarantee::NoLostWrites],
            variant_of: None,
            breaks: &[],
            default_scenario: "partition-halves",
        },
        ModelInfo {
            name: "relay",
            summary: "every delivery is passed on to a random node: the kernel benchmark",
            serves_clients: false,
            promises: &[],
            variant_of: None,
            breaks: &[],
            default_scenario: "none",
        },
    ]
}

/// The catalog entry for `name`, if there is one.
pub fn find(name: &str) -> Option<&'static ModelInfo> {
    catalog().iter().find(|m| m.name == name)
}

/// A replica of a model that serves key-value clients.
pub trait Replica: Node<Msg = Wire<Self::Peer>, Input = Infallible, Output = Infallible> {
    /// The model's replica-to-replica messages.
    type Peer: Clone + Debug;

    /// Whether this replica believes it is the leader (or primary) now; the
    /// `isolate-leader` nemesis cuts off whoever does. Leaderless models keep the
    /// default, `false`.
    fn leads(&self) -> bool {
        false
    }

    /// The leader's term (or epoch) this replica is in: when several replicas believe
    /// they lead — a deposed leader that has not heard of its successor — the nemesis
    /// cuts off the one with the highest term, the real leader. The default, 0, suits
    /// models with at most one leader.
    fn term(&self) -> u64 {
        0
    }
}

/// A model the runner can build: its replicas' configurations and how its clients
/// route. Bug variants are the same type with a flag set.
pub trait Model {
    /// The replica node.
    type Replica: Replica;

    /// The configuration of each replica, in node-id order starting at `NodeId(0)`.
    fn replicas(&self) -> Vec<<Self::Replica as Node>::Config>;

    /// How clients route their requests.
    fn routing(&self) -> Routing;

    /// Adjusts the scenario's client settings (a bug variant may, for example, turn
    /// off idempotency keys). The default keeps them.
    fn client(&self, base: ClientConfig) -> ClientConfig {
        base
    }
}

/// Something that runs a model of any type; [`visit`] calls it with the model a name
/// stands for.
pub trait ModelVisitor {
    /// What the visit gives back.
    type Output;
    /// Runs with `model`.
    fn visit<M: Model>(self, model: M) -> Self::Output;
}

/// Model parameters from the command line: the number of replicas and `key=value`
/// settings each model reads its own from (and refuses those it does not know).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    /// Replicas (`None`: the model's default).
    pub replicas: Option<usize>,
    /// Model-specific settings, such as `r=2` for a quorum store.
    pub settings: BTreeMap<String, String>,
}

/// Why a model could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// No model has that name.
    #[error("unknown model `{name}`; the models are: {}", valid.join(", "))]
    UnknownModel {
        /// The name given.
        name: String,
        /// The names that exist.
        valid: Vec<&'static str>,
    },
    /// A parameter makes no sense for the model.
    #[error("model `{model}`: parameter `{param}` {problem}")]
    BadParam {
        /// The model.
        model: &'static str,
        /// The parameter.
        param: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl Params {
    /// Takes setting `key` as a `T`, or `default` if it is not set.
    pub fn take<T: FromStr>(
        &mut self,
        model: &'static str,
        key: &str,
        default: T,
    ) -> Result<T, ModelError> {
        match self.settings.remove(key) {
            None => Ok(default),
            Some(text) => text.parse().map_err(|_| ModelError::BadParam {
                model,
                param: key.to_owned(),
                problem: format!(
                    "is `{text}`, which is not a valid {}",
                    std::any::type_name::<T>()
                ),
            }),
        }
    }

    /// Refuses settings nobody took.
    pub fn finish(self, model: &'static str) -> Result<(), ModelError> {
        match self.settings.into_keys().next() {
            None => Ok(()),
            Some(param) => Err(ModelError::BadParam {
                model,
                param,
                problem: "is not a setting of this model".to_owned(),
            }),
        }
    }

    /// The number of replicas, or `default`; refuses zero.
    pub fn replicas(&self, model: &'static str, default: usize) -> Result<usize, ModelError> {
        match self.replicas.unwrap_or(default) {
            0 => Err(ModelError::BadParam {
                model,
                param: "replicas".to_owned(),
                problem: "is 0; a model needs at least one replica".to_owned(),
            }),
            n => Ok(n),
        }
    }
}

/// Builds the model `name` with `params` and hands it to `visitor`.
pub fn visit<V: ModelVisitor>(
    name: &str,
    params: &Params,
    visitor: V,
) -> Result<V::Output, ModelError> {
    let params = params.clone();
    match name {
        "single-copy" => Ok(visitor.visit(single_copy::SingleCopy::new(params)?)),
        "abd" => Ok(visitor.visit(abd::Abd::new(params, abd::Variant::Abd)?)),
        "abd-no-write-back" => Ok(visitor.visit(abd::Abd::new(params, abd::Variant::NoWriteBack)?)),
        "quorum-overlap" => Ok(visitor.visit(abd::Abd::new(params, abd::Variant::QuorumOverlap)?)),
        "dynamo" => Ok(visitor.visit(dynamo::Dynamo::new(params, false)?)),
        "dynamo-crdt" => Ok(visitor.visit(dynamo::Dynamo::new(params, true)?)),
        "retry-without-idempotency" => Ok(visitor.visit(
            retry_without_idempotency::RetryWithoutIdempotency::new(params)?,
        )),
        "primary-async" => Ok(visitor.visit(primary_async::PrimaryAsync::new(params, true)?)),
        "session-token-ignored" => {
            Ok(visitor.visit(primary_async::PrimaryAsync::new(params, false)?))
        }
        "raft" => Ok(visitor.visit(raft::Raft::new(None, params)?)),
        "raft-commit-old-term" => {
            Ok(visitor.visit(raft::Raft::new(Some(raft::RaftBug::CommitOldTerm), params)?))
        }
        "raft-stale-read" => {
            Ok(visitor.visit(raft::Raft::new(Some(raft::RaftBug::StaleRead), params)?))
        }
        "raft-lease-drift" => {
            Ok(visitor.visit(raft::Raft::new(Some(raft::RaftBug::LeaseDrift), params)?))
        }
        "raft-ack-before-sync" => {
            Ok(visitor.visit(raft::Raft::new(Some(raft::RaftBug::AckBeforeSync), params)?))
        }
        _ => Err(ModelError::UnknownModel {
            name: name.to_owned(),
            valid: catalog()
                .iter()
                .filter(|m| m.serves_clients)
                .map(|m| m.name)
                .collect(),
        }),
    }
}
