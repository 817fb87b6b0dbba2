//! Convergence and lost writes, judged from the final reads.
//!
//! The final reads of a key are the reads the history marks final (`"final": true` in
//! JSONL, `:final? true` in EDN), as consim's runner marks the reads it takes after
//! healing the faults and letting the system go quiet (Jepsen's final reads). In a
//! history that marks none, they are the reads invoked after every write of that key
//! had ended — its last invocation or completion. Then:
//!
//! - **convergence**: every final read of a key returned the same value;
//! - **lost writes** (list-append, where the data type promises to keep every element):
//!   each appended element is classified as Jepsen does — `stable` (in the final
//!   state), `lost` (acknowledged, yet missing from the final state), `never-read` (an
//!   `info` append no read ever saw: nobody can tell whether it happened),
//!   `recovered` (an `info` append that turned out to have happened) and `unexpected`
//!   (read, but never appended by anyone);
//! - **lost updates** (last-writer-wins registers with unique values): an acknowledged
//!   write is lost if the final value is that of a write that ended before it was even
//!   invoked — overwritten by a write older in real time, as skewed clocks do to LWW.
//!
//! An `info` write still in flight when the final reads ran could make them differ
//! legitimately; consim's workloads end with a quiet phase so that none is.
//!
//! A history may also say which reads are final, as Jepsen's do: a read marked
//! `"final": true` (JSONL) or `:final? true` (EDN) on its invocation or completion.
//! When any read of a history is marked, the marked reads, and only they, are the
//! final reads of their keys — whatever ran concurrently with them.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::history::{Function, History, Operation, Value};
use crate::shared::{by_key, op_text};

/// What happened to one appended (or read) element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// In the final state.
    Stable,
    /// Acknowledged, but missing from the final state.
    Lost,
    /// An `info` append no read ever saw.
    NeverRead,
    /// An `info` append that some read saw: it happened.
    Recovered,
    /// Read, but never appended by anyone.
    Unexpected,
}

/// One key's final state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyConvergence {
    /// The key.
    pub key: Option<Value>,
    /// The final reads (indices into the checked operations).
    pub final_reads: Vec<usize>,
    /// Whether every final read returned the same value (vacuously true with none).
    pub converged: bool,
    /// The distinct values the final reads returned, each with the reads that returned
    /// it (more than one entry means divergence).
    pub final_values: Vec<(Value, Vec<usize>)>,
    /// For list-append keys: every element by fate.
    pub elements: BTreeMap<Fate, Vec<Value>>,
    /// For registers: `(lost write, the older write that won)`.
    pub lost_updates: Vec<(usize, usize)>,
    /// Sentences on each problem.
    pub problems: Vec<String>,
}

/// Every key's final state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConvergenceReport {
    /// Per key, in key order.
    pub keys: Vec<KeyConvergence>,
}

impl ConvergenceReport {
    /// Whether every key converged and lost nothing acknowledged.
    pub fn ok(&self) -> bool {
        self.keys.iter().all(|k| k.problems.is_empty())
    }
}

/// Judges convergence and lost writes on `ops` (from [`History::operations`]).
///
/// ```
/// use checkers::history::History;
/// use checkers::convergence::{check_convergence, Fate};
/// // An acknowledged append of 2 is missing from both final reads.
/// let text = r#"{"process":0,"type":"invoke","f":"append","key":"x","value":1}
/// {"process":0,"type":"ok","f":"append","key":"x","value":1}
/// {"process":1,"type":"invoke","f":"append","key":"x","value":2}
/// {"process":1,"type":"ok","f":"append","key":"x","value":2}
/// {"process":0,"type":"invoke","f":"read","key":"x","value":null}
/// {"process":0,"type":"ok","f":"read","key":"x","value":[1]}
/// {"process":1,"type":"invoke","f":"read","key":"x","value":null}
/// {"process":1,"type":"ok","f":"read","key":"x","value":[1]}"#;
/// let history = History::from_jsonl(text, "h")?;
/// let report = check_convergence(&history, &history.operations("h")?);
/// assert!(report.keys[0].converged);
/// assert_eq!(report.keys[0].elements[&Fate::Lost].len(), 1);
/// assert!(!report.ok());
/// # Ok::<(), checkers::history::HistoryError>(())
/// ```
pub fn check_convergence(history: &History, ops: &[Operation]) -> ConvergenceReport {
    let appends = ops.iter().any(|o| o.f == Function::Append);
    let marked = !history.finals.is_empty();
    let keys = by_key(ops)
        .into_iter()
        .map(|(key, indices)| judge_key(history, ops, key, &indices, appends, marked))
        .collect();
    ConvergenceReport { keys }
}

fn judge_key(
    history: &History,
    ops: &[Operation],
    key: Option<Value>,
    indices: &[usize],
    appends: bool,
    marked: bool,
) -> KeyConvergence {
    // The last event of any write of this key: its completion, or its invocation if it
    // never completed.
    let writes_end = indices
        .iter()
        .filter(|&&i| ops[i].f != Function::Read)
        .map(|&i| ops[i].ret.unwrap_or(ops[i].call))
        .max();
    let is_final = |i: usize| {
        if marked {
            history.is_final(ops[i].call) || ops[i].ret.is_some_and(|r| history.is_final(r))
        } else {
            writes_end.is_none_or(|end| ops[i].call > end)
        }
    };
    let final_reads: Vec<usize> = indices
        .iter()
        .copied()
        .filter(|&i| ops[i].f == Function::Read && ops[i].ret.is_some())
        .filter(|&i| is_final(i))
        .collect();
    let mut final_values: Vec<(Value, Vec<usize>)> = Vec::new();
    for &r in &final_reads {
        let mut value = ops[r].output.clone().unwrap_or_default();
        if appends && value == Value::Nil {
            value = Value::List(Vec::new());
        }
        match final_values.iter_mut().find(|(v, _)| *v == value) {
            Some((_, reads)) => reads.push(r),
            None => final_values.push((value, vec![r])),
        }
    }
    let converged = final_values.len() <= 1;
    let mut problems = Vec::new();
    if !converged {
        let shown: Vec<String> = final_values
            .iter()
            .map(|(v, reads)| {
                format!(
                    "{v} ({} read{})",
                    reads.len(),
                    if reads.len() == 1 { "" } else { "s" }
                )
            })
            .collect();
        problems.push(format!("the final reads disagree: {}", shown.join(" vs ")));
    }
    let mut elements: BTreeMap<Fate, Vec<Value>> = BTreeMap::new();
    let mut lost_updates = Vec::new();
    if appends {
        classify_elements(ops, indices, &final_values, &mut elements, &mut problems);
    } else if let [(value, _)] = final_values.as_slice() {
        lost_updates = lww_losses(ops, indices, value);
        for &(lost, winner) in &lost_updates {
            problems.push(format!(
                "{} was acknowledged, but the final value is that of {}, which ended before it began",
                op_text(history, &ops[lost]),
                op_text(history, &ops[winner])
            ));
        }
    }
    KeyConvergence {
        key,
        final_reads,
        converged,
        final_values,
        elements,
        lost_updates,
        problems,
    }
}

fn classify_elements(
    ops: &[Operation],
    indices: &[usize],
    final_values: &[(Value, Vec<usize>)],
    elements: &mut BTreeMap<Fate, Vec<Value>>,
    problems: &mut Vec<String>,
) {
    // With divergent final reads, an element is stable only if every one has it.
    let in_final = |x: &Value| {
        !final_values.is_empty()
            && final_values
                .iter()
                .all(|(v, _)| matches!(v, Value::List(items) if items.contains(x)))
    };
    let ever_read = elements_read(ops, indices);
    let mut appended: BTreeSet<&Value> = BTreeSet::new();
    for &i in indices.iter().filter(|&&i| ops[i].f == Function::Append) {
        let x = &ops[i].input;
        appended.insert(x);
        let fate = match (
            in_final(x),
            ops[i].ret.is_some(),
            ever_read.binary_search(&x).is_ok(),
        ) {
            (true, _, _) => Fate::Stable,
            (false, true, _) => Fate::Lost,
            (false, false, true) => Fate::Recovered,
            (false, false, false) => Fate::NeverRead,
        };
        elements.entry(fate).or_default().push(x.clone());
    }
    for x in ever_read.iter().filter(|x| !appended.contains(*x)) {
        elements
            .entry(Fate::Unexpected)
            .or_default()
            .push((*x).clone());
    }
    if final_values.is_empty() {
        return;
    }
    if let Some(lost) = elements.get(&Fate::Lost) {
        let shown: Vec<String> = lost.iter().map(Value::to_string).collect();
        problems.push(format!(
            "acknowledged appends missing from the final state: {}",
            shown.join(", ")
        ));
    }
    if let Some(unexpected) = elements.get(&Fate::Unexpected) {
        let shown: Vec<String> = unexpected.iter().map(Value::to_string).collect();
        problems.push(format!(
            "elements read that nobody appended: {}",
            shown.join(", ")
        ));
    }
}

/// Every element the reads among `indices` held, once each, in order. Reads of a list
/// mostly repeat one another: a read that extends the longest list seen so far adds
/// only its new elements, and one that is a prefix of it adds none.
fn elements_read<'o>(ops: &'o [Operation], indices: &[usize]) -> Vec<&'o Value> {
    let mut read: Vec<&Value> = Vec::new();
    let mut longest: &[Value] = &[];
    for &i in indices {
        let (Function::Read, Some(Value::List(items))) = (ops[i].f, &ops[i].output) else {
            continue;
        };
        let fresh = if items.starts_with(longest) {
            &items[longest.len()..]
        } else if longest.starts_with(items) {
            &[]
        } else {
            &items[..]
        };
        if items.len() > longest.len() {
            longest = items;
        }
        for x in fresh {
            if let Err(at) = read.binary_search(&x) {
                read.insert(at, x);
            }
        }
    }
    read
}

/// Acknowledged writes overwritten by a write that ended before they began.
fn lww_losses(ops: &[Operation], indices: &[usize], final_value: &Value) -> Vec<(usize, usize)> {
    let writes = || {
        indices
            .iter()
            .copied()
            .filter(|&i| ops[i].f == Function::Write)
    };
    // Unique values make the winner well defined; with duplicates, say nothing.
    let winners: Vec<usize> = writes().filter(|&i| ops[i].input == *final_value).collect();
    let [winner] = winners.as_slice() else {
        return Vec::new();
    };
    let Some(won_at) = ops[*winner].ret else {
        return Vec::new();
    };
    writes()
        .filter(|&i| i != *winner && ops[i].ret.is_some() && ops[i].call > won_at)
        .map(|i| (i, *winner))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read(call: usize, items: &[i64]) -> Operation {
        Operation {
            process: call as u64,
            f: Function::Read,
            key: None,
            input: Value::Nil,
            output: Some(Value::List(items.iter().map(|&i| Value::Int(i)).collect())),
            call,
            ret: Some(call + 1),
        }
    }

    proptest! {
        /// The prefix shortcut gives what a set of every element of every read does,
        /// with reads that extend, repeat, shorten and contradict one another.
        #[test]
        fn elements_read_are_the_union_of_the_reads(
            base in prop::collection::vec(0i64..20, 0..12),
            reads in prop::collection::vec((0usize..14, prop::collection::vec(0i64..20, 0..3)), 0..8),
        ) {
            let ops: Vec<Operation> = reads
                .iter()
                .enumerate()
                .map(|(i, (cut, extra))| {
                    let mut items = base[..(*cut).min(base.len())].to_vec();
                    items.extend(extra);
                    read(2 * i, &items)
                })
                .collect();
            let indices: Vec<usize> = (0..ops.len()).collect();
            let union: BTreeSet<&Value> = ops
                .iter()
                .flat_map(|o| match &o.output {
                    Some(Value::List(items)) => items.iter(),
                    _ => [].iter(),
                })
                .collect();
            let union: Vec<&Value> = union.into_iter().collect();
            prop_assert_eq!(elements_read(&ops, &indices), union);
        }
    }
}
