//! What a register key with unique written values shows by real time alone: future
//! reads, stale reads and new-old inversions (see [`super`]).

use std::collections::BTreeMap;

use crate::history::{Function, History, Operation, Value};
use crate::shared::when;

use super::{Found, Kind};

/// The value an operation writes, if it writes one: a write's argument, or the new
/// value of a compare-and-set (which writes only if it succeeded, or may have).
pub(super) fn written(op: &Operation) -> Option<&Value> {
    match (op.f, &op.input) {
        (Function::Write, v) => Some(v),
        (Function::Cas, Value::List(pair)) if pair.len() == 2 => Some(&pair[1]),
        _ => None,
    }
}

/// One key's writes and reads, indexed so that "some write began after t and ended
/// before u" is a lookup.
struct RegisterKey<'a> {
    history: &'a History,
    ops: &'a [Operation],
    key: &'a Option<Value>,
    /// The write of each value.
    writer: BTreeMap<&'a Value, usize>,
    /// Completed writes by completion, and for each prefix of them the latest start
    /// and the write that started then.
    completed: Vec<usize>,
    latest_start: Vec<(usize, usize)>,
    /// Completed reads of written values (the initial one aside) by completion, and for
    /// each prefix of them the latest start of the write of what one returned.
    seen: Vec<usize>,
    latest_seen: Vec<(usize, usize)>,
}

/// The anomalies real time shows on one key (`indices` into `ops`), into `found`.
pub(super) fn register_key(
    history: &History,
    ops: &[Operation],
    key: &Option<Value>,
    indices: &[usize],
    found: &mut Vec<Found>,
) {
    if indices.iter().any(|&i| ops[i].f == Function::Append) {
        return;
    }
    let Some(writer) = writers(history, ops, indices) else {
        // Some value is written twice: a read cannot be tied to one write.
        repeated(history, ops, key, indices, found);
        return;
    };
    let initial = &history.initial;
    // Completed reads of written values (nil and unknown values aside).
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
    let index = RegisterKey::new(history, ops, key, writer, &reads);
    for &r in &reads {
        if let Some(anomaly) = index.judge(r) {
            found.push(anomaly);
        }
    }
}

/// The write of each value of a register key (no appends); `None` if a value is
/// written twice or the initial value is written, which makes reads of it ambiguous.
fn writers<'a>(
    history: &History,
    ops: &'a [Operation],
    indices: &[usize],
) -> Option<BTreeMap<&'a Value, usize>> {
    let mut writer: BTreeMap<&Value, usize> = BTreeMap::new();
    for &i in indices {
        if let Some(v) = written(&ops[i]) {
            if *v == history.initial || writer.insert(v, i).is_some() {
                return None;
            }
        }
    }
    Some(writer)
}

impl<'a> RegisterKey<'a> {
    fn new(
        history: &'a History,
        ops: &'a [Operation],
        key: &'a Option<Value>,
        writer: BTreeMap<&'a Value, usize>,
        reads: &[usize],
    ) -> Self {
        let mut completed: Vec<usize> = writer
            .values()
            .copied()
            .filter(|&w| ops[w].ret.is_some())
            .collect();
        completed.sort_by_key(|&w| ops[w].ret);
        let latest_start = running_max(&completed, |w| ops[w].call);
        let mut seen: Vec<usize> = reads
            .iter()
            .copied()
            .filter(|&r| ops[r].output.as_ref() != Some(&history.initial))
            .collect();
        seen.sort_by_key(|&r| ops[r].ret);
        let value_of = |r: usize| ops[r].output.as_ref().expect("a completed read");
        let latest_seen = running_max(&seen, |r| ops[writer[value_of(r)]].call);
        RegisterKey {
            history,
            ops,
            key,
            writer,
            completed,
            latest_start,
            seen,
            latest_seen,
        }
    }

    /// The first anomaly read `r` shows: a future read, else a stale read, else a
    /// new-old inversion.
    fn judge(&self, r: usize) -> Option<Found> {
        // The write of what `r` returned; `None` for the initial value.
        let write = (self.value_of(r) != &self.history.initial).then(|| self.write_of(r));
        if let Some(w) = write.filter(|&w| Some(self.ops[w].call) > self.ops[r].ret) {
            return Some(self.future_read(r, w));
        }
        self.stale_read(r, write)
            .or_else(|| self.new_old_inversion(r, write))
    }

    /// A future read: its write began after the read ended.
    fn future_read(&self, r: usize, w: usize) -> Found {
        self.found(
            Kind::FutureRead,
            vec![r, w],
            format!(
                "{}, which {} began to write only after the read ended",
                self.text(r),
                self.text(w)
            ),
        )
    }

    /// A stale read: a completed write began after this value's write ended (for the
    /// initial value: any completed write) and ended before the read began.
    fn stale_read(&self, r: usize, write: Option<usize>) -> Option<Found> {
        let n = self.ended_before(&self.completed, r);
        let &(start, c) = n.checked_sub(1).map(|k| &self.latest_start[k])?;
        if !self.after(write, start) {
            return None;
        }
        let explanation = match write {
            Some(w) => format!(
                "{}, but {} began after {} ended, and ended before the read began",
                self.text(r),
                self.text(c),
                self.text(w)
            ),
            None => format!(
                "{} (the initial value), but {} ended before the read began",
                self.text(r),
                self.text(c)
            ),
        };
        Some(self.found(Kind::StaleRead, vec![r, c], explanation))
    }

    /// A new-old inversion: a read that ended before this one began returned a value
    /// whose write began after this value's write ended.
    fn new_old_inversion(&self, r: usize, write: Option<usize>) -> Option<Found> {
        let n = self.ended_before(&self.seen, r);
        let &(start, earlier) = n.checked_sub(1).map(|k| &self.latest_seen[k])?;
        if !self.after(write, start) {
            return None;
        }
        let explanation = match write {
            Some(w) => format!(
                "{}, after {} had ended; but {} ended before {} began",
                self.text(r),
                self.text(earlier),
                self.text(w),
                self.text(self.write_of(earlier))
            ),
            None => format!(
                "{} (the initial value), after {} had ended",
                self.text(r),
                self.text(earlier)
            ),
        };
        Some(self.found(Kind::NewOldInversion, vec![earlier, r], explanation))
    }

    fn found(&self, kind: Kind, ops: Vec<usize>, explanation: String) -> Found {
        Found {
            kind,
            key: self.key.clone(),
            ops,
            explanation,
        }
    }

    fn value_of(&self, r: usize) -> &'a Value {
        self.ops[r].output.as_ref().expect("a completed read")
    }

    fn write_of(&self, r: usize) -> usize {
        self.writer[self.value_of(r)]
    }

    /// Whether an operation that started at event `start` began after `write` ended:
    /// always for the initial value (before everything), never for a write that never
    /// ended (nothing is proved against it).
    fn after(&self, write: Option<usize>, start: usize) -> bool {
        match write {
            None => true,
            Some(w) => self.ops[w].ret.is_some_and(|end| start > end),
        }
    }

    /// How many of `list` (sorted by completion) ended before read `r` began.
    fn ended_before(&self, list: &[usize], r: usize) -> usize {
        let before = self.ops[r].call;
        list.partition_point(|&x| self.ops[x].ret < Some(before))
    }

    /// An operation as the explanations name it.
    fn text(&self, i: usize) -> String {
        text(self.history, self.ops, self.key, i)
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

/// Operation `i` for people: who, what, when.
fn text(history: &History, ops: &[Operation], key: &Option<Value>, i: usize) -> String {
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
}

/// The stale reads of a key on which values repeat ([`super::overwrite`]).
fn repeated(
    history: &History,
    ops: &[Operation],
    key: &Option<Value>,
    indices: &[usize],
    found: &mut Vec<Found>,
) {
    for o in super::overwrite::stale_reads(ops, indices) {
        let seen = ops[o.read].output.clone().unwrap_or_default();
        let writers = match o.last_writer {
            Some(l) => format!(
                "after every operation that could write {seen} and began before the read ended had ended (the last, {})",
                text(history, ops, key, l)
            ),
            None => format!("and no operation that could write {seen} began before the read ended"),
        };
        let explanation = format!(
            "{}, but {} left another value and ended before the read began, {writers}",
            text(history, ops, key, o.read),
            text(history, ops, key, o.overwrite),
        );
        found.push(Found {
            kind: Kind::StaleRead,
            key: key.clone(),
            ops: vec![o.read, o.overwrite],
            explanation,
        });
    }
}
