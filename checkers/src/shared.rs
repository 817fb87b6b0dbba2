//! What more than one checker uses, in one place: the words witness sentences name
//! operations with ([`describe_op`], [`when`]), where an operation stands in its
//! source, operations grouped by key, the fast hash map of the inner loops, and
//! independent keys checked on several threads.
//!
//! The words matter: a witness is read by a person checking it by hand (`process 11
//! read 2 (line 85)`), so every checker names an operation the same way.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::history::{Function, History, Operation, Value};

/// An operation, for people: `read 3`, `write 4`, `cas 1→2`, `append "x"`.
///
/// ```
/// use checkers::history::History;
/// use checkers::shared::describe_op;
/// let text = r#"{"process":0,"type":"invoke","f":"cas","value":[1,2]}
/// {"process":0,"type":"ok","f":"cas","value":[1,2]}"#;
/// let ops = History::from_jsonl(text, "h")?.operations("h")?;
/// assert_eq!(describe_op(&ops[0]), "cas 1→2");
/// # Ok::<(), checkers::history::HistoryError>(())
/// ```
pub fn describe_op(op: &Operation) -> String {
    match (op.f, &op.input, &op.output) {
        (Function::Read, _, Some(v)) => format!("read {v}"),
        (Function::Read, _, None) => "read (result unknown)".to_owned(),
        (Function::Cas, Value::List(pair), _) if pair.len() == 2 => {
            format!("cas {}→{}", pair[0], pair[1])
        }
        (f, input, _) => format!("{f} {input}"),
    }
}

/// When an operation ran, for people: "between 1.000 ms and 2.000 ms (line 7)" with
/// times, "(line 7)" without.
///
/// ```
/// use checkers::history::History;
/// use checkers::shared::when;
/// let text = r#"{"process":0,"type":"invoke","f":"write","value":1,"time":1000000}
/// {"process":0,"type":"ok","f":"write","value":1,"time":2000000}"#;
/// let history = History::from_jsonl(text, "h")?;
/// let ops = history.operations("h")?;
/// assert_eq!(when(&history, &ops[0]), "between 1.000 ms and 2.000 ms (line 1)");
/// # Ok::<(), checkers::history::HistoryError>(())
/// ```
pub fn when(history: &History, op: &Operation) -> String {
    let line = call_line(history, op);
    match (
        history.events[op.call].time,
        op.ret.and_then(|r| history.events[r].time),
    ) {
        (Some(call), Some(ret)) => format!(
            "between {:.3} ms and {:.3} ms (line {line})",
            call as f64 / 1e6,
            ret as f64 / 1e6
        ),
        (Some(call), None) => format!("from {:.3} ms (line {line})", call as f64 / 1e6),
        _ => format!("(line {line})"),
    }
}

/// `process 3 write 4 (line 7)`: who did what, and when.
pub(crate) fn op_text(history: &History, op: &Operation) -> String {
    format!(
        "process {} {} {}",
        op.process,
        describe_op(op),
        when(history, op)
    )
}

/// The source line of `op`'s invocation (its event's position, for a history built in
/// memory without lines).
pub(crate) fn call_line(history: &History, op: &Operation) -> usize {
    history.lines.get(op.call).copied().unwrap_or(op.call + 1)
}

/// The indices of `ops` on each key, in key order.
pub(crate) fn by_key(ops: &[Operation]) -> BTreeMap<Option<Value>, Vec<usize>> {
    let mut by_key: BTreeMap<Option<Value>, Vec<usize>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        by_key.entry(op.key.clone()).or_default().push(i);
    }
    by_key
}

/// Whether `prefix` is a prefix of `list`, integers (what list-append histories hold)
/// compared inline: the derived `PartialEq` of [`Value`] is an out-of-line call per
/// element, and this comparison touches every element of every read.
pub(crate) fn is_prefix(prefix: &[Value], list: &[Value]) -> bool {
    prefix.len() <= list.len()
        && prefix.iter().zip(list).all(|(a, b)| match (a, b) {
            (Value::Int(x), Value::Int(y)) => x == y,
            _ => a == b,
        })
}

/// FxHash's word step with a final avalanche, so that every input bit reaches the
/// low bits hash tables index by.
#[derive(Debug, Default)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        mix(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A hash map for the checkers' inner loops. Its iteration order is arbitrary: sort
/// what comes out of one before it reaches a report.
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// SplitMix64's finaliser: every bit of `z` reaches every bit of the result.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `f` of every item, on up to `threads` threads that take the items in turn; the
/// results in item order, whatever the threads.
pub(crate) fn map_on_threads<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let job = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(job) else { break };
                    let result = f(item);
                    done.lock().expect("no worker panics holding it")[job] = Some(result);
                }
            });
        }
    });
    done.into_inner()
        .expect("the workers are done")
        .into_iter()
        .map(|r| r.expect("every item was taken"))
        .collect()
}
