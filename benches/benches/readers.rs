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
//! - `edn-items/list-append`: the EDN reader alone ([`checkers::edn::items`]): the op
//!   maps as forms, dropped one by one; what the readers above add is building values
//!   (a read of 40 elements is 40 values of 32 bytes each), pairing, and freeing.
//!
//! `formats::read_str` reads single operations only; on the list-append history it
//! stops at the first op (`:f :txn`), so it is not measured there.
//!
//! Measured on a shared 2-core machine (load average 3 to 4, criterion medians):
//! `elle-read/list-append` 64 MiB/s, `edn-items/list-append` 132 MiB/s,
//! `elle-read/cas-register` 107 MiB/s, `formats-read/cas-register` 159 MiB/s.
//! Elle's `huge-scc.edn` (2.8 MB) is read and checked by `consim check --consistency
//! elle` in 0.1 s; the reader this one replaced took 13 s on it, rescanning the file
//! for the line of every op.
//!
//! `cargo bench -p benches --bench readers` (about three minutes, most of it generating
//! and reading 200 MB).

use std::time::Duration;

use checkers::edn::{self, Form};
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
    group.bench_function("edn-items/list-append", |b| {
        b.iter(|| {
            edn::items(&list_append)
                .filter(|item| matches!(item, Ok((_, Form::Map(_)))))
                .count()
        })
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
