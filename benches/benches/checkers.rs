//! The linearizability checker on Porcupine's corpus, parsing excluded (as Porcupine
//! was measured): the 102 etcd logs, and the 6 kv files checked per key.
//!
//! Porcupine v1.3.0 on this kind of machine: etcd 363 ms in total, kv 123 ms in total
//! (it stops at the first violated key). `kv-first-violation` is the like-for-like
//! comparison; `kv-all-keys` decides every key of every file, as `consim check` does
//! (Porcupine cannot decide keys 0 and 9 of c50-bad at all).
//!
//! `cargo bench -p benches --bench checkers` (needs ../shared/histories beside the repo).

use std::path::PathBuf;

use checkers::check::check_history;
use checkers::formats::{Format, read_file};
use checkers::history::History;
use checkers::linear::Options;
use checkers::spec::SpecName;
use criterion::{Criterion, criterion_group, criterion_main};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/histories/porcupine")
}

fn load(set: &str, format: Format) -> Vec<(String, History)> {
    let manifest =
        std::fs::read_to_string(corpus().join("MANIFEST.tsv")).expect("the corpus is present");
    manifest
        .lines()
        .skip(1)
        .filter(|l| l.starts_with(set) && !l.ends_with("skip"))
        .map(|l| {
            let file = l.split('\t').next().expect("a file column").to_owned();
            let history = read_file(&corpus().join(&file), format).expect("corpus files parse");
            (file, history)
        })
        .collect()
}

fn check_all(histories: &[(String, History)], model: SpecName, options: &Options) -> usize {
    histories
        .iter()
        .map(|(file, h)| {
            let checked =
                check_history(h.clone(), file, Some(model), options).expect("corpus files check");
            checked.report.keys.len()
        })
        .sum()
}

fn corpus_bench(c: &mut Criterion) {
    let etcd = load("etcd/", Format::JepsenLog);
    let kv = load("kv/", Format::PorcupineKv);
    let mut group = c.benchmark_group("porcupine-corpus");
    group.sample_size(20);
    let options = Options::default();
    group.bench_function("etcd-102-logs", |b| {
        b.iter(|| check_all(&etcd, SpecName::CasRegister, &options))
    });
    let first = Options {
        first_violation_only: true,
        ..Options::default()
    };
    group.bench_function("kv-first-violation", |b| {
        b.iter(|| check_all(&kv, SpecName::Kv, &first))
    });
    group.bench_function("kv-all-keys", |b| {
        b.iter(|| check_all(&kv, SpecName::Kv, &options))
    });
    group.finish();
}

criterion_group!(benches, corpus_bench);
criterion_main!(benches);
