//! The linearizability checker on Porcupine's corpus, parsing excluded (as Porcupine
//! was measured): the 102 etcd logs, and the 6 kv files checked per key.
//!
//! Porcupine v1.3.0 on this kind of machine: etcd 363 ms in total, kv 123 ms in total
//! (it stops at the first violated key). `kv-first-violation` is the like-for-like
//! comparison; `kv-decidable-all-keys` checks every key of every file except key 0 of
//! c50-bad, which is beyond the 2 GB budget (for consim and Porcupine alike).
//!
//! `cargo bench -p benches --bench checkers` (needs ../shared/histories beside the repo).

use std::path::PathBuf;

use checkers::check::{ModelName, check_history};
use checkers::formats::{Format, read_file};
use checkers::history::{History, Value};
use checkers::linear::Options;
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

fn check_all(histories: &[(String, History)], model: ModelName, options: &Options) -> usize {
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
        b.iter(|| check_all(&etcd, ModelName::CasRegister, &options))
    });
    let first = Options {
        first_violation_only: true,
        ..Options::default()
    };
    group.bench_function("kv-first-violation", |b| {
        b.iter(|| check_all(&kv, ModelName::Kv, &first))
    });
    // Every key but c50-bad's key 0.
    let decidable: Vec<(String, History)> = kv
        .iter()
        .map(|(file, h)| {
            let mut h = h.clone();
            if file.ends_with("c50-bad.txt") {
                let keep: Vec<bool> = h
                    .events
                    .iter()
                    .map(|e| e.key != Some(Value::Str("0".into())))
                    .collect();
                let mut keep_iter = keep.iter();
                h.events
                    .retain(|_| *keep_iter.next().expect("one flag per event"));
                let mut keep_iter = keep.iter();
                h.lines
                    .retain(|_| *keep_iter.next().expect("one flag per line"));
            }
            (file.clone(), h)
        })
        .collect();
    group.bench_function("kv-decidable-all-keys", |b| {
        b.iter(|| check_all(&decidable, ModelName::Kv, &options))
    });
    group.finish();
}

criterion_group!(benches, corpus_bench);
criterion_main!(benches);
