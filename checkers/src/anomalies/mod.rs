//! The anomalies consim names, in one vocabulary ([`Kind`]), and the ones a history
//! shows outright, without a search.
//!
//! Where each is detected:
//!
//! | anomaly | detected by |
//! | --- | --- |
//! | `garbage-read`, `G1a` (aborted read), `duplicate-elements`, `incompatible-order` | one detection on the reads of each list-append key ([`list_append_anomalies`] reports every read that shows one; the dependency graph, [`crate::elle`], one per key); `garbage-read` and `G1a` on registers by the dependency graph |
//! | `future-read`, `stale-read`, `new-old-inversion` | [`register_anomalies`], by real time alone (on keys whose values repeat, `stale-read` only) |
//! | `G0`, `G1c`, `G-single-item`, … (cycles), `G1b`, `lost-update` | the dependency graph ([`crate::elle`]) |
//! | `read-committed-cycle-exists`, … (a forbidden cycle exists where the search ran out of budget) | the dependency graph ([`crate::elle::CycleExists`]) |
//! | `read-your-writes`, `monotonic-reads`, … (broken session guarantees) | [`crate::session`] |
//!
//! What a list-append history shows outright, named as Elle names it: no inference
//! needed, each is a fact about one or two reads.
//!
//! - `garbage-read`: a read returned an element nobody tried to append;
//! - `G1a` (aborted read): a read returned an element whose append failed;
//! - `duplicate-elements`: a read returned one element twice (counted per append, as
//!   effects per intent, by [`crate::effects`]);
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
//!
//! On a register key whose values repeat, a read cannot be tied to one write, but a
//! `stale-read` can still be proved: another value was certainly written after every
//! operation that could write the read's value had ended, and before the read began
//! (see `overwrite`).

mod lists;
mod overwrite;
mod realtime;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Serialize, Serializer};

use crate::elle::{CycleExists, CycleKind};
use crate::history::{EventType, Function, History, Operation, Value};
use crate::session::Guarantee;
use crate::shared::{FxMap, by_key, op_text};

pub(crate) use lists::ListReads;

/// The kind of an anomaly: every anomaly any checker of this crate reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A dependency cycle ([`crate::elle`]).
    Cycle(CycleKind),
    /// A cycle some model forbids exists among the transactions of a strongly
    /// connected component, though the search ran out of budget before naming one
    /// ([`crate::elle::CycleExists`]).
    CycleExists(CycleExists),
    /// A read of a write whose transaction failed (Elle's G1a).
    AbortedRead,
    /// A read of a write its transaction later overwrote (Elle's G1b).
    IntermediateRead,
    /// A read of a value (an element) nobody wrote.
    GarbageRead,
    /// A read showing one element twice.
    DuplicateElements,
    /// Reads of a key that no single order of its list explains.
    IncompatibleOrder,
    /// Two committed transactions read the same version of a key and both wrote it.
    LostUpdate,
    /// A register read of a value whose write had not begun.
    FutureRead,
    /// A register read of a value real time proves overwritten.
    StaleRead,
    /// A register read older than one that ended before it began.
    NewOldInversion,
    /// A session guarantee broken ([`crate::session`]).
    Session(Guarantee),
}

impl Kind {
    /// The name Elle (or, for session guarantees, Jepsen) gives it, as reports and
    /// JSON say it.
    pub fn name(self) -> String {
        self.static_name().to_owned()
    }

    /// The name, borrowed.
    pub fn static_name(self) -> &'static str {
        match self {
            Kind::Cycle(c) => c.name(),
            Kind::CycleExists(c) => c.name(),
            Kind::AbortedRead => "G1a",
            Kind::IntermediateRead => "G1b",
            Kind::GarbageRead => "garbage-read",
            Kind::DuplicateElements => "duplicate-elements",
            Kind::IncompatibleOrder => "incompatible-order",
            Kind::LostUpdate => "lost-update",
            Kind::FutureRead => "future-read",
            Kind::StaleRead => "stale-read",
            Kind::NewOldInversion => "new-old-inversion",
            Kind::Session(g) => g.name(),
        }
    }

    /// A read of a value nobody wrote: aborted if its write failed, else garbage.
    pub(crate) fn unwritten(aborted: bool) -> Kind {
        if aborted {
            Kind::AbortedRead
        } else {
            Kind::GarbageRead
        }
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.static_name())
    }
}

/// One anomaly among operations, with the operations that show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Found {
    /// What kind.
    pub kind: Kind,
    /// The key.
    pub key: Option<Value>,
    /// The operations involved (indices into the checked operations).
    pub ops: Vec<usize>,
    /// Why, in sentences.
    pub explanation: String,
}

impl Found {
    /// `kind: explanation`, as the runner, `consim check` and the picture report it.
    pub fn sentence(&self) -> String {
        format!("{}: {}", self.kind.static_name(), self.explanation)
    }
}

/// The anomalies `ops` (from [`History::operations`]) of a list-append `history` show:
/// every read that shows an element nobody appended (or whose append failed) or an
/// element twice, judged on the elements it adds to the read before it, and every read
/// that is not a prefix of the longest.
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
    let failed = failed_appends(history);
    let no_failures = BTreeSet::new();
    let mut found = Vec::new();
    for (key, indices) in by_key(ops) {
        let failed_here = failed.get(&key).unwrap_or(&no_failures);
        list_append_key(history, ops, &key, &indices, failed_here, &mut found);
    }
    found
}

/// The values of each key's failed appends: they are not operations (they did not
/// happen), so they are found among the events.
fn failed_appends(history: &History) -> BTreeMap<Option<Value>, BTreeSet<&Value>> {
    let mut failed: BTreeMap<Option<Value>, BTreeSet<&Value>> = BTreeMap::new();
    for event in &history.events {
        if event.kind == EventType::Fail && event.f == Function::Append {
            failed
                .entry(event.key.clone())
                .or_default()
                .insert(&event.value);
        }
    }
    failed
}

fn list_append_key(
    history: &History,
    ops: &[Operation],
    key: &Option<Value>,
    indices: &[usize],
    failed: &BTreeSet<&Value>,
    found: &mut Vec<Found>,
) {
    let appended: FxMap<&Value, ()> = indices
        .iter()
        .filter(|&&i| ops[i].f == Function::Append)
        .map(|&i| (&ops[i].input, ()))
        .collect();
    let (reads, lists): (Vec<usize>, Vec<&[Value]>) = indices
        .iter()
        .filter(|&&i| ops[i].f == Function::Read)
        .filter_map(|&i| match &ops[i].output {
            Some(Value::List(items)) => Some((i, items.as_slice())),
            Some(Value::Nil) => Some((i, &[][..])),
            _ => None,
        })
        .unzip();
    let judged = ListReads::new(
        lists,
        |x| appended.contains_key(x),
        |x| failed.contains(x).then_some(()),
    );
    let read_text = |r: usize| op_text(history, &ops[reads[r]]);
    let mut push = |kind: Kind, involved: Vec<usize>, explanation: String| {
        found.push(Found {
            kind,
            key: key.clone(),
            ops: involved.into_iter().map(|r| reads[r]).collect(),
            explanation,
        });
    };
    let mut unwritten = judged.unwritten().iter().peekable();
    let mut duplicates = judged.duplicates().iter().peekable();
    for r in 0..reads.len() {
        if let Some((_, x)) = duplicates.next_if(|(d, _)| *d == r) {
            let why = format!("{}, with {x} more than once", read_text(r));
            push(Kind::DuplicateElements, vec![r], why);
        }
        while let Some(u) = unwritten.next_if(|u| u.read == r) {
            let why = match u.kind() {
                Kind::AbortedRead => "whose append failed",
                _ => "which nobody appended",
            };
            let text = format!("{}, including {}, {why}", read_text(r), u.element);
            push(u.kind(), vec![r], text);
        }
    }
    if let Some(longest) = judged.longest() {
        for &r in judged.incompatible() {
            let why = format!(
                "{} and {} cannot both be prefixes of one order of the list",
                read_text(r),
                read_text(longest)
            );
            push(Kind::IncompatibleOrder, vec![r, longest], why);
        }
    }
}

/// What a register history with unique written values shows by real time alone:
/// future reads, stale reads and new-old inversions (see the module docs). `ops` are
/// from [`History::operations`]; writes and successful compare-and-sets write values,
/// reads return one (or the history's initial value, nil unless its format says
/// otherwise). A key on which two writes wrote the same value (or the initial one), or
/// that is appended to, is skipped: a read could not say which write it saw. Each
/// anomaly found rules out linearizability; finding none proves nothing.
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
    let mut found = Vec::new();
    for (key, indices) in by_key(ops) {
        realtime::register_key(history, ops, &key, &indices, &mut found);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::Kind;
    use crate::elle::{Base, CycleExists, CycleKind, Variant};
    use crate::session::Guarantee;

    #[test]
    fn names_are_the_json_names() {
        for c in CycleExists::ALL {
            let kind = Kind::CycleExists(c);
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
            assert_eq!(kind.name(), format!("{}-cycle-exists", c.model()));
        }
        let cycle = Kind::Cycle(CycleKind {
            base: Base::GSingleItem,
            variant: Variant::Process,
        });
        for kind in [
            cycle,
            Kind::AbortedRead,
            Kind::IntermediateRead,
            Kind::GarbageRead,
            Kind::DuplicateElements,
            Kind::IncompatibleOrder,
            Kind::LostUpdate,
            Kind::FutureRead,
            Kind::StaleRead,
            Kind::NewOldInversion,
            Kind::Session(Guarantee::MonotonicReads),
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
        }
    }
}
