//! Raft under faults: the correct model keeps its invariants over hundreds of seeds of
//! every kind of fault, and every bug variant is caught within a stated seed budget.
//!
//! The harness runs 5 replicas and 3 closed-loop clients (no retries, as the scenarios
//! runner has them) with a small workload of unique-valued writes, cas, appends and
//! reads over four keys (two registers, two lists), applies a fault plan drawn from
//! the seed (a [`Nemesis`]), lets it play out, heals everything, and checks:
//!
//! - on the replicas, sampled every 2 ms: **committed prefixes never diverge** (every
//!   replica's log up to its commit index agrees with every other's, then and
//!   earlier), and **at most one leader per term**;
//! - on what clients saw, against the committed log as it ended: **no acknowledged
//!   write is lost**; **no read is stale** (a register read returns a value written
//!   no earlier in the log than any write to its key acknowledged before the read
//!   began; a list read holds every element acknowledged before it began); **no read
//!   goes back in time** behind a read that ended before it began; list reads are
//!   prefixes of one another; and no read returns a value that never committed.
//!
//! These are sound with unique values, not complete: the full linearizability and
//! session checks run in the scenarios crate, through the real checkers. `survey`
//! (ignored) prints how often each model breaks under each nemesis.

use std::collections::BTreeMap;

use models::Invariants;
use models::client::{Client, ClientConfig, RetryPolicy};
use models::kv::{Op, Outcome, Reply, Request, Store, Value};
use models::raft::invariants::RaftInvariants;
use models::raft::{self, Command, Entry, Peer, Raft, RaftBug, Role};
use models::{Model, Params};
use sim_core::{
    Duration, Fault, FaultPlan, LinkConfig, NodeId, Partition, Probability, Purpose, Sim, SimRng,
    Time,
};

type C = Client<Peer>;
type S = Sim<raft::RaftReplica, C>;

const CLIENTS: u32 = 3;
const KEYS: u64 = 4;
/// Keys below this are registers; the rest are lists.
const REGISTER_KEYS: u64 = 2;
/// How often the invariants are sampled.
const CHECK_EVERY: Duration = Duration::from_millis(2);
/// Faults start in this window of the run (in milliseconds).
const FAULT_WINDOW: (u64, u64) = (200, 4_000);
/// How long the last fault can last beyond the window (the longest hold).
const PLAN_TAIL_MS: u64 = 3_000;

fn ms(n: u64) -> Time {
    Time::ZERO + Duration::from_millis(n)
}

/// What goes wrong in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Nothing.
    None,
    /// Halves, isolated nodes, bridges and majority rings, each healed after a while.
    Partitions,
    /// One or two nodes crash (or pause) and come back; now and then every replica
    /// crashes at once, as in a power failure.
    CrashRestart,
    /// Clocks drift (within `max_drift_ppm`) and jump (by up to two seconds).
    /// `isolate`: the leader is also cut off now and then, its clock set back and
    /// slowed, which is when a lease that trusts it goes wrong.
    ClockSkew { max_drift_ppm: i64, isolate: bool },
    /// Bursts of loss and duplication on every link or on some.
    LossAndDuplication,
    /// Whoever leads is cut off from the other replicas; `with_client`: along with
    /// one client, as if that client ran on its host.
    IsolateLeader { with_client: bool },
    /// A random kind per episode.
    Swarm,
}

/// A kind of fault, struck in episodes: each holds for a random time in `hold_ms`,
/// and the next starts a random time in `gap_ms` after it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Nemesis {
    kind: Kind,
    hold_ms: (u64, u64),
    gap_ms: (u64, u64),
}

impl Nemesis {
    const fn new(kind: Kind) -> Nemesis {
        Nemesis {
            kind,
            hold_ms: (100, 800),
            gap_ms: (50, 500),
        }
    }

    const fn hold(self, low: u64, high: u64) -> Nemesis {
        Nemesis {
            hold_ms: (low, high),
            ..self
        }
    }

    const fn gap(self, low: u64, high: u64) -> Nemesis {
        Nemesis {
            gap_ms: (low, high),
            ..self
        }
    }
}

const PARTITIONS: Nemesis = Nemesis::new(Kind::Partitions);
const CRASH_RESTART: Nemesis = Nemesis::new(Kind::CrashRestart);
const LOSS_AND_DUPLICATION: Nemesis = Nemesis::new(Kind::LossAndDuplication);
const SWARM: Nemesis = Nemesis::new(Kind::Swarm);
/// Leaders cut off in quick succession, each for a short while: orphaned entries of
/// many terms, the raw material of the Raft paper's Figure 8.
const LEADER_CHURN: Nemesis = Nemesis::new(Kind::IsolateLeader { with_client: false })
    .hold(100, 400)
    .gap(0, 100);
/// The leader cut off, with one client, for long enough that the other clients move
/// to a new leader.
const LEADER_CUT_OFF: Nemesis =
    Nemesis::new(Kind::IsolateLeader { with_client: true }).hold(1_000, 3_000);
/// Clocks drift and jump by up to `max_drift_ppm`, and the leader is cut off with a
/// client while its clock is set back and slowed.
const fn clock_skew(max_drift_ppm: i64) -> Nemesis {
    Nemesis::new(Kind::ClockSkew {
        max_drift_ppm,
        isolate: true,
    })
    .hold(1_000, 3_000)
}

/// Cutting off whoever leads at `at` for `hold`, with the client numbered
/// `with_client` if there is one; with `skew`, its clock is also set back by `hold`
/// and slowed by `skew` ppm.
#[derive(Clone, Copy, Debug)]
struct Isolation {
    at: Time,
    hold: Duration,
    with_client: Option<usize>,
    skew: Option<i64>,
}

/// One operation and how it went.
#[derive(Clone, Debug)]
struct Record {
    client: NodeId,
    request: Request,
    invoked: Time,
    ended: Option<(Time, Outcome)>,
}

/// A run and what it found.
struct Harness {
    sim: S,
    workload: SimRng,
    budget: u64,
    ops: Vec<Record>,
    /// Operations not ended yet.
    in_flight: usize,
    next_value: Value,
    last_value: [Value; KEYS as usize],
    isolations: Vec<Isolation>,
    /// Raft's safety properties across replicas, as the runner checks them.
    invariants: RaftInvariants,
    /// Broken invariants of the replicas' state.
    violations: Vec<String>,
    /// Anomalies in what clients saw.
    history: Vec<String>,
}

fn build(model: &Raft, seed: u64, nemesis: Nemesis) -> Harness {
    let mut rng = SimRng::new(seed, Purpose::Faults);
    let replicas = model.config().replicas;
    let (plan, isolations) = plan(&mut rng, nemesis, replicas);
    let ids: Vec<NodeId> = (0..replicas as u32).map(NodeId).collect();
    let mut builder = S::with_clients(seed).plan(plan);
    for config in model.replicas() {
        builder = builder.replica(config);
    }
    for i in 0..CLIENTS {
        let mut client = ClientConfig::new(ids.clone(), i as usize, model.routing());
        client.retry = RetryPolicy::never();
        builder = builder.client(model.client(client));
    }
    Harness {
        sim: builder
            .build()
            .expect("the harness builds valid simulations"),
        workload: SimRng::new(seed, Purpose::Workload),
        budget: 0,
        ops: Vec::new(),
        in_flight: 0,
        next_value: 0,
        last_value: [0; KEYS as usize],
        isolations,
        invariants: RaftInvariants::new(),
        violations: Vec::new(),
        history: Vec::new(),
    }
}

/// Draws a fault plan; isolations of the leader are returned apart, since who leads
/// is known only as the run goes.
fn plan(rng: &mut SimRng, nemesis: Nemesis, replicas: usize) -> (FaultPlan, Vec<Isolation>) {
    let mut plan = FaultPlan::default();
    let mut isolations = Vec::new();
    let nodes: Vec<NodeId> = (0..replicas as u32).map(NodeId).collect();
    let mut t = FAULT_WINDOW.0 + rng.below(200);
    while t < FAULT_WINDOW.1 {
        let hold_ms = rng.between(nemesis.hold_ms.0, nemesis.hold_ms.1);
        let (at, hold) = (ms(t), Duration::from_millis(hold_ms));
        let kind = match nemesis.kind {
            Kind::Swarm => match rng.below(5) {
                0 => Kind::Partitions,
                1 => Kind::CrashRestart,
                2 => Kind::ClockSkew {
                    max_drift_ppm: 400_000,
                    isolate: false,
                },
                3 => Kind::LossAndDuplication,
                _ => Kind::IsolateLeader {
                    with_client: rng.below(2) == 0,
                },
            },
            kind => kind,
        };
        match kind {
            Kind::None => break,
            Kind::Partitions => {
                let partition = random_partition(rng, &nodes);
                plan.push(at, Fault::Partition(partition.clone()));
                plan.push(at + hold, Fault::Heal(partition));
            }
            Kind::CrashRestart => crash_restart(rng, &mut plan, &nodes, at),
            Kind::ClockSkew {
                max_drift_ppm,
                isolate,
            } => {
                skew_clocks(rng, &mut plan, &nodes, at, max_drift_ppm);
                if isolate {
                    isolations.push(Isolation {
                        at: at + Duration::from_millis(rng.below(200)),
                        hold,
                        with_client: Some(rng.below(CLIENTS.into()) as usize),
                        skew: Some(max_drift_ppm),
                    });
                }
            }
            Kind::LossAndDuplication => {
                loss_and_duplication(rng, &mut plan, &nodes, at, hold);
            }
            Kind::IsolateLeader { with_client } => isolations.push(Isolation {
                at,
                hold,
                with_client: with_client.then(|| rng.below(CLIENTS.into()) as usize),
                skew: None,
            }),
            Kind::Swarm => unreachable!("swarm picks one of the others"),
        }
        t += hold_ms + rng.between(nemesis.gap_ms.0, nemesis.gap_ms.1);
    }
    (plan, isolations)
}

fn crash_restart(rng: &mut SimRng, plan: &mut FaultPlan, nodes: &[NodeId], at: Time) {
    let mut shuffled = nodes.to_vec();
    rng.shuffle(&mut shuffled);
    let victims = match rng.below(8) {
        0 => nodes.len(), // A power failure.
        n => (1 + (n % 2) as usize).min(nodes.len()),
    };
    for &node in &shuffled[..victims] {
        let down = Duration::from_millis(rng.between(10, 700));
        if rng.below(4) == 0 {
            plan.push(at, Fault::Pause { node });
            plan.push(at + down, Fault::Resume { node });
        } else {
            plan.push(at, Fault::Crash { node });
            plan.push(at + down, Fault::Restart { node });
        }
    }
}

fn skew_clocks(rng: &mut SimRng, plan: &mut FaultPlan, nodes: &[NodeId], at: Time, max: i64) {
    for &node in nodes {
        if rng.below(2) == 0 {
            let drift_ppm = rng.between(0, 2 * max as u64) as i64 - max;
            plan.push(at, Fault::ClockDrift { node, drift_ppm });
        }
    }
    if rng.below(3) == 0 {
        let node = nodes[rng.below(nodes.len() as u64) as usize];
        let delta_ns = rng.between(0, 4_000_000_000) as i64 - 2_000_000_000;
        plan.push(at, Fault::ClockJump { node, delta_ns });
    }
}

fn loss_and_duplication(
    rng: &mut SimRng,
    plan: &mut FaultPlan,
    nodes: &[NodeId],
    at: Time,
    hold: Duration,
) {
    let config = LinkConfig {
        loss: probability(rng.below(40)),
        duplicate: probability(rng.below(40)),
        ..LinkConfig::default()
    };
    if rng.below(2) == 0 {
        plan.push(at, Fault::AllLinks(config));
    } else {
        for _ in 0..4 {
            let source = nodes[rng.below(nodes.len() as u64) as usize];
            let target = nodes[rng.below(nodes.len() as u64) as usize];
            plan.push(
                at,
                Fault::Link {
                    source,
                    target,
                    config,
                },
            );
        }
    }
    plan.push(at + hold, Fault::AllLinks(LinkConfig::default()));
}

fn probability(percent: u64) -> Probability {
    Probability::new(percent as f64 / 100.0).expect("a percentage is a probability")
}

fn random_partition(rng: &mut SimRng, nodes: &[NodeId]) -> Partition {
    let mut shuffled = nodes.to_vec();
    rng.shuffle(&mut shuffled);
    match rng.below(4) {
        0 => Partition::isolate(shuffled[0], nodes),
        1 => {
            let split = 1 + rng.below(nodes.len() as u64 - 1) as usize;
            Partition::halves(&shuffled[..split], &shuffled[split..])
        }
        2 => Partition::bridge(&shuffled[..2], shuffled[2], &shuffled[3..]),
        _ => {
            // A majorities ring: every node sees itself and its two ring neighbours.
            let n = shuffled.len();
            let mut cut = Partition::none();
            for i in 0..n {
                for j in 0..n {
                    let distance = (i + n - j) % n;
                    if distance > 1 && distance < n - 1 {
                        cut = cut.union(&Partition::one_way(&[shuffled[i]], &[shuffled[j]]));
                    }
                }
            }
            cut
        }
    }
}

impl Harness {
    fn next_op(&mut self, client: NodeId) {
        if self.budget == 0 {
            return;
        }
        self.budget -= 1;
        let rng = &mut self.workload;
        let key = rng.below(KEYS);
        let request = if rng.below(100) < 40 {
            Request::Read { key }
        } else if key < REGISTER_KEYS && rng.below(5) == 0 {
            let from = self.last_value[key as usize];
            self.next_value += 1;
            Request::Cas {
                key,
                from,
                to: self.next_value,
            }
        } else {
            self.next_value += 1;
            self.last_value[key as usize] = self.next_value;
            if key < REGISTER_KEYS {
                Request::Write {
                    key,
                    value: self.next_value,
                }
            } else {
                Request::Append {
                    key,
                    value: self.next_value,
                }
            }
        };
        let id = self.ops.len() as u64;
        self.ops.push(Record {
            client,
            request,
            invoked: self.sim.now(),
            ended: None,
        });
        self.in_flight += 1;
        self.sim
            .input_client(client, self.sim.now(), Op { id, request });
    }

    /// Runs the workload of `ops` operations, then heals everything and lets the
    /// cluster settle, checking the invariants throughout.
    fn run(&mut self, ops: u64) {
        self.budget = ops;
        let clients: Vec<NodeId> = self.sim.client_ids().collect();
        for &client in &clients {
            self.next_op(client);
        }
        let mut next_check = Time::ZERO;
        let deadline = ms(FAULT_WINDOW.1 + 4_000);
        while self.in_flight > 0 && self.sim.next_event_time().is_some_and(|t| t <= deadline) {
            self.sim.step();
            self.collect_outputs();
            if self.sim.now() >= next_check {
                self.sample();
                self.isolate_leader();
                next_check = self.sim.now() + CHECK_EVERY;
            }
        }
        self.settle();
    }

    /// Records what clients reported, and gives each the next operation.
    fn collect_outputs(&mut self) {
        let outputs: Vec<_> = self.sim.drain_client_outputs().collect();
        for emitted in outputs {
            let index = emitted.output.id() as usize;
            self.ops[index].ended = Some((emitted.time, emitted.output));
            self.in_flight -= 1;
            self.next_op(emitted.node);
        }
    }

    /// Cuts off whoever leads, if an isolation is due.
    fn isolate_leader(&mut self) {
        let now = self.sim.now();
        while let Some(&isolation) = self.isolations.first() {
            if isolation.at > now {
                break;
            }
            self.isolations.remove(0);
            let leader = self
                .sim
                .replica_ids()
                .filter_map(|id| self.sim.replica(id).map(|r| (r, id)))
                .filter(|(r, _)| r.role() == Role::Leader)
                .max_by_key(|(r, _)| r.term())
                .map(|(_, id)| id);
            if let Some(leader) = leader {
                self.cut_off(leader, isolation);
            }
        }
    }

    fn cut_off(&mut self, leader: NodeId, isolation: Isolation) {
        let now = self.sim.now();
        let cut = if let Some(client) = isolation.with_client {
            let client = self.sim.client_ids().nth(client).expect("a client");
            let rest: Vec<NodeId> = self
                .sim
                .process_ids()
                .filter(|&id| id != leader && id != client)
                .collect();
            Partition::halves(&[leader, client], &rest)
        } else {
            let replicas: Vec<NodeId> = self.sim.replica_ids().collect();
            Partition::isolate(leader, &replicas)
        };
        let mut faults = vec![(now, Fault::Partition(cut.clone()))];
        faults.push((now + isolation.hold, Fault::Heal(cut)));
        if let Some(drift_ppm) = isolation.skew {
            let delta_ns = -(isolation.hold.as_nanos() as i64);
            faults.push((
                now,
                Fault::ClockJump {
                    node: leader,
                    delta_ns,
                },
            ));
            faults.push((
                now,
                Fault::ClockDrift {
                    node: leader,
                    drift_ppm: -drift_ppm,
                },
            ));
        }
        for (at, fault) in faults {
            self.sim.schedule_fault(at, fault).expect("a valid fault");
        }
    }

    /// Lets the fault plan play out, ends every fault, and lets the cluster elect a
    /// leader and commit.
    fn settle(&mut self) {
        let plan_over = ms(FAULT_WINDOW.1 + PLAN_TAIL_MS);
        while self.sim.now() < plan_over {
            let next = (self.sim.now() + Duration::from_millis(5)).min(plan_over);
            self.sim.run_until(next);
            self.sample();
            self.isolate_leader();
        }
        let now = self.sim.now();
        let mut end = vec![Fault::HealAll, Fault::AllLinks(LinkConfig::default())];
        for node in self.sim.replica_ids() {
            end.push(Fault::Resume { node });
            end.push(Fault::ClockDrift { node, drift_ppm: 0 });
            if self.sim.replica(node).is_none() {
                end.push(Fault::Restart { node });
            }
        }
        for fault in end {
            self.sim.schedule_fault(now, fault).expect("valid fault");
        }
        let mut t = now;
        for _ in 0..300 {
            t += Duration::from_millis(5);
            self.sim.run_until(t);
            self.sample();
        }
    }

    /// Samples every replica: Raft's safety properties (one leader per term, logs
    /// that match, leaders that hold every committed entry, committed prefixes that
    /// agree), the first broken one recorded.
    fn sample(&mut self) {
        let replicas: Vec<Option<&raft::RaftReplica>> = self
            .sim
            .replica_ids()
            .map(|id| self.sim.replica(id))
            .collect();
        if let Err(broken) = self.invariants.check(self.sim.now(), &replicas) {
            if !self.violations.contains(&broken) {
                self.violations.push(broken);
            }
        }
    }

    /// The checks on the whole history, against the committed log.
    fn check_history(&mut self) {
        // The log as it ended (in a correct run, the one every replica committed):
        // the index at which each value took effect.
        let final_log: Vec<Entry> = self
            .sim
            .replica_ids()
            .filter_map(|id| self.sim.replica(id))
            .max_by_key(|r| (r.commit_index(), r.term()))
            .map(|r| {
                r.log()
                    .iter()
                    .take(r.commit_index() as usize)
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        let mut store = Store::default();
        let mut dedup = models::client::Dedup::default();
        let mut took_effect: BTreeMap<Value, u64> = BTreeMap::new();
        for (i, entry) in final_log.iter().enumerate() {
            let Command::Client { id, request } = entry.command else {
                continue;
            };
            if dedup.seen(id).is_some() || dedup.stale(id) {
                continue;
            }
            let reply = store.apply(&request);
            dedup.record(id, reply.clone());
            if !matches!(reply, Reply::CasMismatch(_)) {
                let value = request.written().expect("log entries are writes");
                took_effect.insert(value, i as u64 + 1);
            }
        }
        let ok_writes: Vec<(Time, Request)> = self
            .ops
            .iter()
            .filter_map(|r| match &r.ended {
                Some((t, Outcome::Ok { .. })) if r.request.is_write() => Some((*t, r.request)),
                _ => None,
            })
            .collect();
        for (acked, request) in &ok_writes {
            let value = request.written().expect("a write");
            if !took_effect.contains_key(&value) {
                self.history.push(format!(
                    "{request:?}, acknowledged at {acked}, is not in the committed log"
                ));
            }
        }
        for record in &self.ops {
            let Some((_, Outcome::Ok { reply, .. })) = &record.ended else {
                continue;
            };
            let Request::Read { key } = record.request else {
                continue;
            };
            let before: Vec<Value> = ok_writes
                .iter()
                .filter(|(acked, w)| *acked < record.invoked && w.key() == key)
                .filter_map(|(_, w)| w.written())
                .collect();
            if let Some(stale) = stale(reply, &before, &took_effect) {
                self.history.push(format!(
                    "read of key {key} invoked at {} returned {reply:?}: {stale}",
                    record.invoked
                ));
            }
            if let Some(dirty) = uncommitted(reply, &took_effect) {
                self.history.push(format!(
                    "read of key {key} invoked at {} returned {dirty}, which never committed",
                    record.invoked
                ));
            }
            for earlier in &self.ops {
                let Some((ended, Outcome::Ok { reply: seen, .. })) = &earlier.ended else {
                    continue;
                };
                if earlier.request != (Request::Read { key }) {
                    continue;
                }
                if let (Reply::ReadList(a), Reply::ReadList(b)) = (seen, reply)
                    && !a.starts_with(b)
                    && !b.starts_with(a)
                {
                    self.history.push(format!(
                        "reads of key {key} saw incompatible orders: {a:?} and {b:?}"
                    ));
                }
                if *ended >= record.invoked {
                    continue;
                }
                if let Some(back) = went_back(seen, reply, &took_effect) {
                    self.history.push(format!(
                        "read of key {key} invoked at {} went back in time: {back}",
                        record.invoked
                    ));
                }
            }
        }
    }
}

/// Why the read `later` is older than `earlier`, which ended before it began, if it is.
fn went_back(earlier: &Reply, later: &Reply, took_effect: &BTreeMap<Value, u64>) -> Option<String> {
    let index = |v: &Option<Value>| v.map_or(Some(0), |v| took_effect.get(&v).copied());
    match (earlier, later) {
        (Reply::ReadList(a), Reply::ReadList(b)) if !b.starts_with(a) => {
            Some(format!("{b:?} does not extend {a:?}, read before it"))
        }
        (Reply::Read(a), Reply::Read(b)) => match (index(a), index(b)) {
            (Some(i), Some(j)) if j < i => Some(format!(
                "{b:?} (index {j}) is older than {a:?} (index {i}), read before it"
            )),
            _ => None,
        },
        _ => None,
    }
}

/// Why `reply` is stale given the values acknowledged before the read, if it is.
fn stale(reply: &Reply, before: &[Value], took_effect: &BTreeMap<Value, u64>) -> Option<String> {
    match reply {
        Reply::ReadList(list) => before
            .iter()
            .find(|v| !list.contains(v))
            .map(|v| format!("it lacks {v}, appended before it was invoked")),
        Reply::Read(value) => {
            let latest = before.iter().filter_map(|v| took_effect.get(v)).max()?;
            match value.and_then(|v| took_effect.get(&v)) {
                None => Some(format!(
                    "a write at index {latest} was acknowledged before it was invoked"
                )),
                Some(index) if index < latest => Some(format!(
                    "it was written at index {index}, but a write at index {latest} was \
                     acknowledged before it was invoked"
                )),
                Some(_) => None,
            }
        }
        _ => None,
    }
}

/// A value `reply` shows that no committed entry wrote, if there is one.
fn uncommitted(reply: &Reply, took_effect: &BTreeMap<Value, u64>) -> Option<Value> {
    match reply {
        Reply::Read(Some(v)) => Some(*v).filter(|v| !took_effect.contains_key(v)),
        Reply::ReadList(list) => list.iter().copied().find(|v| !took_effect.contains_key(v)),
        _ => None,
    }
}

/// What one run found.
struct Outcomes {
    /// Every violation, of invariants and then of the history.
    violations: Vec<String>,
    /// The violations clients could see.
    history: Vec<String>,
    /// Operations that did not succeed (except cas mismatches): request, invocation,
    /// outcome.
    failed: Vec<(Request, Time, Option<Outcome>)>,
    /// Operations that succeeded (or failed a cas compare).
    ok: usize,
    /// Operations in all.
    ops: usize,
}

/// Operations per run.
const OPS: u64 = 120;

fn run_one(model: &Raft, seed: u64, nemesis: Nemesis) -> Outcomes {
    let mut harness = build(model, seed, nemesis);
    harness.run(OPS);
    harness.check_history();
    let mut failed = Vec::new();
    let mut ok = 0;
    for record in &harness.ops {
        match &record.ended {
            Some((_, Outcome::Ok { .. })) => ok += 1,
            Some((_, Outcome::Fail { reason, .. })) if reason.starts_with("cas mismatch") => {
                ok += 1;
            }
            ended => failed.push((
                record.request,
                record.invoked,
                ended.as_ref().map(|e| e.1.clone()),
            )),
        }
    }
    let mut violations = harness.violations;
    violations.extend(harness.history.iter().cloned());
    Outcomes {
        violations,
        history: harness.history,
        failed,
        ok,
        ops: harness.ops.len(),
    }
}

fn raft(settings: &[(&str, &str)]) -> Raft {
    let params = Params {
        settings: settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    models::raft::RAFT.model(&params).expect("valid parameters")
}

fn variant(bug: RaftBug) -> Raft {
    use models::raft::{ACK_BEFORE_SYNC, COMMIT_OLD_TERM, LEASE_DRIFT, STALE_READ};
    let params = Params::default();
    match bug {
        RaftBug::CommitOldTerm => COMMIT_OLD_TERM.model(&params),
        RaftBug::StaleRead => STALE_READ.model(&params),
        RaftBug::LeaseDrift => LEASE_DRIFT.model(&params),
        RaftBug::AckBeforeSync => ACK_BEFORE_SYNC.model(&params),
    }
    .expect("default parameters")
}

/// The leased model the lease tests use: 120 ms leases, safe up to 10% drift.
fn leased() -> Raft {
    raft(&[("lease-ms", "120"), ("drift-ppm", "100000")])
}

/// Runs `seeds` and asserts no violation, and that at least half the operations
/// succeeded (a model that refuses everything would be safe, and useless).
fn assert_correct(model: &Raft, nemesis: Nemesis, seeds: std::ops::Range<u64>) {
    let share = assert_safe(model, nemesis, seeds);
    assert!(
        share > 0.5,
        "{nemesis:?}: only {share:.2} of operations succeeded"
    );
}

/// Runs `seeds` and asserts no violation; returns the share of operations that
/// succeeded.
fn assert_safe(model: &Raft, nemesis: Nemesis, seeds: std::ops::Range<u64>) -> f64 {
    let (mut ok, mut ops) = (0, 0);
    for seed in seeds {
        let found = run_one(model, seed, nemesis);
        assert!(
            found.violations.is_empty(),
            "seed {seed}, {nemesis:?}: {:#?}",
            found.violations
        );
        ok += found.ok;
        ops += found.ops;
    }
    ok as f64 / ops as f64
}

/// Asserts that some seed of `seeds` shows a violation: one clients could see if
/// `visible`, any broken invariant otherwise.
fn assert_caught(bug: RaftBug, nemesis: Nemesis, seeds: std::ops::Range<u64>, visible: bool) {
    let model = variant(bug);
    let budget = seeds.clone();
    let caught = seeds.into_iter().any(|seed| {
        let found = run_one(&model, seed, nemesis);
        if visible {
            !found.history.is_empty()
        } else {
            !found.violations.is_empty()
        }
    });
    assert!(
        caught,
        "{}: no violation in seeds {budget:?} of {nemesis:?}",
        bug.name()
    );
}

#[test]
fn without_faults_every_operation_succeeds() {
    for seed in 0..20 {
        let found = run_one(&raft(&[]), seed, Nemesis::new(Kind::None));
        assert!(found.violations.is_empty(), "{:?}", found.violations);
        // Before the first election (150-300 ms in, longer after a split vote),
        // followers know no leader to redirect to, and these clients do not retry.
        let late: Vec<_> = found.failed.iter().filter(|f| f.1 > ms(1_000)).collect();
        assert!(late.is_empty(), "seed {seed}: {late:#?}");
        assert!(found.ok >= 80, "seed {seed}: {} ok", found.ok);
    }
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let run = |seed| {
        let mut harness = build(&raft(&[]), seed, SWARM);
        harness.run(OPS);
        harness.sim.trace_hash()
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}

#[test]
fn raft_under_partitions() {
    assert_correct(&raft(&[]), PARTITIONS, 0..200);
}

#[test]
fn raft_under_crash_restart() {
    assert_correct(&raft(&[]), CRASH_RESTART, 0..200);
}

#[test]
fn raft_under_clock_skew() {
    // Without leases no clock matters for safety, however wild.
    assert_correct(&raft(&[]), clock_skew(400_000), 0..200);
}

#[test]
fn raft_under_loss_and_duplication() {
    assert_correct(&raft(&[]), LOSS_AND_DUPLICATION, 0..200);
}

#[test]
fn raft_under_leader_isolation() {
    assert_correct(&raft(&[]), LEADER_CHURN, 0..200);
    assert_correct(&raft(&[]), LEADER_CUT_OFF, 0..200);
}

#[test]
fn raft_under_swarm() {
    assert_correct(&raft(&[]), SWARM, 0..200);
}

#[test]
fn raft_with_leases_under_drift_within_the_bound() {
    // Clock jumps do not matter: leases are measured with timers, not clock readings.
    assert_correct(&leased(), clock_skew(100_000), 0..200);
    assert_correct(&leased(), LEADER_CUT_OFF, 0..100);
    assert_correct(&leased(), CRASH_RESTART, 0..100);
}

// The bug tests: each variant under the nemesis that shows it, with the seed budget
// it is caught within. The rates are from `survey` over 300 seeds; the correct model
// passes every one of these nemeses (the tests above).

#[test]
fn commit_old_term_diverges_within_50_seeds() {
    // A committed entry overwritten: a broken invariant in about one seed in five.
    assert_caught(RaftBug::CommitOldTerm, LEADER_CHURN, 0..50, false);
}

#[test]
fn commit_old_term_is_seen_within_200_seeds() {
    // Clients see it far more rarely, in about one seed in forty: the entry is doomed
    // only while its leader has no entry of its own term on a majority, and clients
    // reach a new leader only after timing out on the old one.
    assert_caught(RaftBug::CommitOldTerm, LEADER_CHURN, 0..200, true);
}

#[test]
fn stale_read_is_seen_within_50_seeds() {
    // About one seed in eight.
    assert_caught(RaftBug::StaleRead, LEADER_CUT_OFF, 0..50, true);
}

#[test]
fn lease_drift_is_seen_within_50_seeds() {
    // About one seed in eight. Leases measured with timers and a margin for drift
    // survive the same plan (`raft_with_leases_under_drift_within_the_bound`).
    assert_caught(RaftBug::LeaseDrift, clock_skew(400_000), 0..50, true);
}

#[test]
fn ack_before_sync_is_seen_within_50_seeds() {
    // About one seed in three: mostly power failures, with everything unsynced lost.
    assert_caught(RaftBug::AckBeforeSync, CRASH_RESTART, 0..50, true);
}

/// Not a test: how often each model breaks under each nemesis. Set `ONLY` to a model
/// name, `KIND` to a prefix of a nemesis's debug form, `SEEDS` to the number of seeds:
/// `cargo test --release -p models --test raft survey -- --ignored --nocapture`.
#[test]
#[ignore]
#[allow(clippy::print_stderr)]
fn survey() {
    let env = |key: &str| std::env::var(key).unwrap_or_default();
    let seeds: u64 = env("SEEDS").parse().unwrap_or(100);
    let nemeses = [
        PARTITIONS,
        CRASH_RESTART,
        clock_skew(400_000),
        LOSS_AND_DUPLICATION,
        LEADER_CHURN,
        LEADER_CUT_OFF,
        SWARM,
    ];
    let mut models = vec![
        ("raft".to_owned(), raft(&[])),
        ("raft lease".to_owned(), leased()),
    ];
    for bug in RaftBug::ALL {
        models.push((bug.name().to_owned(), variant(bug)));
    }
    models.retain(|(name, _)| env("ONLY").is_empty() || *name == env("ONLY"));
    for (name, model) in &models {
        for nemesis in nemeses {
            if !format!("{nemesis:?}").contains(&env("KIND")) {
                continue;
            }
            let (mut broken, mut visible, mut ok, mut ops) = (0, 0, 0, 0);
            let mut first = None;
            for seed in 0..seeds {
                let found = run_one(model, seed, nemesis);
                ok += found.ok;
                ops += found.ops;
                visible += usize::from(!found.history.is_empty());
                if let Some(violation) = found.violations.first() {
                    broken += 1;
                    first.get_or_insert((seed, violation.clone()));
                }
            }
            eprintln!(
                "{name:22} {:?}: {broken}/{seeds} seeds broken ({visible} visibly), \
                 {:.2} ok; first {first:?}",
                nemesis.kind,
                ok as f64 / ops as f64
            );
        }
    }
}

#[test]
fn small_clusters_work_too() {
    for replicas in [1, 2, 3] {
        let params = Params::default().with("replicas", replicas);
        let model = models::raft::RAFT.model(&params).expect("valid parameters");
        // Split votes are likelier with fewer replicas, and can delay the first
        // election by several rounds; over ten seeds, most operations succeed.
        let ok: usize = (0..10)
            .map(|seed| {
                let found = run_one(&model, seed, Nemesis::new(Kind::None));
                assert!(found.violations.is_empty(), "{:?}", found.violations);
                found.ok
            })
            .sum();
        assert!(
            ok >= 1_000,
            "{replicas} replicas: {ok} of 1,200 operations ok"
        );
        // With one or two replicas, any crash stops progress: safety only.
        assert_safe(&model, CRASH_RESTART, 0..50);
    }
}

#[test]
fn every_raft_name_is_a_model_and_refuses_nonsense_by_name() {
    struct Replicas;
    impl models::ModelVisitor for Replicas {
        type Output = usize;
        fn visit<M: Model>(self, model: M) -> usize {
            model.replicas().len()
        }
    }
    for name in std::iter::once("raft").chain(RaftBug::ALL.map(RaftBug::name)) {
        let info = models::find(name).expect("in the catalog");
        assert_eq!(
            info.variant_of.is_some(),
            name != "raft",
            "{name}: only variants name the model they break"
        );
        assert_eq!(models::visit(name, &Params::default(), Replicas), Ok(5));
        let zero = Params::default().with("replicas", 0);
        let err = models::visit(name, &zero, Replicas).expect_err("zero replicas");
        assert!(
            err.to_string()
                .starts_with(&format!("model `{name}`: setting `replicas`")),
            "{err}"
        );
    }
}

/// Not a test: writes each run's history as JSONL for `consim check`, registers
/// (`--model kv`) and lists (`--model list-append`) apart, into `$OUT` (default
/// `/tmp/raft-histories`). `ONLY` names the model, `SEEDS` the number of seeds.
#[test]
#[ignore]
fn export_histories() {
    use std::fmt::Write as _;
    let env = |key: &str| std::env::var(key).unwrap_or_default();
    let out = std::path::PathBuf::from(match env("OUT").as_str() {
        "" => "/tmp/raft-histories".to_owned(),
        dir => dir.to_owned(),
    });
    std::fs::create_dir_all(&out).expect("an output directory");
    let name = match env("ONLY").as_str() {
        "" => "raft".to_owned(),
        name => name.to_owned(),
    };
    let model = match RaftBug::ALL.into_iter().find(|b| b.name() == name) {
        Some(bug) => variant(bug),
        None => raft(&[]),
    };
    let nemesis = match env("KIND").as_str() {
        "churn" => LEADER_CHURN,
        "cut" => LEADER_CUT_OFF,
        "clock" => clock_skew(400_000),
        "crash" => CRASH_RESTART,
        "partitions" => PARTITIONS,
        _ => SWARM,
    };
    let seeds: u64 = env("SEEDS").parse().unwrap_or(20);
    for seed in 0..seeds {
        let mut harness = build(&model, seed, nemesis);
        harness.run(OPS);
        let (mut registers, mut lists) = (String::new(), String::new());
        let mut events: Vec<(Time, usize, bool)> = Vec::new();
        for (i, record) in harness.ops.iter().enumerate() {
            events.push((record.invoked, i, false));
            if let Some((t, _)) = &record.ended {
                events.push((*t, i, true));
            }
        }
        events.sort();
        // As in Jepsen, a client whose outcome is unknown comes back as a new process.
        let mut generation: BTreeMap<NodeId, u32> = BTreeMap::new();
        let mut process_of = vec![0; harness.ops.len()];
        for (i, record) in harness.ops.iter().enumerate() {
            let g = generation.entry(record.client).or_default();
            process_of[i] = record.client.0 + 100 * *g;
            if !matches!(
                record.ended,
                Some((_, Outcome::Ok { .. } | Outcome::Fail { .. }))
            ) {
                *g += 1;
            }
        }
        for (time, i, end) in events {
            let record = &harness.ops[i];
            let process = process_of[i];
            let key = record.request.key();
            let (f, invoke_value) = match record.request {
                Request::Read { .. } => ("read", "null".to_owned()),
                Request::Write { value, .. } => ("write", value.to_string()),
                Request::Append { value, .. } => ("append", value.to_string()),
                Request::Cas { from, to, .. } => ("cas", format!("[{from},{to}]")),
            };
            let (kind, value) = match (&record.ended, end) {
                (_, false) => ("invoke", invoke_value),
                (Some((_, Outcome::Ok { reply, .. })), true) => (
                    "ok",
                    match reply {
                        Reply::Read(Some(v)) => v.to_string(),
                        Reply::Read(None) if key >= REGISTER_KEYS => "[]".to_owned(),
                        Reply::Read(None) => "null".to_owned(),
                        Reply::ReadList(list) => format!("{list:?}").replace(' ', ""),
                        _ => invoke_value,
                    },
                ),
                (Some((_, Outcome::Fail { .. })), true) => ("fail", invoke_value),
                (_, true) => ("info", invoke_value),
            };
            let target = if key < REGISTER_KEYS {
                &mut registers
            } else {
                &mut lists
            };
            writeln!(
                target,
                "{{\"process\":{process},\"type\":\"{kind}\",\"f\":\"{f}\",\"key\":{key},\
                 \"value\":{value},\"time\":{}}}",
                time.as_nanos()
            )
            .expect("writing to a string");
        }
        let write = |suffix: &str, text: &str| {
            let path = out.join(format!("{name}-{seed}-{suffix}.jsonl"));
            std::fs::write(path, text).expect("writing a history");
        };
        write("kv", &registers);
        write("lists", &lists);
    }
}

/// The leader, if one replica leads a term no other replica has gone past.
fn leader_of(sim: &S) -> Option<(NodeId, u64)> {
    let top = sim
        .replica_ids()
        .filter_map(|id| sim.replica(id))
        .map(|r| r.term())
        .max()?;
    sim.replica_ids()
        .find(|&id| {
            sim.replica(id)
                .is_some_and(|r| r.role() == Role::Leader && r.term() == top)
        })
        .map(|id| (id, top))
}

/// The leader's followers keep hearing its heartbeats, but it hears none of their
/// answers (a one-way partition). Without CheckQuorum it stays leader and nobody may
/// replace it — followers in contact ignore candidates — so the cluster can commit
/// nothing until the links heal; with it the leader steps down within two election
/// timeouts and the others elect one of their own.
#[test]
fn check_quorum_deposes_a_leader_that_cannot_hear_its_followers() {
    let replaced = |settings: &[(&str, &str)], seed: u64| {
        let model = raft(settings);
        let mut sim: S = S::with_clients(seed)
            .replica(model.config())
            .replica(model.config())
            .replica(model.config())
            .replica(model.config())
            .replica(model.config())
            .build()
            .unwrap();
        sim.run_until(ms(1_000));
        let (old, term) = leader_of(&sim).expect("a leader within a second");
        let others: Vec<NodeId> = sim.replica_ids().filter(|&id| id != old).collect();
        let deaf = sim_core::Partition::one_way(&others, &[old]);
        sim.schedule_fault(sim.now(), sim_core::Fault::Partition(deaf))
            .unwrap();
        sim.run_until(ms(3_000));
        let now = leader_of(&sim);
        if now.is_some_and(|(id, t)| id != old && t > term) {
            return true;
        }
        assert!(now.is_none_or(|(id, _)| id == old), "seed {seed}: {now:?}");
        false
    };
    for seed in 0..10 {
        // Without CheckQuorum the deaf leader stays, and nobody may replace it.
        assert!(!replaced(&[], seed), "seed {seed}");
        // With it (and PreVote, the default), the others elect one of their own.
        assert!(replaced(&[("check-quorum", "true")], seed), "seed {seed}");
    }
    // Without PreVote the deposed leader's campaigns, whose votes it cannot hear, keep
    // raising the others' terms and winning their votes: some seeds elect nobody.
    let no_pre_vote = [("check-quorum", "true"), ("pre-vote", "false")];
    assert!((0..10).any(|seed| !replaced(&no_pre_vote, seed)));
}
