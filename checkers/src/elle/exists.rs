//! Cycle-exists inference (Elle's `cycle-exists-specs` and `cycle-exists-cases`): when
//! the cycle search runs out of budget in a strongly connected component, what the
//! component's relations alone prove.
//!
//! Each of the models below forbids every cycle of certain relations among
//! transactions. For each, in Elle's order, the component is restricted to the model's
//! relations and split into strongly connected components again. One of more than one
//! transaction (or of one with an edge to itself) holds a cycle of those relations, so
//! the model does not hold, though no single cycle was named:
//!
//! | model (Elle's name) | relations that must have no cycle |
//! | --- | --- |
//! | read-uncommitted (PL-1) | ww |
//! | read-committed (PL-2) | ww ∪ wr |
//! | snapshot-isolation (PL-SI) | extension(ww ∪ wr, rw) |
//! | repeatable-read (PL-2.99) | ww ∪ wr ∪ rw |
//! | serializable (PL-3) | ww ∪ wr ∪ rw |
//! | strong-session-read-uncommitted | ww ∪ process |
//! | strong-session-read-committed | ww ∪ wr ∪ process |
//! | strong-session-snapshot-isolation | extension(ww ∪ wr ∪ process, rw) |
//! | strong-session-serializable | ww ∪ wr ∪ rw ∪ process |
//! | strong-read-uncommitted | ww ∪ realtime |
//! | strong-read-committed | ww ∪ wr ∪ realtime |
//! | strong-snapshot-isolation | extension(ww ∪ wr ∪ realtime, rw) |
//! | strict-serializable (PL-SS) | ww ∪ wr ∪ rw ∪ realtime |
//!
//! Elle's serializable also has predicate dependencies, which list-append and register
//! histories do not have, so here its relations are repeatable read's: it is never
//! reported, because repeatable read comes first and a serializable history is
//! repeatable read. As in Elle, a model that implies one already found is skipped (once
//! read committed is out, so is everything stronger), and a finding whose model the
//! concrete anomalies already rule out is dropped later ([`super::check`]).
//!
//! ## The extension
//!
//! `extension(A, B)` is Elle's `sequential-extension`: `A ∪ A;B`, where `x → z` by
//! `A;B` when `x → y` by `A` and `y → z` by `B`. A cycle of it is a closed walk of
//! `A ∪ B` in which every `B` step comes right after an `A` step. Cerone and Gotsman
//! ("Analysing Snapshot Isolation", PODC 2016, Theorem 10) show that a history is
//! snapshot isolated exactly when `(ww ∪ wr ∪ session order) ; rw?` has no cycle,
//! that is, when every cycle of dependencies has two rw edges in a row.
//!
//! The cycles are found in a product of the component with two states: each
//! transaction has a copy entered by an `A` step and one entered by a `B` step; `A`
//! steps leave either copy, `B` steps only the first. A cycle of the product is then a
//! closed walk in which every `B` step follows an `A` step: a cycle of the extension.
//! Conversely every cycle of the extension is one of the product, so nothing is missed.
//!
//! ## Why the graph's helper nodes keep the cycles real
//!
//! The dependency graph ([`super::graph`]) routes some steps through helper nodes: an
//! rw step may pass through a hub (reader → hub → each later append), and a realtime
//! step through time points (a completion → its time point → later time points → a
//! later invocation: a path exists exactly when the first transaction completed before
//! the second was invoked). Neither kind of helper lies on a cycle of helpers alone
//! (time points are chained forward in the history, and hubs lead only to
//! transactions), so every cycle passes through transactions, and each piece of it
//! between two transactions is one step of one relation: process steps join a
//! process's consecutive transactions, and a realtime step is a real-time order. A
//! helper node is in the product once per state, the state of the step it is part of.

use std::collections::BTreeMap;

use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;

use super::graph::{DepGraph, Link};
use super::models;
use super::scc::{Local, nontrivial};

/// A consistency model of the cycle-exists inference: its anomaly says that a cycle the
/// model forbids exists in a strongly connected component whose search ran out of
/// budget (Elle's `:PL-SI-cycle-exists` and so on, named here by [`super::models`]'
/// names: `snapshot-isolation-cycle-exists`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CycleExists {
    /// Read uncommitted: ww.
    ReadUncommitted,
    /// Read committed: ww ∪ wr.
    ReadCommitted,
    /// Snapshot isolation: extension(ww ∪ wr, rw).
    SnapshotIsolation,
    /// Repeatable read: ww ∪ wr ∪ rw.
    RepeatableRead,
    /// Serializable: ww ∪ wr ∪ rw (no predicate dependencies here).
    Serializable,
    /// Strong session read uncommitted: ww ∪ process.
    StrongSessionReadUncommitted,
    /// Strong session read committed: ww ∪ wr ∪ process.
    StrongSessionReadCommitted,
    /// Strong session snapshot isolation: extension(ww ∪ wr ∪ process, rw).
    StrongSessionSnapshotIsolation,
    /// Strong session serializable: ww ∪ wr ∪ rw ∪ process.
    StrongSessionSerializable,
    /// Strong read uncommitted: ww ∪ realtime.
    StrongReadUncommitted,
    /// Strong read committed: ww ∪ wr ∪ realtime.
    StrongReadCommitted,
    /// Strong snapshot isolation: extension(ww ∪ wr ∪ realtime, rw).
    StrongSnapshotIsolation,
    /// Strict serializable: ww ∪ wr ∪ rw ∪ realtime.
    StrictSerializable,
}

const WW: u8 = Link::Ww.bit();
const WR: u8 = Link::Wr.bit();
const RW: u8 = Link::Rw.bit();
const PROCESS: u8 = Link::Process.bit();
const REALTIME: u8 = Link::Realtime.bit();

impl CycleExists {
    /// Every one, in Elle's order (the order they are tried in).
    pub const ALL: [CycleExists; 13] = [
        CycleExists::ReadUncommitted,
        CycleExists::ReadCommitted,
        CycleExists::SnapshotIsolation,
        CycleExists::RepeatableRead,
        CycleExists::Serializable,
        CycleExists::StrongSessionReadUncommitted,
        CycleExists::StrongSessionReadCommitted,
        CycleExists::StrongSessionSnapshotIsolation,
        CycleExists::StrongSessionSerializable,
        CycleExists::StrongReadUncommitted,
        CycleExists::StrongReadCommitted,
        CycleExists::StrongSnapshotIsolation,
        CycleExists::StrictSerializable,
    ];

    /// The model, as [`super::models::MODELS`] names it.
    pub fn model(self) -> &'static str {
        self.names().0
    }

    /// The anomaly's name: `<model>-cycle-exists`.
    pub fn name(self) -> &'static str {
        self.names().1
    }

    /// The model in prose ("strong snapshot isolation").
    pub fn prose(self) -> &'static str {
        self.names().2
    }

    fn names(self) -> (&'static str, &'static str, &'static str) {
        use CycleExists::*;
        match self {
            ReadUncommitted => (
                "read-uncommitted",
                "read-uncommitted-cycle-exists",
                "read uncommitted",
            ),
            ReadCommitted => (
                "read-committed",
                "read-committed-cycle-exists",
                "read committed",
            ),
            SnapshotIsolation => (
                "snapshot-isolation",
                "snapshot-isolation-cycle-exists",
                "snapshot isolation",
            ),
            RepeatableRead => (
                "repeatable-read",
                "repeatable-read-cycle-exists",
                "repeatable read",
            ),
            Serializable => (
                "serializable",
                "serializable-cycle-exists",
                "serializability",
            ),
            StrongSessionReadUncommitted => (
                "strong-session-read-uncommitted",
                "strong-session-read-uncommitted-cycle-exists",
                "strong session read uncommitted",
            ),
            StrongSessionReadCommitted => (
                "strong-session-read-committed",
                "strong-session-read-committed-cycle-exists",
                "strong session read committed",
            ),
            StrongSessionSnapshotIsolation => (
                "strong-session-snapshot-isolation",
                "strong-session-snapshot-isolation-cycle-exists",
                "strong session snapshot isolation",
            ),
            StrongSessionSerializable => (
                "strong-session-serializable",
                "strong-session-serializable-cycle-exists",
                "strong session serializability",
            ),
            StrongReadUncommitted => (
                "strong-read-uncommitted",
                "strong-read-uncommitted-cycle-exists",
                "strong read uncommitted",
            ),
            StrongReadCommitted => (
                "strong-read-committed",
                "strong-read-committed-cycle-exists",
                "strong read committed",
            ),
            StrongSnapshotIsolation => (
                "strong-snapshot-isolation",
                "strong-snapshot-isolation-cycle-exists",
                "strong snapshot isolation",
            ),
            StrictSerializable => (
                "strict-serializable",
                "strict-serializable-cycle-exists",
                "strict serializability",
            ),
        }
    }

    /// The relations whose cycles the model forbids, as `(A, B)` masks of links:
    /// `A` alone for a union, `extension(A, B)` when `B` is not empty.
    pub(crate) fn relations(self) -> (u8, u8) {
        use CycleExists::*;
        match self {
            ReadUncommitted => (WW, 0),
            ReadCommitted => (WW | WR, 0),
            SnapshotIsolation => (WW | WR, RW),
            RepeatableRead | Serializable => (WW | WR | RW, 0),
            StrongSessionReadUncommitted => (WW | PROCESS, 0),
            StrongSessionReadCommitted => (WW | WR | PROCESS, 0),
            StrongSessionSnapshotIsolation => (WW | WR | PROCESS, RW),
            StrongSessionSerializable => (WW | WR | RW | PROCESS, 0),
            StrongReadUncommitted => (WW | REALTIME, 0),
            StrongReadCommitted => (WW | WR | REALTIME, 0),
            StrongSnapshotIsolation => (WW | WR | REALTIME, RW),
            StrictSerializable => (WW | WR | RW | REALTIME, 0),
        }
    }

    /// The relations in words: "ww, wr and realtime edges with single rw hops".
    pub fn relations_text(self) -> String {
        let (a, b) = self.relations();
        let names: Vec<&str> = [
            (WW, "ww"),
            (WR, "wr"),
            (RW, "rw"),
            (PROCESS, "process"),
            (REALTIME, "realtime"),
        ]
        .iter()
        .filter(|(bit, _)| a & bit != 0)
        .map(|&(_, name)| name)
        .collect();
        let list = match names.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        };
        let hops = if b == 0 {
            ""
        } else {
            " with single rw hops (each right after one of those edges)"
        };
        format!("{list} edges{hops}")
    }
}

/// A cycle that `model` forbids exists among `txns` (sorted transaction indices).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Exists {
    pub model: CycleExists,
    pub txns: Vec<usize>,
}

/// What the relations of `component` (a strongly connected component of `g`) prove on
/// their own: one finding per model, skipping models that imply one already found.
pub(crate) fn cycle_exists(
    g: &DepGraph,
    component: &[NodeIndex],
    local: &mut Local,
) -> Vec<Exists> {
    local.enter(component);
    let mut found: Vec<Exists> = Vec::new();
    // Serializable's relations are repeatable read's: look once.
    let mut memo: BTreeMap<(u8, u8), Option<Vec<usize>>> = BTreeMap::new();
    for model in CycleExists::ALL {
        if found
            .iter()
            .any(|f| models::implies(model.model(), f.model.model()))
        {
            continue;
        }
        let (a, b) = model.relations();
        let txns = memo
            .entry((a, b))
            .or_insert_with(|| smallest_cycle_component(g, component, local, a, b))
            .clone();
        if let Some(txns) = txns {
            found.push(Exists { model, txns });
        }
    }
    local.leave(component);
    found
}

/// The transactions of the smallest nontrivial strongly connected component of
/// extension(`a`, `b`) (of `a` alone when `b` is 0) on `component` (entered in
/// `local`), sorted; `None` if it has no cycle.
fn smallest_cycle_component(
    g: &DepGraph,
    component: &[NodeIndex],
    local: &Local,
    a: u8,
    b: u8,
) -> Option<Vec<usize>> {
    let product = product(g, component, local, a, b);
    nontrivial(&product)
        .into_iter()
        .map(|scc| {
            let mut txns: Vec<usize> = scc
                .iter()
                .map(|&v| component[v as usize / 2].index())
                .filter(|&n| n < g.txns)
                .collect();
            txns.dedup();
            txns
        })
        .min_by_key(Vec::len)
}

/// The product of `component` (entered in `local`) with the two states: node `2i` is
/// position `i` entered by an `a` step, `2i + 1` entered by a `b` step (see the module
/// docs). Successor lists.
fn product(g: &DepGraph, component: &[NodeIndex], local: &Local, a: u8, b: u8) -> Vec<Vec<u32>> {
    let mut successors: Vec<Vec<u32>> = vec![Vec::new(); 2 * component.len()];
    for (i, &n) in component.iter().enumerate() {
        let txn = n.index() < g.txns;
        for edge in g.graph.edges(n) {
            let j = local.get(edge.target());
            if j == Local::OUTSIDE {
                continue;
            }
            let link = g.edges[*edge.weight() as usize].link;
            for (state, mask) in [(0u32, a), (1u32, b)] {
                if mask == 0 || !link.allowed(mask) {
                    continue;
                }
                // A step of A starts at either copy of a transaction, a step of B only
                // at the one entered by A; a helper continues the step it is part of.
                let from: &[u32] = match (txn, state) {
                    (true, 0) => &[0, 1],
                    (true, _) => &[0],
                    (false, _) => &[state],
                };
                for &s in from {
                    successors[2 * i + s as usize].push(2 * j + state);
                }
            }
        }
    }
    successors
}

#[cfg(test)]
mod tests {
    use petgraph::graph::{DiGraph, NodeIndex};

    use super::{CycleExists, cycle_exists, smallest_cycle_component};
    use crate::elle::graph::{DepGraph, EdgeInfo, Link};
    use crate::elle::infer::MopRef;
    use crate::elle::scc::Local;

    /// A dependency graph of `txns` transactions (nodes `0..txns`) and `helpers` hubs or
    /// time points after them, with `edges`.
    fn graph(txns: usize, helpers: usize, edges: &[(usize, usize, Link)]) -> DepGraph {
        let mut graph = DiGraph::new();
        for _ in 0..txns + helpers {
            graph.add_node(());
        }
        let mut infos = Vec::new();
        for &(from, to, link) in edges {
            let weight = infos.len() as u32;
            infos.push(EdgeInfo {
                link,
                from_mop: MopRef::NONE,
                to_mop: MopRef::NONE,
                unplaced: false,
            });
            graph.add_edge(NodeIndex::new(from), NodeIndex::new(to), weight);
        }
        DepGraph {
            graph,
            edges: infos,
            txns,
        }
    }

    fn all(g: &DepGraph) -> Vec<NodeIndex> {
        g.graph.node_indices().collect()
    }

    /// The findings on the whole graph, as (model, transactions).
    fn findings(g: &DepGraph) -> Vec<(CycleExists, Vec<usize>)> {
        let mut local = Local::new(g.graph.node_count());
        cycle_exists(g, &all(g), &mut local)
            .into_iter()
            .map(|f| (f.model, f.txns))
            .collect()
    }

    /// The cycle of `model`'s relations on the whole graph, if any.
    fn cycle(g: &DepGraph, model: CycleExists) -> Option<Vec<usize>> {
        let nodes = all(g);
        let mut local = Local::new(nodes.len());
        local.enter(&nodes);
        let (a, b) = model.relations();
        smallest_cycle_component(g, &nodes, &local, a, b)
    }

    /// Elle's `si-without-g-single` history (its comments list the edges): T1 ww T3,
    /// T1 wr T4, T2 rw T1, T3 rw T2, T3 rw T4, T4 rw T3 (here 0..4). By hand: the
    /// extension's edges are T1 → T3 and T1 → T4 (ww, wr) and T1 → T2 (ww then rw),
    /// T1 → T3 (wr then rw); nothing enters T1, so no cycle: snapshot isolation may
    /// hold. With rw edges as such, T3 → T4 → T3 is a cycle: repeatable read fails.
    fn si_without_g_single() -> DepGraph {
        graph(
            4,
            0,
            &[
                (0, 2, Link::Ww),
                (0, 3, Link::Wr),
                (1, 0, Link::Rw),
                (2, 1, Link::Rw),
                (2, 3, Link::Rw),
                (3, 2, Link::Rw),
            ],
        )
    }

    #[test]
    fn adjacent_rw_edges_are_no_cycle_of_the_snapshot_extension() {
        let g = si_without_g_single();
        assert_eq!(cycle(&g, CycleExists::SnapshotIsolation), None);
        assert_eq!(cycle(&g, CycleExists::ReadCommitted), None);
        assert_eq!(
            cycle(&g, CycleExists::RepeatableRead),
            Some(vec![0, 1, 2, 3])
        );
        // Serializable (stronger) is skipped once repeatable read is found; no
        // process or real-time edges, so nothing else.
        assert_eq!(
            findings(&g),
            vec![(CycleExists::RepeatableRead, vec![0, 1, 2, 3])]
        );
    }

    #[test]
    fn a_single_rw_hop_closes_a_cycle_of_the_extension() {
        // T0 wr T1 ww T2 rw T0: one rw edge after a ww edge, a G-single shape. Snapshot
        // isolation forbids it; read committed (ww, wr) sees no cycle.
        let g = graph(
            3,
            0,
            &[(0, 1, Link::Wr), (1, 2, Link::Ww), (2, 0, Link::Rw)],
        );
        assert_eq!(cycle(&g, CycleExists::ReadCommitted), None);
        assert_eq!(
            cycle(&g, CycleExists::SnapshotIsolation),
            Some(vec![0, 1, 2])
        );
        // Repeatable read neither implies snapshot isolation nor follows from it, so
        // it is looked for too; serializable, which implies both, is skipped.
        assert_eq!(
            findings(&g),
            vec![
                (CycleExists::SnapshotIsolation, vec![0, 1, 2]),
                (CycleExists::RepeatableRead, vec![0, 1, 2])
            ]
        );
        // Turned into two rw edges in a row (T1 rw T2 rw T0), it is not one.
        let g = graph(
            3,
            0,
            &[(0, 1, Link::Wr), (1, 2, Link::Rw), (2, 0, Link::Rw)],
        );
        assert_eq!(cycle(&g, CycleExists::SnapshotIsolation), None);
        assert_eq!(cycle(&g, CycleExists::RepeatableRead), Some(vec![0, 1, 2]));
    }

    #[test]
    fn an_extension_cycle_of_one_transaction_is_found() {
        // T0 ww T1 rw T0: the extension has T0 → T0 (Elle's singleton component with
        // a self-loop).
        let g = graph(2, 0, &[(0, 1, Link::Ww), (1, 0, Link::Rw)]);
        assert_eq!(cycle(&g, CycleExists::SnapshotIsolation), Some(vec![0, 1]));
    }

    #[test]
    fn real_time_through_time_points_and_rw_through_hubs() {
        // T0 completes into time point 3, which leads to T1's invocation; T1 read a
        // state without T0's append, its rw edge through hub 4 (which also leads to
        // T2). So T0 <rt T1 <rw T0: strong snapshot isolation fails, strong read
        // committed (no rw) does not see it, and strict serializable is skipped.
        let edges = [
            (0, 3, Link::Realtime),
            (3, 1, Link::Tick),
            (1, 4, Link::Rw),
            (4, 0, Link::Hub),
            (4, 2, Link::Hub),
        ];
        let g = graph(3, 2, &edges);
        assert_eq!(cycle(&g, CycleExists::StrongReadCommitted), None);
        assert_eq!(cycle(&g, CycleExists::StrictSerializable), Some(vec![0, 1]));
        assert_eq!(
            findings(&g),
            vec![(CycleExists::StrongSnapshotIsolation, vec![0, 1])]
        );
        // Without the time point's link on to T1 (T1 invoked before T0 completed),
        // there is no cycle at all: time points alone never close one.
        let g = graph(3, 2, &[edges[0], edges[2], edges[3], edges[4]]);
        assert!(findings(&g).is_empty());
    }

    #[test]
    fn process_order_counts_for_the_session_models_only() {
        // T0 ww T1, and T1's process ran T0 next (process order T1 → T0): the strong
        // session models fail, the others do not see process order.
        let g = graph(2, 0, &[(0, 1, Link::Ww), (1, 0, Link::Process)]);
        assert_eq!(
            findings(&g),
            vec![(CycleExists::StrongSessionReadUncommitted, vec![0, 1])]
        );
    }

    #[test]
    fn relations_in_words() {
        assert_eq!(
            CycleExists::StrongSnapshotIsolation.relations_text(),
            "ww, wr and realtime edges with single rw hops (each right after one of those edges)"
        );
        assert_eq!(CycleExists::ReadUncommitted.relations_text(), "ww edges");
        assert_eq!(
            CycleExists::RepeatableRead.relations_text(),
            "ww, wr and rw edges"
        );
    }
}
