//! What the quorum models' tests share: a closed-loop run of a [`Model`] under a fault
//! plan drawn from a seed, the history it produced, and fault plans by kind.
//!
//! Each test binary uses some of it, so unused items are allowed.
#![allow(dead_code)]

use models::client::{Client, ClientConfig};
use models::kv::{Op, Outcome, Request, Value};
use models::{Model, Replica};
use sim_core::{
    Duration, Fault, FaultPlan, Latency, LinkConfig, NodeId, Partition, Probability, Purpose, Sim,
    SimRng, Time,
};

/// The simulation of model `M` with the shared client.
pub type ModelSim<M> = Sim<<M as Model>::Replica, Client<<<M as Model>::Replica as Replica>::Peer>>;

/// One operation as its client saw it.
#[derive(Clone, Debug)]
pub struct Record {
    /// The client.
    pub client: NodeId,
    /// What it asked.
    pub request: Request,
    /// When the workload handed it over (true time).
    pub invoked: Time,
    /// When the client reported its outcome.
    pub completed: Time,
    /// The outcome.
    pub outcome: Outcome,
}

impl Record {
    /// Whether it certainly took effect.
    pub fn ok(&self) -> bool {
        matches!(self.outcome, Outcome::Ok { .. })
    }

    /// Whether it may have taken effect (ok or unknown).
    pub fn maybe(&self) -> bool {
        !matches!(self.outcome, Outcome::Fail { .. })
    }

    /// Whether it ended before `other` began.
    pub fn precedes(&self, other: &Record) -> bool {
        self.completed < other.invoked
    }
}

/// The kinds of fault the tests sweep, one at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nemesis {
    /// No faults.
    None,
    /// Replicas cut off (one isolated, or two halves), then healed.
    Partitions,
    /// Replicas crash and restart (and some pause and resume).
    CrashRestart,
    /// Replicas' clocks jump and drift.
    ClockSkew,
    /// Bursts of message loss and duplication on every link.
    LossDuplication,
    /// One replica's outgoing links turn slow (100 to 400 ms) for a while.
    SlowLinks,
    /// All of the above.
    Mixed,
    /// One replica after another cut off from the others for about half a second
    /// each, back to back (not in `Mixed`).
    Flapping,
}

impl Nemesis {
    /// Every kind with faults.
    pub const FAULTS: [Nemesis; 6] = [
        Nemesis::Partitions,
        Nemesis::CrashRestart,
        Nemesis::ClockSkew,
        Nemesis::LossDuplication,
        Nemesis::SlowLinks,
        Nemesis::Mixed,
    ];
}

/// When every plan has healed everything.
pub const HEAL_AT: Time = Time::from_nanos(3_000_000_000);

fn at(rng: &mut SimRng, from_ms: u64, to_ms: u64) -> Time {
    Time::ZERO + Duration::from_millis(rng.between(from_ms, to_ms))
}

/// A random plan of `kind` over `replicas`, healed (links restored, nodes up, clocks
/// left as they are) at [`HEAL_AT`].
pub fn plan(kind: Nemesis, seed: u64, replicas: &[NodeId]) -> FaultPlan {
    let mut rng = SimRng::new(seed, Purpose::Faults);
    let mut plan = FaultPlan::default();
    if kind == Nemesis::Flapping {
        let mut t = at(&mut rng, 0, 200);
        while t + Duration::from_millis(700) < HEAL_AT {
            let node = *rng.choose(replicas).expect("replicas");
            let partition = Partition::isolate(node, replicas);
            plan.push(t, Fault::Partition(partition.clone()));
            t += Duration::from_millis(rng.between(450, 700));
            plan.push(t, Fault::Heal(partition));
            t += Duration::from_millis(rng.between(0, 100));
        }
    }
    let kinds: &[Nemesis] = match kind {
        Nemesis::Flapping => &[],
        Nemesis::Mixed => &Nemesis::FAULTS[..5],
        Nemesis::None => &[],
        _ => std::slice::from_ref(&kind),
    };
    for &kind in kinds {
        let count = rng.between(1, 4);
        for _ in 0..count {
            one_fault(&mut plan, &mut rng, kind, replicas);
        }
    }
    plan.push(HEAL_AT, Fault::HealAll);
    plan.push(HEAL_AT, Fault::AllLinks(LinkConfig::default()));
    for &node in replicas {
        plan.push(HEAL_AT, Fault::Resume { node });
    }
    plan
}

fn one_fault(plan: &mut FaultPlan, rng: &mut SimRng, kind: Nemesis, replicas: &[NodeId]) {
    let start = at(rng, 0, 2_000);
    let end = (start + Duration::from_millis(rng.between(100, 900))).min(HEAL_AT);
    let node = *rng.choose(replicas).expect("replicas");
    match kind {
        Nemesis::Partitions => {
            let partition = if rng.below(2) == 0 {
                Partition::isolate(node, replicas)
            } else {
                let mut shuffled = replicas.to_vec();
                rng.shuffle(&mut shuffled);
                let cut = 1 + rng.below(shuffled.len() as u64 - 1) as usize;
                Partition::halves(&shuffled[..cut], &shuffled[cut..])
            };
            plan.push(start, Fault::Partition(partition.clone()));
            plan.push(end, Fault::Heal(partition));
        }
        Nemesis::CrashRestart => {
            if rng.below(4) == 0 {
                plan.push(start, Fault::Pause { node });
                plan.push(end, Fault::Resume { node });
            } else {
                plan.push(start, Fault::Crash { node });
                plan.push(end, Fault::Restart { node });
            }
        }
        Nemesis::ClockSkew => {
            if rng.below(2) == 0 {
                let delta_ms = rng.between(1, 2_000) as i64;
                let delta_ns = delta_ms * 1_000_000 * if rng.below(2) == 0 { -1 } else { 1 };
                plan.push(start, Fault::ClockJump { node, delta_ns });
            } else {
                let drift_ppm = rng.between(0, 400_000) as i64 - 200_000;
                plan.push(start, Fault::ClockDrift { node, drift_ppm });
            }
        }
        Nemesis::LossDuplication => {
            let p = |x: f64| Probability::new(x).expect("a probability");
            let config = LinkConfig {
                loss: p(rng.between(5, 40) as f64 / 100.0),
                duplicate: p(rng.between(5, 40) as f64 / 100.0),
                ..LinkConfig::default()
            };
            plan.push(start, Fault::AllLinks(config));
            plan.push(end, Fault::AllLinks(LinkConfig::default()));
        }
        Nemesis::SlowLinks => {
            let slow = LinkConfig {
                latency: Latency::Uniform {
                    min: Duration::from_millis(100),
                    max: Duration::from_millis(400),
                },
                ..LinkConfig::default()
            };
            for &target in replicas.iter().filter(|&&t| t != node) {
                let (source, config) = (node, LinkConfig::default());
                plan.push(
                    start,
                    Fault::Link {
                        source,
                        target,
                        config: slow,
                    },
                );
                plan.push(
                    end,
                    Fault::Link {
                        source,
                        target,
                        config,
                    },
                );
            }
        }
        Nemesis::None | Nemesis::Mixed | Nemesis::Flapping => unreachable!("not a single kind"),
    }
}

/// How a run goes.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// The seed of the simulation, the workload and the plan.
    pub seed: u64,
    /// The faults.
    pub plan: FaultPlan,
    /// Clients.
    pub clients: usize,
    /// Operations in all.
    pub ops: u64,
    /// Quiet time after the last operation ended and the plan healed.
    pub quiet: Duration,
}

impl RunSpec {
    /// `ops` operations by 3 clients under `plan`, with 2 s of quiet at the end.
    pub fn new(seed: u64, plan: FaultPlan, ops: u64) -> RunSpec {
        RunSpec {
            seed,
            plan,
            clients: 3,
            ops,
            quiet: Duration::from_secs(2),
        }
    }
}

/// Unique values for writes and appends, and the requests of a workload.
#[derive(Debug)]
pub struct Gen {
    /// The workload's own random stream.
    pub rng: SimRng,
    next_value: Value,
}

impl Gen {
    /// A fresh value never handed out before.
    pub fn value(&mut self) -> Value {
        self.next_value += 1;
        self.next_value
    }
}

/// Runs `model` as `spec` says: every client gets a request from `next` whenever its
/// last one ends, until `spec.ops` were handed out; `observe` sees the simulation
/// after every event. Returns the simulation (after the quiet time) and the history.
pub fn run<M: Model>(
    model: &M,
    spec: &RunSpec,
    mut next: impl FnMut(&mut Gen, usize) -> Request,
    mut observe: impl FnMut(&ModelSim<M>),
) -> (ModelSim<M>, Vec<Record>) {
    let configs = model.replicas();
    let ids: Vec<NodeId> = (0..configs.len() as u32).map(NodeId).collect();
    let mut builder = ModelSim::<M>::with_clients(spec.seed).plan(spec.plan.clone());
    for config in configs {
        builder = builder.replica(config);
    }
    for i in 0..spec.clients {
        builder = builder.client(model.client(ClientConfig::new(ids.clone(), i, model.routing())));
    }
    let mut sim = builder.build().expect("the run builds");
    let mut gen_ = Gen {
        rng: SimRng::new(spec.seed, Purpose::Workload),
        next_value: 0,
    };
    let clients: Vec<NodeId> = sim.client_ids().collect();
    let mut pending: Vec<Option<(Request, Time)>> = vec![None; clients.len()];
    let mut issued = 0;
    let mut history = Vec::new();
    let mut hand_out = |sim: &mut ModelSim<M>, gen_: &mut Gen, i: usize, pending: &mut Vec<_>| {
        if issued < spec.ops {
            let request = next(gen_, i);
            sim.input_client(
                clients[i],
                sim.now(),
                Op {
                    id: issued,
                    request,
                },
            );
            pending[i] = Some((request, sim.now()));
            issued += 1;
        }
    };
    for i in 0..clients.len() {
        hand_out(&mut sim, &mut gen_, i, &mut pending);
    }
    let limit = Time::ZERO + Duration::from_secs(120);
    while pending.iter().any(Option::is_some) && sim.now() < limit && sim.step() {
        observe(&sim);
        let outputs: Vec<_> = sim.drain_client_outputs().collect();
        for emitted in outputs {
            let i = clients
                .iter()
                .position(|&c| c == emitted.node)
                .expect("a client");
            let (request, invoked) = pending[i].take().expect("an operation in flight");
            history.push(Record {
                client: emitted.node,
                request,
                invoked,
                completed: emitted.time,
                outcome: emitted.output,
            });
            hand_out(&mut sim, &mut gen_, i, &mut pending);
        }
    }
    assert!(
        pending.iter().all(Option::is_none),
        "seed {}: operations never ended: {pending:?}",
        spec.seed
    );
    let end = sim.now().max(HEAL_AT) + spec.quiet;
    while sim.next_event_time().is_some_and(|t| t <= end) {
        sim.step();
        observe(&sim);
    }
    sim.run_until(end);
    (sim, history)
}

/// Reads that are certainly not linearizable in a history of unique-valued register
/// writes and reads, judged by real time alone (sound for any store):
///
/// - a read returns a value nobody wrote, or one whose write began after the read ended;
/// - *stale*: a read returns `b` (or nothing) although a write of `b` ended before a
///   write of `c` began, which ended before the read began;
/// - *new-old inversion*: a read returns `a`, a later read (begun after it ended)
///   returns `b`, and the write of `b` ended before the write of `a` began.
///
/// Returns a description of the first one found.
pub fn register_violation(history: &[Record]) -> Option<String> {
    use models::kv::Reply;
    let writes: Vec<&Record> = history
        .iter()
        .filter(|r| matches!(r.request, Request::Write { .. }) && r.maybe())
        .collect();
    let write_of = |key, value: Value| {
        writes
            .iter()
            .find(|w| w.request == Request::Write { key, value })
            .copied()
    };
    let reads: Vec<(&Record, Option<Value>)> = history
        .iter()
        .filter_map(|r| match (&r.request, &r.outcome) {
            (
                Request::Read { .. },
                Outcome::Ok {
                    reply: Reply::Read(v),
                    ..
                },
            ) => Some((r, *v)),
            _ => None,
        })
        .collect();
    for &(read, value) in &reads {
        let key = read.request.key();
        let source = match value {
            None => None,
            Some(v) => match write_of(key, v) {
                None => return Some(format!("{read:?} returned {v}, which nobody wrote")),
                Some(w) if read.precedes(w) => {
                    return Some(format!("{read:?} returned {v} before {w:?} began"));
                }
                Some(w) => Some(w),
            },
        };
        let newer = writes.iter().find(|c| {
            c.ok()
                && c.request.key() == key
                && c.precedes(read)
                && source.is_none_or(|b| b.ok() && b.precedes(c))
        });
        if let Some(c) = newer {
            return Some(format!(
                "stale read: {read:?} although {c:?} ended before it"
            ));
        }
    }
    for &(first, a) in &reads {
        for &(second, b) in &reads {
            if first.request.key() != second.request.key() || !first.precedes(second) {
                continue;
            }
            let key = first.request.key();
            let Some(a) = a else { continue };
            let inverted = match b {
                None => true,
                Some(b) => match (write_of(key, a), write_of(key, b)) {
                    (Some(wa), Some(wb)) => wb.ok() && wb.precedes(wa),
                    _ => false,
                },
            };
            if inverted {
                return Some(format!(
                    "new-old inversion: {first:?} then {second:?}, whose value is older"
                ));
            }
        }
    }
    None
}
