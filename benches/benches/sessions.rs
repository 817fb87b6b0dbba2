//! The session-guarantee checks on a 100,000-operation list-append history with 50
//! sessions and 100 keys, recorded from a single-copy store (so every check runs to the
//! end). Target: at least 1 M operations/s, memory linear in the history. Keys are
//! checked on every core for a history this large; measured on this 2-core machine:
//! about 1.9 M ops/s (51-53 ms), about 1.0 M ops/s on one core (the comparison of
//! each read's list with the one before it, memory-bound, is three quarters of it).
//!
//! The dependency-graph engine (`checkers::elle`) on the same history: inference,
//! graph and Tarjan, linear in the history (its reads hold 12.5 M list elements, each
//! compared once). Measured on a shared 2-core machine: 0.72 M ops/s alone, 0.41 M
//! ops/s with the session guarantees, 0.23 M ops/s on stale reads that make the whole
//! graph one strongly connected component (nine restricted Tarjan passes and the cycle
//! searches).
//!
//! `cargo bench -p benches --bench sessions`

use checkers::history::{Event, EventType, Function, History, Value};
use checkers::session::check_sessions;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const OPS: usize = 100_000;
const SESSIONS: u64 = 50;
const KEYS: i64 = 100;

/// A deterministic history: a single copy of every key, operations in a fixed
/// pseudo-random order (splitmix64), half appends, half reads.
fn history() -> History {
    lagging_history(0)
}

/// The same, but each read misses up to `lag` of the latest appends of its key (a
/// stale replica): the dependency graph is one strongly connected component.
fn lagging_history(lag: u64) -> History {
    let mut state = 0x5EED_u64;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut lists: Vec<Vec<Value>> = vec![Vec::new(); KEYS as usize];
    let mut h = History::default();
    for i in 0..OPS {
        let r = next();
        let process = r % SESSIONS;
        let key = ((r >> 8) % KEYS as u64) as i64;
        let append = (r >> 20) % 2 == 0;
        let (f, invoke, result) = if append {
            let element = Value::Int(i as i64);
            lists[key as usize].push(element.clone());
            (Function::Append, element.clone(), element)
        } else {
            let list = &lists[key as usize];
            let missed = ((r >> 32) % (lag + 1)) as usize;
            (
                Function::Read,
                Value::Nil,
                Value::List(list[..list.len().saturating_sub(missed)].to_vec()),
            )
        };
        for (kind, value) in [(EventType::Invoke, invoke), (EventType::Ok, result)] {
            let line = h.events.len() + 1;
            h.push(
                Event {
                    process,
                    kind,
                    f,
                    key: Some(Value::Int(key)),
                    value,
                    time: None,
                },
                line,
            );
        }
    }
    h
}

fn sessions(c: &mut Criterion) {
    let h = history();
    let ops = h.operations("bench").expect("well-formed");
    let mut group = c.benchmark_group("session-guarantees");
    group.throughput(Throughput::Elements(OPS as u64));
    group.sample_size(10);
    group.bench_function("list-append-100k-ops-50-sessions-100-keys", |b| {
        b.iter(|| {
            let report = check_sessions(&h, &ops).expect("a traceable history");
            assert!(report.ok(), "a single-copy store keeps every guarantee");
            report
        })
    });
    group.finish();
}

criterion_group!(benches, sessions);

fn anomalies(c: &mut Criterion) {
    let h = history();
    let ops = h.operations("bench").expect("well-formed");
    let mut group = c.benchmark_group("list-append-anomalies");
    group.throughput(Throughput::Elements(OPS as u64));
    group.sample_size(10);
    group.bench_function("100k-ops-50-sessions-100-keys", |b| {
        b.iter(|| {
            let found = checkers::anomalies::list_append_anomalies(&h, &ops);
            assert!(found.is_empty(), "a single-copy store shows none");
            found
        })
    });
    group.finish();
}

criterion_group!(anomaly_benches, anomalies);

/// The dependency-graph engine (inference, graph, Tarjan; no cycles to search on a
/// single copy), alone and with the session guarantees as `consim check --consistency
/// elle` runs it.
fn elle(c: &mut Criterion) {
    use checkers::elle::{Options, TxnHistory, check, check_operations};
    let h = history();
    let ops = h.operations("bench").expect("well-formed");
    let txns = TxnHistory::from_operations(&h, &ops).expect("a traceable history");
    let mut group = c.benchmark_group("elle");
    group.throughput(Throughput::Elements(OPS as u64));
    group.sample_size(10);
    group.bench_function("dependency-graph-100k-ops-50-sessions-100-keys", |b| {
        b.iter(|| {
            let report = check(&txns, &Options::default()).expect("a traceable history");
            assert!(report.ok(), "a single-copy store shows no anomaly");
            report
        })
    });
    group.bench_function("with-sessions-100k-ops-50-sessions-100-keys", |b| {
        b.iter(|| {
            let report =
                check_operations(&h, &ops, &Options::default()).expect("a traceable history");
            assert!(report.ok(), "a single-copy store shows no anomaly");
            report
        })
    });
    let lagging = lagging_history(3);
    let lagging_ops = lagging.operations("bench").expect("well-formed");
    let lagging_txns = TxnHistory::from_operations(&lagging, &lagging_ops).expect("traceable");
    group.bench_function("stale-reads-one-big-scc-100k-ops", |b| {
        b.iter(|| {
            let report = check(&lagging_txns, &Options::default()).expect("a traceable history");
            assert!(!report.ok(), "stale reads are anomalies");
            report
        })
    });
    group.finish();
}

criterion_group!(elle_benches, elle);
criterion_main!(benches, anomaly_benches, elle_benches);
