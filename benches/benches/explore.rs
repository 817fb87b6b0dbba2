//! Exhaustive exploration (`consim explore`): a whole search of a small ABD
//! configuration to exhaustion, reported as searches per second; each search sees a
//! pinned number of states (76,780 for `w/w`, 14,556 for `w/r`), so states per second
//! is that count times the rate. With and without the sleep-set reduction, breadth and
//! depth first, so their costs are measured side by side.
//!
//! DPOR (`--reduction dpor`) visits fewer states (24,049 on `w/w`, 3,543 on `w/r`)
//! and takes many schedules through each; its rate is given per state of the full
//! space as well, so the reductions' figures compare as time per search.
//!
//! `cargo bench -p benches --bench explore`. stateright's `linearizable-register
//! check 2` (3 servers, 2 clients, a put then a get each) is the peer the issue names;
//! its configuration is `--pattern wr/wr`, a search of minutes either way, measured
//! with the commands the book's *Every schedule of a small system* gives.

use consim::explore::{ExploreConfig, ExploreOutcome, explore};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim_core::explore::{Budget, Order, Reduction};

fn config(pattern: &str, reduction: Reduction, order: Order) -> ExploreConfig {
    ExploreConfig {
        model: "abd".to_owned(),
        params: Vec::new(),
        pattern: pattern.parse().expect("a valid pattern"),
        budget: Budget::default(),
        reduction,
        order,
        max_states: 10_000_000,
        seed: 0,
        timeout_ms: 500,
        attempts: 1,
    }
}

fn searches(c: &mut Criterion) {
    let mut group = c.benchmark_group("explore-abd");
    group.sample_size(10);
    for (pattern, states) in [("w/r", 14_556), ("w/w", 76_780)] {
        group.throughput(Throughput::Elements(states));
        for (name, reduction, order) in [
            ("sleep-sets-bfs", Reduction::SleepSets, Order::BreadthFirst),
            ("sleep-sets-dfs", Reduction::SleepSets, Order::DepthFirst),
            ("none-bfs", Reduction::None, Order::BreadthFirst),
            ("dpor", Reduction::Dpor, Order::DepthFirst),
        ] {
            let config = config(pattern, reduction, order);
            group.bench_function(format!("{}-{name}", pattern.replace('/', "_")), |b| {
                b.iter(|| {
                    let report = explore(&models::Builtin, &config, &mut || None)
                        .expect("abd offers exploration");
                    assert!(matches!(report.outcome, ExploreOutcome::Ok));
                    if reduction != Reduction::Dpor {
                        assert_eq!(report.stats.states, states, "the pinned space");
                    }
                    report.stats.transitions
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, searches);
criterion_main!(benches);
