//! Elle-style dependency graphs: the anomalies a history proves, named as Elle names
//! them, each cycle explained in sentences, and the consistency models they rule out.
//!
//! Kingsbury and Alvaro's Elle (VLDB 2020, "Elle: Inferring Isolation Anomalies from
//! Experimental Observations"; `jepsen-io/elle`) builds Adya's direct serialization
//! graph (Adya 1999, "Weak Consistency") from what reads observed:
//!
//! - **nodes** are transactions (in consim's own histories, single operations);
//! - **ww** (write-write): `T2` installed the version of a key right after `T1`'s;
//! - **wr** (write-read): `T2` read the version `T1` installed;
//! - **rw** (read-write, an anti-dependency): `T1` read a version, and `T2` installed
//!   the next one — `T1` did not see `T2`'s write;
//! - **process** (session order): one process ran `T1` before `T2`;
//! - **realtime**: `T1` completed before `T2` was invoked.
//!
//! Every edge says "`T1` must come before `T2`" in any execution that explains the
//! history; a cycle is a contradiction. Strongly connected components (Tarjan) contain
//! the cycles; inside each, a breadth-first search finds a shortest cycle of each kind,
//! trying the kinds in Elle's order and classifying a cycle by the edges it needs:
//!
//! | anomaly | edges of the cycle |
//! | --- | --- |
//! | `G0` (write cycle) | ww only |
//! | `G1c` (circular information flow) | ww and wr, at least one wr |
//! | `G-single-item` (read skew) | ww, wr and exactly one rw |
//! | `G-nonadjacent-item` | ww, wr and two or more rw, no two adjacent |
//! | `G2-item` (anti-dependency cycle) | ww, wr and two or more rw, some adjacent |
//! | `…-process` | as above, also using process (session) order |
//! | `…-realtime` | as above, also using real-time order |
//!
//! The `-item` names are Elle's for item (not predicate) anti-dependencies, the only
//! kind a key-value history has: `G-single-item` is a case of Adya's `G-single`, and
//! `G-nonadjacent-item` and `G2-item` of Adya's `G2`.
//!
//! Besides cycles, a history shows some anomalies outright: `G1a` (aborted read),
//! `G1b` (intermediate read), `garbage-read`, `duplicate-elements`,
//! `incompatible-order` and `lost-update` (see [`crate::anomalies::Kind`], where the ones
//! a list-append read shows are detected). [`models`] maps the anomalies found to the
//! consistency models they rule out, weakest first.
//!
//! ## What is inferred, and what is not
//!
//! Nothing is reported that the history does not prove:
//!
//! - **list-append**: a key's version order is its longest read, provided every read
//!   is a prefix of it and it repeats no element. Then successive elements give ww
//!   edges, a read ending in an element gives a wr edge from its append, and a read
//!   gives an rw edge to the append of the element after its last one. An append no
//!   read shows came after every element the longest read shows (Elle's rule), so it
//!   gets a ww edge from the last one's append and rw edges from the reads of the last
//!   state. A key whose reads disagree (`incompatible-order`) or repeat an element
//!   (`duplicate-elements`) gives no edges at all: its order is not known. (Elle still
//!   uses the longest read there; consim reports only the anomaly itself.)
//! - **registers** (unique written values): a read of a value gives a wr edge from its
//!   write. No version order between writes is provable from single reads, so there
//!   are no ww edges; the initial value precedes every write, so a read of it gives rw
//!   edges to every write of the key.
//! - **process and real-time order** are always known. Real time is encoded with a
//!   chain of time points (one per run of completions), linear in the history where
//!   Elle's transitive reduction is quadratic in the concurrency.
//! - Reads of transactions whose outcome is unknown (`info`) say nothing; their writes
//!   count once some read shows them.
//! - `G1b` (a read of a transaction's intermediate write) needs transactions of several
//!   micro-operations; consim's own histories are single operations, where it cannot
//!   occur. Transactional histories (Jepsen's `:f :txn`, elle-cli's JSON) are read by
//!   [`read`].
//!
//! The cycle search has a budget ([`Options::search_steps_max`]); a component whose
//! search runs out still reports one cycle (found by a plain breadth-first search, and
//! classified by its edges), and the report says that the search was cut short. One
//! cycle of each kind is shown per component, as Elle does: a component of thousands
//! of transactions may hold many more. Of a component whose search ran out, as in
//! Elle, the relations alone also tell which models' forbidden cycles it must hold
//! (its ww and wr edges alone strongly connected: read committed does not hold, though
//! no cycle was named): each such model gives a `<model>-cycle-exists` anomaly
//! ([`CycleExists`]), unless the anomalies found already rule the model out.
//!
//! Like Elle's `:consistency-models`, [`Options::consistency_models`] names the models
//! a history is expected to satisfy: only anomalies one of them prohibits are reported
//! (an anomaly is prohibited by a model it alone rules out), and the models ruled out
//! are those the reported anomalies rule out.
//!
//! Not detected (yet): Elle's `internal` (a transaction contradicting its own earlier
//! reads and writes), `future-read`, `dirty-update` and predicate anomalies. Histories
//! of completions without invocations (as in Elle's README) are not read: consim
//! pairs every completion with its invocation.
//!
//! ```
//! use checkers::elle::{check_operations, Options};
//! use checkers::history::History;
//! // Process 0 appends 1 to x and then reads x without it: T2 < T1 because T2 read
//! // the initial state of x, which T1's append changed; T1 < T2 by process order.
//! let text = r#"{"process":0,"type":"invoke","f":"append","key":"x","value":1}
//! {"process":0,"type":"ok","f":"append","key":"x","value":1}
//! {"process":0,"type":"invoke","f":"read","key":"x","value":null}
//! {"process":0,"type":"ok","f":"read","key":"x","value":[]}"#;
//! let history = History::from_jsonl(text, "h")?;
//! let report = check_operations(&history, &history.operations("h")?, &Options::default())?;
//! let kinds: Vec<String> = report.anomalies.iter().map(|a| a.kind.name()).collect();
//! assert!(kinds.contains(&"G-single-item-process".to_owned()));
//! assert!(report.ruled_out.not.contains(&"read-your-writes"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod exists;
mod explain;
mod graph;
mod infer;
pub mod models;
pub mod read;
mod scc;
mod search;
mod txn;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::anomalies::Kind;
use crate::history::{History, Operation, Value};
use crate::session;
use crate::traceable::{Analysis, NotTraceable, Workload};
use models::Model;

pub use exists::CycleExists;
pub use txn::{Aborted, Mop, MopKind, Status, Txn, TxnHistory};

/// Knobs of the analysis.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Edges the cycle search may follow in all, before it settles for one cycle per
    /// strongly connected component (found without looking for the weakest kind).
    pub search_steps_max: u64,
    /// The consistency models the history is expected to satisfy (Elle's
    /// `:consistency-models`): only anomalies one of them prohibits are reported
    /// (and make the history a violation); the others are named in
    /// [`Report::unreported`]. `None`: every anomaly is reported.
    pub consistency_models: Option<Vec<Model>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            search_steps_max: 50_000_000,
            consistency_models: None,
        }
    }
}

/// The data part of a cycle anomaly: which dependency edges its cycle needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Base {
    /// ww edges only.
    G0,
    /// ww and wr, at least one wr.
    G1c,
    /// Exactly one rw.
    GSingleItem,
    /// Two or more rw, no two adjacent.
    GNonadjacentItem,
    /// Two or more rw, some adjacent.
    G2Item,
}

/// Which orders besides the data dependencies a cycle needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    /// None: a cycle of data dependencies alone.
    Data,
    /// Process (session) order, no real-time order.
    Process,
    /// Real-time order.
    Realtime,
}

/// A kind of cycle, named as Elle names it (`G-single-item-process`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CycleKind {
    /// The data dependencies it needs.
    pub base: Base,
    /// The other orders it needs.
    pub variant: Variant,
}

impl CycleKind {
    /// Elle's name.
    pub fn name(self) -> &'static str {
        const NAMES: [[&str; 3]; 5] = [
            ["G0", "G0-process", "G0-realtime"],
            ["G1c", "G1c-process", "G1c-realtime"],
            [
                "G-single-item",
                "G-single-item-process",
                "G-single-item-realtime",
            ],
            [
                "G-nonadjacent-item",
                "G-nonadjacent-item-process",
                "G-nonadjacent-item-realtime",
            ],
            ["G2-item", "G2-item-process", "G2-item-realtime"],
        ];
        NAMES[self.base as usize][self.variant as usize]
    }
}

/// The relation behind one step of a cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rel {
    /// Write-write.
    Ww,
    /// Write-read.
    Wr,
    /// Read-write (anti-dependency).
    Rw,
    /// Process (session) order.
    Process,
    /// Real-time order.
    Realtime,
}

/// One step of a cycle: `from` must precede `to`, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The earlier transaction (index into [`TxnHistory::txns`]).
    pub from: usize,
    /// The later one.
    pub to: usize,
    /// The relation.
    pub rel: Rel,
    /// The key, for data dependencies.
    pub key: Option<Value>,
    /// Why, in a sentence.
    pub why: String,
}

/// One anomaly the history proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// What kind.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// The transactions involved (indices into [`TxnHistory::txns`]; for
    /// [`check_operations`], indices into the operations), in cycle order for cycles.
    pub txns: Vec<usize>,
    /// The source lines of their invocations.
    pub lines: Vec<usize>,
    /// For a cycle, its steps; the last leads back to the first transaction.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// Why, in sentences.
    pub explanation: String,
}

/// What the history proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The workload the history was read as.
    pub workload: Workload,
    /// Committed and unknown transactions analysed.
    pub txns: usize,
    /// Every anomaly reported: outright ones first, then one cycle per kind found in
    /// each strongly connected component, then what the components whose search ran
    /// out of budget prove on their own ([`CycleExists`]; only those whose model the
    /// other anomalies do not already rule out), then broken session guarantees.
    pub anomalies: Vec<Anomaly>,
    /// Kinds of anomalies found but not reported, because none of
    /// [`Options::consistency_models`] prohibits them (sorted; empty without that
    /// option).
    pub unreported: Vec<Kind>,
    /// Strongly connected components with a cycle.
    pub sccs: usize,
    /// Components whose search ran out of budget before trying every kind of cycle.
    pub sccs_search_exhausted: usize,
    /// The consistency models the anomalies rule out.
    pub ruled_out: models::RuledOut,
}

impl Report {
    /// Whether the history proves no anomaly.
    pub fn ok(&self) -> bool {
        self.anomalies.is_empty()
    }
}

/// Analyses a transactional history: the anomalies it proves and the models they rule
/// out.
pub fn check(history: &TxnHistory<'_>, options: &Options) -> Result<Report, NotTraceable> {
    let report = analyse(history, options)?;
    Ok(conclude(report, history.single_object(), options))
}

/// Every anomaly the dependency graph shows, before [`conclude`].
fn analyse(history: &TxnHistory<'_>, options: &Options) -> Result<Report, NotTraceable> {
    let inferred = infer::infer(history)?;
    let graph = graph::DepGraph::build(history, &inferred);
    let cycles = search::cycles(&graph, options);
    let mut anomalies = inferred.found;
    anomalies.extend(
        cycles
            .found
            .iter()
            .map(|cycle| explain::cycle(history, &graph, cycle)),
    );
    anomalies.extend(
        cycles
            .exists
            .iter()
            .map(|found| explain::exists(history, found)),
    );
    Ok(Report {
        workload: inferred.workload,
        txns: history.txns.len(),
        anomalies,
        unreported: Vec::new(),
        sccs: cycles.sccs,
        sccs_search_exhausted: cycles.exhausted,
        ruled_out: models::RuledOut::default(),
    })
}

/// What is reported (Elle's `result-map`): the anomalies some requested model
/// prohibits (all of them without [`Options::consistency_models`]), less cycle-exists
/// findings whose model the others already rule out (Elle's
/// `remove-redundant-cycle-exists`), and the models the rest rule out.
fn conclude(mut report: Report, single_object: bool, options: &Options) -> Report {
    if let Some(requested) = &options.consistency_models {
        // Once per kind: a history may show thousands of anomalies of a few kinds.
        let mut prohibited: BTreeMap<Kind, bool> = BTreeMap::new();
        let (kept, dropped): (Vec<Anomaly>, Vec<Anomaly>) =
            report.anomalies.into_iter().partition(|a| {
                *prohibited
                    .entry(a.kind)
                    .or_insert_with(|| requested.iter().any(|m| m.prohibits(a.kind, single_object)))
            });
        report.anomalies = kept;
        report.unreported = dropped.iter().map(|a| a.kind).collect();
        report.unreported.sort_unstable();
        report.unreported.dedup();
    }
    let concrete = report
        .anomalies
        .iter()
        .map(|a| a.kind)
        .filter(|k| !matches!(k, Kind::CycleExists(_)));
    let already = models::ruled_out(concrete, single_object).all;
    report.anomalies.retain(|a| match a.kind {
        Kind::CycleExists(c) => !already.contains(&c.model()),
        _ => true,
    });
    report.ruled_out = models::ruled_out(report.anomalies.iter().map(|a| a.kind), single_object);
    report
}

/// Analyses single-operation `ops` (from [`History::operations`]): the dependency
/// graph, what the history shows outright, and the four session guarantees
/// ([`crate::session`]), all in one report. Transaction indices are operation indices.
pub fn check_operations(
    history: &History,
    ops: &[Operation],
    options: &Options,
) -> Result<Report, NotTraceable> {
    let txns = TxnHistory::from_operations(history, ops)?;
    let sessions =
        session::check_sessions(history, ops).map_err(|e| e.in_analysis(Analysis::Dependencies))?;
    let mut report = analyse(&txns, options)?;
    for (_, found) in sessions.results {
        report.anomalies.extend(found.into_iter().map(|anomaly| {
            Anomaly {
                kind: anomaly.kind,
                lines: anomaly
                    .ops
                    .iter()
                    .map(|&i| txns.txns[i].call_line)
                    .collect(),
                txns: anomaly.ops,
                steps: Vec::new(),
                explanation: anomaly.explanation,
            }
        }));
    }
    Ok(conclude(report, txns.single_object(), options))
}
