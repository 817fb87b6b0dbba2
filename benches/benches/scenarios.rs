//! Whole checked runs: model + workload + swarm nemesis + checkers, as `consim sweep`
//! runs them, on one core (a sweep multiplies this by its jobs, up to the cores it
//! has), for every correct model of the catalog.
//!
//! Two reports: criterion's time per 50 seeds (`scenarios/MODEL-swarm-200-ops-checked`,
//! its throughput in seeds), and a table printed before it, one line per model: seeds
//! per second, events per second and simulated-to-real time, each the median of five
//! timed passes over the same 50 seeds (the runs are the same every pass, so their
//! events and simulated time are counted once).
//! `cargo bench -p benches --bench scenarios`; the same through the binary, on every
//! core: `cargo run --release -- sweep --model raft --scenario swarm --seeds 0..2000`.

/// The `consim` binary's allocator, so these rates are the command's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::time::Instant;

use consim::config::RunConfig;
use consim::nemesis::Nemesis;
use consim::run::run;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SEEDS: u64 = 50;
const PASSES: usize = 5;

/// The catalog's correct models (not bug variants).
fn correct_models() -> Vec<&'static str> {
    models::correct_models().map(|m| m.name).collect()
}

/// Runs seeds `0..SEEDS` of `model` under swarm: events and simulated nanoseconds.
fn pass(model: &str) -> (u64, u128) {
    let (mut events, mut simulated) = (0, 0);
    for seed in 0..SEEDS {
        let mut config = RunConfig::new(model, seed);
        config.nemesis = Nemesis::Swarm;
        let report = run(&config).expect("a valid configuration");
        events += report.stats.events;
        simulated += u128::from(report.simulated.as_nanos());
    }
    (events, simulated)
}

/// Seeds/s, events/s and simulated-to-real time per model, printed as a table.
fn rates(_: &mut Criterion) {
    let mut out = std::io::stdout().lock();
    let mut line = |text: String| writeln!(out, "{text}").expect("stdout");
    line(format!(
        "model | seeds/s | events/s | simulated-to-real (one core, median of {PASSES})"
    ));
    for model in correct_models() {
        let (events, simulated) = pass(model);
        let mut seconds: Vec<f64> = (0..PASSES)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(pass(model));
                start.elapsed().as_secs_f64()
            })
            .collect();
        seconds.sort_by(f64::total_cmp);
        let median = seconds[PASSES / 2];
        line(format!(
            "{model} | {:.0} | {:.2}M | {:.0}x",
            SEEDS as f64 / median,
            events as f64 / median / 1e6,
            simulated as f64 / 1e9 / median
        ));
    }
}

fn checked_runs(c: &mut Criterion) {
    let mut group = c.benchmark_group("scenarios");
    group.throughput(Throughput::Elements(SEEDS));
    group.sample_size(10);
    for model in correct_models() {
        group.bench_function(format!("{model}-swarm-200-ops-checked"), |b| {
            b.iter(|| pass(model))
        });
    }
    group.finish();
}

criterion_group!(benches, rates, checked_runs);
criterion_main!(benches);
