//! A linearization the specification proposes, believed only once checked against the
//! definition: every operation that returned placed once (those of unknown outcome at
//! most once), no operation placed before one that returned before it was invoked,
//! and every operation legal, in the proposed order, for the specification. A history
//! that passes is linearizable, with the order as the proof; one that does not is
//! searched as if nothing had been proposed.
//!
//! For list-append ([`crate::spec::ListAppend::propose_order`]) the longest list read
//! names the order of the appends, and each read goes where its list ends: a correct
//! store's history passes in one pass over it, where the search needs a setup and a
//! configuration per operation.

use crate::history::Operation;
use crate::spec::SequentialSpec;

/// The order `spec` proposes for `ops` (indices into it), if it proposes one and the
/// order is a linearization of `ops`.
pub(super) fn proposed_linearization<M: SequentialSpec>(
    spec: &M,
    ops: &[&Operation],
) -> Option<Vec<usize>> {
    let order = spec.propose_order(ops)?;
    is_linearization(spec, ops, &order).then_some(order)
}

/// Whether `order` is a linearization of `ops`: see the module's documentation.
pub(super) fn is_linearization<M: SequentialSpec>(
    spec: &M,
    ops: &[&Operation],
    order: &[usize],
) -> bool {
    let mut placed = vec![false; ops.len()];
    for &i in order {
        if i >= ops.len() || placed[i] {
            return false;
        }
        placed[i] = true;
    }
    if ops
        .iter()
        .zip(&placed)
        .any(|(op, &p)| op.ret.is_some() && !p)
    {
        return false;
    }
    // Real time: nothing placed after an operation invoked after it returned.
    let mut latest_call = None;
    for &i in order {
        let op = ops[i];
        if let (Some(ret), Some(call)) = (op.ret, latest_call)
            && ret < call
        {
            return false;
        }
        latest_call = latest_call.max(Some(op.call));
    }
    let mut state = spec.init();
    for &i in order {
        let op = ops[i];
        if spec.is_read_only(op) {
            if !spec.allows(&state, op) {
                return false;
            }
        } else {
            match spec.step(&state, op) {
                Some(next) => state = next,
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Function, Value};
    use crate::spec::ListAppend;

    fn op(f: Function, value: Value, call: usize, ret: Option<usize>) -> Operation {
        let (input, output) = match f {
            Function::Read => (Value::Nil, ret.map(|_| value)),
            _ => (value.clone(), ret.map(|_| value)),
        };
        Operation {
            process: call as u64,
            f,
            key: None,
            input,
            output,
            call,
            ret,
        }
    }

    fn list(items: &[i64]) -> Value {
        Value::List(items.iter().map(|&i| Value::Int(i)).collect())
    }

    #[test]
    fn the_definition_rejects_what_it_should() {
        // append 1 [0, 1]; append 2 [2, 3]; read [1] [4, 5]; read [1, 2] [6, 7]
        let ops = [
            op(Function::Append, Value::Int(1), 0, Some(1)),
            op(Function::Append, Value::Int(2), 2, Some(3)),
            op(Function::Read, list(&[1]), 4, Some(5)),
            op(Function::Read, list(&[1, 2]), 6, Some(7)),
        ];
        let ops: Vec<&Operation> = ops.iter().collect();
        let spec = ListAppend;
        // The read of [1] after append 2 returned: against real time.
        assert!(!is_linearization(&spec, &ops, &[0, 2, 1, 3]));
        assert!(!is_linearization(&spec, &ops, &[0, 1, 3])); // a returned read left out
        assert!(!is_linearization(&spec, &ops, &[0, 1, 1, 3])); // placed twice
        assert!(!is_linearization(&spec, &ops, &[1, 0, 2, 3])); // the lists disagree
        assert!(!is_linearization(&spec, &ops, &[0, 1, 2, 7]));
        // The proposal: appends as the longest read has them, reads where they end;
        // here it is not a linearization (the first read is stale), and none exists.
        assert_eq!(spec.propose_order(&ops), Some(vec![0, 2, 1, 3]));
        assert_eq!(proposed_linearization(&spec, &ops), None);
        let owned: Vec<Operation> = ops.iter().map(|o| (*o).clone()).collect();
        assert!(!crate::brute::linearizable(&spec, &owned));
    }

    #[test]
    fn a_correct_history_is_proved_by_its_proposal() {
        // append 1 [0, 3]; read [] [1, 2]; append 2 [4, 6] of unknown outcome;
        // read [1, 2] [5, 7]; append 3 [8, 9] that nobody read.
        let ops = [
            op(Function::Append, Value::Int(1), 0, Some(3)),
            op(Function::Read, Value::Nil, 1, Some(2)),
            op(Function::Append, Value::Int(2), 4, None),
            op(Function::Read, list(&[1, 2]), 5, Some(7)),
            op(Function::Append, Value::Int(3), 8, Some(9)),
        ];
        let ops: Vec<&Operation> = ops.iter().collect();
        assert_eq!(
            proposed_linearization(&ListAppend, &ops),
            Some(vec![1, 0, 2, 3, 4])
        );
    }
}
