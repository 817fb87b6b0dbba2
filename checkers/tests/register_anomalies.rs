//! Register anomalies shown by real time alone: each in a minimal form and a near
//! miss, and a differential test against the brute-force linearizability checker.

use checkers::anomalies::{Kind, register_anomalies};
use checkers::brute;
use checkers::history::{EventType, Function, History, Value};
use checkers::spec::Register;
use proptest::prelude::*;

use crate::anomalies::{kinds_by, line};
use crate::differential::push;

fn kinds(text: &str) -> Vec<Kind> {
    kinds_by(register_anomalies, text)
}

fn call(p: u64, f: &str, value: &str) -> String {
    line(p, "invoke", f, value)
}

fn ok(p: u64, f: &str, value: &str) -> String {
    line(p, "ok", f, value)
}

fn write(p: u64, v: i64) -> String {
    call(p, "write", &v.to_string()) + &ok(p, "write", &v.to_string())
}

fn read(p: u64, v: &str) -> String {
    call(p, "read", "null") + &ok(p, "read", v)
}

#[test]
fn stale_read() {
    // 1 then 2, both done, then a read of 1.
    assert_eq!(
        kinds(&(write(0, 1) + &write(0, 2) + &read(1, "1"))),
        vec![Kind::StaleRead]
    );
    // Near miss: the read overlaps the write of 2, so it may come before it.
    let overlapping = write(0, 1) + &call(0, "write", "2") + &read(1, "1") + &ok(0, "write", "2");
    assert_eq!(kinds(&overlapping), vec![]);
}

#[test]
fn a_stale_read_of_the_initial_value() {
    assert_eq!(
        kinds(&(write(0, 1) + &read(1, "null"))),
        vec![Kind::StaleRead]
    );
    // Near miss: the write is still running.
    let running = call(0, "write", "1") + &read(1, "null") + &ok(0, "write", "1");
    assert_eq!(kinds(&running), vec![]);
}

#[test]
fn future_read() {
    let future = read(1, "1") + &write(0, 1);
    assert_eq!(kinds(&future), vec![Kind::FutureRead]);
    // Near miss: the write began before the read ended.
    let concurrent = call(0, "write", "1") + &read(1, "1") + &ok(0, "write", "1");
    assert_eq!(kinds(&concurrent), vec![]);
}

#[test]
fn new_old_inversion() {
    // The write of 1 ends before the write of 2 begins; both overlap the reads, which
    // see 2, then 1.
    let text = call(0, "write", "1")
        + &call(2, "read", "null")
        + &ok(0, "write", "1")
        + &call(0, "write", "2")
        + &ok(2, "read", "2")
        + &read(1, "1")
        + &ok(0, "write", "2");
    assert_eq!(kinds(&text), vec![Kind::NewOldInversion]);
    // Near miss: the reads overlap, so they may be ordered either way.
    let text = call(0, "write", "1")
        + &call(2, "read", "null")
        + &ok(0, "write", "1")
        + &call(0, "write", "2")
        + &call(1, "read", "null")
        + &ok(2, "read", "2")
        + &ok(1, "read", "1")
        + &ok(0, "write", "2");
    assert_eq!(kinds(&text), vec![]);
}

#[test]
fn a_successful_cas_is_a_write_and_ambiguous_keys_are_left_alone() {
    let cas = call(0, "cas", "[1,2]") + &ok(0, "cas", "[1,2]");
    assert_eq!(
        kinds(&(write(0, 1) + &cas + &read(1, "1"))),
        vec![Kind::StaleRead]
    );
    // Two writes of 1: a read of 1 could be of either.
    assert_eq!(
        kinds(&(write(0, 1) + &write(0, 2) + &write(0, 1) + &read(1, "1"))),
        vec![]
    );
}

#[test]
fn an_unknown_write_proves_nothing_against_it() {
    // The write of 1 may take effect any time after its call: after 2 as well.
    let text =
        call(0, "write", "1") + &line(0, "info", "write", "1") + &write(1, 2) + &read(2, "1");
    assert_eq!(kinds(&text), vec![]);
}

#[test]
fn the_initial_value_is_the_historys_own() {
    // Porcupine's kv histories start every key at "": reading it after a write ended is
    // stale, and a key on which "" is written is left alone.
    let judge = |text: &str| {
        let mut history = History::from_jsonl(text, "case").unwrap();
        history.initial = Value::Str(String::new());
        let ops = history.operations("case").unwrap();
        register_anomalies(&history, &ops)
            .into_iter()
            .map(|f| f.kind)
            .collect::<Vec<_>>()
    };
    let write_a = call(0, "write", "\"a\"") + &ok(0, "write", "\"a\"");
    assert_eq!(judge(&(write_a + &read(1, "\"\""))), vec![Kind::StaleRead]);
    let write_empty = call(1, "write", "\"\"") + &ok(1, "write", "\"\"");
    assert_eq!(judge(&(read(0, "\"\"") + &write_empty)), vec![]);
}

/// One step of a random history over one register: a process invokes (a read, a
/// write or a cas), or completes.
#[derive(Clone, Debug)]
enum Step {
    Invoke { process: u64, f: u8, from: u8 },
    Complete { process: u64, outcome: u8, read: u8 },
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(
        prop_oneof![
            (0u64..4, 0u8..3, 0u8..8).prop_map(|(process, f, from)| Step::Invoke {
                process,
                f,
                from
            }),
            (0u64..4, 0u8..10, 0u8..8).prop_map(|(process, outcome, read)| Step::Complete {
                process,
                outcome,
                read
            }),
        ],
        0..24,
    )
}

/// A well-formed history (≤ 10 operations) with unique written values (writes, and
/// compare-and-sets from any value to a new one); reads return nil or any value
/// written so far or later (so some are stale, some from the future); completions are
/// mostly ok, some fail (a cas that did not match) or info.
fn history(steps: &[Step]) -> History {
    let mut h = History::default();
    let mut pending: [Option<(Function, Value)>; 4] = Default::default();
    let mut crashed = [false; 4];
    let (mut invoked, mut next) = (0, 0i64);
    let writes_in_all = steps
        .iter()
        .filter(|s| matches!(s, Step::Invoke { f: 1 | 2, .. }))
        .count() as i64;
    for step in steps {
        let (process, kind, f, value) = match *step {
            Step::Invoke { process, f, from } => {
                let p = process as usize;
                if pending[p].is_some() || crashed[p] || invoked == 10 {
                    continue;
                }
                invoked += 1;
                let (f, value) = match f {
                    0 => (Function::Read, Value::Nil),
                    1 => {
                        next += 1;
                        (Function::Write, Value::Int(next))
                    }
                    _ => {
                        next += 1;
                        let pair = vec![Value::Int(i64::from(from)), Value::Int(next)];
                        (Function::Cas, Value::List(pair))
                    }
                };
                pending[p] = Some((f, value.clone()));
                (process, EventType::Invoke, f, value)
            }
            Step::Complete {
                process,
                outcome,
                read,
            } => {
                let p = process as usize;
                let Some((f, value)) = pending[p].take() else {
                    continue;
                };
                let kind = match (outcome, f) {
                    (0, _) => EventType::Info,
                    (1, Function::Cas) => EventType::Fail,
                    _ => EventType::Ok,
                };
                crashed[p] |= kind == EventType::Info;
                let value = match (f, kind) {
                    (Function::Read, EventType::Ok) if i64::from(read) > writes_in_all.max(1) => {
                        Value::Nil
                    }
                    (Function::Read, EventType::Ok) => Value::Int(i64::from(read).max(1)),
                    _ => value,
                };
                (process, kind, f, value)
            }
        };
        push(&mut h, process, kind, f, value);
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    /// Every anomaly reported is real: the brute-force checker, which tries every
    /// order, finds the history not linearizable.
    #[test]
    fn every_register_anomaly_is_confirmed_by_brute_force(steps in steps()) {
        let h = history(&steps);
        let ops = h.operations("random").unwrap();
        let found = register_anomalies(&h, &ops);
        if !found.is_empty() {
            let model = Register { cas: true, initial: Value::Nil };
            prop_assert!(
                !brute::linearizable(&model, &ops),
                "{:?} reported on a linearizable history:\n{}",
                found[0],
                h.to_jsonl()
            );
        }
    }
}

/// The differential test is not vacuous: its random histories show every kind.
#[test]
fn random_histories_show_every_kind() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..3_000 {
        let h = history(&steps().new_tree(&mut runner).unwrap().current());
        let ops = h.operations("random").unwrap();
        seen.extend(register_anomalies(&h, &ops).into_iter().map(|f| f.kind));
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [Kind::FutureRead, Kind::StaleRead, Kind::NewOldInversion]
    );
}
