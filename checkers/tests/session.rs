//! Session guarantees: every anomaly in a minimal violating form and a near-miss that
//! is fine, on both traceable workloads; and property tests against stores whose
//! guarantees are known.

use checkers::history::{Event, EventType, Function, History, Value};
use checkers::session::{Guarantee, check_sessions};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

/// `(process, f, key, value)` operations, each completing `ok` before the next begins;
/// a read's value is what it returned.
fn sequential(ops: &[(u64, &str, &str, serde_json::Value)]) -> History {
    let mut text = String::new();
    for (p, f, k, v) in ops {
        let invoke = if *f == "read" {
            serde_json::Value::Null
        } else {
            v.clone()
        };
        text += &format!(
            "{{\"process\":{p},\"type\":\"invoke\",\"f\":\"{f}\",\"key\":\"{k}\",\"value\":{invoke}}}\n"
        );
        text += &format!(
            "{{\"process\":{p},\"type\":\"ok\",\"f\":\"{f}\",\"key\":\"{k}\",\"value\":{v}}}\n"
        );
    }
    History::from_jsonl(&text, "case").unwrap()
}

/// The guarantees a history violates.
fn violated(history: &History) -> Vec<Guarantee> {
    let ops = history.operations("case").unwrap();
    let report = check_sessions(history, &ops).unwrap();
    report
        .results
        .iter()
        .filter(|(_, a)| !a.is_empty())
        .map(|(g, _)| *g)
        .collect()
}

use Guarantee::*;
use serde_json::json;

#[test]
fn list_append_read_your_writes() {
    let bad = sequential(&[(0, "append", "x", json!(1)), (0, "read", "x", json!([]))]);
    assert_eq!(violated(&bad), vec![ReadYourWrites]);
    // Another session not seeing it is no session anomaly.
    let fine = sequential(&[(0, "append", "x", json!(1)), (1, "read", "x", json!([]))]);
    assert_eq!(violated(&fine), vec![]);
}

#[test]
fn list_append_monotonic_reads() {
    let bad = sequential(&[
        (1, "append", "x", json!(1)),
        (0, "read", "x", json!([1])),
        (0, "read", "x", json!([])),
    ]);
    assert_eq!(violated(&bad), vec![MonotonicReads]);
    let fine = sequential(&[
        (1, "append", "x", json!(1)),
        (0, "read", "x", json!([1])),
        (2, "read", "x", json!([])),
    ]);
    assert_eq!(violated(&fine), vec![]);
}

#[test]
fn list_append_monotonic_writes() {
    let bad = sequential(&[
        (0, "append", "x", json!(1)),
        (0, "append", "x", json!(2)),
        (1, "read", "x", json!([2, 1])),
    ]);
    assert_eq!(violated(&bad), vec![MonotonicWrites]);
    let missing = sequential(&[
        (0, "append", "x", json!(1)),
        (0, "append", "x", json!(2)),
        (1, "read", "x", json!([2])),
    ]);
    assert_eq!(violated(&missing), vec![MonotonicWrites]);
    let fine = sequential(&[
        (0, "append", "x", json!(1)),
        (0, "append", "x", json!(2)),
        (1, "read", "x", json!([1, 2])),
    ]);
    assert_eq!(violated(&fine), vec![]);
}

#[test]
fn list_append_writes_follow_reads() {
    let bad = sequential(&[
        (1, "append", "x", json!(1)),
        (0, "read", "x", json!([1])),
        (0, "append", "x", json!(2)),
        (2, "read", "x", json!([2])),
    ]);
    assert_eq!(violated(&bad), vec![WritesFollowReads]);
    let fine = sequential(&[
        (1, "append", "x", json!(1)),
        (0, "read", "x", json!([1])),
        (0, "append", "x", json!(2)),
        (2, "read", "x", json!([1, 2])),
    ]);
    assert_eq!(violated(&fine), vec![]);
}

#[test]
fn register_read_your_writes() {
    let bad = sequential(&[(0, "write", "x", json!(1)), (0, "read", "x", json!(null))]);
    assert_eq!(violated(&bad), vec![ReadYourWrites]);
    // Reading another session's later write is fine: it may come after ours.
    let fine = sequential(&[
        (0, "write", "x", json!(1)),
        (1, "write", "x", json!(2)),
        (0, "read", "x", json!(2)),
    ]);
    assert_eq!(violated(&fine), vec![]);
}

#[test]
fn register_read_your_writes_needs_a_proven_order() {
    // Session 0 wrote 1 then read 2; session 1 wrote 2 then read 1. Each alone could
    // be fine, but 1 < 2 and 2 < 1 cannot both hold: a proven cycle.
    let bad = sequential(&[
        (0, "write", "x", json!(1)),
        (1, "write", "x", json!(2)),
        (0, "read", "x", json!(2)),
        (1, "read", "x", json!(1)),
    ]);
    assert_eq!(violated(&bad), vec![ReadYourWrites]);
}

#[test]
fn register_monotonic_reads() {
    let bad = sequential(&[
        (1, "write", "x", json!(1)),
        (0, "read", "x", json!(1)),
        (0, "read", "x", json!(null)),
    ]);
    assert_eq!(violated(&bad), vec![MonotonicReads]);
    // Reading 1 then 2 then 1 again: 1 < 2 and 2 < 1.
    let flip = sequential(&[
        (1, "write", "x", json!(1)),
        (2, "write", "x", json!(2)),
        (0, "read", "x", json!(1)),
        (0, "read", "x", json!(2)),
        (0, "read", "x", json!(1)),
    ]);
    assert_eq!(violated(&flip), vec![MonotonicReads]);
    let fine = sequential(&[
        (1, "write", "x", json!(1)),
        (2, "write", "x", json!(2)),
        (0, "read", "x", json!(2)),
        (0, "read", "x", json!(1)),
    ]);
    assert_eq!(
        violated(&fine),
        vec![],
        "2 before 1 in version order is possible"
    );
}

/// On registers, monotonic writes alone never yields a proof: its required orders
/// follow each session's own writes, which some version order always satisfies. The
/// checker says nothing rather than guess.
#[test]
fn register_monotonic_writes_alone_is_never_proven() {
    let h = sequential(&[
        (0, "write", "x", json!(1)),
        (0, "write", "x", json!(2)),
        (1, "read", "x", json!(2)),
        (1, "read", "x", json!(1)),
    ]);
    // Monotonic writes needs 1 < 2, monotonic reads 2 < 1: each alone is satisfiable.
    assert_eq!(violated(&h), vec![]);
}

#[test]
fn register_writes_follow_reads() {
    // Each session read a value and then wrote the next: 1 < 2 < 3 < 1.
    let bad = sequential(&[
        (0, "read", "x", json!(1)),
        (0, "write", "x", json!(2)),
        (1, "read", "x", json!(2)),
        (1, "write", "x", json!(3)),
        (2, "read", "x", json!(3)),
        (2, "write", "x", json!(1)),
    ]);
    assert_eq!(violated(&bad), vec![WritesFollowReads]);
    let fine = sequential(&[
        (0, "read", "x", json!(null)),
        (0, "write", "x", json!(2)),
        (1, "read", "x", json!(2)),
        (1, "write", "x", json!(3)),
        (2, "read", "x", json!(3)),
        (2, "write", "x", json!(1)),
    ]);
    assert_eq!(violated(&fine), vec![]);
}

#[test]
fn non_unique_writes_are_refused() {
    let h = sequential(&[(0, "write", "x", json!(1)), (1, "write", "x", json!(1))]);
    let ops = h.operations("case").unwrap();
    let err = check_sessions(&h, &ops).unwrap_err();
    assert!(err.to_string().contains("more than once"), "{err}");
    let h = sequential(&[(0, "append", "x", json!(1)), (1, "append", "x", json!(1))]);
    let ops = h.operations("case").unwrap();
    assert!(check_sessions(&h, &ops).is_err());
}

/// The stores the property tests run against.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Store {
    /// One copy, every operation applied in order: every guarantee holds.
    Single,
    /// Each session has its own copy; its writes go to it and through to the primary,
    /// and at random moments the copy is refreshed from the primary. A session sees
    /// its own writes and never goes back, and the primary keeps every session's order
    /// and causal past: all four guarantees hold, though others' writes arrive late.
    StickyCopies,
    /// Two replicas; every operation goes to a random one, and at random moments one
    /// replica pulls what it lacks from the other. Nothing is guaranteed.
    RandomReplicas,
}

/// A random run: 3 sessions issue appends and reads on 2 keys, one at a time.
fn run_store(choices: &[(u8, u8, u8, bool)], store: Store) -> History {
    let sessions = 3usize;
    let mut primary: Vec<Vec<i64>> = vec![Vec::new(); 2];
    let mut copies: Vec<Vec<Vec<i64>>> = vec![primary.clone(); sessions];
    let mut replicas: Vec<Vec<Vec<i64>>> = vec![primary.clone(); 2];
    let mut next = 1;
    let mut text = String::new();
    for &(s, k, f, sync) in choices {
        let (s, k) = (s as usize % sessions, k as usize % 2);
        let replica = (f / 2) as usize % 2;
        let copy: &mut Vec<Vec<i64>> = match store {
            Store::Single => &mut primary,
            Store::StickyCopies => {
                if sync {
                    copies[s] = primary.clone();
                }
                &mut copies[s]
            }
            Store::RandomReplicas => {
                if sync {
                    let (from, to) = (1 - replica, replica);
                    let source = replicas[from].clone();
                    for (mine, theirs) in replicas[to].iter_mut().zip(source) {
                        let missing: Vec<i64> =
                            theirs.into_iter().filter(|e| !mine.contains(e)).collect();
                        mine.extend(missing);
                    }
                }
                &mut replicas[replica]
            }
        };
        if f % 2 == 0 {
            copy[k].push(next);
            if store == Store::StickyCopies {
                primary[k].push(next);
            }
            text += &format!(
                "{{\"process\":{s},\"type\":\"invoke\",\"f\":\"append\",\"key\":{k},\"value\":{next}}}\n"
            );
            text += &format!(
                "{{\"process\":{s},\"type\":\"ok\",\"f\":\"append\",\"key\":{k},\"value\":{next}}}\n"
            );
            next += 1;
        } else {
            let seen = serde_json::to_string(&copy[k]).unwrap();
            text += &format!(
                "{{\"process\":{s},\"type\":\"invoke\",\"f\":\"read\",\"key\":{k},\"value\":null}}\n"
            );
            text += &format!(
                "{{\"process\":{s},\"type\":\"ok\",\"f\":\"read\",\"key\":{k},\"value\":{seen}}}\n"
            );
        }
    }
    History::from_jsonl(&text, "store").unwrap()
}

fn choices() -> impl Strategy<Value = Vec<(u8, u8, u8, bool)>> {
    proptest::collection::vec(
        (
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            proptest::bool::weighted(0.2),
        ),
        0..60,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn a_single_copy_store_is_never_flagged(choices in choices()) {
        let h = run_store(&choices, Store::Single);
        prop_assert_eq!(violated(&h), vec![], "{}", h.to_jsonl());
    }

    #[test]
    fn sticky_write_through_copies_are_never_flagged(choices in choices()) {
        let h = run_store(&choices, Store::StickyCopies);
        prop_assert_eq!(violated(&h), vec![], "{}", h.to_jsonl());
    }
}

#[test]
fn random_replicas_break_every_guarantee_somewhere() {
    // A store that keeps nothing must be caught, and on each guarantee, or the
    // properties above prove nothing about the checks.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut caught = std::collections::BTreeSet::new();
    for _ in 0..500 {
        let choices = choices().new_tree(&mut runner).unwrap().current();
        caught.extend(violated(&run_store(&choices, Store::RandomReplicas)));
    }
    assert_eq!(
        caught.into_iter().collect::<Vec<_>>(),
        Guarantee::ALL.to_vec()
    );
}

#[allow(dead_code)]
fn _types(_: Event, _: EventType, _: Function, _: Value) {}
