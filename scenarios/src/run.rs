//! One run: a model, a seed, a fault plan and a workload → what happened.

use models::client::{Client, ClientConfig, RetryPolicy};
use models::kv::Outcome;
use models::relay::{Relay, RelayConfig};
use models::{Model, ModelError, ModelVisitor, Params, Replica};
use serde::Serialize;
use sim_core::{BuildError, Duration, FaultPlan, NodeId, Sim, Stats, Time, TraceEvent};

use crate::kernel_bench::RELAY_NODES;
use crate::workload::{Workload, WorkloadConfig};

/// How long a run may go on in simulated time before the runner stops it.
pub const SIMULATED_TIME_LIMIT: Duration = Duration::from_secs(3_600);

/// How long a `relay` run lasts in simulated time.
pub const RELAY_DURATION: Duration = Duration::from_secs(10);

/// What to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// A model name from [`models::catalog`].
    pub model: String,
    /// The run seed.
    pub seed: u64,
    /// The faults to apply.
    pub plan: FaultPlan,
    /// Whether to record the full trace.
    pub trace: bool,
    /// The workload (ignored by models without clients).
    pub workload: WorkloadConfig,
    /// How many clients (ignored by models without clients).
    pub clients: u32,
    /// How long clients wait for a reply.
    pub client_timeout: Duration,
}

impl RunConfig {
    /// The defaults for `model` and `seed`: no faults, 3 clients, 200 operations.
    pub fn new(model: &str, seed: u64) -> RunConfig {
        RunConfig {
            model: model.to_owned(),
            seed,
            plan: FaultPlan::default(),
            trace: false,
            workload: WorkloadConfig::default(),
            clients: 3,
            client_timeout: Duration::from_millis(500),
        }
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
    /// Never ended (its client crashed).
    pub unfinished: u64,
}

/// What a run did.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// The model run.
    pub model: String,
    /// The run seed.
    pub seed: u64,
    /// Simulated time at the end.
    pub simulated: Time,
    /// The trace hash: same seed and build, same hash.
    pub trace_hash: u64,
    /// The kernel's counters.
    pub stats: Stats,
    /// How operations ended.
    pub ops: OpCounts,
    /// The full trace, if asked for.
    #[serde(skip)]
    pub trace: Option<Vec<TraceEvent>>,
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
/// # Ok::<(), scenarios::run::RunError>(())
/// ```
pub fn run(config: &RunConfig) -> Result<RunReport, RunError> {
    match config.model.as_str() {
        "relay" => run_relay(config),
        name => match models::visit(name, &Params::default(), Visitor { config }) {
            Ok(result) => result,
            Err(ModelError::UnknownModel { name, .. }) => Err(RunError::UnknownModel {
                name,
                valid: models::catalog().iter().map(|m| m.name).collect(),
            }),
            Err(e) => Err(e.into()),
        },
    }
}

struct Visitor<'a> {
    config: &'a RunConfig,
}

impl ModelVisitor for Visitor<'_> {
    type Output = Result<RunReport, RunError>;

    fn visit<M: Model>(self, model: M) -> Self::Output {
        run_model(self.config, &model)
    }
}

fn run_relay(config: &RunConfig) -> Result<RunReport, RunError> {
    let mut builder = Sim::<Relay>::builder(config.seed)
        .plan(config.plan.clone())
        .trace(config.trace);
    for _ in 0..RELAY_NODES {
        builder = builder.replica(RelayConfig { nodes: RELAY_NODES });
    }
    let mut sim = builder.build()?;
    sim.run_until(Time::ZERO + RELAY_DURATION);
    Ok(report(config, &sim, OpCounts::default()))
}

fn run_model<M: Model>(config: &RunConfig, model: &M) -> Result<RunReport, RunError> {
    type C<M> = Client<<<M as Model>::Replica as Replica>::Peer>;
    let replicas = model.replicas();
    let ids: Vec<NodeId> = (0..replicas.len() as u32).map(NodeId).collect();
    let mut builder = Sim::<M::Replica, C<M>>::with_clients(config.seed)
        .plan(config.plan.clone())
        .trace(config.trace);
    for replica in replicas {
        builder = builder.replica(replica);
    }
    for i in 0..config.clients {
        let mut client = ClientConfig::new(ids.clone(), i as usize, model.routing());
        client.timeout = config.client_timeout;
        client.retry = RetryPolicy::never();
        builder = builder.client(model.client(client));
    }
    let mut sim = builder.build()?;
    let ops = drive(&mut sim, Workload::new(config.seed, config.workload));
    Ok(report(config, &sim, ops))
}

/// Runs a closed loop: every client gets an operation at the start and a new one
/// each time its last one ends, until the workload is spent and every operation ended
/// (or nothing is left to happen, or the time limit passed).
fn drive<R, P>(sim: &mut Sim<R, Client<P>>, mut workload: Workload) -> OpCounts
where
    R: Replica<Peer = P>,
    P: Clone + std::fmt::Debug,
{
    let mut counts = OpCounts::default();
    let clients: Vec<NodeId> = sim.client_ids().collect();
    for &client in &clients {
        if let Some(op) = workload.next_op() {
            sim.input_client(client, sim.now(), op);
        }
    }
    let deadline = Time::ZERO + SIMULATED_TIME_LIMIT;
    let mut ended = 0;
    while ended < workload.issued() && sim.next_event_time().is_some_and(|t| t <= deadline) {
        sim.step();
        let outputs: Vec<_> = sim.drain_client_outputs().collect();
        for emitted in outputs {
            ended += 1;
            match emitted.output {
                Outcome::Ok { .. } => counts.ok += 1,
                Outcome::Fail { .. } => counts.fail += 1,
                Outcome::Info { .. } => counts.info += 1,
            }
            if let Some(op) = workload.next_op() {
                sim.input_client(emitted.node, sim.now(), op);
            }
        }
    }
    counts.unfinished = workload.issued() - ended;
    counts
}

fn report<R, C>(config: &RunConfig, sim: &Sim<R, C>, ops: OpCounts) -> RunReport
where
    R: sim_core::Node,
    C: sim_core::Node<Msg = R::Msg>,
{
    RunReport {
        model: config.model.clone(),
        seed: config.seed,
        simulated: sim.now(),
        trace_hash: sim.trace_hash(),
        stats: sim.stats().clone(),
        ops,
        trace: sim.trace().map(<[TraceEvent]>::to_vec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::Fault;

    #[test]
    fn an_unknown_model_lists_the_valid_ones() {
        let err = run(&RunConfig::new("raft-typo", 1)).unwrap_err();
        assert!(err.to_string().contains("single-copy"), "{err}");
        assert!(err.to_string().contains("relay"), "{err}");
    }

    #[test]
    fn a_server_crash_makes_operations_indeterminate_not_lost() {
        let mut config = RunConfig::new("single-copy", 3);
        config.plan.push(
            Time::ZERO + Duration::from_millis(200),
            Fault::Crash { node: NodeId(0) },
        );
        let report = run(&config).unwrap();
        assert!(report.ops.info > 0, "{:?}", report.ops);
        assert!(report.ops.ok > 0, "{:?}", report.ops);
        assert_eq!(report.ops.unfinished, 0);
        assert_eq!(report.ops.ok + report.ops.fail + report.ops.info, 200);
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
}
