//! The fast checker against the brute-force one on random small histories.

use checkers::brute;
use checkers::history::{Event, EventType, Function, History, Value};
use checkers::linear::{Options, Outcome, check};
use checkers::model::Register;
use proptest::prelude::*;

/// One step of a random history: a process invokes, or a pending one completes.
#[derive(Clone, Debug)]
enum Step {
    Invoke { process: u64, f: u8, a: i64, b: i64 },
    Complete { process: u64, kind: u8, read: i64 },
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(
        prop_oneof![
            (0u64..4, 0u8..3, 0i64..3, 0i64..3).prop_map(|(process, f, a, b)| Step::Invoke {
                process,
                f,
                a,
                b
            }),
            (0u64..4, 0u8..10, -1i64..3).prop_map(|(process, kind, read)| Step::Complete {
                process,
                kind,
                read
            }),
        ],
        0..24,
    )
}

/// Builds a well-formed history (≤ 10 operations) from random steps.
fn history(steps: &[Step]) -> History {
    let mut h = History::default();
    let mut pending: [Option<(Function, Value)>; 4] = Default::default();
    let mut crashed = [false; 4];
    let mut invoked = 0;
    let int = |v: i64| if v < 0 { Value::Nil } else { Value::Int(v) };
    for step in steps {
        match *step {
            Step::Invoke { process, f, a, b } => {
                let p = process as usize;
                if pending[p].is_some() || crashed[p] || invoked == 10 {
                    continue;
                }
                let (f, value) = match f {
                    0 => (Function::Read, Value::Nil),
                    1 => (Function::Write, Value::Int(a)),
                    _ => (
                        Function::Cas,
                        Value::List(vec![Value::Int(a), Value::Int(b)]),
                    ),
                };
                invoked += 1;
                pending[p] = Some((f, value.clone()));
                h.push(
                    Event {
                        process,
                        kind: EventType::Invoke,
                        f,
                        key: None,
                        value,
                        time: None,
                    },
                    h.events.len() + 1,
                );
            }
            Step::Complete {
                process,
                kind,
                read,
            } => {
                let p = process as usize;
                let Some((f, value)) = pending[p].take() else {
                    continue;
                };
                // Mostly ok, sometimes fail or info.
                let kind = match kind {
                    0 => EventType::Fail,
                    1 => EventType::Info,
                    _ => EventType::Ok,
                };
                if kind == EventType::Info {
                    crashed[p] = true;
                }
                let value = if f == Function::Read && kind == EventType::Ok {
                    int(read)
                } else {
                    value
                };
                h.push(
                    Event {
                        process,
                        kind,
                        f,
                        key: None,
                        value,
                        time: None,
                    },
                    h.events.len() + 1,
                );
            }
        }
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn fast_and_brute_force_agree(steps in steps()) {
        let h = history(&steps);
        let ops = h.operations("random").unwrap();
        let model = Register { cas: true, initial: Value::Nil };
        let expected = brute::linearizable(&model, &ops);
        let report = check(&model, &h, &ops, &Options::default()).unwrap();
        let outcome = &report.keys.first().map(|k| k.outcome.clone());
        match outcome {
            None => prop_assert!(expected, "no operations is trivially linearizable"),
            Some(Outcome::Linearizable { order }) => {
                prop_assert!(expected, "fast says ok, brute force says no:\n{}", h.to_jsonl());
                // The witness order really is a linearization.
                let mut state = Value::Nil;
                for &i in order {
                    state = checkers::model::Model::step(&model, &state, &ops[i]).expect("witness steps are legal");
                }
                for (i, op) in ops.iter().enumerate() {
                    if op.ret.is_some() {
                        prop_assert!(order.contains(&i), "ok op {i} missing from witness");
                    }
                }
            }
            Some(Outcome::Violation(_)) => prop_assert!(!expected, "fast says violation, brute force says ok:\n{}", h.to_jsonl()),
            Some(Outcome::Unknown { reason }) => prop_assert!(false, "unknown on a tiny history: {reason}"),
        }
    }
}
