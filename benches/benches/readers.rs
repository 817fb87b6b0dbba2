//! The history readers on generated ~100 MB Jepsen `history.edn` files: a transactional
//! list-append one, and a single-register cas one ([`benches::list_append_edn`],
//! [`benches::cas_register_edn`]). Reading is one pass over the text (`checkers::edn`);
//! throughput is in bytes of history per second.
//!
//! - `elle-read/list-append`: [`checkers::elle::read::read_str`], as `consim check
//!   --consistency elle` reads a file: the op maps paired into transactions.
//! - `elle-read/cas-register`: the same on a history that is not transactional: its
//!   first client op says so, and the operation reader takes it, then the operations
//!   are paired.
//! - `formats-read/cas-register`: [`checkers::formats::read_str`], the events alone.
//!
//! `formats::read_str` reads single operations only; on the list-append history it
//! stops at the first op (`:f :txn`), so it is not measured there.
//!
//! `cargo bench -p benches --bench readers` (about three minutes, most of it generating
//! and reading 200 MB).

use std::time::Duration;

use checkers::elle::read::{self, Source};
use checkers::formats::{self, Format};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The size of each generated history.
const BYTES: usize = 100_000_000;

fn readers(c: &mut Criterion) {
    let list_append = benches::list_append_edn(BYTES, 1).text;
    let cas = benches::cas_register_edn(BYTES, 1).text;
    let mut group = c.benchmark_group("readers");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Bytes(list_append.len() as u64));
    group.bench_function("elle-read/list-append", |b| {
        b.iter(
            || match read::read_str(&list_append, Format::Edn, "bench") {
                Ok(Source::Transactions(h)) => h.txns.len(),
                _ => panic!("the generated history reads as transactions"),
            },
        )
    });
    group.throughput(Throughput::Bytes(cas.len() as u64));
    group.bench_function("elle-read/cas-register", |b| {
        b.iter(|| match read::read_str(&cas, Format::Edn, "bench") {
            Ok(Source::Operations { ops, .. }) => ops.len(),
            _ => panic!("the generated history reads as operations"),
        })
    });
    group.bench_function("formats-read/cas-register", |b| {
        b.iter(|| {
            formats::read_str(&cas, Format::Edn, "bench")
                .expect("the generated history reads")
                .events
                .len()
        })
    });
    group.finish();
}

criterion_group!(benches, readers);
criterion_main!(benches);
