//! Session guarantees (Terry et al. 1994), stated over what reads observe, checked per
//! session (a process; a client that crashed and came back as a new process is a new
//! session).
//!
//! `w →s x` means `w` precedes `x` in its session (it completed before `x` was
//! invoked); `obs(r)` is the set of writes read `r` observed on its key, in the order
//! `r` saw them:
//!
//! - read-your-writes: `w →s r` on one key ⇒ `w ∈ obs(r)`;
//! - monotonic reads: `r1 →s r2` on one key ⇒ `obs(r1) ⊆ obs(r2)`;
//! - monotonic writes: `w1 →s w2` on one key ⇒ every read `r` with `w2 ∈ obs(r)` has
//!   `w1 ∈ obs(r)`, before `w2`;
//! - writes-follow-reads: `r1 →s w2`, `w1 ∈ obs(r1)`, one key ⇒ every read `r` with
//!   `w2 ∈ obs(r)` has `w1 ∈ obs(r)`, before `w2`.
//!
//! Two traceable workloads make `obs` observable:
//!
//! - **list-append** (Elle's): each append adds a unique element to a key's list, and a
//!   read returns the list, so `obs(r)` is exactly the appends whose elements it shows,
//!   in that order. Each guarantee is then a linear scan.
//! - **registers with unique written values**: a read of `v` observed the write of `v`
//!   and, in the (unknown) version order, every write before it. Each guarantee becomes
//!   a set of required version-order edges between writes (plus "the initial value
//!   comes first"); the guarantee is violated exactly when those edges form a cycle, and
//!   the cycle is the witness. Monotonic writes and writes-follow-reads constrain only
//!   writes some read returned directly, so what is reported is always proven.
//!
//! Limits, said openly: on list-append, writes-follow-reads is checked against the
//! session's last read of the key before the write (earlier reads are covered when
//! monotonic reads holds); elements no append wrote and duplicated elements are
//! skipped by the guarantees and reported as anomalies of their own
//! ([`crate::anomalies`]); reads of never-written register values are skipped.

use std::collections::BTreeMap;

use crate::linear::FxMap;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;

use crate::history::{Function, History, Operation, Value};
use crate::linear::when;
use crate::model::describe_op;

/// A session guarantee.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guarantee {
    /// A session sees its own writes.
    ReadYourWrites,
    /// A session's reads never go back.
    MonotonicReads,
    /// A session's writes are seen in the order it made them.
    MonotonicWrites,
    /// A write is seen after the writes its session had read.
    WritesFollowReads,
}

impl Guarantee {
    /// All four, in Jepsen's order (weakest first is not defined among them).
    pub const ALL: [Guarantee; 4] = [
        Guarantee::ReadYourWrites,
        Guarantee::MonotonicReads,
        Guarantee::MonotonicWrites,
        Guarantee::WritesFollowReads,
    ];

    /// The guarantee's name.
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::ReadYourWrites => "read-your-writes",
            Guarantee::MonotonicReads => "monotonic-reads",
            Guarantee::MonotonicWrites => "monotonic-writes",
            Guarantee::WritesFollowReads => "writes-follow-reads",
        }
    }
}

/// Which traceable workload a history is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Appends of unique elements, reads of whole lists.
    ListAppend,
    /// Writes of unique values, reads of single values.
    Register,
}

/// One proven violation of a guarantee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// The guarantee broken.
    pub guarantee: Guarantee,
    /// The key.
    pub key: Option<Value>,
    /// The operations involved (indices into the checked operations).
    pub ops: Vec<usize>,
    /// Why, in sentences.
    pub explanation: String,
}

/// Every guarantee's anomalies (empty: the guarantee holds on this history).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionReport {
    /// The workload the history was read as.
    pub workload: Workload,
    /// Per guarantee, in [`Guarantee::ALL`] order.
    pub results: Vec<(Guarantee, Vec<Anomaly>)>,
}

impl SessionReport {
    /// Whether every guarantee holds.
    pub fn ok(&self) -> bool {
        self.results.iter().all(|(_, a)| a.is_empty())
    }
}

/// A history the session checks cannot judge soundly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Two writes of one key wrote the same value: a read could not say which it saw.
    #[error(
        "{line}: the value {value} is written to key {key} more than once (also at line {other}); session checks need unique written values"
    )]
    NotUnique {
        /// Line of the second write.
        line: usize,
        /// Line of the first.
        other: usize,
        /// The value.
        value: Value,
        /// The key.
        key: String,
    },
    /// An operation the traceable workloads do not have.
    #[error("{line}: {message}")]
    Unsupported {
        /// Line of the invocation.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Histories of at least this many operations are checked on every core.
const PARALLEL_FROM_OPS: usize = 20_000;

/// Checks the four session guarantees on `ops` (from [`History::operations`]).
///
/// ```
/// use checkers::history::History;
/// use checkers::session::{check_sessions, Guarantee};
/// // Process 0 appends 1 to x, then reads x without it: not read-your-writes.
/// let text = r#"{"process":0,"type":"invoke","f":"append","key":"x","value":1}
/// {"process":0,"type":"ok","f":"append","key":"x","value":1}
/// {"process":0,"type":"invoke","f":"read","key":"x","value":null}
/// {"process":0,"type":"ok","f":"read","key":"x","value":[]}"#;
/// let history = History::from_jsonl(text, "h")?;
/// let ops = history.operations("h")?;
/// let report = check_sessions(&history, &ops)?;
/// assert_eq!(report.results[0].0, Guarantee::ReadYourWrites);
/// assert_eq!(report.results[0].1.len(), 1);
/// assert!(report.results[1..].iter().all(|(_, anomalies)| anomalies.is_empty()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_sessions(history: &History, ops: &[Operation]) -> Result<SessionReport, SessionError> {
    let threads = if ops.len() >= PARALLEL_FROM_OPS {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        1
    };
    check_sessions_on(history, ops, threads)
}

/// [`check_sessions`] on `threads` threads.
fn check_sessions_on(
    history: &History,
    ops: &[Operation],
    threads: usize,
) -> Result<SessionReport, SessionError> {
    let line = |op: &Operation| history.lines.get(op.call).copied().unwrap_or(op.call + 1);
    // The history's events decide, failed appends included: a list-append history whose
    // appends all failed is still one.
    let appends = history.events.iter().any(|e| e.f == Function::Append);
    for op in ops {
        let bad = match (appends, op.f) {
            (_, Function::Cas) => {
                Some("cas is not part of a traceable workload (use read and write, or append)")
            }
            (true, Function::Write) => Some("a list-append history has no writes"),
            (false, Function::Append) => None,
            _ => None,
        };
        if let Some(message) = bad {
            return Err(SessionError::Unsupported {
                line: line(op),
                message: message.to_owned(),
            });
        }
    }
    let mut by_key: BTreeMap<Option<Value>, Vec<usize>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        by_key.entry(op.key.clone()).or_default().push(i);
    }
    let mut results: Vec<(Guarantee, Vec<Anomaly>)> =
        Guarantee::ALL.iter().map(|&g| (g, Vec::new())).collect();
    let keys: Vec<(Option<Value>, Vec<usize>)> = by_key.into_iter().collect();
    let check_key = |(key, indices): &(Option<Value>, Vec<usize>)| {
        if appends {
            list_append_key(history, ops, key, indices)
        } else {
            register_key(history, ops, key, indices)
        }
    };
    // Keys are independent: a large history checks them on every core (results are
    // taken in key order, so the report is the same either way). Small histories —
    // every run's, checked while a sweep already keeps the cores busy — stay on one.
    let threads = threads.clamp(1, keys.len().max(1));
    let per_key: Vec<Result<Vec<Anomaly>, SessionError>> = if threads == 1 {
        keys.iter().map(check_key).collect()
    } else {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done = std::sync::Mutex::new(Vec::with_capacity(keys.len()));
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    loop {
                        let job = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(key) = keys.get(job) else { break };
                        let result = check_key(key);
                        done.lock()
                            .expect("no worker panics holding it")
                            .push((job, result));
                    }
                });
            }
        });
        let mut done = done.into_inner().expect("the workers are done");
        done.sort_by_key(|(job, _)| *job);
        done.into_iter().map(|(_, result)| result).collect()
    };
    for found in per_key {
        for anomaly in found? {
            let slot = Guarantee::ALL
                .iter()
                .position(|&g| g == anomaly.guarantee)
                .expect("one of the four");
            results[slot].1.push(anomaly);
        }
    }
    Ok(SessionReport {
        workload: if appends {
            Workload::ListAppend
        } else {
            Workload::Register
        },
        results,
    })
}

fn key_text(key: &Option<Value>) -> String {
    key.as_ref()
        .map_or_else(|| "-".to_owned(), Value::to_string)
}

fn op_text(history: &History, ops: &[Operation], i: usize) -> String {
    let op = &ops[i];
    format!(
        "process {} {} {}",
        op.process,
        describe_op(op),
        when(history, op)
    )
}

/// The list a read returned, as element values (`nil` is the empty list).
/// `list.starts_with(prefix)`, with integers (what list-append histories hold)
/// compared inline: the derived `PartialEq` of [`Value`] is an out-of-line call per
/// element, and this comparison touches every element of every read.
fn starts_with(list: &[Value], prefix: &[Value]) -> bool {
    prefix.len() <= list.len()
        && prefix.iter().zip(list).all(|(a, b)| match (a, b) {
            (Value::Int(x), Value::Int(y)) => x == y,
            _ => a == b,
        })
}

fn read_list(op: &Operation) -> &[Value] {
    match &op.output {
        Some(Value::List(items)) => items,
        _ => &[],
    }
}

/// Each written value's dense id, and the operation that wrote each id (`None` for a
/// reserved value).
type Written<'a> = (FxMap<&'a Value, u32>, Vec<Option<usize>>);

/// Dense ids for the values written by `writes` (appends or writes) of one key, in
/// order, seeded with `reserved` values that take the first ids; refuses a value
/// written twice (or written while reserved), since a read could not say which write
/// it saw.
fn unique_values<'a>(
    history: &History,
    ops: &'a [Operation],
    key: &Option<Value>,
    indices: &[usize],
    writes: Function,
    reserved: &[&'a Value],
) -> Result<Written<'a>, SessionError> {
    let line = |i: usize| {
        history
            .lines
            .get(ops[i].call)
            .copied()
            .unwrap_or(ops[i].call + 1)
    };
    let mut id_of: FxMap<&Value, u32> = FxMap::default();
    let mut writer: Vec<Option<usize>> = Vec::new();
    for value in reserved {
        id_of.insert(value, writer.len() as u32);
        writer.push(None);
    }
    for &i in indices.iter().filter(|&&i| ops[i].f == writes) {
        if let Some(&first) = id_of.get(&ops[i].input) {
            return Err(SessionError::NotUnique {
                line: line(i),
                other: writer[first as usize].map_or(0, line),
                value: ops[i].input.clone(),
                key: key_text(key),
            });
        }
        id_of.insert(&ops[i].input, writer.len() as u32);
        writer.push(Some(i));
    }
    Ok((id_of, writer))
}

/// Polynomial hash of a list of element ids, extended one element at a time.
fn extend_hash(hash: u64, id: u32) -> u64 {
    hash.wrapping_mul(0x100_0000_01B3)
        .wrapping_add(u64::from(id) + 1)
}

fn list_append_key(
    history: &History,
    ops: &[Operation],
    key: &Option<Value>,
    indices: &[usize],
) -> Result<Vec<Anomaly>, SessionError> {
    // Dense ids for appended elements.
    let (id_of, appenders) = unique_values(history, ops, key, indices, Function::Append, &[])?;
    let append_op: Vec<usize> = appenders.into_iter().flatten().collect();
    // Every ok read as element ids (elements no append wrote are skipped). A read
    // that extends the one before it (the usual case) extends its *chain*: a read is a
    // prefix of its chain, so the chain is loaded once for all its reads, and each read
    // only adds, and is checked for, its new elements.
    struct ReadIds {
        chain: usize,
        len: u32,
        /// Hash of the read's whole list of ids.
        hash: u64,
        /// Ids it shares with the read before it on the chain.
        shared: u32,
    }
    let mut chains: Vec<Vec<u32>> = Vec::new();
    let mut read_ids: FxMap<usize, ReadIds> = FxMap::default();
    let mut previous: Option<(&[Value], usize)> = None;
    for &i in indices {
        if ops[i].f != Function::Read || ops[i].ret.is_none() {
            continue;
        }
        let list = read_list(&ops[i]);
        let (chain, mut hash, rest, shared) = match previous {
            Some((before, at)) if starts_with(list, before) => {
                let last = &read_ids[&at];
                (last.chain, last.hash, &list[before.len()..], last.len)
            }
            _ => {
                chains.push(Vec::with_capacity(list.len()));
                (chains.len() - 1, 0, list, 0)
            }
        };
        assert_eq!(
            chains[chain].len() as u32,
            shared,
            "a read extends the end of its chain"
        );
        for id in rest.iter().filter_map(|v| id_of.get(v).copied()) {
            chains[chain].push(id);
            hash = extend_hash(hash, id);
        }
        let len = chains[chain].len() as u32;
        read_ids.insert(
            i,
            ReadIds {
                chain,
                len,
                hash,
                shared,
            },
        );
        previous = Some((list, i));
    }
    let mut anomalies = Vec::new();
    let mut prev_append: Vec<Option<u32>> = vec![None; append_op.len()];
    let mut prev_read: Vec<Option<usize>> = vec![None; append_op.len()];
    // Per session: its ok appends so far, and its last read of this key.
    let mut sessions: BTreeMap<u64, (Vec<u32>, Option<usize>)> = BTreeMap::new();
    let mut order: Vec<usize> = indices.to_vec();
    order.sort_by_key(|&i| ops[i].call);
    // Position of each element in the loaded chain (u32::MAX: absent), and the prefix
    // hashes of the chain. An element is in a read of the chain if its position is
    // below the read's length.
    let mut position: Vec<u32> = vec![u32::MAX; append_op.len()];
    let mut prefix: Vec<u64> = Vec::new();
    let load = |ids: &[u32], position: &mut Vec<u32>, prefix: &mut Vec<u64>| {
        prefix.clear();
        prefix.push(0);
        for (p, &e) in ids.iter().enumerate() {
            if position[e as usize] == u32::MAX {
                position[e as usize] = p as u32;
            }
            prefix.push(extend_hash(*prefix.last().expect("starts with 0"), e));
        }
    };
    let unload = |ids: &[u32], position: &mut Vec<u32>| {
        for &e in ids {
            position[e as usize] = u32::MAX;
        }
    };
    // The first element of `earlier` that is not in the loaded chain before position
    // `limit`: none at once if `earlier` is a short enough prefix of the chain (by
    // hash, so a collision can only hide an anomaly, never invent one), else found
    // element by element.
    let missing_before =
        |earlier: &ReadIds, limit: u32, position: &[u32], prefix: &[u64]| -> Option<u32> {
            let ids = &chains[earlier.chain][..earlier.len as usize];
            let is_prefix = ids.len() < prefix.len() && prefix[ids.len()] == earlier.hash;
            if is_prefix && ids.len() as u32 <= limit {
                return None;
            }
            ids.iter().copied().find(|&x| position[x as usize] >= limit)
        };
    // First pass, in session order, without looking inside any list: who wrote what
    // after what, and what each read's session had done before it.
    struct ReadContext {
        read: usize,
        process: u64,
        own_appends: usize,
        last_read: Option<usize>,
    }
    let mut contexts: Vec<ReadContext> = Vec::new();
    for &i in &order {
        let op = &ops[i];
        let (own, last_read) = sessions.entry(op.process).or_default();
        match op.f {
            Function::Append => {
                let id = id_of[&op.input];
                prev_append[id as usize] = own.last().copied();
                prev_read[id as usize] = *last_read;
                if op.ret.is_some() {
                    own.push(id);
                }
            }
            Function::Read if op.ret.is_some() => {
                contexts.push(ReadContext {
                    read: i,
                    process: op.process,
                    own_appends: own.len(),
                    last_read: *last_read,
                });
                *last_read = Some(i);
            }
            _ => {}
        }
    }
    // Second pass: each read against everything that constrains it.
    let mut loaded: Option<usize> = None;
    for context in &contexts {
        let r = context.read;
        let current = &read_ids[&r];
        if loaded != Some(current.chain) {
            if let Some(chain) = loaded {
                unload(&chains[chain], &mut position);
            }
            load(&chains[current.chain], &mut position, &mut prefix);
            loaded = Some(current.chain);
        }
        let len = current.len;
        let own = &sessions[&context.process].0[..context.own_appends];
        if let Some(&missing) = own.iter().find(|&&w| position[w as usize] >= len) {
            anomalies.push(Anomaly {
                guarantee: Guarantee::ReadYourWrites,
                key: key.clone(),
                ops: vec![append_op[missing as usize], r],
                explanation: format!(
                    "{} completed before {} was invoked in the same session, but the read's list lacks {}",
                    op_text(history, ops, append_op[missing as usize]),
                    op_text(history, ops, r),
                    ops[append_op[missing as usize]].input
                ),
            });
        }
        if let Some(r1) = context.last_read {
            if let Some(lost) = missing_before(&read_ids[&r1], len, &position, &prefix) {
                anomalies.push(Anomaly {
                    guarantee: Guarantee::MonotonicReads,
                    key: key.clone(),
                    ops: vec![r1, r],
                    explanation: format!(
                        "{} saw {}, but the same session's later {} does not",
                        op_text(history, ops, r1),
                        ops[append_op[lost as usize]].input,
                        op_text(history, ops, r)
                    ),
                });
            }
        }
        // Elements shared with the read before were checked with it, at the same
        // positions: an anomaly among them is already reported.
        for &e in &chains[current.chain][current.shared as usize..len as usize] {
            let at = position[e as usize];
            if let Some(w1) = prev_append[e as usize] {
                if position[w1 as usize] >= at {
                    anomalies.push(Anomaly {
                        guarantee: Guarantee::MonotonicWrites,
                        key: key.clone(),
                        ops: vec![append_op[w1 as usize], append_op[e as usize], r],
                        explanation: format!(
                            "{} came before {} in one session, but {} shows the second {}",
                            op_text(history, ops, append_op[w1 as usize]),
                            op_text(history, ops, append_op[e as usize]),
                            op_text(history, ops, r),
                            if position[w1 as usize] >= len {
                                "without the first"
                            } else {
                                "before the first"
                            }
                        ),
                    });
                }
            }
            if let Some(r1) = prev_read[e as usize] {
                if let Some(x) = missing_before(&read_ids[&r1], at, &position, &prefix) {
                    anomalies.push(Anomaly {
                        guarantee: Guarantee::WritesFollowReads,
                        key: key.clone(),
                        ops: vec![r1, append_op[e as usize], r],
                        explanation: format!(
                            "{} saw {} before the same session's {}, but {} shows the append {}",
                            op_text(history, ops, r1),
                            ops[append_op[x as usize]].input,
                            op_text(history, ops, append_op[e as usize]),
                            op_text(history, ops, r),
                            if position[x as usize] >= len {
                                "without it"
                            } else {
                                "before it"
                            }
                        ),
                    });
                }
            }
        }
    }
    Ok(anomalies)
}

/// A required version order edge `from → to`, with why.
struct Edge {
    from: usize,
    to: usize,
    why: String,
    ops: Vec<usize>,
}

fn register_key(
    history: &History,
    ops: &[Operation],
    key: &Option<Value>,
    indices: &[usize],
) -> Result<Vec<Anomaly>, SessionError> {
    // Node 0 is the initial value; node n + 1 is the n-th write.
    let (node_of, write_op) = unique_values(
        history,
        ops,
        key,
        indices,
        Function::Write,
        &[&history.initial],
    )?;
    let observed = |i: usize| {
        ops[i]
            .output
            .as_ref()
            .and_then(|v| node_of.get(v).map(|&n| n as usize))
    };
    let name = |node: usize| match write_op[node] {
        None => format!("the initial value {}", history.initial),
        Some(i) => op_text(history, ops, i),
    };
    // Writes some read returned directly.
    let mut read_directly = vec![false; write_op.len()];
    for &i in indices {
        if ops[i].f == Function::Read && ops[i].ret.is_some() {
            if let Some(n) = observed(i) {
                read_directly[n] = true;
            }
        }
    }
    let mut edges: BTreeMap<Guarantee, Vec<Edge>> = BTreeMap::new();
    let mut order: Vec<usize> = indices.to_vec();
    order.sort_by_key(|&i| ops[i].call);
    let mut sessions: BTreeMap<u64, (Vec<usize>, Option<usize>)> = BTreeMap::new();
    for &i in &order {
        let op = &ops[i];
        let (own, last_read) = sessions.entry(op.process).or_default();
        match op.f {
            Function::Write => {
                let w2 = node_of[&op.input] as usize;
                if read_directly[w2] {
                    if let Some(&w1) = own.last() {
                        edges
                            .entry(Guarantee::MonotonicWrites)
                            .or_default()
                            .push(Edge {
                                from: w1,
                                to: w2,
                                why: format!(
                                    "{} came first in its session, and a read returned the second",
                                    name(w1)
                                ),
                                ops: vec![write_op[w1].expect("a write"), i],
                            });
                    }
                    if let Some(r1) = *last_read {
                        if let Some(w1) = observed(r1).filter(|&w1| w1 != w2) {
                            edges
                                .entry(Guarantee::WritesFollowReads)
                                .or_default()
                                .push(Edge {
                                    from: w1,
                                    to: w2,
                                    why: format!(
                                        "{} read {} before its session wrote {}",
                                        op_text(history, ops, r1),
                                        name(w1),
                                        name(w2)
                                    ),
                                    ops: vec![r1, i],
                                });
                        }
                    }
                }
                if op.ret.is_some() {
                    own.push(w2);
                }
            }
            Function::Read if op.ret.is_some() => {
                let Some(seen) = observed(i) else { continue };
                for &w in own.iter().filter(|&&w| w != seen) {
                    edges.entry(Guarantee::ReadYourWrites).or_default().push(Edge {
                        from: w,
                        to: seen,
                        why: format!("{} follows its session's {}, so what it read must be that write or a later one", op_text(history, ops, i), name(w)),
                        ops: vec![write_op[w].expect("a write"), i],
                    });
                }
                if let Some(r1) = *last_read {
                    if let Some(w1) = observed(r1).filter(|&w1| w1 != seen) {
                        edges.entry(Guarantee::MonotonicReads).or_default().push(Edge {
                            from: w1,
                            to: seen,
                            why: format!("{} follows {} in its session, so it must read that write or a later one", op_text(history, ops, i), op_text(history, ops, r1)),
                            ops: vec![r1, i],
                        });
                    }
                }
                *last_read = Some(i);
            }
            _ => {}
        }
    }
    let mut anomalies = Vec::new();
    for (guarantee, required) in edges {
        anomalies.extend(cycles(guarantee, key, write_op.len(), &required, &name));
    }
    Ok(anomalies)
}

/// The initial value precedes every write; with the required edges, any cycle is a
/// contradiction. One anomaly per strongly connected component, with one cycle in it.
fn cycles(
    guarantee: Guarantee,
    key: &Option<Value>,
    nodes: usize,
    required: &[Edge],
    name: &dyn Fn(usize) -> String,
) -> Vec<Anomaly> {
    let mut graph: DiGraph<(), Option<usize>> = DiGraph::new();
    let index: Vec<NodeIndex> = (0..nodes).map(|_| graph.add_node(())).collect();
    for n in 1..nodes {
        graph.add_edge(index[0], index[n], None);
    }
    for (e, edge) in required.iter().enumerate() {
        graph.add_edge(index[edge.from], index[edge.to], Some(e));
    }
    let mut anomalies = Vec::new();
    for component in tarjan_scc(&graph) {
        if component.len() < 2 {
            continue;
        }
        let inside: std::collections::BTreeSet<NodeIndex> = component.iter().copied().collect();
        let start = *component.iter().min().expect("non-empty");
        // Breadth-first from `start` back to itself, inside the component.
        let mut parent: BTreeMap<NodeIndex, (NodeIndex, Option<usize>)> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut closing = None;
        while let Some(n) = queue.pop_front() {
            for edge in graph.edges(n) {
                use petgraph::visit::EdgeRef;
                let target = edge.target();
                if !inside.contains(&target) {
                    continue;
                }
                if target == start {
                    closing = Some((n, *edge.weight()));
                    break;
                }
                if let std::collections::btree_map::Entry::Vacant(slot) = parent.entry(target) {
                    slot.insert((n, *edge.weight()));
                    queue.push_back(target);
                }
            }
            if closing.is_some() {
                break;
            }
        }
        let Some((last, last_edge)) = closing else {
            continue;
        };
        let mut steps = vec![(last, start, last_edge)];
        let mut at = last;
        while at != start {
            let (from, edge) = parent[&at];
            steps.push((from, at, edge));
            at = from;
        }
        steps.reverse();
        let mut sentences = Vec::new();
        let mut involved = Vec::new();
        for (from, to, edge) in steps {
            match edge {
                None => sentences.push(format!(
                    "{} precedes {}",
                    name(from.index()),
                    name(to.index())
                )),
                Some(e) => {
                    sentences.push(format!(
                        "{} must precede {}: {}",
                        name(from.index()),
                        name(to.index()),
                        required[e].why
                    ));
                    involved.extend(required[e].ops.iter().copied());
                }
            }
        }
        involved.sort_unstable();
        involved.dedup();
        anomalies.push(Anomaly {
            guarantee,
            key: key.clone(),
            ops: involved,
            explanation: format!(
                "no order of the writes allows it: {}; a cycle",
                sentences.join("; ")
            ),
        });
    }
    anomalies
}

#[cfg(test)]
mod parallel_tests {
    use super::*;
    use crate::history::{Event, EventType};

    /// A list-append history over many keys in which some reads miss the latest
    /// appends of their key (a lagging replica).
    fn lagging(ops: u64, keys: u64, sessions: u64) -> History {
        let mut lists: Vec<Vec<Value>> = vec![Vec::new(); keys as usize];
        let mut h = History::default();
        let mut state = 7u64;
        for i in 0..ops {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = state >> 11;
            let (process, key) = (r % sessions, (r >> 8) % keys);
            let list = &mut lists[key as usize];
            let (f, invoke, result) = if (r >> 20) % 2 == 0 {
                list.push(Value::Int(i as i64));
                (Function::Append, Value::Int(i as i64), Value::Int(i as i64))
            } else {
                let missed = ((r >> 32) % 3) as usize;
                let seen = list[..list.len().saturating_sub(missed)].to_vec();
                (Function::Read, Value::Nil, Value::List(seen))
            };
            for (kind, value) in [(EventType::Invoke, invoke), (EventType::Ok, result)] {
                let line = h.events.len() + 1;
                let key = Some(Value::Int(key as i64));
                h.push(
                    Event {
                        process,
                        kind,
                        f,
                        key,
                        value,
                        time: None,
                    },
                    line,
                );
            }
        }
        h
    }

    #[test]
    fn the_keys_on_many_threads_give_the_report_of_one() {
        let h = lagging(30_000, 60, 12);
        let ops = h.operations("lagging").unwrap();
        assert!(ops.len() >= PARALLEL_FROM_OPS);
        let one = check_sessions_on(&h, &ops, 1).unwrap();
        // Lagging reads break read-your-writes and monotonic reads, many times over.
        let counts: Vec<usize> = one.results.iter().map(|(_, found)| found.len()).collect();
        assert!(counts[0] > 10 && counts[1] > 10, "{counts:?}");
        for threads in [2, 3, 8] {
            let many = check_sessions_on(&h, &ops, threads).unwrap();
            assert!(many == one, "{threads} threads report otherwise");
        }
        assert!(check_sessions(&h, &ops).unwrap() == one);
    }
}
