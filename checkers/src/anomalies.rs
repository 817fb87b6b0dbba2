//! Anomalies a list-append history shows outright, named as Elle names them: no
//! inference needed, each is a fact about one or two reads.
//!
//! - `garbage-read`: a read returned an element nobody tried to append;
//! - `G1a` (aborted read): a read returned an element whose append failed;
//! - `duplicate-elements`: a read returned one element twice;
//! - `incompatible-order`: two reads of a key disagree on the order of the list — one
//!   is not a prefix of the other, so no single version order explains both.
//!
//! And what a register history with unique written values shows by real time alone
//! ([`register_anomalies`]), each enough to rule out linearizability:
//!
//! - `future-read`: a read returned a value whose write began only after the read ended;
//! - `stale-read`: a read returned a value (or the initial nil) although another write
//!   began after that value's write had ended, and ended before the read began;
//! - `new-old-inversion`: a read returned an older value than a read that had ended
//!   before it began (the write of the one ended before the write of the other began).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::history::{EventType, Function, History, Operation, Value};
use crate::linear::{FxMap, when};

/// The kind of an anomaly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Kind {
    /// An element nobody appended.
    #[serde(rename = "garbage-read")]
    GarbageRead,
    /// An element whose append failed (Elle's G1a).
    #[serde(rename = "G1a")]
    AbortedRead,
    /// An element twice in one read.
    #[serde(rename = "duplicate-elements")]
    DuplicateElements,
    /// Two reads that no single order of the list explains.
    #[serde(rename = "incompatible-order")]
    IncompatibleOrder,
    /// A register read of a value whose write had not begun.
    #[serde(rename = "future-read")]
    FutureRead,
    /// A register read of a value real time proves overwritten.
    #[serde(rename = "stale-read")]
    StaleRead,
    /// A register read older than one that ended before it began.
    #[serde(rename = "new-old-inversion")]
    NewOldInversion,
}

impl Kind {
    /// The name it is reported by (as in JSON).
    pub fn name(self) -> &'static str {
        match self {
            Kind::GarbageRead => "garbage-read",
            Kind::AbortedRead => "G1a",
            Kind::DuplicateElements => "duplicate-elements",
            Kind::IncompatibleOrder => "incompatible-order",
            Kind::FutureRead => "future-read",
            Kind::StaleRead => "stale-read",
            Kind::NewOldInversion => "new-old-inversion",
        }
    }
}

/// One anomaly, with the operations that show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Found {
    /// What kind.
    pub kind: Kind,
    /// The key.
    pub key: Option<Value>,
    /// The reads involved (indices into the checked operations).
    pub ops: Vec<usize>,
    /// Why, in a sentence.
    pub explanation: String,
}

impl Found {
    /// `kind: explanation`, as the runner, `consim check` and the picture report it.
    pub fn sentence(&self) -> String {
        format!("{}: {}", self.kind.name(), self.explanation)
    }
}

/// The anomalies `ops` (from [`History::operations`]) of a list-append `history` show.
///
/// ```
/// use checkers::anomalies::{list_append_anomalies, Kind};
/// use checkers::history::History;
/// let text = r#"{"process":0,"type":"invoke","f":"append","key":"x","value":1}
/// {"process":0,"type":"fail","f":"append","key":"x","value":1}
/// {"process":1,"type":"invoke","f":"read","key":"x","value":null}
/// {"process":1,"type":"ok","f":"read","key":"x","value":[1]}"#;
/// let history = History::from_jsonl(text, "h")?;
/// let found = list_append_anomalies(&history, &history.operations("h")?);
/// assert_eq!(found[0].kind, Kind::AbortedRead);
/// # Ok::<(), checkers::history::HistoryError>(())
/// ```
pub fn list_append_anomalies(history: &History, ops: &[Operation]) -> Vec<Found> {
    // Failed appends are not operations (they did not happen); find them in the events.
    let mut failed: BTreeMap<Option<Value>, BTreeSet<&Value>> = BTreeMap::new();
    for event in &history.events {
        if event.kind == EventType::Fail && event.f == Function::Append {
            failed
                .entry(event.key.clone())
                .or_default()
                .insert(&event.value);
        }
    }
    let mut by_key: BTreeMap<Option<Value>, Vec<usize>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        by_key.entry(op.key.clone()).or_default().push(i);
    }
    let no_failures = BTreeSet::new();
    let mut found = Vec::new();
    for (key, indices) in by_key {
        let appended: FxMap<&Value, ()> = indices
            .iter()
            .filter(|&&i| ops[i].f == Function::Append)
            .map(|&i| (&ops[i].input, ()))
            .collect();
        let failed_here = failed.get(&key).unwrap_or(&no_failures);
        let reads: Vec<(usize, &[Value])> = indices
            .iter()
            .filter(|&&i| ops[i].f == Function::Read)
            .filter_map(|&i| match &ops[i].output {
                Some(Value::List(items)) => Some((i, items.as_slice())),
                Some(Value::Nil) => Some((i, &[][..])),
                _ => None,
            })
            .collect();
        let read_text = |i: usize| {
            let op = &ops[i];
            format!(
                "process {} read {} {}",
                op.process,
                op.output.clone().unwrap_or_default(),
                when(history, op)
            )
        };
        // A read that extends the one before it is checked only for its new elements
        // (the shared ones were checked, and reported, with the read before).
        let mut previous: &[Value] = &[];
        let mut elements: FxMap<&Value, ()> = FxMap::default();
        for &(r, list) in &reads {
            let new = if list.starts_with(previous) {
                &list[previous.len()..]
            } else {
                elements.clear();
                list
            };
            let mut duplicate = None;
            for x in new {
                if elements.insert(x, ()).is_some() && duplicate.is_none() {
                    duplicate = Some(x);
                }
            }
            if let Some(x) = duplicate {
                found.push(Found {
                    kind: Kind::DuplicateElements,
                    key: key.clone(),
                    ops: vec![r],
                    explanation: format!("{}, with {x} more than once", read_text(r)),
                });
            }
            for x in new.iter().filter(|x| !appended.contains_key(x)) {
                let (kind, why) = if failed_here.contains(x) {
                    (Kind::AbortedRead, "whose append failed")
                } else {
                    (Kind::GarbageRead, "which nobody appended")
                };
                found.push(Found {
                    kind,
                    key: key.clone(),
                    ops: vec![r],
                    explanation: format!("{}, including {x}, {why}", read_text(r)),
                });
            }
            previous = list;
        }
        // Every read must be a prefix of the longest one, or some pair disagrees.
        if let Some(&(longest, full)) = reads
            .iter()
            .max_by_key(|(i, list)| (list.len(), std::cmp::Reverse(*i)))
        {
            for &(r, list) in &reads {
                if !full.starts_with(list) {
                    found.push(Found {
                        kind: Kind::IncompatibleOrder,
                        key: key.clone(),
                        ops: vec![r, longest],
                        explanation: format!(
                            "{} and {} cannot both be prefixes of one order of the list",
                            read_text(r),
                            read_text(longest)
                        ),
                    });
                }
            }
        }
    }
    found
}

/// What a register history with unique written values shows by real time alone:
/// future reads, stale reads and new-old inversions (see the module docs). `ops` are
/// from [`History::operations`]; writes and successful compare-and-sets write values,
/// reads return one (or the history's initial value, nil unless its format says
/// otherwise). A key on which two writes wrote the same value (or the initial one), or
/// that is appended to, is skipped: a read could not say which write it saw. Each anomaly found rules
/// out linearizability; finding none proves nothing.
///
/// ```
/// use checkers::anomalies::{register_anomalies, Kind};
/// use checkers::history::History;
/// let text = r#"{"process":0,"type":"invoke","f":"write","key":"x","value":1}
/// {"process":0,"type":"ok","f":"write","key":"x","value":1}
/// {"process":0,"type":"invoke","f":"write","key":"x","value":2}
/// {"process":0,"type":"ok","f":"write","key":"x","value":2}
/// {"process":1,"type":"invoke","f":"read","key":"x","value":null}
/// {"process":1,"type":"ok","f":"read","key":"x","value":1}"#;
/// let history = History::from_jsonl(text, "h")?;
/// let found = register_anomalies(&history, &history.operations("h")?);
/// assert_eq!(found[0].kind, Kind::StaleRead);
/// # Ok::<(), checkers::history::HistoryError>(())
/// ```
pub fn register_anomalies(history: &History, ops: &[Operation]) -> Vec<Found> {
    let mut by_key: BTreeMap<Option<Value>, Vec<usize>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        by_key.entry(op.key.clone()).or_default().push(i);
    }
    let mut found = Vec::new();
    for (key, indices) in by_key {
        register_key(history, ops, key, &indices, &mut found);
    }
    found
}

/// The value an operation writes, if it writes one: a write's argument, or the new
/// value of a compare-and-set (which writes only if it succeeded, or may have).
fn written(op: &Operation) -> Option<&Value> {
    match (op.f, &op.input) {
        (Function::Write, v) => Some(v),
        (Function::Cas, Value::List(pair)) if pair.len() == 2 => Some(&pair[1]),
        _ => None,
    }
}

fn register_key(
    history: &History,
    ops: &[Operation],
    key: Option<Value>,
    indices: &[usize],
    found: &mut Vec<Found>,
) {
    // The write of each value; a value written twice (or the initial value written)
    // makes reads of it ambiguous, so the key is left alone.
    let initial = &history.initial;
    let mut writer: BTreeMap<&Value, usize> = BTreeMap::new();
    if indices.iter().any(|&i| ops[i].f == Function::Append) {
        return; // Not a register.
    }
    for &i in indices {
        if let Some(v) = written(&ops[i]) {
            if v == initial || writer.insert(v, i).is_some() {
                return;
            }
        }
    }
    let text = |i: usize| {
        let op = &ops[i];
        let from = key
            .as_ref()
            .map_or(String::new(), |k| format!(" from key {k}"));
        let what = match op.f {
            Function::Read => format!("read {}{from}", op.output.clone().unwrap_or_default()),
            Function::Cas => format!("cas {}", op.input),
            f => format!("{f} {}", op.input),
        };
        format!("process {} {what} {}", op.process, when(history, op))
    };
    // Completed writes by completion, with the latest start among those completed so
    // far: "some write began after t and ended before u" is a lookup.
    let mut completed: Vec<usize> = writer
        .values()
        .copied()
        .filter(|&w| ops[w].ret.is_some())
        .collect();
    completed.sort_by_key(|&w| ops[w].ret);
    let latest_start = running_max(&completed, |w| ops[w].call);
    // Completed reads of written values (nil and unknown values aside), by completion,
    // with the latest start of the write of what each returned.
    let reads: Vec<usize> = indices
        .iter()
        .copied()
        .filter(|&i| ops[i].f == Function::Read && ops[i].ret.is_some())
        .filter(|&i| {
            ops[i]
                .output
                .as_ref()
                .is_some_and(|v| v == initial || writer.contains_key(v))
        })
        .collect();
    let mut seen: Vec<usize> = reads
        .iter()
        .copied()
        .filter(|&r| ops[r].output.as_ref() != Some(initial))
        .collect();
    seen.sort_by_key(|&r| ops[r].ret);
    let value_of = |r: usize| ops[r].output.as_ref().expect("a completed read");
    let latest_seen = running_max(&seen, |r| ops[writer[value_of(r)]].call);
    // How many of `list` (sorted by completion) ended before event `before`.
    let ended_before =
        |list: &[usize], before: usize| list.partition_point(|&x| ops[x].ret < Some(before));
    for &r in &reads {
        let read = &ops[r];
        let value = value_of(r);
        // When the write of `value` ended: `Some(None)` for the initial value (before
        // everything), `None` if it never did (nothing is proved against it).
        let write = (value != initial).then(|| writer[value]);
        let ended: Option<Option<usize>> = match write {
            None => Some(None),
            Some(w) => ops[w].ret.map(Some),
        };
        let after = |start: usize| match ended {
            Some(None) => true,
            Some(Some(end)) => start > end,
            None => false,
        };
        // A future read: its write began after the read ended.
        if let Some(w) = write
            && Some(ops[w].call) > read.ret
        {
            found.push(Found {
                kind: Kind::FutureRead,
                key: key.clone(),
                ops: vec![r, w],
                explanation: format!(
                    "{}, which {} began to write only after the read ended",
                    text(r),
                    text(w)
                ),
            });
            continue;
        }
        // A stale read: a completed write began after this value's write ended (for
        // the initial value: any completed write) and ended before the read began.
        let n = ended_before(&completed, read.call);
        if let Some(&(start, c)) = n.checked_sub(1).map(|k| &latest_start[k])
            && after(start)
        {
            let explanation = match write {
                Some(w) => format!(
                    "{}, but {} began after {} ended, and ended before the read began",
                    text(r),
                    text(c),
                    text(w)
                ),
                None => format!(
                    "{} (the initial value), but {} ended before the read began",
                    text(r),
                    text(c)
                ),
            };
            found.push(Found {
                kind: Kind::StaleRead,
                key: key.clone(),
                ops: vec![r, c],
                explanation,
            });
            continue;
        }
        // A new-old inversion: a read that ended before this one began returned a value
        // whose write began after this value's write ended.
        let n = ended_before(&seen, read.call);
        if let Some(&(start, earlier)) = n.checked_sub(1).map(|k| &latest_seen[k])
            && after(start)
        {
            let newer = writer[value_of(earlier)];
            let explanation = match write {
                Some(w) => format!(
                    "{}, after {} had ended; but {} ended before {} began",
                    text(r),
                    text(earlier),
                    text(w),
                    text(newer)
                ),
                None => format!(
                    "{} (the initial value), after {} had ended",
                    text(r),
                    text(earlier)
                ),
            };
            found.push(Found {
                kind: Kind::NewOldInversion,
                key: key.clone(),
                ops: vec![earlier, r],
                explanation,
            });
        }
    }
}

/// For each prefix of `items`, the item with the largest `f` in it, and that value.
fn running_max(items: &[usize], f: impl Fn(usize) -> usize) -> Vec<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    items
        .iter()
        .map(|&i| {
            let v = f(i);
            if best.is_none_or(|(b, _)| v > b) {
                best = Some((v, i));
            }
            best.expect("set above")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn names_are_the_json_names() {
        for kind in [
            Kind::GarbageRead,
            Kind::AbortedRead,
            Kind::DuplicateElements,
            Kind::IncompatibleOrder,
            Kind::FutureRead,
            Kind::StaleRead,
            Kind::NewOldInversion,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
        }
    }
}
