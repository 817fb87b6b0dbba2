//! Build and break, step 3 of 4: quorums, and reads that write back. The book's
//! chapter *Build and break* builds it from `register_1_gossip.rs`; step 4
//! (`register_4_durable.rs`) fixes what this one gets wrong.
//!
//! Step 2's reads answered the newest value a quorum of replicas held. A write whose
//! store reached only some replicas could then be read by one read and missed by a
//! later one. Here a read first stores what it found on a quorum (it writes it back),
//! and answers only then: every later read meets that quorum.
//!
//! The replicas keep everything in memory, and a crash forgets it:
//!
//! ```sh
//! cargo run --release -p consim --example register_3_write_back -- sweep --scenario crash-restart --stop-on-failure
//! ```

// ANCHOR: declaration
use std::collections::{BTreeMap, BTreeSet};

use consim::prelude::*;

settings! {
    /// The register's settings.
    struct Settings {
        /// Replicas.
        "replicas" replicas: usize = 3, in 1..=9, explore 1..=5;
    }
}

const REGISTER: Declaration<Settings, Settings> = Declaration {
    info: ModelInfo::new(
        "register-write-back",
        "step 3: quorums, and reads that write back",
    )
    .promises(&[Guarantee::Linearizable])
    .workload(Mix::Register)
    .scenario("crash-restart"),
    build: Ok,
};

fn main() -> std::process::ExitCode {
    consim::main(REGISTER)
}
// ANCHOR_END: declaration

/// How often a coordinator resends a phase to the replicas that have not answered.
const RESEND: Duration = Duration::from_millis(50);
/// How long a coordinator tries before it forgets an operation (its client has timed
/// out by then, and reports the outcome as unknown).
const GIVE_UP: Duration = Duration::from_millis(1000);

/// A write's stamp: higher is newer. The counter orders writes; the write's request id
/// breaks ties between writes that drew the same counter, so no two writes share one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Stamp {
    counter: u64,
    write: RequestId,
}

/// Replica-to-replica messages. `op` is the request being coordinated.
#[derive(Clone, Debug, Hash)]
enum Peer {
    Query {
        op: RequestId,
        key: u64,
    },
    QueryAck {
        op: RequestId,
        held: Option<(Stamp, u64)>,
    },
    Store {
        op: RequestId,
        key: u64,
        stamp: Stamp,
        value: u64,
    },
    StoreAck {
        op: RequestId,
        stamp: Stamp,
    },
}

/// One operation a replica coordinates.
#[derive(Clone, Debug, Hash)]
struct Op {
    client: NodeId,
    request: Request,
    /// `None` while querying; then the stamp and value being stored.
    storing: Option<(Stamp, u64)>,
    /// The replicas that answered the current phase.
    answered: BTreeSet<NodeId>,
    /// The newest stamp and value the query heard of.
    newest: Option<(Stamp, u64)>,
    began: Time,
}

#[derive(Clone, Debug, Hash)]
struct Register {
    replicas: usize,
    /// Each key's stamp and value.
    cells: BTreeMap<u64, (Stamp, u64)>,
    /// The operations this replica coordinates, by request.
    ops: BTreeMap<RequestId, Op>,
    /// Per client, the highest write request this replica started coordinating.
    started: BTreeMap<NodeId, u64>,
}

impl Register {
    fn majority(&self) -> usize {
        self.replicas / 2 + 1
    }

    // ANCHOR: request
    fn on_request(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        client: NodeId,
        op: RequestId,
        request: Request,
    ) {
        let started = self.started.get(&op.client).copied();
        match request {
            Request::Read { .. } if !self.ops.contains_key(&op) => {}
            Request::Write { .. } if started.is_none_or(|seq| seq < op.seq) => {
                self.started.insert(op.client, op.seq);
            }
            // The network delivered a request again: it is running, or ran.
            Request::Read { .. } | Request::Write { .. } => return,
            Request::Cas { .. } | Request::Append { .. } => {
                let reason = "a register serves read and write only";
                ctx.send(client, reply(op, Answer::Refused { reason }, 0));
                return;
            }
        }
        let began = ctx.monotonic();
        let (storing, answered, newest) = (None, BTreeSet::new(), None);
        let state = Op {
            client,
            request,
            storing,
            answered,
            newest,
            began,
        };
        self.ops.insert(op, state);
        self.send_phase(ctx, op);
    }
    // ANCHOR_END: request

    /// Sends the phase `op` is in to every replica that has not answered it, this one
    /// last (its own answer may end the phase).
    fn send_phase(&mut self, ctx: &mut Ctx<'_, Self>, op: RequestId) {
        let Some(state) = self.ops.get(&op) else {
            return;
        };
        let key = state.request.key();
        let msg = match state.storing {
            None => Peer::Query { op, key },
            Some((stamp, value)) => Peer::Store {
                op,
                key,
                stamp,
                value,
            },
        };
        let me = ctx.id();
        let others = (0..self.replicas as u32).map(NodeId).filter(|&to| to != me);
        for to in others.filter(|to| !state.answered.contains(to)) {
            ctx.send(to, Wire::Peer(msg.clone()));
        }
        if !state.answered.contains(&me) {
            self.on_peer(ctx, me, msg);
        }
    }

    /// Sends `msg` to `to`, or handles it here if `to` is this replica.
    fn answer(&mut self, ctx: &mut Ctx<'_, Self>, to: NodeId, msg: Peer) {
        if to == ctx.id() {
            self.on_peer(ctx, to, msg);
        } else {
            ctx.send(to, Wire::Peer(msg));
        }
    }

    // ANCHOR: store
    fn on_peer(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Peer) {
        match msg {
            Peer::Query { op, key } => {
                let held = self.cells.get(&key).copied();
                self.answer(ctx, from, Peer::QueryAck { op, held });
            }
            Peer::Store {
                op,
                key,
                stamp,
                value,
            } => {
                if self.cells.get(&key).is_none_or(|&(held, _)| held < stamp) {
                    self.cells.insert(key, (stamp, value));
                }
                self.answer(ctx, from, Peer::StoreAck { op, stamp });
            }
            Peer::QueryAck { op, held } => self.on_query_ack(ctx, from, op, held),
            Peer::StoreAck { op, stamp } => self.on_store_ack(ctx, from, op, stamp),
        }
    }
    // ANCHOR_END: store

    // ANCHOR: query_ack
    fn on_query_ack(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        op: RequestId,
        held: Option<(Stamp, u64)>,
    ) {
        let majority = self.majority();
        let Some(state) = self.ops.get_mut(&op) else {
            return;
        };
        if state.storing.is_some() || !state.answered.insert(from) {
            return; // An answer to an earlier phase, or one already counted.
        }
        state.newest = state.newest.max(held);
        if state.answered.len() < majority {
            return;
        }
        state.answered.clear();
        match (state.request, state.newest) {
            (Request::Write { value, .. }, newest) => {
                let counter = newest.map_or(0, |(stamp, _)| stamp.counter) + 1;
                state.storing = Some((Stamp { counter, write: op }, value));
            }
            // A read writes back what it found before it answers.
            (_, Some(newest)) => state.storing = Some(newest),
            (_, None) => return self.finish(ctx, op, Reply::Read(None)),
        }
        self.send_phase(ctx, op);
    }
    // ANCHOR_END: query_ack

    fn on_store_ack(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, op: RequestId, stamp: Stamp) {
        let majority = self.majority();
        let Some(state) = self.ops.get_mut(&op) else {
            return;
        };
        let Some((storing, value)) = state.storing else {
            return;
        };
        if storing != stamp || !state.answered.insert(from) || state.answered.len() < majority {
            return;
        }
        match state.request {
            Request::Write { .. } => self.finish(ctx, op, Reply::Written),
            _ => self.finish(ctx, op, Reply::Read(Some(value))),
        }
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, Self>, op: RequestId, done: Reply) {
        if let Some(state) = self.ops.remove(&op) {
            ctx.send(state.client, reply(op, Answer::Done(done), 0));
        }
    }
}

impl Node for Register {
    type Config = usize; // How many replicas there are.
    type Msg = Wire<Peer>;
    type Timer = ();
    type Durable = ();
    type Input = Infallible;
    type Output = Infallible;

    fn start(replicas: &usize, ctx: &mut Ctx<'_, Self>) -> Self {
        ctx.set_timer(RESEND, ());
        Register {
            replicas: *replicas,
            cells: BTreeMap::new(),
            ops: BTreeMap::new(),
            started: BTreeMap::new(),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Wire<Peer>) {
        match msg {
            Wire::Client(ClientMsg::Request { id, request, .. }) => {
                self.on_request(ctx, from, id, request);
            }
            Wire::Client(ClientMsg::Reply { .. }) => {}
            Wire::Peer(msg) => self.on_peer(ctx, from, msg),
        }
    }

    /// Resends what was not answered (messages get lost), and forgets operations that
    /// have taken too long.
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, (): ()) {
        let now = ctx.monotonic();
        self.ops
            .retain(|_, state| now.saturating_since(state.began) < GIVE_UP);
        let ops: Vec<RequestId> = self.ops.keys().copied().collect();
        for op in ops {
            self.send_phase(ctx, op);
        }
        ctx.set_timer(RESEND, ());
    }
}

impl Replica for Register {
    type Peer = Peer;
}

// ANCHOR: model
impl Model for Settings {
    type Replica = Register;

    fn replicas(&self) -> Vec<usize> {
        vec![self.replicas; self.replicas]
    }

    /// Each client sends everything to its home replica, which coordinates it.
    fn routing(&self) -> Routing {
        Routing::Home
    }

    /// A write is sent once: retried at another replica it would be stored twice, under
    /// two stamps, and could come back after a newer write.
    fn client(&self, base: ClientConfig) -> ClientConfig {
        base.writes_sent_once()
    }

    fn exploration(&self) -> Option<Box<dyn Explore + '_>> {
        Some(Box::new(Explorer(self)))
    }
}
// ANCHOR_END: model

#[cfg(test)]
mod tests {
    use super::*;

    /// The book's *Build and break* chapter shows what this step prints.
    #[test]
    fn the_book_shows_what_the_commands_print() {
        let shown = consim::shown::check_book_example(
            REGISTER,
            "build-and-break.md",
            "register_3_write_back",
            &[],
        );
        assert_eq!(shown.unwrap_or_else(|e| panic!("{e}")), 3);
    }
}
