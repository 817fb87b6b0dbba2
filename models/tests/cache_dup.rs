//! cache-aside under a schedule replayed decision by decision: a duplicated `Get`
//! hands one read a second lease after a write's invalidation voided the first. The
//! application server must fill with the first lease (issued before its store read),
//! which the cache then refuses; filling the older value under the second lease left
//! the entry stale for good (found by a review at flaky-network seed 36863 with 8 keys
//! and 10 clients).
use std::convert::Infallible;

use models::Invariants;
use models::cache_aside::{CacheAsideNode, CacheWatch, Peer, Variant};
use models::client::{ClientMsg, RequestId, Wire};
use models::kv::Request;
use sim_core::{Ctx, Decision, DecisionLog, Duration, Node, NodeId, SchedulerConfig, Sim, Time};

/// A client that sends each input as one request and ignores the answers.
#[derive(Debug)]
struct Cl;

impl Node for Cl {
    type Config = ();
    type Msg = Wire<Peer>;
    type Timer = Infallible;
    type Durable = ();
    type Input = (NodeId, Request, u64);
    type Output = Infallible;
    fn start(_: &(), _: &mut Ctx<'_, Self>) -> Self {
        Cl
    }
    fn on_message(&mut self, _: &mut Ctx<'_, Self>, _: NodeId, _: Wire<Peer>) {}
    fn on_input(&mut self, ctx: &mut Ctx<'_, Self>, (to, request, seq): (NodeId, Request, u64)) {
        let id = RequestId {
            client: ctx.id(),
            seq,
        };
        ctx.send(
            to,
            Wire::Client(ClientMsg::Request {
                id,
                request,
                token: 0,
                deadline: None,
            }),
        );
    }
}

fn d(ms: u64) -> Decision {
    Decision {
        lost: false,
        delay: Duration::from_millis(ms),
        duplicate: None,
    }
}

#[test]
fn a_duplicated_get_does_not_let_an_older_read_fill_under_a_fresh_lease() {
    let mut decisions = vec![
        d(1), // X->A read
        Decision {
            duplicate: Some(Duration::from_millis(50)),
            ..d(1)
        }, // A->C Get, duplicated
        d(1), // C->A Miss(L1)
        d(1), // A->S Load
        d(100), // S->A Loaded(nothing), slow
        d(1),
        d(1),
        d(1),
        d(1),
        d(1),
        d(1),   // write via B, invalidate (voids L1), acks
        d(1),   // C->A Miss(L2), answering the duplicate Get
        d(1),   // A->S Load #2
        d(100), // S->A Loaded(1)
    ];
    decisions.extend(std::iter::repeat_n(d(1), 50));
    let mut sim = Sim::<CacheAsideNode, Cl>::with_clients(1)
        .replica(Variant::Leases)
        .replica(Variant::Leases)
        .replica(Variant::Leases)
        .replica(Variant::Leases)
        .client(())
        .client(())
        .scheduler(SchedulerConfig::Replay(DecisionLog { decisions }))
        .build()
        .unwrap();
    let t = |ms| Time::ZERO + Duration::from_millis(ms);
    sim.input_client(NodeId(4), t(0), (NodeId(2), Request::Read { key: 0 }, 0));
    sim.input_client(
        NodeId(5),
        t(10),
        (NodeId(3), Request::Write { key: 0, value: 1 }, 0),
    );
    let mut watch = CacheWatch::default();
    while sim.next_event_time().is_some_and(|n| n <= t(3000)) {
        sim.step();
        let reps: Vec<_> = sim.replica_ids().map(|id| sim.replica(id)).collect();
        watch.check(sim.now(), &reps).unwrap();
    }
    let reps: Vec<_> = sim.replica_ids().map(|id| sim.replica(id)).collect();
    let end = watch.finish(sim.now(), &reps);
    assert!(end.is_ok(), "{end:?}");
}
