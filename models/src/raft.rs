//! `raft`: a replicated key-value store on Raft, and four bugs people write into it.
//!
//! Raft (Ongaro and Ousterhout, 2014) keeps a log of commands identical on a majority
//! of replicas and applies it, in order, to a state machine (here the [`Store`] and
//! its [`Dedup`] table). One replica at a time leads a **term**; it appends clients'
//! writes to its log, ships them to the others, and applies an entry once it is
//! **committed**: stored on a majority, so that every later leader has it.
//!
//! This page walks through how the model is written, in the order a reader would write
//! it. It is longer than [`crate::single_copy`] because Raft has more moving parts,
//! but the shape is the same: one [`Node`] ([`RaftReplica`]), a peer message type
//! ([`Peer`]), and a [`Model`] ([`Raft`]) that turns [`Params`] into configurations.
//!
//! # State: what survives a crash, and what does not
//!
//! Raft's safety rests on three things surviving a crash: the **current term**, the
//! **vote** cast in it, and the **log** ([`Persistent`], the node's
//! [`Node::Durable`]). The replica keeps its working copy of them in its own fields
//! (so tests can inspect them through [`sim_core::Sim::replica`]) and copies them into
//! [`Ctx::durable_mut`] whenever they change; [`Ctx::sync`] then makes them survive.
//! The log is a [`Log`], whose copies share all but its last few entries, so that
//! copy is a pointer bump, and the next append copies fewer than [`CHUNK`] entries.
//!
//! **The sync rule**: a replica syncs before any message that depends on what it
//! wrote leaves it (a handler's sends go out when it returns, so "sync in the same
//! handler" is enough): before granting a vote, before acknowledging entries, and
//! before the leader counts its own copy of a new entry. `raft-ack-before-sync`
//! breaks exactly this rule for the log.
//!
//! Everything else is volatile and rebuilt after a restart: the role, who leads, the
//! commit index (a restarted replica starts at 0 and learns it again from the leader)
//! and the state machine (re-applied from the log as the commit index comes back).
//!
//! # Elections
//!
//! Timers are set on the node's own clock ([`Ctx::set_timer`]), which drifts but does
//! not jump; the model never reads [`Ctx::now`] (only `raft-lease-drift` does), so
//! clock jumps cannot hurt it.
//!
//! - A follower that hears from a leader is **in contact** for `election-ms`
//!   ([`Timer::Quiet`]); after that it waits a further random `0..election-ms`
//!   ([`Timer::Campaign`]) and then stands: it increments its term, votes for itself,
//!   syncs, and asks everyone with [`Peer::RequestVote`]. Randomised timeouts make
//!   split votes rare.
//! - **PreVote** (`pre-vote`, on by default; the Raft thesis, §9.6): before it
//!   stands, a replica asks everyone whether they would vote for it in the next term
//!   ([`Peer::PreVote`]), changing nothing, and stands only if a majority would. A
//!   replica that cannot be elected — one that cannot hear the answers, or whose log
//!   is behind — then never raises the others' terms, and cannot keep a working
//!   majority from electing a leader.
//! - A replica grants its vote at most once per term, only to a candidate whose log is
//!   at least as up to date as its own (last term, then length), and syncs the vote
//!   before answering.
//! - A replica that is in contact with a leader, or leads, ignores vote requests (the
//!   Raft thesis, §4.2.3): this keeps a rejoining replica from deposing a working
//!   leader, and it is what makes leases safe (below). A replica that restarts counts
//!   as in contact, since it cannot know whom it heard from before the crash; one that
//!   has never seen a term (a fresh cluster) waits only the random part.
//! - A candidate with votes from a majority leads. It appends a **no-op** entry of
//!   its term at once (see the commit rule) and starts heartbeats.
//! - A leader stays leader until it hears of a later term. Cut off from the others,
//!   it cannot commit anything, so its clients time out and look elsewhere.
//! - **CheckQuorum** (`check-quorum`, off by default): a leader that a majority has
//!   not answered for an election timeout steps down ([`Timer::CheckQuorum`]). Only
//!   this deposes a leader whose followers hear it but which cannot hear them (they
//!   stay in contact, so nobody else may stand). It is off by default because in
//!   consim's standard nemeses it costs availability instead (operations that took
//!   effect, seeds 0..200, with PreVote: crash-restart 99.5% → 99.1%, swarm 96.8% →
//!   96.2%; pinned by the scenarios test
//!   `check_quorum_costs_availability_under_the_standard_nemeses`), and because it
//!   bounds how long a deposed leader serves lease reads, hiding `raft-lease-drift`.
//!
//! # Replication and the commit rule
//!
//! The leader keeps, per follower, the next index to send and the highest index known
//! to match. [`Peer::Append`] carries the entries from `next` on (at most
//! [`MAX_BATCH`]), the index and term just before them, and the leader's commit index;
//! the leader moves `next` past what it sent without waiting (pipelining), and moves
//! it back when a follower answers with a mismatch. Heartbeats are the same message,
//! with whatever is unsent (often nothing); lost messages are repaired by the next
//! heartbeat's mismatch.
//!
//! A follower accepts entries only if its log holds the entry just before them with
//! the same term; it then truncates only at the first entry that conflicts (never
//! because of a stale, reordered message), syncs, and answers with the index up to
//! which its log now matches the leader's.
//!
//! **The commit rule**: the leader takes the highest index stored on a majority, and
//! commits it only if that entry is **of its current term**. An entry of an earlier
//! term can sit on a majority and still be overwritten by a later leader (Figure 8 of
//! the Raft paper); it commits only once an entry of the current term after it does.
//! This is why a new leader appends a no-op: it commits the inherited entries promptly.
//! `raft-commit-old-term` counts replicas for entries of any term.
//!
//! # Clients: redirects, idempotency, and indeterminate answers
//!
//! Clients route to the leader ([`Routing::Leader`]); a follower answers
//! [`Answer::Redirect`] naming the leader it last heard from. A replica that knows of
//! no leader (an election is under way) holds the request for up to `election-ms`
//! instead: when a leader emerges it redirects the client there
//! (or serves it, if it won), and only if none does in time does it answer a redirect
//! to nobody. Without this, a client's retries would all bounce off replicas during
//! the first election and fail operations on a cluster with no fault at all. Log entries carry the
//! client's [`RequestId`], and the state machine keeps a [`Dedup`] table: applying an
//! entry whose id was already applied (a retry that reached the log twice) answers the
//! first reply and changes nothing, and an entry older than its client's last applied
//! request (a late duplicate) is skipped. The table is part of the applied state, so
//! every replica dedups identically. A leader also answers a retry of an applied
//! request straight from the table, and does not append a retry whose first attempt is
//! still in its log.
//!
//! The replica that appended a write answers its client when the entry applies,
//! whether or not it still leads by then (the entry may commit under the next leader),
//! and answers [`Answer::Indeterminate`] if the entry is overwritten (a copy appended
//! by another leader, for a retry, may still commit). If neither happens, the client
//! times out.
//!
//! # Reads
//!
//! A read must see every write acknowledged before it was sent, so a leader cannot
//! just read its state: it may have been deposed without knowing it, or (newly
//! elected) not yet know how far the log is committed. By default reads use
//! **ReadIndex**: the leader notes its commit index (at least its no-op's index), sends
//! a round of heartbeats, and answers once a majority has acknowledged a round sent
//! after the read arrived (so it still led when the read arrived) and it has applied
//! up to the noted index. Every broadcast is a numbered round, and followers echo the
//! round in their answers.
//!
//! **Leases** (`lease-ms`, off by default): once a majority acknowledged a round, no
//! other leader can be elected until every replica of that majority has been out of
//! contact for `election-ms` on its own clock. The leader therefore serves reads
//! locally for `lease-ms` after sending that round ([`Timer::LeaseEnd`]), provided
//! that, even with every clock drifting by up to `drift-ppm`, `lease-ms` on its clock
//! ends before `election-ms` on theirs: `lease ≤ election × (1 − ρ) / (1 + ρ)`.
//! A lease also starts only once the leader has committed its no-op, like ReadIndex.
//!
//! # The bug zoo
//!
//! Each bug is a [`RaftBug`] and a model name of its own. What shows each one is
//! worth knowing, since most faults do not:
//!
//! - `raft-commit-old-term`: commits an entry of an earlier term by counting replicas.
//!   Believing that this commits inherited entries, it appends no no-op on election and
//!   serves reads once everything it had at election is committed. An entry a minority
//!   held in an earlier term can then be committed, read and acknowledged, and then
//!   overwritten by a leader with a later-term entry at the same index. It takes
//!   leaders cut off in quick succession, which leave entries of several terms on
//!   minorities; clients see the overwrite far more rarely than it happens, since the
//!   entry is doomed only while its leader has no entry of its own term on a majority.
//! - `raft-stale-read`: a leader answers reads from its state straight away. A deposed
//!   leader cut off with a minority, or a new leader that has not committed its no-op
//!   yet, returns old values. Clients see it when some of them are cut off with the
//!   old leader while others write through the new one.
//! - `raft-lease-drift`: serves lease reads for `lease-ms` (default: `election-ms`)
//!   and trusts its clock to keep true time: it leaves no margin for drift, and it
//!   measures the lease on its wall clock ([`Ctx::now`]) rather than with a timer. It
//!   is safe while clocks keep time; when the leader's clock runs slow or jumps back,
//!   or its followers' run fast, its lease outlives their contact windows, and a
//!   leader elected meanwhile can commit writes it does not see. Clients see it when
//!   the leader is cut off (with some of them) while its clock misleads it.
//! - `raft-ack-before-sync`: writes the log without syncing it, and syncs only in
//!   the background (every [`BACKGROUND_SYNC`]) or along with a vote. A crash loses
//!   acknowledged entries, and a leader elected without them overwrites them; crashes
//!   of several replicas at once show it best.
//!
//! # Settings
//!
//! [`RaftSettings`] declares them, with their defaults and ranges (`consim list`
//! prints them): `replicas`, `election-ms` (election timeouts are random in
//! `[election-ms, 2 × election-ms)`), `heartbeat-ms` (below `election-ms`), `lease-ms`
//! (0: no lease), `drift-ppm` (the drift a lease must survive), `pre-vote` and
//! `check-quorum`. Nonsense is refused when the model is built, as a
//! [`ModelError::BadParam`] naming the setting:
//!
//! ```
//! use models::raft::RAFT;
//! use models::{ModelError, Params};
//! let err = RAFT.model(&Params::default().with("lease-ms", 200)).unwrap_err();
//! assert!(matches!(&err, ModelError::BadParam { param, .. } if param == "lease-ms"));
//! assert!(RAFT.model(&Params::default()).is_ok());
//! ```

pub mod invariants;
mod log;

pub use log::{CHUNK, Log};

use std::collections::BTreeMap;
use std::convert::Infallible;

use sim_core::{Ctx, Duration, Node, NodeId, Time};

use crate::client::{Answer, ClientMsg, Dedup, RequestId, Routing, Wire, reply};
use crate::kv::Mix;
use crate::kv::{Key, Reply, Request, Store};
use crate::{Declaration, Guarantee, Model, ModelError, ModelInfo};

/// A position in the log, counting from 1 (0: before the first entry).
pub type Index = u64;

/// A term: a period with at most one leader.
pub type Term = u64;

/// Entries one [`Peer::Append`] carries at most.
pub const MAX_BATCH: usize = 64;

/// How often `raft-ack-before-sync` syncs its log in the background.
pub const BACKGROUND_SYNC: Duration = Duration::from_millis(1_000);

/// The bugs of the bug zoo; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RaftBug {
    /// `raft-commit-old-term`: commits entries of earlier terms by counting replicas.
    CommitOldTerm,
    /// `raft-stale-read`: a leader reads its state without confirming it still leads.
    StaleRead,
    /// `raft-lease-drift`: lease reads whose bound assumes clocks do not drift.
    LeaseDrift,
    /// `raft-ack-before-sync`: acknowledges log entries before syncing them.
    AckBeforeSync,
}

impl RaftBug {
    /// Every bug, in catalog order.
    pub const ALL: [RaftBug; 4] = [
        RaftBug::CommitOldTerm,
        RaftBug::StaleRead,
        RaftBug::LeaseDrift,
        RaftBug::AckBeforeSync,
    ];

    /// The model name of the variant with this bug.
    ///
    /// ```
    /// use models::raft::RaftBug;
    /// assert_eq!(RaftBug::StaleRead.name(), "raft-stale-read");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            RaftBug::CommitOldTerm => "raft-commit-old-term",
            RaftBug::StaleRead => "raft-stale-read",
            RaftBug::LeaseDrift => "raft-lease-drift",
            RaftBug::AckBeforeSync => "raft-ack-before-sync",
        }
    }
}

/// What a log entry asks the state machine to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Nothing: the entry a new leader appends to commit what it inherited.
    Noop,
    /// A client's write (reads do not go through the log).
    Client {
        /// The request's idempotency key.
        id: RequestId,
        /// The write.
        request: Request,
    },
}

/// One log entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The term of the leader that appended it.
    pub term: Term,
    /// What it does.
    pub command: Command,
}

/// What a replica keeps in durable state.
#[derive(Clone, Debug, Default)]
pub struct Persistent {
    /// The latest term it has seen.
    pub term: Term,
    /// Whom it voted for in `term`.
    pub voted_for: Option<NodeId>,
    /// The log; entry `i` is at position `i - 1`.
    pub log: Log,
}

/// A replica's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asks for votes.
    Candidate,
    /// Leads its term.
    Leader,
}

/// How a follower answered an [`Peer::Append`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Its log matches the leader's up to this index.
    Matched(Index),
    /// Its log does not hold the entry before the ones sent; try again from `hint`.
    Mismatch {
        /// The index the leader should send from next.
        hint: Index,
    },
}

/// Messages between replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// A candidate asks for a vote.
    RequestVote {
        /// The candidate's term.
        term: Term,
        /// The index of its last log entry.
        last_index: Index,
        /// The term of its last log entry.
        last_term: Term,
    },
    /// PreVote: would you vote for me in `term` (one past mine)? Changes nothing.
    PreVote {
        /// The term the asker would stand in.
        term: Term,
        /// The index of its last log entry.
        last_index: Index,
        /// The term of its last log entry.
        last_term: Term,
    },
    /// The answer to a [`Peer::PreVote`].
    PreVoteReply {
        /// The term asked about, echoed.
        term: Term,
        /// Whether a vote would be granted.
        granted: bool,
    },
    /// The answer to a vote request.
    Vote {
        /// The voter's term.
        term: Term,
        /// Whether the vote was granted.
        granted: bool,
    },
    /// Entries (or none: a heartbeat) from the leader.
    Append {
        /// The leader's term.
        term: Term,
        /// The index of the entry just before `entries`.
        prev_index: Index,
        /// The term of that entry.
        prev_term: Term,
        /// Entries from `prev_index + 1` on.
        entries: Vec<Entry>,
        /// The leader's commit index.
        commit: Index,
        /// The leader's round number, echoed in the answer (for ReadIndex and leases).
        round: u64,
    },
    /// A follower's answer to an [`Peer::Append`].
    AppendReply {
        /// The follower's term.
        term: Term,
        /// The round answered.
        round: u64,
        /// What happened.
        outcome: AppendOutcome,
    },
}

/// The timers of a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// `election-ms` passed since the leader was last heard (set `epoch`): the contact
    /// window ends.
    Quiet {
        /// The contact epoch it was set in; a later contact makes it stale.
        epoch: u64,
    },
    /// The random rest of the election timeout passed: stand for election.
    Campaign {
        /// The epoch it was set in.
        epoch: u64,
    },
    /// Time for the leader of `term` to send a round of heartbeats.
    Heartbeat {
        /// The term it was set in.
        term: Term,
    },
    /// The lease from round `round` of `term` is over.
    LeaseEnd {
        /// The term.
        term: Term,
        /// The round.
        round: u64,
    },
    /// `raft-ack-before-sync`'s background sync.
    BackgroundSync,
    /// Time for the leader of `term` to check that a majority still answers it.
    CheckQuorum {
        /// The term it was set in.
        term: Term,
    },
    /// A request held while no leader was known has waited `election-ms`: send its
    /// client away.
    Unrouted {
        /// The hold's number (a request released and held again is a new hold).
        hold: u64,
    },
}

/// The configuration every replica of one model shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Replicas `n0..n{replicas-1}`.
    pub replicas: usize,
    /// The contact window, and the least election timeout (timeouts are random in
    /// `[election, 2 × election)`).
    pub election: Duration,
    /// How often a leader sends heartbeats.
    pub heartbeat: Duration,
    /// How long a leader serves reads locally after a round a majority acknowledged;
    /// `None`: no leases, reads use ReadIndex.
    pub lease: Option<Duration>,
    /// Whether a leader steps down when a majority has not answered it for an
    /// election timeout (CheckQuorum).
    pub check_quorum: bool,
    /// Whether a replica asks for pre-votes before it stands, and stands (raising its
    /// term) only if a majority would vote for it (PreVote).
    pub pre_vote: bool,
    /// The bug, for a bug-zoo variant.
    pub bug: Option<RaftBug>,
}

/// A read waiting for ReadIndex to confirm it.
#[derive(Clone, Copy, Debug)]
struct PendingRead {
    /// Who asked, and the request's id.
    client: NodeId,
    id: RequestId,
    key: Key,
    /// Serve once applied up to here.
    index: Index,
    /// Serve once a majority acknowledged this round.
    round: u64,
}

/// What only a leader keeps; dropped when it steps down.
#[derive(Debug)]
struct Leader {
    /// Per replica: the next index to send.
    next: Vec<Index>,
    /// Per replica: the highest index known to match.
    matched: Vec<Index>,
    /// Per replica: the highest round it acknowledged in this term.
    acked: Vec<u64>,
    /// The last round sent.
    round: u64,
    /// CheckQuorum: the round a majority must have acknowledged by the next check.
    quorum_round: u64,
    /// The highest round whose lease has ended.
    lease_over: u64,
    /// `raft-lease-drift`: the wall-clock time each round was sent, by round - 1.
    sent_at: Vec<Time>,
    /// Reads are served once this index is committed (the no-op's index).
    caught_up: Index,
    /// Where each request appended in this term sits in the log, until it applies.
    in_log: BTreeMap<RequestId, Index>,
    /// Reads waiting for ReadIndex.
    reads: Vec<PendingRead>,
}

/// A Raft replica.
///
/// Its fields are private; tests read its state through the accessors
/// ([`RaftReplica::term`], [`RaftReplica::role`], [`RaftReplica::commit_index`], [`RaftReplica::log`]…)
/// on the value [`sim_core::Sim::replica`] returns.
#[derive(Debug)]
pub struct RaftReplica {
    config: Config,
    me: NodeId,
    // Persistent: copied into durable state and synced whenever they change.
    term: Term,
    voted_for: Option<NodeId>,
    log: Log,
    // Volatile.
    role: Role,
    leader_hint: Option<NodeId>,
    /// Committed and applied up to here (always both: entries apply as they commit).
    commit: Index,
    store: Store,
    dedup: Dedup,
    /// Heard from a leader within `election` (or restarted within it): ignores votes.
    in_contact: bool,
    /// Bumped whenever the election timeout restarts; older timers are stale.
    epoch: u64,
    /// As a candidate: who voted for it in its term.
    votes: Vec<bool>,
    /// PreVote: who would vote for this replica in the term after its own, while it
    /// asks.
    pre_votes: Option<Vec<bool>>,
    leader: Option<Leader>,
    /// Writes this replica appended as leader, by index, with the client to answer
    /// when they apply (whether or not it still leads then).
    waiting: BTreeMap<Index, (NodeId, RequestId)>,
    /// Client requests that arrived while no leader was known (an election under way),
    /// held for up to `election-ms` until one is: then redirected to it, or served if
    /// this replica won.
    unrouted: Vec<Held>,
    /// Holds so far, to number them.
    holds: u64,
}

/// A client request held while no leader is known.
#[derive(Clone, Copy, Debug)]
struct Held {
    hold: u64,
    client: NodeId,
    id: RequestId,
    request: Request,
}

// ANCHOR: accessors
impl RaftReplica {
    /// The latest term this replica has seen.
    pub fn term(&self) -> Term {
        self.term
    }

    /// Its role now.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whom it voted for in its current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }

    /// The leader it last heard from (itself, if it leads).
    pub fn leader_hint(&self) -> Option<NodeId> {
        self.leader_hint
    }

    /// The highest index it knows to be committed (and has applied).
    pub fn commit_index(&self) -> Index {
        self.commit
    }

    /// Its log; entry `i` is at position `i - 1`.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Its state machine, applied up to [`RaftReplica::commit_index`].
    pub fn store(&self) -> &Store {
        &self.store
    }
}
// ANCHOR_END: accessors

impl RaftReplica {
    fn majority(&self) -> usize {
        self.config.replicas / 2 + 1
    }

    fn last_index(&self) -> Index {
        self.log.len() as Index
    }

    /// The term and index of the last log entry: what decides whose log is more up to
    /// date in an election.
    fn last_entry(&self) -> (Term, Index) {
        (self.term_at(self.last_index()), self.last_index())
    }

    fn term_at(&self, index: Index) -> Term {
        match index {
            0 => 0,
            i => self.log[(i - 1) as usize].term,
        }
    }

    fn peers(&self) -> impl Iterator<Item = NodeId> + use<> {
        let me = self.me;
        (0..self.config.replicas as u32)
            .map(NodeId)
            .filter(move |&p| p != me)
    }

    fn bug(&self, bug: RaftBug) -> bool {
        self.config.bug == Some(bug)
    }

    /// Copies term, vote and log into durable state and syncs them.
    fn save(&self, ctx: &mut Ctx<'_, Self>) {
        self.write_durable(ctx);
        ctx.sync();
    }

    /// Like [`RaftReplica::save`] after a change of the log alone, which
    /// `raft-ack-before-sync` leaves to its background sync.
    fn save_log(&self, ctx: &mut Ctx<'_, Self>) {
        self.write_durable(ctx);
        if !self.bug(RaftBug::AckBeforeSync) {
            ctx.sync();
        }
    }

    fn write_durable(&self, ctx: &mut Ctx<'_, Self>) {
        let durable = ctx.durable_mut();
        durable.term = self.term;
        durable.voted_for = self.voted_for;
        durable.log = self.log.clone();
    }

    /// The smallest of the highest `majority` values, counting this replica as
    /// `mine`: what a majority has reached.
    fn quorum_value(&self, values: &[u64], mine: u64) -> u64 {
        quorum_value(values, self.me.index(), mine, self.majority())
    }
}

/// The `majority`-th highest of `values` with `values[me]` taken as `mine`: what a
/// majority has reached.
fn quorum_value(values: &[u64], me: usize, mine: u64, majority: usize) -> u64 {
    assert!(
        (1..=values.len()).contains(&majority) && me < values.len(),
        "a majority of {majority} of {} values, mine at {me}",
        values.len()
    );
    let mut small = [0; 16];
    if values.len() > small.len() {
        let mut copy = values.to_vec();
        copy[me] = mine;
        return *copy.select_nth_unstable_by(majority - 1, |a, b| b.cmp(a)).1;
    }
    let copy = &mut small[..values.len()];
    copy.copy_from_slice(values);
    copy[me] = mine;
    // A handful of replicas (the usual case; a leader asks after every reply): the
    // highest value at least `majority` values reach, by counting without branches,
    // which is cheaper than sorting. The lowest value always qualifies.
    let copy = &*copy;
    copy.iter()
        .map(|&v| {
            let reaching: usize = copy.iter().map(|&w| usize::from(w >= v)).sum();
            if reaching >= majority { v } else { 0 }
        })
        .max()
        .unwrap_or(0)
}

// ANCHOR: node
impl Node for RaftReplica {
    type Config = Config;
    type Msg = Wire<Peer>;
    type Timer = Timer;
    type Durable = Persistent;
    type Input = Infallible;
    type Output = Infallible;

    fn deadline(msg: &Self::Msg) -> Option<sim_core::Duration> {
        crate::client::request_deadline(msg)
    }

    fn class(msg: &Self::Msg) -> usize {
        crate::client::request_class(msg)
    }

    fn start(config: &Config, ctx: &mut Ctx<'_, Self>) -> Self {
        let durable = ctx.durable();
        let mut replica = RaftReplica {
            config: *config,
            me: ctx.id(),
            term: durable.term,
            voted_for: durable.voted_for,
            log: durable.log.clone(),
            role: Role::Follower,
            leader_hint: None,
            commit: 0,
            store: Store::default(),
            dedup: Dedup::default(),
            in_contact: false,
            epoch: 0,
            votes: vec![false; config.replicas],
            pre_votes: None,
            leader: None,
            waiting: BTreeMap::new(),
            unrouted: Vec::new(),
            holds: 0,
        };
        if replica.term == 0 {
            // It has never seen a term, so it has acknowledged no leader's round and
            // is part of no lease: it may stand (and vote) after a random wait.
            let wait = ctx.rng().below(config.election.as_nanos().max(1));
            ctx.set_timer(Duration::from_nanos(wait), Timer::Campaign { epoch: 0 });
        } else {
            // It does not know whom it heard from before the crash: it waits out one
            // contact window before it votes, as if it had just heard a leader.
            replica.touch_contact(ctx);
        }
        if replica.bug(RaftBug::AckBeforeSync) {
            ctx.set_timer(BACKGROUND_SYNC, Timer::BackgroundSync);
        }
        replica
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Wire<Peer>) {
        match msg {
            Wire::Client(ClientMsg::Request { id, request, .. }) => {
                self.on_request(ctx, from, id, request);
            }
            Wire::Client(ClientMsg::Reply { .. }) => {} // Replicas receive no replies.
            Wire::Peer(Peer::RequestVote {
                term,
                last_index,
                last_term,
            }) => self.on_request_vote(ctx, from, term, (last_term, last_index)),
            Wire::Peer(Peer::Vote { term, granted }) => self.on_vote(ctx, from, term, granted),
            Wire::Peer(Peer::PreVote {
                term,
                last_index,
                last_term,
            }) => self.on_pre_vote(ctx, from, term, (last_term, last_index)),
            Wire::Peer(Peer::PreVoteReply { term, granted }) => {
                self.on_pre_vote_reply(ctx, from, term, granted);
            }
            Wire::Peer(Peer::Append {
                term,
                prev_index,
                prev_term,
                entries,
                commit,
                round,
            }) => {
                let append = AppendArgs {
                    prev_index,
                    prev_term,
                    entries,
                    commit,
                };
                self.on_append(ctx, from, term, append, round);
            }
            Wire::Peer(Peer::AppendReply {
                term,
                round,
                outcome,
            }) => self.on_append_reply(ctx, from, term, round, outcome),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match timer {
            Timer::Quiet { epoch } if epoch == self.epoch && self.role != Role::Leader => {
                self.in_contact = false;
                let rest = ctx.rng().below(self.config.election.as_nanos().max(1));
                ctx.set_timer(Duration::from_nanos(rest), Timer::Campaign { epoch });
            }
            Timer::Campaign { epoch } if epoch == self.epoch && self.role != Role::Leader => {
                if self.config.pre_vote && self.majority() > 1 {
                    self.ask_pre_votes(ctx);
                } else {
                    self.campaign(ctx);
                }
            }
            Timer::Heartbeat { term } if self.leads_term(term) => {
                self.broadcast(ctx);
                ctx.set_timer(self.config.heartbeat, Timer::Heartbeat { term });
            }
            Timer::LeaseEnd { term, round } if self.leads_term(term) => {
                let leader = self.leader.as_mut().expect("a leader has leader state");
                leader.lease_over = leader.lease_over.max(round);
            }
            Timer::BackgroundSync => {
                ctx.sync();
                ctx.set_timer(BACKGROUND_SYNC, Timer::BackgroundSync);
            }
            Timer::CheckQuorum { term } if self.leads_term(term) => self.check_quorum(ctx),
            Timer::Unrouted { hold } => {
                if let Some(at) = self.unrouted.iter().position(|held| held.hold == hold) {
                    let held = self.unrouted.remove(at);
                    ctx.send(
                        held.client,
                        reply(held.id, Answer::Redirect { to: None }, 0),
                    );
                }
            }
            // Stale: set in an earlier epoch or term.
            Timer::Quiet { .. }
            | Timer::Campaign { .. }
            | Timer::Heartbeat { .. }
            | Timer::CheckQuorum { .. }
            | Timer::LeaseEnd { .. } => {}
        }
    }
}
// ANCHOR_END: node

impl crate::Replica for RaftReplica {
    fn term(&self) -> u64 {
        self.term
    }

    type Peer = Peer;

    fn leads(&self) -> bool {
        self.role == Role::Leader
    }
}

/// The body of an [`Peer::Append`], passed around as one.
#[derive(Debug)]
struct AppendArgs {
    prev_index: Index,
    prev_term: Term,
    entries: Vec<Entry>,
    commit: Index,
}

// Elections.
impl RaftReplica {
    fn leads_term(&self, term: Term) -> bool {
        self.role == Role::Leader && self.term == term
    }

    /// Heard from the leader (or booted): in contact for `election`, then a random
    /// wait, then a campaign, unless contact comes again first.
    fn touch_contact(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.in_contact = true;
        self.pre_votes = None;
        self.epoch += 1;
        let epoch = self.epoch;
        ctx.set_timer(self.config.election, Timer::Quiet { epoch });
    }

    /// Restarts the election timeout without contact (after a vote, or a campaign).
    fn restart_campaign_timer(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.epoch += 1;
        let epoch = self.epoch;
        let election = self.config.election.as_nanos().max(1);
        let after = election + ctx.rng().below(election);
        ctx.set_timer(Duration::from_nanos(after), Timer::Campaign { epoch });
    }

    /// PreVote: asks everyone whether they would vote for this replica in the next
    /// term, without raising its own; it stands only if a majority would. A replica
    /// that cannot hear the answers (cut off one way) then never raises the others'
    /// terms, so it cannot keep a working majority from electing a leader.
    fn ask_pre_votes(&mut self, ctx: &mut Ctx<'_, Self>) {
        let mut granted = vec![false; self.config.replicas];
        granted[self.me.index()] = true;
        self.pre_votes = Some(granted);
        self.restart_campaign_timer(ctx); // Ask again if no majority answers in time.
        let request = Peer::PreVote {
            term: self.term + 1,
            last_index: self.last_index(),
            last_term: self.last_entry().0,
        };
        for peer in self.peers() {
            ctx.send(peer, Wire::Peer(request.clone()));
        }
    }

    /// Would vote for `candidate` in `term`: it is a later term, no leader is in
    /// contact, and the candidate's log is at least as up to date. Nothing changes.
    fn on_pre_vote(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        candidate: NodeId,
        term: Term,
        last: (Term, Index),
    ) {
        let mine = self.last_entry();
        let granted =
            term > self.term && !self.in_contact && self.role != Role::Leader && last >= mine;
        ctx.send(candidate, Wire::Peer(Peer::PreVoteReply { term, granted }));
    }

    fn on_pre_vote_reply(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        voter: NodeId,
        term: Term,
        granted: bool,
    ) {
        let majority = self.majority();
        let Some(pre_votes) = self.pre_votes.as_mut() else {
            return;
        };
        if !granted || term != self.term + 1 || self.role == Role::Leader {
            return;
        }
        pre_votes[voter.index()] = true;
        if pre_votes.iter().filter(|&&v| v).count() >= majority {
            self.campaign(ctx);
        }
    }

    fn campaign(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.pre_votes = None;
        self.term += 1;
        self.role = Role::Candidate;
        self.voted_for = Some(self.me);
        self.leader_hint = None;
        self.votes.iter_mut().for_each(|v| *v = false);
        self.votes[self.me.index()] = true;
        self.save(ctx);
        self.restart_campaign_timer(ctx);
        let request = Peer::RequestVote {
            term: self.term,
            last_index: self.last_index(),
            last_term: self.last_entry().0,
        };
        for peer in self.peers() {
            ctx.send(peer, Wire::Peer(request.clone()));
        }
        if self.majority() == 1 {
            self.become_leader(ctx);
        }
    }

    fn on_request_vote(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        candidate: NodeId,
        term: Term,
        last: (Term, Index),
    ) {
        if term < self.term {
            let vote = Peer::Vote {
                term: self.term,
                granted: false,
            };
            ctx.send(candidate, Wire::Peer(vote));
            return;
        }
        if self.in_contact || self.role == Role::Leader {
            return; // A leader is alive: no vote, and no new term.
        }
        let newer_term = term > self.term;
        if newer_term {
            self.step_down(ctx, term, None);
        }
        let mine = self.last_entry();
        let granted = last >= mine && self.voted_for.is_none_or(|voted| voted == candidate);
        if granted {
            self.voted_for = Some(candidate);
            self.restart_campaign_timer(ctx);
        }
        if granted || newer_term {
            self.save(ctx); // The vote and the term survive a crash before we answer.
        }
        let vote = Peer::Vote {
            term: self.term,
            granted,
        };
        ctx.send(candidate, Wire::Peer(vote));
    }

    fn on_vote(&mut self, ctx: &mut Ctx<'_, Self>, voter: NodeId, term: Term, granted: bool) {
        if term > self.term {
            self.step_down(ctx, term, None);
            self.save(ctx);
            return;
        }
        if self.role != Role::Candidate || term < self.term || !granted {
            return;
        }
        self.votes[voter.index()] = true;
        if self.votes.iter().filter(|&&v| v).count() >= self.majority() {
            self.become_leader(ctx);
        }
    }

    fn become_leader(&mut self, ctx: &mut Ctx<'_, Self>) {
        assert_eq!(
            self.role,
            Role::Candidate,
            "{}: only candidates win",
            self.me
        );
        let n = self.config.replicas;
        self.role = Role::Leader;
        self.leader_hint = Some(self.me);
        self.in_contact = false;
        self.epoch += 1; // Election timers set before now are stale.
        // Followers are probed from the first entry of this term.
        let first_new = self.last_index() + 1;
        let caught_up = if self.bug(RaftBug::CommitOldTerm) {
            // Believing that counting commits inherited entries, it needs no no-op.
            self.last_index()
        } else {
            self.log.push_back(Entry {
                term: self.term,
                command: Command::Noop,
            });
            self.save_log(ctx);
            self.last_index()
        };
        self.leader = Some(Leader {
            next: vec![first_new; n],
            matched: vec![0; n],
            acked: vec![0; n],
            round: 0,
            quorum_round: 1, // The first broadcast, just below.
            lease_over: 0,
            sent_at: Vec::new(),
            caught_up,
            in_log: BTreeMap::new(),
            reads: Vec::new(),
        });
        let term = self.term;
        ctx.set_timer(self.config.heartbeat, Timer::Heartbeat { term });
        if self.config.check_quorum {
            ctx.set_timer(self.config.election, Timer::CheckQuorum { term });
        }
        self.broadcast(ctx);
        self.advance_commit(ctx);
        self.release_unrouted(ctx);
    }

    /// CheckQuorum: a leader that a majority (itself included) has not answered since
    /// the last check — the round it had sent then, or a later one — steps down, so
    /// that a leader cut off from its followers' replies stops holding clients and
    /// heartbeating followers who cannot elect anyone else meanwhile.
    fn check_quorum(&mut self, ctx: &mut Ctx<'_, Self>) {
        let me = self.me.index();
        let majority = self.majority();
        let leader = self.leader.as_mut().expect("a leader has leader state");
        let heard = 1
            + (0..leader.acked.len())
                .filter(|&p| p != me && leader.acked[p] >= leader.quorum_round)
                .count();
        if heard < majority {
            let term = self.term;
            self.step_down(ctx, term, None);
            return;
        }
        leader.quorum_round = leader.round;
        let term = self.term;
        ctx.set_timer(self.config.election, Timer::CheckQuorum { term });
    }

    /// Becomes a follower of `term` (a later one, or the same one with a leader
    /// found); a leader answers what it still owes. The caller saves.
    fn step_down(&mut self, ctx: &mut Ctx<'_, Self>, term: Term, leader: Option<NodeId>) {
        assert!(
            term >= self.term,
            "{}: stepping down to term {term} from {}",
            self.me,
            self.term
        );
        if term > self.term {
            self.term = term;
            self.voted_for = None;
        }
        self.role = Role::Follower;
        self.leader_hint = leader;
        if let Some(old) = self.leader.take() {
            self.epoch += 1;
            if leader.is_none() {
                self.in_contact = false;
                self.restart_campaign_timer(ctx);
            }
            for read in old.reads {
                let answer = Answer::Redirect { to: leader };
                ctx.send(read.client, reply(read.id, answer, 0));
            }
        }
    }
}

// Replication and commit.
impl RaftReplica {
    /// Sends a new round: every follower gets what it has not been sent (or a bare
    /// heartbeat).
    fn broadcast(&mut self, ctx: &mut Ctx<'_, Self>) {
        let term = self.term;
        let wall_clock_lease = self.bug(RaftBug::LeaseDrift);
        let leader = self.leader.as_mut().expect("only a leader broadcasts");
        leader.round += 1;
        let round = leader.round;
        if wall_clock_lease {
            leader.sent_at.push(ctx.now());
        } else if let Some(lease) = self.config.lease {
            ctx.set_timer(lease, Timer::LeaseEnd { term, round });
        }
        for peer in self.peers() {
            self.send_append(ctx, peer);
        }
    }

    fn send_append(&mut self, ctx: &mut Ctx<'_, Self>, peer: NodeId) {
        let leader = self.leader.as_ref().expect("only a leader appends");
        let next = leader.next[peer.index()].clamp(1, self.last_index() + 1);
        let round = leader.round;
        let prev_index = next - 1;
        let end = self.log.len().min(prev_index as usize + MAX_BATCH);
        let entries: Vec<Entry> = (prev_index as usize..end).map(|i| self.log[i]).collect();
        let append = Peer::Append {
            term: self.term,
            prev_index,
            prev_term: self.term_at(prev_index),
            entries,
            commit: self.commit,
            round,
        };
        let leader = self.leader.as_mut().expect("only a leader appends");
        leader.next[peer.index()] = end as Index + 1;
        ctx.send(peer, Wire::Peer(append));
    }

    fn on_append(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        term: Term,
        append: AppendArgs,
        round: u64,
    ) {
        if term < self.term {
            let outcome = AppendOutcome::Mismatch { hint: 0 };
            self.send_append_reply(ctx, from, round, outcome);
            return;
        }
        if term > self.term || self.role != Role::Follower {
            let newer = term > self.term;
            self.step_down(ctx, term, Some(from));
            if newer {
                self.save(ctx);
            }
        }
        self.leader_hint = Some(from);
        self.touch_contact(ctx);
        let outcome = self.merge(ctx, append);
        self.send_append_reply(ctx, from, round, outcome);
        self.release_unrouted(ctx);
    }

    fn send_append_reply(
        &self,
        ctx: &mut Ctx<'_, Self>,
        to: NodeId,
        round: u64,
        outcome: AppendOutcome,
    ) {
        let answer = Peer::AppendReply {
            term: self.term,
            round,
            outcome,
        };
        ctx.send(to, Wire::Peer(answer));
    }

    /// A follower's log check and merge; saves before answering.
    fn merge(&mut self, ctx: &mut Ctx<'_, Self>, append: AppendArgs) -> AppendOutcome {
        let AppendArgs {
            prev_index,
            prev_term,
            entries,
            commit,
        } = append;
        if prev_index > self.last_index() {
            return AppendOutcome::Mismatch {
                hint: self.last_index() + 1,
            };
        }
        if self.term_at(prev_index) != prev_term {
            return AppendOutcome::Mismatch {
                hint: self.conflict_hint(prev_index),
            };
        }
        let mut changed = false;
        for (offset, entry) in entries.iter().enumerate() {
            let index = prev_index + 1 + offset as Index;
            if index <= self.last_index() {
                if self.term_at(index) == entry.term {
                    continue; // Already there (a retransmission or a reordered message).
                }
                self.truncate(ctx, index);
            }
            self.log.push_back(*entry);
            changed = true;
        }
        if changed {
            self.save_log(ctx);
        }
        let matched = prev_index + entries.len() as Index;
        self.apply_to(ctx, commit.min(matched));
        AppendOutcome::Matched(matched)
    }

    /// Where a leader should resume after a term mismatch at `index`: the first entry
    /// of the conflicting term (skipping a whole term per round trip), but never at or
    /// below the commit index, which matches every leader's log.
    fn conflict_hint(&self, index: Index) -> Index {
        let conflict = self.term_at(index);
        let mut first = index;
        while first > self.commit + 1 && self.term_at(first - 1) == conflict {
            first -= 1;
        }
        first
    }

    /// Drops entries `index..`. Committed entries are never dropped in a correct model;
    /// a bug variant that does so rebuilds its state machine from what is left.
    fn truncate(&mut self, ctx: &mut Ctx<'_, Self>, index: Index) {
        if index <= self.commit {
            assert!(
                self.config.bug.is_some(),
                "{}: truncating committed entry {index} (commit index {})",
                self.me,
                self.commit
            );
            self.store = Store::default();
            self.dedup = Dedup::default();
            let keep = index - 1;
            self.commit = 0;
            for i in 1..=keep {
                self.apply_entry(i);
            }
            self.commit = keep;
        }
        self.log.truncate((index - 1) as usize);
        for (_, (client, id)) in self.waiting.split_off(&index) {
            let answer = Answer::Indeterminate {
                reason: "the entry was overwritten by a later leader's",
            };
            ctx.send(client, reply(id, answer, 0));
        }
    }

    fn on_append_reply(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        term: Term,
        round: u64,
        outcome: AppendOutcome,
    ) {
        if term > self.term {
            self.step_down(ctx, term, None);
            self.save(ctx);
            return;
        }
        if term < self.term || self.role != Role::Leader {
            return;
        }
        let last = self.last_index();
        let leader = self.leader.as_mut().expect("a leader has leader state");
        let p = from.index();
        leader.acked[p] = leader.acked[p].max(round);
        match outcome {
            AppendOutcome::Matched(index) => {
                leader.matched[p] = leader.matched[p].max(index);
                leader.next[p] = leader.next[p].max(index + 1);
                let more = leader.next[p] <= last;
                self.advance_commit(ctx);
                if more && self.role == Role::Leader {
                    self.send_append(ctx, from);
                }
            }
            AppendOutcome::Mismatch { hint } if hint > leader.matched[p] => {
                leader.next[p] = hint;
                self.send_append(ctx, from);
            }
            AppendOutcome::Mismatch { hint } => {
                // The follower lacks entries it acknowledged. In a correct model that
                // cannot be (they were synced, and only a later term's leader may
                // overwrite them), so the reply is a stale one, overtaken by a later
                // match: ignore it. A variant that acknowledges before syncing loses
                // them in a crash: start again from what the follower has, instead of
                // resending the same entries forever.
                if self.config.bug == Some(RaftBug::AckBeforeSync) {
                    leader.matched[p] = hint.saturating_sub(1);
                    leader.next[p] = hint.max(1);
                    self.send_append(ctx, from);
                }
            }
        }
        self.serve_reads(ctx);
    }

    /// Commits the highest index a majority holds, if it is of this term (the commit
    /// rule; `raft-commit-old-term` skips the term check).
    fn advance_commit(&mut self, ctx: &mut Ctx<'_, Self>) {
        let leader = self.leader.as_ref().expect("only a leader counts");
        let stored = self.quorum_value(&leader.matched, self.last_index());
        if stored > self.commit
            && (self.term_at(stored) == self.term || self.bug(RaftBug::CommitOldTerm))
        {
            self.apply_to(ctx, stored);
            self.serve_reads(ctx);
        }
    }

    /// Applies entries up to `index` (if it is ahead), answering the clients a leader
    /// owes.
    fn apply_to(&mut self, ctx: &mut Ctx<'_, Self>, index: Index) {
        let index = index.min(self.last_index());
        while self.commit < index {
            let applied = self.commit + 1;
            let done = self.apply_entry(applied);
            self.commit = applied;
            if let Some((client, id)) = self.waiting.remove(&applied) {
                if let Some(leader) = &mut self.leader {
                    leader.in_log.remove(&id);
                }
                if let Some(done) = done {
                    ctx.send(client, reply(id, Answer::Done(done), 0));
                }
            }
        }
    }

    /// Applies entry `index` to the state machine; the reply, unless the entry was a
    /// no-op or a late duplicate of a request its client has moved on from.
    fn apply_entry(&mut self, index: Index) -> Option<Reply> {
        let Command::Client { id, request } = self.log[(index - 1) as usize].command else {
            return None;
        };
        if let Some(done) = self.dedup.seen(id) {
            return Some(done.clone());
        }
        if self.dedup.stale(id) {
            return None;
        }
        let done = self.store.apply(&request);
        self.dedup.record(id, done.clone());
        Some(done)
    }
}

// Clients.
impl RaftReplica {
    fn on_request(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        client: NodeId,
        id: RequestId,
        request: Request,
    ) {
        if self.role != Role::Leader {
            match self.leader_hint.filter(|&l| l != self.me) {
                Some(to) => ctx.send(client, reply(id, Answer::Redirect { to: Some(to) }, 0)),
                // No leader known: an election is under way. Hold the request until it
                // ends rather than send the client round the replicas in the meantime.
                None => {
                    if !self.unrouted.iter().any(|held| held.id == id) {
                        self.holds += 1;
                        let hold = self.holds;
                        self.unrouted.push(Held {
                            hold,
                            client,
                            id,
                            request,
                        });
                        ctx.set_timer(self.config.election, Timer::Unrouted { hold });
                    }
                }
            }
        } else if request.is_write() {
            self.on_write(ctx, client, id, request);
        } else {
            self.on_read(ctx, client, id, request.key());
        }
    }

    /// A leader is known now: serve the held requests if it is this replica, or send
    /// their clients to it.
    fn release_unrouted(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.unrouted.is_empty() {
            return;
        }
        let Some(leader) = self.leader_hint else {
            return;
        };
        for held in std::mem::take(&mut self.unrouted) {
            if leader == self.me && self.role == Role::Leader {
                self.on_request(ctx, held.client, held.id, held.request);
            } else {
                let answer = Answer::Redirect { to: Some(leader) };
                ctx.send(held.client, reply(held.id, answer, 0));
            }
        }
    }

    fn on_write(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        client: NodeId,
        id: RequestId,
        request: Request,
    ) {
        if let Some(done) = self.dedup.seen(id) {
            ctx.send(client, reply(id, Answer::Done(done.clone()), 0));
            return;
        }
        if self.dedup.stale(id) {
            return; // Its client has moved on; nobody waits for an answer.
        }
        let term = self.term;
        let index = self.last_index() + 1;
        let leader = self.leader.as_mut().expect("a leader has leader state");
        if leader.in_log.contains_key(&id) {
            return; // A retry of an entry still on its way: answered when it applies.
        }
        leader.in_log.insert(id, index);
        self.waiting.insert(index, (client, id));
        self.log.push_back(Entry {
            term,
            command: Command::Client { id, request },
        });
        self.save_log(ctx);
        self.broadcast(ctx);
        self.advance_commit(ctx);
    }

    fn on_read(&mut self, ctx: &mut Ctx<'_, Self>, client: NodeId, id: RequestId, key: Key) {
        let leader = self.leader.as_ref().expect("a leader has leader state");
        let caught_up = self.commit >= leader.caught_up;
        if self.bug(RaftBug::StaleRead) || (caught_up && self.lease_holds(ctx)) {
            ctx.send(client, reply(id, Answer::Done(self.store.read(key)), 0));
            return;
        }
        let index = self.commit.max(leader.caught_up);
        self.broadcast(ctx);
        let leader = self.leader.as_mut().expect("a leader has leader state");
        leader.reads.push(PendingRead {
            client,
            id,
            key,
            index,
            round: leader.round,
        });
        self.serve_reads(ctx);
    }

    /// Whether a round a majority acknowledged is still within its lease.
    fn lease_holds(&self, ctx: &Ctx<'_, Self>) -> bool {
        let (Some(leader), Some(lease)) = (&self.leader, self.config.lease) else {
            return false;
        };
        let confirmed = self.quorum_value(&leader.acked, leader.round);
        if self.bug(RaftBug::LeaseDrift) {
            // Trusting the wall clock: a clock that runs slow or jumps back stretches
            // the lease in true time.
            return confirmed > 0 && ctx.now() < leader.sent_at[confirmed as usize - 1] + lease;
        }
        confirmed > leader.lease_over
    }

    /// Answers the ReadIndex reads that are confirmed and applied.
    fn serve_reads(&mut self, ctx: &mut Ctx<'_, Self>) {
        let Some(leader) = &self.leader else {
            return;
        };
        if leader.reads.is_empty() {
            return;
        }
        let confirmed = self.quorum_value(&leader.acked, leader.round);
        let commit = self.commit;
        let leader = self.leader.as_mut().expect("checked above");
        let store = &self.store;
        leader.reads.retain(|read| {
            let ready = read.round <= confirmed && read.index <= commit;
            if ready {
                let answer = Answer::Done(store.read(read.key));
                ctx.send(read.client, reply(read.id, answer, 0));
            }
            !ready
        });
    }
}

// ANCHOR: model
crate::settings! {
    /// Raft's settings.
    pub struct RaftSettings {
        /// Replicas.
        "replicas" replicas: usize = 5, in 1..=64, explore 1..=7;
        /// How long a follower waits to hear from a leader before it stands for
        /// election, in ms (each wait is drawn between this and twice this).
        "election-ms" election_ms: u64 = 150, in 1..=3_600_000, explore 100..=400;
        /// How often a leader sends heartbeats, in ms: below election-ms.
        "heartbeat-ms" heartbeat_ms: u64 = 50, in 1..=3_600_000, explore 1..=99;
        /// Lease reads: how long after a majority acknowledged it a leader answers
        /// reads from its own state, in ms (0: every read confirms leadership first,
        /// ReadIndex). At most election-ms × (1 − ρ) / (1 + ρ), ρ being drift-ppm.
        "lease-ms" lease_ms: u64 = 0, in 0..=3_600_000, explore 0..=60;
        /// The clock drift ρ a lease allows for, in parts per million.
        "drift-ppm" drift_ppm: u64 = 100_000, in 0..=999_999, explore 0..=200_000;
        /// CheckQuorum: a leader that a majority has not answered for an election
        /// timeout steps down.
        "check-quorum" check_quorum: bool = false;
        /// PreVote: a replica stands for election only if a majority would vote for it.
        "pre-vote" pre_vote: bool = true;
    }
}

crate::settings! {
    /// raft-lease-drift's settings: Raft's, with leases on by default and no drift
    /// bound, since its bug is to assume that clocks keep time.
    pub struct LeaseDriftSettings {
        /// Replicas.
        "replicas" replicas: usize = 5, in 1..=64, explore 1..=7;
        /// How long a follower waits to hear from a leader before it stands for
        /// election, in ms (each wait is drawn between this and twice this).
        "election-ms" election_ms: u64 = 150, in 1..=3_600_000, explore 100..=400;
        /// How often a leader sends heartbeats, in ms: below election-ms.
        "heartbeat-ms" heartbeat_ms: u64 = 50, in 1..=3_600_000, explore 1..=99;
        /// How long a leader's lease lasts, in ms (default: election-ms; at most
        /// election-ms, the bound when clocks keep time).
        "lease-ms" lease_ms: Option<u64> = None, in 1..=3_600_000, explore 1..=100;
        /// CheckQuorum: a leader that a majority has not answered for an election
        /// timeout steps down.
        "check-quorum" check_quorum: bool = false;
        /// PreVote: a replica stands for election only if a majority would vote for it.
        "pre-vote" pre_vote: bool = true;
    }
}

/// Raft's guarantees: all of them.
const RAFT_PROMISES: &[Guarantee] = &Guarantee::ALL;

/// What the Raft variants whose bug breaks only linearizability still keep.
const KEPT_BY_READ_BUGS: &[Guarantee] = &[
    Guarantee::MonotonicWrites,
    Guarantee::WritesFollowReads,
    Guarantee::Convergence,
    Guarantee::NoLostWrites,
];

/// raft in the catalog.
pub const RAFT: Declaration<RaftSettings, Raft> = Declaration {
    info: ModelInfo {
        name: "raft",
        summary: "Raft: elections, log replication, the current-term commit rule, \
                  ReadIndex reads (leases optional)",
        promises: RAFT_PROMISES,
        variant_of: None,
        breaks: &[],
        default_scenario: "swarm",
        workload: Mix::ListAppend,
        settings: &[],
    },
    build: |s| Raft::new(s, None),
};

/// raft-commit-old-term in the catalog.
pub const COMMIT_OLD_TERM: Declaration<RaftSettings, Raft> = Declaration {
    info: bug_info(
        RaftBug::CommitOldTerm,
        "raft that commits entries of earlier terms by counting replicas \
         (the Raft paper's Figure 8)",
        &[Guarantee::Convergence],
        &[Guarantee::Linearizable],
        "leader-churn",
    ),
    build: |s| Raft::new(s, Some(RaftBug::CommitOldTerm)),
};

/// raft-stale-read in the catalog.
pub const STALE_READ: Declaration<RaftSettings, Raft> = Declaration {
    info: bug_info(
        RaftBug::StaleRead,
        "raft whose leader reads its own state without confirming it still leads",
        KEPT_BY_READ_BUGS,
        &[Guarantee::Linearizable],
        "isolate-leader",
    ),
    build: |s| Raft::new(s, Some(RaftBug::StaleRead)),
};

/// raft-lease-drift in the catalog.
pub const LEASE_DRIFT: Declaration<LeaseDriftSettings, Raft> = Declaration {
    info: bug_info(
        RaftBug::LeaseDrift,
        "raft with lease reads whose bound assumes clocks do not drift",
        KEPT_BY_READ_BUGS,
        &[Guarantee::Linearizable],
        "swarm",
    ),
    build: |s| {
        let settings = RaftSettings {
            replicas: s.replicas,
            election_ms: s.election_ms,
            heartbeat_ms: s.heartbeat_ms,
            lease_ms: s.lease_ms.unwrap_or(s.election_ms),
            drift_ppm: 0,
            check_quorum: s.check_quorum,
            pre_vote: s.pre_vote,
        };
        Raft::new(settings, Some(RaftBug::LeaseDrift))
    },
};

/// raft-ack-before-sync in the catalog.
pub const ACK_BEFORE_SYNC: Declaration<RaftSettings, Raft> = Declaration {
    info: bug_info(
        RaftBug::AckBeforeSync,
        "raft that acknowledges log entries before syncing them",
        &[Guarantee::Convergence],
        &[Guarantee::Linearizable, Guarantee::NoLostWrites],
        "crash-restart",
    ),
    build: |s| Raft::new(s, Some(RaftBug::AckBeforeSync)),
};

/// A Raft bug variant's catalog entry.
const fn bug_info(
    bug: RaftBug,
    summary: &'static str,
    promises: &'static [Guarantee],
    breaks: &'static [Guarantee],
    default_scenario: &'static str,
) -> ModelInfo {
    ModelInfo {
        name: bug.name(),
        summary,
        promises,
        variant_of: Some("raft"),
        breaks,
        default_scenario,
        workload: Mix::ListAppend,
        settings: &[],
    }
}

/// The model the runner builds: `raft` or one of its bug variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raft {
    config: Config,
}

impl Raft {
    /// Builds `raft` (`bug: None`) or a bug variant from its settings, refusing
    /// combinations that make no sense with a [`ModelError::BadParam`] that names the
    /// setting.
    ///
    /// ```
    /// use models::raft::{Raft, RaftBug, RaftSettings};
    /// use models::Model;
    /// let raft = Raft::new(RaftSettings::default(), Some(RaftBug::StaleRead))?;
    /// assert_eq!(raft.replicas().len(), 5);
    /// let bad = RaftSettings { heartbeat_ms: 150, ..RaftSettings::default() };
    /// assert!(Raft::new(bad, None).is_err());
    /// # Ok::<(), models::ModelError>(())
    /// ```
    pub fn new(settings: RaftSettings, bug: Option<RaftBug>) -> Result<Raft, ModelError> {
        let name = bug.map_or(RAFT.info.name, RaftBug::name);
        check_settings(name, bug, &settings)?;
        let s = settings;
        Ok(Raft {
            config: Config {
                replicas: s.replicas,
                election: Duration::from_millis(s.election_ms),
                heartbeat: Duration::from_millis(s.heartbeat_ms),
                lease: (s.lease_ms > 0).then(|| Duration::from_millis(s.lease_ms)),
                check_quorum: s.check_quorum,
                pre_vote: s.pre_vote,
                bug,
            },
        })
    }

    /// The configuration every replica gets.
    pub fn config(&self) -> Config {
        self.config
    }
}

/// The rules that tie settings together: heartbeats below the election timeout, and a
/// lease that ends before any follower could elect another leader.
fn check_settings(
    name: &'static str,
    bug: Option<RaftBug>,
    s: &RaftSettings,
) -> Result<(), ModelError> {
    let (election_ms, heartbeat_ms, lease_ms, drift_ppm) =
        (s.election_ms, s.heartbeat_ms, s.lease_ms, s.drift_ppm);
    if heartbeat_ms >= election_ms {
        return Err(ModelError::setting(
            name,
            "heartbeat-ms",
            format!(
                "is {heartbeat_ms}; it must be below election-ms ({election_ms}), \
                 or followers time out between heartbeats"
            ),
        ));
    }
    if bug == Some(RaftBug::LeaseDrift) && lease_ms == 0 {
        let problem = "is 0, but raft-lease-drift is about lease reads".to_owned();
        return Err(ModelError::setting(name, "lease-ms", problem));
    }
    // A lease of `lease` on the leader's clock must end before `election` on any
    // follower's: lease / (1 - ρ) ≤ election / (1 + ρ).
    let bound_ms =
        election_ms as u128 * (1_000_000 - drift_ppm as u128) / (1_000_000 + drift_ppm as u128);
    if lease_ms as u128 > bound_ms {
        return Err(ModelError::setting(
            name,
            "lease-ms",
            format!(
                "is {lease_ms}; a lease must end before any follower stops ignoring \
                 vote requests, so it must be at most election-ms × (1 − ρ) / (1 + ρ) = \
                 {bound_ms} ms (election-ms {election_ms}, drift-ppm {drift_ppm})"
            ),
        ));
    }
    Ok(())
}

impl Model for Raft {
    type Replica = RaftReplica;

    fn replicas(&self) -> Vec<Config> {
        vec![self.config; self.config.replicas]
    }

    fn routing(&self) -> Routing {
        Routing::Leader
    }

    /// Election safety, log matching, leader completeness and state machine safety,
    /// after every event ([`invariants::RaftInvariants`]).
    fn invariants(&self) -> Option<Box<dyn crate::Invariants<RaftReplica>>> {
        Some(Box::new(invariants::RaftInvariants::new()))
    }
}
// ANCHOR_END: model

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Params;
    use crate::settings::Settings;
    use proptest::prelude::*;

    proptest! {
        /// Counting gives what sorting does: the `majority`-th highest value.
        #[test]
        fn quorum_value_is_the_majority_th_highest(
            values in prop::collection::vec(0u64..6, 1..24),
            me in 0usize..24,
            mine in 0u64..6,
        ) {
            let me = me % values.len();
            let majority = values.len() / 2 + 1;
            let mut sorted = values.clone();
            sorted[me] = mine;
            sorted.sort_unstable_by(|a, b| b.cmp(a));
            prop_assert_eq!(quorum_value(&values, me, mine, majority), sorted[majority - 1]);
        }
    }

    fn params(settings: &[(&str, &str)]) -> Params {
        Params {
            settings: settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn build(bug: Option<RaftBug>, settings: &[(&str, &str)]) -> Result<Raft, ModelError> {
        match bug {
            Some(RaftBug::LeaseDrift) => LEASE_DRIFT.model(&params(settings)),
            Some(other) => Raft::new(
                RaftSettings::from_params(other.name(), &params(settings))?,
                bug,
            ),
            None => RAFT.model(&params(settings)),
        }
    }

    fn bad_param(bug: Option<RaftBug>, settings: &[(&str, &str)]) -> String {
        match build(bug, settings) {
            Err(ModelError::BadParam { param, .. }) => param,
            other => panic!("expected a bad parameter for {settings:?}, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_five_replicas_without_a_lease() {
        let raft = build(None, &[]).unwrap();
        assert_eq!(raft.config().replicas, 5);
        assert_eq!(raft.config().lease, None);
        assert_eq!(raft.routing(), Routing::Leader);
        let drift = build(Some(RaftBug::LeaseDrift), &[]).unwrap();
        assert_eq!(drift.config().lease, Some(Duration::from_millis(150)));
    }

    #[test]
    fn nonsense_parameters_are_refused_by_name() {
        assert_eq!(bad_param(None, &[("replicas", "0")]), "replicas");
        assert_eq!(bad_param(None, &[("election-ms", "0")]), "election-ms");
        assert_eq!(bad_param(None, &[("election-ms", "soon")]), "election-ms");
        assert_eq!(bad_param(None, &[("heartbeat-ms", "150")]), "heartbeat-ms");
        assert_eq!(bad_param(None, &[("heartbeat-ms", "0")]), "heartbeat-ms");
        assert_eq!(bad_param(None, &[("lease-ms", "150")]), "lease-ms");
        assert_eq!(bad_param(None, &[("lease-ms", "123")]), "lease-ms");
        assert_eq!(bad_param(None, &[("drift-ppm", "1000000")]), "drift-ppm");
        assert_eq!(
            bad_param(None, &[("election-ms", "99999999999")]),
            "election-ms"
        );
        assert_eq!(bad_param(None, &[("quorum", "3")]), "quorum");
        let bug = Some(RaftBug::LeaseDrift);
        assert_eq!(bad_param(bug, &[("lease-ms", "0")]), "lease-ms");
        assert_eq!(bad_param(bug, &[("lease-ms", "151")]), "lease-ms");
        assert_eq!(bad_param(bug, &[("drift-ppm", "10")]), "drift-ppm");
    }

    #[test]
    fn a_lease_within_the_drift_bound_is_accepted() {
        // 150 × 0.9 / 1.1 = 122.7
        let raft = build(None, &[("lease-ms", "122")]).unwrap();
        assert_eq!(raft.config().lease, Some(Duration::from_millis(122)));
        let raft = build(None, &[("lease-ms", "150"), ("drift-ppm", "0")]).unwrap();
        assert_eq!(raft.config().lease, Some(Duration::from_millis(150)));
    }

    #[test]
    fn the_error_message_names_model_setting_and_bound() {
        let err = build(None, &[("lease-ms", "140")]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("model `raft`: setting `lease-ms` is 140"),
            "{text}"
        );
        assert!(text.contains("122 ms"), "{text}");
        let err = build(None, &[("election-ms", "soon")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "model `raft`: setting `election-ms` is `soon`; it takes a whole number from 1 to 3600000"
        );
    }
}
