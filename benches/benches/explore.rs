//! Exhaustive exploration (`consim explore`): a whole search of a small ABD
//! configuration to exhaustion, reported as searches per second; each search sees a
//! pinned number of states, so states per second is that count times the rate.
//! With ignored messages taken out (the default) `w/w` has 5,658 states and `w/r`
//! 1,962; kept in flight, 76,780 and 14,556. With and without the sleep-set reduction,
//! breadth and depth first, so their costs are measured side by side.
//!
//! DPOR (`--reduction dpor`) keeps late messages in flight (it cannot take them out)
//! and takes many schedules through each state; its rate is given per state of the
//! same space as the others, so the reductions' figures compare as time per search.
//!
//! The group `explore-abd-wr-wr` is stateright's `linearizable-register check 2` (3
//! servers, 2 clients, a put then a get each), the peer the issue names: one search,
//! depth first with sleep sets, of 2,929,929 states (about 15 s here; ten samples).
//!
//! `cargo bench -p benches --bench explore`.

use consim::explore::{ExploreConfig, ExploreOutcome, explore};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim_core::explore::{Budget, Order, Reduction};

fn config(pattern: &str, reduction: Reduction, order: Order, keep_ignored: bool) -> ExploreConfig {
    ExploreConfig {
        model: "abd".to_owned(),
        params: Vec::new(),
        pattern: pattern.parse().expect("a valid pattern"),
        budget: Budget::default(),
        reduction,
        keep_ignored,
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
    for (pattern, states, all) in [("w/r", 1_962, 14_556), ("w/w", 5_658, 76_780)] {
        for (name, reduction, order, keep_ignored) in [
            (
                "sleep-sets-bfs",
                Reduction::SleepSets,
                Order::BreadthFirst,
                false,
            ),
            (
                "sleep-sets-dfs",
                Reduction::SleepSets,
                Order::DepthFirst,
                false,
            ),
            ("none-bfs", Reduction::None, Order::BreadthFirst, false),
            ("dpor", Reduction::Dpor, Order::DepthFirst, false),
            ("none-kept-bfs", Reduction::None, Order::BreadthFirst, true),
        ] {
            let config = config(pattern, reduction, order, keep_ignored);
            let states = if keep_ignored { all } else { states };
            group.throughput(Throughput::Elements(states));
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

fn stateright_configuration(c: &mut Criterion) {
    let mut group = c.benchmark_group("explore-abd-wr-wr");
    group.sample_size(10);
    group.throughput(Throughput::Elements(2_929_929));
    let config = config("wr/wr", Reduction::SleepSets, Order::DepthFirst, false);
    group.bench_function("sleep-sets-dfs", |b| {
        b.iter(|| {
            let report =
                explore(&models::Builtin, &config, &mut || None).expect("abd offers exploration");
            assert!(matches!(report.outcome, ExploreOutcome::Ok));
            assert_eq!(report.stats.states, 2_929_929, "the pinned space");
            report.stats.transitions
        })
    });
    group.finish();
}

criterion_group!(benches, searches, stateright_configuration);
criterion_main!(benches);
