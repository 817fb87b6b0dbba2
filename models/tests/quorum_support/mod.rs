//! What the model tests share: a closed-loop run of a [`Model`] under the faults one of
//! the runner's nemeses ([`sim_core::nemesis`]) draws from the seed — or, where a test
//! needs one exact fault, under a plan written by hand — the history it produced, the
//! leader isolations applied as the runner applies them, and seed tallies to pin.
//!
//! Each test binary uses some of it, so unused items are allowed.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::ops::Range;

use models::client::{Client, ClientConfig};
use models::kv::{Op, Outcome, Request, Value};
use models::{Model, Replica};
use sim_core::nemesis::{self, Dynamic, Nemesis, Schedule, Setup};
use sim_core::{Duration, FaultPlan, Node, NodeId, Purpose, Sim, SimRng, Time};

/// The simulation of model `M` with the shared client.
pub type ModelSim<M> = Sim<<M as Model>::Replica, Client<<<M as Model>::Replica as Replica>::Peer>>;

/// Clients in a run unless a test says otherwise.
pub const CLIENTS: usize = 3;

/// Faults strike inside this window from the start; at its end every schedule has
/// healed everything (and a plan written by hand is taken to have healed too).
pub const WINDOW: Duration = Duration::from_secs(3);

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

/// The isolations of a schedule that have not struck yet, applied as the runner
/// applies them (`scenarios`' driver, `apply_dynamic`): once the events before an
/// isolation's moment are handled, it cuts off [`models::leader`] — or, when nobody
/// leads, the replica the isolation names as its fallback.
#[derive(Debug)]
pub struct Isolations {
    pending: VecDeque<Dynamic>,
    clients: usize,
    /// The replicas cut off so far, in order.
    pub cut_off: Vec<NodeId>,
}

impl Isolations {
    /// The isolations of `schedule`, in a run with `clients` clients.
    pub fn new(schedule: &Schedule, clients: usize) -> Isolations {
        Isolations {
            pending: schedule.dynamic.iter().copied().collect(),
            clients,
            cut_off: Vec::new(),
        }
    }

    /// Takes the run on to its next event, as the runner does: an isolation due before
    /// that event strikes first, in its place. `false` when no event is left (an
    /// isolation still due then never strikes, as in the runner).
    pub fn step<R: Replica, C: Node<Msg = R::Msg>>(&mut self, sim: &mut Sim<R, C>) -> bool {
        let Some(next) = sim.next_event_time() else {
            return false;
        };
        match self.pending.front().copied() {
            Some(due) if due.at() < next => {
                self.pending.pop_front();
                sim.run_until(due.at());
                self.strike(sim, due);
                true
            }
            _ => sim.step(),
        }
    }

    /// Runs to `until`, each isolation due by then striking at its moment.
    pub fn run_until<R: Replica, C: Node<Msg = R::Msg>>(
        &mut self,
        sim: &mut Sim<R, C>,
        until: Time,
    ) {
        while let Some(due) = self.pending.front().copied().filter(|d| d.at() <= until) {
            self.pending.pop_front();
            sim.run_until(due.at());
            self.strike(sim, due);
        }
        sim.run_until(until);
    }

    fn strike<R: Replica, C: Node<Msg = R::Msg>>(&mut self, sim: &mut Sim<R, C>, due: Dynamic) {
        let (target, _) = models::strike(sim, due, self.clients);
        self.cut_off.push(target);
    }
}

/// How a run goes.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// The seed of the simulation, the workload and the schedule.
    pub seed: u64,
    /// The faults.
    pub schedule: Schedule,
    /// The replicas a nemesis planned the schedule for (`None`: a plan written by
    /// hand); the model must have as many.
    pub replicas: Option<usize>,
    /// Clients (a nemesis planned the schedule for [`CLIENTS`]; change this only with a
    /// plan written by hand).
    pub clients: usize,
    /// Operations in all.
    pub ops: u64,
    /// Quiet time after the last operation ended and the schedule healed.
    pub quiet: Duration,
}

impl RunSpec {
    /// `ops` operations by [`CLIENTS`] clients under what `nemesis` plans for `seed`
    /// over `replicas` replicas in the [`WINDOW`], with the default spells, and 2 s of
    /// quiet at the end.
    pub fn new(seed: u64, nemesis: Nemesis, replicas: usize, ops: u64) -> RunSpec {
        let setup = Setup::new(replicas, CLIENTS, WINDOW);
        RunSpec {
            seed,
            schedule: nemesis::generate(nemesis, seed, &setup),
            replicas: Some(replicas),
            clients: CLIENTS,
            ops,
            quiet: Duration::from_secs(2),
        }
    }

    /// `ops` operations by [`CLIENTS`] clients under `plan`, written by hand, with 2 s of
    /// quiet after the [`WINDOW`].
    pub fn scripted(seed: u64, plan: FaultPlan, ops: u64) -> RunSpec {
        RunSpec {
            seed,
            schedule: Schedule {
                plan,
                dynamic: Vec::new(),
                healed_at: Time::ZERO + WINDOW,
            },
            replicas: None,
            clients: CLIENTS,
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

/// The clients' side of a closed-loop run: what each waits for, and what they saw.
struct Workload<N> {
    next: N,
    gen_: Gen,
    clients: Vec<NodeId>,
    pending: Vec<Option<(Request, Time)>>,
    issued: u64,
    ops: u64,
    history: Vec<Record>,
}

impl<N: FnMut(&mut Gen, usize) -> Request> Workload<N> {
    fn new(clients: Vec<NodeId>, spec: &RunSpec, next: N) -> Self {
        Workload {
            next,
            gen_: Gen {
                rng: SimRng::new(spec.seed, Purpose::Workload),
                next_value: 0,
            },
            pending: vec![None; clients.len()],
            clients,
            issued: 0,
            ops: spec.ops,
            history: Vec::new(),
        }
    }

    fn busy(&self) -> bool {
        self.pending.iter().any(Option::is_some)
    }

    /// Gives client `i` its next request, if any are left.
    fn hand_out<R: Replica>(&mut self, sim: &mut Sim<R, Client<R::Peer>>, i: usize) {
        if self.issued < self.ops {
            let request = (self.next)(&mut self.gen_, i);
            let op = Op {
                id: self.issued,
                request,
                queued: sim_core::Duration::ZERO,
            };
            sim.input_client(self.clients[i], sim.now(), op);
            self.pending[i] = Some((request, sim.now()));
            self.issued += 1;
        }
    }

    /// Records the outcomes clients reported, and gives each its next request.
    fn collect<R: Replica>(&mut self, sim: &mut Sim<R, Client<R::Peer>>) {
        let outputs: Vec<_> = sim.drain_client_outputs().collect();
        for emitted in outputs {
            let i = self
                .clients
                .iter()
                .position(|&c| c == emitted.node)
                .expect("a client");
            let (request, invoked) = self.pending[i].take().expect("an operation in flight");
            self.history.push(Record {
                client: emitted.node,
                request,
                invoked,
                completed: emitted.time,
                outcome: emitted.output,
            });
            self.hand_out(sim, i);
        }
    }
}

fn build<M: Model>(model: &M, spec: &RunSpec) -> ModelSim<M> {
    let configs = model.replicas();
    assert!(
        spec.replicas.is_none_or(|n| n == configs.len()),
        "the schedule was planned for {:?} replicas, the model has {}",
        spec.replicas,
        configs.len()
    );
    let ids: Vec<NodeId> = (0..configs.len() as u32).map(NodeId).collect();
    let mut builder = ModelSim::<M>::with_clients(spec.seed).plan(spec.schedule.plan.clone());
    for config in configs {
        builder = builder.replica(config);
    }
    for i in 0..spec.clients {
        builder = builder.client(model.client(ClientConfig::new(ids.clone(), i, model.routing())));
    }
    builder.build().expect("the run builds")
}

/// Runs `model` as `spec` says: every client gets a request from `next` whenever its
/// last one ends, until `spec.ops` were handed out, while the schedule's faults strike;
/// `observe` sees the simulation after every event. Returns the simulation (after the
/// quiet time) and the history.
pub fn run<M: Model>(
    model: &M,
    spec: &RunSpec,
    next: impl FnMut(&mut Gen, usize) -> Request,
    observe: impl FnMut(&ModelSim<M>),
) -> (ModelSim<M>, Vec<Record>) {
    let (sim, history, _) = run_with_isolations(model, spec, next, observe);
    (sim, history)
}

/// [`run`], also returning the isolations, with the replicas they cut off.
pub fn run_with_isolations<M: Model>(
    model: &M,
    spec: &RunSpec,
    next: impl FnMut(&mut Gen, usize) -> Request,
    mut observe: impl FnMut(&ModelSim<M>),
) -> (ModelSim<M>, Vec<Record>, Isolations) {
    let mut sim = build(model, spec);
    let mut isolations = Isolations::new(&spec.schedule, spec.clients);
    let mut workload = Workload::new(sim.client_ids().collect(), spec, next);
    for i in 0..spec.clients {
        workload.hand_out(&mut sim, i);
    }
    let limit = Time::ZERO + Duration::from_secs(120);
    while workload.busy() && sim.now() < limit && isolations.step(&mut sim) {
        observe(&sim);
        workload.collect(&mut sim);
    }
    assert!(
        !workload.busy(),
        "seed {}: operations never ended: {:?}",
        spec.seed,
        workload.pending
    );
    let end = sim.now().max(spec.schedule.healed_at) + spec.quiet;
    while sim.next_event_time().is_some_and(|t| t <= end) {
        isolations.step(&mut sim);
        observe(&sim);
    }
    isolations.run_until(&mut sim, end);
    (sim, workload.history, isolations)
}

/// Which seeds of a range showed something: pinned by the tests, so that a change in
/// how often a bug shows fails loudly rather than drifting in a comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    /// The seeds looked at.
    pub seeds: Range<u64>,
    /// The first seed that showed it.
    pub first: Option<u64>,
    /// How many seeds showed it.
    pub count: usize,
}

impl Tally {
    /// Runs `shows` on every seed of `seeds`.
    pub fn of(seeds: Range<u64>, mut shows: impl FnMut(u64) -> bool) -> Tally {
        let hits: Vec<u64> = seeds.clone().filter(|&seed| shows(seed)).collect();
        Tally {
            seeds,
            first: hits.first().copied(),
            count: hits.len(),
        }
    }
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
