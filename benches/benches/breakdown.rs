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
//! Each figure is the median of nine timed passes over the same seeds (the runs are the
//! same every pass); the three whole-run measures take turns, pass by pass, so that the
//! differences between them (the invariants, the checkers) are not the machine's
//! drift. The invariants' line holds what checking them after every event costs, the
//! runner's look at which replicas changed included. How the simulation's own share
//! divides between the kernel, raft and the clients needs a profiler (`perf record
//! --call-graph dwarf` on `consim sweep --jobs 1`); the kernel alone runs at `consim
//! bench kernel`'s rate. `cargo bench -p benches --bench breakdown`.

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
const PASSES: usize = 9;

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

/// How long `f` takes, in seconds.
fn secs(f: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

/// The median over [`PASSES`] of how long `f` takes, in seconds.
fn median_secs(mut f: impl FnMut()) -> f64 {
    medians(&mut [&mut f])[0]
}

/// The median over [`PASSES`] of how long each of `fs` takes, in seconds, the passes
/// taking turns (`fs[0]`, `fs[1]`, …, then again), so that a machine that speeds up or
/// slows down during the measure does so for all of them alike: the parts are told
/// apart by subtracting one median from another.
fn medians(fs: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    let mut times = vec![Vec::with_capacity(PASSES); fs.len()];
    for _ in 0..PASSES {
        for (f, times) in fs.iter_mut().zip(&mut times) {
            times.push(secs(*f));
        }
    }
    times
        .into_iter()
        .map(|mut times| {
            times.sort_by(f64::total_cmp);
            times[PASSES / 2]
        })
        .collect()
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
    let bare = NoInvariants(
        models::raft::RAFT
            .model(&Params::default())
            .expect("raft's defaults"),
    );
    let [whole, simulated, simulation] = medians(&mut [
        &mut || drop(pass(&raft, &info, &checked)),
        &mut || drop(pass(&raft, &info, &unchecked)),
        &mut || drop(pass(&bare, &info, &unchecked)),
    ])[..] else {
        unreachable!("three measures")
    };
    let runs = pass(&raft, &info, &unchecked);
    let hashes = |runs: &[(u64, History)]| runs.iter().map(|r| r.0).collect::<Vec<_>>();
    // The parts are of the same runs: invariants and checkers only look.
    assert_eq!(hashes(&runs), hashes(&pass(&bare, &info, &unchecked)));
    assert_eq!(hashes(&runs), hashes(&pass(&raft, &info, &checked)));
    let mut out = std::io::stdout().lock();
    let mut line = |what: &str, secs: f64| {
        writeln!(
            out,
            "{what:<48} {:>7.0} µs/seed {:>5.1}%",
            secs * 1e6 / SEEDS as f64,
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
