//! `dynamo` and `dynamo-crdt`: leaderless replication in the style of Amazon's Dynamo,
//! with last-writer-wins registers or with add-only sets that merge by union.
//!
//! # How it works
//!
//! Keys live on a ring of `replicas` nodes: a key's **preference list** is the `n`
//! nodes from a position its hash picks; the nodes after them are its **fallbacks**.
//! A client sends a request to any node (its home, [`Routing::Home`]), which
//! *coordinates* it:
//!
//! - **Reads** ask the preference list and answer once `r` nodes did, with the merge
//!   of what they hold. Those that held something older are sent the merge (**read
//!   repair**). Like writes, a read asks a fallback for each preference node silent
//!   for a [`TICK`], and the fallback's answer counts towards `r`: at once if it holds
//!   something for the key (a hint), and, if it holds nothing, once the node it stands
//!   in for is suspected — silent for [`SUSPECT`] — and has still not answered. A
//!   **sloppy quorum**, as Dynamo's "first N healthy nodes": a node on the minority
//!   side of a partition still answers reads, with what its side knows, and a node
//!   that is only slow is not outvoted by ones that know nothing.
//! - **Failure detection**: a preference node silent for [`SUSPECT`] in some
//!   coordination is suspected until any message from it arrives; later coordinations
//!   ask its fallback at once, beside it.
//! - **Writes** send the new version to the preference list and are acknowledged once
//!   `w` nodes have it durably. Every [`TICK`] the coordinator sends again to those that
//!   have not answered, and for each silent preference node it also asks the next
//!   fallback, which stores the version as a **hint** for that node: a **sloppy
//!   quorum**. Fallbacks hand their hints to the intended node every [`HANDOFF`] until
//!   it acknowledges (**hinted handoff**).
//! - Every [`ANTI_ENTROPY`] each node sends another node its whole store (a persistent
//!   map, so the message costs a pointer copy), going round the ring so that it meets
//!   every other node once every `replicas - 1` periods; the receiver merges the keys
//!   it replicates and answers with its own (**anti-entropy**). So once the network
//!   heals and nodes are up, every preference list converges within one round of
//!   exchanges (0.8 s with 5 nodes): each node's newest versions reach every other
//!   node directly.
//!
//! A coordinator gives up after [`GIVE_UP`]: a read is then [`Answer::Refused`], a
//! write [`Answer::Indeterminate`] (some nodes may have it).
//!
//! # `dynamo`: last writer wins, by the coordinator's clock
//!
//! A version carries a [`Dot`]: the coordinator's **local clock** reading and its id.
//! Two versions merge to the one with the higher dot (ties: the larger value), so
//! replicas converge whatever order versions arrive in. But local clocks are skewed:
//! a write coordinated by a node whose clock runs behind gets a dot lower than an
//! older write's, and is **lost although it was acknowledged**. That is the documented
//! behaviour of last-writer-wins, not a bug variant.
//!
//! An `append` reads the list (a read quorum), appends, and writes the new list back:
//! a read-modify-write, so two concurrent appends can lose one. A `cas` would be no
//! better, so it is refused. `dynamo` promises only **convergence**.
//!
//! # `dynamo-crdt`: add-only sets, merged by union
//!
//! A key holds a set of elements, each with the dot of its first append; versions
//! merge by union (keeping the earliest dot of each element), which is commutative,
//! associative and idempotent, so replicas converge and **no acknowledged append is
//! lost**, whatever the clocks say. A retried append adds nothing new. Reads list the
//! elements by dot. Only `append` and `read` are served: a `write` or a `cas` would
//! have to remove elements, and is refused.
//!
//! # Settings
//!
//! [`DynamoSettings`]: `replicas` (the ring); `n` (preference list, default 3), `r` and
//! `w` (default 2 each). Refused: `n` of 0 or above `replicas`, `r` or `w` of 0 or
//! above `n`.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use sim_core::{Ctx, Duration, Node, NodeId, Time};

use crate::client::{Answer, ClientMsg, Dedup, RequestId, Routing, Wire, reply};
use crate::kv::Mix;
use crate::kv::{Key, Reply, Request, Value};
use crate::{Declaration, Guarantee, Model, ModelError, ModelInfo};

/// How often a coordinator resends to silent nodes and recruits fallbacks.
pub const TICK: Duration = Duration::from_millis(50);
/// How long a coordinator tries.
pub const GIVE_UP: Duration = Duration::from_millis(400);
/// How long a preference node may stay silent in a coordination before it is suspected:
/// the longest round trip on a default link (100 ms each way), so that a node that is
/// only slow is not. A read counts a fallback that holds nothing for the key in a
/// suspect's place, and later coordinations ask a suspect's fallback at once.
pub const SUSPECT: Duration = Duration::from_millis(200);

/// How often fallbacks hand hints to their nodes.
pub const HANDOFF: Duration = Duration::from_millis(100);
/// How often a node starts an anti-entropy exchange.
pub const ANTI_ENTROPY: Duration = Duration::from_millis(200);

/// When and where a version was made: the coordinator's local clock and its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dot {
    /// The coordinator's local clock, in nanoseconds.
    pub time: u64,
    /// The coordinator.
    pub node: NodeId,
}

/// What a last-writer-wins version holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Data {
    /// A register.
    Register(Value),
    /// A list built by appends.
    List(imbl::Vector<Value>),
}

/// What a node holds for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Version {
    /// `dynamo`: the last writer's data.
    Lww {
        /// The write's dot.
        dot: Dot,
        /// The data.
        data: Data,
    },
    /// `dynamo-crdt`: every element appended, with the dot of its first append.
    Set(imbl::OrdMap<Value, Dot>),
}

impl Version {
    /// The merge of two versions: the later last-writer-wins version, or the union of
    /// two sets.
    ///
    /// ```
    /// use models::dynamo::{Data, Dot, Version};
    /// use sim_core::NodeId;
    /// let dot = |time| Dot { time, node: NodeId(0) };
    /// let a = Version::Lww { dot: dot(1), data: Data::Register(5) };
    /// let b = Version::Lww { dot: dot(2), data: Data::Register(6) };
    /// assert_eq!(a.merge(&b), b);
    /// let s = Version::Set(imbl::ordmap! {1 => dot(3)});
    /// let t = Version::Set(imbl::ordmap! {1 => dot(2), 2 => dot(4)});
    /// assert_eq!(s.merge(&t), Version::Set(imbl::ordmap! {1 => dot(2), 2 => dot(4)}));
    /// ```
    pub fn merge(&self, other: &Version) -> Version {
        match (self, other) {
            (Version::Lww { dot: a, data: x }, Version::Lww { dot: b, data: y }) => {
                if (a, x) >= (b, y) {
                    self.clone()
                } else {
                    other.clone()
                }
            }
            (Version::Set(a), Version::Set(b)) => {
                Version::Set(a.clone().union_with(b.clone(), |x, y| x.min(y)))
            }
            _ => panic!("merging versions of two kinds: {self:?} and {other:?}"),
        }
    }

    /// What a read of this version answers.
    pub fn reply(&self) -> Reply {
        match self {
            Version::Lww {
                data: Data::Register(value),
                ..
            } => Reply::Read(Some(*value)),
            Version::Lww {
                data: Data::List(list),
                ..
            } => Reply::ReadList(list.iter().copied().collect()),
            Version::Set(set) => {
                let mut elements: Vec<(Dot, Value)> = set.iter().map(|(&v, &d)| (d, v)).collect();
                elements.sort_unstable();
                Reply::ReadList(elements.into_iter().map(|(_, v)| v).collect())
            }
        }
    }
}

fn merge_into(slot: &mut Option<Version>, version: &Version) -> bool {
    let merged = match slot {
        Some(old) => old.merge(version),
        None => version.clone(),
    };
    let changed = slot.as_ref() != Some(&merged);
    *slot = Some(merged);
    changed
}

/// A node-to-node message. `op` names a coordination; 0 is "no answer expected".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// What do you hold for `key`?
    Get {
        /// The coordination.
        op: u64,
        /// The key.
        key: Key,
    },
    /// The answer to a get.
    GetAck {
        /// The coordination.
        op: u64,
        /// What the node holds (with any hints for the key merged in).
        version: Option<Version>,
    },
    /// Merge `version` into `key` (for `hint`'s sake, if it is set and not you).
    Put {
        /// The coordination.
        op: u64,
        /// The key.
        key: Key,
        /// The version.
        version: Version,
        /// The preference node this fallback stands in for.
        hint: Option<NodeId>,
    },
    /// The put is durable.
    PutAck {
        /// The coordination.
        op: u64,
    },
    /// A hint handed to the node it was for.
    Handoff {
        /// The key.
        key: Key,
        /// The version.
        version: Version,
    },
    /// The handoff is durable: the hint may go.
    HandoffAck {
        /// The key.
        key: Key,
        /// The version handed off.
        version: Version,
    },
    /// Anti-entropy: the sender's whole store.
    Sync {
        /// The store.
        store: imbl::OrdMap<Key, Version>,
        /// Whether to answer with one's own.
        answer: bool,
    },
}

/// The message type of a dynamo node.
pub type Msg = Wire<Peer>;

/// A node's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DynamoConfig {
    /// Nodes on the ring.
    pub replicas: u32,
    /// Preference list length.
    pub n: usize,
    /// Read quorum.
    pub r: usize,
    /// Write quorum.
    pub w: usize,
    /// Add-only sets (`dynamo-crdt`) instead of last-writer-wins registers.
    pub crdt: bool,
}

impl DynamoConfig {
    /// The nodes that hold `key`, then its fallbacks, in ring order.
    pub fn ring(&self, key: Key) -> impl Iterator<Item = NodeId> + use<> {
        let replicas = u64::from(self.replicas);
        let start = key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        (0..replicas).map(move |i| NodeId(((start + i) % replicas) as u32))
    }

    /// Whether `node` is on `key`'s preference list.
    pub fn owns(&self, node: NodeId, key: Key) -> bool {
        self.ring(key).take(self.n).any(|n| n == node)
    }
}

/// A node's durable state.
#[derive(Clone, Debug, Default)]
pub struct Durable {
    /// The keys this node replicates.
    pub store: imbl::OrdMap<Key, Version>,
    /// Versions held for other nodes, by (intended node, key).
    pub hints: imbl::OrdMap<(NodeId, Key), Version>,
    /// Writes coordinated to the end, per client.
    pub dedup: Dedup,
}

#[derive(Clone, Debug)]
enum Phase {
    Read {
        merged: Option<Version>,
        /// The answers that count towards `r`.
        answers: Vec<(NodeId, Option<Version>)>,
        /// Fallbacks that hold nothing for the key and answered before [`SUSPECT`]:
        /// they count once it has passed.
        empty_fallbacks: Vec<NodeId>,
    },
    Write {
        version: Version,
    },
}

#[derive(Clone, Debug)]
struct Coordination {
    client: NodeId,
    id: RequestId,
    request: Request,
    key: Key,
    phase: Phase,
    /// Preference nodes, and the fallback (if any) standing in for each.
    targets: Vec<(NodeId, Option<NodeId>)>,
    /// The nodes that answered the current phase.
    answered: BTreeSet<NodeId>,
    /// When the coordination began (for [`GIVE_UP`]), on the monotonic clock.
    began: Time,
    /// When the current phase began (for [`SUSPECT`]).
    phase_began: Time,
}

impl Coordination {
    /// Whether one more empty answer from a fallback counts at `now`: the read stands
    /// in for the silent preference nodes with the first healthy nodes after them, so
    /// an empty fallback counts while fewer of them count than there are preference
    /// nodes that have not answered and are suspected (by `suspects`, or silent for
    /// [`SUSPECT`] in this phase). A node that is only slow is not outvoted; one that
    /// answered has its own vote, and nobody stands in for it.
    fn empty_vote(&self, now: Time, suspects: &BTreeSet<NodeId>) -> bool {
        let Phase::Read { answers, .. } = &self.phase else {
            return false;
        };
        let silent = now.saturating_since(self.phase_began) >= SUSPECT;
        let missing = self
            .targets
            .iter()
            .filter(|&&(node, _)| !self.answered.contains(&node))
            .filter(|&&(node, _)| silent || suspects.contains(&node))
            .count();
        let preference: Vec<NodeId> = self.targets.iter().map(|t| t.0).collect();
        let standing_in = answers
            .iter()
            .filter(|(node, version)| version.is_none() && !preference.contains(node))
            .count();
        standing_in < missing
    }
}

/// A node's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Resend and recruit fallbacks for a coordination, or give up on it.
    Tick(u64),
    /// Hand hints off.
    Handoff,
    /// Start an anti-entropy exchange.
    AntiEntropy,
}

/// A dynamo node.
#[derive(Debug)]
pub struct DynamoReplica {
    config: DynamoConfig,
    ops: BTreeMap<u64, Coordination>,
    next_op: u64,
    last_dot: u64,
    /// How many anti-entropy exchanges this node has started since it booted: the
    /// `k`-th goes to the node `k` places on in the ring (skipping itself), so every
    /// other node is met once every `replicas - 1` periods.
    exchanges: u64,
    /// The failure detector: nodes silent for [`SUSPECT`] in some coordination. A
    /// suspect is cleared by any message from it; every coordination still asks it
    /// (beside its fallback), and anti-entropy reaches it, so one that is back is
    /// soon heard from.
    suspects: BTreeSet<NodeId>,
    /// A copy of the durable state, for inspection.
    data: Durable,
}

impl DynamoReplica {
    /// The keys this node replicates and what it holds for them.
    pub fn store(&self) -> &imbl::OrdMap<Key, Version> {
        &self.data.store
    }

    /// The hints this node holds for others.
    pub fn hints(&self) -> &imbl::OrdMap<(NodeId, Key), Version> {
        &self.data.hints
    }

    fn deliver(&mut self, ctx: &mut Ctx<'_, Self>, to: NodeId, msg: Peer) {
        if to == ctx.id() {
            self.on_peer(ctx, to, msg);
        } else {
            ctx.send(to, Wire::Peer(msg));
        }
    }

    fn save(&mut self, ctx: &mut Ctx<'_, Self>, change: impl FnOnce(&mut Durable)) {
        change(ctx.durable_mut());
        ctx.sync();
        self.data = ctx.durable().clone();
    }

    fn dot(&mut self, ctx: &mut Ctx<'_, Self>) -> Dot {
        self.last_dot = ctx.now().as_nanos().max(self.last_dot + 1);
        Dot {
            time: self.last_dot,
            node: ctx.id(),
        }
    }

    /// The first phase of a coordination of `request`, or why it is refused.
    fn first_phase(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        request: Request,
    ) -> Result<Phase, &'static str> {
        let read = || Phase::Read {
            merged: None,
            answers: Vec::new(),
            empty_fallbacks: Vec::new(),
        };
        match (request, self.config.crdt) {
            (Request::Read { .. }, _) => Ok(read()),
            (Request::Cas { .. }, false) => {
                Err("dynamo has no compare-and-set: the last writer wins")
            }
            (Request::Write { .. } | Request::Cas { .. }, true) => {
                Err("dynamo-crdt serves append and read only")
            }
            (Request::Write { value, .. }, false) => Ok(Phase::Write {
                version: Version::Lww {
                    dot: self.dot(ctx),
                    data: Data::Register(value),
                },
            }),
            // A read-modify-write: read first.
            (Request::Append { .. }, false) => Ok(read()),
            (Request::Append { value, .. }, true) => Ok(Phase::Write {
                version: Version::Set(imbl::ordmap! {value => self.dot(ctx)}),
            }),
        }
    }

    fn on_request(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        id: RequestId,
        request: Request,
    ) {
        let phase = match self.first_phase(ctx, request) {
            Ok(phase) => phase,
            Err(reason) => return ctx.send(from, reply(id, Answer::Refused { reason }, 0)),
        };
        if request.is_write() {
            if let Some(done) = self.data.dedup.seen(id) {
                let done = done.clone();
                return ctx.send(from, reply(id, Answer::Done(done), 0));
            }
            if self.data.dedup.stale(id) || self.ops.values().any(|c| c.id == id) {
                return; // A late duplicate, or one of a write in flight.
            }
        }
        let op = self.next_op;
        self.next_op += 1;
        let key = request.key();
        let targets = self
            .config
            .ring(key)
            .take(self.config.n)
            .map(|n| (n, None))
            .collect();
        let c = Coordination {
            client: from,
            id,
            request,
            key,
            phase,
            targets,
            answered: BTreeSet::new(),
            began: ctx.monotonic(),
            phase_began: ctx.monotonic(),
        };
        self.ops.insert(op, c);
        ctx.set_timer(TICK, Timer::Tick(op));
        self.recruit(op, true);
        self.send_phase(ctx, op);
    }

    /// Gives each silent preference node of coordination `op` a fallback, if it has
    /// none yet: the next node along the ring not already used. With
    /// `suspects_only`, only the suspected ones.
    fn recruit(&mut self, op: u64, suspects_only: bool) {
        let picks: Vec<bool> = match self.ops.get(&op) {
            Some(c) => c
                .targets
                .iter()
                .map(|t| !suspects_only || self.suspects.contains(&t.0))
                .collect(),
            None => return,
        };
        let spare: Vec<NodeId> = match self.ops.get(&op) {
            Some(c) => self.config.ring(c.key).skip(self.config.n).collect(),
            None => return,
        };
        let c = self.ops.get_mut(&op).expect("looked up above");
        let mut used: BTreeSet<NodeId> = c.targets.iter().filter_map(|t| t.1).collect();
        let mut spare = spare.into_iter();
        for (target, pick) in c.targets.iter_mut().zip(picks) {
            if !pick || target.1.is_some() || c.answered.contains(&target.0) {
                continue;
            }
            if let Some(fallback) = spare.find(|f| !used.contains(f)) {
                used.insert(fallback);
                target.1 = Some(fallback);
            }
        }
    }

    /// Sends the current phase to every target (and fallback) that has not answered.
    fn send_phase(&mut self, ctx: &mut Ctx<'_, Self>, op: u64) {
        let Some(c) = self.ops.get(&op) else {
            return;
        };
        let me = ctx.id();
        let mut sends: Vec<(NodeId, Peer)> = Vec::new();
        for &(node, fallback) in &c.targets {
            for (to, hint) in [(Some(node), None), (fallback, Some(node))] {
                let Some(to) = to.filter(|t| !c.answered.contains(t)) else {
                    continue;
                };
                let msg = match &c.phase {
                    Phase::Read { .. } => Peer::Get { op, key: c.key },
                    Phase::Write { version } => Peer::Put {
                        op,
                        key: c.key,
                        version: version.clone(),
                        hint,
                    },
                };
                sends.push((to, msg));
            }
        }
        // Others first: this node's own answer may end the phase at once.
        sends.sort_by_key(|(to, _)| *to == me);
        let phase_is_read = matches!(c.phase, Phase::Read { .. });
        for (to, msg) in sends {
            let same = self
                .ops
                .get(&op)
                .is_some_and(|c| matches!(c.phase, Phase::Read { .. }) == phase_is_read);
            if same {
                self.deliver(ctx, to, msg);
            }
        }
    }

    fn on_peer(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Peer) {
        self.suspects.remove(&from);
        match msg {
            Peer::Get { op, key } => {
                let mut version = self.data.store.get(&key).cloned();
                for (&(_, k), hinted) in self.data.hints.iter() {
                    if k == key {
                        merge_into(&mut version, hinted);
                    }
                }
                self.deliver(ctx, from, Peer::GetAck { op, version });
            }
            Peer::Put {
                op,
                key,
                version,
                hint,
            } => {
                self.put(ctx, key, &version, hint);
                if op != 0 {
                    self.deliver(ctx, from, Peer::PutAck { op });
                }
            }
            Peer::GetAck { op, version } => self.on_get_ack(ctx, from, op, version),
            Peer::PutAck { op } => self.on_put_ack(ctx, from, op),
            Peer::Handoff { key, version } => {
                self.put(ctx, key, &version, None);
                ctx.send(from, Wire::Peer(Peer::HandoffAck { key, version }));
            }
            Peer::HandoffAck { key, version } => {
                if self.data.hints.get(&(from, key)) == Some(&version) {
                    self.save(ctx, |d| {
                        d.hints.remove(&(from, key));
                    });
                }
            }
            Peer::Sync { store, answer } => self.on_sync(ctx, from, store, answer),
        }
    }

    /// Merges a version into the store, or into the hints if it is for another node.
    fn put(&mut self, ctx: &mut Ctx<'_, Self>, key: Key, version: &Version, hint: Option<NodeId>) {
        let me = ctx.id();
        match hint.filter(|&h| h != me) {
            Some(owner) => {
                let mut slot = self.data.hints.get(&(owner, key)).cloned();
                if merge_into(&mut slot, version) {
                    let merged = slot.expect("merged");
                    self.save(ctx, |d| {
                        d.hints.insert((owner, key), merged);
                    });
                }
            }
            None => {
                let mut slot = self.data.store.get(&key).cloned();
                if merge_into(&mut slot, version) {
                    let merged = slot.expect("merged");
                    self.save(ctx, |d| {
                        d.store.insert(key, merged);
                    });
                }
            }
        }
    }

    fn on_get_ack(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        op: u64,
        version: Option<Version>,
    ) {
        let now = ctx.monotonic();
        let Some(c) = self.ops.get(&op) else {
            return;
        };
        if !matches!(c.phase, Phase::Read { .. }) || c.answered.contains(&from) {
            return;
        }
        // A sloppy quorum: a fallback's answer counts like a preference node's, even an
        // empty one, once the node it stands in for is silent and suspected (for
        // SUSPECT, here or in an earlier coordination). That is what keeps reads
        // answering on a partition's minority side, and its price: a read whose quorum
        // is made of fallbacks that hold nothing for the key answers "nothing", and an
        // append built on it (a read-modify-write) overwrites the list. Until then an
        // empty fallback waits: a node that is merely slow must not be outvoted by one
        // that knows nothing; and once that node answers, the fallback counts for
        // nothing.
        let counts =
            version.is_some() || self.config.owns(from, c.key) || c.empty_vote(now, &self.suspects);
        let c = self.ops.get_mut(&op).expect("looked up above");
        c.answered.insert(from);
        let Phase::Read {
            merged,
            answers,
            empty_fallbacks,
        } = &mut c.phase
        else {
            unreachable!("checked above");
        };
        if let Some(v) = &version {
            merge_into(merged, v);
        }
        if !counts {
            return empty_fallbacks.push(from);
        }
        answers.push((from, version));
        self.try_complete_read(ctx, op);
    }

    /// Counts the waiting empty fallbacks that may now stand in for suspected
    /// preference nodes, and ends the read if that makes `r`. Whether it ended
    /// (replied, or went on to an append's write phase).
    fn flush_empty_fallbacks(&mut self, ctx: &mut Ctx<'_, Self>, op: u64, now: Time) -> bool {
        let reading = |me: &Self| {
            me.ops
                .get(&op)
                .is_some_and(|c| matches!(c.phase, Phase::Read { .. }))
        };
        if !reading(self) {
            return false;
        }
        loop {
            if !reading(self) {
                return true;
            }
            let c = &self.ops[&op];
            let Phase::Read {
                empty_fallbacks, ..
            } = &c.phase
            else {
                unreachable!("checked above");
            };
            if empty_fallbacks.is_empty() || !c.empty_vote(now, &self.suspects) {
                return false;
            }
            let c = self.ops.get_mut(&op).expect("looked up above");
            let Phase::Read {
                answers,
                empty_fallbacks,
                ..
            } = &mut c.phase
            else {
                unreachable!("checked above");
            };
            let fallback = empty_fallbacks.remove(0);
            answers.push((fallback, None));
            self.try_complete_read(ctx, op);
        }
    }

    /// Ends a read that has `r` answers: read repair, then the reply, or an append's
    /// write phase.
    fn try_complete_read(&mut self, ctx: &mut Ctx<'_, Self>, op: u64) {
        let Some(c) = self.ops.get(&op) else {
            return;
        };
        let Phase::Read {
            merged, answers, ..
        } = &c.phase
        else {
            return;
        };
        if answers.len() < self.config.r {
            return;
        }
        let merged = merged.clone();
        // Read repair: the preference nodes that answered with something older.
        let stale: Vec<NodeId> = answers
            .iter()
            .filter(|(node, v)| *v != merged && self.config.owns(*node, c.key))
            .map(|(node, _)| *node)
            .collect();
        let key = c.key;
        if let Some(version) = &merged {
            for node in stale {
                let repair = Peer::Put {
                    op: 0,
                    key,
                    version: version.clone(),
                    hint: None,
                };
                self.deliver(ctx, node, repair);
            }
        }
        let Some(c) = self.ops.get(&op) else {
            return;
        };
        match c.request {
            Request::Append { value, .. } => self.begin_append_write(ctx, op, merged, value),
            _ => {
                let done = merged.map_or(Reply::Read(None), |v| v.reply());
                self.finish(ctx, op, Answer::Done(done));
            }
        }
    }

    /// An append's second phase: the list read, with `value` at its end, written back
    /// under a new dot. A preference node that did not answer the read keeps its
    /// fallback.
    fn begin_append_write(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        op: u64,
        merged: Option<Version>,
        value: Value,
    ) {
        let list = match merged {
            Some(Version::Lww {
                data: Data::List(mut list),
                ..
            }) => {
                list.push_back(value);
                list
            }
            Some(Version::Lww {
                data: Data::Register(old),
                ..
            }) => imbl::vector![old, value],
            _ => imbl::vector![value],
        };
        let dot = self.dot(ctx);
        let c = self.ops.get_mut(&op).expect("in flight");
        c.phase = Phase::Write {
            version: Version::Lww {
                dot,
                data: Data::List(list),
            },
        };
        for target in &mut c.targets {
            if c.answered.contains(&target.0) {
                target.1 = None;
            }
        }
        c.answered.clear();
        c.phase_began = ctx.monotonic();
        self.send_phase(ctx, op);
    }

    fn on_put_ack(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, op: u64) {
        let w = self.config.w;
        let Some(c) = self.ops.get_mut(&op) else {
            return;
        };
        if !matches!(c.phase, Phase::Write { .. }) || !c.answered.insert(from) {
            return;
        }
        if c.answered.len() < w {
            return;
        }
        let done = match c.request {
            Request::Append { .. } => Reply::Appended,
            _ => Reply::Written,
        };
        self.finish(ctx, op, Answer::Done(done));
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, Self>, op: u64, answer: Answer) {
        let c = self
            .ops
            .remove(&op)
            .expect("finishing an operation in flight");
        if let (true, Answer::Done(done)) = (c.request.is_write(), &answer) {
            let (id, done) = (c.id, done.clone());
            self.save(ctx, |d| d.dedup.record(id, done));
        }
        ctx.send(c.client, reply(c.id, answer, 0));
    }

    /// Resends, recruits a fallback for each silent preference node, or gives up.
    fn on_tick(&mut self, ctx: &mut Ctx<'_, Self>, op: u64) {
        let now = ctx.monotonic();
        let Some(c) = self.ops.get_mut(&op) else {
            return;
        };
        if now.saturating_since(c.began) >= GIVE_UP {
            let answer = match c.phase {
                Phase::Write { .. } => Answer::Indeterminate {
                    reason: "too few nodes acknowledged in time",
                },
                Phase::Read { .. } => Answer::Refused {
                    reason: "too few nodes answered in time",
                },
            };
            return self.finish(ctx, op, answer);
        }
        if now.saturating_since(c.phase_began) >= SUSPECT {
            for &(node, _) in &c.targets {
                if !c.answered.contains(&node) {
                    self.suspects.insert(node);
                }
            }
        }
        ctx.set_timer(TICK, Timer::Tick(op));
        if self.flush_empty_fallbacks(ctx, op, now) {
            // The read ended: replied to, or its write phase already sent.
            return;
        }
        self.recruit(op, false);
        self.send_phase(ctx, op);
    }

    fn on_handoff(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.set_timer(HANDOFF, Timer::Handoff);
        for ((owner, key), version) in self.data.hints.iter() {
            let msg = Peer::Handoff {
                key: *key,
                version: version.clone(),
            };
            ctx.send(*owner, Wire::Peer(msg));
        }
    }

    fn on_anti_entropy(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.set_timer(ANTI_ENTROPY, Timer::AntiEntropy);
        let others = u64::from(self.config.replicas) - 1;
        if others == 0 {
            return;
        }
        let step = 1 + self.exchanges % others;
        self.exchanges += 1;
        let peer = NodeId(((u64::from(ctx.id().0) + step) % (others + 1)) as u32);
        let store = self.data.store.clone();
        ctx.send(
            peer,
            Wire::Peer(Peer::Sync {
                store,
                answer: true,
            }),
        );
    }

    fn on_sync(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        store: imbl::OrdMap<Key, Version>,
        answer: bool,
    ) {
        let me = ctx.id();
        let mut mine = self.data.store.clone();
        let mut changed = false;
        for (key, version) in store.iter() {
            if self.config.owns(me, *key) {
                let mut slot = mine.get(key).cloned();
                if merge_into(&mut slot, version) {
                    mine.insert(*key, slot.expect("merged"));
                    changed = true;
                }
            }
        }
        if changed {
            self.save(ctx, |d| d.store = mine);
        }
        if answer {
            let store = self.data.store.clone();
            ctx.send(
                from,
                Wire::Peer(Peer::Sync {
                    store,
                    answer: false,
                }),
            );
        }
    }
}

impl Node for DynamoReplica {
    type Config = DynamoConfig;
    type Msg = Msg;
    type Timer = Timer;
    type Durable = Durable;
    type Input = Infallible;
    type Output = Infallible;

    fn deadline(msg: &Self::Msg) -> Option<sim_core::Duration> {
        crate::client::request_deadline(msg)
    }

    fn class(msg: &Self::Msg) -> usize {
        crate::client::request_class(msg)
    }

    fn start(config: &DynamoConfig, ctx: &mut Ctx<'_, Self>) -> Self {
        ctx.set_timer(HANDOFF, Timer::Handoff);
        // Spread the nodes' exchanges over the period.
        let first = ctx.rng().below(ANTI_ENTROPY.as_nanos()) + 1;
        ctx.set_timer(Duration::from_nanos(first), Timer::AntiEntropy);
        DynamoReplica {
            config: *config,
            ops: BTreeMap::new(),
            next_op: 1,
            last_dot: 0,
            exchanges: 0,
            suspects: BTreeSet::new(),
            data: ctx.durable().clone(),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Wire::Client(ClientMsg::Request { id, request, .. }) => {
                self.on_request(ctx, from, id, request)
            }
            Wire::Client(ClientMsg::Reply { .. }) => {}
            Wire::Peer(peer) => {
                if from.0 < self.config.replicas {
                    self.on_peer(ctx, from, peer);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Timer) {
        match timer {
            Timer::Tick(op) => self.on_tick(ctx, op),
            Timer::Handoff => self.on_handoff(ctx),
            Timer::AntiEntropy => self.on_anti_entropy(ctx),
        }
    }
}

impl crate::Replica for DynamoReplica {
    type Peer = Peer;
}

crate::settings! {
    /// The settings of dynamo and dynamo-crdt.
    pub struct DynamoSettings {
        /// Nodes on the ring.
        "replicas" replicas: usize = 5, in 1..=64, explore 1..=7;
        /// Preference list length (default: 3, or every node if there are fewer).
        "n" n: Option<usize> = None, in 1..=64, explore 1..=3;
        /// Read quorum (default: 2, or n if it is smaller).
        "r" r: Option<usize> = None, in 1..=64, explore 1..=3;
        /// Write quorum (default: 2, or n if it is smaller).
        "w" w: Option<usize> = None, in 1..=64, explore 1..=3;
    }
}

/// dynamo in the catalog.
pub const DYNAMO: Declaration<DynamoSettings, Dynamo> = Declaration {
    info: ModelInfo {
        name: "dynamo",
        summary: "leaderless N/R/W replication, sloppy quorums with hinted handoff, read repair, anti-entropy; last writer wins by the coordinator's clock, so skewed clocks lose acknowledged writes",
        promises: &[Guarantee::Convergence],
        variant_of: None,
        breaks: &[],
        default_scenario: "clock-skew",
        workload: Mix::ListAppend,
        settings: &[],
    },
    build: |s| Dynamo::new(s, false),
};

/// dynamo-crdt in the catalog.
pub const DYNAMO_CRDT: Declaration<DynamoSettings, Dynamo> = Declaration {
    info: ModelInfo {
        name: "dynamo-crdt",
        summary: "dynamo whose keys are add-only sets merged by union: appends are never lost (writes and cas refused)",
        promises: &[Guarantee::Convergence, Guarantee::NoLostWrites],
        variant_of: None,
        breaks: &[],
        default_scenario: "partition-halves",
        workload: Mix::ListAppend,
        settings: &[],
    },
    build: |s| Dynamo::new(s, true),
};

/// The model the runner builds: `dynamo` or `dynamo-crdt`.
///
/// ```
/// use models::dynamo::{DYNAMO, DYNAMO_CRDT};
/// use models::{Model, Params};
/// let err = DYNAMO.model(&Params::default().with("r", 4)).unwrap_err();
/// assert!(err.to_string().contains("`r`"), "{err}");
/// assert_eq!(DYNAMO_CRDT.model(&Params::default())?.replicas().len(), 5);
/// # Ok::<(), models::ModelError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Dynamo {
    config: DynamoConfig,
}

impl Dynamo {
    /// Builds `dynamo` (`crdt: false`) or `dynamo-crdt`, refusing settings that make
    /// no sense together.
    pub fn new(settings: DynamoSettings, crdt: bool) -> Result<Dynamo, ModelError> {
        let name = if crdt { "dynamo-crdt" } else { "dynamo" };
        let replicas = settings.replicas;
        let n = settings.n.unwrap_or(3.min(replicas));
        let r = settings.r.unwrap_or(2.min(n));
        let w = settings.w.unwrap_or(2.min(n));
        let bad = |param: &str, problem: String| ModelError::setting(name, param, problem);
        if n > replicas {
            return Err(bad(
                "n",
                format!("is {n}; a preference list needs 1 to {replicas} nodes (replicas)"),
            ));
        }
        for (param, q) in [("r", r), ("w", w)] {
            if q > n {
                return Err(bad(
                    param,
                    format!("is {q}; a quorum needs 1 to n = {n} nodes"),
                ));
            }
        }
        Ok(Dynamo {
            config: DynamoConfig {
                replicas: replicas as u32,
                n,
                r,
                w,
                crdt,
            },
        })
    }

    /// The nodes' settings.
    pub fn config(&self) -> DynamoConfig {
        self.config
    }
}

impl Model for Dynamo {
    type Replica = DynamoReplica;

    fn replicas(&self) -> Vec<DynamoConfig> {
        vec![self.config; self.config.replicas as usize]
    }

    fn routing(&self) -> Routing {
        Routing::Home
    }
}
