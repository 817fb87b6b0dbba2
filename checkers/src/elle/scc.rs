//! Strongly connected components: an iterative Tarjan (petgraph's recurses once per
//! node, and a history's chains of process and real-time order are as deep as the
//! history is long), on the dependency graph restricted to some nodes and links
//! ([`components`]) and on small graphs of successor lists ([`nontrivial`]).

use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;

use super::graph::DepGraph;

/// Global node index to position in the node set being searched, and back.
#[derive(Debug)]
pub(super) struct Local {
    of: Vec<u32>,
}

impl Local {
    pub const OUTSIDE: u32 = u32::MAX;

    /// Room for `nodes` nodes, none entered.
    pub fn new(nodes: usize) -> Local {
        Local {
            of: vec![Self::OUTSIDE; nodes],
        }
    }

    pub fn enter(&mut self, nodes: &[NodeIndex]) {
        for (i, n) in nodes.iter().enumerate() {
            self.of[n.index()] = i as u32;
        }
    }

    pub fn leave(&mut self, nodes: &[NodeIndex]) {
        for n in nodes {
            self.of[n.index()] = Self::OUTSIDE;
        }
    }

    /// The position of `n` among the nodes entered, or [`Local::OUTSIDE`].
    pub fn get(&self, n: NodeIndex) -> u32 {
        self.of[n.index()]
    }
}

/// The state of an iterative Tarjan over nodes `0..k`: each node's discovery index and
/// low link, and the stack of nodes not yet in a component.
struct Tarjan {
    index: Vec<u32>,
    low: Vec<u32>,
    on_stack: Vec<bool>,
    stack: Vec<u32>,
    next: u32,
}

impl Tarjan {
    const UNSEEN: u32 = u32::MAX;

    fn new(k: usize) -> Tarjan {
        Tarjan {
            index: vec![Self::UNSEEN; k],
            low: vec![0; k],
            on_stack: vec![false; k],
            stack: Vec::new(),
            next: 0,
        }
    }

    fn seen(&self, v: usize) -> bool {
        self.index[v] != Self::UNSEEN
    }

    fn discover(&mut self, v: usize) {
        self.index[v] = self.next;
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v as u32);
        self.on_stack[v] = true;
    }

    /// An edge from `v` to `w`, already seen: if `w` is still on the stack, `v` reaches
    /// it back.
    fn back(&mut self, v: usize, w: usize) {
        if self.on_stack[w] {
            self.low[v] = self.low[v].min(self.index[w]);
        }
    }

    /// `v` is done: its low link goes to its parent, and if it roots a component, the
    /// component comes off the stack.
    fn finish(&mut self, v: usize, parent: Option<usize>) -> Option<Vec<u32>> {
        if let Some(parent) = parent {
            self.low[parent] = self.low[parent].min(self.low[v]);
        }
        if self.low[v] != self.index[v] {
            return None;
        }
        let mut component = Vec::new();
        loop {
            let w = self.stack.pop().expect("v is on the stack");
            self.on_stack[w as usize] = false;
            component.push(w);
            if w as usize == v {
                return Some(component);
            }
        }
    }
}

/// Strongly connected components of more than one node, of the subgraph on `nodes`
/// whose links `mask` allows; each sorted by node index.
pub(super) fn components(
    g: &DepGraph,
    nodes: &[NodeIndex],
    local: &mut Local,
    mask: u8,
) -> Vec<Vec<NodeIndex>> {
    local.enter(nodes);
    let mut tarjan = Tarjan::new(nodes.len());
    let mut calls = Vec::new();
    let mut out = Vec::new();
    for root in 0..nodes.len() {
        if tarjan.seen(root) {
            continue;
        }
        tarjan.discover(root);
        calls.push((root, g.graph.edges(nodes[root])));
        while let Some(top) = calls.len().checked_sub(1) {
            let v = calls[top].0;
            let mut child = None;
            for edge in calls[top].1.by_ref() {
                if !g.edges[*edge.weight() as usize].link.allowed(mask) {
                    continue;
                }
                let w = local.get(edge.target());
                if w == Local::OUTSIDE {
                    continue;
                }
                let w = w as usize;
                if !tarjan.seen(w) {
                    child = Some(w);
                    break;
                }
                tarjan.back(v, w);
            }
            if let Some(w) = child {
                tarjan.discover(w);
                calls.push((w, g.graph.edges(nodes[w])));
                continue;
            }
            calls.pop();
            let parent = calls.last().map(|&(parent, _)| parent);
            if let Some(component) = tarjan.finish(v, parent) {
                if component.len() > 1 {
                    let mut component: Vec<NodeIndex> =
                        component.iter().map(|&w| nodes[w as usize]).collect();
                    component.sort_unstable();
                    out.push(component);
                }
            }
        }
    }
    local.leave(nodes);
    out
}

/// The nontrivial strongly connected components of the graph whose node `v` has the
/// successors `successors[v]`: those of more than one node, or of one node with an
/// edge to itself. Each is sorted.
pub(super) fn nontrivial(successors: &[Vec<u32>]) -> Vec<Vec<u32>> {
    let mut tarjan = Tarjan::new(successors.len());
    // Each call: the node and how many of its successors were looked at.
    let mut calls: Vec<(usize, usize)> = Vec::new();
    let mut out = Vec::new();
    for root in 0..successors.len() {
        if tarjan.seen(root) {
            continue;
        }
        tarjan.discover(root);
        calls.push((root, 0));
        while let Some(&(v, done)) = calls.last() {
            let next = successors[v][done..].iter().map(|&w| w as usize);
            let mut looked = done;
            let mut child = None;
            for w in next {
                looked += 1;
                if !tarjan.seen(w) {
                    child = Some(w);
                    break;
                }
                tarjan.back(v, w);
            }
            calls.last_mut().expect("v's call").1 = looked;
            if let Some(w) = child {
                tarjan.discover(w);
                calls.push((w, 0));
                continue;
            }
            calls.pop();
            let parent = calls.last().map(|&(parent, _)| parent);
            if let Some(mut component) = tarjan.finish(v, parent) {
                if component.len() > 1 || successors[v].contains(&(v as u32)) {
                    component.sort_unstable();
                    out.push(component);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::nontrivial;

    #[test]
    fn nontrivial_components_are_cycles_and_self_loops() {
        // 0 → 1 → 2 → 0 is a cycle; 3 → 3 a self-loop; 4 → 0 and 5 alone are not.
        let graph = vec![vec![1], vec![2], vec![0], vec![3], vec![0], vec![]];
        let mut found = nontrivial(&graph);
        found.sort();
        assert_eq!(found, vec![vec![0, 1, 2], vec![3]]);
        // Without the closing edge and the self-loop, none.
        let graph = vec![vec![1], vec![2], vec![], vec![], vec![0], vec![]];
        assert!(nontrivial(&graph).is_empty());
    }
}
