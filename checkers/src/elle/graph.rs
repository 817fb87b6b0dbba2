//! The dependency graph on petgraph: transactions, plus two kinds of helper nodes that
//! keep the edges linear in the history.
//!
//! - A **hub** stands for every append (or write) of a key that comes after one known
//!   state: the reads of that state have one rw edge each into the hub, and the hub one
//!   free link to each append. Without it, `r` readers and `w` appends would need
//!   `r · w` edges.
//! - A **time point** stands for a run of completions in the history: each completed
//!   transaction has a realtime edge into the time point after its completion, time
//!   points are chained in history order, and each invocation has a free link from the
//!   last time point before it. `T1` reaches `T2` through time points exactly when `T1`
//!   completed before `T2` was invoked.
//!
//! Free links cost nothing in the search and are folded into the step before them when
//! a cycle is explained.

use std::collections::BTreeMap;

use petgraph::graph::{DiGraph, NodeIndex};

use super::Rel;
use super::infer::{Inferred, MopRef};
use super::txn::{Status, TxnHistory};

/// What an edge of the graph is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Link {
    Ww = 0,
    Wr = 1,
    Rw = 2,
    Process = 3,
    Realtime = 4,
    /// From a hub on to one of its appends (continues an rw step).
    Hub = 5,
    /// Between time points, or from one to an invocation (continues a realtime step).
    Tick = 6,
}

impl Link {
    /// The bit of this link in a mask of allowed links.
    pub const fn bit(self) -> u8 {
        1 << self as u8
    }

    /// Whether a search restricted to `mask` may follow this link. Free links follow
    /// the relation whose step they continue.
    pub fn allowed(self, mask: u8) -> bool {
        let needed = match self {
            Link::Hub => Link::Rw,
            Link::Tick => Link::Realtime,
            other => other,
        };
        mask & needed.bit() != 0
    }

    /// Whether following it costs a step (free links do not).
    pub fn cost(self) -> u32 {
        match self {
            Link::Hub | Link::Tick => 0,
            _ => 1,
        }
    }

    /// The relation a step starting with this link stands for.
    pub fn rel(self) -> Rel {
        match self {
            Link::Ww => Rel::Ww,
            Link::Wr => Rel::Wr,
            Link::Rw | Link::Hub => Rel::Rw,
            Link::Process => Rel::Process,
            Link::Realtime | Link::Tick => Rel::Realtime,
        }
    }

    /// The link of a relation.
    pub fn of(rel: Rel) -> Link {
        match rel {
            Rel::Ww => Link::Ww,
            Rel::Wr => Link::Wr,
            Rel::Rw => Link::Rw,
            Rel::Process => Link::Process,
            Rel::Realtime => Link::Realtime,
        }
    }
}

/// Every link.
pub(crate) const ALL_LINKS: u8 = 0x7f;

/// What an edge carries: its link, and for data dependencies the micro-operations it
/// relates.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EdgeInfo {
    pub link: Link,
    pub from_mop: MopRef,
    pub to_mop: MopRef,
    /// An rw or ww edge to an append no read placed.
    pub unplaced: bool,
}

/// The graph. Nodes `0..txns` are the transactions (by index), then the hubs, then the
/// time points; each edge's weight indexes [`DepGraph::edges`].
#[derive(Debug)]
pub(crate) struct DepGraph {
    pub graph: DiGraph<(), u32>,
    pub edges: Vec<EdgeInfo>,
    pub txns: usize,
}

impl DepGraph {
    pub fn build(history: &TxnHistory<'_>, inferred: &Inferred) -> DepGraph {
        let n = history.txns.len();
        let hubs = inferred.hubs as usize;
        let data = inferred.edges.len() + inferred.hub_links.len();
        let mut graph = DiGraph::with_capacity(2 * n + hubs, data + 4 * n);
        for _ in 0..n + hubs {
            graph.add_node(());
        }
        let mut g = DepGraph {
            graph,
            edges: Vec::with_capacity(data + 4 * n),
            txns: n,
        };
        for e in &inferred.edges {
            let info = EdgeInfo {
                link: Link::of(e.rel),
                from_mop: e.from_mop,
                to_mop: e.to_mop,
                unplaced: e.unplaced,
            };
            g.add(e.from as usize, e.to as usize, info);
        }
        for h in &inferred.hub_links {
            let info = EdgeInfo {
                link: Link::Hub,
                from_mop: MopRef::NONE,
                to_mop: h.to_mop,
                unplaced: true,
            };
            g.add(n + h.hub as usize, h.to_mop.txn as usize, info);
        }
        g.process_order(history);
        g.real_time_order(history);
        g
    }

    fn add(&mut self, from: usize, to: usize, info: EdgeInfo) {
        let weight = self.edges.len() as u32;
        self.edges.push(info);
        self.graph
            .add_edge(NodeIndex::new(from), NodeIndex::new(to), weight);
    }

    fn order(link: Link) -> EdgeInfo {
        EdgeInfo {
            link,
            from_mop: MopRef::NONE,
            to_mop: MopRef::NONE,
            unplaced: false,
        }
    }

    /// Each transaction after the one its process ran before it.
    fn process_order(&mut self, history: &TxnHistory<'_>) {
        let mut last: BTreeMap<u64, usize> = BTreeMap::new();
        for (t, txn) in history.txns.iter().enumerate() {
            // An op without `:process` follows nothing in process order.
            let Some(process) = txn.process else {
                continue;
            };
            if let Some(previous) = last.insert(process, t) {
                self.add(previous, t, Self::order(Link::Process));
            }
        }
    }

    /// Completions into time points, time points chained, time points into later
    /// invocations.
    fn real_time_order(&mut self, history: &TxnHistory<'_>) {
        let mut completions: Vec<(usize, usize)> = history
            .txns
            .iter()
            .enumerate()
            .filter(|(_, t)| t.status == Status::Ok)
            .filter_map(|(i, t)| t.ret.map(|r| (r, i)))
            .collect();
        completions.sort_unstable();
        let mut invocations: Vec<(usize, usize)> = history
            .txns
            .iter()
            .enumerate()
            .map(|(i, t)| (t.call, i))
            .collect();
        invocations.sort_unstable();
        let mut point: Option<usize> = None;
        let mut fresh = false;
        let (mut c, mut i) = (0, 0);
        while i < invocations.len() {
            if c < completions.len() && completions[c].0 < invocations[i].0 {
                if !fresh {
                    let next = self.graph.add_node(()).index();
                    if let Some(previous) = point {
                        self.add(previous, next, Self::order(Link::Tick));
                    }
                    point = Some(next);
                    fresh = true;
                }
                let here = point.expect("just made");
                self.add(completions[c].1, here, Self::order(Link::Realtime));
                c += 1;
            } else {
                if let Some(here) = point {
                    self.add(here, invocations[i].1, Self::order(Link::Tick));
                }
                fresh = false;
                i += 1;
            }
        }
    }
}
