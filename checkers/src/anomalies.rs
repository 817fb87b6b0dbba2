//! Anomalies a list-append history shows outright, named as Elle names them: no
//! inference needed, each is a fact about one or two reads.
//!
//! - `garbage-read`: a read returned an element nobody tried to append;
//! - `G1a` (aborted read): a read returned an element whose append failed;
//! - `duplicate-elements`: a read returned one element twice;
//! - `incompatible-order`: two reads of a key disagree on the order of the list — one
//!   is not a prefix of the other, so no single version order explains both.

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
