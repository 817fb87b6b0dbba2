//! Raft under faults: the correct model keeps its invariants over hundreds of seeds of
//! every one of the runner's nemeses, and every bug variant is caught, in a pinned
//! number of seeds of a stated budget.
//!
//! The harness runs 5 replicas and 3 closed-loop clients (no retries, as the scenarios
//! runner has them) with a small workload of unique-valued writes, cas, appends and
//! reads over four keys (two registers, two lists), under the schedule a runner
//! nemesis ([`sim_core::nemesis`]) draws from the seed — its leader isolations applied
//! as the runner applies them ([`quorum_support::Isolations`]) — lets it heal, and
//! checks:
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

mod quorum_support;

use std::collections::BTreeMap;

use models::Invariants;
use models::client::{Client, ClientConfig, RetryPolicy};
use models::kv::{Op, Outcome, Reply, Request, Store, Value};
use models::raft::invariants::RaftInvariants;
use models::raft::{self, Command, Entry, Peer, Raft, RaftBug, Role};
use models::{Model, Params};
use quorum_support::{Isolations, Tally};
use sim_core::nemesis::{self, Dynamic, Nemesis, Schedule, Setup};
use sim_core::{Duration, NodeId, Purpose, Sim, SimRng, Time};

type C = Client<Peer>;
type S = Sim<raft::RaftReplica, C>;

const CLIENTS: usize = 3;
const KEYS: u64 = 4;
/// Keys below this are registers; the rest are lists.
const REGISTER_KEYS: u64 = 2;
/// How often the invariants are sampled.
const CHECK_EVERY: Duration = Duration::from_millis(2);
/// Faults strike inside this window from the start, as in the runner (its default);
/// at its end the schedule heals everything.
const WINDOW: Duration = Duration::from_secs(4);
/// How long operations may run on after the window.
const OVERTIME: Duration = Duration::from_secs(4);
/// How long the cluster settles after the last operation ended and the schedule
/// healed, still sampled, before the history is checked against its committed log.
const SETTLE: Duration = Duration::from_millis(1_500);

fn ms(n: u64) -> Time {
    Time::ZERO + Duration::from_millis(n)
}

/// What goes wrong in a run: a runner nemesis, with the knobs a test may set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Faults {
    nemesis: Nemesis,
    /// [`Setup::spell`]: `None` for the nemesis's own lengths.
    spell: Option<Duration>,
    /// Slows the clock of every leader the schedule isolates by this many ppm (and
    /// sets it back by the isolation's length), as `swarm` does to isolations when it
    /// mixes them with `clock-skew` ([`Dynamic::IsolateLeader`]'s `skew_ppm`).
    slow_leader_ppm: Option<i64>,
}

impl Faults {
    const fn of(nemesis: Nemesis) -> Faults {
        Faults {
            nemesis,
            spell: None,
            slow_leader_ppm: None,
        }
    }

    /// The schedule the nemesis draws for `seed`, in a run of `replicas` replicas.
    fn schedule(self, seed: u64, replicas: usize) -> Schedule {
        let mut schedule = nemesis::generate(self.nemesis, seed, &self.setup(replicas));
        if let Some(ppm) = self.slow_leader_ppm {
            for dynamic in &mut schedule.dynamic {
                if let Dynamic::IsolateLeader { skew_ppm, .. } = dynamic {
                    *skew_ppm = Some(ppm);
                }
            }
        }
        schedule
    }

    /// What the nemesis plans for, in a run of `replicas` replicas.
    fn setup(self, replicas: usize) -> Setup {
        Setup {
            spell: self.spell,
            ..Setup::new(replicas, CLIENTS, WINDOW)
        }
    }
}

impl std::fmt::Display for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.nemesis.name())?;
        if let Some(spell) = self.spell {
            write!(f, ", spells of {spell}")?;
        }
        if let Some(ppm) = self.slow_leader_ppm {
            write!(f, ", isolated leaders' clocks at {ppm} ppm")?;
        }
        Ok(())
    }
}

const NONE: Faults = Faults::of(Nemesis::None);
const CRASH_RESTART: Faults = Faults::of(Nemesis::CrashRestart);
const SWARM: Faults = Faults::of(Nemesis::Swarm);
/// Leaders cut off in quick succession, each for a short while: orphaned entries of
/// many terms, the raw material of the Raft paper's Figure 8.
const LEADER_CHURN: Faults = Faults::of(Nemesis::LeaderChurn);
/// The leader cut off (with one client, half the time) for 3 s: long enough that the
/// other clients move to a new leader and write through it, and that the client cut
/// off with it, whose requests to the other replicas time out one after another
/// (500 ms each), comes back to it.
const LEADER_CUT_OFF: Faults = Faults {
    nemesis: Nemesis::IsolateLeader,
    spell: Some(Duration::from_secs(3)),
    slow_leader_ppm: None,
};
/// [`LEADER_CUT_OFF`], and the leader's clock set back by the isolation's length and
/// slowed by 40% meanwhile: what a lease that trusts its clock cannot survive.
const SLOW_LEADER_CUT_OFF: Faults = Faults {
    slow_leader_ppm: Some(-400_000),
    ..LEADER_CUT_OFF
};
/// The nemeses that cut the network.
const PARTITIONS: [Faults; 5] = [
    Faults::of(Nemesis::PartitionHalves),
    Faults::of(Nemesis::PartitionMajority),
    Faults::of(Nemesis::PartitionMajoritiesRing),
    Faults::of(Nemesis::Bridge),
    Faults::of(Nemesis::OneWay),
];

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
    /// The schedule's leader isolations still to strike.
    isolations: Isolations,
    /// When the schedule has healed everything.
    healed_at: Time,
    /// Raft's safety properties across replicas, as the runner checks them.
    invariants: RaftInvariants,
    /// Broken invariants of the replicas' state.
    violations: Vec<String>,
    /// Anomalies in what clients saw.
    history: Vec<String>,
}

fn build(model: &Raft, seed: u64, faults: Faults) -> Harness {
    build_with(model, seed, &faults.schedule(seed, model.config().replicas))
}

/// The harness for a run of `model` under `schedule`.
fn build_with(model: &Raft, seed: u64, schedule: &Schedule) -> Harness {
    let replicas = model.config().replicas;
    let ids: Vec<NodeId> = (0..replicas as u32).map(NodeId).collect();
    let mut builder = S::with_clients(seed).plan(schedule.plan.clone());
    for config in model.replicas() {
        builder = builder.replica(config);
    }
    for i in 0..CLIENTS {
        let mut client = ClientConfig::new(ids.clone(), i, model.routing());
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
        isolations: Isolations::new(schedule, CLIENTS),
        healed_at: schedule.healed_at,
        invariants: RaftInvariants::new(),
        violations: Vec::new(),
        history: Vec::new(),
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
        self.sim.input_client(
            client,
            self.sim.now(),
            Op {
                id,
                request,
                queued: Duration::ZERO,
            },
        );
    }

    /// Runs the workload of `ops` operations while the schedule's faults strike, then
    /// lets the schedule heal and the cluster settle, checking the invariants
    /// throughout.
    fn run(&mut self, ops: u64) {
        self.budget = ops;
        let clients: Vec<NodeId> = self.sim.client_ids().collect();
        for &client in &clients {
            self.next_op(client);
        }
        let mut next_check = Time::ZERO;
        let deadline = Time::ZERO + WINDOW + OVERTIME;
        while self.in_flight > 0 && self.sim.next_event_time().is_some_and(|t| t <= deadline) {
            self.isolations.step(&mut self.sim);
            self.collect_outputs();
            if self.sim.now() >= next_check {
                self.sample();
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

    /// Lets the rest of the schedule play out (it heals everything at its end), then
    /// lets the cluster elect a leader and commit, sampling every 5 ms.
    fn settle(&mut self) {
        let until = self.sim.now().max(self.healed_at) + SETTLE;
        while self.sim.now() < until {
            let next = (self.sim.now() + Duration::from_millis(5)).min(until);
            self.isolations.run_until(&mut self.sim, next);
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
        let took_effect = self.took_effect();
        let ok_writes: Vec<(Time, Request)> = self
            .ops
            .iter()
            .filter_map(|r| match &r.ended {
                Some((t, Outcome::Ok { .. })) if r.request.is_write() => Some((*t, r.request)),
                _ => None,
            })
            .collect();
        let mut found = Vec::new();
        for (acked, request) in &ok_writes {
            let value = request.written().expect("a write");
            if !took_effect.contains_key(&value) {
                found.push(format!(
                    "{request:?}, acknowledged at {acked}, is not in the committed log"
                ));
            }
        }
        for record in &self.ops {
            found.extend(self.check_read(record, &ok_writes, &took_effect));
        }
        self.history.extend(found);
    }

    /// The log as it ended (in a correct run, the one every replica committed): the
    /// index at which each value took effect.
    fn took_effect(&self) -> BTreeMap<Value, u64> {
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
        took_effect
    }

    /// What is wrong with `record`, if it is a read that succeeded: stale given the
    /// writes acknowledged before it began, a value that never committed, or older
    /// than (or, for lists, incompatible with) an earlier read of its key.
    fn check_read(
        &self,
        record: &Record,
        ok_writes: &[(Time, Request)],
        took_effect: &BTreeMap<Value, u64>,
    ) -> Vec<String> {
        let mut found = Vec::new();
        let (Some((_, Outcome::Ok { reply, .. })), Request::Read { key }) =
            (&record.ended, record.request)
        else {
            return found;
        };
        let invoked = record.invoked;
        let before: Vec<Value> = ok_writes
            .iter()
            .filter(|(acked, w)| *acked < invoked && w.key() == key)
            .filter_map(|(_, w)| w.written())
            .collect();
        if let Some(stale) = stale(reply, &before, took_effect) {
            found.push(format!(
                "read of key {key} invoked at {invoked} returned {reply:?}: {stale}"
            ));
        }
        if let Some(dirty) = uncommitted(reply, took_effect) {
            found.push(format!(
                "read of key {key} invoked at {invoked} returned {dirty}, which never committed"
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
                found.push(format!(
                    "reads of key {key} saw incompatible orders: {a:?} and {b:?}"
                ));
            }
            if *ended >= invoked {
                continue;
            }
            if let Some(back) = went_back(seen, reply, took_effect) {
                found.push(format!(
                    "read of key {key} invoked at {invoked} went back in time: {back}"
                ));
            }
        }
        found
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

fn run_one(model: &Raft, seed: u64, faults: Faults) -> Outcomes {
    run_with(model, seed, &faults.schedule(seed, model.config().replicas))
}

fn run_with(model: &Raft, seed: u64, schedule: &Schedule) -> Outcomes {
    let mut harness = build_with(model, seed, schedule);
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

/// Raft with the longest lease (in tens of ms) that is safe while every clock drifts
/// by at most `drift_ppm` either way: `election-ms × (1 − ρ) / (1 + ρ)`, 120 ms for
/// 10%, 60 ms for 40%.
fn leased(drift_ppm: u64) -> Raft {
    let lease_ms = 150 * (1_000_000 - drift_ppm) / (1_000_000 + drift_ppm) / 10 * 10;
    raft(&[
        ("lease-ms", &lease_ms.to_string()),
        ("drift-ppm", &drift_ppm.to_string()),
    ])
}

/// The drift bound that covers every drift the runner's nemeses set: `clock-skew`
/// drifts clocks by up to 20%, and `swarm` slows an isolated leader's clock by 10% to
/// 40%.
const NEMESES_DRIFT_PPM: u64 = 400_000;

/// Runs `seeds` and asserts no violation, and that at least half the operations
/// succeeded (a model that refuses everything would be safe, and useless).
fn assert_correct(model: &Raft, faults: Faults, seeds: std::ops::Range<u64>) {
    let share = assert_safe(model, faults, seeds);
    assert!(
        share > 0.5,
        "{faults}: only {share:.2} of operations succeeded"
    );
}

/// Runs `seeds` and asserts no violation; returns the share of operations that
/// succeeded.
fn assert_safe(model: &Raft, faults: Faults, seeds: std::ops::Range<u64>) -> f64 {
    let (mut ok, mut ops) = (0, 0);
    for seed in seeds {
        let found = run_one(model, seed, faults);
        assert!(
            found.violations.is_empty(),
            "seed {seed}, {faults}: {:#?}",
            found.violations
        );
        ok += found.ok;
        ops += found.ops;
    }
    ok as f64 / ops as f64
}

/// The seeds of `seeds` under `faults` in which `bug` shows: as a violation clients
/// could see if `visible`, as any broken invariant otherwise.
fn caught(bug: RaftBug, faults: Faults, seeds: std::ops::Range<u64>, visible: bool) -> Tally {
    let model = variant(bug);
    Tally::of(seeds, |seed| {
        let found = run_one(&model, seed, faults);
        if visible {
            !found.history.is_empty()
        } else {
            !found.violations.is_empty()
        }
    })
}

#[test]
fn without_faults_every_operation_succeeds() {
    for seed in 0..20 {
        let found = run_one(&raft(&[]), seed, NONE);
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
    for faults in PARTITIONS {
        assert_correct(&raft(&[]), faults, 0..200);
    }
}

#[test]
fn raft_under_crash_restart() {
    assert_correct(&raft(&[]), CRASH_RESTART, 0..200);
    assert_correct(&raft(&[]), Faults::of(Nemesis::Pause), 0..200);
}

#[test]
fn raft_under_clock_skew() {
    // Without leases no clock matters for safety, however wild.
    assert_correct(&raft(&[]), Faults::of(Nemesis::ClockSkew), 0..200);
}

#[test]
fn raft_under_loss_and_duplication() {
    assert_correct(&raft(&[]), Faults::of(Nemesis::FlakyNetwork), 0..200);
}

#[test]
fn raft_under_leader_isolation() {
    assert_correct(&raft(&[]), LEADER_CHURN, 0..200);
    assert_correct(&raft(&[]), LEADER_CUT_OFF, 0..200);
    assert_correct(&raft(&[]), Faults::of(Nemesis::IsolateLeader), 0..200);
}

#[test]
fn raft_under_swarm() {
    assert_correct(&raft(&[]), SWARM, 0..200);
}

#[test]
fn raft_with_leases_under_drift_within_the_bound() {
    let short = leased(NEMESES_DRIFT_PPM);
    assert_eq!(short.config().lease, Some(Duration::from_millis(60)));
    assert_eq!(
        leased(100_000).config().lease,
        Some(Duration::from_millis(120))
    );
    // Clock jumps do not matter: leases are measured with timers, not clock readings.
    assert_correct(&short, Faults::of(Nemesis::ClockSkew), 0..200);
    // An isolated leader's clock set back and slowed by 40%, the most the lease
    // allows for: the plans that catch `raft-lease-drift`.
    assert_correct(&short, SLOW_LEADER_CUT_OFF, 0..200);
    // Swarm slows isolated leaders' clocks too (by 10% to 40%), among other faults.
    assert_correct(&short, SWARM, 0..200);
    // Where no clock drifts, a longer lease, which allows for 10%, is safe as well.
    for model in [short, leased(100_000)] {
        assert_correct(&model, LEADER_CUT_OFF, 0..100);
        assert_correct(&model, CRASH_RESTART, 0..100);
    }
}

/// A power failure, written by hand since no runner nemesis crashes every replica
/// at once (`crash-restart` crashes at most half of them, rounded up): all five crash
/// at 1.5 s, losing what they had not synced, and restart at 1.8 s.
fn power_failure() -> Schedule {
    let mut plan = sim_core::FaultPlan::default();
    for node in (0..5).map(NodeId) {
        plan.push(ms(1_500), sim_core::Fault::Crash { node });
        plan.push(ms(1_800), sim_core::Fault::Restart { node });
    }
    Schedule {
        plan,
        dynamic: Vec::new(),
        healed_at: ms(1_800),
    }
}

#[test]
fn raft_survives_a_power_failure() {
    let (mut ok, mut ops) = (0, 0);
    for seed in 0..100 {
        let found = run_with(&raft(&[]), seed, &power_failure());
        assert!(
            found.violations.is_empty(),
            "seed {seed}: {:#?}",
            found.violations
        );
        ok += found.ok;
        ops += found.ops;
    }
    assert!(ok * 2 > ops, "only {ok} of {ops} operations succeeded");
}

// The bug tests: each variant under the nemesis that shows it, with the seed budget
// it is caught within, and in how many of those seeds (the first of them, and the
// count), pinned so that a change in how often a bug shows fails loudly; `survey`
// measures the same for any number of seeds. The correct model passes every one of
// these nemeses (the tests above).

/// The tally of `seeds` in which `count` seeds showed a bug, the first of them `first`.
fn pinned(seeds: std::ops::Range<u64>, first: u64, count: usize) -> Tally {
    Tally {
        seeds,
        first: Some(first),
        count,
    }
}

#[test]
fn commit_old_term_diverges_within_50_seeds() {
    // A committed entry overwritten: a broken invariant.
    let tally = caught(RaftBug::CommitOldTerm, LEADER_CHURN, 0..50, false);
    assert_eq!(tally, pinned(0..50, 13, 3));
}

#[test]
fn commit_old_term_is_seen_within_1000_seeds() {
    // Clients see it far more rarely: the entry is doomed only while its leader has
    // no entry of its own term on a majority, and clients reach a new leader only
    // after timing out on the old one.
    let tally = caught(RaftBug::CommitOldTerm, LEADER_CHURN, 0..1000, true);
    assert_eq!(tally, pinned(0..1000, 210, 9));
}

#[test]
fn stale_read_is_seen_within_50_seeds() {
    // Clients see it when one of them is cut off with the old leader, which answers
    // its reads, while the others write through the new one.
    let tally = caught(RaftBug::StaleRead, LEADER_CUT_OFF, 0..50, true);
    assert_eq!(tally, pinned(0..50, 0, 6));
}

#[test]
fn lease_drift_is_seen_within_50_seeds() {
    // Leases measured with timers and a margin for drift survive the same plans
    // (`raft_with_leases_under_drift_within_the_bound`).
    let tally = caught(RaftBug::LeaseDrift, SLOW_LEADER_CUT_OFF, 0..50, true);
    assert_eq!(tally, pinned(0..50, 6, 6));
}

/// Everything unsynced lost at once: every seed shows it.
#[test]
fn ack_before_sync_is_seen_within_10_seeds_of_a_power_failure() {
    let model = variant(RaftBug::AckBeforeSync);
    let tally = Tally::of(0..10, |seed| {
        !run_with(&model, seed, &power_failure()).history.is_empty()
    });
    assert_eq!(tally, pinned(0..10, 0, 10));
}

#[test]
fn ack_before_sync_is_seen_within_50_seeds() {
    // Up to three of the five replicas crash at once, losing what they had not
    // synced.
    let tally = caught(RaftBug::AckBeforeSync, CRASH_RESTART, 0..50, true);
    assert_eq!(tally, pinned(0..50, 2, 5));
}

/// Not a test: how often each model breaks under each nemesis. Set `ONLY` to a model
/// name, `KIND` to a nemesis name (the cut-off plans are `isolate-leader`), `SEEDS` to
/// the number of seeds:
/// `cargo test --release -p models --test raft survey -- --ignored --nocapture`.
#[test]
#[ignore]
#[allow(clippy::print_stderr)] // A survey prints its table; it asserts nothing.
fn survey() {
    let env = |key: &str| std::env::var(key).unwrap_or_default();
    let seeds: u64 = env("SEEDS").parse().unwrap_or(100);
    let mut models = vec![
        ("raft".to_owned(), raft(&[])),
        ("raft lease".to_owned(), leased(NEMESES_DRIFT_PPM)),
    ];
    for bug in RaftBug::ALL {
        models.push((bug.name().to_owned(), variant(bug)));
    }
    models.retain(|(name, _)| env("ONLY").is_empty() || *name == env("ONLY"));
    let mut nemeses: Vec<Faults> = Nemesis::ALL.into_iter().map(Faults::of).collect();
    nemeses.extend([LEADER_CUT_OFF, SLOW_LEADER_CUT_OFF]);
    nemeses.retain(|f| env("KIND").is_empty() || f.nemesis.name() == env("KIND"));
    for (name, model) in &models {
        for &faults in &nemeses {
            let (mut broken, mut visible, mut ok, mut ops) = (0, 0, 0, 0);
            let mut first = None;
            for seed in 0..seeds {
                let found = run_one(model, seed, faults);
                ok += found.ok;
                ops += found.ops;
                visible += usize::from(!found.history.is_empty());
                if let Some(violation) = found.violations.first() {
                    broken += 1;
                    first.get_or_insert((seed, violation.clone()));
                }
            }
            eprintln!(
                "{name:22} {faults}: {broken}/{seeds} seeds broken ({visible} visibly), \
                 {:.2} ok; first {first:?}",
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
                let found = run_one(&model, seed, NONE);
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
        fn visit<M: Model>(self, model: M, _: &models::ModelInfo) -> usize {
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
/// `/tmp/raft-histories`). `ONLY` names the model, `KIND` the nemesis (default
/// `swarm`; `cut-off` for [`LEADER_CUT_OFF`]), `SEEDS` the number of seeds.
#[test]
#[ignore]
fn export_histories() {
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
    let faults = match env("KIND").as_str() {
        "" => SWARM,
        "cut-off" => LEADER_CUT_OFF,
        kind => Faults::of(Nemesis::from_name(kind).expect("a nemesis name")),
    };
    let seeds: u64 = env("SEEDS").parse().unwrap_or(20);
    for seed in 0..seeds {
        let mut harness = build(&model, seed, faults);
        harness.run(OPS);
        let (registers, lists) = jsonl(&harness.ops);
        let write = |suffix: &str, text: &str| {
            let path = out.join(format!("{name}-{seed}-{suffix}.jsonl"));
            std::fs::write(path, text).expect("writing a history");
        };
        write("kv", &registers);
        write("lists", &lists);
    }
}

/// The history of `ops` as Jepsen-style JSONL: the registers' and the lists'.
fn jsonl(ops: &[Record]) -> (String, String) {
    use std::fmt::Write as _;
    let mut events: Vec<(Time, usize, bool)> = Vec::new();
    for (i, record) in ops.iter().enumerate() {
        events.push((record.invoked, i, false));
        if let Some((t, _)) = &record.ended {
            events.push((*t, i, true));
        }
    }
    events.sort();
    // As in Jepsen, a client whose outcome is unknown comes back as a new process.
    let mut generation: BTreeMap<NodeId, u32> = BTreeMap::new();
    let mut process_of = vec![0; ops.len()];
    for (i, record) in ops.iter().enumerate() {
        let g = generation.entry(record.client).or_default();
        process_of[i] = record.client.0 + 100 * *g;
        if !matches!(
            record.ended,
            Some((_, Outcome::Ok { .. } | Outcome::Fail { .. }))
        ) {
            *g += 1;
        }
    }
    let (mut registers, mut lists) = (String::new(), String::new());
    for (time, i, end) in events {
        let record = &ops[i];
        let key = record.request.key();
        let (f, kind, value) = jsonl_fields(record, end);
        let target = if key < REGISTER_KEYS {
            &mut registers
        } else {
            &mut lists
        };
        writeln!(
            target,
            "{{\"process\":{},\"type\":\"{kind}\",\"f\":\"{f}\",\"key\":{key},\
             \"value\":{value},\"time\":{}}}",
            process_of[i],
            time.as_nanos()
        )
        .expect("writing to a string");
    }
    (registers, lists)
}

/// The function, event type and value of `record`'s invocation, or of its end.
fn jsonl_fields(record: &Record, end: bool) -> (&'static str, &'static str, String) {
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
    (f, kind, value)
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
