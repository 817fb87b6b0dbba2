//! The replica: a raft-rs `RawNode` driven by consim's events, over a key-value
//! [`Store`].
//!
//! # Driving raft-rs
//!
//! Every handler feeds raft-rs one input — a peer's message (`step`), a tick (a timer
//! on the node's own clock, every `tick-ms`), a client's write (`propose`) or read
//! (`read_index`) — and then `RaftRsReplica::drive` handles every `Ready` raft-rs
//! has, in the order its contract asks:
//!
//! 1. `messages()` are sent at once (a leader's appends: it counts itself towards a
//!    commit only once its own write is persisted, Raft thesis §10.2.1);
//! 2. `committed_entries()` are applied (they were persisted earlier);
//! 3. `entries()` are appended and `hs()` stored, into the `RawNode`'s storage and
//!    into durable state, and synced ([`Ctx::sync`]);
//! 4. only then are `persisted_messages()` sent (a follower's acknowledgements, a
//!    voter's vote): a crash can no longer take back what they promise;
//! 5. `read_states()` confirm ReadIndex reads;
//! 6. `advance`, and the `LightReady` it returns is handled likewise (its commit
//!    index stored, its messages sent, its committed entries applied), then
//!    `advance_apply`.
//!
//! A handler's sends leave only when it returns, so "sync, then send" within one
//! handler is what a crash can observe: the write is durable before any message of
//! that handler is on the wire.
//!
//! # What survives a crash
//!
//! The log, hard state and voters ([`Persisted`]). The state machine is volatile: a
//! restarted replica builds its `RawNode` from what was synced (with `applied = 0`),
//! and raft-rs hands it every committed entry again from index 1, which it re-applies
//! to an empty [`Store`] and [`Dedup`] table. Everything else (who waits for which
//! entry, pending reads) is volatile too: clients time out and retry.
//!
//! # Randomness
//!
//! raft-rs draws each election timeout from `rand::thread_rng()`, which is not seeded
//! by the run, so a run would not replay. The replica pins it instead: at every boot
//! it draws `e` from its own seeded stream ([`Ctx::rng`]) in `[election-ticks, 2 ×
//! election-ticks)` and sets `min_election_tick = e`, `max_election_tick = e + 1`, so
//! the library's draw has one possible outcome. `library-randomness` leaves raft-rs's
//! own range in place, which consim's determinism check catches. The first tick is
//! also offset by a seeded fraction of a tick, as real replicas do not boot in step.
//!
//! # Clients
//!
//! Writes are proposed on the leader; the replica that proposed a write answers its
//! client when the entry applies, whether or not it still leads then. Entries carry
//! the request's id ([`crate::raft_rs::codec`]) and the state machine keeps a [`Dedup`] table,
//! so a retry that reached the log twice is applied once and answered with the first
//! reply; a leader answers a retry of an applied write straight from the table, and
//! does not propose again a retry of an entry it proposed in its current term.
//!
//! Reads use ReadIndex: the leader asks raft-rs for a read index (raft-rs drops the
//! request until the leader has committed an entry of its term, so until then the
//! replica holds it), and answers from its store once it has applied up to the index
//! raft-rs confirms. A replica that stops leading sends its unconfirmed reads'
//! clients to the new leader.
//!
//! Followers answer [`Answer::Redirect`] to the leader they know. While no leader is
//! known (an election), a request is held for up to an election timeout, then
//! redirected to the leader if one emerged (or served, if this replica won), else
//! answered with a redirect to nobody.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;

use consim::models::client::{Answer, ClientMsg, Dedup, RequestId, Wire, reply};
use consim::models::kv::{Key, Reply, Request, Store};
use consim::sim_core::{Ctx, Duration, Node, NodeId};
use raft::eraftpb::{Entry, EntryType, HardState, Message};
use raft::{INVALID_ID, RawNode, ReadState, StateRole};

use crate::raft_rs::codec::{self, Command};
use crate::raft_rs::storage::Persisted;

/// The largest append message raft-rs sends, in bytes (raft-rs's default, 0, sends
/// one entry per message).
const MAX_APPEND_BYTES: u64 = 1 << 20;

/// Appends a leader may have in flight to one follower.
const MAX_INFLIGHT_APPENDS: usize = 256;

/// With `send-before-persist`: how long after a write the deferred sync happens, as an
/// asynchronous write path with a background flush would.
pub const DEFERRED_SYNC: Duration = Duration::from_millis(10);

/// How a replica integrates raft-rs: its timing, raft-rs's options, and the misuses
/// the model can be told to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Replicas `n0..n{replicas-1}` (raft ids `1..=replicas`).
    pub replicas: usize,
    /// How often the replica ticks raft-rs, on its own clock.
    pub tick: Duration,
    /// raft-rs's `election_tick`: election timeouts are drawn from `[this, 2 × this)`.
    pub election_ticks: usize,
    /// raft-rs's `heartbeat_tick`.
    pub heartbeat_ticks: usize,
    /// raft-rs's `pre_vote`.
    pub pre_vote: bool,
    /// raft-rs's `check_quorum`.
    pub check_quorum: bool,
    /// Leave raft-rs's own election timeout range on: it draws from `thread_rng()`.
    pub library_randomness: bool,
    /// Mistakes an integration can make.
    pub misuse: Misuse,
}

/// Mistakes real raft-rs integrations make, for showing that consim finds them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Misuse {
    /// Send `persisted_messages()` at once, and sync the writes they promise only
    /// [`DEFERRED_SYNC`] later.
    pub send_before_persist: bool,
    /// Answer a client when its write is appended on the leader, not when it is
    /// committed and applied.
    pub ack_on_append: bool,
    /// Serve reads from the leader's local state without ReadIndex.
    pub local_reads: bool,
}

/// The replica's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Tick raft-rs.
    Tick,
    /// `send-before-persist`: the deferred sync.
    Flush,
    /// A request held while no leader was known has waited an election timeout.
    Unrouted {
        /// The hold's number.
        hold: u64,
    },
}

/// A raft-rs message on consim's network. Its `Debug` is one line (the trace shows
/// it), with replicas named as consim names them.
#[derive(Clone, PartialEq)]
pub struct RaftMsg(pub Message);

impl fmt::Debug for RaftMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.0;
        let name = |id: u64| id.checked_sub(1).map_or(-1, |n| n as i64);
        write!(
            f,
            "{:?} n{}→n{} term {} log_term {} index {} commit {}",
            m.get_msg_type(),
            name(m.from),
            name(m.to),
            m.term,
            m.log_term,
            m.index,
            m.commit
        )?;
        if let (Some(first), Some(last)) = (m.entries.first(), m.entries.last()) {
            write!(f, " entries {}..={}", first.index, last.index)?;
        }
        if m.reject {
            write!(f, " reject (hint {})", m.reject_hint)?;
        }
        if !m.context.is_empty() {
            write!(f, " context {:?}", &m.context[..])?;
        }
        Ok(())
    }
}

/// A client's read, waiting for ReadIndex.
#[derive(Clone, Copy, Debug)]
struct PendingRead {
    client: NodeId,
    id: RequestId,
    key: Key,
    /// The term in which the leader took it: raft-rs forgets pending read indexes
    /// when its term changes.
    term: u64,
}

/// A write this replica proposed, waiting to apply.
#[derive(Clone, Copy, Debug)]
struct Waiting {
    client: NodeId,
    /// The term it was proposed in: a retry in a later term is proposed again.
    term: u64,
}

/// A client request held while no leader is known.
#[derive(Clone, Copy, Debug)]
struct Held {
    hold: u64,
    client: NodeId,
    id: RequestId,
    request: Request,
}

/// A replica: raft-rs's `RawNode` over [`Persisted`] storage, and the key-value state
/// machine its committed entries build.
pub struct RaftRsReplica {
    config: Config,
    me: NodeId,
    raw: RawNode<Persisted>,
    // The state machine (volatile: rebuilt from the log after a restart).
    store: Store,
    dedup: Dedup,
    /// Applied up to this index.
    applied: u64,
    /// Writes this replica proposed, by request id, until they apply.
    waiting: BTreeMap<RequestId, Waiting>,
    /// ReadIndex requests handed to raft-rs, by read number.
    reads: BTreeMap<u64, PendingRead>,
    /// Reads held until the leader has committed an entry of its term.
    deferred_reads: Vec<PendingRead>,
    /// Reads raft-rs confirmed, with their read index: served once applied.
    confirmed_reads: Vec<(u64, PendingRead)>,
    /// Read numbers so far.
    next_read: u64,
    /// Requests that arrived while no leader was known.
    held: Vec<Held>,
    /// Holds so far, to number them.
    holds: u64,
    /// `send-before-persist`: a deferred sync is pending.
    flush_armed: bool,
}

impl fmt::Debug for RaftRsReplica {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RaftRsReplica")
            .field("me", &self.me)
            .field("role", &self.raw.raft.state)
            .field("term", &self.raw.raft.term)
            .field("leader", &self.leader())
            .field("last_index", &self.raw.store().last_index())
            .field("commit", &self.raw.raft.raft_log.committed)
            .field("applied", &self.applied)
            .finish_non_exhaustive()
    }
}

/// raft-rs's id of replica `node` (raft ids start at 1).
pub fn raft_id(node: NodeId) -> u64 {
    u64::from(node.0) + 1
}

/// The replica raft-rs's id `id` names.
///
/// # Panics
///
/// If `id` is 0 (raft-rs's "nobody") or too large: raft-rs only names the voters it
/// was configured with.
pub fn node_id(id: u64) -> NodeId {
    let index = id.checked_sub(1).expect("raft id 0 names no replica");
    NodeId(u32::try_from(index).expect("raft ids come from node ids"))
}

// Accessors, for tests and invariants.
impl RaftRsReplica {
    /// The raft-rs node, to inspect.
    pub fn raw(&self) -> &RawNode<Persisted> {
        &self.raw
    }

    /// The log as this replica holds it (synced or not).
    pub fn log(&self) -> &imbl::Vector<Entry> {
        &self.raw.store().entries
    }

    /// Applied to the state machine up to this index.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// The state machine, applied up to [`RaftRsReplica::applied`].
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The leader this replica knows of (itself, if it leads).
    pub fn leader(&self) -> Option<NodeId> {
        let leader = self.raw.raft.leader_id;
        (leader != INVALID_ID).then(|| node_id(leader))
    }

    fn is_leader(&self) -> bool {
        self.raw.raft.state == StateRole::Leader
    }

    fn term(&self) -> u64 {
        self.raw.raft.term
    }
}

impl Node for RaftRsReplica {
    type Config = Config;
    type Msg = Wire<RaftMsg>;
    type Timer = Timer;
    type Durable = Persisted;
    type Input = Infallible;
    type Output = Infallible;

    fn deadline(msg: &Self::Msg) -> Option<Duration> {
        consim::models::client::request_deadline(msg)
    }

    fn class(msg: &Self::Msg) -> usize {
        consim::models::client::request_class(msg)
    }

    fn start(config: &Config, ctx: &mut Ctx<'_, Self>) -> Self {
        bootstrap(config, ctx);
        let election =
            config.election_ticks + ctx.rng().below(config.election_ticks as u64) as usize;
        let raw = RawNode::new(
            &raft_config(config, ctx.id(), election),
            ctx.durable().clone(),
            &slog::Logger::root(slog::Discard, slog::o!()),
        )
        .expect("the settings were checked when the model was built");
        let mut replica = RaftRsReplica {
            config: *config,
            me: ctx.id(),
            raw,
            store: Store::default(),
            dedup: Dedup::default(),
            applied: 0,
            waiting: BTreeMap::new(),
            reads: BTreeMap::new(),
            deferred_reads: Vec::new(),
            confirmed_reads: Vec::new(),
            next_read: 0,
            held: Vec::new(),
            holds: 0,
            flush_armed: false,
        };
        let phase = ctx.rng().below(config.tick.as_nanos().max(1));
        ctx.set_timer(Duration::from_nanos(phase + 1), Timer::Tick);
        replica.drive(ctx); // After a restart: re-apply the committed log.
        replica
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Wire<RaftMsg>) {
        match msg {
            Wire::Client(ClientMsg::Request { id, request, .. }) => {
                self.on_request(ctx, from, id, request);
            }
            Wire::Client(ClientMsg::Reply { .. }) => {} // Replicas receive no replies.
            Wire::Peer(RaftMsg(message)) => {
                // raft-rs refuses only local message types and responses from peers
                // it does not know; the replicas of one fixed cluster send neither.
                self.raw
                    .step(message)
                    .expect("replicas send raft-rs only network messages of known peers");
            }
        }
        self.drive(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match timer {
            Timer::Tick => {
                self.raw.tick();
                ctx.set_timer(self.config.tick, Timer::Tick);
            }
            Timer::Flush => {
                self.flush_armed = false;
                ctx.sync();
            }
            Timer::Unrouted { hold } => {
                if let Some(at) = self.held.iter().position(|held| held.hold == hold) {
                    let held = self.held.remove(at);
                    ctx.send(
                        held.client,
                        reply(held.id, Answer::Redirect { to: None }, 0),
                    );
                }
            }
        }
        self.drive(ctx);
    }
}

impl consim::models::Replica for RaftRsReplica {
    type Peer = RaftMsg;

    fn leads(&self) -> bool {
        self.is_leader()
    }

    fn term(&self) -> u64 {
        RaftRsReplica::term(self)
    }
}

/// On the first boot, formats the disk with the cluster's voters (what `raft
/// bootstrap` tools do), and syncs it.
fn bootstrap(config: &Config, ctx: &mut Ctx<'_, RaftRsReplica>) {
    if ctx.durable().conf_state.voters.is_empty() {
        let voters = (0..config.replicas as u32).map(|i| raft_id(NodeId(i)));
        ctx.durable_mut().conf_state.voters = voters.collect();
        ctx.sync();
    }
}

/// raft-rs's configuration for replica `me`, with its election timeout pinned to
/// `election` ticks unless the library's own randomness is asked for.
pub fn raft_config(config: &Config, me: NodeId, election: usize) -> raft::Config {
    let (min_election_tick, max_election_tick) = if config.library_randomness {
        (0, 0) // raft-rs's defaults: [election_tick, 2 × election_tick), thread_rng.
    } else {
        (election, election + 1)
    };
    raft::Config {
        id: raft_id(me),
        election_tick: config.election_ticks,
        heartbeat_tick: config.heartbeat_ticks,
        min_election_tick,
        max_election_tick,
        pre_vote: config.pre_vote,
        check_quorum: config.check_quorum,
        max_size_per_msg: MAX_APPEND_BYTES,
        max_inflight_msgs: MAX_INFLIGHT_APPENDS,
        applied: 0,
        ..raft::Config::default()
    }
}

// The Ready loop.
impl RaftRsReplica {
    /// Handles everything raft-rs has ready, then what it unblocked: deferred reads
    /// once the leader has committed in its term, held requests once a leader is
    /// known, reads applied far enough, reads a deposed leader can no longer confirm.
    fn drive(&mut self, ctx: &mut Ctx<'_, Self>) {
        loop {
            while self.raw.has_ready() {
                self.handle_ready(ctx);
            }
            let issued = self.issue_deferred_reads();
            let released = self.release_held(ctx);
            if !issued && !released {
                break;
            }
        }
        self.serve_confirmed_reads(ctx);
        self.redirect_lost_reads(ctx);
    }

    /// One `Ready`, in the order raft-rs's contract asks (see the module docs).
    fn handle_ready(&mut self, ctx: &mut Ctx<'_, Self>) {
        let mut ready = self.raw.ready();
        self.send(ctx, ready.take_messages());
        assert!(
            ready.snapshot().is_empty(),
            "{}: raft-rs handed out a snapshot, but the log is never compacted",
            self.me
        );
        self.apply(ctx, ready.take_committed_entries());
        self.persist(ctx, ready.entries(), ready.hs());
        if self.config.misuse.ack_on_append {
            self.ack_appended(ctx, ready.entries());
        }
        self.send(ctx, ready.take_persisted_messages());
        self.confirm_reads(ready.take_read_states());
        let mut light = self.raw.advance(ready);
        if let Some(commit) = light.commit_index() {
            self.persist_commit(ctx, commit);
        }
        self.send(ctx, light.take_messages());
        self.apply(ctx, light.take_committed_entries());
        self.raw.advance_apply();
    }

    fn send(&self, ctx: &mut Ctx<'_, Self>, messages: Vec<Message>) {
        for message in messages {
            ctx.send(node_id(message.to), Wire::Peer(RaftMsg(message)));
        }
    }

    /// Writes `entries` and `hard_state` to the `RawNode`'s storage and to durable
    /// state, and syncs.
    fn persist(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        entries: &[Entry],
        hard_state: Option<&HardState>,
    ) {
        if entries.is_empty() && hard_state.is_none() {
            return;
        }
        let disk = self.raw.mut_store();
        disk.append(entries);
        if let Some(hard_state) = hard_state {
            disk.hard_state = hard_state.clone();
        }
        *ctx.durable_mut() = disk.clone();
        self.sync(ctx);
    }

    /// Stores a commit index a `LightReady` reports (raft-rs does not require it on
    /// disk; keeping it lets a restarted replica re-apply without waiting to hear it).
    fn persist_commit(&mut self, ctx: &mut Ctx<'_, Self>, commit: u64) {
        let disk = self.raw.mut_store();
        disk.hard_state.commit = commit;
        *ctx.durable_mut() = disk.clone();
        self.sync(ctx);
    }

    /// Syncs durable state now, or, with `send-before-persist`, a little later.
    fn sync(&mut self, ctx: &mut Ctx<'_, Self>) {
        if !self.config.misuse.send_before_persist {
            ctx.sync();
        } else if !self.flush_armed {
            self.flush_armed = true;
            ctx.set_timer(DEFERRED_SYNC, Timer::Flush);
        }
    }
}

// The state machine.
impl RaftRsReplica {
    /// Applies committed entries, answering the clients whose writes this replica
    /// proposed.
    fn apply(&mut self, ctx: &mut Ctx<'_, Self>, entries: Vec<Entry>) {
        for entry in entries {
            assert_eq!(
                entry.index,
                self.applied + 1,
                "{}: raft-rs hands out committed entries in order",
                self.me
            );
            self.applied = entry.index;
            if entry.get_entry_type() != EntryType::EntryNormal || entry.data.is_empty() {
                continue; // A new leader's empty entry (no configuration changes here).
            }
            let command =
                codec::decode(&entry.data).expect("every entry was proposed by a replica");
            let done = self.apply_command(command);
            if let Some(waiting) = self.waiting.remove(&command.id)
                && let Some(done) = done
            {
                ctx.send(waiting.client, reply(command.id, Answer::Done(done), 0));
            }
        }
    }

    /// Applies one command once: a request already applied (a retry that reached the
    /// log twice) gets the first reply and changes nothing; a request older than its
    /// client's last applied one (a late duplicate) is skipped.
    fn apply_command(&mut self, Command { id, request }: Command) -> Option<Reply> {
        if self.dedup.stale(id) {
            return None;
        }
        if let Some(done) = self.dedup.seen(id) {
            return Some(done.clone());
        }
        let done = self.store.apply(&request);
        self.dedup.record(id, done.clone());
        Some(done)
    }

    /// `ack-on-append`: answers the writes in `entries` as soon as the leader has
    /// appended them, with the reply they would get if applied now.
    fn ack_appended(&mut self, ctx: &mut Ctx<'_, Self>, entries: &[Entry]) {
        if !self.is_leader() {
            return;
        }
        for entry in entries.iter().filter(|e| !e.data.is_empty()) {
            let command =
                codec::decode(&entry.data).expect("every entry was proposed by a replica");
            if let Some(waiting) = self.waiting.remove(&command.id) {
                let done = self.store.clone().apply(&command.request);
                ctx.send(waiting.client, reply(command.id, Answer::Done(done), 0));
            }
        }
    }
}

// Clients.
impl RaftRsReplica {
    fn on_request(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        client: NodeId,
        id: RequestId,
        request: Request,
    ) {
        if !self.is_leader() {
            self.route_elsewhere(ctx, client, id, request);
        } else if request.is_write() {
            self.on_write(ctx, client, id, request);
        } else {
            self.on_read(ctx, client, id, request.key());
        }
    }

    /// A follower sends the client to the leader it knows, or holds the request until
    /// it knows one.
    fn route_elsewhere(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        client: NodeId,
        id: RequestId,
        request: Request,
    ) {
        match self.leader().filter(|&leader| leader != self.me) {
            Some(to) => ctx.send(client, reply(id, Answer::Redirect { to: Some(to) }, 0)),
            None if self.held.iter().any(|held| held.id == id) => {} // Held already.
            None => {
                self.holds += 1;
                let hold = self.holds;
                self.held.push(Held {
                    hold,
                    client,
                    id,
                    request,
                });
                let wait = self.config.tick.as_nanos() * self.config.election_ticks as u64;
                ctx.set_timer(Duration::from_nanos(wait), Timer::Unrouted { hold });
            }
        }
    }

    /// A leader known now: serves the held requests if it is this replica, or sends
    /// their clients to it. Whether it did anything.
    fn release_held(&mut self, ctx: &mut Ctx<'_, Self>) -> bool {
        let known = self
            .leader()
            .is_some_and(|leader| leader != self.me || self.is_leader());
        if self.held.is_empty() || !known {
            return false;
        }
        for held in std::mem::take(&mut self.held) {
            self.on_request(ctx, held.client, held.id, held.request);
        }
        true
    }

    fn on_write(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        client: NodeId,
        id: RequestId,
        request: Request,
    ) {
        if self.dedup.stale(id) {
            return; // Its client has moved on: nobody waits for an answer.
        }
        if let Some(done) = self.dedup.seen(id) {
            // Applied already: the first answer again.
            ctx.send(client, reply(id, Answer::Done(done.clone()), 0));
            return;
        }
        let term = self.term();
        if self
            .waiting
            .get(&id)
            .is_some_and(|waiting| waiting.term == term)
        {
            return; // A retry of an entry proposed in this term: answered when it applies.
        }
        // An older request of the same client will not be waited for again.
        self.waiting
            .retain(|other, _| other.client != id.client || other.seq >= id.seq);
        match self.raw.propose(Vec::new(), codec::encode(id, &request)) {
            Ok(()) => {
                self.waiting.insert(id, Waiting { client, term });
            }
            // Dropped (a leadership transfer, or no longer leader): nothing appended.
            // An earlier attempt may be in the log, so this is a redirect, not a refusal.
            Err(_) => ctx.send(client, reply(id, Answer::Redirect { to: None }, 0)),
        }
    }

    fn on_read(&mut self, ctx: &mut Ctx<'_, Self>, client: NodeId, id: RequestId, key: Key) {
        if self.config.misuse.local_reads {
            ctx.send(client, reply(id, Answer::Done(self.store.read(key)), 0));
            return;
        }
        let read = PendingRead {
            client,
            id,
            key,
            term: self.term(),
        };
        if self.raw.raft.commit_to_current_term() {
            self.request_read_index(read);
        } else {
            self.deferred_reads.push(read);
        }
    }

    fn request_read_index(&mut self, read: PendingRead) {
        self.next_read += 1;
        self.reads.insert(self.next_read, read);
        self.raw.read_index(codec::read_context(self.next_read));
    }

    /// Hands raft-rs the reads held until the leader committed an entry of its term.
    /// Whether it did. (Reads of an earlier term stay for
    /// [`RaftRsReplica::redirect_lost_reads`].)
    fn issue_deferred_reads(&mut self) -> bool {
        if self.deferred_reads.is_empty()
            || !self.is_leader()
            || !self.raw.raft.commit_to_current_term()
        {
            return false;
        }
        let term = self.term();
        let (now, earlier): (Vec<PendingRead>, Vec<PendingRead>) =
            std::mem::take(&mut self.deferred_reads)
                .into_iter()
                .partition(|read| read.term == term);
        self.deferred_reads = earlier;
        let issued = !now.is_empty();
        for read in now {
            self.request_read_index(read);
        }
        issued
    }

    fn confirm_reads(&mut self, states: Vec<ReadState>) {
        for state in states {
            let read = codec::read_number(&state.request_ctx).and_then(|n| self.reads.remove(&n));
            if let Some(read) = read {
                self.confirmed_reads.push((state.index, read));
            }
        }
    }

    /// Answers the confirmed reads whose read index is applied.
    fn serve_confirmed_reads(&mut self, ctx: &mut Ctx<'_, Self>) {
        let applied = self.applied;
        let store = &self.store;
        self.confirmed_reads.retain(|(index, read)| {
            let ready = *index <= applied;
            if ready {
                let answer = Answer::Done(store.read(read.key));
                ctx.send(read.client, reply(read.id, answer, 0));
            }
            !ready
        });
    }

    /// Reads taken in a term this replica no longer leads will never be confirmed
    /// (raft-rs forgot them): their clients go to the leader.
    fn redirect_lost_reads(&mut self, ctx: &mut Ctx<'_, Self>) {
        let (leading, term) = (self.is_leader(), self.term());
        let lost = |read: &PendingRead| !leading || read.term != term;
        let to = self.leader().filter(|&leader| leader != self.me);
        let mut gone: Vec<PendingRead> = Vec::new();
        self.reads.retain(|_, read| {
            let keep = !lost(read);
            if !keep {
                gone.push(*read);
            }
            keep
        });
        self.deferred_reads.retain(|read| {
            let keep = !lost(read);
            if !keep {
                gone.push(*read);
            }
            keep
        });
        for read in gone {
            ctx.send(read.client, reply(read.id, Answer::Redirect { to }, 0));
        }
    }
}
