//! `cache-aside`: a store, a cache in front of it, and application servers that read
//! through the cache; and its bug, `cache-fill-race`.
//!
//! The pattern of "database writes succeed while downstream caches remain stale": an
//! application reads a key from the cache; on a miss it reads the store and fills the
//! cache with what it read. A write goes to the store, and the cache entry is
//! invalidated. One node type ([`CacheAsideNode`]) plays three roles, fixed by its
//! position:
//!
//! - `n0` is the **store**: the keys, an idempotency table and an **outbox of
//!   invalidations**, all durable and synced with each write, in one step (as a
//!   transactional outbox does). It resends each invalidation to the cache until the
//!   cache acknowledges it, so a crash of the store, or a lost message, delays an
//!   invalidation but never loses it (Facebook's memcache has its invalidations sent
//!   from the database's commit log for this reason: an application server that
//!   crashes between its write and its delete would leave the entry stale forever).
//! - `n1` is the **cache**: entries and leases, volatile (a crash empties it).
//! - `n2…` are **application servers**, which clients talk to: a read asks the cache;
//!   on a miss it reads the store and fills the cache; a write, append or cas is sent
//!   to the store. They keep nothing but the requests in flight.
//!
//! **The race** (`cache-fill-race`): a read misses and reads value 1 from the store; a
//! write of 2 commits and its invalidation reaches the cache, which has nothing to
//! delete; then the read's fill of 1 arrives and is taken. The cache now holds 1, the
//! store 2, and nothing will ever invalidate the entry again: every read through the
//! cache returns 1 until the next write of the key.
//!
//! **The fix** (`cache-aside`), leases as in Nishtala et al., *Scaling Memcache at
//! Facebook* (NSDI 2013): a miss hands out a lease for the key, an invalidation voids
//! it, and a fill is taken only with the key's current lease. The fill carries the
//! lease issued before its own store read (an application server takes the first
//! lease a request is given and ignores a second, from a duplicated request to the
//! cache), so any write the read does not see commits after the lease was issued, and
//! that write's invalidation either voids the lease before the fill (the fill is
//! refused) or deletes the filled entry after it. A lease names the cache's boot
//! (a durable count of its starts), so a lease from before a crash fills nothing.
//!
//! What the history shows: reads through a cache are not linearizable even when it is
//! correct (a read may hit an entry whose invalidation is still on its way), so the
//! model promises what holds once the system is quiet: the final reads (through the
//! cache) return the store's value, so no acknowledged write is lost and all final
//! reads agree. A stale entry after quiet shows in the history as a lost write (a
//! final read returns a value older than an acknowledged write). The ground truth
//! beside the history is [`CacheWatch`], the model's invariants: it compares the cache
//! with the store after every event and, at the end of the run, reports an entry that
//! still differs, with how long it has.

use std::collections::BTreeMap;
use std::convert::Infallible;

use sim_core::{Ctx, Duration, Node, NodeId, Time};

use crate::client::{Answer, ClientConfig, ClientMsg, Dedup, RequestId, Routing, Wire, reply};
use crate::kv::{Key, Mix, Reply, Request, Store};
use crate::{Declaration, Guarantee, Invariants, Measure, Model, ModelError, ModelInfo};

/// The store's node id.
pub const STORE: NodeId = NodeId(0);
/// The cache's node id.
pub const CACHE: NodeId = NodeId(1);

/// How often the store resends invalidations the cache has not acknowledged.
const RESEND: Duration = Duration::from_millis(50);

/// Which of the two models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Fills need the key's current lease.
    Leases,
    /// Every fill is taken (the bug).
    FillRace,
}

impl Variant {
    /// The catalog name.
    pub const fn name(self) -> &'static str {
        match self {
            Variant::Leases => "cache-aside",
            Variant::FillRace => "cache-fill-race",
        }
    }
}

/// A lease on one key's fill: the cache's boot and a number within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Lease {
    /// How many times the cache had started when it issued the lease.
    pub boot: u64,
    /// The lease's number within that boot.
    pub n: u64,
}

/// Messages between the roles.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    /// App → cache: what does the cache hold for `key`?
    Get { tag: u64, key: Key },
    /// Cache → app: this (the reply a store read gave when it was filled).
    Hit { tag: u64, reply: Reply },
    /// Cache → app: nothing; fill it with this lease.
    Miss { tag: u64, lease: Lease },
    /// App → store: read `key`.
    Load { tag: u64, key: Key },
    /// Store → app: what the read returned.
    Loaded { tag: u64, reply: Reply },
    /// App → cache: keep `reply` for `key` (taken only with the current lease, unless
    /// the fill race is planted).
    Fill {
        key: Key,
        reply: Reply,
        lease: Lease,
    },
    /// App → store: apply a client's write (append, cas), idempotently by `id`.
    Apply {
        tag: u64,
        id: RequestId,
        request: Request,
    },
    /// Store → app: it was applied (or had been), with this reply.
    Applied { tag: u64, reply: Reply },
    /// Store → cache: `key` changed; drop its entry and void its lease.
    Invalidate { seq: u64, key: Key },
    /// Cache → store: invalidation `seq` arrived.
    InvalidateAck { seq: u64 },
}

/// The store's durable state: synced, together, with each write.
#[derive(Clone, Debug, Default)]
pub struct StoreData {
    /// The keys.
    pub store: Store,
    /// The last request applied per client.
    pub dedup: Dedup,
    /// Invalidations not yet acknowledged by the cache, by number.
    pub outbox: imbl::OrdMap<u64, Key>,
    /// The next invalidation's number.
    pub next_seq: u64,
}

/// What each role remembers across a crash: the store its data, the cache and the
/// application servers the count of their boots.
#[derive(Clone, Debug, Default)]
pub struct Durable {
    /// The store's data.
    pub data: StoreData,
    /// The cache's (or an application server's) boots so far.
    pub boots: u64,
}

/// One cache entry, with where it came from (for the witness of a stale one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The store read's reply.
    pub reply: Reply,
    /// When the fill arrived.
    pub filled_at: Time,
    /// The application server that filled it.
    pub by: NodeId,
}

/// A request an application server is serving.
#[derive(Clone, Debug)]
pub struct InFlight {
    /// Who asked.
    pub client: NodeId,
    /// The client's request id.
    pub id: RequestId,
    /// The key.
    pub key: Key,
    /// For a read that missed: the lease its fill needs.
    pub lease: Option<Lease>,
}

/// The node, in one of its three roles.
#[derive(Debug)]
pub enum CacheAsideNode {
    /// `n0`.
    Store {
        /// A copy of the durable keys, for the invariants to read.
        store: Store,
    },
    /// `n1`.
    Cache {
        /// The bug planted or not.
        variant: Variant,
        /// This boot.
        boot: u64,
        /// The next lease number.
        next_lease: u64,
        /// Entries by key.
        entries: BTreeMap<Key, Entry>,
        /// The current lease per key.
        leases: BTreeMap<Key, Lease>,
        /// The hits served this boot, key and reply, for the invariants to count those
        /// that served a stale entry (one event may serve several: messages held at a
        /// paused node arrive together).
        served: Vec<(Key, Reply)>,
    },
    /// `n2` and up.
    App {
        /// The next request tag.
        next_tag: u64,
        /// Requests in flight by tag.
        in_flight: BTreeMap<u64, InFlight>,
    },
}

/// What the store resends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Resend;

impl Node for CacheAsideNode {
    type Config = Variant;
    type Msg = Wire<Peer>;
    type Timer = Resend;
    type Durable = Durable;
    type Input = Infallible;
    type Output = Infallible;

    fn start(variant: &Variant, ctx: &mut Ctx<'_, Self>) -> Self {
        match ctx.id() {
            STORE => {
                ctx.set_timer(RESEND, Resend);
                CacheAsideNode::Store {
                    store: ctx.durable().data.store.clone(),
                }
            }
            CACHE => {
                ctx.durable_mut().boots += 1;
                ctx.sync();
                CacheAsideNode::Cache {
                    variant: *variant,
                    boot: ctx.durable().boots,
                    next_lease: 0,
                    entries: BTreeMap::new(),
                    leases: BTreeMap::new(),
                    served: Vec::new(),
                }
            }
            _ => {
                // Tags name the boot too: an answer to a request from before a crash
                // must not match one made after it.
                ctx.durable_mut().boots += 1;
                ctx.sync();
                CacheAsideNode::App {
                    next_tag: ctx.durable().boots << 32,
                    in_flight: BTreeMap::new(),
                }
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Wire<Peer>) {
        match (self, msg) {
            (
                CacheAsideNode::App {
                    next_tag,
                    in_flight,
                },
                Wire::Client(msg),
            ) => {
                app_request(ctx, (next_tag, in_flight), from, msg);
            }
            (CacheAsideNode::App { in_flight, .. }, Wire::Peer(peer)) => {
                app_peer(ctx, in_flight, peer);
            }
            (CacheAsideNode::Store { store }, Wire::Peer(peer)) => {
                store_peer(ctx, store, from, peer);
            }
            (cache @ CacheAsideNode::Cache { .. }, Wire::Peer(peer)) => {
                cache_peer(ctx, cache, from, peer);
            }
            // Clients talk to application servers only.
            (_, Wire::Client(_)) => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, _timer: Resend) {
        for (&seq, &key) in &ctx.durable().data.outbox.clone() {
            ctx.send(CACHE, Wire::Peer(Peer::Invalidate { seq, key }));
        }
        ctx.set_timer(RESEND, Resend);
    }
}

/// An application server takes a client's request.
fn app_request(
    ctx: &mut Ctx<'_, CacheAsideNode>,
    (next_tag, in_flight): (&mut u64, &mut BTreeMap<u64, InFlight>),
    client: NodeId,
    msg: ClientMsg,
) {
    let ClientMsg::Request { id, request, .. } = msg else {
        return;
    };
    // A client has one request at a time: whatever it asked before is abandoned.
    in_flight.retain(|_, f| f.client != client);
    let tag = *next_tag;
    *next_tag += 1;
    let key = request.key();
    let f = InFlight {
        client,
        id,
        key,
        lease: None,
    };
    in_flight.insert(tag, f);
    let peer = match request {
        Request::Read { key } => {
            ctx.send(CACHE, Wire::Peer(Peer::Get { tag, key }));
            return;
        }
        _ => Peer::Apply { tag, id, request },
    };
    ctx.send(STORE, Wire::Peer(peer));
}

/// An application server hears from the cache or the store.
fn app_peer(
    ctx: &mut Ctx<'_, CacheAsideNode>,
    in_flight: &mut BTreeMap<u64, InFlight>,
    peer: Peer,
) {
    match peer {
        Peer::Hit { tag, reply } | Peer::Applied { tag, reply } => {
            if let Some(f) = in_flight.remove(&tag) {
                ctx.send(f.client, reply_to(f.id, reply));
            }
        }
        Peer::Miss { tag, lease } => {
            // One lease per request, the one issued before its store read: a second
            // Miss (answering a duplicated Get) may carry a lease issued after a
            // write's invalidation, which the first read's older value must not use.
            if let Some(f) = in_flight.get_mut(&tag).filter(|f| f.lease.is_none()) {
                f.lease = Some(lease);
                let key = f.key;
                ctx.send(STORE, Wire::Peer(Peer::Load { tag, key }));
            }
        }
        Peer::Loaded { tag, reply } => {
            if let Some(f) = in_flight.remove(&tag) {
                if let Some(lease) = f.lease {
                    let fill = Peer::Fill {
                        key: f.key,
                        reply: reply.clone(),
                        lease,
                    };
                    ctx.send(CACHE, Wire::Peer(fill));
                }
                ctx.send(f.client, reply_to(f.id, reply));
            }
        }
        _ => {}
    }
}

/// The answer to a client's request `id`.
fn reply_to(id: RequestId, done: Reply) -> Wire<Peer> {
    reply(id, Answer::Done(done), 0)
}

/// The store hears from an application server or the cache.
fn store_peer(ctx: &mut Ctx<'_, CacheAsideNode>, store: &mut Store, from: NodeId, peer: Peer) {
    match peer {
        Peer::Load { tag, key } => {
            let reply = store.read(key);
            ctx.send(from, Wire::Peer(Peer::Loaded { tag, reply }));
        }
        Peer::Apply { tag, id, request } => {
            let reply = apply(ctx, id, &request);
            *store = ctx.durable().data.store.clone();
            ctx.send(from, Wire::Peer(Peer::Applied { tag, reply }));
        }
        Peer::InvalidateAck { seq } => {
            // No sync needed: an invalidation sent again after a crash does no harm.
            ctx.durable_mut().data.outbox.remove(&seq);
        }
        _ => {}
    }
}

/// Applies a client's write once (a retry is answered from the idempotency table), with
/// its invalidation in the outbox, synced together before the answer.
fn apply(ctx: &mut Ctx<'_, CacheAsideNode>, id: RequestId, request: &Request) -> Reply {
    if let Some(done) = ctx.durable().data.dedup.seen(id) {
        return done.clone();
    }
    let data = &mut ctx.durable_mut().data;
    let reply = data.store.apply(request);
    data.dedup.record(id, reply.clone());
    let seq = data.next_seq;
    data.next_seq += 1;
    data.outbox.insert(seq, request.key());
    ctx.sync();
    ctx.send(
        CACHE,
        Wire::Peer(Peer::Invalidate {
            seq,
            key: request.key(),
        }),
    );
    reply
}

/// The cache hears from an application server or the store.
fn cache_peer(
    ctx: &mut Ctx<'_, CacheAsideNode>,
    cache: &mut CacheAsideNode,
    from: NodeId,
    peer: Peer,
) {
    let CacheAsideNode::Cache {
        variant,
        boot,
        next_lease,
        entries,
        leases,
        served,
    } = cache
    else {
        unreachable!("cache_peer is called for the cache only");
    };
    match peer {
        Peer::Get { tag, key } => {
            let answer = match entries.get(&key) {
                Some(entry) => {
                    served.push((key, entry.reply.clone()));
                    Peer::Hit {
                        tag,
                        reply: entry.reply.clone(),
                    }
                }
                None => {
                    let lease = Lease {
                        boot: *boot,
                        n: *next_lease,
                    };
                    *next_lease += 1;
                    leases.insert(key, lease);
                    Peer::Miss { tag, lease }
                }
            };
            ctx.send(from, Wire::Peer(answer));
        }
        Peer::Fill { key, reply, lease } => {
            let current = leases.get(&key) == Some(&lease);
            if current || *variant == Variant::FillRace {
                leases.remove(&key);
                let filled_at = ctx.now();
                entries.insert(
                    key,
                    Entry {
                        reply,
                        filled_at,
                        by: from,
                    },
                );
            }
        }
        Peer::Invalidate { seq, key } => {
            entries.remove(&key);
            leases.remove(&key);
            ctx.send(from, Wire::Peer(Peer::InvalidateAck { seq }));
        }
        _ => {}
    }
}

impl crate::Replica for CacheAsideNode {
    type Peer = Peer;

    /// The store is what `isolate-leader` cuts off: every write needs it.
    fn leads(&self) -> bool {
        matches!(self, CacheAsideNode::Store { .. })
    }
}

crate::settings! {
    /// The settings of cache-aside and cache-fill-race.
    pub struct CacheAsideSettings {
        /// Application servers (besides the store and the cache).
        "apps" apps: usize = 2, in 1..=8;
    }
}

/// cache-aside in the catalog.
pub const CACHE_ASIDE: Declaration<CacheAsideSettings, CacheAside> = Declaration {
    info: ModelInfo::new(
        Variant::Leases.name(),
        "a store, a cache filled on misses under leases, invalidations from the store's outbox",
    )
    .promises(&[Guarantee::Convergence, Guarantee::NoLostWrites])
    .workload(Mix::Register),
    build: |s| CacheAside::new(s, Variant::Leases),
};

/// cache-fill-race in the catalog.
pub const CACHE_FILL_RACE: Declaration<CacheAsideSettings, CacheAside> = Declaration {
    info: ModelInfo::new(
        Variant::FillRace.name(),
        "cache-aside whose cache takes every fill: one read before a write's invalidation leaves the entry stale",
    )
    .variant_of(Variant::Leases.name(), &[Guarantee::NoLostWrites])
    // The race needs no fault, only a fill that arrives after an invalidation: first
    // at seed 4 of 0..200, in 33 of them (swarm: seed 8, 24; pinned by scenarios'
    // `the_bug_zoos_seed_statistics`).
    .scenario("none")
    .workload(Mix::Register),
    build: |s| CacheAside::new(s, Variant::FillRace),
};

/// The model the runner builds.
#[derive(Clone, Copy, Debug)]
pub struct CacheAside {
    apps: usize,
    variant: Variant,
}

impl CacheAside {
    fn new(s: CacheAsideSettings, variant: Variant) -> Result<CacheAside, ModelError> {
        Ok(CacheAside {
            apps: s.apps,
            variant,
        })
    }
}

impl Model for CacheAside {
    type Replica = CacheAsideNode;

    fn replicas(&self) -> Vec<Variant> {
        vec![self.variant; 2 + self.apps]
    }

    fn routing(&self) -> Routing {
        Routing::Home
    }

    /// Clients talk to the application servers only.
    fn client(&self, mut base: ClientConfig) -> ClientConfig {
        base.home %= self.apps;
        base.replicas = (0..self.apps).map(|i| NodeId(2 + i as u32)).collect();
        base
    }

    fn invariants(&self) -> Option<Box<dyn Invariants<CacheAsideNode>>> {
        Some(Box::new(CacheWatch::default()))
    }
}

/// The ground truth beside the history: after every event, which cache entries differ
/// from the store, since when, and whether the event was a hit that served one; at the
/// end of the run, an entry that still differs is a broken invariant, with its story.
/// Over the run it measures how stale the cache was ([`CacheWatch::measures`]).
#[derive(Debug, Default)]
pub struct CacheWatch {
    /// Per key: since when the cache's entry has differed from the store.
    stale_since: BTreeMap<Key, Time>,
    /// The longest a key's entry differed before it was put right: key, from, until.
    pub longest: Option<(Key, Time, Time)>,
    /// The cache's boot and how many of its hits were counted.
    hits_seen: (u64, usize),
    /// Hits served over the run, and how many of them served a stale entry.
    pub hits: (u64, u64),
    /// The first stale hit, in words.
    first_stale_hit: Option<String>,
}

impl CacheWatch {
    /// The entries that differ from the store now: key, entry, the store's reply.
    fn stale<'a>(replicas: &[Option<&'a CacheAsideNode>]) -> Vec<(Key, &'a Entry, Reply)> {
        let (
            Some(Some(CacheAsideNode::Store { store })),
            Some(Some(CacheAsideNode::Cache { entries, .. })),
        ) = (replicas.first(), replicas.get(1))
        else {
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|(&key, entry)| {
                let truth = store.read(key);
                (truth != entry.reply).then_some((key, entry, truth))
            })
            .collect()
    }
}

/// A store read's reply as a value: `7`, `[1 2]`, or `nothing` for a key never written.
fn shown(reply: &Reply) -> String {
    match reply {
        Reply::Read(Some(v)) => v.to_string(),
        Reply::Read(None) => "nothing".to_owned(),
        Reply::ReadList(list) => {
            let items: Vec<String> = list.iter().map(ToString::to_string).collect();
            format!("[{}]", items.join(" "))
        }
        other => format!("{other:?}"),
    }
}

impl CacheWatch {
    /// Counts the hits the last event served, stale or not: a hit is stale when the
    /// reply it served differs from the store (if the store is down, when the entry
    /// was stale at the last look: nothing changes the store's keys while it is down).
    fn count_hits(&mut self, now: Time, replicas: &[Option<&CacheAsideNode>]) {
        let Some(Some(CacheAsideNode::Cache { boot, served, .. })) = replicas.get(1) else {
            return;
        };
        if self.hits_seen.0 != *boot {
            self.hits_seen = (*boot, 0);
        }
        let store = match replicas.first() {
            Some(Some(CacheAsideNode::Store { store })) => Some(store),
            _ => None,
        };
        for (key, reply) in &served[self.hits_seen.1..] {
            self.hits.0 += 1;
            let truth = store.map(|store| store.read(*key));
            let stale = truth.as_ref().map_or_else(
                || self.stale_since.contains_key(key),
                |truth| truth != reply,
            );
            if !stale {
                continue;
            }
            self.hits.1 += 1;
            if self.first_stale_hit.is_none() {
                let held = truth.map_or_else(String::new, |truth| {
                    format!(" while the store held {}", shown(&truth))
                });
                self.first_stale_hit = Some(format!(
                    "the first at {now}: key {key} = {}{held}",
                    shown(reply)
                ));
            }
        }
        self.hits_seen.1 = served.len();
    }

    /// The stale entries now, key and when each was filled. With the store down its
    /// keys cannot change, so an entry stale at the last look stays stale while it is
    /// still there and not filled again (a fill while the store is down is judged once
    /// it is back).
    fn stale_now(&self, replicas: &[Option<&CacheAsideNode>]) -> Vec<(Key, Time)> {
        if matches!(replicas.first(), Some(Some(_))) {
            return CacheWatch::stale(replicas)
                .into_iter()
                .map(|(key, entry, _)| (key, entry.filled_at))
                .collect();
        }
        let Some(Some(CacheAsideNode::Cache { entries, .. })) = replicas.get(1) else {
            return Vec::new();
        };
        self.stale_since
            .iter()
            .filter_map(|(key, &from)| {
                let entry = entries.get(key)?;
                (entry.filled_at <= from).then_some((*key, entry.filled_at))
            })
            .collect()
    }

    /// The entries found stale at the last look, since when.
    fn track(&mut self, now: Time, replicas: &[Option<&CacheAsideNode>]) {
        let stale = self.stale_now(replicas);
        let mut since = BTreeMap::new();
        let mut ended: Vec<(Key, Time)> = Vec::new();
        for &(key, filled_at) in &stale {
            // An entry filled since the last look starts its own count, and ends the
            // stretch of the one it replaced.
            let before = self.stale_since.get(&key).copied();
            if let Some(from) = before.filter(|&t| t >= filled_at) {
                since.insert(key, from);
            } else {
                ended.extend(before.map(|from| (key, from)));
                since.insert(key, now);
            }
        }
        ended.extend(
            self.stale_since
                .iter()
                .filter(|(key, _)| !since.contains_key(key))
                .map(|(&key, &from)| (key, from)),
        );
        for (key, from) in ended {
            if self.longest.is_none_or(|(_, a, b)| now - from > b - a) {
                self.longest = Some((key, from, now));
            }
        }
        self.stale_since = since;
    }
}

impl Invariants<CacheAsideNode> for CacheWatch {
    fn check(&mut self, now: Time, replicas: &[Option<&CacheAsideNode>]) -> Result<(), String> {
        self.track(now, replicas);
        self.count_hits(now, replicas);
        Ok(())
    }

    fn measures(&self, now: Time) -> Vec<Measure> {
        let (hits, stale) = self.hits;
        let mut shown = format!("{stale} of {hits} hits");
        if hits > 0 {
            shown += &format!(" ({:.1}%)", 100.0 * stale as f64 / hits as f64);
        }
        if let Some(first) = &self.first_stale_hit {
            shown += &format!("; {first}");
        }
        let stale_hits = Measure {
            name: "stale cache hits",
            definition: "hits the cache served while its entry differed from the store",
            value: stale,
            unit: "hits",
            shown,
        };
        vec![stale_hits, self.longest_measure(now)]
    }

    fn finish(&mut self, now: Time, replicas: &[Option<&CacheAsideNode>]) -> Result<(), String> {
        let Some((key, entry, truth)) = CacheWatch::stale(replicas).into_iter().next() else {
            return Ok(());
        };
        let since = self.stale_since.get(&key).copied().unwrap_or(now);
        Err(format!(
            "stale cache: after the quiet period, at the end of the run ({now}), the cache holds key {key} = {} while the store holds {}; {} filled the entry at {}, and it has differed from the store since {since}",
            shown(&entry.reply),
            shown(&truth),
            entry.by,
            entry.filled_at
        ))
    }
}

impl CacheWatch {
    /// The longest stretch an entry differed from the store, counting one still open
    /// at `now`.
    fn longest_measure(&self, now: Time) -> Measure {
        let open = self
            .stale_since
            .iter()
            .map(|(&key, &from)| (key, from, now))
            .max_by_key(|&(key, from, until)| (until - from, std::cmp::Reverse(key)));
        let longest = [self.longest, open]
            .into_iter()
            .flatten()
            .max_by_key(|&(_, from, until)| until - from);
        let (value, shown) = match longest {
            None => (0, "none: no entry differed from the store".to_owned()),
            Some((key, from, until)) => {
                let still = if Some((key, from, until)) == open {
                    ", still stale at the end"
                } else {
                    ""
                };
                let took = until - from;
                (
                    took.as_nanos(),
                    format!("{took}: key {key} from {from} to {until}{still}"),
                )
            }
        };
        Measure {
            name: "longest stale entry",
            definition: "the longest an entry differed from the store, until an invalidation, a refill, a crash of the cache or the end of the run",
            value,
            unit: "ns",
            shown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::Duration;

    fn at(ms: u64) -> Time {
        Time::ZERO + Duration::from_millis(ms)
    }

    fn store(value: u64) -> CacheAsideNode {
        let mut store = Store::default();
        store.apply(&Request::Write { key: 1, value });
        CacheAsideNode::Store { store }
    }

    fn cache(value: Option<u64>) -> CacheAsideNode {
        let entries = value
            .map(|v| {
                let entry = Entry {
                    reply: Reply::Read(Some(v)),
                    filled_at: at(5),
                    by: NodeId(2),
                };
                BTreeMap::from([(1, entry)])
            })
            .unwrap_or_default();
        CacheAsideNode::Cache {
            variant: Variant::FillRace,
            boot: 1,
            next_lease: 0,
            entries,
            leases: BTreeMap::new(),
            served: Vec::new(),
        }
    }

    #[test]
    fn an_entry_that_differs_at_the_end_is_a_stale_cache() {
        let (s, c) = (store(5), cache(Some(4)));
        let mut watch = CacheWatch::default();
        assert_eq!(watch.check(at(10), &[Some(&s), Some(&c)]), Ok(()));
        let broken = watch.finish(at(20), &[Some(&s), Some(&c)]).unwrap_err();
        assert!(
            broken.starts_with("stale cache: ")
                && broken.contains("holds key 1 = 4 while the store holds 5")
                && broken.contains("n2 filled the entry at 5ms")
                && broken.contains("since 10ms"),
            "{broken}"
        );
    }

    #[test]
    fn an_entry_put_right_before_the_end_is_only_measured() {
        let (s, stale, fresh) = (store(5), cache(Some(4)), cache(Some(5)));
        let mut watch = CacheWatch::default();
        watch.check(at(10), &[Some(&s), Some(&stale)]).unwrap();
        watch.check(at(20), &[Some(&s), Some(&stale)]).unwrap();
        watch.check(at(30), &[Some(&s), Some(&fresh)]).unwrap();
        assert_eq!(watch.longest, Some((1, at(10), at(30))));
        assert_eq!(watch.finish(at(40), &[Some(&s), Some(&fresh)]), Ok(()));
    }

    #[test]
    fn a_missing_entry_or_a_cache_that_is_down_is_not_stale() {
        let (s, empty, stale) = (store(5), cache(None), cache(Some(4)));
        let mut watch = CacheWatch::default();
        assert_eq!(watch.finish(at(10), &[Some(&s), Some(&empty)]), Ok(()));
        assert_eq!(watch.finish(at(10), &[Some(&s), None]), Ok(()));
        // The store down: nothing to compare with.
        assert_eq!(watch.finish(at(10), &[None, Some(&stale)]), Ok(()));
    }

    /// `cache` in its boot `boot` after it served `count` hits on key 1, each the value
    /// its entry holds.
    fn hit(mut cache: CacheAsideNode, boot: u64, count: usize) -> CacheAsideNode {
        if let CacheAsideNode::Cache {
            boot: b,
            served,
            entries,
            ..
        } = &mut cache
        {
            *b = boot;
            *served = vec![(1, entries[&1].reply.clone()); count];
        }
        cache
    }

    #[test]
    fn hits_are_counted_once_and_stale_only_when_the_entry_differs() {
        let s = store(5);
        let mut watch = CacheWatch::default();
        watch
            .check(at(10), &[Some(&s), Some(&hit(cache(Some(5)), 1, 1))])
            .unwrap();
        // The same count again: no new hit.
        watch
            .check(at(11), &[Some(&s), Some(&hit(cache(Some(5)), 1, 1))])
            .unwrap();
        watch
            .check(at(20), &[Some(&s), Some(&hit(cache(Some(4)), 1, 2))])
            .unwrap();
        // The store down: the entry stays stale, as the last look found it.
        watch
            .check(at(30), &[None, Some(&hit(cache(Some(4)), 1, 3))])
            .unwrap();
        // The cache restarted and served two hits (held messages arriving together)
        // before the watch looked: its count starts again.
        watch
            .check(at(40), &[Some(&s), Some(&hit(cache(Some(5)), 2, 2))])
            .unwrap();
        assert_eq!(watch.hits, (5, 2));
        let [stale_hits, longest] = <[Measure; 2]>::try_from(watch.measures(at(50))).unwrap();
        assert_eq!(
            (stale_hits.value, stale_hits.shown.as_str()),
            (
                2,
                "2 of 5 hits (40.0%); the first at 20ms: key 1 = 4 while the store held 5"
            )
        );
        assert_eq!(
            (longest.value, longest.shown.as_str()),
            (20_000_000, "20ms: key 1 from 20ms to 40ms")
        );
    }

    /// With the store down, a stretch goes on while its entry is there, and ends
    /// when the cache loses it (here, a crash of the cache).
    #[test]
    fn a_stretch_ends_when_its_entry_goes_even_with_the_store_down() {
        let (s, stale, empty) = (store(5), cache(Some(4)), cache(None));
        let mut watch = CacheWatch::default();
        watch.check(at(10), &[Some(&s), Some(&stale)]).unwrap();
        watch.check(at(20), &[None, Some(&stale)]).unwrap();
        watch.check(at(30), &[None, None]).unwrap();
        watch.check(at(1_000), &[Some(&s), Some(&empty)]).unwrap();
        assert_eq!(watch.longest, Some((1, at(10), at(30))));
        // The near miss: the entry still there when the store comes back.
        let mut watch = CacheWatch::default();
        watch.check(at(10), &[Some(&s), Some(&stale)]).unwrap();
        watch.check(at(20), &[None, Some(&stale)]).unwrap();
        watch.check(at(1_000), &[Some(&s), Some(&stale)]).unwrap();
        assert_eq!(watch.measures(at(1_000))[1].value, 990_000_000);
    }

    #[test]
    fn a_stretch_still_open_at_the_end_is_measured_to_the_end() {
        let (s, stale, fresh) = (store(5), cache(Some(4)), cache(Some(5)));
        let mut watch = CacheWatch::default();
        let m = watch.measures(at(0));
        assert_eq!((m[0].shown.as_str(), m[1].value), ("0 of 0 hits", 0));
        watch.check(at(10), &[Some(&s), Some(&stale)]).unwrap();
        watch.check(at(15), &[Some(&s), Some(&fresh)]).unwrap();
        watch.check(at(20), &[Some(&s), Some(&stale)]).unwrap();
        let longest = &watch.measures(at(100))[1];
        assert_eq!(
            longest.shown,
            "80ms: key 1 from 20ms to 100ms, still stale at the end"
        );
    }
}
