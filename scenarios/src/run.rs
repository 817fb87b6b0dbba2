//! One run: model + workload + nemesis + seed → history, trace hash, verdicts and
//! measurements.
//!
//! A run has three phases, all in simulated time:
//!
//! 1. **Active**: clients run the workload (in a closed loop, or as operations arrive
//!    in an open one) while the nemesis's faults strike, inside a fault window from
//!    the start.
//! 2. **Quiet**: once every operation has ended and the window has closed (the nemesis
//!    heals everything at its end), the system runs undisturbed for a while.
//! 3. **Final reads**: every client reads every key; convergence is judged from these.
//!
//! The clients' operations become a [`checkers::history::History`], and every
//! guarantee is judged by the checker for it. A model's promises are what the run must
//! keep (a violation fails the run); the other guarantees are measured and reported,
//! never failures. A bug-zoo variant's `breaks` are checked too: finding their
//! violation is the point of running it.
//!
//! A model that panics fails the run with the panic's message and the seed; it does
//! not take the program down.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;

use models::client::{Client, ClientConfig};
use models::{Builtin, Catalog, Invariants, Model, ModelInfo, ModelVisitor, Replica};
use sim_core::nemesis::{self, Schedule};
use sim_core::{BuildError, FaultPlan, NodeId, Sim, Time, TraceEvent};

use crate::availability::{Availability, OpRecord, RequestTally, Timeline, crashes, measure_ops};
use crate::config::RunConfig;
use crate::driver::{Driver, Source};
use crate::judge::judge_requiring;
use crate::load::{Counted, Load};
use crate::report::{RunError, RunReport, latencies};
use crate::script::{Fit, Scripted};
use crate::workload::{Mix, Surges, Workload, WorkloadConfig, arrivals};

/// Runs `config`.
///
/// ```
/// use consim::config::RunConfig;
/// use consim::run::run;
/// let a = run(&RunConfig::new("single-copy", 7))?;
/// let b = run(&RunConfig::new("single-copy", 7))?;
/// assert_eq!(a.trace_hash, b.trace_hash);
/// assert_eq!(a.ops.ok + a.ops.fail + a.ops.info + a.ops.unfinished, 200);
/// assert!(!a.failed());
/// # Ok::<(), consim::report::RunError>(())
/// ```
pub fn run(config: &RunConfig) -> Result<RunReport, RunError> {
    run_in(&Builtin, config)
}

/// Runs `config`, whose model is one of `catalog`'s: consim's own ([`Builtin`]), a
/// model of your own (its [`models::Declaration`]), or a tuple of catalogs.
///
/// ```
/// use models::single_copy::SINGLE_COPY;
/// use consim::config::RunConfig;
/// use consim::run::run_in;
/// let report = run_in(&SINGLE_COPY, &RunConfig::new("single-copy", 7))?;
/// assert!(!report.failed());
/// assert!(run_in(&SINGLE_COPY, &RunConfig::new("raft", 7)).is_err());
/// # Ok::<(), consim::report::RunError>(())
/// ```
pub fn run_in<C: Catalog>(catalog: &C, config: &RunConfig) -> Result<RunReport, RunError> {
    catalog.visit(&config.model, &config.params, Visitor { config })?
}

/// Where two runs of one configuration first differ: the index of the first trace
/// event that is not the same, and that event in each run (`None` past a run's end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The index of the first differing event.
    pub index: usize,
    /// The first run's event there.
    pub first: Option<TraceEvent>,
    /// The second run's event there.
    pub second: Option<TraceEvent>,
}

/// Runs `config` twice, traced, and compares the traces event by event: `None` if
/// they are the same (the run is deterministic, as every model must be), else where
/// they first differ. Returns the first run's report too. `consim run
/// --check-determinism` is this.
///
/// ```
/// use consim::config::RunConfig;
/// use consim::run::check_determinism;
/// let (report, divergence) = check_determinism(&RunConfig::new("raft", 3))?;
/// assert_eq!(divergence, None);
/// assert!(report.trace.is_some_and(|t| !t.is_empty()));
/// # Ok::<(), consim::report::RunError>(())
/// ```
pub fn check_determinism(config: &RunConfig) -> Result<(RunReport, Option<Divergence>), RunError> {
    check_determinism_with(config, &run)
}

/// [`check_determinism`] with your own way to run one configuration: for a model
/// outside the catalog, a closure that calls [`run_with`]. A model that iterates a
/// `HashMap`, reads the wall clock or an unseeded random number generator is caught
/// here.
pub fn check_determinism_with(
    config: &RunConfig,
    run: &dyn Fn(&RunConfig) -> Result<RunReport, RunError>,
) -> Result<(RunReport, Option<Divergence>), RunError> {
    let mut config = config.clone();
    config.trace = true;
    let first = run(&config)?;
    let second = run(&config)?;
    let (a, b) = (
        first.trace.as_deref().unwrap_or_default(),
        second.trace.as_deref().unwrap_or_default(),
    );
    let divergence = (0..a.len().max(b.len()))
        .find(|&i| a.get(i) != b.get(i))
        .map(|index| Divergence {
            index,
            first: a.get(index).cloned(),
            second: b.get(index).cloned(),
        });
    if divergence.is_none() {
        assert_eq!(
            first.trace_hash,
            second.trace_hash,
            "equal traces of {} events with different hashes",
            a.len()
        );
    }
    Ok((first, divergence))
}

/// Checks that `config` can run (the model and its parameters, the workload, the
/// plan) without running it.
pub fn validate(config: &RunConfig) -> Result<(), RunError> {
    validate_in(&Builtin, config)
}

/// [`validate`] for a model of `catalog`.
pub fn validate_in<C: Catalog>(catalog: &C, config: &RunConfig) -> Result<(), RunError> {
    struct Count;
    impl ModelVisitor for Count {
        type Output = (usize, Mix);
        fn visit<M: Model>(self, model: M, info: &ModelInfo) -> (usize, Mix) {
            (model.replicas().len(), info.workload)
        }
    }
    let (replicas, mix) = catalog.visit(&config.model, &config.params, Count)?;
    let workload = config.workload_or(mix);
    workload.validate()?;
    if let Some(script) = &config.script {
        script.validate(fit(config, workload))?;
    }
    if let Some(plan) = &config.plan {
        plan.validate(replicas + config.clients as usize)
            .map_err(BuildError::from)?;
    }
    Ok(())
}

struct Visitor<'a> {
    config: &'a RunConfig,
}

impl ModelVisitor for Visitor<'_> {
    type Output = Result<RunReport, RunError>;

    fn visit<M: Model>(self, model: M, info: &ModelInfo) -> Self::Output {
        run_with(self.config, &model, info)
    }
}

type ClientOf<M> = Client<<<M as Model>::Replica as Replica>::Peer>;

/// Runs a model that is not in consim's catalog — your own — under `config`'s nemesis,
/// workload, clients and seed, and judges what `info` says it promises (and breaks).
///
/// `config.model` is the name the report carries; when `config.workload` is `None`,
/// the workload is `info.workload`; `config.params` is not read: the model is already
/// built. Everything else works as for a catalogued model: the same seed gives the
/// same run, and [`crate::sweep::sweep_with`] and [`crate::shrink::shrink_with`] take
/// a closure that calls this.
///
/// ```
/// use models::{Guarantee, ModelInfo};
/// use models::kv::Mix;
/// use models::single_copy::SingleCopy;
/// use consim::config::RunConfig;
/// use consim::run::run_with;
///
/// // Pretend single-copy were a model of your own.
/// let info = ModelInfo {
///     name: "my-store",
///     summary: "one server",
///     promises: &[Guarantee::Linearizable],
///     variant_of: None,
///     breaks: &[],
///     default_scenario: "crash-restart",
///     workload: Mix::ListAppend,
///     settings: &[],
/// };
/// let config = RunConfig::new("my-store", 3);
/// let report = run_with(&config, &SingleCopy, &info)?;
/// assert!(!report.failed());
/// assert_eq!(report.verdicts.len(), 1);
/// # Ok::<(), consim::report::RunError>(())
/// ```
pub fn run_with<M: Model>(
    config: &RunConfig,
    model: &M,
    info: &ModelInfo,
) -> Result<RunReport, RunError> {
    let workload_config = config.workload_or(info.workload);
    workload_config.validate()?;
    let n = model.replicas().len();
    let schedule = schedule_for(config, n);
    let window_end = schedule.healed_at;
    let tally = Rc::new(RefCell::new(RequestTally::new(n)));
    let mut sim = build_sim(config, model, &schedule, &tally)?;
    let source = source(config, workload_config, &schedule.plan)?;
    let mut driver = Driver::new(
        config.clients,
        (source, workload_config.mix, workload_config.keys),
        schedule,
        tally.clone(),
    );
    driver.abandon_after(config.client.deadline);
    if config.capacity.is_some() {
        driver.sample_queues();
    }
    let mut watch = Watch::new(model.invariants());
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        driver.drive(&mut sim, config.quiet, &mut |sim| watch.after_event(sim))
    }));
    driver.finish();
    let panic = watch.settle(outcome, &sim);
    let history = driver.take_history();
    let verdicts = match panic {
        Some(_) => Vec::new(),
        None => judged(config, info, workload_config.mix, &history),
    };
    let plan = driver.applied_plan();
    let timeline = Timeline::new(&plan, n, config.clients as usize, window_end);
    let availability = measure(&driver.records, &timeline, config, &tally.borrow(), &plan);
    let mut samples = std::mem::take(&mut driver.latencies);
    let latency = latencies(&mut samples);
    let attempts = tally.borrow().attempts;
    let load = measure_load(
        config,
        workload_config.rate,
        (&driver, &sim, attempts),
        &plan,
    );
    Ok(RunReport {
        model: config.model.clone(),
        scenario: config.scenario().to_owned(),
        workload: Some(workload_config.mix),
        seed: config.seed,
        replicas: n,
        clients: config.clients,
        simulated: sim.now(),
        trace_hash: sim.trace_hash(),
        stats: sim.stats().clone(),
        ops: driver.counts,
        availability,
        faulted: timeline.ever_faulty(),
        latency,
        verdicts,
        panic,
        measures: watch.measures(sim.now()),
        broken_invariant: watch.broken,
        plan,
        history,
        script: driver.script().clone(),
        trace: sim.trace().map(<[TraceEvent]>::to_vec),
        latency_samples: samples,
        load,
    })
}

/// The verdicts on `history` of what `config` asks to judge, and requires.
fn judged(
    config: &RunConfig,
    info: &ModelInfo,
    mix: crate::workload::Mix,
    history: &checkers::history::History,
) -> Vec<crate::report::GuaranteeVerdict> {
    judge_requiring(info, mix, history, config.checks, &config.required)
}

/// What a model's panic said.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Where `config`'s operations come from: its script, or the seed.
fn source(
    config: &RunConfig,
    workload: WorkloadConfig,
    plan: &FaultPlan,
) -> Result<Source, RunError> {
    if let Some(script) = &config.script {
        script.validate(fit(config, workload))?;
        let mut queues: Vec<VecDeque<Scripted>> = script
            .clients()
            .iter()
            .map(|ops| ops.iter().copied().collect())
            .collect();
        queues.resize(config.clients as usize, VecDeque::new());
        return Ok(Source::Scripted(queues));
    }
    let arrivals = workload.rate.map(|rate| {
        arrivals(
            config.seed,
            rate,
            config.clients as usize,
            config.window,
            workload.ops,
            &Surges::of(plan),
        )
    });
    Ok(Source::Seeded {
        workload: Box::new(Workload::new(config.seed, workload)?),
        arrivals,
    })
}

/// What `config`'s script must fit, with `workload` its workload.
fn fit(config: &RunConfig, workload: WorkloadConfig) -> Fit {
    Fit {
        clients: config.clients as usize,
        keys: workload.keys,
        mix: workload.mix,
    }
}

/// A model's invariants, checked after every event until one breaks.
struct Watch<R> {
    invariants: Option<Box<dyn Invariants<R>>>,
    broken: Option<String>,
    /// Per replica, its change count when last checked ([`Sim::replica_changes`]).
    seen: Vec<u64>,
    /// The replicas changed since the last check, reused from event to event.
    changed: Vec<NodeId>,
}

impl<R: Replica> Watch<R> {
    fn new(invariants: Option<Box<dyn Invariants<R>>>) -> Watch<R> {
        Watch {
            invariants,
            broken: None,
            seen: Vec::new(),
            changed: Vec::new(),
        }
    }

    fn after_event(&mut self, sim: &Sim<R, Client<R::Peer>>) {
        let Some(invariants) = self.invariants.as_mut() else {
            return;
        };
        if self.broken.is_some() {
            return;
        }
        self.changed.clear();
        for id in sim.replica_ids() {
            let changes = sim.replica_changes(id);
            match self.seen.get_mut(id.index()) {
                Some(seen) if *seen == changes => {}
                Some(seen) => {
                    *seen = changes;
                    self.changed.push(id);
                }
                None => {
                    self.seen.push(changes);
                    self.changed.push(id);
                }
            }
        }
        if self.changed.is_empty() && !invariants.after_every_event() {
            return;
        }
        // The replicas, on the stack for the usual few (this runs after most events).
        const ON_STACK: usize = 16;
        let mut stack = [None; ON_STACK];
        let heap: Vec<Option<&R>>;
        let count = sim.replica_ids().count();
        let replicas: &[Option<&R>] = if count <= ON_STACK {
            for (slot, id) in stack.iter_mut().zip(sim.replica_ids()) {
                *slot = sim.replica(id);
            }
            &stack[..count]
        } else {
            heap = sim.replica_ids().map(|id| sim.replica(id)).collect();
            &heap
        };
        if let Err(broken) = invariants.check_changed(sim.now(), replicas, &self.changed) {
            self.broken = Some(broken);
        }
    }

    /// What the model's panic said, if the run ended in one; otherwise, if the run got
    /// to its end (`outcome` holds whether it did: a run stopped at the time limit is
    /// not quiet), checks the properties that must hold once the run is quiet.
    fn settle(
        &mut self,
        outcome: std::thread::Result<bool>,
        sim: &Sim<R, Client<R::Peer>>,
    ) -> Option<String> {
        match outcome {
            Ok(true) => {
                self.at_end(sim);
                None
            }
            Ok(false) => None,
            Err(payload) => Some(panic_text(payload.as_ref())),
        }
    }

    /// What the invariants measured over the run, which ends at `now`.
    fn measures(&self, now: Time) -> Vec<models::Measure> {
        self.invariants
            .as_ref()
            .map_or_else(Vec::new, |invariants| invariants.measures(now))
    }

    /// The properties that must hold once the run is quiet.
    fn at_end(&mut self, sim: &Sim<R, Client<R::Peer>>) {
        let Some(invariants) = self.invariants.as_mut() else {
            return;
        };
        if self.broken.is_some() {
            return;
        }
        let replicas: Vec<Option<&R>> = sim.replica_ids().map(|id| sim.replica(id)).collect();
        if let Err(broken) = invariants.finish(sim.now(), &replicas) {
            self.broken = Some(broken);
        }
    }
}

/// The four availability measures of a run.
fn measure(
    records: &[OpRecord],
    timeline: &Timeline,
    config: &RunConfig,
    tally: &RequestTally,
    plan: &FaultPlan,
) -> Availability {
    let (during_faults, minority, after_retries) =
        measure_ops(records, timeline, config.client.timeout);
    Availability {
        cap: tally.cap(&crashes(plan)),
        during_faults,
        minority,
        after_retries,
    }
}

/// The load measures of a run ([`crate::load`]) with an open loop at `rate` or
/// replicas with a capacity (`None` for others): `driver` ran it in `sim`, and the
/// clients sent `attempts` requests.
fn measure_load<R: sim_core::Node, C: sim_core::Node<Msg = R::Msg>>(
    config: &RunConfig,
    rate: Option<crate::workload::Rate>,
    (driver, sim, attempts): (&Driver, &Sim<R, C>, u64),
    plan: &FaultPlan,
) -> Option<Load> {
    if config.capacity.is_none() && rate.is_none() {
        return None;
    }
    let longest: Vec<usize> = sim.replica_ids().map(|id| sim.longest_queue(id)).collect();
    let counted = Counted {
        records: &driver.records,
        attempts,
        begun: driver.begun,
        queues: &driver.queues,
        longest: &longest,
    };
    let in_time = config.client.deadline.unwrap_or(config.client.timeout);
    Some(Load::measure(
        counted,
        plan,
        Time::ZERO + config.window,
        in_time,
    ))
}

/// The faults of a run with `n` replicas: the plan file's, or the nemesis's.
fn schedule_for(config: &RunConfig, n: usize) -> Schedule {
    match &config.plan {
        Some(plan) => {
            let healed_at = plan.faults.iter().map(|f| f.at).max().unwrap_or(Time::ZERO);
            Schedule {
                plan: plan.clone(),
                healed_at,
                ..Schedule::default()
            }
        }
        None => nemesis::generate(config.nemesis, config.seed, &config.setup(n)),
    }
}

/// The simulation of `model` and `config.clients` clients under `schedule`'s faults,
/// with every client request and answer going to `tally`.
fn build_sim<M: Model>(
    config: &RunConfig,
    model: &M,
    schedule: &Schedule,
    tally: &Rc<RefCell<RequestTally>>,
) -> Result<Sim<M::Replica, ClientOf<M>>, RunError> {
    let replicas = model.replicas();
    let ids: Vec<NodeId> = (0..replicas.len() as u32).map(NodeId).collect();
    let observed = Rc::clone(tally);
    let mut builder = Sim::<M::Replica, ClientOf<M>>::with_clients(config.seed)
        .plan(schedule.plan.clone())
        .trace(config.trace)
        .observer(move |o| observed.borrow_mut().observe(o));
    if let Some(capacity) = config.capacity {
        builder = builder.replica_capacity(capacity);
    }
    for replica in replicas {
        builder = builder.replica(replica);
    }
    for i in 0..config.clients as usize {
        let home = nemesis::home(i, ids.len());
        let mut client = ClientConfig::new(ids.clone(), home, model.routing());
        client.timeout = config.client.timeout;
        client.retry = config.client.retry;
        client.idempotency = config.client.idempotency;
        client.breaker = config.client.breaker;
        client.deadline = config.client.deadline;
        client.double_submit = config.client.double_submit;
        builder = builder.client(model.client(client));
    }
    Ok(builder.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nemesis::Nemesis;

    use models::kv::Reply;
    use sim_core::{Duration, Fault};

    #[test]
    fn an_unknown_model_lists_the_valid_ones() {
        let err = run(&RunConfig::new("raft-typo", 1)).unwrap_err();
        assert!(err.to_string().contains("single-copy"), "{err}");
        // The kernel benchmark's relay is no model of the catalog.
        assert!(!err.to_string().contains("relay"), "{err}");
    }

    #[test]
    fn a_server_crash_makes_operations_indeterminate_not_lost() {
        let mut config = RunConfig::new("single-copy", 3);
        let mut plan = FaultPlan::default();
        plan.push(
            Time::ZERO + Duration::from_millis(200),
            Fault::Crash { node: NodeId(0) },
        );
        plan.push(
            Time::ZERO + Duration::from_millis(2_000),
            Fault::Restart { node: NodeId(0) },
        );
        config.plan = Some(plan);
        let report = run(&config).unwrap();
        assert!(report.ops.info > 0, "{:?}", report.ops);
        assert!(report.ops.ok > 0, "{:?}", report.ops);
        assert_eq!(report.ops.unfinished, 0);
        assert_eq!(report.ops.ok + report.ops.fail + report.ops.info, 200);
        assert!(!report.failed(), "{:?}", report.verdicts);
    }

    #[test]
    fn different_seeds_give_different_runs() {
        let a = run(&RunConfig::new("single-copy", 7)).unwrap();
        let b = run(&RunConfig::new("single-copy", 8)).unwrap();
        assert_ne!(a.trace_hash, b.trace_hash);
        let r7 = crate::kernel_bench::relay(7, 10_000).unwrap();
        let r8 = crate::kernel_bench::relay(8, 10_000).unwrap();
        assert_ne!(r7.trace_hash, r8.trace_hash);
    }

    /// A one-server test model that misbehaves as its [`Script`] says.
    #[derive(Debug)]
    struct Scripted {
        script: Script,
        seen: u32,
    }

    #[derive(Clone, Copy, Debug)]
    enum Script {
        /// Panics at its 50th request.
        Fragile,
        /// Answers every request with a `HashSet` listed in its iteration order, which
        /// a fresh `RandomState` changes from one run to the next.
        Unseeded,
    }

    impl sim_core::Node for Scripted {
        type Config = Script;
        type Msg = models::client::Wire<models::client::NoPeers>;
        type Timer = std::convert::Infallible;
        type Durable = ();
        type Input = std::convert::Infallible;
        type Output = std::convert::Infallible;

        fn start(script: &Script, _: &mut sim_core::Ctx<'_, Self>) -> Self {
            Scripted {
                script: *script,
                seen: 0,
            }
        }

        // The point of `Unseeded`: the lint keeps hash sets out of real models.
        #[allow(clippy::disallowed_types)]
        fn on_message(&mut self, ctx: &mut sim_core::Ctx<'_, Self>, from: NodeId, msg: Self::Msg) {
            use models::client::{Answer, ClientMsg, Wire};
            let Wire::Client(ClientMsg::Request { id, .. }) = msg else {
                return;
            };
            self.seen += 1;
            let reply = match self.script {
                Script::Fragile => {
                    assert!(
                        self.seen < 50,
                        "fragile replica: request {} is one too many",
                        self.seen
                    );
                    Reply::Written
                }
                Script::Unseeded => {
                    let set: std::collections::HashSet<u64> = (0..64).collect();
                    Reply::ReadList(set.into_iter().collect())
                }
            };
            ctx.send(from, models::client::reply(id, Answer::Done(reply), 0));
        }

        fn on_timer(&mut self, _: &mut sim_core::Ctx<'_, Self>, t: std::convert::Infallible) {
            match t {}
        }
    }

    impl Replica for Scripted {
        type Peer = models::client::NoPeers;
    }

    impl Model for Script {
        type Replica = Scripted;
        fn replicas(&self) -> Vec<Script> {
            vec![*self]
        }
        fn routing(&self) -> models::client::Routing {
            models::client::Routing::Home
        }
    }

    #[test]
    fn the_determinism_check_names_the_first_event_a_hash_map_changed() {
        let config = RunConfig::new("unseeded", 1);
        let info = models::find("single-copy").unwrap();
        let runner = |c: &RunConfig| run_with(c, &Script::Unseeded, info);
        let (report, divergence) = check_determinism_with(&config, &runner).unwrap();
        let divergence = divergence.expect("two hash sets listed their elements alike");
        let trace = report.trace.unwrap();
        // Everything before it is the same; the first reply delivered is where the
        // listing shows, after the starts, the first requests and their deliveries.
        assert!(
            trace[..divergence.index]
                .iter()
                .all(|e| !e.detail.contains("ReadList"))
        );
        let (first, second) = (divergence.first.unwrap(), divergence.second.unwrap());
        assert_eq!(first.kind, second.kind);
        assert_eq!(first.time, second.time);
        assert!(first.detail.contains("ReadList"), "{first}");
        assert_ne!(first.detail, second.detail);
        // A deterministic model is not flagged.
        let (_, none) = check_determinism(&RunConfig::new("single-copy", 1)).unwrap();
        assert_eq!(none, None);
    }

    #[test]
    fn a_model_that_panics_fails_the_run_instead_of_the_program() {
        let config = RunConfig::new("single-copy", 5);
        let report = run_with(
            &config,
            &Script::Fragile,
            models::find("single-copy").unwrap(),
        )
        .unwrap();
        assert!(report.failed());
        let panic = report.panic.as_deref().unwrap();
        assert!(panic.contains("request 50 is one too many"), "{panic}");
        assert!(report.verdicts.is_empty());
    }

    #[test]
    fn every_nemesis_repeats_exactly_and_keeps_single_copy_linearizable() {
        for nemesis in Nemesis::ALL {
            for seed in 0..5 {
                let mut config = RunConfig::new("single-copy", seed);
                config.nemesis = nemesis;
                let a = run(&config).unwrap();
                let b = run(&config).unwrap();
                assert_eq!(a.trace_hash, b.trace_hash, "{} seed {seed}", nemesis.name());
                assert_eq!(a.history, b.history, "{} seed {seed}", nemesis.name());
                assert_eq!(a.plan, b.plan);
                assert!(
                    !a.failed(),
                    "{} seed {seed}: {:?}",
                    nemesis.name(),
                    a.verdicts
                );
                assert_eq!(a.ops.unfinished, 0);
            }
        }
    }

    #[test]
    fn without_faults_a_single_server_answers_everything_and_nothing_is_during_faults() {
        let report = run(&RunConfig::new("single-copy", 4)).unwrap();
        let a = report.availability;
        assert!(a.cap.trials >= 200, "{a:?}");
        assert_eq!(a.cap.hits, a.cap.trials);
        assert_eq!(a.during_faults, Default::default());
        assert_eq!(a.minority, Default::default());
        assert_eq!(a.after_retries.share(), Some(1.0));
        assert!(!report.faulted);
    }

    /// Gilbert and Lynch count a follower's redirect as no answer: Raft's first
    /// requests to followers count against it even without faults.
    #[test]
    fn a_redirect_is_not_an_answer() {
        let report = run(&RunConfig::new("raft", 4)).unwrap();
        let cap = report.availability.cap;
        assert!(cap.hits < cap.trials, "{cap:?}");
        assert!(cap.share().unwrap() > 0.8, "{cap:?}");
        assert_eq!(report.availability.after_retries.share(), Some(1.0));
    }

    /// An open loop goes on sending a cut-off client operations for the whole window:
    /// single-copy's clients on the far side of `partition-majority` are measured, and
    /// none of them is served within a timeout.
    #[test]
    fn an_open_loop_measures_the_clients_cut_off_from_the_server() {
        let mut config = RunConfig::new("single-copy", 2);
        config.nemesis = Nemesis::PartitionMajority;
        config.workload = Some(WorkloadConfig {
            mix: Mix::ListAppend,
            ops: u64::MAX,
            rate: Some(crate::workload::Rate::new(10.0).unwrap()),
            ..WorkloadConfig::default()
        });
        let report = run(&config).unwrap();
        assert!(!report.failed(), "{:?}", report.verdicts);
        // About 10 per second per client, for 4 seconds, for 5 clients.
        let total = report.ops.total();
        assert!((140..260).contains(&total), "{total} operations");
        let a = report.availability;
        assert!(a.minority.trials >= 20, "{a:?}");
        assert_eq!(a.minority.hits, 0, "{a:?}");
        // The partition lasts the whole window: every arrival is during a fault, and
        // the clients beside the server are served.
        assert_eq!(a.during_faults.trials, total);
        assert!(a.during_faults.hits > 0, "{a:?}");
        // Cut off for 4 s, a client's operations run out of attempts.
        assert!(a.after_retries.share().unwrap() < 1.0, "{a:?}");
        assert!(report.faulted);
    }

    #[test]
    fn a_closed_loop_run_is_unchanged_by_the_measurements() {
        // Pinned: the availability measures observe a run without changing it.
        let report = run(&RunConfig::new("single-copy", 7)).unwrap();
        assert_eq!(format!("{:016x}", report.trace_hash), PINNED_SINGLE_COPY_7);
    }

    const PINNED_SINGLE_COPY_7: &str = "f6b17a27edc6071e";

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut samples: Vec<u64> = (1..=100).map(|ms| ms * 1_000_000).collect();
        let l = latencies(&mut samples).unwrap();
        assert_eq!((l.p50_ms, l.p99_ms, l.max_ms), (50.0, 99.0, 100.0));
        assert_eq!(latencies(&mut []), None);
    }
}
