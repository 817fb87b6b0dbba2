//! `primary-async` under every kind of fault, and `session-token-ignored` caught.
//!
//! The version order is the primary's log (every replica applies it, a prefix at a
//! time), so the session guarantees are checked against log positions: registers on
//! keys 0 and 1, lists built by appends on keys 10 and 11.

mod quorum_support;

use std::collections::BTreeMap;

use models::kv::{Key, Outcome, Reply, Request, Value};
use models::primary_async::{
    PRIMARY, PRIMARY_ASYNC, PrimaryAsync, PrimaryAsyncReplica, PrimaryAsyncSettings,
    SESSION_TOKEN_IGNORED,
};
use models::{ModelError, Params, Replica};
use quorum_support::{Gen, ModelSim, Nemesis, Record, RunSpec, plan, run};
use sim_core::{Duration, NodeId};

fn mixed(g: &mut Gen, _client: usize) -> Request {
    let list = g.rng.below(2) == 0;
    let key = g.rng.below(2) + if list { 10 } else { 0 };
    match (g.rng.below(2) == 0, list) {
        (true, _) => Request::Read { key },
        (false, false) => Request::Write {
            key,
            value: g.value(),
        },
        (false, true) => Request::Append {
            key,
            value: g.value(),
        },
    }
}

fn model(check_tokens: bool) -> PrimaryAsync {
    PrimaryAsync::new(PrimaryAsyncSettings::default(), check_tokens)
}

/// Where each write landed in the primary's log (1-based), by (key, value).
fn positions(log: &imbl::Vector<Request>) -> BTreeMap<(Key, Value), u64> {
    log.iter()
        .enumerate()
        .filter_map(|(i, r)| Some(((r.key(), r.written()?), i as u64 + 1)))
        .collect()
}

/// The first broken session guarantee or lost write, judged by the primary's `log`.
fn session_violation(history: &[Record], log: &imbl::Vector<Request>) -> Option<String> {
    let at = positions(log);
    let final_list = |key: Key| -> Vec<Value> {
        log.iter()
            .filter_map(|r| match *r {
                Request::Append { key: k, value } if k == key => Some(value),
                _ => None,
            })
            .collect()
    };
    for record in history.iter().filter(|r| r.ok() && r.request.is_write()) {
        let written = (record.request.key(), record.request.written()?);
        if !at.contains_key(&written) {
            return Some(format!(
                "lost write: {record:?} is not in the primary's log"
            ));
        }
    }
    let clients: std::collections::BTreeSet<NodeId> = history.iter().map(|r| r.client).collect();
    for client in clients {
        // Per key: the newest log position this session wrote or read.
        let mut wrote: BTreeMap<Key, u64> = BTreeMap::new();
        let mut read: BTreeMap<Key, u64> = BTreeMap::new();
        let mut own_appends: BTreeMap<Key, Vec<Value>> = BTreeMap::new();
        let mut last_write = 0;
        for record in history.iter().filter(|r| r.client == client && r.ok()) {
            let key = record.request.key();
            let Outcome::Ok { reply, .. } = &record.outcome else {
                unreachable!()
            };
            let seen = match (record.request, reply) {
                (Request::Read { .. }, Reply::Read(None)) => 0,
                (Request::Read { .. }, Reply::Read(Some(v))) => at[&(key, *v)],
                (Request::Read { .. }, Reply::ReadList(list)) => {
                    let whole = final_list(key);
                    if !whole.starts_with(list) {
                        return Some(format!("{record:?} is not a prefix of {whole:?}"));
                    }
                    if let Some(v) = own_appends
                        .get(&key)
                        .into_iter()
                        .flatten()
                        .find(|v| !list.contains(v))
                    {
                        return Some(format!("read-your-writes: {record:?} lacks own append {v}"));
                    }
                    list.last().map_or(0, |v| at[&(key, *v)])
                }
                (request, _) => {
                    let position = at[&(key, request.written().expect("a write"))];
                    if position <= last_write {
                        return Some(format!("monotonic writes: {record:?} at {position}"));
                    }
                    last_write = position;
                    if let Request::Append { value, .. } = request {
                        own_appends.entry(key).or_default().push(value);
                    }
                    wrote.insert(key, position);
                    continue;
                }
            };
            if let Some(&w) = wrote.get(&key).filter(|&&w| seen < w) {
                return Some(format!(
                    "read-your-writes: {record:?} saw {seen}, wrote {w}"
                ));
            }
            if let Some(&r) = read.get(&key).filter(|&&r| seen < r) {
                return Some(format!(
                    "monotonic reads: {record:?} saw {seen}, had seen {r}"
                ));
            }
            read.insert(key, seen);
        }
    }
    None
}

fn primary_log(sim: &ModelSim<PrimaryAsync>) -> imbl::Vector<Request> {
    sim.replica(PRIMARY)
        .expect("the primary is up")
        .log()
        .clone()
}

/// After the quiet time every follower has the primary's whole log.
fn assert_caught_up(sim: &ModelSim<PrimaryAsync>, seed: u64) {
    let log = primary_log(sim);
    for id in sim.replica_ids() {
        let replica: &PrimaryAsyncReplica = sim.replica(id).expect("up after healing");
        assert_eq!(
            replica.log(),
            &log,
            "seed {seed}: {id} differs from the primary"
        );
        assert_eq!(replica.leads(), id == PRIMARY);
    }
}

fn sweep_correct(kind: Nemesis, seeds: u64) {
    let model = model(true);
    let replicas: Vec<NodeId> = (0..3).map(NodeId).collect();
    for seed in 0..seeds {
        let spec = RunSpec::new(seed, plan(kind, seed, &replicas), 150);
        let (sim, history) = run(&model, &spec, mixed, |_| {});
        assert!(
            history.iter().any(Record::ok),
            "seed {seed}: nothing succeeded"
        );
        if let Some(v) = session_violation(&history, &primary_log(&sim)) {
            panic!("seed {seed} {kind:?}: {v}");
        }
        assert_caught_up(&sim, seed);
    }
}

#[test]
fn primary_async_keeps_sessions_without_faults() {
    sweep_correct(Nemesis::None, 50);
}

#[test]
fn primary_async_keeps_sessions_under_partitions() {
    sweep_correct(Nemesis::Partitions, 200);
}

#[test]
fn primary_async_keeps_sessions_under_crash_restart() {
    sweep_correct(Nemesis::CrashRestart, 200);
}

#[test]
fn primary_async_keeps_sessions_under_clock_skew() {
    sweep_correct(Nemesis::ClockSkew, 200);
}

#[test]
fn primary_async_keeps_sessions_under_loss_and_duplication() {
    sweep_correct(Nemesis::LossDuplication, 200);
}

#[test]
fn primary_async_keeps_sessions_under_slow_links() {
    sweep_correct(Nemesis::SlowLinks, 200);
}

#[test]
fn primary_async_keeps_sessions_under_mixed_faults() {
    sweep_correct(Nemesis::Mixed, 200);
}

/// Followers do serve stale reads: another client's acknowledged write is not yet
/// visible, which is why the model does not promise linearizability.
#[test]
fn followers_serve_reads_that_miss_other_clients_acknowledged_writes() {
    let model = model(true);
    let replicas: Vec<NodeId> = (0..3).map(NodeId).collect();
    let stale = (0..50).any(|seed| {
        let spec = RunSpec::new(seed, plan(Nemesis::SlowLinks, seed, &replicas), 150);
        let (_, history) = run(&model, &spec, mixed, |_| {});
        quorum_support::register_violation(&history).is_some()
    });
    assert!(stale, "no stale read in 50 seeds");
}

#[test]
fn session_token_ignored_is_caught_within_20_seeds_without_faults() {
    let model = model(false);
    let found = (0..20).find(|&seed| {
        let spec = RunSpec::new(seed, plan(Nemesis::None, seed, &[NodeId(0)]), 150);
        let (sim, history) = run(&model, &spec, mixed, |_| {});
        session_violation(&history, &primary_log(&sim)).is_some()
    });
    assert!(found.is_some(), "no violation in 20 seeds");
}

/// A wall clock stepped back must not hold replication up: the primary times its
/// retransmissions on its monotonic clock. Here follower n1 misses every append while
/// cut off, and the primary's wall clock is stepped back 10 s meanwhile; once healed,
/// with no new writes to trigger a gap report, only a retransmission catches n1 up, and
/// it must happen within the quiet time (on the wall clock it would wait 10 s).
#[test]
fn a_primary_whose_wall_clock_steps_back_still_retransmits() {
    use sim_core::{Fault, FaultPlan, Partition, Time};
    let mut plan = FaultPlan::default();
    let cut = Partition::halves(&[NodeId(1)], &[NodeId(0), NodeId(2)]);
    plan.push(Time::ZERO, Fault::Partition(cut.clone()));
    plan.push(
        Time::from_nanos(50_000_000),
        Fault::ClockJump {
            node: PRIMARY,
            delta_ns: -10_000_000_000,
        },
    );
    plan.push(Time::from_nanos(1_000_000_000), Fault::Heal(cut));
    let mut spec = RunSpec::new(7, plan, 10);
    spec.clients = 1;
    let (sim, history) = run(
        &model(true),
        &spec,
        |g, _| Request::Append {
            key: 10,
            value: g.value(),
        },
        |_| {},
    );
    assert!(history.iter().all(Record::ok), "{history:#?}");
    assert!(
        history
            .iter()
            .all(|r| r.completed < Time::from_nanos(1_000_000_000))
    );
    assert_eq!(primary_log(&sim).len(), 10);
    assert_caught_up(&sim, spec.seed);
}

#[test]
fn a_read_behind_its_token_is_redirected_to_the_primary() {
    // The link from the primary to follower n1 is slow, so n1 lags by far more than
    // WAIT: a client homed at n1 that writes then reads is redirected to the primary,
    // and still reads its write.
    let mut plan = sim_core::FaultPlan::default();
    let slow = sim_core::LinkConfig {
        latency: sim_core::Latency::constant(Duration::from_millis(400)),
        ..sim_core::LinkConfig::default()
    };
    plan.push(
        sim_core::Time::ZERO,
        sim_core::Fault::Link {
            source: PRIMARY,
            target: NodeId(1),
            config: slow,
        },
    );
    let mut spec = RunSpec::new(3, plan, 12);
    spec.clients = 2;
    let mut steps = [0; 2];
    let (sim, history) = run(
        &model(true),
        &spec,
        |g, client| {
            steps[client] += 1;
            match (client, steps[client]) {
                (1, 1) => Request::Write {
                    key: 0,
                    value: g.value(),
                },
                (1, _) => Request::Read { key: 0 },
                _ => Request::Read { key: 1 },
            }
        },
        |_| {},
    );
    assert_eq!(session_violation(&history, &primary_log(&sim)), None);
    let last_read = history
        .iter()
        .rfind(|r| r.client == NodeId(4) && r.request == Request::Read { key: 0 })
        .expect("client n4 read key 0");
    assert!(
        matches!(
            last_read.outcome,
            Outcome::Ok {
                reply: Reply::Read(Some(_)),
                ..
            }
        ),
        "{history:#?}"
    );
    let waited = last_read.completed - last_read.invoked;
    assert!(
        waited < Duration::from_millis(400),
        "redirected, not replicated: {waited}"
    );
}

#[test]
fn unknown_settings_and_zero_replicas_are_refused() {
    let params = Params::default().with("r", 2);
    let err = PRIMARY_ASYNC.model(&params).unwrap_err();
    assert!(
        matches!(&err, ModelError::BadParam { param, .. } if param == "r"),
        "{err}"
    );
    let params = Params::default().with("replicas", 0);
    let err = SESSION_TOKEN_IGNORED.model(&params).unwrap_err();
    assert!(err.to_string().contains("`replicas`"), "{err}");
}
