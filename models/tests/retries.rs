//! Retry policies and the retry budget: every policy's wait within its bounds, and a
//! client whose only replica is down spending exactly the retries its budget allows.

use std::cell::RefCell;
use std::rc::Rc;

use models::client::{Backoff, Client, ClientConfig, ClientMsg, RetryBudget, RetryPolicy, Wire};
use models::kv::{Op, Outcome, Request};
use models::single_copy::SingleCopy;
use models::{Model, Replica};
use proptest::prelude::*;
use sim_core::{Duration, Fault, FaultPlan, NodeId, Observation, Purpose, Sim, SimRng, Time};

type SingleCopySim =
    Sim<<SingleCopy as Model>::Replica, Client<<<SingleCopy as Model>::Replica as Replica>::Peer>>;

fn policy(base_ms: u64, max_ms: u64) -> RetryPolicy {
    RetryPolicy {
        base_backoff: Duration::from_millis(base_ms),
        max_backoff: Duration::from_millis(max_ms),
        ..RetryPolicy::default()
    }
}

proptest! {
    /// Each policy's wait, from its definition: `exp = min(max, base × 2^(n−1))`.
    #[test]
    fn every_wait_is_within_its_policys_bounds(
        base_ms in 1u64..100,
        extra_ms in 0u64..2_000,
        attempts in 1u32..30,
        previous_ms in 0u64..3_000,
        seed: u64,
    ) {
        let policy = policy(base_ms, base_ms + extra_ms);
        let (base, most) = (policy.base_backoff, policy.max_backoff);
        let exp = Duration::from_nanos(
            base.as_nanos()
                .saturating_mul(1 << (attempts - 1).min(20))
                .min(most.as_nanos()),
        );
        let previous = Duration::from_millis(previous_ms);
        let mut rng = SimRng::new(seed, Purpose::Custom(7));
        let mut wait = |b: Backoff| b.delay(&policy, attempts, previous, &mut rng);
        prop_assert_eq!(wait(Backoff::Immediate), Duration::ZERO);
        prop_assert_eq!(wait(Backoff::Fixed), base);
        prop_assert_eq!(wait(Backoff::Exponential), exp);
        prop_assert!(wait(Backoff::FullJitter) <= exp);
        let equal = wait(Backoff::EqualJitter);
        prop_assert!(Duration::from_nanos(exp.as_nanos() / 2) <= equal && equal <= exp);
        let last = if previous == Duration::ZERO { base } else { previous };
        let high = Duration::from_nanos(last.as_nanos() * 3).max(base);
        let decorrelated = wait(Backoff::DecorrelatedJitter);
        // min(cap, uniform in [base, 3 × last]): the cap when the draw passes it.
        prop_assert!(decorrelated <= most && decorrelated <= high, "{decorrelated} above {high} or {most}");
        prop_assert!(decorrelated >= base.min(most), "{decorrelated} below {base}");
    }
}

/// Runs one single-copy replica, down from the start, and one client with `retry`
/// (immediate retries, a 10 ms timeout) given `ops` operations 100 ms apart. Returns
/// the requests the client sent and the outcomes' reasons.
fn against_a_dead_replica(retry: RetryPolicy, ops: u64) -> (u64, Vec<String>) {
    let (deadlines, ended) = dead_replica_with(retry, None, ops);
    let reasons = ended.into_iter().map(|(_, reason)| reason).collect();
    (deadlines.len() as u64, reasons)
}

/// As [`against_a_dead_replica`], the client with `deadline`; returns the deadline
/// each request carried, and when (in ms) and why each operation ended.
fn dead_replica_with(
    retry: RetryPolicy,
    deadline: Option<Duration>,
    ops: u64,
) -> (Vec<Option<Duration>>, Vec<(u64, String)>) {
    let sent = Rc::new(RefCell::new(Vec::new()));
    let counted = Rc::clone(&sent);
    let mut plan = FaultPlan::default();
    plan.push(Time::ZERO, Fault::Crash { node: NodeId(0) });
    let mut client = ClientConfig::new(vec![NodeId(0)], 0, SingleCopy.routing());
    client.timeout = Duration::from_millis(10);
    client.retry = retry;
    client.deadline = deadline;
    let mut builder = SingleCopySim::with_clients(1)
        .plan(plan)
        .observer(move |o| {
            if let (Observation::Sent, Wire::Client(ClientMsg::Request { deadline, .. })) =
                (o.kind, o.msg)
            {
                counted.borrow_mut().push(*deadline);
            }
        });
    for config in SingleCopy.replicas() {
        builder = builder.replica(config);
    }
    let mut sim = builder.client(SingleCopy.client(client)).build().unwrap();
    for id in 0..ops {
        let at = Time::ZERO + Duration::from_millis(1 + 100 * id);
        let op = Op {
            id,
            request: Request::Read { key: 0 },
            queued: Duration::ZERO,
        };
        sim.input_client(NodeId(1), at, op);
    }
    sim.run_until(Time::ZERO + Duration::from_millis(100 * ops + 1_000));
    let ended = sim
        .drain_client_outputs()
        .map(|e| match e.output {
            Outcome::Fail { reason, .. } | Outcome::Info { reason, .. } => {
                (e.time.as_nanos() / 1_000_000, reason)
            }
            Outcome::Ok { .. } => panic!("a dead replica answered"),
        })
        .collect();
    let deadlines = sent.borrow().clone();
    (deadlines, ended)
}

#[test]
fn a_deadline_travels_with_each_attempt_and_ends_the_retries() {
    let retry = RetryPolicy {
        max_attempts: 5,
        backoff: Backoff::Immediate,
        ..RetryPolicy::default()
    };
    let ms = Duration::from_millis;
    let (deadlines, ended) = dead_replica_with(retry, Some(ms(25)), 1);
    // Begun at 1 ms: attempts at 1, 11 and 21 ms, each carrying what is left; the
    // third waits only the 5 ms left, and then no retry starts.
    assert_eq!(deadlines, vec![Some(ms(25)), Some(ms(15)), Some(ms(5))]);
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].0, 26);
    assert!(
        ended[0].1.contains("the deadline has passed"),
        "{}",
        ended[0].1
    );
    // A backoff that would outlast the deadline ends the operation at once.
    let slow = RetryPolicy {
        backoff: Backoff::Fixed,
        base_backoff: ms(20),
        ..retry
    };
    let (deadlines, ended) = dead_replica_with(slow, Some(ms(25)), 1);
    assert_eq!((deadlines.len(), ended[0].0), (1, 11));
    assert!(
        ended[0].1.contains("the deadline would pass"),
        "{}",
        ended[0].1
    );
    // Without a deadline, nothing is carried and all five attempts go.
    let (deadlines, _) = dead_replica_with(retry, None, 1);
    assert_eq!(deadlines, vec![None; 5]);
}

#[test]
fn a_retry_budget_caps_retries_at_its_share_of_operations() {
    let retry = RetryPolicy {
        max_attempts: 5,
        backoff: Backoff::Immediate,
        ..RetryPolicy::default()
    };
    let (sent, reasons) = against_a_dead_replica(retry, 50);
    assert_eq!((sent, reasons.len()), (250, 50), "5 attempts each");
    let budgeted = RetryPolicy {
        budget: Some(RetryBudget { per_mille: 100 }),
        ..retry
    };
    let (sent, reasons) = against_a_dead_replica(budgeted, 50);
    // The bucket starts with 10 retries: operations 1 and 2 take 4 each, 3 takes 2
    // (0.2 of a retry left); then each operation adds 0.1, so operations 11, 21, 31
    // and 41 retry once: 14 retries, 64 requests.
    assert_eq!((sent, reasons.len()), (64, 50));
    assert!(
        reasons[2].contains("retry budget is spent"),
        "{}",
        reasons[2]
    );
    assert!(!reasons[0].contains("retry budget"), "{}", reasons[0]);
}
