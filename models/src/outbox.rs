//! `outbox`: a service that writes its database and publishes an event per write,
//! through a transactional outbox; and its bug, `dual-write`.
//!
//! A write to a service's database usually has to tell someone else: an event for a
//! downstream consumer. Writing the database and then publishing are two writes to
//! two systems, and no transaction spans them. One node type
//! ([`OutboxNode`]) plays three roles, fixed by its position:
//!
//! - `n0` is the **database**: the keys, an idempotency table, the record of the writes
//!   it committed and, in `outbox`, the **outbox**, all durable and synced together.
//!   Its **relay** sends each outbox entry to the consumer until the consumer
//!   acknowledges it: at least once.
//! - `n1` is the **consumer** downstream: it applies each event once, by the write's
//!   idempotency key (an event delivered again is acknowledged and not applied again),
//!   and keeps what it applied durably.
//! - `n2…` are **services**, which clients talk to. They forward each request to the
//!   database and keep nothing but the requests in flight.
//!
//! **The bug** (`dual-write`): the service publishes the event itself, after the
//! database acknowledged the write. If the service crashes between the two (the
//! database's answer is on its way), or the event is lost on the wire, the write is
//! committed and its event never reaches the consumer. (Publishing first and writing
//! second fails the other way: an event for a write that never commits.) A client's
//! retry of the write, through another service, publishes the event after all, so the
//! loss shows only when no retry comes, or the retry's event is lost too.
//!
//! **The fix** (`outbox`): the database writes the event into its outbox in the same
//! transaction as the write, and the relay publishes it at least once; the consumer
//! deduplicates, so each committed write has exactly one effect downstream.
//!
//! What the history shows: clients read and write through the services to one
//! database, which deduplicates retries, so both models are linearizable; the events
//! are not in the history at all. The ground truth beside it is [`EventWatch`], the
//! model's invariants: once the run is quiet, every write the database committed has
//! had exactly one effect at the consumer, and the consumer has applied no event whose
//! write the database did not commit.

use std::collections::BTreeMap;
use std::convert::Infallible;

use sim_core::{Ctx, Duration, Node, NodeId};

use crate::client::{Answer, ClientConfig, ClientMsg, Dedup, RequestId, Routing, Wire, reply};
use crate::kv::{Mix, Reply, Request, Store};
use crate::{Declaration, Guarantee, Invariants, Model, ModelError, ModelInfo};

/// The database's node id.
pub const DATABASE: NodeId = NodeId(0);
/// The consumer's node id.
pub const CONSUMER: NodeId = NodeId(1);

/// How often the relay sends again the events the consumer has not acknowledged.
const RESEND: Duration = Duration::from_millis(50);

/// Which of the two models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Events go through the database's outbox.
    Outbox,
    /// The service publishes after the database's answer (the bug).
    DualWrite,
}

impl Variant {
    /// The catalog name.
    pub const fn name(self) -> &'static str {
        match self {
            Variant::Outbox => "outbox",
            Variant::DualWrite => "dual-write",
        }
    }
}

/// Messages between the roles.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    /// Service → database: apply a client's request, idempotently by `id`.
    Apply {
        /// The service's tag for the request.
        tag: u64,
        /// The client's request id (the idempotency key, and the event's id).
        id: RequestId,
        /// What to do.
        request: Request,
    },
    /// Database → service: it was applied (or had been), with this reply.
    Applied {
        /// The service's tag.
        tag: u64,
        /// The reply.
        reply: Reply,
    },
    /// → consumer: the event of write `id`; `seq` is the outbox entry's number, for
    /// the acknowledgement (`None` from a service, which wants none).
    Event {
        /// The write's id.
        id: RequestId,
        /// The write.
        request: Request,
        /// The outbox entry.
        seq: Option<u64>,
    },
    /// Database → service: the request is older than one its client has since had
    /// applied (a late duplicate), so it was not applied, and no answer of this
    /// request's is left to give.
    Stale {
        /// The service's tag.
        tag: u64,
    },
    /// Consumer → database: outbox entry `seq` arrived.
    EventAck {
        /// The outbox entry.
        seq: u64,
    },
}

/// The database's durable state, synced together with each write.
#[derive(Clone, Debug, Default)]
pub struct Database {
    /// The keys.
    pub store: Store,
    /// The last request applied per client.
    pub dedup: Dedup,
    /// Every write committed that changed something, by id.
    pub committed: imbl::OrdMap<RequestId, Request>,
    /// Events not yet acknowledged by the consumer, by number.
    pub outbox: imbl::OrdMap<u64, (RequestId, Request)>,
    /// The next outbox entry's number.
    pub next_seq: u64,
}

/// What each role keeps across a crash.
#[derive(Clone, Debug, Default)]
pub struct Durable {
    /// The database's.
    pub database: Database,
    /// The consumer's effects: per event applied, how many times.
    pub effects: imbl::OrdMap<RequestId, u32>,
    /// A service's boots so far (its tags name the boot).
    pub boots: u64,
}

/// A request a service is serving.
#[derive(Clone, Debug)]
pub struct InFlight {
    /// Who asked.
    pub client: NodeId,
    /// The client's request id.
    pub id: RequestId,
    /// The request.
    pub request: Request,
}

/// The node, in one of its three roles.
#[derive(Debug)]
pub enum OutboxNode {
    /// `n0`.
    Database {
        /// The bug planted or not.
        variant: Variant,
        /// The writes committed (a copy of the durable record, for the invariants).
        committed: imbl::OrdMap<RequestId, Request>,
    },
    /// `n1`.
    Consumer {
        /// The effects applied (a copy of the durable record, for the invariants).
        effects: imbl::OrdMap<RequestId, u32>,
    },
    /// `n2` and up.
    Service {
        /// The bug planted or not.
        variant: Variant,
        /// The next request tag.
        next_tag: u64,
        /// Requests in flight by tag.
        in_flight: BTreeMap<u64, InFlight>,
    },
}

/// The relay's timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Resend;

impl Node for OutboxNode {
    type Config = Variant;
    type Msg = Wire<Peer>;
    type Timer = Resend;
    type Durable = Durable;
    type Input = Infallible;
    type Output = Infallible;

    fn start(variant: &Variant, ctx: &mut Ctx<'_, Self>) -> Self {
        match ctx.id() {
            DATABASE => {
                ctx.set_timer(RESEND, Resend);
                OutboxNode::Database {
                    variant: *variant,
                    committed: ctx.durable().database.committed.clone(),
                }
            }
            CONSUMER => OutboxNode::Consumer {
                effects: ctx.durable().effects.clone(),
            },
            _ => {
                ctx.durable_mut().boots += 1;
                ctx.sync();
                OutboxNode::Service {
                    variant: *variant,
                    next_tag: ctx.durable().boots << 32,
                    in_flight: BTreeMap::new(),
                }
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Wire<Peer>) {
        match (self, msg) {
            (
                OutboxNode::Service {
                    next_tag,
                    in_flight,
                    ..
                },
                Wire::Client(ClientMsg::Request { id, request, .. }),
            ) => {
                // A client has one request at a time: whatever it asked before is
                // abandoned.
                in_flight.retain(|_, f| f.client != from);
                let tag = *next_tag;
                *next_tag += 1;
                let f = InFlight {
                    client: from,
                    id,
                    request,
                };
                in_flight.insert(tag, f);
                ctx.send(DATABASE, Wire::Peer(Peer::Apply { tag, id, request }));
            }
            (
                OutboxNode::Service {
                    variant, in_flight, ..
                },
                Wire::Peer(Peer::Applied { tag, reply: done }),
            ) => {
                if let Some(f) = in_flight.remove(&tag) {
                    if *variant == Variant::DualWrite && has_effect(&f.request, &done) {
                        let event = Peer::Event {
                            id: f.id,
                            request: f.request,
                            seq: None,
                        };
                        ctx.send(CONSUMER, Wire::Peer(event));
                    }
                    ctx.send(f.client, reply(f.id, Answer::Done(done), 0));
                }
            }
            (OutboxNode::Service { in_flight, .. }, Wire::Peer(Peer::Stale { tag })) => {
                // The client has moved on and ignores any answer: forget the request.
                in_flight.remove(&tag);
            }
            (OutboxNode::Database { variant, committed }, Wire::Peer(peer)) => {
                let outbox = *variant == Variant::Outbox;
                database(ctx, (outbox, committed), from, peer);
            }
            (OutboxNode::Consumer { effects }, Wire::Peer(peer)) => {
                consume(ctx, effects, from, peer);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, _timer: Resend) {
        for (&seq, &(id, request)) in &ctx.durable().database.outbox.clone() {
            let event = Peer::Event {
                id,
                request,
                seq: Some(seq),
            };
            ctx.send(CONSUMER, Wire::Peer(event));
        }
        ctx.set_timer(RESEND, Resend);
    }
}

/// Whether `request`, answered `done`, changed anything (a cas that did not match did
/// not, and has no event).
fn has_effect(request: &Request, done: &Reply) -> bool {
    request.is_write() && !matches!(done, Reply::CasMismatch(_))
}

/// The database applies a request once; a write with an effect is recorded, and in
/// `outbox` its event is put in the outbox, synced together.
fn database(
    ctx: &mut Ctx<'_, OutboxNode>,
    (outbox, committed): (bool, &mut imbl::OrdMap<RequestId, Request>),
    from: NodeId,
    peer: Peer,
) {
    match peer {
        Peer::Apply { tag, id, request } => {
            if ctx.durable().database.dedup.stale(id) {
                // Its client has moved on; the table's answer is a later request's, on
                // which a service must not act (publish an event for it, say).
                ctx.send(from, Wire::Peer(Peer::Stale { tag }));
                return;
            }
            let done = match ctx.durable().database.dedup.seen(id) {
                Some(done) => done.clone(),
                None => apply(ctx, outbox, id, request),
            };
            *committed = ctx.durable().database.committed.clone();
            ctx.send(from, Wire::Peer(Peer::Applied { tag, reply: done }));
        }
        Peer::EventAck { seq } => {
            // No sync needed: an event sent again after a crash is deduplicated.
            ctx.durable_mut().database.outbox.remove(&seq);
        }
        _ => {}
    }
}

/// Applies a request the database has not seen, with its event in the outbox if
/// `outbox`.
fn apply(ctx: &mut Ctx<'_, OutboxNode>, outbox: bool, id: RequestId, request: Request) -> Reply {
    let db = &mut ctx.durable_mut().database;
    let done = db.store.apply(&request);
    if request.is_write() {
        db.dedup.record(id, done.clone());
        if has_effect(&request, &done) {
            db.committed.insert(id, request);
            if outbox {
                let seq = db.next_seq;
                db.next_seq += 1;
                db.outbox.insert(seq, (id, request));
            }
        }
        ctx.sync();
    }
    done
}

/// The consumer applies an event once, by its write's id, and acknowledges an outbox
/// entry once it is durable.
fn consume(
    ctx: &mut Ctx<'_, OutboxNode>,
    effects: &mut imbl::OrdMap<RequestId, u32>,
    from: NodeId,
    peer: Peer,
) {
    let Peer::Event { id, seq, .. } = peer else {
        return;
    };
    if !ctx.durable().effects.contains_key(&id) {
        ctx.durable_mut().effects.insert(id, 1);
        ctx.sync();
        *effects = ctx.durable().effects.clone();
    }
    if let Some(seq) = seq {
        ctx.send(from, Wire::Peer(Peer::EventAck { seq }));
    }
}

impl crate::Replica for OutboxNode {
    type Peer = Peer;

    /// The database is what `isolate-leader` cuts off: every request needs it.
    fn leads(&self) -> bool {
        matches!(self, OutboxNode::Database { .. })
    }
}

crate::settings! {
    /// The settings of outbox and dual-write.
    pub struct OutboxSettings {
        /// Services (besides the database and the consumer).
        "services" services: usize = 2, in 1..=8;
    }
}

/// outbox in the catalog.
pub const OUTBOX: Declaration<OutboxSettings, Outbox> = Declaration {
    info: ModelInfo::new(
        Variant::Outbox.name(),
        "a service's database writes each event into an outbox in the write's transaction; a relay publishes it at least once, the consumer applies it once",
    )
    .promises(Guarantee::ALL_BUT_CONVERGENCE)
    .scenario("crash-restart")
    .workload(Mix::Register),
    build: |s| Outbox::new(s, Variant::Outbox),
};

/// dual-write in the catalog.
pub const DUAL_WRITE: Declaration<OutboxSettings, Outbox> = Declaration {
    info: ModelInfo::new(
        Variant::DualWrite.name(),
        "outbox whose services publish each event themselves after the database's answer: a crash or a lost message between the two loses it",
    )
    // The events are not in the history: the model's invariants catch the loss. Seed
    // 0 of 0..200 under flaky-network, in 171 of them; never without faults (pinned by
    // scenarios' `the_bug_zoos_seed_statistics`).
    .variant_of(Variant::Outbox.name(), &[])
    .scenario("flaky-network")
    .workload(Mix::Register),
    build: |s| Outbox::new(s, Variant::DualWrite),
};

/// The model the runner builds.
#[derive(Clone, Copy, Debug)]
pub struct Outbox {
    services: usize,
    variant: Variant,
}

impl Outbox {
    fn new(s: OutboxSettings, variant: Variant) -> Result<Outbox, ModelError> {
        Ok(Outbox {
            services: s.services,
            variant,
        })
    }
}

impl Model for Outbox {
    type Replica = OutboxNode;

    fn replicas(&self) -> Vec<Variant> {
        vec![self.variant; 2 + self.services]
    }

    fn routing(&self) -> Routing {
        Routing::Home
    }

    /// Clients talk to the services only.
    fn client(&self, mut base: ClientConfig) -> ClientConfig {
        base.home %= self.services;
        base.replicas = (0..self.services).map(|i| NodeId(2 + i as u32)).collect();
        base
    }

    fn invariants(&self) -> Option<Box<dyn Invariants<OutboxNode>>> {
        Some(Box::new(EventWatch))
    }
}

/// The ground truth beside the history: the database's committed writes against the
/// consumer's effects, once the run is quiet.
#[derive(Clone, Copy, Debug, Default)]
pub struct EventWatch;

impl EventWatch {
    /// The first problem with `effects` given `committed`, in words.
    fn compare(
        committed: &imbl::OrdMap<RequestId, Request>,
        effects: &imbl::OrdMap<RequestId, u32>,
    ) -> Result<(), String> {
        if let Some((id, n)) = effects.iter().find(|(_, n)| **n != 1) {
            return Err(format!(
                "event applied more than once: the event of {} request {} took effect {n} times",
                id.client, id.seq
            ));
        }
        if let Some((id, request)) = committed.iter().find(|(id, _)| !effects.contains_key(*id)) {
            return Err(format!(
                "lost event: the database committed {} request {} ({}), and its event never took effect at the consumer",
                id.client,
                id.seq,
                described(request)
            ));
        }
        if let Some(id) = effects.keys().find(|id| !committed.contains_key(*id)) {
            return Err(format!(
                "event without its write: the event of {} request {} took effect, but the database committed no such write",
                id.client, id.seq
            ));
        }
        Ok(())
    }
}

/// A write in words: `write 47 to key 0`.
fn described(request: &Request) -> String {
    match *request {
        Request::Write { key, value } => format!("write {value} to key {key}"),
        Request::Append { key, value } => format!("append {value} to key {key}"),
        Request::Cas { key, from, to } => format!("cas key {key} from {from} to {to}"),
        Request::Read { key } => format!("read key {key}"),
    }
}

impl Invariants<OutboxNode> for EventWatch {
    fn check(
        &mut self,
        _now: sim_core::Time,
        _replicas: &[Option<&OutboxNode>],
    ) -> Result<(), String> {
        Ok(())
    }

    fn finish(
        &mut self,
        now: sim_core::Time,
        replicas: &[Option<&OutboxNode>],
    ) -> Result<(), String> {
        let (
            Some(Some(OutboxNode::Database { committed, .. })),
            Some(Some(OutboxNode::Consumer { effects })),
        ) = (replicas.first(), replicas.get(1))
        else {
            return Ok(());
        };
        EventWatch::compare(committed, effects)
            .map_err(|e| format!("{e} (at the end of the run, {now})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(seq: u64) -> RequestId {
        RequestId {
            client: NodeId(4),
            seq,
        }
    }

    fn write(value: u64) -> Request {
        Request::Write { key: 1, value }
    }

    #[test]
    fn each_committed_write_with_one_effect_is_fine() {
        let committed = imbl::OrdMap::from(vec![(id(1), write(1)), (id(2), write(2))]);
        let effects = imbl::OrdMap::from(vec![(id(1), 1_u32), (id(2), 1_u32)]);
        assert_eq!(EventWatch::compare(&committed, &effects), Ok(()));
    }

    #[test]
    fn a_committed_write_without_its_event_is_a_lost_event() {
        let committed = imbl::OrdMap::from(vec![(id(1), write(1)), (id(2), write(2))]);
        let effects = imbl::OrdMap::from(vec![(id(1), 1_u32)]);
        let broken = EventWatch::compare(&committed, &effects).unwrap_err();
        assert!(
            broken.starts_with("lost event: the database committed n4 request 2"),
            "{broken}"
        );
    }

    /// The near miss of a lost event: a compare-and-set that did not match changed
    /// nothing, so the database commits nothing for it and no event is owed.
    #[test]
    fn a_cas_that_did_not_match_owes_no_event() {
        let cas = Request::Cas {
            key: 1,
            from: 1,
            to: 2,
        };
        assert!(!has_effect(&cas, &Reply::CasMismatch(Some(7))));
        assert!(has_effect(&cas, &Reply::Swapped));
        assert!(has_effect(&write(1), &Reply::Written));
        assert!(!has_effect(&Request::Read { key: 1 }, &Reply::Read(None)));
    }

    #[test]
    fn an_event_twice_or_without_its_write_is_caught() {
        let committed = imbl::OrdMap::from(vec![(id(1), write(1))]);
        let twice = imbl::OrdMap::from(vec![(id(1), 2_u32)]);
        let broken = EventWatch::compare(&committed, &twice).unwrap_err();
        assert!(
            broken.starts_with(
                "event applied more than once: the event of n4 request 1 took effect 2 times"
            ),
            "{broken}"
        );
        let orphan = imbl::OrdMap::from(vec![(id(1), 1_u32), (id(3), 1_u32)]);
        let broken = EventWatch::compare(&committed, &orphan).unwrap_err();
        assert!(
            broken.starts_with("event without its write: the event of n4 request 3"),
            "{broken}"
        );
    }
}
