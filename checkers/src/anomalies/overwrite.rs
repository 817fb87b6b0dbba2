//! What real time alone shows on a register key whose values repeat (Jepsen's
//! cas-register test draws them from 0–4), where a read cannot be tied to one write.
//!
//! A read of `v` is *stale* if some `ok` operation `w` certainly left another value (an
//! `ok` write of it, or an `ok` cas to it), ended before the read began, and began
//! only after every operation that could write `v` (a write of `v`, a cas to `v`,
//! whatever its outcome) and began before the read ended had ended. Then every
//! linearization puts each such writer before `w`, `w` before the read, and no writer
//! of `v` in between: the register cannot hold `v` when the read takes effect. An
//! unknown-outcome writer of `v` that began before the read ended could take effect
//! anywhere after its call, so none may exist.

use std::collections::BTreeMap;

use super::realtime::written;
use crate::history::{Function, Operation, Value};

/// A stale read and the operation that proves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Overwrite {
    /// The read.
    pub(crate) read: usize,
    /// The `ok` operation that left another value, ended before the read began, and
    /// began after every possible writer of the read's value had ended.
    pub(crate) overwrite: usize,
    /// The last of those writers to end, if any began before the read ended.
    pub(crate) last_writer: Option<usize>,
}

/// Per value, its writers by call, with running facts about each prefix of them.
struct Writers {
    /// (call, index) by call.
    by_call: Vec<(usize, usize)>,
    /// For each prefix: unknown-outcome writers in it, and the one that ended last.
    unknown: Vec<usize>,
    last: Vec<Option<usize>>,
}

/// Among `ok` writers sorted by return, for each prefix: the one invoked last, and
/// the one invoked last among those writing another value than it.
struct Overwriters {
    rets: Vec<usize>,
    best: Vec<(usize, Option<usize>)>,
}

/// Every stale read among `indices` (one key's operations, no appends), in order.
pub(crate) fn stale_reads(ops: &[Operation], indices: &[usize]) -> Vec<Overwrite> {
    let writers = writers_by_value(ops, indices);
    let overwriters = overwriters(ops, indices);
    indices
        .iter()
        .copied()
        .filter(|&r| ops[r].f == Function::Read && ops[r].ret.is_some())
        .filter_map(|r| stale(ops, r, &writers, &overwriters))
        .collect()
}

fn writers_by_value<'o>(ops: &'o [Operation], indices: &[usize]) -> BTreeMap<&'o Value, Writers> {
    let mut by_value: BTreeMap<&Value, Vec<(usize, usize)>> = BTreeMap::new();
    for &i in indices {
        if let Some(v) = written(&ops[i]) {
            by_value.entry(v).or_default().push((ops[i].call, i));
        }
    }
    by_value
        .into_iter()
        .map(|(v, mut by_call)| {
            by_call.sort_unstable();
            let (mut unknown, mut last) = (vec![0], vec![None]);
            for &(_, i) in &by_call {
                let before: Option<usize> = *last.last().expect("starts with one");
                unknown.push(
                    unknown.last().expect("starts with one") + usize::from(ops[i].ret.is_none()),
                );
                let later = match (before, ops[i].ret) {
                    (Some(b), Some(ret)) if ops[b].ret.is_some_and(|r| r >= ret) => Some(b),
                    (_, Some(_)) => Some(i),
                    (b, None) => b,
                };
                last.push(later);
            }
            (
                v,
                Writers {
                    by_call,
                    unknown,
                    last,
                },
            )
        })
        .collect()
}

fn overwriters(ops: &[Operation], indices: &[usize]) -> Overwriters {
    let mut certain: Vec<usize> = indices
        .iter()
        .copied()
        .filter(|&i| ops[i].ret.is_some() && written(&ops[i]).is_some())
        .collect();
    certain.sort_unstable_by_key(|&i| ops[i].ret);
    let mut best: Vec<(usize, Option<usize>)> = Vec::with_capacity(certain.len());
    for &i in &certain {
        let next = match best.last() {
            None => (i, None),
            Some(&(top, other)) => {
                let later = |a: usize, b: Option<usize>| match b {
                    Some(b) if ops[b].call > ops[a].call => Some(b),
                    _ => Some(a),
                };
                if ops[i].call > ops[top].call {
                    // `i` leads; the runner-up writes another value than `i`.
                    let runner = if written(&ops[top]) != written(&ops[i]) {
                        Some(top)
                    } else {
                        other
                    };
                    (i, runner)
                } else if written(&ops[i]) != written(&ops[top]) {
                    (top, later(i, other))
                } else {
                    (top, other)
                }
            }
        };
        best.push(next);
    }
    Overwriters {
        rets: certain
            .iter()
            .map(|&i| ops[i].ret.expect("certain writers returned"))
            .collect(),
        best,
    }
}

/// Whether read `r` is stale, and why.
fn stale(
    ops: &[Operation],
    r: usize,
    writers: &BTreeMap<&Value, Writers>,
    overwriters: &Overwriters,
) -> Option<Overwrite> {
    let read = &ops[r];
    let (seen, ret) = (read.output.as_ref()?, read.ret?);
    let (last_writer, after) = match writers.get(seen) {
        None => (None, None),
        Some(w) => {
            let k = w.by_call.partition_point(|&(call, _)| call < ret);
            if w.unknown[k] > 0 {
                return None;
            }
            let last = w.last[k];
            (
                last,
                last.map(|l| ops[l].ret.expect("known writers returned")),
            )
        }
    };
    // The ok writers that ended before the read began: the one invoked last, or the
    // last among those of another value than it.
    let n = overwriters.rets.partition_point(|&t| t < read.call);
    let &(top, other) = overwriters.best.get(n.checked_sub(1)?)?;
    let candidate = if written(&ops[top]) != Some(seen) {
        Some(top)
    } else {
        other
    };
    let w = candidate?;
    if after.is_some_and(|a| ops[w].call <= a) || written(&ops[w]) == Some(seen) {
        return None;
    }
    Some(Overwrite {
        read: r,
        overwrite: w,
        last_writer,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::stale_reads;
    use crate::history::{EventType, Function, Value};
    use crate::synth::{self, Shape};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// The indexed detection finds exactly the reads the simple definition does
        /// ([`synth::stale_reads`], a brute force over pairs), on generated cas-register
        /// histories with some reads' results changed at random.
        #[test]
        fn agrees_with_the_simple_definition(
            processes in 2u64..8,
            ops in 2usize..300,
            crashed_per_mille in 0u32..300,
            seed in any::<u64>(),
            violation in any::<bool>(),
            corrupt in proptest::collection::vec((0usize..1000, 0i64..6), 0..4),
        ) {
            let shape = Shape { processes, ops, crashed_per_mille, seed, violation };
            let mut h = synth::cas_register(&shape);
            let reads: Vec<usize> = (0..h.events.len())
                .filter(|&i| h.events[i].f == Function::Read && h.events[i].kind == EventType::Ok)
                .collect();
            for (pick, value) in corrupt {
                if !reads.is_empty() {
                    let v = if value == 5 { Value::Nil } else { Value::Int(value) };
                    h.events[reads[pick % reads.len()]].value = v;
                }
            }
            let ops = h.operations("generated").unwrap();
            let all: Vec<usize> = (0..ops.len()).collect();
            let fast: Vec<usize> = stale_reads(&ops, &all).iter().map(|o| o.read).collect();
            prop_assert_eq!(fast, synth::stale_reads(&ops));
        }
    }
}
