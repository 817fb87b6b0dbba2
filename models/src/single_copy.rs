//! `single-copy`: one server holds every key; clients talk to it with timeouts.
//!
//! The smallest store that is correct: every request is applied by one process in the
//! order it arrives, and a write is synced to durable storage before it is
//! acknowledged, so it survives a crash-restart. It is linearizable, and it is not
//! available: while the server is down, paused or cut off, every request times out.
//!
//! It is also the template for writing a model: a [`Node`] for the server
//! ([`Server`]), a [`Node`] for the client-side logic ([`Client`]), and a message type
//! they share ([`Msg`]).

use sim_core::{Ctx, Duration, Node, NodeId, TimerId};

use crate::kv::{Op, Outcome, Reply, Request};

/// The messages between clients and the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Msg {
    /// A client's request. `id` is the client's own request number.
    Request {
        /// The client's request number, echoed in the reply.
        id: u64,
        /// What to do.
        request: Request,
    },
    /// The server's answer to request `id`.
    Reply {
        /// The request number being answered.
        id: u64,
        /// The answer.
        reply: Reply,
    },
}

/// The server. Its data lives in durable state (an `imbl` map, so syncing is a cheap
/// clone); it keeps no volatile state at all, so a restart loses nothing acknowledged.
#[derive(Debug)]
pub struct Server;

/// The server's durable data.
pub type Data = imbl::OrdMap<u64, u64>;

// ANCHOR: server
impl Node for Server {
    type Config = ();
    type Msg = Msg;
    type Timer = std::convert::Infallible;
    type Durable = Data;
    type Input = std::convert::Infallible;
    type Output = std::convert::Infallible;

    fn start(_config: &(), _ctx: &mut Ctx<'_, Self>) -> Self {
        Server
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Msg) {
        let Msg::Request { id, request } = msg else {
            return; // Servers receive no replies.
        };
        let reply = apply(ctx.durable_mut(), request);
        if request.is_write() {
            ctx.sync(); // Acknowledged writes must survive a crash.
        }
        ctx.send(from, Msg::Reply { id, reply });
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<'_, Self>, timer: std::convert::Infallible) {
        match timer {}
    }
}
// ANCHOR_END: server

/// Applies one request to the data.
fn apply(data: &mut Data, request: Request) -> Reply {
    match request {
        Request::Read { key } => Reply::Read(data.get(&key).copied()),
        Request::Write { key, value } => {
            data.insert(key, value);
            Reply::Written
        }
        Request::Cas { key, from, to } => {
            let current = data.get(&key).copied();
            if current == Some(from) {
                data.insert(key, to);
                Reply::Swapped
            } else {
                Reply::CasMismatch(current)
            }
        }
    }
}

/// Client settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Where the server is.
    pub server: NodeId,
    /// How long to wait for a reply, on the client's own clock, before reporting the
    /// operation as indeterminate.
    pub timeout: Duration,
}

/// A client: one operation at a time, reported `Info` if no reply comes in time.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    /// The operation in flight: its workload id, request number and timeout timer.
    pending: Option<(Op, u64, TimerId)>,
    next_request: u64,
}

// ANCHOR: client
impl Node for Client {
    type Config = ClientConfig;
    type Msg = Msg;
    type Timer = u64;
    type Durable = ();
    type Input = Op;
    type Output = Outcome;

    fn start(config: &ClientConfig, _ctx: &mut Ctx<'_, Self>) -> Self {
        Client {
            config: *config,
            pending: None,
            next_request: 0,
        }
    }

    fn on_input(&mut self, ctx: &mut Ctx<'_, Self>, op: Op) {
        assert!(
            self.pending.is_none(),
            "{}: got {op:?} while {:?} is in flight",
            ctx.id(),
            self.pending
        );
        let id = self.next_request;
        self.next_request += 1;
        ctx.send(
            self.config.server,
            Msg::Request {
                id,
                request: op.request,
            },
        );
        let timer = ctx.set_timer(self.config.timeout, id);
        self.pending = Some((op, id, timer));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, _from: NodeId, msg: Msg) {
        let Msg::Reply { id, reply } = msg else {
            return;
        };
        // A late or duplicated reply to an earlier request is ignored: that request
        // was already reported.
        let Some((op, pending_id, timer)) = self.pending else {
            return;
        };
        if id != pending_id {
            return;
        }
        ctx.cancel_timer(timer);
        self.pending = None;
        let outcome = match reply {
            Reply::CasMismatch(current) => Outcome::Fail {
                id: op.id,
                reason: format!("cas mismatch: the key holds {current:?}"),
            },
            reply => Outcome::Ok { id: op.id, reply },
        };
        ctx.output(outcome);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, request: u64) {
        let Some((op, pending_id, _)) = self.pending else {
            return;
        };
        assert_eq!(
            request, pending_id,
            "a stale timeout timer was not cancelled"
        );
        self.pending = None;
        ctx.output(Outcome::Info {
            id: op.id,
            reason: format!("no reply within {}", self.config.timeout),
        });
    }
}
// ANCHOR_END: client

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::{Fault, FaultPlan, Sim, Time};

    fn sim(plan: FaultPlan) -> Sim<Server, Client> {
        Sim::<Server, Client>::with_clients(1)
            .replica(())
            .client(ClientConfig {
                server: NodeId(0),
                timeout: Duration::from_millis(500),
            })
            .plan(plan)
            .build()
            .unwrap()
    }

    fn op(id: u64, request: Request) -> Op {
        Op { id, request }
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
