//! An obviously correct linearizability checker for tiny histories: it tries every
//! order that respects real time, with each `info` operation either placed somewhere
//! after its call or left out. Exponential; it exists to test the fast checker against.

use crate::history::Operation;
use crate::spec::SequentialSpec;

/// Whether `ops` (one object's operations) are linearizable under the sequential
/// specification `spec`, found by trying every order. Use on at most a dozen operations.
///
/// ```
/// use checkers::brute::linearizable;
/// use checkers::history::History;
/// use checkers::spec::Register;
/// use checkers::history::Value;
/// let text = r#"{"process":0,"type":"invoke","f":"write","value":1}
/// {"process":1,"type":"invoke","f":"read","value":null}
/// {"process":1,"type":"ok","f":"read","value":1}
/// {"process":0,"type":"ok","f":"write","value":1}"#;
/// let ops = History::from_jsonl(text, "h")?.operations("h")?;
/// assert!(linearizable(&Register { cas: false, initial: Value::Nil }, &ops));
/// # Ok::<(), checkers::history::HistoryError>(())
/// ```
pub fn linearizable<M: SequentialSpec>(spec: &M, ops: &[Operation]) -> bool {
    let mut placed = vec![false; ops.len()];
    search(spec, ops, &mut placed, &spec.init())
}

/// `a` must come before `b` if `a` returned before `b` was called.
fn precedes(a: &Operation, b: &Operation) -> bool {
    a.ret.is_some_and(|ret| ret < b.call)
}

fn search<M: SequentialSpec>(
    spec: &M,
    ops: &[Operation],
    placed: &mut [bool],
    state: &M::State,
) -> bool {
    let all_ok_placed = ops
        .iter()
        .zip(placed.iter())
        .all(|(op, &p)| p || op.ret.is_none());
    if all_ok_placed {
        return true; // the unplaced `info` operations never took effect
    }
    for i in 0..ops.len() {
        if placed[i] {
            continue;
        }
        // Every operation that must precede it is placed, or is an `info` that never
        // happened (which cannot precede anything: it has no return).
        let ready = (0..ops.len()).all(|j| placed[j] || !precedes(&ops[j], &ops[i]));
        if !ready {
            continue;
        }
        if let Some(next) = spec.step(state, &ops[i]) {
            placed[i] = true;
            if search(spec, ops, placed, &next) {
                return true;
            }
            placed[i] = false;
        }
    }
    false
}
