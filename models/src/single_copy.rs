//! `single-copy`: one server holds every key; clients talk to it with timeouts.
//!
//! The smallest store that is correct: every request is applied by one process in the
//! order it arrives, and a write is synced to durable storage before it is
//! acknowledged, so it survives a crash-restart. It is linearizable, and it is not
//! available: while the server is down, paused or cut off, every request times out.
//!
//! It is also the template for writing a model: a [`Node`] for the server
//! ([`Server`]) that answers [`ClientMsg::Request`]s, a [`crate::Replica`] impl naming
//! its peer messages (none here), and a [`Model`] ([`SingleCopy`]) that tells the
//! runner how many replicas to start and how clients route. The client side (timeouts,
//! retries, idempotency keys, a circuit breaker) is the shared
//! [`crate::client::Client`].

use std::convert::Infallible;

use sim_core::{Ctx, Node, NodeId};

use crate::client::{Answer, ClientConfig, ClientMsg, Dedup, NoPeers, Routing, Wire, reply};
use crate::kv::{Mix, Store};
use crate::{Declaration, Guarantee, Model, ModelInfo};

/// The server. Its data and its idempotency table live in durable state (persistent
/// collections, so syncing is a cheap clone); it keeps no volatile state at all, so a
/// restart loses nothing acknowledged.
#[derive(Debug)]
pub struct Server;

/// The server's durable state.
#[derive(Clone, Debug, Default)]
pub struct Data {
    /// The keys and their values.
    pub store: Store,
    /// The last request applied per client, so a retried request is answered, not
    /// applied twice.
    pub dedup: Dedup,
}

// ANCHOR: server
impl Node for Server {
    type Config = ();
    type Msg = Wire<NoPeers>;
    type Timer = Infallible;
    type Durable = Data;
    type Input = Infallible;
    type Output = Infallible;

    fn deadline(msg: &Self::Msg) -> Option<sim_core::Duration> {
        crate::client::request_deadline(msg)
    }

    fn class(msg: &Self::Msg) -> usize {
        crate::client::request_class(msg)
    }

    fn start(_config: &(), _ctx: &mut Ctx<'_, Self>) -> Self {
        Server
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Wire<NoPeers>) {
        let Wire::Client(ClientMsg::Request { id, request, .. }) = msg else {
            return; // Servers receive no replies, and this model has no peers.
        };
        if let Some(done) = ctx.durable().dedup.seen(id) {
            // A retry of a request already applied: answer it again, apply nothing.
            let done = done.clone();
            ctx.send(from, reply(id, Answer::Done(done), 0));
            return;
        }
        let data = ctx.durable_mut();
        let done = data.store.apply(&request);
        if request.is_write() {
            data.dedup.record(id, done.clone());
            ctx.sync(); // Acknowledged writes must survive a crash.
        }
        ctx.send(from, reply(id, Answer::Done(done), 0));
    }
}
// ANCHOR_END: server

impl crate::Replica for Server {
    type Peer = NoPeers;

    /// The one server is the leader of its clients: isolating it is what
    /// `isolate-leader` should do.
    fn leads(&self) -> bool {
        true
    }
}

// ANCHOR: model
crate::settings! {
    /// single-copy's settings: it has exactly one replica.
    pub struct SingleCopySettings {
        /// Replicas: the one server.
        "replicas" replicas: usize = 1, in 1..=1;
    }
}

/// single-copy in the catalog.
pub const SINGLE_COPY: Declaration<SingleCopySettings, SingleCopy> = Declaration {
    info: ModelInfo {
        name: "single-copy",
        summary: "one server holds every key, syncs before acknowledging; clients time out",
        promises: Guarantee::ALL_BUT_CONVERGENCE,
        variant_of: None,
        breaks: &[],
        default_scenario: "crash-restart",
        workload: Mix::ListAppend,
        settings: &[],
    },
    build: |_| Ok(SingleCopy),
};

/// The model the runner builds: one server, clients that always talk to it.
#[derive(Clone, Copy, Debug)]
pub struct SingleCopy;

impl Model for SingleCopy {
    type Replica = Server;

    fn replicas(&self) -> Vec<()> {
        vec![()]
    }

    fn routing(&self) -> Routing {
        Routing::Home
    }

    fn client(&self, base: ClientConfig) -> ClientConfig {
        base
    }
}
// ANCHOR_END: model

/// single-copy's server, unchanged, with clients made otherwise by a function: the bug
/// variants whose bug lies in the clients (`retry-without-idempotency`,
/// `double-submit`).
#[derive(Clone, Copy, Debug)]
pub struct WithClients(pub fn(ClientConfig) -> ClientConfig);

impl Model for WithClients {
    type Replica = Server;

    fn replicas(&self) -> Vec<()> {
        SingleCopy.replicas()
    }

    fn routing(&self) -> Routing {
        SingleCopy.routing()
    }

    fn client(&self, base: ClientConfig) -> ClientConfig {
        (self.0)(base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Client, RetryPolicy};
    use crate::kv::{Op, Outcome, Reply, Request};
    use sim_core::{Duration, Fault, FaultPlan, Sim, Time};

    type C = Client<NoPeers>;

    fn sim(plan: FaultPlan) -> Sim<Server, C> {
        let mut client = ClientConfig::new(vec![NodeId(0)], 0, Routing::Home);
        client.retry = RetryPolicy::never();
        Sim::<Server, C>::with_clients(1)
            .replica(())
            .client(client)
            .plan(plan)
            .build()
            .unwrap()
    }

    fn op(id: u64, request: Request) -> Op {
        Op {
            id,
            request,
            queued: sim_core::Duration::ZERO,
        }
    }

    fn ms(n: u64) -> Time {
        Time::ZERO + Duration::from_millis(n)
    }

    #[test]
    fn write_then_read_then_cas() {
        let mut sim = sim(FaultPlan::default());
        let c = NodeId(1);
        sim.input_client(c, ms(0), op(1, Request::Write { key: 7, value: 70 }));
        sim.run_until(ms(400));
        sim.input_client(c, ms(400), op(2, Request::Read { key: 7 }));
        sim.run_until(ms(800));
        sim.input_client(
            c,
            ms(800),
            op(
                3,
                Request::Cas {
                    key: 7,
                    from: 1,
                    to: 2,
                },
            ),
        );
        sim.run_until(ms(1_200));
        let outcomes: Vec<Outcome> = sim.drain_client_outputs().map(|e| e.output).collect();
        assert_eq!(
            outcomes[0],
            Outcome::Ok {
                id: 1,
                reply: Reply::Written
            }
        );
        assert_eq!(
            outcomes[1],
            Outcome::Ok {
                id: 2,
                reply: Reply::Read(Some(70))
            }
        );
        assert!(matches!(outcomes[2], Outcome::Fail { id: 3, .. }));
    }

    #[test]
    fn acknowledged_writes_survive_a_crash_restart() {
        let mut plan = FaultPlan::default();
        plan.push(ms(300), Fault::Crash { node: NodeId(0) });
        plan.push(ms(350), Fault::Restart { node: NodeId(0) });
        let mut sim = sim(plan);
        let c = NodeId(1);
        sim.input_client(c, ms(0), op(1, Request::Write { key: 1, value: 5 }));
        sim.run_until(ms(400));
        sim.input_client(c, ms(400), op(2, Request::Read { key: 1 }));
        sim.run_until(ms(1_000));
        let outcomes: Vec<Outcome> = sim.drain_client_outputs().map(|e| e.output).collect();
        assert_eq!(
            outcomes[1],
            Outcome::Ok {
                id: 2,
                reply: Reply::Read(Some(5))
            }
        );
    }

    #[test]
    fn a_dead_server_gives_indeterminate_outcomes() {
        let mut plan = FaultPlan::default();
        plan.push(ms(0), Fault::Crash { node: NodeId(0) });
        let mut sim = sim(plan);
        sim.input_client(NodeId(1), ms(1), op(1, Request::Write { key: 1, value: 5 }));
        sim.run_until(ms(1_000));
        let outcomes: Vec<Outcome> = sim.drain_client_outputs().map(|e| e.output).collect();
        assert!(
            matches!(&outcomes[..], [Outcome::Info { id: 1, .. }]),
            "{outcomes:?}"
        );
    }
}
