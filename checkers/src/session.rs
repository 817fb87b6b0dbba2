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
//! Histories that are neither workload are refused ([`NotTraceable`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::anomalies::{Found, Kind};
use crate::history::{Function, History, Operation, Value};
use crate::shared::{FxMap, by_key, call_line, map_on_threads, op_text};
use crate::traceable::{Analysis, NotTraceable, Workload};

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

/// Every guarantee's anomalies (empty: the guarantee holds on this history). Each
/// anomaly's kind is [`Kind::Session`] of its guarantee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionReport {
    /// The workload the history was read as.
    pub workload: Workload,
    /// Per guarantee, in [`Guarantee::ALL`] order.
    pub results: Vec<(Guarantee, Vec<Found>)>,
}

impl SessionReport {
    /// Whether every guarantee holds.
    pub fn ok(&self) -> bool {
        self.results.iter().all(|(_, a)| a.is_empty())
    }
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
pub fn check_sessions(history: &History, ops: &[Operation]) -> Result<SessionReport, NotTraceable> {
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
) -> Result<SessionReport, NotTraceable> {
    // The history's events decide, failed appends included: a list-append history whose
    // appends all failed is still one.
    let appends = history.events.iter().any(|e| e.f == Function::Append);
    refuse_untraceable(history, ops, appends)?;
    let keys: Vec<(Option<Value>, Vec<usize>)> = by_key(ops).into_iter().collect();
    // Keys are independent: a large history checks them on every core (results are
    // taken in key order, so the report is the same either way). Small histories —
    // every run's, checked while a sweep already keeps the cores busy — stay on one.
    let per_key = map_on_threads(&keys, threads, |(key, indices)| {
        if appends {
            list_append_key(history, ops, key, indices)
        } else {
            register_key(history, ops, key, indices)
        }
    });
    let mut results: Vec<(Guarantee, Vec<Found>)> =
        Guarantee::ALL.iter().map(|&g| (g, Vec::new())).collect();
    for found in per_key {
        for anomaly in found? {
            let slot = Guarantee::ALL
                .iter()
                .position(|&g| anomaly.kind == Kind::Session(g))
                .expect("one of the four");
            results[slot].1.push(anomaly);
        }
    }
    let workload = if appends {
        Workload::ListAppend
    } else {
        Workload::Register
    };
    Ok(SessionReport { workload, results })
}

/// Refuses an operation the workload of the history does not have.
fn refuse_untraceable(
    history: &History,
    ops: &[Operation],
    appends: bool,
) -> Result<(), NotTraceable> {
    for op in ops {
        let bad = match (appends, op.f) {
            (_, Function::Cas) => {
                Some("cas is not part of a traceable workload (use read and write, or append)")
            }
            (true, Function::Write) => Some("a list-append history has no writes"),
            _ => None,
        };
        if let Some(message) = bad {
            return Err(NotTraceable::Unsupported {
                line: call_line(history, op),
                message: message.to_owned(),
            });
        }
    }
    Ok(())
}

fn key_text(key: &Option<Value>) -> String {
    key.as_ref()
        .map_or_else(|| "-".to_owned(), Value::to_string)
}

fn anomaly(guarantee: Guarantee, key: &Option<Value>, ops: Vec<usize>, why: String) -> Found {
    Found {
        kind: Kind::Session(guarantee),
        key: key.clone(),
        ops,
        explanation: why,
    }
}

/// The list a read returned (`nil` is the empty list).
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
) -> Result<Written<'a>, NotTraceable> {
    let line = |i: usize| call_line(history, &ops[i]);
    let mut id_of: FxMap<&Value, u32> = FxMap::default();
    let mut writer: Vec<Option<usize>> = Vec::new();
    for value in reserved {
        id_of.insert(value, writer.len() as u32);
        writer.push(None);
    }
    for &i in indices.iter().filter(|&&i| ops[i].f == writes) {
        if let Some(&first) = id_of.get(&ops[i].input) {
            return Err(NotTraceable::NotUnique {
                line: line(i),
                other: writer[first as usize].map_or(0, line),
                value: ops[i].input.clone(),
                key: key_text(key),
                analysis: Analysis::Sessions,
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

// ---------------------------------------------------------------------------------
// List-append: a linear scan per guarantee

/// An ok read as element ids: a prefix of its chain.
struct ReadIds {
    chain: usize,
    len: u32,
    /// Hash of the read's whole list of ids.
    hash: u64,
    /// Ids it shares with the read before it on the chain.
    shared: u32,
}

/// Every ok read of a key as element ids (elements no append wrote are skipped). A
/// read that extends the one before it (the usual case) extends its *chain*: a read is
/// a prefix of its chain, so the chain is loaded once for all its reads, and each read
/// only adds, and is checked for, its new elements.
#[derive(Default)]
struct Chains {
    ids: Vec<Vec<u32>>,
    reads: FxMap<usize, ReadIds>,
}

impl Chains {
    fn new(ops: &[Operation], indices: &[usize], id_of: &FxMap<&Value, u32>) -> Chains {
        let mut chains = Chains::default();
        let mut previous: Option<(&[Value], usize)> = None;
        for &i in indices {
            if ops[i].f != Function::Read || ops[i].ret.is_none() {
                continue;
            }
            let list = read_list(&ops[i]);
            let (chain, hash, rest, shared) = match previous {
                Some((before, at)) if crate::shared::is_prefix(before, list) => {
                    let last = &chains.reads[&at];
                    (last.chain, last.hash, &list[before.len()..], last.len)
                }
                _ => {
                    chains.ids.push(Vec::with_capacity(list.len()));
                    (chains.ids.len() - 1, 0, list, 0)
                }
            };
            chains.extend(i, chain, hash, rest, shared, id_of);
            previous = Some((list, i));
        }
        chains
    }

    /// Read `i`: chain `chain`, which it extends by `rest` past its `shared` ids.
    fn extend(
        &mut self,
        i: usize,
        chain: usize,
        mut hash: u64,
        rest: &[Value],
        shared: u32,
        id_of: &FxMap<&Value, u32>,
    ) {
        let ids = &mut self.ids[chain];
        assert_eq!(
            ids.len() as u32,
            shared,
            "a read extends the end of its chain"
        );
        for id in rest.iter().filter_map(|v| id_of.get(v).copied()) {
            ids.push(id);
            hash = extend_hash(hash, id);
        }
        let len = ids.len() as u32;
        let read = ReadIds {
            chain,
            len,
            hash,
            shared,
        };
        self.reads.insert(i, read);
    }
}

/// An ok read and what its session had done before it.
struct ReadContext {
    read: usize,
    process: u64,
    own_appends: usize,
    last_read: Option<usize>,
}

/// The key in session order, without looking inside any list: who appended what after
/// what, and what each read's session had done before it.
struct Sessions {
    /// Every ok read, in invocation order.
    reads: Vec<ReadContext>,
    /// Per element: its session's append before it, and its session's last read of the
    /// key before it.
    prev_append: Vec<Option<u32>>,
    prev_read: Vec<Option<usize>>,
    /// Per session: its ok appends, in order.
    own: BTreeMap<u64, Vec<u32>>,
}

impl Sessions {
    fn new(ops: &[Operation], indices: &[usize], id_of: &FxMap<&Value, u32>) -> Sessions {
        let mut out = Sessions {
            reads: Vec::new(),
            prev_append: vec![None; id_of.len()],
            prev_read: vec![None; id_of.len()],
            own: BTreeMap::new(),
        };
        let mut last_read: BTreeMap<u64, usize> = BTreeMap::new();
        let mut order: Vec<usize> = indices.to_vec();
        order.sort_by_key(|&i| ops[i].call);
        for &i in &order {
            let op = &ops[i];
            let own = out.own.entry(op.process).or_default();
            let last = last_read.get(&op.process).copied();
            match op.f {
                Function::Append => {
                    let id = id_of[&op.input] as usize;
                    out.prev_append[id] = own.last().copied();
                    out.prev_read[id] = last;
                    if op.ret.is_some() {
                        own.push(id as u32);
                    }
                }
                Function::Read if op.ret.is_some() => {
                    out.reads.push(ReadContext {
                        read: i,
                        process: op.process,
                        own_appends: own.len(),
                        last_read: last,
                    });
                    last_read.insert(op.process, i);
                }
                _ => {}
            }
        }
        out
    }
}

/// The chain loaded: the position of each element in it (`u32::MAX`: absent), and its
/// prefix hashes. An element is in a read of the chain if its position is below the
/// read's length.
struct Loaded {
    chain: Option<usize>,
    position: Vec<u32>,
    prefix: Vec<u64>,
}

impl Loaded {
    fn load(&mut self, chains: &Chains, chain: usize) {
        if self.chain == Some(chain) {
            return;
        }
        if let Some(old) = self.chain {
            for &e in &chains.ids[old] {
                self.position[e as usize] = u32::MAX;
            }
        }
        self.prefix.clear();
        self.prefix.push(0);
        for (p, &e) in chains.ids[chain].iter().enumerate() {
            if self.position[e as usize] == u32::MAX {
                self.position[e as usize] = p as u32;
            }
            let last = *self.prefix.last().expect("starts with 0");
            self.prefix.push(extend_hash(last, e));
        }
        self.chain = Some(chain);
    }

    fn at(&self, element: u32) -> u32 {
        self.position[element as usize]
    }

    /// The first element of `earlier` that is not in the loaded chain before position
    /// `limit`: none at once if `earlier` is a short enough prefix of the chain (by
    /// hash, so a collision can only hide an anomaly, never invent one), else found
    /// element by element.
    fn missing_before(&self, chains: &Chains, earlier: &ReadIds, limit: u32) -> Option<u32> {
        let ids = &chains.ids[earlier.chain][..earlier.len as usize];
        let is_prefix = ids.len() < self.prefix.len() && self.prefix[ids.len()] == earlier.hash;
        if is_prefix && ids.len() as u32 <= limit {
            return None;
        }
        ids.iter().copied().find(|&x| self.at(x) >= limit)
    }
}

/// One list-append key under judgement.
struct AppendKey<'a> {
    history: &'a History,
    ops: &'a [Operation],
    key: &'a Option<Value>,
    /// The append of each element id.
    append_op: Vec<usize>,
    chains: Chains,
    sessions: Sessions,
    loaded: Loaded,
}

fn list_append_key(
    history: &History,
    ops: &[Operation],
    key: &Option<Value>,
    indices: &[usize],
) -> Result<Vec<Found>, NotTraceable> {
    let (id_of, appenders) = unique_values(history, ops, key, indices, Function::Append, &[])?;
    let append_op: Vec<usize> = appenders.into_iter().flatten().collect();
    let mut judged = AppendKey {
        history,
        ops,
        key,
        chains: Chains::new(ops, indices, &id_of),
        sessions: Sessions::new(ops, indices, &id_of),
        loaded: Loaded {
            chain: None,
            position: vec![u32::MAX; append_op.len()],
            prefix: Vec::new(),
        },
        append_op,
    };
    let mut anomalies = Vec::new();
    for context in &judged.sessions.reads {
        let chain = judged.chains.reads[&context.read].chain;
        judged.loaded.load(&judged.chains, chain);
        anomalies.extend(judged.judge(context));
    }
    Ok(anomalies)
}

impl AppendKey<'_> {
    /// A read against everything that constrains it, its chain loaded.
    fn judge(&self, context: &ReadContext) -> Vec<Found> {
        let read = &self.chains.reads[&context.read];
        let mut found: Vec<Found> = self
            .read_your_writes(context, read.len)
            .into_iter()
            .chain(self.monotonic_reads(context, read.len))
            .collect();
        // Elements shared with the read before were checked with it, at the same
        // positions: an anomaly among them is already reported.
        let new = &self.chains.ids[read.chain][read.shared as usize..read.len as usize];
        for &e in new {
            found.extend(self.monotonic_writes(context.read, e, read.len));
            found.extend(self.writes_follow_reads(context.read, e, read.len));
        }
        found
    }

    fn text(&self, i: usize) -> String {
        op_text(self.history, &self.ops[i])
    }

    fn element(&self, e: u32) -> &Value {
        &self.ops[self.append_op[e as usize]].input
    }

    fn read_your_writes(&self, context: &ReadContext, len: u32) -> Option<Found> {
        let own = &self.sessions.own[&context.process][..context.own_appends];
        let &missing = own.iter().find(|&&w| self.loaded.at(w) >= len)?;
        let w = self.append_op[missing as usize];
        let why = format!(
            "{} completed before {} was invoked in the same session, but the read's list lacks {}",
            self.text(w),
            self.text(context.read),
            self.ops[w].input
        );
        let involved = vec![w, context.read];
        Some(anomaly(Guarantee::ReadYourWrites, self.key, involved, why))
    }

    fn monotonic_reads(&self, context: &ReadContext, len: u32) -> Option<Found> {
        let r1 = context.last_read?;
        let earlier = &self.chains.reads[&r1];
        let lost = self.loaded.missing_before(&self.chains, earlier, len)?;
        let why = format!(
            "{} saw {}, but the same session's later {} does not",
            self.text(r1),
            self.element(lost),
            self.text(context.read)
        );
        let involved = vec![r1, context.read];
        Some(anomaly(Guarantee::MonotonicReads, self.key, involved, why))
    }

    fn monotonic_writes(&self, r: usize, e: u32, len: u32) -> Option<Found> {
        let w1 = self.sessions.prev_append[e as usize]?;
        if self.loaded.at(w1) < self.loaded.at(e) {
            return None;
        }
        let (first, second) = (self.append_op[w1 as usize], self.append_op[e as usize]);
        let why = format!(
            "{} came before {} in one session, but {} shows the second {}",
            self.text(first),
            self.text(second),
            self.text(r),
            if self.loaded.at(w1) >= len {
                "without the first"
            } else {
                "before the first"
            }
        );
        let involved = vec![first, second, r];
        Some(anomaly(Guarantee::MonotonicWrites, self.key, involved, why))
    }

    fn writes_follow_reads(&self, r: usize, e: u32, len: u32) -> Option<Found> {
        let r1 = self.sessions.prev_read[e as usize]?;
        let earlier = &self.chains.reads[&r1];
        let x = self
            .loaded
            .missing_before(&self.chains, earlier, self.loaded.at(e))?;
        let append = self.append_op[e as usize];
        let why = format!(
            "{} saw {} before the same session's {}, but {} shows the append {}",
            self.text(r1),
            self.element(x),
            self.text(append),
            self.text(r),
            if self.loaded.at(x) >= len {
                "without it"
            } else {
                "before it"
            }
        );
        let involved = vec![r1, append, r];
        Some(anomaly(
            Guarantee::WritesFollowReads,
            self.key,
            involved,
            why,
        ))
    }
}

// ---------------------------------------------------------------------------------
// Registers: required version orders, and their cycles

/// A required version order edge `from → to`, with why.
struct Edge {
    from: usize,
    to: usize,
    why: String,
    ops: Vec<usize>,
}

/// One register key under judgement. Node 0 is the initial value; node n + 1 is the
/// n-th write.
struct RegisterKey<'a> {
    history: &'a History,
    ops: &'a [Operation],
    node_of: FxMap<&'a Value, u32>,
    write_op: Vec<Option<usize>>,
    /// Writes some read returned directly.
    read_directly: Vec<bool>,
    edges: BTreeMap<Guarantee, Vec<Edge>>,
}

fn register_key(
    history: &History,
    ops: &[Operation],
    key: &Option<Value>,
    indices: &[usize],
) -> Result<Vec<Found>, NotTraceable> {
    let reserved = [&history.initial];
    let (node_of, write_op) =
        unique_values(history, ops, key, indices, Function::Write, &reserved)?;
    let mut judged = RegisterKey {
        history,
        ops,
        read_directly: vec![false; write_op.len()],
        node_of,
        write_op,
        edges: BTreeMap::new(),
    };
    for &i in indices {
        if ops[i].f == Function::Read && ops[i].ret.is_some() {
            if let Some(n) = judged.observed(i) {
                judged.read_directly[n] = true;
            }
        }
    }
    judged.required_orders(indices);
    let mut anomalies = Vec::new();
    let name = |node: usize| judged.name(node);
    for (guarantee, required) in &judged.edges {
        let nodes = judged.write_op.len();
        anomalies.extend(cycles(*guarantee, key, nodes, required, &name));
    }
    Ok(anomalies)
}

impl RegisterKey<'_> {
    /// The node of the value operation `i` read, if some write (or the initial value)
    /// is it.
    fn observed(&self, i: usize) -> Option<usize> {
        self.ops[i]
            .output
            .as_ref()
            .and_then(|v| self.node_of.get(v).map(|&n| n as usize))
    }

    fn name(&self, node: usize) -> String {
        match self.write_op[node] {
            None => format!("the initial value {}", self.history.initial),
            Some(i) => op_text(self.history, &self.ops[i]),
        }
    }

    fn require(&mut self, guarantee: Guarantee, edge: Edge) {
        self.edges.entry(guarantee).or_default().push(edge);
    }

    /// Every version order edge a guarantee requires, walking each session in order.
    fn required_orders(&mut self, indices: &[usize]) {
        let mut order: Vec<usize> = indices.to_vec();
        order.sort_by_key(|&i| self.ops[i].call);
        let mut sessions: BTreeMap<u64, (Vec<usize>, Option<usize>)> = BTreeMap::new();
        for &i in &order {
            let op = &self.ops[i];
            let (own, last_read) = sessions.entry(op.process).or_default();
            match op.f {
                Function::Write => {
                    let w2 = self.node_of[&op.input] as usize;
                    if self.read_directly[w2] {
                        self.write_after(i, w2, own.last().copied(), *last_read);
                    }
                    if op.ret.is_some() {
                        own.push(w2);
                    }
                }
                Function::Read if op.ret.is_some() => {
                    let Some(seen) = self.observed(i) else {
                        continue;
                    };
                    self.read_after(i, seen, own, *last_read);
                    *last_read = Some(i);
                }
                _ => {}
            }
        }
    }

    /// Write `i` of node `w2`, which some read returned: after its session's last
    /// write `own_last` and last read `last_read`.
    fn write_after(
        &mut self,
        i: usize,
        w2: usize,
        own_last: Option<usize>,
        last_read: Option<usize>,
    ) {
        if let Some(w1) = own_last {
            let why = format!(
                "{} came first in its session, and a read returned the second",
                self.name(w1)
            );
            let ops = vec![self.write_op[w1].expect("a write"), i];
            let edge = Edge {
                from: w1,
                to: w2,
                why,
                ops,
            };
            self.require(Guarantee::MonotonicWrites, edge);
        }
        let Some(r1) = last_read else { return };
        if let Some(w1) = self.observed(r1).filter(|&w1| w1 != w2) {
            let why = format!(
                "{} read {} before its session wrote {}",
                op_text(self.history, &self.ops[r1]),
                self.name(w1),
                self.name(w2)
            );
            let edge = Edge {
                from: w1,
                to: w2,
                why,
                ops: vec![r1, i],
            };
            self.require(Guarantee::WritesFollowReads, edge);
        }
    }

    /// Read `i` of node `seen`: after its session's writes `own` and last read
    /// `last_read`.
    fn read_after(&mut self, i: usize, seen: usize, own: &[usize], last_read: Option<usize>) {
        let text = op_text(self.history, &self.ops[i]);
        for &w in own.iter().filter(|&&w| w != seen) {
            let why = format!(
                "{text} follows its session's {}, so what it read must be that write or a later one",
                self.name(w)
            );
            let ops = vec![self.write_op[w].expect("a write"), i];
            let edge = Edge {
                from: w,
                to: seen,
                why,
                ops,
            };
            self.require(Guarantee::ReadYourWrites, edge);
        }
        let Some(r1) = last_read else { return };
        if let Some(w1) = self.observed(r1).filter(|&w1| w1 != seen) {
            let why = format!(
                "{text} follows {} in its session, so it must read that write or a later one",
                op_text(self.history, &self.ops[r1])
            );
            let edge = Edge {
                from: w1,
                to: seen,
                why,
                ops: vec![r1, i],
            };
            self.require(Guarantee::MonotonicReads, edge);
        }
    }
}

/// The initial value precedes every write; with the required edges, any cycle is a
/// contradiction. One anomaly per strongly connected component, with one cycle in it.
fn cycles(
    guarantee: Guarantee,
    key: &Option<Value>,
    nodes: usize,
    required: &[Edge],
    name: &dyn Fn(usize) -> String,
) -> Vec<Found> {
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
        let Some(steps) = shortest_cycle(&graph, &component) else {
            continue;
        };
        let mut sentences = Vec::new();
        let mut involved = Vec::new();
        for (from, to, edge) in steps {
            let (from, to) = (name(from.index()), name(to.index()));
            match edge {
                None => sentences.push(format!("{from} precedes {to}")),
                Some(e) => {
                    sentences.push(format!("{from} must precede {to}: {}", required[e].why));
                    involved.extend(required[e].ops.iter().copied());
                }
            }
        }
        involved.sort_unstable();
        involved.dedup();
        let why = format!(
            "no order of the writes allows it: {}; a cycle",
            sentences.join("; ")
        );
        anomalies.push(anomaly(guarantee, key, involved, why));
    }
    anomalies
}

/// A cycle step: `from` must precede `to`, by a required edge or (`None`) because the
/// initial value precedes every write.
type CycleStep = (NodeIndex, NodeIndex, Option<usize>);

/// A shortest cycle through the first node of `component`: breadth-first from it back
/// to itself, inside the component.
fn shortest_cycle(
    graph: &DiGraph<(), Option<usize>>,
    component: &[NodeIndex],
) -> Option<Vec<CycleStep>> {
    let inside: BTreeSet<NodeIndex> = component.iter().copied().collect();
    let start = *component.iter().min().expect("non-empty");
    let mut parent: BTreeMap<NodeIndex, (NodeIndex, Option<usize>)> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    let mut closing = None;
    'search: while let Some(n) = queue.pop_front() {
        for edge in graph.edges(n) {
            let target = edge.target();
            if !inside.contains(&target) {
                continue;
            }
            if target == start {
                closing = Some((n, *edge.weight()));
                break 'search;
            }
            if let std::collections::btree_map::Entry::Vacant(slot) = parent.entry(target) {
                slot.insert((n, *edge.weight()));
                queue.push_back(target);
            }
        }
    }
    let (last, last_edge) = closing?;
    let mut steps = vec![(last, start, last_edge)];
    let mut at = last;
    while at != start {
        let (from, edge) = parent[&at];
        steps.push((from, at, edge));
        at = from;
    }
    steps.reverse();
    Some(steps)
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
