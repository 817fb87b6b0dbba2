//! `primary-async`: a primary that replicates its log to followers asynchronously, and
//! session tokens that give each client read-your-writes and monotonic reads; with the
//! `session-token-ignored` bug variant.
//!
//! # How it works
//!
//! Replica `n0` is the primary, for good: there is no failover, so while it is down
//! nobody writes (reads go on at the followers). Clients route with
//! [`Routing::ReadsHomeWritesLeader`]: writes to the primary, reads to their home
//! replica, which may be a follower.
//!
//! - **Writes.** The primary applies a write to its [`Store`], appends it to its log,
//!   syncs, and answers with a **session token**: the write's log position (the log's
//!   length). A follower that gets a write redirects it to the primary.
//! - **Replication.** Every [`TICK`] the primary ships each follower the entries it
//!   has not sent yet (at most [`BATCH`] in one message); a follower applies them in
//!   order, syncs, and acknowledges its position. Entries not acknowledged within
//!   [`RETRANSMIT`] are sent again, and a follower that sees a gap says so, so the
//!   primary rewinds. Nothing waits for followers: a write is acknowledged as soon as
//!   the primary has it.
//! - **Reads and tokens.** The client carries the highest token it has seen on every
//!   request. A replica serves a read only once it has applied the log up to that
//!   token; until then the read waits, and after [`WAIT`] it is redirected to the
//!   primary. A read's answer carries the replica's own position as the token, so a
//!   later read, at any replica, never sees an older state: **monotonic reads**; and a
//!   read after one's own write is served by a replica that has that write:
//!   **read-your-writes**.
//!
//! Because every replica applies one log, in order, a prefix at a time, monotonic
//! writes and writes-follow-reads hold too, and an acknowledged write is never lost
//! (the primary synced it first, and never changes). It is **not linearizable**: a
//! follower serves reads that other clients' acknowledged writes have not reached.
//!
//! The primary deduplicates retried writes by their idempotency key (durably), and
//! answers a retry with the position its log has now, which is at or past the write.
//!
//! # The variant
//!
//! `session-token-ignored`: followers serve every read at once, whatever the token. A
//! client that writes at the primary and reads at a follower that lags (a slow or lossy
//! link, a partition, a follower restarting) does not see its own write.
//!
//! The same machinery, with followers whose state is a projection in memory rebuilt
//! by replay ([`Projection::Rebuilt`]), is [`crate::event_sourcing`]'s model.
//!
//! # Settings
//!
//! [`PrimaryAsyncSettings`]: `replicas`, the primary and `replicas - 1` followers.

use std::collections::BTreeMap;
use std::convert::Infallible;

use sim_core::{Ctx, Duration, Node, NodeId, Time};

use crate::client::{Answer, ClientMsg, Dedup, RequestId, Routing, Wire, reply};
use crate::kv::Mix;
use crate::kv::{Key, Request, Store};
use crate::{Declaration, Guarantee, Model, ModelInfo};

/// How often the primary ships new log entries (on its own clock).
pub const TICK: Duration = Duration::from_millis(10);

/// The most entries one replication message carries.
pub const BATCH: usize = 64;

/// How long the primary waits for a follower's acknowledgement before sending the
/// unacknowledged entries again.
pub const RETRANSMIT: Duration = Duration::from_millis(80);

/// How long a follower holds a read whose token it has not reached before redirecting
/// it to the primary.
pub const WAIT: Duration = Duration::from_millis(150);

/// The primary, always.
pub const PRIMARY: NodeId = NodeId(0);

/// A replica-to-replica message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    /// Log entries `from + 1 ..= from + entries.len()` (positions count from 1).
    Append {
        /// How many entries come before the first one sent.
        from: u64,
        /// The entries.
        entries: imbl::Vector<Request>,
    },
    /// A follower's position.
    Ack {
        /// Entries applied.
        applied: u64,
        /// Whether an append started past `applied` (so the primary must rewind).
        gap: bool,
    },
}

/// The message type of a primary-async replica.
pub type Msg = Wire<Peer>;

/// A replica's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PrimaryAsyncConfig {
    /// How many replicas there are (`n0` is the primary).
    pub replicas: u32,
    /// Whether followers wait for a read's token (`false` only in
    /// `session-token-ignored` and `projection-read-your-writes`).
    pub check_tokens: bool,
    /// What a follower keeps of the log ([`Projection::Durable`] in primary-async).
    pub projection: Projection,
}

/// What a follower keeps of the log it applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Projection {
    /// Its store and log, synced with every batch: a restart keeps them.
    Durable,
    /// A read model in memory, as an event-sourced system's projection: a restart
    /// loses it, and the follower rebuilds it by replaying the primary's log from the
    /// start ([`crate::event_sourcing`]).
    Rebuilt {
        /// Whether it skips events it has already applied when they are delivered
        /// again (`false` only in `non-idempotent-consumer`).
        idempotent: bool,
    },
}

/// A replica's durable state. Every replica applies the same log, so the store is
/// what the log makes of an empty store.
#[derive(Clone, Debug, Default, Hash)]
pub struct Data {
    /// The keys and their values.
    pub store: Store,
    /// Every write applied, in order; its length is the replica's position.
    pub log: imbl::Vector<Request>,
    /// On the primary: the last write applied per client, with its answer.
    pub dedup: Dedup,
}

/// What the primary knows of one follower.
#[derive(Clone, Copy, Debug, Default, Hash)]
struct Follower {
    /// The follower's position, as last acknowledged.
    acked: u64,
    /// Entries sent so far (at or past `acked`).
    sent: u64,
    /// When entries were last sent, on the monotonic clock (a wall clock stepped back
    /// would hold retransmission off for as long as the step).
    sent_at: Time,
}

/// A read held until the follower reaches its token.
#[derive(Clone, Copy, Debug, Hash)]
struct Held {
    client: NodeId,
    id: RequestId,
    key: Key,
    token: u64,
}

/// A replica's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The primary's replication tick.
    Tick,
    /// A held read has waited long enough.
    Wait(RequestId),
    /// A rebuilt projection has heard nothing from the primary since it asked for the
    /// log (`event-sourced` only): ask again.
    Rejoin,
}

/// A replica: the primary if it is `n0`, a follower otherwise.
#[derive(Clone, Debug, Hash)]
pub struct PrimaryAsyncReplica {
    config: PrimaryAsyncConfig,
    me: NodeId,
    /// On the primary: each follower, by id.
    followers: BTreeMap<NodeId, Follower>,
    /// On a follower: reads waiting for the log to reach their token.
    held: Vec<Held>,
    /// A copy of the durable state, for inspection ([`PrimaryAsyncReplica::log`]).
    data: Data,
    /// On a follower whose projection is rebuilt after a restart: whether it still
    /// waits for the primary's first append (its request may have been lost).
    rejoining: bool,
}

impl PrimaryAsyncReplica {
    /// The writes this replica has applied, in log order.
    pub fn log(&self) -> &imbl::Vector<Request> {
        &self.data.log
    }

    /// This replica's keys and values.
    pub fn store(&self) -> &Store {
        &self.data.store
    }

    /// A follower of `primary-async`'s shape holding `log` and `store` as they are
    /// (for tests of what watches it).
    #[cfg(test)]
    pub(crate) fn holding(me: NodeId, log: &[Request], store: Store) -> Self {
        PrimaryAsyncReplica {
            config: PrimaryAsync::new(PrimaryAsyncSettings::default(), true).config,
            me,
            followers: BTreeMap::new(),
            held: Vec::new(),
            data: Data {
                store,
                log: log.iter().copied().collect(),
                dedup: Dedup::default(),
            },
            rejoining: false,
        }
    }

    fn position(&self) -> u64 {
        self.data.log.len() as u64
    }

    fn on_request(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        id: RequestId,
        request: Request,
        token: u64,
    ) {
        match (request, self.me == PRIMARY) {
            (Request::Read { key }, true) => {
                let done = self.data.store.read(key);
                ctx.send(from, reply(id, Answer::Done(done), self.position()));
            }
            (Request::Read { key }, false) => self.follower_read(
                ctx,
                Held {
                    client: from,
                    id,
                    key,
                    token,
                },
            ),
            (_, true) => self.write(ctx, from, id, request),
            (_, false) => {
                ctx.send(from, reply(id, Answer::Redirect { to: Some(PRIMARY) }, 0));
            }
        }
    }

    /// The primary applies, logs and syncs a write, then answers with its position.
    fn write(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, id: RequestId, request: Request) {
        if let Some(done) = self.data.dedup.seen(id) {
            let done = done.clone();
            ctx.send(from, reply(id, Answer::Done(done), self.position()));
            return;
        }
        if self.data.dedup.stale(id) {
            return; // A late duplicate: its client has moved on.
        }
        let data = ctx.durable_mut();
        let done = data.store.apply(&request);
        data.log.push_back(request);
        data.dedup.record(id, done.clone());
        ctx.sync();
        self.data = ctx.durable().clone();
        ctx.send(from, reply(id, Answer::Done(done), self.position()));
    }

    fn follower_read(&mut self, ctx: &mut Ctx<'_, Self>, read: Held) {
        if !self.config.check_tokens || read.token <= self.position() {
            let done = self.data.store.read(read.key);
            ctx.send(
                read.client,
                reply(read.id, Answer::Done(done), self.position()),
            );
            return;
        }
        if self.held.iter().any(|h| h.id == read.id) {
            return; // A duplicate of a read already waiting.
        }
        self.held.push(read);
        ctx.set_timer(WAIT, Timer::Wait(read.id));
    }

    /// Serves the held reads the follower's position now allows.
    fn serve_held(&mut self, ctx: &mut Ctx<'_, Self>) {
        let position = self.position();
        let (ready, waiting): (Vec<Held>, Vec<Held>) =
            self.held.iter().partition(|h| h.token <= position);
        self.held = waiting;
        for read in ready {
            let done = self.data.store.read(read.key);
            ctx.send(read.client, reply(read.id, Answer::Done(done), position));
        }
    }

    fn on_wait(&mut self, ctx: &mut Ctx<'_, Self>, id: RequestId) {
        if let Some(index) = self.held.iter().position(|h| h.id == id) {
            let read = self.held.remove(index);
            ctx.send(
                read.client,
                reply(id, Answer::Redirect { to: Some(PRIMARY) }, 0),
            );
        }
    }

    /// A follower applies the entries it does not have yet.
    fn on_append(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        start: u64,
        entries: imbl::Vector<Request>,
    ) {
        let position = self.position();
        if start > position {
            ctx.send(
                from,
                Wire::Peer(Peer::Ack {
                    applied: position,
                    gap: true,
                }),
            );
            return;
        }
        let skip = (position - start) as usize;
        match self.config.projection {
            Projection::Durable if skip < entries.len() => {
                let data = ctx.durable_mut();
                for request in entries.skip(skip) {
                    data.store.apply(&request);
                    data.log.push_back(request);
                }
                ctx.sync();
                self.data = ctx.durable().clone();
                self.serve_held(ctx);
            }
            Projection::Durable => {}
            Projection::Rebuilt { idempotent } => {
                // The bug of a consumer that is not idempotent: every event delivered
                // is applied, those it had already applied included.
                let from = if idempotent { skip } else { 0 };
                for (i, request) in entries.iter().enumerate().skip(from) {
                    self.data.store.apply(request);
                    if i >= skip {
                        self.data.log.push_back(*request);
                    }
                }
                if from < entries.len() {
                    self.serve_held(ctx);
                }
            }
        }
        let applied = self.position();
        ctx.send(
            from,
            Wire::Peer(Peer::Ack {
                applied,
                gap: false,
            }),
        );
    }

    fn on_ack(&mut self, from: NodeId, applied: u64, gap: bool) {
        let Some(follower) = self.followers.get_mut(&from) else {
            return;
        };
        assert!(
            applied <= self.data.log.len() as u64,
            "{from} acknowledged position {applied}, past the primary's log of {}",
            self.data.log.len()
        );
        let rebuilt = matches!(self.config.projection, Projection::Rebuilt { .. });
        if rebuilt && gap && applied < follower.acked {
            // The follower lost its projection in a restart: replay from where it is.
            follower.acked = applied;
        }
        follower.acked = follower.acked.max(applied);
        if gap {
            follower.sent = follower.acked;
        }
        follower.sent = follower.sent.max(follower.acked);
    }

    /// Asks the primary for its log after the first `applied` entries (a gap), and
    /// sets the timer that asks again if no append has come by then.
    fn ask_for_the_log(ctx: &mut Ctx<'_, Self>, applied: u64) {
        ctx.send(PRIMARY, Wire::Peer(Peer::Ack { applied, gap: true }));
        ctx.set_timer(RETRANSMIT, Timer::Rejoin);
    }

    /// The primary ships new entries, and again those not acknowledged in time.
    fn on_tick(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.set_timer(TICK, Timer::Tick);
        let now = ctx.monotonic();
        let log = self.data.log.clone();
        let length = log.len() as u64;
        for (&id, follower) in &mut self.followers {
            let overdue = now.saturating_since(follower.sent_at) >= RETRANSMIT;
            if follower.acked < follower.sent && overdue {
                follower.sent = follower.acked;
            }
            if follower.sent >= length {
                continue;
            }
            let from = follower.sent;
            let rest = log.skip(from as usize);
            let entries = rest.take(BATCH.min(rest.len()));
            follower.sent = from + entries.len() as u64;
            follower.sent_at = now;
            ctx.send(id, Wire::Peer(Peer::Append { from, entries }));
        }
    }
}

impl Node for PrimaryAsyncReplica {
    type Config = PrimaryAsyncConfig;
    type Msg = Msg;
    type Timer = Timer;
    type Durable = Data;
    type Input = Infallible;
    type Output = Infallible;

    fn deadline(msg: &Self::Msg) -> Option<sim_core::Duration> {
        crate::client::request_deadline(msg)
    }

    fn class(msg: &Self::Msg) -> usize {
        crate::client::request_class(msg)
    }

    fn start(config: &PrimaryAsyncConfig, ctx: &mut Ctx<'_, Self>) -> Self {
        let me = ctx.id();
        let rejoining = matches!(config.projection, Projection::Rebuilt { .. }) && me != PRIMARY;
        let data = if rejoining {
            // An empty projection: ask the primary to replay its log from the start,
            // and again until it answers.
            Self::ask_for_the_log(ctx, 0);
            Data::default()
        } else {
            ctx.durable().clone()
        };
        let mut followers = BTreeMap::new();
        if me == PRIMARY {
            // Followers' positions are unknown after a restart: probe with an empty
            // append at the end of the log; a follower behind answers with a gap.
            let length = data.log.len() as u64;
            for id in (1..config.replicas).map(NodeId) {
                let probe = Follower {
                    acked: 0,
                    sent: length,
                    sent_at: ctx.monotonic(),
                };
                followers.insert(id, probe);
                let entries = imbl::Vector::new();
                ctx.send(
                    id,
                    Wire::Peer(Peer::Append {
                        from: length,
                        entries,
                    }),
                );
            }
            ctx.set_timer(TICK, Timer::Tick);
        }
        PrimaryAsyncReplica {
            config: *config,
            me,
            followers,
            held: Vec::new(),
            data,
            rejoining,
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Wire::Client(ClientMsg::Request {
                id, request, token, ..
            }) => {
                self.on_request(ctx, from, id, request, token);
            }
            Wire::Client(ClientMsg::Reply { .. }) => {}
            Wire::Peer(Peer::Append {
                from: start,
                entries,
            }) => {
                if from == PRIMARY && self.me != PRIMARY {
                    self.rejoining = false;
                    self.on_append(ctx, from, start, entries);
                }
            }
            Wire::Peer(Peer::Ack { applied, gap }) => self.on_ack(from, applied, gap),
        }
    }

    /// Replies meant for clients, and log appends from anyone but the primary or
    /// sent to the primary itself.
    fn ignores(&self, from: NodeId, msg: &Msg) -> bool {
        match msg {
            Wire::Client(ClientMsg::Reply { .. }) => true,
            Wire::Peer(Peer::Append { .. }) => from != PRIMARY || self.me == PRIMARY,
            Wire::Client(ClientMsg::Request { .. }) | Wire::Peer(Peer::Ack { .. }) => false,
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match timer {
            Timer::Tick => self.on_tick(ctx),
            Timer::Wait(id) => self.on_wait(ctx, id),
            Timer::Rejoin if self.rejoining => {
                Self::ask_for_the_log(ctx, self.data.log.len() as u64);
            }
            Timer::Rejoin => {}
        }
    }
}

impl crate::Replica for PrimaryAsyncReplica {
    type Peer = Peer;

    fn leads(&self) -> bool {
        self.me == PRIMARY
    }
}

crate::settings! {
    /// The settings of primary-async and its variant.
    pub struct PrimaryAsyncSettings {
        /// Replicas: the primary (node 0) and its followers.
        "replicas" replicas: usize = 3, in 1..=64, explore 1..=7;
    }
}

/// primary-async in the catalog.
pub const PRIMARY_ASYNC: Declaration<PrimaryAsyncSettings, PrimaryAsync> = Declaration {
    info: ModelInfo {
        name: "primary-async",
        summary: "a fixed primary ships its log to followers asynchronously; session tokens hold reads until the follower caught up",
        promises: Guarantee::ALL_BUT_LINEARIZABLE,
        variant_of: None,
        breaks: &[],
        default_scenario: "partition-halves",
        workload: Mix::ListAppend,
        settings: &[],
    },
    build: |s| Ok(PrimaryAsync::new(s, true)),
};

/// session-token-ignored in the catalog.
pub const SESSION_TOKEN_IGNORED: Declaration<PrimaryAsyncSettings, PrimaryAsync> = Declaration {
    info: ModelInfo {
        name: "session-token-ignored",
        summary: "primary-async whose followers serve reads without waiting for the session token",
        promises: &[],
        variant_of: Some("primary-async"),
        breaks: &[Guarantee::ReadYourWrites],
        // Seed 0 under every nemesis; one-way in 200 of seeds 0..200, leader-churn in
        // all 200 (pinned by scenarios' `the_bug_zoos_seed_statistics`).
        default_scenario: "one-way",
        workload: Mix::ListAppend,
        settings: &[],
    },
    build: |s| Ok(PrimaryAsync::new(s, false)),
};

/// The model the runner builds: `primary-async`, or `session-token-ignored`.
///
/// ```
/// use models::primary_async::{PrimaryAsync, PrimaryAsyncSettings};
/// use models::Model;
/// let model = PrimaryAsync::new(PrimaryAsyncSettings::default(), true);
/// assert_eq!(model.replicas().len(), 3);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct PrimaryAsync {
    config: PrimaryAsyncConfig,
}

impl PrimaryAsync {
    /// Builds the model; `check_tokens: false` is `session-token-ignored`.
    pub fn new(settings: PrimaryAsyncSettings, check_tokens: bool) -> PrimaryAsync {
        PrimaryAsync {
            config: PrimaryAsyncConfig {
                replicas: settings.replicas as u32,
                check_tokens,
                projection: Projection::Durable,
            },
        }
    }
}

impl Model for PrimaryAsync {
    type Replica = PrimaryAsyncReplica;

    fn replicas(&self) -> Vec<PrimaryAsyncConfig> {
        vec![self.config; self.config.replicas as usize]
    }

    fn routing(&self) -> Routing {
        Routing::ReadsHomeWritesLeader
    }

    /// Read-your-writes rests on tokens, not timing: every schedule may be explored.
    fn exploration(&self) -> Option<Box<dyn crate::explore::Explore + '_>> {
        Some(Box::new(crate::explore::Explorer(self)))
    }
}
