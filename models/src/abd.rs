//! `abd`: a multi-writer atomic register over quorums (Attiya, Bar-Noy and Dolev, 1995),
//! and two bug variants, `abd-no-write-back` and `quorum-overlap`.
//!
//! # How it works
//!
//! Every replica stores, per key, a value and the [`Stamp`] it was written with (a
//! counter and the id of the replica that coordinated the write; stamps are totally
//! ordered). A client sends its request to any replica (its home, [`Routing::Home`]);
//! that replica *coordinates* it in two phases, each a round trip to a quorum:
//!
//! 1. **Query**: ask every replica for its stamp and value of the key; wait for `r`
//!    answers and keep the highest.
//! 2. **Store**: send a stamp and value to every replica; each keeps it if the stamp is
//!    higher than its own, syncs, and acknowledges; wait for `w` acknowledgements.
//!
//! A **write** of `v` queries, then stores `v` under `(counter, own id)`, where the
//! counter is one above both the highest the query saw and the highest this replica
//! ever issued (durably): two writes one replica coordinates concurrently see the same
//! highest stamp, and must still get different stamps, or replicas would keep either
//! value under one stamp and reads would disagree on which write came last.
//! A **read** queries, then *writes back* the highest stamp and value it found, and
//! only then answers with that value. The write-back is what makes reads atomic: once
//! a read has returned `v`, `v` is on a store quorum, so every later query (which meets
//! every store quorum, because `r + w > n`) sees `v` or something newer. A read may skip
//! the write-back when `w` of its query answers already carry the highest stamp (it is
//! on a store quorum already), which is always the case when nothing was written.
//!
//! Phases retransmit to the replicas that have not answered every [`RESEND`], so lost
//! messages only slow an operation down; a coordinator gives up after [`GIVE_UP`] on
//! its own clock. A write that gave up during its query phase stored nothing and is
//! [`Answer::Refused`]; one that gave up during its store phase may or may not be
//! visible later and is [`Answer::Indeterminate`].
//!
//! Stamps and values live in durable state and are synced before a store is
//! acknowledged, so a crash-restart loses nothing that counted towards a quorum.
//!
//! # What it serves, and what it refuses
//!
//! ABD is a register: it serves `read` and `write`. A `cas` or an `append` would need a
//! read-modify-write that two coordinators could interleave, which is not atomic, so
//! both are refused with a definite "did nothing" ([`Answer::Refused`]).
//!
//! # Retries
//!
//! A coordinator remembers, durably, the highest request number it started for each
//! client, so a duplicated or late request message never runs twice at one replica. A
//! write retried at *another* coordinator is a different matter: the two attempts would
//! store the same value under two stamps, and the later one can reappear after a newer
//! write. So `abd`'s clients send no idempotency keys and never retry a write that may
//! have taken effect ([`Abd::client`]); refused writes and reads are retried as usual.
//!
//! # The variants
//!
//! - `abd-no-write-back`: reads answer straight after the query phase. A write whose
//!   store phase reached only some replicas (its coordinator crashed or was cut off) is
//!   then seen by one read and not by a later one: not linearizable.
//! - `quorum-overlap`: ABD with read and write quorums that need not meet
//!   (`r + w ≤ n`, by default `r = w = 1`). A read can miss a write that was
//!   acknowledged before it began: not linearizable.
//!
//! # Settings
//!
//! [`AbdSettings`]: `replicas`; `r` and `w`, the query and store quorums (default: a
//! majority each for `abd` and `abd-no-write-back`, 1 each for `quorum-overlap`).
//! `abd` and `abd-no-write-back` refuse `r + w ≤ replicas`, `quorum-overlap` refuses
//! `r + w > replicas`, and all refuse a quorum of 0 or above `replicas`.

use std::convert::Infallible;

use sim_core::{Ctx, Duration, Node, NodeId, Time};

use crate::client::{Answer, ClientConfig, ClientMsg, Dedup, RequestId, Routing, Wire, reply};
use crate::kv::Mix;
use crate::kv::{Key, Reply, Request, Value};
use crate::{Declaration, Guarantee, Model, ModelError, ModelInfo};

/// How often a coordinator resends a phase's message to replicas that have not
/// answered (on its own clock).
pub const RESEND: Duration = Duration::from_millis(60);

/// How long a coordinator tries before answering that it gave up (on its own clock);
/// below the clients' default timeout, so a client hears why.
pub const GIVE_UP: Duration = Duration::from_millis(400);

/// A write's timestamp: a counter, then the coordinating replica's id to break ties
/// between concurrent writers. `Stamp::ZERO` is the stamp of a key never written.
///
/// ```
/// use models::abd::Stamp;
/// use sim_core::NodeId;
/// let a = Stamp { counter: 1, writer: NodeId(2) };
/// let b = Stamp { counter: 2, writer: NodeId(0) };
/// assert!(Stamp::ZERO < a && a < b);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    /// Higher counters are newer.
    pub counter: u64,
    /// The coordinator of the write, for ties.
    pub writer: NodeId,
}

impl Stamp {
    /// The stamp of a key that was never written.
    pub const ZERO: Stamp = Stamp {
        counter: 0,
        writer: NodeId(0),
    };
}

/// A replica-to-replica message. `op` names the coordination (unique per coordinator
/// across restarts) so that answers find their operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    /// Query phase: what do you hold for `key`?
    Query {
        /// The coordination.
        op: u64,
        /// The key.
        key: Key,
    },
    /// The answer to a query.
    QueryAck {
        /// The coordination.
        op: u64,
        /// The stamp held.
        stamp: Stamp,
        /// The value held (`None`: never written).
        value: Option<Value>,
    },
    /// Store phase: keep `value` under `stamp` if it is newer than yours.
    Store {
        /// The coordination.
        op: u64,
        /// The key.
        key: Key,
        /// The write's stamp.
        stamp: Stamp,
        /// The value.
        value: Value,
    },
    /// The store is durable here (or something newer was).
    StoreAck {
        /// The coordination.
        op: u64,
    },
}

/// The message type of an ABD replica.
pub type Msg = Wire<Peer>;

/// A replica's settings, the same for every replica of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AbdConfig {
    /// How many replicas there are (ids `0..replicas`).
    pub replicas: u32,
    /// Answers a query phase waits for.
    pub read_quorum: usize,
    /// Acknowledgements a store phase waits for.
    pub write_quorum: usize,
    /// Whether reads write back what they return (`false` only in
    /// `abd-no-write-back`).
    pub write_back: bool,
}

/// A replica's durable state: the register of every key, the idempotency table, and
/// what a coordinator must not forget across a restart.
#[derive(Clone, Debug, Default, Hash)]
pub struct Data {
    /// Per key: the stamp and value held.
    pub cells: imbl::OrdMap<Key, (Stamp, Value)>,
    /// Writes this replica coordinated to the end, with their answers.
    pub dedup: Dedup,
    /// Per client, the highest request number this replica started coordinating: a
    /// request at or below it is never started again.
    pub started: imbl::OrdMap<NodeId, u64>,
    /// How many times this replica has booted; it makes coordination ids unique
    /// across restarts.
    pub boots: u64,
    /// The highest counter this replica has put in a write's stamp: the next write it
    /// coordinates gets a higher one, so that two writes it coordinates concurrently
    /// (whose queries saw the same highest stamp) never share a stamp.
    pub issued: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Phase {
    Query,
    Store { stamp: Stamp, value: Value },
}

/// One operation this replica coordinates.
#[derive(Clone, Debug, Hash)]
struct Coordination {
    client: NodeId,
    id: RequestId,
    request: Request,
    phase: Phase,
    /// Which replicas answered the current phase.
    answered: Vec<bool>,
    answers: usize,
    /// The highest stamp and value the query phase saw, and how many answers had it.
    best: (Stamp, Option<Value>),
    best_count: usize,
    /// When it began, on this replica's clock.
    began: Time,
}

/// A coordinator's timer: resend the phase of operation `op`, or give up on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tick {
    op: u64,
}

/// An ABD replica: it stores registers and coordinates the requests clients send it.
#[derive(Clone, Debug, Hash)]
pub struct AbdReplica {
    config: AbdConfig,
    /// The operations in flight, by coordination id.
    ops: std::collections::BTreeMap<u64, Coordination>,
    next_op: u64,
    /// A copy of the durable registers, for tests and tools to inspect
    /// ([`AbdReplica::cells`]).
    cells: imbl::OrdMap<Key, (Stamp, Value)>,
}

impl AbdReplica {
    /// What this replica holds for every key (its durable state; it syncs after every
    /// change, so this is also what survives a crash).
    pub fn cells(&self) -> &imbl::OrdMap<Key, (Stamp, Value)> {
        &self.cells
    }

    fn peers(&self) -> impl Iterator<Item = NodeId> + use<> {
        (0..self.config.replicas).map(NodeId)
    }

    /// Sends `msg` to `to`, or handles it at once if `to` is this replica.
    fn deliver(&mut self, ctx: &mut Ctx<'_, Self>, to: NodeId, msg: Peer) {
        if to == ctx.id() {
            self.on_peer(ctx, to, msg);
        } else {
            ctx.send(to, Wire::Peer(msg));
        }
    }

    fn on_request(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        id: RequestId,
        request: Request,
    ) {
        match request {
            Request::Read { .. } => {}
            Request::Write { .. } => {
                if let Some(done) = ctx.durable().dedup.seen(id) {
                    let done = done.clone();
                    ctx.send(from, reply(id, Answer::Done(done), 0));
                    return;
                }
                let started = ctx.durable().started.get(&id.client).copied();
                if started.is_some_and(|seq| seq >= id.seq) {
                    // A duplicate of a write in flight (its coordination will answer), or
                    // of one this replica started before a restart and cannot finish.
                    if !self.ops.values().any(|c| c.id == id) {
                        let why = "this replica restarted while coordinating the write";
                        ctx.send(from, reply(id, Answer::Indeterminate { reason: why }, 0));
                    }
                    return;
                }
                ctx.durable_mut().started.insert(id.client, id.seq);
                ctx.sync();
            }
            Request::Cas { .. } | Request::Append { .. } => {
                let reason = "abd is a register: it serves read and write only";
                ctx.send(from, reply(id, Answer::Refused { reason }, 0));
                return;
            }
        }
        let op = (ctx.durable().boots << 32) | self.next_op;
        self.next_op += 1;
        let coordination = Coordination {
            client: from,
            id,
            request,
            phase: Phase::Query,
            answered: vec![false; self.config.replicas as usize],
            answers: 0,
            best: (Stamp::ZERO, None),
            best_count: 0,
            began: ctx.monotonic(),
        };
        self.ops.insert(op, coordination);
        ctx.set_timer(RESEND, Tick { op });
        self.send_phase(ctx, op);
    }

    /// Sends the current phase's message to every replica that has not answered it.
    fn send_phase(&mut self, ctx: &mut Ctx<'_, Self>, op: u64) {
        let Some(c) = self.ops.get(&op) else {
            return;
        };
        let msg = match c.phase {
            Phase::Query => Peer::Query {
                op,
                key: c.request.key(),
            },
            Phase::Store { stamp, value } => Peer::Store {
                op,
                key: c.request.key(),
                stamp,
                value,
            },
        };
        let phase = c.phase;
        let me = ctx.id();
        // Others first, this replica last: its own answer may end the phase at once.
        let mut missing: Vec<NodeId> = self.peers().filter(|p| !c.answered[p.index()]).collect();
        missing.sort_by_key(|&p| p == me);
        for to in missing {
            if self.ops.get(&op).is_some_and(|c| c.phase == phase) {
                self.deliver(ctx, to, msg.clone());
            }
        }
    }

    fn on_peer(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Peer) {
        match msg {
            Peer::Query { op, key } => {
                let (stamp, value) = match self.cells.get(&key) {
                    Some(&(stamp, value)) => (stamp, Some(value)),
                    None => (Stamp::ZERO, None),
                };
                self.deliver(ctx, from, Peer::QueryAck { op, stamp, value });
            }
            Peer::Store {
                op,
                key,
                stamp,
                value,
            } => {
                self.store(ctx, key, stamp, value);
                self.deliver(ctx, from, Peer::StoreAck { op });
            }
            Peer::QueryAck { op, stamp, value } => self.on_query_ack(ctx, from, op, stamp, value),
            Peer::StoreAck { op } => self.on_store_ack(ctx, from, op),
        }
    }

    /// Keeps `value` under `stamp` if it is newer than what is held, durably.
    fn store(&mut self, ctx: &mut Ctx<'_, Self>, key: Key, stamp: Stamp, value: Value) {
        let held = self.cells.get(&key).map_or(Stamp::ZERO, |&(s, _)| s);
        if stamp <= held {
            return;
        }
        assert!(
            stamp > Stamp::ZERO,
            "a store of {value} carries the zero stamp"
        );
        self.cells.insert(key, (stamp, value));
        ctx.durable_mut().cells = self.cells.clone();
        ctx.sync();
    }

    /// Marks `from` as having answered op's current phase; returns the coordination if
    /// this answer is new.
    fn answer(&mut self, op: u64, from: NodeId) -> Option<&mut Coordination> {
        let c = self.ops.get_mut(&op)?;
        if std::mem::replace(&mut c.answered[from.index()], true) {
            return None;
        }
        c.answers += 1;
        Some(c)
    }

    fn on_query_ack(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        op: u64,
        stamp: Stamp,
        value: Option<Value>,
    ) {
        if self.ops.get(&op).is_none_or(|c| c.phase != Phase::Query) {
            return;
        }
        let AbdConfig {
            read_quorum: quorum,
            write_quorum,
            write_back,
            ..
        } = self.config;
        let Some(c) = self.answer(op, from) else {
            return;
        };
        if stamp > c.best.0 {
            c.best = (stamp, value);
            c.best_count = 1;
        } else if stamp == c.best.0 {
            c.best_count += 1;
        }
        if c.answers < quorum {
            return;
        }
        let (best, best_value) = c.best;
        let phase = match (c.request, best_value) {
            (Request::Write { value, .. }, _) => {
                // Above everything the query saw and everything this replica issued
                // before: a stamp names one write only.
                let counter = best.counter.max(ctx.durable().issued) + 1;
                ctx.durable_mut().issued = counter;
                ctx.sync();
                Phase::Store {
                    stamp: Stamp {
                        counter,
                        writer: ctx.id(),
                    },
                    value,
                }
            }
            (_, Some(value)) if write_back && c.best_count < write_quorum => {
                Phase::Store { stamp: best, value }
            }
            // Nothing to write back: never written, already on a store quorum, or the
            // variant that skips it.
            (_, value) => return self.finish(ctx, op, Answer::Done(Reply::Read(value))),
        };
        c.phase = phase;
        c.answered.fill(false);
        c.answers = 0;
        self.send_phase(ctx, op);
    }

    fn on_store_ack(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, op: u64) {
        if self
            .ops
            .get(&op)
            .is_none_or(|c| matches!(c.phase, Phase::Query))
        {
            return;
        }
        let quorum = self.config.write_quorum;
        let Some(c) = self.answer(op, from) else {
            return;
        };
        if c.answers < quorum {
            return;
        }
        let done = match (c.request, c.phase) {
            (Request::Write { .. }, _) => Reply::Written,
            (_, Phase::Store { value, .. }) => Reply::Read(Some(value)),
            (_, Phase::Query) => unreachable!("checked above"),
        };
        self.finish(ctx, op, Answer::Done(done));
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, Self>, op: u64, answer: Answer) {
        let c = self
            .ops
            .remove(&op)
            .expect("finishing an operation in flight");
        if let (Request::Write { .. }, Answer::Done(done)) = (c.request, &answer) {
            ctx.durable_mut().dedup.record(c.id, done.clone());
        }
        ctx.send(c.client, reply(c.id, answer, 0));
    }

    fn on_tick(&mut self, ctx: &mut Ctx<'_, Self>, op: u64) {
        let Some(c) = self.ops.get(&op) else {
            return;
        };
        if ctx.monotonic().saturating_since(c.began) < GIVE_UP {
            ctx.set_timer(RESEND, Tick { op });
            return self.send_phase(ctx, op);
        }
        let answer = match (c.phase, c.request.is_write()) {
            (Phase::Query, _) | (Phase::Store { .. }, false) => Answer::Refused {
                reason: "no quorum answered in time",
            },
            (Phase::Store { .. }, true) => Answer::Indeterminate {
                reason: "the write reached too few replicas in time",
            },
        };
        self.finish(ctx, op, answer);
    }
}

impl Node for AbdReplica {
    type Config = AbdConfig;
    type Msg = Msg;
    type Timer = Tick;
    type Durable = Data;
    type Input = Infallible;
    type Output = Infallible;

    fn deadline(msg: &Self::Msg) -> Option<sim_core::Duration> {
        crate::client::request_deadline(msg)
    }

    fn class(msg: &Self::Msg) -> usize {
        crate::client::request_class(msg)
    }

    fn start(config: &AbdConfig, ctx: &mut Ctx<'_, Self>) -> Self {
        ctx.durable_mut().boots += 1;
        ctx.sync();
        AbdReplica {
            config: *config,
            ops: std::collections::BTreeMap::new(),
            next_op: 0,
            cells: ctx.durable().cells.clone(),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Wire::Client(ClientMsg::Request { id, request, .. }) => {
                self.on_request(ctx, from, id, request);
            }
            Wire::Client(ClientMsg::Reply { .. }) => {}
            Wire::Peer(peer) => {
                if from.index() < self.config.replicas as usize {
                    self.on_peer(ctx, from, peer);
                }
            }
        }
    }

    /// Replies meant for clients, peer messages from outside the replicas, and the
    /// answers to a phase that no longer wants them: its coordination is over (or was
    /// lost in a restart: coordination ids carry the boot), has moved on from the query
    /// (phases only move forward), or already counted this replica.
    fn ignores(&self, from: NodeId, msg: &Msg) -> bool {
        let counted = |op: &u64, store: bool| {
            self.ops.get(op).is_none_or(|c| match c.phase {
                Phase::Query => !store && c.answered[from.index()],
                Phase::Store { .. } => !store || c.answered[from.index()],
            })
        };
        match msg {
            Wire::Client(ClientMsg::Reply { .. }) => true,
            Wire::Peer(_) if from.index() >= self.config.replicas as usize => true,
            Wire::Peer(Peer::QueryAck { op, .. }) => counted(op, false),
            Wire::Peer(Peer::StoreAck { op }) => counted(op, true),
            Wire::Client(ClientMsg::Request { .. }) | Wire::Peer(_) => false,
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Tick) {
        self.on_tick(ctx, timer.op);
    }
}

impl crate::Replica for AbdReplica {
    type Peer = Peer;
}

/// Which of the three register models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// `abd`: quorums that meet, reads write back.
    Abd,
    /// `abd-no-write-back`: reads skip the write-back phase.
    NoWriteBack,
    /// `quorum-overlap`: `r + w ≤ n`.
    QuorumOverlap,
}

impl Variant {
    /// The model's name in the catalog.
    pub const fn name(self) -> &'static str {
        match self {
            Variant::Abd => "abd",
            Variant::NoWriteBack => "abd-no-write-back",
            Variant::QuorumOverlap => "quorum-overlap",
        }
    }
}

crate::settings! {
    /// The settings of abd and its variants.
    pub struct AbdSettings {
        /// Replicas.
        "replicas" replicas: usize = 3, in 1..=64, explore 1..=7;
        /// Read quorum (default: a majority of the replicas; 1 for quorum-overlap).
        "r" r: Option<usize> = None, in 1..=64, explore 1..=4;
        /// Write quorum (default: a majority of the replicas; 1 for quorum-overlap).
        "w" w: Option<usize> = None, in 1..=64, explore 1..=4;
    }
}

/// abd in the catalog.
pub const ABD: Declaration<AbdSettings, Abd> = Declaration {
    info: ModelInfo {
        name: Variant::Abd.name(),
        summary: "multi-writer atomic register: query a quorum, then store (reads write back); r + w > n",
        // Not no-duplicate-effects: its clients send no idempotency keys (see the module
        // docs), so a write submitted twice is written twice (`--double-submit`), and a
        // register's writes leave no count to judge it by anyway.
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
        workload: Mix::Register,
        settings: &[],
    },
    build: |s| Abd::new(s, Variant::Abd),
};

/// abd-no-write-back in the catalog.
pub const NO_WRITE_BACK: Declaration<AbdSettings, Abd> = Declaration {
    info: ModelInfo {
        name: Variant::NoWriteBack.name(),
        summary: "abd whose reads answer the highest value queried without writing it back",
        promises: &[],
        variant_of: Some("abd"),
        breaks: &[Guarantee::Linearizable],
        // First violation at seed 18 of 0..200, in 10 of them (crash-restart: seed 25,
        // 7; partition-halves: none; no faults: seed 180, 1; pinned by scenarios'
        // `the_bug_zoos_seed_statistics`).
        default_scenario: "swarm",
        workload: Mix::Register,
        settings: &[],
    },
    build: |s| Abd::new(s, Variant::NoWriteBack),
};

/// quorum-overlap in the catalog.
pub const QUORUM_OVERLAP: Declaration<AbdSettings, Abd> = Declaration {
    info: ModelInfo {
        name: Variant::QuorumOverlap.name(),
        summary: "abd with read and write quorums that need not meet (r + w <= n, default r = w = 1)",
        promises: &[],
        variant_of: Some("abd"),
        breaks: &[Guarantee::Linearizable],
        // Seed 0 under every nemesis; one-way in 200 of seeds 0..200, and 181 with no
        // faults at all (pinned by scenarios' `the_bug_zoos_seed_statistics`).
        default_scenario: "one-way",
        workload: Mix::Register,
        settings: &[],
    },
    build: |s| Abd::new(s, Variant::QuorumOverlap),
};

/// The model the runner builds.
///
/// ```
/// use models::abd::{ABD, AbdSettings, Abd, Variant};
/// use models::{Model, Params};
/// let abd = ABD.model(&Params::default())?;
/// assert_eq!(abd.replicas().len(), 3);
/// let err = ABD.model(&Params::default().with("r", 4)).unwrap_err();
/// assert!(err.to_string().contains("`r`"), "{err}");
/// let weak = AbdSettings { r: Some(1), w: Some(1), ..AbdSettings::default() };
/// assert!(Abd::new(weak, Variant::Abd).is_err());
/// # Ok::<(), models::ModelError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Abd {
    config: AbdConfig,
}

impl Abd {
    /// Builds `variant` from its settings, refusing quorums that make no sense for it.
    pub fn new(settings: AbdSettings, variant: Variant) -> Result<Abd, ModelError> {
        let name = variant.name();
        let n = settings.replicas;
        let default = match variant {
            Variant::QuorumOverlap => 1,
            Variant::Abd | Variant::NoWriteBack => n / 2 + 1,
        };
        let (r, w) = (settings.r.unwrap_or(default), settings.w.unwrap_or(default));
        let bad = |param: &str, problem: String| ModelError::setting(name, param, problem);
        for (param, q) in [("r", r), ("w", w)] {
            if q > n {
                return Err(bad(
                    param,
                    format!("is {q}; a quorum needs 1 to {n} replicas (there are {n})"),
                ));
            }
        }
        match variant {
            Variant::QuorumOverlap if r + w > n => {
                return Err(bad(
                    "r",
                    format!(
                        "+ w is {r} + {w} > {n} replicas; quorum-overlap needs quorums that may miss each other (r + w <= n)"
                    ),
                ));
            }
            Variant::Abd | Variant::NoWriteBack if r + w <= n => {
                return Err(bad(
                    "r",
                    format!(
                        "+ w is {r} + {w} <= {n} replicas; read and write quorums must overlap (r + w > n)"
                    ),
                ));
            }
            _ => {}
        }
        Ok(Abd {
            config: AbdConfig {
                replicas: n as u32,
                read_quorum: r,
                write_quorum: w,
                write_back: variant != Variant::NoWriteBack,
            },
        })
    }

    /// The replicas' settings.
    pub fn config(&self) -> AbdConfig {
        self.config
    }
}

impl Model for Abd {
    type Replica = AbdReplica;

    fn replicas(&self) -> Vec<AbdConfig> {
        vec![self.config; self.config.replicas as usize]
    }

    fn routing(&self) -> Routing {
        Routing::Home
    }

    /// No idempotency keys, so a write that may have taken effect is never retried at
    /// another coordinator (see the module docs).
    fn client(&self, base: ClientConfig) -> ClientConfig {
        base.writes_sent_once()
    }

    /// Safety rests on quorums, not timing: every schedule may be explored.
    fn exploration(&self) -> Option<Box<dyn crate::explore::Explore + '_>> {
        Some(Box::new(crate::explore::Explorer(self)))
    }
}
