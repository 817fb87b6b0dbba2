//! The fast checker against the brute-force one on random small histories.

use checkers::brute;
use checkers::history::{Event, EventType, Function, History, Value};
use checkers::linear::{Options, Outcome, Verdict, check};
use checkers::spec::Register;
use proptest::prelude::*;

/// Options that skip the whole-key attempt and search prefixes of 1, 2, 4, … ops.
fn prefix_options() -> Options {
    Options {
        first_attempt_configs: 0,
        first_prefix_ops: 1,
        ..Options::default()
    }
}

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
                push(&mut h, process, EventType::Invoke, f, value);
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
                let (kind, value) = completion(f, value, kind, read);
                crashed[p] |= kind == EventType::Info;
                push(&mut h, process, kind, f, value);
            }
        }
    }
    h
}

/// How a pending operation completes: mostly ok, sometimes fail or info; an ok read
/// returns `read` (nil if negative).
fn completion(f: Function, value: Value, kind: u8, read: i64) -> (EventType, Value) {
    let kind = match kind {
        0 => EventType::Fail,
        1 => EventType::Info,
        _ => EventType::Ok,
    };
    let int = |v: i64| if v < 0 { Value::Nil } else { Value::Int(v) };
    let value = if f == Function::Read && kind == EventType::Ok {
        int(read)
    } else {
        value
    };
    (kind, value)
}

/// Appends an event on no key, at the next line.
pub(crate) fn push(h: &mut History, process: u64, kind: EventType, f: Function, value: Value) {
    let line = h.events.len() + 1;
    let event = Event {
        process,
        kind,
        f,
        key: None,
        value,
        time: None,
    };
    h.push(event, line);
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
        // The same history through the prefix search: no whole-key attempt, prefixes
        // of 1, 2, 4, … operations.
        let prefixes = check(&model, &h, &ops, &prefix_options()).unwrap();
        prop_assert_eq!(
            matches!(prefixes.keys.first().map(|k| &k.outcome), Some(Outcome::Violation(_))),
            matches!(report.keys.first().map(|k| &k.outcome), Some(Outcome::Violation(_))),
            "the prefix search disagrees on\n{}", h.to_jsonl()
        );
        let outcome = &report.keys.first().map(|k| k.outcome.clone());
        match outcome {
            None => prop_assert!(expected, "no operations is trivially linearizable"),
            Some(Outcome::Linearizable { order, .. }) => {
                prop_assert!(expected, "fast says ok, brute force says no:\n{}", h.to_jsonl());
                // The witness order really is a linearization.
                let mut state = Value::Nil;
                for &i in order {
                    state = checkers::spec::SequentialSpec::step(&model, &state, &ops[i]).expect("witness steps are legal");
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

/// A random execution of appends, puts and reads on one key: each operation takes
/// effect at a random point inside its interval (or, for some `info` ones, never), reads
/// return the state at their point, and then some reads are corrupted. Both checkers
/// must agree on every such history: this covers the growth pruning and the dropping of
/// unobserved `info` writes, which register histories never reach.
#[derive(Clone, Debug)]
struct KvOp {
    kind: u8,
    call: u32,
    span: u32,
    point: u32,
    info: u8,
}

fn kv_ops() -> impl Strategy<Value = (Vec<KvOp>, Vec<(usize, u8)>)> {
    (
        proptest::collection::vec(
            (0u8..3, 0u32..30, 1u32..12, 0u32..100, 0u8..10).prop_map(
                |(kind, call, span, point, info)| KvOp {
                    kind,
                    call,
                    span,
                    point,
                    info,
                },
            ),
            1..9,
        ),
        proptest::collection::vec((0usize..9, 0u8..4), 0..2),
    )
}

/// Each operation's moment of effect, strictly inside its interval (scaled by 100 so
/// they are distinct from call and return times), in time order.
fn effects(ops: &[KvOp]) -> Vec<(u32, usize)> {
    let mut effects: Vec<(u32, usize)> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| (op.call * 100 + 1 + op.point % (op.span * 100 - 1), i))
        .collect();
    effects.sort();
    effects
}

/// The operations' invocations (0) and completions (1), in time order.
fn boundaries(ops: &[KvOp]) -> Vec<(u32, u8, usize)> {
    let mut events: Vec<(u32, u8, usize)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        events.push((op.call * 100, 0, i));
        events.push(((op.call + op.span) * 100, 1, i));
    }
    events.sort();
    events
}

fn kv_history(ops: &[KvOp], corruptions: &[(usize, u8)]) -> History {
    let effects = effects(ops);
    let mut state = String::new();
    let mut outputs: Vec<Option<String>> = vec![None; ops.len()];
    for &(_, i) in &effects {
        let op = &ops[i];
        // ok operations (info < 8) happen; of the info ones (8, 9), only 9 does.
        let happens = op.info != 8;
        let token = format!("<{i}>");
        match op.kind {
            0 if happens => state.push_str(&token),
            1 if happens => state = token,
            2 => outputs[i] = Some(state.clone()),
            _ => {}
        }
    }
    // Corrupt some reads: drop the last token, or swap the first two, or empty them.
    for &(target, how) in corruptions {
        let Some(Some(out)) = outputs.get_mut(target) else {
            continue;
        };
        let mut tokens: Vec<String> = out.split_inclusive('>').map(str::to_owned).collect();
        match how {
            0 => {
                tokens.pop();
            }
            1 if tokens.len() >= 2 => tokens.swap(0, 1),
            2 => tokens.clear(),
            _ => tokens.push(format!("<{}>", ops.len())),
        }
        *out = tokens.concat();
    }
    let h = History {
        initial: Value::Str(String::new()),
        ..History::default()
    };
    record(h, ops, |i| {
        let f = [Function::Append, Function::Write, Function::Read][ops[i].kind as usize];
        let input = if f == Function::Read {
            Value::Nil
        } else {
            Value::Str(format!("<{i}>"))
        };
        (f, input, outputs[i].clone().map(Value::Str))
    })
}

/// `h` with the events of `ops` appended in time order: `op(i)` is operation `i`'s
/// function, input and (if it returns ok) output; one with `info >= 8` ends in `info`.
fn record(
    mut h: History,
    ops: &[KvOp],
    op: impl Fn(usize) -> (Function, Value, Option<Value>),
) -> History {
    for (_, completion, i) in boundaries(ops) {
        let (f, input, output) = op(i);
        let (kind, value) = match (completion, ops[i].info >= 8) {
            (0, _) => (EventType::Invoke, input),
            (_, true) => (EventType::Info, input),
            _ => (EventType::Ok, output.unwrap_or(input)),
        };
        push(&mut h, i as u64, kind, f, value);
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn fast_and_brute_force_agree_on_appends_and_puts((ops, corruptions) in kv_ops()) {
        let h = kv_history(&ops, &corruptions);
        let operations = h.operations("random").unwrap();
        let model = checkers::spec::Kv { initial: Value::Str(String::new()) };
        let expected = brute::linearizable(&model, &operations);
        if corruptions.is_empty() {
            prop_assert!(expected, "an uncorrupted execution is linearizable:\n{}", h.to_jsonl());
        }
        let report = check(&model, &h, &operations, &Options::default()).unwrap();
        let prefixes = check(&model, &h, &operations, &prefix_options()).unwrap();
        prop_assert_eq!(
            matches!(prefixes.keys[0].outcome, Outcome::Violation(_)),
            matches!(report.keys[0].outcome, Outcome::Violation(_)),
            "the prefix search disagrees on\n{}", h.to_jsonl()
        );
        let got = match &report.keys[0].outcome {
            Outcome::Linearizable { .. } => true,
            Outcome::Violation(_) => false,
            Outcome::Unknown { reason } => return Err(TestCaseError::fail(format!("unknown: {reason}"))),
        };
        prop_assert_eq!(got, expected, "fast and brute force disagree on\n{}", h.to_jsonl());
    }
}

/// Generated cas-register histories in Jepsen's shape (values 0–4, crashed clients),
/// small enough for the brute-force checker, with one read's result changed at random
/// half the time: both checkers must agree. With few values and many crashed
/// operations, these exercise the trying of identical operations once, the normal
/// form of `info` runs, the doomed reads and cas, and the subsumption of
/// configurations that used up more `info` operations.
fn generated() -> impl Strategy<Value = (checkers::synth::Shape, Option<(usize, i64)>)> {
    (
        2u64..6,
        3usize..11,
        0u32..500,
        any::<u64>(),
        proptest::option::of((0usize..64, 0i64..5)),
    )
        .prop_map(|(processes, ops, crashed_per_mille, seed, corrupt)| {
            let shape = checkers::synth::Shape {
                processes,
                ops,
                crashed_per_mille,
                seed,
                violation: false,
            };
            (shape, corrupt)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn fast_and_brute_force_agree_on_generated_cas_registers((shape, corrupt) in generated()) {
        let mut h = checkers::synth::cas_register(&shape);
        if let Some((pick, value)) = corrupt {
            let reads: Vec<usize> = (0..h.events.len())
                .filter(|&i| h.events[i].f == Function::Read && h.events[i].kind == EventType::Ok)
                .collect();
            if !reads.is_empty() {
                h.events[reads[pick % reads.len()]].value = Value::Int(value);
            }
        }
        let ops = h.operations("generated").unwrap();
        let model = Register { cas: true, initial: Value::Nil };
        let expected = brute::linearizable(&model, &ops);
        for options in [Options::default(), prefix_options()] {
            let report = check(&model, &h, &ops, &options).unwrap();
            let violated = matches!(report.keys.first().map(|k| &k.outcome), Some(Outcome::Violation(_)));
            prop_assert!(
                !matches!(report.keys.first().map(|k| &k.outcome), Some(Outcome::Unknown { .. })),
                "unknown on a tiny history"
            );
            prop_assert_eq!(violated, !expected, "fast and brute force disagree on\n{}", h.to_jsonl());
        }
    }
}

/// The generator's planted stale read is a violation the checker finds, and a history
/// generated without one is linearizable (by construction), at sizes the search decides
/// quickly.
#[test]
fn generated_histories_have_their_known_verdicts() {
    for seed in 0..6 {
        for violation in [false, true] {
            let shape = checkers::synth::Shape {
                processes: 5,
                ops: 400,
                crashed_per_mille: 30,
                seed,
                violation,
            };
            let h = checkers::synth::cas_register(&shape);
            let ops = h.operations("generated").unwrap();
            assert_eq!(
                checkers::synth::stale_read(&ops).is_some(),
                violation,
                "seed {seed}: the planted read, and only it, is provably stale"
            );
            let model = Register {
                cas: true,
                initial: Value::Nil,
            };
            let report = check(&model, &h, &ops, &Options::default()).unwrap();
            let expected = if violation {
                Verdict::Violation
            } else {
                Verdict::Ok
            };
            assert_eq!(report.verdict(), expected, "seed {seed}");
        }
    }
}

/// A list-append history from the same random shapes as [`kv_history`]: appends of
/// the element `i` (writes become appends too) and reads of the whole list, each
/// taking effect at a moment inside its interval (an `info` append with `info == 8`
/// not at all), with some reads corrupted.
fn list_history(ops: &[KvOp], corruptions: &[(usize, u8)]) -> History {
    let effects = effects(ops);
    let mut list: Vec<Value> = Vec::new();
    let mut outputs: Vec<Option<Vec<Value>>> = vec![None; ops.len()];
    for &(_, i) in &effects {
        let op = &ops[i];
        match op.kind {
            2 => outputs[i] = Some(list.clone()),
            _ if op.info != 8 => list.push(Value::Int(i as i64)),
            _ => {}
        }
    }
    for &(target, how) in corruptions {
        let Some(Some(out)) = outputs.get_mut(target) else {
            continue;
        };
        match how {
            0 => {
                out.pop();
            }
            1 if out.len() >= 2 => out.swap(0, 1),
            2 => out.clear(),
            _ => out.push(Value::Int(ops.len() as i64)),
        }
    }
    record(History::default(), ops, |i| {
        let (f, input) = match ops[i].kind {
            2 => (Function::Read, Value::Nil),
            _ => (Function::Append, Value::Int(i as i64)),
        };
        (f, input, outputs[i].clone().map(Value::List))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    /// With the proposed order tried first (as the runner checks), the verdict is
    /// the brute-force one; and every uncorrupted execution whose reads all completed
    /// is proved by the proposal alone, without a search.
    #[test]
    fn proposed_orders_and_brute_force_agree_on_list_appends((ops, corruptions) in kv_ops()) {
        let h = list_history(&ops, &corruptions);
        let operations = h.operations("random").unwrap();
        let spec = checkers::spec::ListAppend;
        let expected = brute::linearizable(&spec, &operations);
        let options = Options { try_proposed_order: true, ..Options::default() };
        let report = check(&spec, &h, &operations, &options).unwrap();
        let got = match &report.keys[0].outcome {
            Outcome::Linearizable { .. } => true,
            Outcome::Violation(_) => false,
            Outcome::Unknown { reason } => return Err(TestCaseError::fail(format!("unknown: {reason}"))),
        };
        prop_assert_eq!(got, expected, "the checker and brute force disagree on\n{}", h.to_jsonl());
        let searched = check(&spec, &h, &operations, &Options::default()).unwrap();
        prop_assert_eq!(
            matches!(searched.keys[0].outcome, Outcome::Linearizable { .. }),
            got,
            "the search alone disagrees on\n{}", h.to_jsonl()
        );
        if corruptions.is_empty() && ops.iter().all(|op| op.kind != 2 || op.info < 8) {
            prop_assert!(
                matches!(report.keys[0].outcome, Outcome::Linearizable { .. }) && report.keys[0].explored == 0,
                "the proposal did not prove an uncorrupted execution:\n{}", h.to_jsonl()
            );
        }
    }
}
