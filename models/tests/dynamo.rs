//! `dynamo` and `dynamo-crdt` under every one of the runner's nemeses
//! ([`sim_core::nemesis`]): after healing and quiet, every preference list agrees and
//! no hint is left; `dynamo-crdt` loses no acknowledged append; `dynamo` does lose
//! acknowledged writes when clocks are skewed. The tests of one exact situation (a
//! partition for the whole run, slow links to one node) script their faults.

mod quorum_support;

use models::dynamo::{Dynamo, DynamoReplica, DynamoSettings, Version};
use models::kv::{Outcome, Reply, Request};
use models::{ModelError, Params};
use quorum_support::{Gen, ModelSim, Record, RunSpec, Tally, run};
use sim_core::nemesis::Nemesis;
use sim_core::{Duration, Fault, FaultPlan, NodeId, Time};

const KEYS: u64 = 4;

fn registers(g: &mut Gen, _client: usize) -> Request {
    let key = g.rng.below(KEYS);
    match g.rng.below(10) {
        0..4 => Request::Read { key },
        4..8 => Request::Write {
            key,
            value: g.value(),
        },
        _ => Request::Append {
            key: key + 100,
            value: g.value(),
        },
    }
}

fn appends(g: &mut Gen, _client: usize) -> Request {
    let key = g.rng.below(KEYS);
    if g.rng.below(2) == 0 {
        Request::Read { key }
    } else {
        Request::Append {
            key,
            value: g.value(),
        }
    }
}

fn model(crdt: bool) -> Dynamo {
    Dynamo::new(DynamoSettings::default(), crdt).expect("valid")
}

fn node(sim: &ModelSim<Dynamo>, id: NodeId) -> &DynamoReplica {
    sim.replica(id).expect("up after healing")
}

/// Every preference list holds one version per key, and no hints are left.
fn assert_converged(model: &Dynamo, sim: &ModelSim<Dynamo>, context: &str) {
    let config = model.config();
    let mut keys = std::collections::BTreeSet::new();
    for id in sim.replica_ids() {
        let replica = node(sim, id);
        assert!(
            replica.hints().is_empty(),
            "{context}: {id} still holds hints {:?}",
            replica.hints()
        );
        for (&key, _) in replica.store() {
            assert!(
                config.owns(id, key),
                "{context}: {id} holds key {key}, not its own"
            );
            keys.insert(key);
        }
    }
    for key in keys {
        let versions: Vec<(NodeId, Option<&Version>)> = config
            .ring(key)
            .take(config.n)
            .map(|id| (id, node(sim, id).store().get(&key)))
            .collect();
        assert!(
            versions.iter().all(|(_, v)| *v == versions[0].1),
            "{context}: key {key} diverged: {versions:#?}"
        );
    }
}

fn sweep(crdt: bool, nemeses: &[Nemesis], seeds: u64) {
    let model = model(crdt);
    for &nemesis in nemeses {
        for seed in 0..seeds {
            let mut spec = RunSpec::new(seed, nemesis, 5, 150);
            spec.quiet = Duration::from_secs(4);
            let workload = if crdt { appends } else { registers };
            let (sim, history) = run(&model, &spec, workload, |_| {});
            let context = format!("seed {seed} {}", nemesis.name());
            assert!(
                history.iter().any(Record::ok),
                "{context}: nothing succeeded"
            );
            assert_converged(&model, &sim, &context);
            if crdt {
                assert_no_lost_appends(&model, &sim, &history, &context);
            }
        }
    }
}

/// Every acknowledged append is in every preference node's set.
fn assert_no_lost_appends(
    model: &Dynamo,
    sim: &ModelSim<Dynamo>,
    history: &[Record],
    context: &str,
) {
    let config = model.config();
    for record in history.iter().filter(|r| r.ok()) {
        let Request::Append { key, value } = record.request else {
            continue;
        };
        for id in config.ring(key).take(config.n) {
            let held = node(sim, id).store().get(&key);
            let Some(Version::Set(set)) = held else {
                panic!("{context}: {id} holds {held:?} for key {key}");
            };
            assert!(
                set.contains_key(&value),
                "{context}: {id} lost acknowledged {record:?}"
            );
        }
    }
}

/// The nemeses that cut the network.
const PARTITIONS: &[Nemesis] = &[
    Nemesis::PartitionHalves,
    Nemesis::PartitionMajority,
    Nemesis::PartitionMajoritiesRing,
    Nemesis::Bridge,
    Nemesis::OneWay,
];
/// The nemeses that cut off one replica after another (nobody leads in dynamo: the
/// replicas the seed picked).
const ISOLATIONS: &[Nemesis] = &[Nemesis::IsolateLeader, Nemesis::LeaderChurn];
/// The nemeses that stop replicas.
const CRASHES: &[Nemesis] = &[Nemesis::CrashRestart, Nemesis::Pause];

#[test]
fn dynamo_converges_without_faults() {
    sweep(false, &[Nemesis::None], 30);
}

#[test]
fn dynamo_converges_after_partitions() {
    sweep(false, PARTITIONS, 150);
}

#[test]
fn dynamo_converges_after_isolations() {
    sweep(false, ISOLATIONS, 150);
}

#[test]
fn dynamo_converges_after_crash_restart() {
    sweep(false, CRASHES, 150);
}

#[test]
fn dynamo_converges_despite_clock_skew() {
    sweep(false, &[Nemesis::ClockSkew], 150);
}

#[test]
fn dynamo_converges_after_loss_and_duplication() {
    sweep(false, &[Nemesis::FlakyNetwork], 150);
}

#[test]
fn dynamo_converges_after_swarm() {
    sweep(false, &[Nemesis::Swarm], 150);
}

#[test]
fn dynamo_crdt_converges_and_keeps_appends_after_partitions() {
    sweep(true, PARTITIONS, 150);
}

#[test]
fn dynamo_crdt_converges_and_keeps_appends_after_isolations() {
    sweep(true, ISOLATIONS, 150);
}

#[test]
fn dynamo_crdt_converges_and_keeps_appends_after_crash_restart() {
    sweep(true, CRASHES, 150);
}

#[test]
fn dynamo_crdt_converges_and_keeps_appends_despite_clock_skew() {
    sweep(true, &[Nemesis::ClockSkew], 150);
}

#[test]
fn dynamo_crdt_converges_and_keeps_appends_after_loss_and_duplication() {
    sweep(true, &[Nemesis::FlakyNetwork], 150);
}

#[test]
fn dynamo_crdt_converges_and_keeps_appends_after_swarm() {
    sweep(true, &[Nemesis::Swarm], 150);
}

/// An acknowledged write that a write which ended before it began overwrote, as
/// final reads (the converged preference list) show.
fn lost_write(model: &Dynamo, sim: &ModelSim<Dynamo>, history: &[Record]) -> Option<String> {
    let config = model.config();
    for later in history.iter().filter(|r| r.ok()) {
        let Request::Write { key, value } = later.request else {
            continue;
        };
        let owner = config.ring(key).next().expect("an owner");
        let Some(Reply::Read(Some(final_value))) =
            node(sim, owner).store().get(&key).map(Version::reply)
        else {
            continue;
        };
        let earlier = history.iter().find(|r| {
            r.request
                == Request::Write {
                    key,
                    value: final_value,
                }
        });
        if let Some(earlier) =
            earlier.filter(|e| e.ok() && e.precedes(later) && final_value != value)
        {
            return Some(format!("{later:?} lost to the earlier {earlier:?}"));
        }
    }
    None
}

/// Last writer wins by the coordinator's clock: a node whose clock is behind
/// coordinates writes that lose to older ones (and one whose clock is ahead, writes
/// that newer ones lose to). Documented, not a bug variant: under `clock-skew`, an
/// acknowledged write is lost in 10 of the first 20 seeds, the first of them seed 0.
#[test]
fn dynamo_loses_acknowledged_writes_when_clocks_are_skewed() {
    let model = model(false);
    let tally = Tally::of(0..20, |seed| {
        let mut spec = RunSpec::new(seed, Nemesis::ClockSkew, 5, 150);
        spec.quiet = Duration::from_secs(4);
        let (sim, history) = run(&model, &spec, registers, |_| {});
        assert_converged(&model, &sim, &format!("seed {seed}"));
        lost_write(&model, &sim, &history).is_some()
    });
    let expected = Tally {
        seeds: 0..20,
        first: Some(0),
        count: 10,
    };
    assert_eq!(tally, expected);
}

#[test]
fn without_faults_no_acknowledged_write_is_lost() {
    let model = model(false);
    for seed in 0..20 {
        let mut spec = RunSpec::new(seed, Nemesis::None, 5, 150);
        spec.quiet = Duration::from_secs(4);
        let (sim, history) = run(&model, &spec, registers, |_| {});
        assert_eq!(lost_write(&model, &sim, &history), None, "seed {seed}");
    }
}

#[test]
fn the_crdt_refuses_writes_and_both_refuse_cas() {
    for crdt in [false, true] {
        let spec = RunSpec::new(1, Nemesis::None, 5, 4);
        let mut n = 0;
        let (_, history) = run(
            &model(crdt),
            &spec,
            |g, _| {
                n += 1;
                if n % 2 == 0 {
                    Request::Cas {
                        key: 0,
                        from: 1,
                        to: g.value(),
                    }
                } else {
                    Request::Write {
                        key: 0,
                        value: g.value(),
                    }
                }
            },
            |_| {},
        );
        for record in &history {
            let refused = matches!(&record.outcome, Outcome::Fail { reason, .. } if reason.contains("refused"));
            let expected = crdt || matches!(record.request, Request::Cas { .. });
            assert_eq!(refused, expected, "crdt {crdt}: {record:?}");
        }
    }
}

#[test]
fn nonsense_settings_are_refused_naming_the_parameter() {
    let build = |replicas: Option<usize>, settings: &[(&str, &str)]| {
        let mut params = Params::default();
        if let Some(n) = replicas {
            params = params.with("replicas", n);
        }
        for (k, v) in settings {
            params.settings.insert((*k).into(), (*v).into());
        }
        models::dynamo::DYNAMO.model(&params)
    };
    let param = |e: ModelError| match e {
        ModelError::BadParam { param, .. } => param,
        other => panic!("{other:?}"),
    };
    assert_eq!(param(build(Some(0), &[]).unwrap_err()), "replicas");
    assert_eq!(param(build(None, &[("n", "6")]).unwrap_err()), "n");
    assert_eq!(param(build(None, &[("r", "4")]).unwrap_err()), "r");
    assert_eq!(param(build(None, &[("w", "0")]).unwrap_err()), "w");
    assert_eq!(param(build(None, &[("w", "x")]).unwrap_err()), "w");
    assert!(build(Some(1), &[]).is_ok(), "one node: n = r = w = 1");
    assert!(build(Some(3), &[("n", "3"), ("r", "1"), ("w", "1")]).is_ok());
}

/// An AP store answers on both sides of a partition: under `partition-majority` (two
/// nodes cut off from the other three for the whole fault window, each client beside
/// its home node, clients on both sides), every operation succeeds within 500 ms,
/// through sloppy quorums of the nodes each client can reach; after the heal, hinted
/// handoff and anti-entropy converge the store.
#[test]
fn both_sides_of_a_partition_answer_and_then_converge() {
    for crdt in [false, true] {
        let model = model(crdt);
        for seed in 0..50 {
            let mut spec = RunSpec::new(seed, Nemesis::PartitionMajority, 5, 120);
            spec.quiet = Duration::from_secs(4);
            let context = format!("crdt {crdt} seed {seed}");
            assert_clients_on_both_sides(&spec, &context);
            let workload = if crdt { appends } else { registers };
            let (sim, history) = run(&model, &spec, workload, |_| {});
            let healed_at = spec.schedule.healed_at;
            for client in [NodeId(5), NodeId(6), NodeId(7)] {
                let ops: Vec<&Record> = history
                    .iter()
                    .filter(|r| r.client == client && r.completed < healed_at)
                    .collect();
                assert!(
                    ops.len() >= 5,
                    "{context}: {client} did {} operations",
                    ops.len()
                );
                for r in ops {
                    assert!(r.ok(), "{context}: {client}: {r:?}");
                    let took = r.completed.saturating_since(r.invoked);
                    assert!(
                        took < Duration::from_millis(500),
                        "{context}: {r:?} took {took}"
                    );
                }
            }
            assert_converged(&model, &sim, &context);
            if crdt {
                assert_no_lost_appends(&model, &sim, &history, &context);
            }
        }
    }
}

/// The schedule cuts the 5 nodes into two and three from the start to the heal, with
/// a client on each side.
fn assert_clients_on_both_sides(spec: &RunSpec, context: &str) {
    let cuts: Vec<&sim_core::TimedFault> = spec
        .schedule
        .plan
        .faults
        .iter()
        .filter(|f| matches!(f.fault, Fault::Partition(_)))
        .collect();
    assert_eq!(cuts.len(), 1, "{context}: {:?}", spec.schedule.plan);
    assert_eq!(cuts[0].at, Time::ZERO, "{context}");
    let Fault::Partition(cut) = &cuts[0].fault else {
        unreachable!("filtered")
    };
    let reaches = |client: u32| {
        (0..5)
            .filter(|&r| !cut.cuts(NodeId(client), NodeId(r)))
            .count()
    };
    let mut reach: Vec<usize> = (5..8).map(reaches).collect();
    reach.sort_unstable();
    reach.dedup();
    assert_eq!(reach, [2, 3], "{context}: replicas each client reaches");
}

/// A preference node that is slow (a 180 ms round trip, under the 200 ms a node may
/// stay silent before it is suspected) is waited for: fallbacks that hold nothing for
/// the key do not outvote it, so a client reads its own write every time. Counting
/// their empty answers at once fails this; so does suspecting, in an append's write
/// phase, the nodes that answered its read only just now (its reads must then wait
/// for them again, which suspicion would skip).
#[test]
fn a_slow_preference_node_is_not_outvoted_by_empty_fallbacks() {
    let model = model(false);
    let config = model.config();
    // A key that node 0 does not hold: node 0 coordinates it as a stranger.
    let key = (0..100)
        .find(|&k| !config.owns(NodeId(0), k))
        .expect("a key outside node 0's lists");
    let slow = sim_core::LinkConfig {
        latency: sim_core::Latency::constant(Duration::from_millis(90)),
        ..sim_core::LinkConfig::default()
    };
    let mut plan = FaultPlan::default();
    for owner in config.ring(key).take(config.n) {
        for (source, target) in [(NodeId(0), owner), (owner, NodeId(0))] {
            plan.push(
                Time::ZERO,
                Fault::Link {
                    source,
                    target,
                    config: slow,
                },
            );
        }
    }
    for append in [false, true] {
        let mut spec = RunSpec::scripted(3, plan.clone(), 40);
        spec.clients = 1; // At home on node 0.
        let mut written = None;
        let (_, history) = run(
            &model,
            &spec,
            |g, _| match written {
                None => {
                    let value = g.value();
                    written = Some(value);
                    if append {
                        Request::Append { key, value }
                    } else {
                        Request::Write { key, value }
                    }
                }
                Some(_) => Request::Read { key },
            },
            |_| {},
        );
        let value = written.expect("a write");
        assert!(history[0].ok(), "{:?}", history[0]);
        let expected = if append {
            Reply::ReadList(vec![value])
        } else {
            Reply::Read(Some(value))
        };
        for read in &history[1..] {
            let Outcome::Ok { reply, .. } = &read.outcome else {
                panic!("append {append}: {read:?}");
            };
            assert_eq!(reply, &expected, "append {append}: {read:?}");
        }
    }
}

/// An append's write phase suspects only the nodes silent since that phase began, not
/// the ones that answered its read a moment ago: otherwise, while node 0 coordinates
/// appends over slow links (180 ms round trips to the owners), it would suspect the
/// owners and answer reads of another key they own from fallbacks that hold nothing.
#[test]
fn an_appends_write_phase_does_not_suspect_the_nodes_that_answered_its_read() {
    let model = model(false);
    let config = model.config();
    let owners: Vec<NodeId> = config.ring(2).take(config.n).collect();
    // Two keys with the same owners, neither of them node 0.
    let (appended, read) = (2, 3);
    assert!(!owners.contains(&NodeId(0)));
    assert_eq!(config.ring(read).take(config.n).collect::<Vec<_>>(), owners);
    let slow = sim_core::LinkConfig {
        latency: sim_core::Latency::constant(Duration::from_millis(90)),
        ..sim_core::LinkConfig::default()
    };
    let mut plan = FaultPlan::default();
    for &owner in &owners {
        for (source, target) in [(NodeId(0), owner), (owner, NodeId(0))] {
            let config = slow;
            plan.push(
                Time::ZERO,
                Fault::Link {
                    source,
                    target,
                    config,
                },
            );
        }
    }
    // Clients 0 and 5 are at home on node 0 (of 5 nodes); 1 to 4 read elsewhere.
    let mut spec = RunSpec::scripted(5, plan, 120);
    spec.clients = 6;
    let mut written = None;
    let (_, history) = run(
        &model,
        &spec,
        |g, client| match client {
            0 => Request::Append {
                key: appended,
                value: g.value(),
            },
            5 if written.is_none() => {
                let value = g.value();
                written = Some(value);
                Request::Write { key: read, value }
            }
            _ => Request::Read { key: read },
        },
        |_| {},
    );
    let value = written.expect("a write");
    let write = history
        .iter()
        .find(|r| r.request == Request::Write { key: read, value })
        .expect("the write ended");
    assert!(write.ok(), "{write:?}");
    let reads: Vec<&Record> = history
        .iter()
        .filter(|r| r.client == NodeId(10) && write.precedes(r))
        .collect();
    assert!(reads.len() >= 5, "{} reads after the write", reads.len());
    for r in reads {
        let Outcome::Ok { reply, .. } = &r.outcome else {
            panic!("{r:?}");
        };
        assert_eq!(reply, &Reply::Read(Some(value)), "{r:?}");
    }
}

/// On a minority side of two nodes, a read is answered by the first healthy nodes
/// whoever they stood in for: node 0 coordinates key 2 (owned by 2, 3 and 4) with only
/// node 2 on its side, and node 2 answers slowly (a 180 ms round trip), after node 0
/// was already made the stand-in for it. Node 0's own empty answer must then count
/// for the silent owners 3 and 4, or no read of key 2 is ever answered there.
#[test]
fn a_stand_in_counts_for_whichever_owner_is_silent() {
    let model = model(false);
    let config = model.config();
    assert_eq!(
        config.ring(2).take(config.n).collect::<Vec<_>>(),
        [NodeId(2), NodeId(3), NodeId(4)]
    );
    let side = [NodeId(0), NodeId(2), NodeId(5)];
    let rest = [NodeId(1), NodeId(3), NodeId(4)];
    let mut plan = FaultPlan::default();
    plan.push(
        Time::ZERO,
        Fault::Partition(sim_core::Partition::halves(&side, &rest)),
    );
    let slow = sim_core::LinkConfig {
        latency: sim_core::Latency::constant(Duration::from_millis(90)),
        ..sim_core::LinkConfig::default()
    };
    for (source, target) in [(NodeId(0), NodeId(2)), (NodeId(2), NodeId(0))] {
        let config = slow;
        plan.push(
            Time::ZERO,
            Fault::Link {
                source,
                target,
                config,
            },
        );
    }
    plan.push(Time::ZERO + Duration::from_secs(3), Fault::HealAll);
    let mut spec = RunSpec::scripted(2, plan, 10);
    spec.clients = 1; // Node 5, at home on node 0.
    let (_, history) = run(&model, &spec, |_, _| Request::Read { key: 2 }, |_| {});
    assert_eq!(history.len(), 10);
    for read in &history {
        assert!(read.ok(), "{read:?}");
        let took = read.completed.saturating_since(read.invoked);
        assert!(took < Duration::from_millis(500), "{read:?} took {took}");
    }
}
