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

use checkers::check::{ModelName, check_history};
use checkers::convergence::check_convergence;
use checkers::history::{Event, EventType, Function, History, Value as HValue};
use checkers::linear::{Options, Outcome as LinOutcome, Verdict};
use checkers::session::{Guarantee as SessionGuarantee, check_sessions};
use models::client::{BreakerConfig, Client, ClientConfig, RetryPolicy};
use models::kv::{Outcome, Reply, Request};
use models::relay::{Relay, RelayConfig};
use models::{Guarantee, Model, ModelError, ModelInfo, ModelVisitor, Params, Replica};
use serde::Serialize;
use sim_core::{
    BuildError, Duration, Fault, FaultPlan, NodeId, Partition, Sim, Stats, Time, TimedFault,
    TraceEvent,
};

use crate::availability::{Availability, OpRecord, RequestTally, Timeline, crashes, measure_ops};
use crate::kernel_bench::RELAY_NODES;
use crate::nemesis::{self, Dynamic, Nemesis, Schedule, Setup};
use crate::workload::{Mix, Workload, WorkloadConfig, WorkloadError, arrivals};

/// How long a run may go on in simulated time before the runner stops it.
pub const SIMULATED_TIME_LIMIT: Duration = Duration::from_secs(3_600);

/// How long a `relay` run lasts in simulated time.
pub const RELAY_DURATION: Duration = Duration::from_secs(10);

/// The client-side patterns a scenario turns on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ClientSettings {
    /// How long one attempt waits.
    pub timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// Idempotency keys on retried requests.
    pub idempotency: bool,
    /// A circuit breaker.
    pub breaker: Option<BreakerConfig>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            timeout: Duration::from_millis(500),
            retry: RetryPolicy::default(),
            idempotency: true,
            breaker: None,
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// A model name from [`models::catalog`].
    pub model: String,
    /// Model parameters.
    pub params: Params,
    /// The nemesis.
    pub nemesis: Nemesis,
    /// The run seed.
    pub seed: u64,
    /// A fault plan to replay instead of generating one from the nemesis.
    pub plan: Option<FaultPlan>,
    /// Whether to record the full trace.
    pub trace: bool,
    /// The workload (`None`: the model's default, see [`default_mix`]).
    pub workload: Option<WorkloadConfig>,
    /// How many clients.
    pub clients: u32,
    /// The clients' patterns.
    pub client: ClientSettings,
    /// Faults strike inside this window from the start (and, with an open-loop
    /// workload, operations arrive inside it).
    pub window: Duration,
    /// How long each fault spell lasts (`None`: the nemesis's own lengths); see
    /// [`Setup::spell`].
    pub spell: Option<Duration>,
    /// The quiet time before the final reads.
    pub quiet: Duration,
    /// Which guarantees to judge.
    pub checks: Checks,
}

/// Which guarantees a run judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checks {
    /// What the model promises, and what a bug variant breaks.
    Promised,
    /// Every guarantee (for the CAP matrix).
    All,
    /// None (for measuring the simulator alone).
    None,
}

impl RunConfig {
    /// The defaults for `model` and `seed`: no faults, the model's own workload of 200
    /// operations, 5 clients, a 4 s fault window and 2 s of quiet.
    pub fn new(model: &str, seed: u64) -> RunConfig {
        RunConfig {
            model: model.to_owned(),
            params: Params::default(),
            nemesis: Nemesis::None,
            seed,
            plan: None,
            trace: false,
            workload: None,
            clients: 5,
            client: ClientSettings::default(),
            window: Duration::from_secs(4),
            spell: None,
            quiet: Duration::from_secs(2),
            checks: Checks::Promised,
        }
    }

    /// What the nemesis plans for: this configuration's clients, window and spells,
    /// with `replicas` replicas.
    pub fn setup(&self, replicas: usize) -> Setup {
        Setup {
            replicas,
            clients: self.clients as usize,
            window: self.window,
            spell: self.spell,
        }
    }

    /// The scenario's name: the nemesis, or `plan` for a replayed plan file.
    pub fn scenario(&self) -> &'static str {
        if self.plan.is_some() {
            "plan"
        } else {
            self.nemesis.name()
        }
    }
}

/// The workload mix a model gets by default: registers for ABD-style stores that
/// serve only reads and writes, list-append (the most traceable) for the rest.
pub fn default_mix(model: &str) -> Mix {
    if model.starts_with("abd") || model == "quorum-overlap" {
        Mix::Register
    } else {
        Mix::ListAppend
    }
}

/// How the clients' operations ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OpCounts {
    /// Took effect.
    pub ok: u64,
    /// Certainly did not take effect.
    pub fail: u64,
    /// Unknown (timed out).
    pub info: u64,
    /// Never ended (the run hit its time limit).
    pub unfinished: u64,
}

impl OpCounts {
    /// These counts and `other`'s together.
    pub fn add(&mut self, other: &OpCounts) {
        self.ok += other.ok;
        self.fail += other.fail;
        self.info += other.info;
        self.unfinished += other.unfinished;
    }

    /// Every operation counted.
    pub fn total(&self) -> u64 {
        self.ok + self.fail + self.info + self.unfinished
    }
}

/// Latency percentiles of the successful operations, in simulated milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Latencies {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// Exact percentiles (nearest rank) of `samples`, in nanoseconds, as milliseconds;
/// `None` without samples.
pub fn latencies(samples: &mut [u64]) -> Option<Latencies> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = |p: f64| {
        let i = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i] as f64 / 1e6
    };
    Some(Latencies {
        p50_ms: rank(0.50),
        p99_ms: rank(0.99),
        max_ms: samples[samples.len() - 1] as f64 / 1e6,
    })
}

/// Why a guarantee is judged in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The model promises it: a violation fails the run.
    Promised,
    /// The bug variant breaks it: a violation fails the run (it is what a sweep looks
    /// for).
    Broken,
    /// Neither: measured only.
    Measured,
}

/// What the checker concluded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "verdict")]
pub enum Judgement {
    /// It held.
    Ok,
    /// It was violated.
    Violation {
        /// What shows it, in sentences.
        explanation: String,
    },
    /// The checker's budget ran out.
    Unknown {
        /// Which budget.
        reason: String,
    },
    /// The history cannot judge it (for example, session checks of a history with cas).
    NotApplicable {
        /// Why.
        reason: String,
    },
}

/// One guarantee's verdict in a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GuaranteeVerdict {
    /// The guarantee.
    pub guarantee: Guarantee,
    /// Why it was judged.
    pub role: Role,
    /// The conclusion.
    pub judgement: Judgement,
}

/// What a run did.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// The model run.
    pub model: String,
    /// The scenario (nemesis) run.
    pub scenario: String,
    /// The workload mix.
    pub workload: Option<Mix>,
    /// The run seed.
    pub seed: u64,
    /// Replicas run (nodes `0..replicas`; the clients come after them).
    pub replicas: usize,
    /// Clients run.
    pub clients: u32,
    /// Simulated time at the end.
    pub simulated: Time,
    /// The trace hash: same seed and build, same hash.
    pub trace_hash: u64,
    /// The kernel's counters.
    pub stats: Stats,
    /// How the workload's operations ended (final reads not counted).
    pub ops: OpCounts,
    /// Availability, four ways (see [`crate::availability`]).
    pub availability: Availability,
    /// Whether some fault was active at some moment (a nemesis may have nothing to do
    /// to a model: no partition cuts a store of one replica in two).
    pub faulted: bool,
    /// Latencies of the workload's successful operations, from invocation to the end
    /// (time spent waiting at the client before the invocation is not in them);
    /// `None` if none succeeded.
    pub latency: Option<Latencies>,
    /// The verdict on every guarantee judged.
    pub verdicts: Vec<GuaranteeVerdict>,
    /// The model panicked, with this message (the run is a failure).
    pub panic: Option<String>,
    /// The faults applied, leaders resolved: replayable with `--plan`.
    #[serde(skip)]
    pub plan: FaultPlan,
    /// The clients' history.
    #[serde(skip)]
    pub history: History,
    /// The full trace, if asked for.
    #[serde(skip)]
    pub trace: Option<Vec<TraceEvent>>,
    /// Latency samples of the successful workload operations (ns), for aggregating.
    #[serde(skip)]
    pub latency_samples: Vec<u64>,
}

impl RunReport {
    /// Whether the run failed: a promised (or bug-broken) guarantee was violated, or
    /// the model panicked.
    pub fn failed(&self) -> bool {
        self.panic.is_some()
            || self.verdicts.iter().any(|v| {
                v.role != Role::Measured && matches!(v.judgement, Judgement::Violation { .. })
            })
    }

    /// Whether a judged (non-measured) guarantee was left undecided.
    pub fn inconclusive(&self) -> bool {
        self.verdicts
            .iter()
            .any(|v| v.role != Role::Measured && matches!(v.judgement, Judgement::Unknown { .. }))
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// No model has that name.
    #[error("unknown model `{name}`; the models are: {}", valid.join(", "))]
    UnknownModel {
        /// The name given.
        name: String,
        /// The names that exist.
        valid: Vec<&'static str>,
    },
    /// The model's parameters make no sense.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The workload's settings make no sense.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// The simulation could not be built (for example, the plan names a node that
    /// does not exist).
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// Runs `config`.
///
/// ```
/// use scenarios::run::{run, RunConfig};
/// let a = run(&RunConfig::new("single-copy", 7))?;
/// let b = run(&RunConfig::new("single-copy", 7))?;
/// assert_eq!(a.trace_hash, b.trace_hash);
/// assert_eq!(a.ops.ok + a.ops.fail + a.ops.info + a.ops.unfinished, 200);
/// assert!(!a.failed());
/// # Ok::<(), scenarios::run::RunError>(())
/// ```
pub fn run(config: &RunConfig) -> Result<RunReport, RunError> {
    match config.model.as_str() {
        "relay" => run_relay(config),
        _ => visit(config, Visitor { config })?,
    }
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
/// use scenarios::run::{RunConfig, check_determinism};
/// let (report, divergence) = check_determinism(&RunConfig::new("raft", 3))?;
/// assert_eq!(divergence, None);
/// assert!(report.trace.is_some_and(|t| !t.is_empty()));
/// # Ok::<(), scenarios::run::RunError>(())
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

/// [`models::visit`] for `config`'s model, with an unknown name listing every model
/// the runner knows (the kernel's `relay` included).
fn visit<V: ModelVisitor>(config: &RunConfig, visitor: V) -> Result<V::Output, RunError> {
    models::visit(&config.model, &config.params, visitor).map_err(|e| match e {
        ModelError::UnknownModel { name, .. } => RunError::UnknownModel {
            name,
            valid: models::catalog().iter().map(|m| m.name).collect(),
        },
        e => e.into(),
    })
}

/// Checks that `config` can run (the model and its parameters, the workload, the
/// plan) without running it.
pub fn validate(config: &RunConfig) -> Result<(), RunError> {
    struct Count;
    impl ModelVisitor for Count {
        type Output = usize;
        fn visit<M: Model>(self, model: M) -> usize {
            model.replicas().len()
        }
    }
    let replicas = match config.model.as_str() {
        "relay" => RELAY_NODES as usize,
        _ => visit(config, Count)?,
    };
    if let Some(w) = config.workload {
        w.validate()?;
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

    fn visit<M: Model>(self, model: M) -> Self::Output {
        let info = models::find(&self.config.model).expect("visit only builds catalogued models");
        run_with(self.config, &model, info)
    }
}

fn run_relay(config: &RunConfig) -> Result<RunReport, RunError> {
    // Relay has no leader: a nemesis's dynamic faults do not apply to it.
    let plan = match &config.plan {
        Some(plan) => plan.clone(),
        None => {
            let mut setup = config.setup(RELAY_NODES as usize);
            setup.clients = 0;
            nemesis::generate(config.nemesis, config.seed, &setup).plan
        }
    };
    let mut builder = Sim::<Relay>::builder(config.seed)
        .plan(plan.clone())
        .trace(config.trace);
    for _ in 0..RELAY_NODES {
        builder = builder.replica(RelayConfig { nodes: RELAY_NODES });
    }
    let mut sim = builder.build()?;
    sim.run_until(Time::ZERO + RELAY_DURATION);
    Ok(RunReport {
        model: config.model.clone(),
        scenario: config.scenario().to_owned(),
        workload: None,
        seed: config.seed,
        replicas: RELAY_NODES as usize,
        clients: 0,
        simulated: sim.now(),
        trace_hash: sim.trace_hash(),
        stats: sim.stats().clone(),
        ops: OpCounts::default(),
        availability: Availability::default(),
        faulted: plan.faults.iter().any(|f| f.fault != Fault::HealAll),
        latency: None,
        verdicts: Vec::new(),
        panic: None,
        plan,
        history: History::default(),
        trace: sim.trace().map(<[TraceEvent]>::to_vec),
        latency_samples: Vec::new(),
    })
}

type ClientOf<M> = Client<<<M as Model>::Replica as Replica>::Peer>;

/// Runs a model that is not in consim's catalog — your own — under `config`'s nemesis,
/// workload, clients and seed, and judges what `info` says it promises (and breaks).
///
/// `config.model` is the name the report carries (and, when `config.workload` is
/// `None`, picks the default mix as for a catalogued model: registers for names that
/// start with `abd`, list-append otherwise; set the workload to choose), and
/// `config.params` is not read: the model is already built. Everything else works as for a catalogued model:
/// the same seed gives the same run, and [`crate::sweep::sweep_with`] and
/// [`crate::shrink::shrink_with`] take a closure that calls this.
///
/// ```
/// use models::{Guarantee, ModelInfo};
/// use models::single_copy::SingleCopy;
/// use scenarios::run::{RunConfig, run_with};
///
/// // Pretend single-copy were a model of your own.
/// let info = ModelInfo {
///     name: "my-store",
///     summary: "one server",
///     serves_clients: true,
///     promises: &[Guarantee::Linearizable],
///     variant_of: None,
///     breaks: &[],
///     default_scenario: "crash-restart",
/// };
/// let config = RunConfig::new("my-store", 3);
/// let report = run_with(&config, &SingleCopy, &info)?;
/// assert!(!report.failed());
/// assert_eq!(report.verdicts.len(), 1);
/// # Ok::<(), scenarios::run::RunError>(())
/// ```
pub fn run_with<M: Model>(
    config: &RunConfig,
    model: &M,
    info: &ModelInfo,
) -> Result<RunReport, RunError> {
    let workload_config = config.workload.unwrap_or(WorkloadConfig {
        mix: default_mix(&config.model),
        ..WorkloadConfig::default()
    });
    let workload = Workload::new(config.seed, workload_config)?;
    let n = model.replicas().len();
    let schedule = schedule_for(config, n);
    let window_end = schedule.healed_at;
    let tally = Rc::new(RefCell::new(RequestTally::new(n)));
    let mut sim = build_sim(config, model, &schedule, &tally)?;
    let arrivals = workload_config.rate.map(|rate| {
        arrivals(
            config.seed,
            rate,
            config.clients as usize,
            config.window,
            workload_config.ops,
        )
    });
    let mut driver = Driver::new(config.clients, workload, schedule, arrivals, tally.clone());
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        driver.drive(&mut sim, config.quiet);
    }));
    driver.finish();
    let panic = outcome.err().map(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "a panic without a message".to_owned())
    });
    let history = driver.history();
    let verdicts = if panic.is_some() {
        Vec::new()
    } else {
        judge(info, workload_config.mix, &history, config.checks)
    };
    let plan = driver.applied_plan();
    let timeline = Timeline::new(&plan, n, config.clients as usize, window_end);
    let availability = measure(&driver.records, &timeline, config, &tally.borrow(), &plan);
    let mut samples = driver.latencies.clone();
    let latency = latencies(&mut samples);
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
        plan,
        history,
        trace: sim.trace().map(<[TraceEvent]>::to_vec),
        latency_samples: samples,
    })
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
        builder = builder.client(model.client(client));
    }
    Ok(builder.build()?)
}

/// An operation in flight.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    client: usize,
    process: u64,
    /// When it arrived at its client (with a closed loop, when it was invoked).
    arrival: Time,
    invoked: Time,
    request: Request,
    final_read: bool,
}

/// Feeds the clients, records the history, applies dynamic faults.
struct Driver {
    clients: Vec<NodeId>,
    /// Each client's current history process (a new one after an `info`, as Jepsen
    /// does: the old process might still be running the operation).
    process: Vec<u64>,
    workload: Workload,
    schedule: Schedule,
    next_dynamic: usize,
    applied: Vec<TimedFault>,
    /// Indexed by op id.
    in_flight: std::collections::BTreeMap<u64, InFlight>,
    /// `(time, order, event, whether it is a final read's)`.
    events: Vec<(Time, u64, Event, bool)>,
    order: u64,
    counts: OpCounts,
    latencies: Vec<u64>,
    /// How each workload operation went, for the availability measures.
    records: Vec<OpRecord>,
    /// Each client's final reads still to make.
    finals: Vec<VecDeque<models::kv::Op>>,
    /// Open loop: each client's arrivals still to come or waiting (`None`: closed loop).
    arrivals: Option<Vec<VecDeque<Time>>>,
    tally: Rc<RefCell<RequestTally>>,
}

impl Driver {
    fn new(
        clients: u32,
        workload: Workload,
        schedule: Schedule,
        arrivals: Option<Vec<VecDeque<Time>>>,
        tally: Rc<RefCell<RequestTally>>,
    ) -> Driver {
        Driver {
            clients: Vec::new(),
            process: (0..u64::from(clients)).collect(),
            workload,
            applied: schedule.plan.faults.clone(),
            schedule,
            next_dynamic: 0,
            in_flight: std::collections::BTreeMap::new(),
            events: Vec::new(),
            order: 0,
            counts: OpCounts::default(),
            latencies: Vec::new(),
            records: Vec::new(),
            finals: Vec::new(),
            arrivals,
            tally,
        }
    }

    fn record(&mut self, time: Time, event: Event, final_read: bool) {
        self.events.push((time, self.order, event, final_read));
        self.order += 1;
    }

    /// Hands `client` its next workload operation, if it has one: in a closed loop
    /// after its think time, in an open loop at its next arrival (now, if that is
    /// past).
    fn next_op<R, C>(&mut self, sim: &mut Sim<R, C>, client: usize)
    where
        R: sim_core::Node,
        C: sim_core::Node<Msg = R::Msg, Input = models::kv::Op>,
    {
        let now = sim.now();
        let (arrival, at, op) = match &mut self.arrivals {
            None => {
                let Some(op) = self.workload.next_op() else {
                    return;
                };
                let at = now + self.workload.think();
                (at, at, op)
            }
            Some(queues) => {
                let Some(arrival) = queues[client].pop_front() else {
                    return;
                };
                let Some(op) = self.workload.next_op() else {
                    return;
                };
                (arrival, arrival.max(now), op)
            }
        };
        self.invoke(sim, client, (arrival, at), op, false);
    }

    /// Invokes `op` at `client` at `times.1`; it arrived at `times.0`.
    fn invoke<R, C>(
        &mut self,
        sim: &mut Sim<R, C>,
        client: usize,
        times: (Time, Time),
        op: models::kv::Op,
        final_read: bool,
    ) where
        R: sim_core::Node,
        C: sim_core::Node<Msg = R::Msg, Input = models::kv::Op>,
    {
        let (arrival, at) = times;
        let process = self.process[client];
        let (f, key, value) = describe(&op.request);
        self.record(
            at,
            Event {
                process,
                kind: EventType::Invoke,
                f,
                key: Some(key),
                value,
                time: Some(at.as_nanos()),
            },
            final_read,
        );
        self.in_flight.insert(
            op.id,
            InFlight {
                client,
                process,
                arrival,
                invoked: at,
                request: op.request,
                final_read,
            },
        );
        sim.input_client(self.clients[client], at, op);
    }

    fn drive<R>(&mut self, sim: &mut Sim<R, Client<R::Peer>>, quiet: Duration)
    where
        R: Replica,
    {
        self.clients = sim.client_ids().collect();
        for client in 0..self.clients.len() {
            self.next_op(sim, client);
        }
        let mut phase = Phase::Active;
        loop {
            match self.next_phase(sim, phase, quiet) {
                None => break,
                Some(next) if next != phase => phase = next,
                Some(_) if self.advance(sim, phase) => {}
                Some(_) => break,
            }
        }
    }

    /// The phase the run is in now, given the one it was in: `None` once the final
    /// reads have all ended.
    fn next_phase<R>(
        &mut self,
        sim: &mut Sim<R, Client<R::Peer>>,
        phase: Phase,
        quiet: Duration,
    ) -> Option<Phase>
    where
        R: Replica,
    {
        match phase {
            Phase::Active if self.in_flight.is_empty() && sim.now() >= self.schedule.healed_at => {
                Some(Phase::Quiet {
                    until: sim.now() + quiet,
                })
            }
            Phase::Quiet { until } if sim.now() >= until => {
                self.tally.borrow_mut().stop_counting();
                for client in 0..self.clients.len() {
                    self.finals.push(self.workload.final_reads().into());
                    self.next_final(sim, client);
                }
                Some(Phase::FinalReads)
            }
            Phase::FinalReads if self.in_flight.is_empty() => None,
            _ => Some(phase),
        }
    }

    /// Runs the simulation on to the next thing the driver must see (a time the phase
    /// waits for, a dynamic fault, an event and the outcomes it reported); `false` when
    /// the run cannot go on (nothing left to happen, or the time limit).
    fn advance<R>(&mut self, sim: &mut Sim<R, Client<R::Peer>>, phase: Phase) -> bool
    where
        R: Replica,
    {
        let wake = match phase {
            Phase::Active if self.in_flight.is_empty() => Some(self.schedule.healed_at),
            Phase::Quiet { until } => Some(until),
            _ => None,
        };
        let next = sim.next_event_time();
        if let Some(wake) = wake
            && next.is_none_or(|next| next > wake)
        {
            sim.run_until(wake);
            return true;
        }
        let Some(next) = next.filter(|&next| next <= Time::ZERO + SIMULATED_TIME_LIMIT) else {
            return false;
        };
        if let Some(&dynamic) = self.schedule.dynamic.get(self.next_dynamic)
            && dynamic.at() <= next
        {
            self.next_dynamic += 1;
            sim.run_until(dynamic.at());
            self.apply_dynamic(sim, dynamic);
            return true;
        }
        sim.step();
        let replicas = sim.replica_ids().count();
        let outputs: Vec<_> = sim.drain_client_outputs().collect();
        for emitted in outputs {
            self.complete(emitted.time, &emitted.output);
            let client = emitted.node.index() - replicas;
            if phase == Phase::FinalReads {
                self.next_final(sim, client);
            } else {
                self.next_op(sim, client);
            }
        }
        true
    }

    /// Counts what never ended, however the run stopped (the time limit, or a panic):
    /// the workload operations in flight, and in an open loop those still waiting at
    /// their clients.
    fn finish(&mut self) {
        let mut unfinished: Vec<OpRecord> = self
            .in_flight
            .values()
            .filter(|f| !f.final_read)
            .map(|f| OpRecord {
                client: f.client,
                arrival: f.arrival,
                ended: None,
                ok: false,
            })
            .collect();
        for (client, queue) in self.arrivals.iter_mut().flatten().enumerate() {
            unfinished.extend(queue.drain(..).map(|arrival| OpRecord {
                client,
                arrival,
                ended: None,
                ok: false,
            }));
        }
        self.counts.unfinished = unfinished.len() as u64;
        self.records.extend(unfinished);
    }

    fn next_final<R, C>(&mut self, sim: &mut Sim<R, C>, client: usize)
    where
        R: sim_core::Node,
        C: sim_core::Node<Msg = R::Msg, Input = models::kv::Op>,
    {
        if let Some(op) = self.finals.get_mut(client).and_then(|q| q.pop_front()) {
            let at = sim.now();
            self.invoke(sim, client, (at, at), op, true);
        }
    }

    fn apply_dynamic<R, C>(&mut self, sim: &mut Sim<R, C>, dynamic: Dynamic)
    where
        R: Replica,
        C: sim_core::Node<Msg = R::Msg>,
    {
        let Dynamic::IsolateLeader {
            at,
            until,
            fallback,
            with_client,
            skew_ppm,
        } = dynamic;
        let leader = leader(sim).unwrap_or(fallback);
        let mut side = vec![leader];
        if let Some(c) = with_client
            && let Some(&client) = self.clients.get(c)
        {
            side.push(client);
        }
        // The other replicas; with a client on the leader's side, the other
        // clients too (that client talks only to the leader).
        let replicas: Vec<NodeId> = sim.replica_ids().collect();
        let rest: Vec<NodeId> = sim
            .process_ids()
            .filter(|id| !side.contains(id))
            .filter(|id| with_client.is_some() || replicas.contains(id))
            .collect();
        let cut = Partition::halves(&side, &rest);
        let mut faults = vec![
            (at, Fault::Partition(cut.clone())),
            (until, Fault::Heal(cut)),
        ];
        if let Some(drift_ppm) = skew_ppm {
            // The leader's clock set back by the isolation's length, and slow.
            let back = until.saturating_since(at).as_nanos() as i64;
            let node = leader;
            faults.push((
                at,
                Fault::ClockJump {
                    node,
                    delta_ns: -back,
                },
            ));
            faults.push((at, Fault::ClockDrift { node, drift_ppm }));
            faults.push((until, Fault::ClockDrift { node, drift_ppm: 0 }));
        }
        for (when, fault) in faults {
            sim.schedule_fault(when, fault.clone())
                .expect("an isolation of an existing replica is a valid fault");
            self.applied.push(TimedFault { at: when, fault });
        }
    }

    fn complete(&mut self, time: Time, outcome: &Outcome) {
        let id = outcome.id();
        let flight = self
            .in_flight
            .remove(&id)
            .unwrap_or_else(|| panic!("an outcome for operation {id}, which is not in flight"));
        let (f, key, invoked_value) = describe(&flight.request);
        let list = self.workload.config().mix == Mix::ListAppend;
        let (kind, value) = match outcome {
            Outcome::Ok { reply, .. } => {
                (EventType::Ok, completed_value(reply, invoked_value, list))
            }
            Outcome::Fail { .. } => (EventType::Fail, invoked_value),
            Outcome::Info { .. } => (EventType::Info, invoked_value),
        };
        if !flight.final_read {
            self.records.push(OpRecord {
                client: flight.client,
                arrival: flight.arrival,
                ended: Some(time),
                ok: kind == EventType::Ok,
            });
            match kind {
                EventType::Ok => {
                    self.counts.ok += 1;
                    self.latencies
                        .push(time.saturating_since(flight.invoked).as_nanos());
                }
                EventType::Fail => self.counts.fail += 1,
                EventType::Info | EventType::Invoke => self.counts.info += 1,
            }
        }
        if kind == EventType::Info {
            // Jepsen: the process might still be running the operation, so the
            // client goes on as a new process.
            let count = self.process_count();
            if let Some(slot) = self.process.iter_mut().find(|p| **p == flight.process) {
                *slot += count;
            }
        }
        self.record(
            time,
            Event {
                process: flight.process,
                kind,
                f,
                key: Some(key),
                value,
                time: Some(time.as_nanos()),
            },
            flight.final_read,
        );
    }

    fn process_count(&self) -> u64 {
        self.process.len() as u64
    }

    /// The history, in time order (ties in the order things happened).
    fn history(&self) -> History {
        let mut events = self.events.clone();
        events.sort_by_key(|(time, order, _, _)| (time.as_nanos(), *order));
        let mut history = History::default();
        for (line, (_, _, event, final_read)) in events.into_iter().enumerate() {
            if final_read {
                history.finals.push(line);
            }
            history.push(event, line + 1);
        }
        history
    }

    fn applied_plan(&self) -> FaultPlan {
        let mut faults = self.applied.clone();
        faults.sort_by_key(|f| f.at.as_nanos());
        FaultPlan { faults }
    }
}

/// Whoever leads in the highest term (a deposed leader may still think it leads);
/// the lowest-numbered one among equals; `None` if nobody leads.
fn leader<R: Replica, C: sim_core::Node<Msg = R::Msg>>(sim: &Sim<R, C>) -> Option<NodeId> {
    let mut leader: Option<(u64, NodeId)> = None;
    for id in sim.replica_ids() {
        if let Some(r) = sim.replica(id)
            && r.leads()
            && leader.is_none_or(|(term, _)| r.term() > term)
        {
            leader = Some((r.term(), id));
        }
    }
    leader.map(|(_, id)| id)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Active,
    Quiet { until: Time },
    FinalReads,
}

/// A request as a history event's function, key and invocation value.
fn describe(request: &Request) -> (Function, HValue, HValue) {
    let int = |v: u64| HValue::Int(v as i64);
    match *request {
        Request::Read { key } => (Function::Read, int(key), HValue::Nil),
        Request::Write { key, value } => (Function::Write, int(key), int(value)),
        Request::Cas { key, from, to } => (
            Function::Cas,
            int(key),
            HValue::List(vec![int(from), int(to)]),
        ),
        Request::Append { key, value } => (Function::Append, int(key), int(value)),
    }
}

/// The value an `ok` event carries: what was read, or the invocation's value.
fn completed_value(reply: &Reply, invoked: HValue, list: bool) -> HValue {
    let int = |v: u64| HValue::Int(v as i64);
    match reply {
        Reply::Read(None) if list => HValue::List(Vec::new()),
        Reply::Read(None) => HValue::Nil,
        Reply::Read(Some(v)) => int(*v),
        Reply::ReadList(items) => HValue::List(items.iter().copied().map(int).collect()),
        Reply::Written | Reply::Swapped | Reply::Appended | Reply::CasMismatch(_) => invoked,
    }
}

/// Judges the guarantees `checks` asks for on `history` (convergence and lost writes
/// from the reads it marks final).
pub fn judge(
    info: &ModelInfo,
    mix: Mix,
    history: &History,
    checks: Checks,
) -> Vec<GuaranteeVerdict> {
    let role = |g: Guarantee| {
        if info.promises.contains(&g) {
            Role::Promised
        } else if info.breaks.contains(&g) {
            Role::Broken
        } else {
            Role::Measured
        }
    };
    let wanted: Vec<Guarantee> = ALL_GUARANTEES
        .into_iter()
        .filter(|&g| match checks {
            Checks::All => true,
            Checks::Promised => role(g) != Role::Measured,
            Checks::None => false,
        })
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let ops = match history.operations("history") {
        Ok(ops) => ops,
        Err(e) => panic!("the runner recorded a malformed history: {e}"),
    };
    let mut out = Vec::new();
    let sessions = wanted
        .iter()
        .any(|g| session_guarantee(*g).is_some())
        .then(|| check_sessions(history, &ops));
    let convergence = wanted
        .iter()
        .any(|g| matches!(g, Guarantee::Convergence | Guarantee::NoLostWrites))
        .then(|| check_convergence(history, &ops));
    for g in wanted {
        let judgement = match g {
            Guarantee::Linearizable => linearizable(history, mix),
            Guarantee::Convergence => {
                let report = convergence.as_ref().expect("computed above");
                let diverged: Vec<String> = report
                    .keys
                    .iter()
                    .filter(|k| !k.converged)
                    .flat_map(|k| k.problems.iter().cloned())
                    .collect();
                if report.keys.iter().all(|k| k.final_reads.is_empty()) {
                    Judgement::NotApplicable {
                        reason: "no final reads completed".to_owned(),
                    }
                } else if diverged.is_empty() {
                    Judgement::Ok
                } else {
                    Judgement::Violation {
                        explanation: diverged.join(" "),
                    }
                }
            }
            Guarantee::NoLostWrites => {
                let report = convergence.as_ref().expect("computed above");
                let lost: Vec<String> = report
                    .keys
                    .iter()
                    .filter(|k| {
                        k.elements
                            .get(&checkers::convergence::Fate::Lost)
                            .is_some_and(|l| !l.is_empty())
                            || !k.lost_updates.is_empty()
                    })
                    .flat_map(|k| k.problems.iter().cloned())
                    .collect();
                if lost.is_empty() {
                    Judgement::Ok
                } else {
                    Judgement::Violation {
                        explanation: lost.join(" "),
                    }
                }
            }
            session => {
                let sg = session_guarantee(session).expect("the rest are session guarantees");
                match sessions.as_ref().expect("computed above") {
                    Err(e) => Judgement::NotApplicable {
                        reason: e.to_string(),
                    },
                    Ok(report) => {
                        let anomalies = report
                            .results
                            .iter()
                            .find(|(g, _)| *g == sg)
                            .map(|(_, a)| a.as_slice())
                            .unwrap_or_default();
                        match anomalies.first() {
                            None => Judgement::Ok,
                            Some(a) => Judgement::Violation {
                                explanation: a.explanation.clone(),
                            },
                        }
                    }
                }
            }
        };
        out.push(GuaranteeVerdict {
            guarantee: g,
            role: role(g),
            judgement,
        });
    }
    out
}

/// Every guarantee, in the order reports show them.
pub const ALL_GUARANTEES: [Guarantee; 7] = [
    Guarantee::Linearizable,
    Guarantee::ReadYourWrites,
    Guarantee::MonotonicReads,
    Guarantee::MonotonicWrites,
    Guarantee::WritesFollowReads,
    Guarantee::Convergence,
    Guarantee::NoLostWrites,
];

fn session_guarantee(g: Guarantee) -> Option<SessionGuarantee> {
    match g {
        Guarantee::ReadYourWrites => Some(SessionGuarantee::ReadYourWrites),
        Guarantee::MonotonicReads => Some(SessionGuarantee::MonotonicReads),
        Guarantee::MonotonicWrites => Some(SessionGuarantee::MonotonicWrites),
        Guarantee::WritesFollowReads => Some(SessionGuarantee::WritesFollowReads),
        _ => None,
    }
}

/// The linearizability budget per run: no wall clock (a run's verdict must not depend
/// on the machine), only the search's memory.
fn linearizable(history: &History, mix: Mix) -> Judgement {
    let options = Options {
        timeout: None,
        max_memory_bytes: 256 << 20,
        threads: 1,
        ..Options::default()
    };
    let model = match mix {
        Mix::ListAppend => ModelName::ListAppend,
        Mix::Register | Mix::Kv => ModelName::Kv,
    };
    let checked = match check_history(history.clone(), "history", Some(model), &options) {
        Ok(checked) => checked,
        Err(e) => panic!("the runner recorded a history the checker refuses: {e}"),
    };
    let search = match checked.report.verdict() {
        Verdict::Ok => return Judgement::Ok,
        Verdict::Unknown => Judgement::Unknown {
            reason: checked
                .report
                .keys
                .iter()
                .find_map(|k| match &k.outcome {
                    LinOutcome::Unknown { reason } => Some(reason.clone()),
                    _ => None,
                })
                .unwrap_or_default(),
        },
        Verdict::Violation => Judgement::Violation {
            explanation: checked
                .report
                .keys
                .iter()
                .find_map(|k| match &k.outcome {
                    LinOutcome::Violation(v) => Some(format!(
                        "key {}: {}",
                        k.key.as_ref().map_or("-".to_owned(), ToString::to_string),
                        v.sentence
                    )),
                    _ => None,
                })
                .unwrap_or_default(),
        },
    };
    match witness(history, mix) {
        Some(witness) => Judgement::Violation {
            explanation: match search {
                Judgement::Violation { explanation } => {
                    format!("{witness} (the linearizability search: {explanation})")
                }
                _ => witness,
            },
        },
        None => search,
    }
}

/// For a history the linearizability search rejects (or gives up on): the first
/// anomaly it proves outright ([`checkers::proof::proofs`]), in sentences. Every one
/// rules linearizability out, and a stale read or a cycle through real-time order
/// ("T2 completed before T3 was invoked; T3 read the list without T1's append") is a
/// witness a person can follow, where the search can only say where it got stuck.
/// `None` if the history proves nothing outright (the search's verdict then stands
/// alone).
fn witness(history: &History, mix: Mix) -> Option<String> {
    let ops = history.operations("history").ok()?;
    let first = checkers::proof::proofs(history, &ops, mix == Mix::ListAppend)
        .into_iter()
        .next()?;
    Some(first.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stale read: process 1 reads key 0 without the append process 0 finished
    /// before the read began.
    const STALE_APPEND: &str = r#"{"process":0,"type":"invoke","f":"append","key":0,"value":1,"time":0}
{"process":0,"type":"ok","f":"append","key":0,"value":1,"time":10}
{"process":1,"type":"invoke","f":"read","key":0,"value":null,"time":20}
{"process":1,"type":"ok","f":"read","key":0,"value":[],"time":30}
"#;

    #[test]
    fn a_list_append_violation_is_explained_by_the_dependency_cycle() {
        let history = History::from_jsonl(STALE_APPEND, "stale").unwrap();
        let Judgement::Violation { explanation } = linearizable(&history, Mix::ListAppend) else {
            panic!("a stale read judged linearizable");
        };
        assert!(
            explanation.starts_with("G-single-item-realtime: "),
            "{explanation}"
        );
        assert!(explanation.contains("completed"), "{explanation}");
        assert!(
            explanation.contains("(the linearizability search: key 0: "),
            "{explanation}"
        );
        // The same history without the stale read is fine, and gets no witness.
        let fine: String = STALE_APPEND
            .lines()
            .take(2)
            .map(|l| format!("{l}\n"))
            .collect();
        let fine = History::from_jsonl(&fine, "fine").unwrap();
        assert_eq!(linearizable(&fine, Mix::ListAppend), Judgement::Ok);
    }

    #[test]
    fn an_unknown_model_lists_the_valid_ones() {
        let err = run(&RunConfig::new("raft-typo", 1)).unwrap_err();
        assert!(err.to_string().contains("single-copy"), "{err}");
        assert!(err.to_string().contains("relay"), "{err}");
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
        let r7 = run(&RunConfig::new("relay", 7)).unwrap();
        let r8 = run(&RunConfig::new("relay", 8)).unwrap();
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

    const PINNED_SINGLE_COPY_7: &str = "51aab78311f294c6";

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut samples: Vec<u64> = (1..=100).map(|ms| ms * 1_000_000).collect();
        let l = latencies(&mut samples).unwrap();
        assert_eq!((l.p50_ms, l.p99_ms, l.max_ms), (50.0, 99.0, 100.0));
        assert_eq!(latencies(&mut []), None);
    }
}
