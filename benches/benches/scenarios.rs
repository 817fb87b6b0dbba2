//! Whole checked runs: model + workload + swarm nemesis + checkers, as `consim sweep`
//! runs them, reported as seeds per second on one core (a sweep multiplies this by
//! its jobs, up to the cores it has).
//!
//! The target is a 5-node Raft scenario with 200 client operations under the
//! swarm nemesis, checked: ≥ 500 seeds/s on the 2 cores of the reference machine.
//! `cargo bench -p benches --bench scenarios`; the same through the binary, on every
//! core: `cargo run --release -- sweep --model raft --scenario swarm --seeds 0..2000`.

use consim::config::RunConfig;
use consim::nemesis::Nemesis;
use consim::run::run;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SEEDS: u64 = 50;

fn checked_runs(c: &mut Criterion) {
    let mut group = c.benchmark_group("scenarios");
    group.throughput(Throughput::Elements(SEEDS));
    group.sample_size(10);
    for model in ["single-copy", "raft", "primary-async", "dynamo"] {
        if models::find(model).is_none() {
            continue;
        }
        group.bench_function(format!("{model}-swarm-200-ops-checked"), |b| {
            b.iter(|| {
                let mut events = 0;
                for seed in 0..SEEDS {
                    let mut config = RunConfig::new(model, seed);
                    config.nemesis = Nemesis::Swarm;
                    let report = run(&config).expect("a valid configuration");
                    events += report.stats.events;
                }
                events
            })
        });
    }
    group.finish();
}

criterion_group!(benches, checked_runs);
criterion_main!(benches);
