//! Where a raft swarm sweep's time goes, on one core.
//!
//! A sweep's seeds per second is consim's bug-finding rate; this splits a checked
//! raft run (swarm nemesis, 200 operations, the default sweep) into what can be
//! measured apart without a profiler:
//!
//! - **simulation**: the run with no guarantee judged and the model's invariants
//!   switched off — the kernel, raft's handlers, the clients, the driver and the
//!   history it records;
//! - **invariants**: raft's cross-replica properties (one leader per term, committed
//!   entries agree), checked after every event that changed a replica: the run with
//!   them, less the run without;
//! - **checkers**: the checked run less the unchecked one; and each checker timed
//!   alone on the same runs' histories (linearizability; the four session guarantees,
//!   one pass; convergence and lost writes, one pass; duplicate effects).
//!
//! Each figure is the median of five timed passes over the same seeds (the runs are the
//! same every pass). How the simulation's own share divides between the kernel, raft
//! and the clients needs a profiler (`perf record --call-graph fp` on a frame-pointer
//! build of `consim sweep --jobs 1`); the kernel alone runs at `consim bench kernel`'s
//! rate. `cargo bench -p benches --bench breakdown`.

/// The `consim` binary's allocator, so these rates are the command's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::time::Instant;

use checkers::history::History;
use consim::config::{Checks, RunConfig};
use consim::judge::judge_only;
use consim::nemesis::Nemesis;
use consim::run::run_with;
use consim::workload::Mix;
use criterion::{Criterion, criterion_group, criterion_main};
use models::{Guarantee, Model, ModelInfo, Params};

const SEEDS: u64 = 100;
const PASSES: usize = 5;

/// A model with its invariants switched off: everything else is the model's.
struct NoInvariants<M>(M);

impl<M: Model> Model for NoInvariants<M> {
    type Replica = M::Replica;

    fn replicas(&self) -> Vec<<Self::Replica as sim_core::Node>::Config> {
        self.0.replicas()
    }

    fn routing(&self) -> models::client::Routing {
        self.0.routing()
    }

    fn client(&self, base: models::client::ClientConfig) -> models::client::ClientConfig {
        self.0.client(base)
    }
}

/// The seeds' configurations: raft under swarm, judged as `checks` says.
fn configs(checks: Checks) -> Vec<RunConfig> {
    (0..SEEDS)
        .map(|seed| {
            let mut config = RunConfig::new("raft", seed);
            config.nemesis = Nemesis::Swarm;
            config.checks = checks;
            config
        })
        .collect()
}

/// Runs every configuration with `model`; the runs' trace hashes and histories.
fn pass<M: Model>(model: &M, info: &ModelInfo, configs: &[RunConfig]) -> Vec<(u64, History)> {
    configs
        .iter()
        .map(|config| {
            let report = run_with(config, model, info).expect("a valid configuration");
            (report.trace_hash, report.history)
        })
        .collect()
}

/// The median over [`PASSES`] of how long `f` takes, in seconds.
fn median_secs(mut f: impl FnMut()) -> f64 {
    let mut secs: Vec<f64> = (0..PASSES)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    secs.sort_by(f64::total_cmp);
    secs[PASSES / 2]
}

/// The checkers, as the runner groups them: one line each.
const CHECKERS: [(&str, &[Guarantee]); 4] = [
    ("linearizability", &[Guarantee::Linearizable]),
    (
        "session guarantees (one pass)",
        &[
            Guarantee::ReadYourWrites,
            Guarantee::MonotonicReads,
            Guarantee::MonotonicWrites,
            Guarantee::WritesFollowReads,
        ],
    ),
    (
        "convergence and lost writes (one pass)",
        &[Guarantee::Convergence, Guarantee::NoLostWrites],
    ),
    ("duplicate effects", &[Guarantee::NoDuplicateEffects]),
];

fn breakdown(_: &mut Criterion) {
    let raft = models::raft::RAFT
        .model(&Params::default())
        .expect("raft's defaults");
    let info = models::raft::RAFT.info();
    let (checked, unchecked) = (configs(Checks::Promised), configs(Checks::None));
    let whole = median_secs(|| drop(pass(&raft, &info, &checked)));
    let simulated = median_secs(|| drop(pass(&raft, &info, &unchecked)));
    let bare = NoInvariants(
        models::raft::RAFT
            .model(&Params::default())
            .expect("raft's defaults"),
    );
    let simulation = median_secs(|| drop(pass(&bare, &info, &unchecked)));
    let runs = pass(&raft, &info, &unchecked);
    let hashes = |runs: &[(u64, History)]| runs.iter().map(|r| r.0).collect::<Vec<_>>();
    // The parts are of the same runs: invariants and checkers only look.
    assert_eq!(hashes(&runs), hashes(&pass(&bare, &info, &unchecked)));
    assert_eq!(hashes(&runs), hashes(&pass(&raft, &info, &checked)));
    let mut out = std::io::stdout().lock();
    let mut line = |what: &str, secs: f64| {
        writeln!(
            out,
            "{what:<48} {:>7.1} ms/seed {:>5.1}%",
            secs * 1e3 / SEEDS as f64,
            100.0 * secs / whole
        )
        .expect("stdout");
    };
    line("whole checked run (raft, swarm, 200 operations)", whole);
    line("simulation (kernel, raft, clients, driver)", simulation);
    line("invariants", simulated - simulation);
    line("checkers (checked run less unchecked)", whole - simulated);
    for (name, wanted) in CHECKERS {
        let secs = median_secs(|| {
            for (_, history) in &runs {
                std::hint::black_box(judge_only(&info, Mix::ListAppend, history, wanted));
            }
        });
        line(&format!("  {name}"), secs);
    }
}

criterion_group!(benches, breakdown);
criterion_main!(benches);
