//! The kernel's relay benchmark (see `consim::kernel_bench`): 5 nodes, every
//! delivery answered by one more message to a random node, turmoil's latency model,
//! no faults, trace off, hash on. Reported as deliveries per second, beside the same
//! workload as a bare `BinaryHeap` + ChaCha8 loop (`kernel_bench::bare_relay`), the
//! kernel's ceiling: their ratio is how close the kernel comes to it.
//!
//! `cargo bench -p benches --bench kernel`; the same workload without criterion:
//! `cargo run --release -- bench kernel`.

use consim::kernel_bench;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const DELIVERIES: u64 = 1_000_000;

fn relay(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernel");
    group.throughput(Throughput::Elements(DELIVERIES));
    group.sample_size(20);
    group.bench_function("relay-5-nodes-1M-deliveries", |b| {
        b.iter(|| {
            let run = kernel_bench::relay(1, DELIVERIES).expect("the relay configuration is valid");
            assert_eq!(run.deliveries, DELIVERIES);
            run.trace_hash
        })
    });
    group.bench_function("bare-loop-5-nodes-1M-deliveries", |b| {
        b.iter(|| {
            let run = kernel_bench::bare_relay(1, DELIVERIES);
            assert_eq!(run.deliveries, DELIVERIES);
            run.hash
        })
    });
    group.finish();
}

criterion_group!(benches, relay);
criterion_main!(benches);
