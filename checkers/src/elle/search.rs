//! The search for a shortest cycle of each kind inside the strongly connected
//! components of the dependency graph ([`super::scc`]).
//!
//! For each component, the kinds are tried in Elle's order (data-only cycles first,
//! then process, then real-time variants; `G0`, `G1c`, `G-single-item`,
//! `G-nonadjacent-item`, `G2-item` within each), skipping kinds implied by one already
//! found, as Elle does. One addition: for each cycle found without real-time (or
//! process) steps, its `-process` and `-realtime` variants are searched for too, and
//! reported if their cycle is shorter (it may pass other transactions of the same
//! component). They rule out no further model, but a read that misses a write
//! completed before it began is plainer as the two-step cycle real time closes than
//! as a longer cycle of data dependencies (Elle's `paper-example.edn` shows both,
//! through the same rw step). These searches have a budget of their own and take
//! nothing from the history's. A kind's search:
//!
//! 1. restricts the component to the links the kind may use and splits it again into
//!    strongly connected components (a cycle lies inside one);
//! 2. starts a breadth-first search at each transaction with a link of the kind's
//!    distinguishing relation (rw for the rw kinds, wr for `G1c`, process or realtime
//!    for the variants), which it must take first — every cycle of the kind has a
//!    rotation that starts there;
//! 3. walks the product of the graph and a small state (rw edges so far, whether the
//!    last step was rw, which relations were used) with 0-1 costs (free links cost 0),
//!    so the first way back to the start in an accepting state is a shortest one.
//!
//! A closed walk found this way may visit a transaction twice; it is cut into simple
//! cycles, each classified by the relations its steps use (a step between two
//! transactions that are also related by a weaker relation is relabelled with it).

use std::collections::VecDeque;

use petgraph::Direction;
use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;

use super::exists::{Exists, cycle_exists};
use super::graph::{ALL_LINKS, DepGraph, Link};
use super::infer::MopRef;
use super::models;
use super::scc::{Local, components};
use super::{Base, CycleKind, Options, Rel, Variant};

/// One step of a cycle between two transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LogicalStep {
    pub from: u32,
    pub to: u32,
    pub rel: Rel,
    pub from_mop: MopRef,
    pub to_mop: MopRef,
    pub unplaced: bool,
}

/// A cycle found, classified.
#[derive(Clone, Debug)]
pub(crate) struct FoundCycle {
    pub kind: CycleKind,
    pub steps: Vec<LogicalStep>,
    /// For a cycle of a kind another one found implies, that kind and how many
    /// transactions its cycle has: this one is reported because it has fewer.
    pub shorter_than: Option<(CycleKind, usize)>,
}

/// Every cycle found.
#[derive(Debug, Default)]
pub(crate) struct Cycles {
    pub found: Vec<FoundCycle>,
    /// Components with a cycle.
    pub sccs: usize,
    /// Components whose search ran out of budget.
    pub exhausted: usize,
    /// What the relations of those components prove on their own.
    pub exists: Vec<Exists>,
}

/// How many rw edges a kind's cycle has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RwRule {
    None,
    One,
    TwoNonadjacent,
    TwoAny,
}

/// What a kind's cycle may and must use.
#[derive(Clone, Copy, Debug)]
struct Spec {
    kind: CycleKind,
    mask: u8,
    rw: RwRule,
    wr: bool,
    process: bool,
    realtime: bool,
}

impl Spec {
    fn new(base: Base, variant: Variant) -> Spec {
        let data = match base {
            Base::G0 => Link::Ww.bit(),
            Base::G1c => Link::Ww.bit() | Link::Wr.bit(),
            _ => Link::Ww.bit() | Link::Wr.bit() | Link::Rw.bit(),
        };
        let order = match variant {
            Variant::Data => 0,
            Variant::Process => Link::Process.bit(),
            Variant::Realtime => Link::Process.bit() | Link::Realtime.bit(),
        };
        Spec {
            kind: CycleKind { base, variant },
            mask: data | order,
            rw: match base {
                Base::G0 | Base::G1c => RwRule::None,
                Base::GSingleItem => RwRule::One,
                Base::GNonadjacentItem => RwRule::TwoNonadjacent,
                Base::G2Item => RwRule::TwoAny,
            },
            wr: base == Base::G1c,
            process: variant == Variant::Process,
            realtime: variant == Variant::Realtime,
        }
    }

    /// The links a cycle of the kind must use.
    fn needs(&self) -> u8 {
        let bit = |on: bool, link: Link| if on { link.bit() } else { 0 };
        self.first().map_or(0, Link::bit)
            | bit(self.process, Link::Process)
            | bit(self.realtime, Link::Realtime)
            | bit(self.wr, Link::Wr)
    }

    /// The relation every search starts with.
    fn first(&self) -> Option<Link> {
        if self.rw != RwRule::None {
            Some(Link::Rw)
        } else if self.wr {
            Some(Link::Wr)
        } else if self.process {
            Some(Link::Process)
        } else if self.realtime {
            Some(Link::Realtime)
        } else {
            None
        }
    }
}

/// The kinds in the order they are searched for.
fn specs() -> Vec<Spec> {
    let bases = [
        Base::G0,
        Base::G1c,
        Base::GSingleItem,
        Base::GNonadjacentItem,
        Base::G2Item,
    ];
    [Variant::Data, Variant::Process, Variant::Realtime]
        .iter()
        .flat_map(|&v| bases.iter().map(move |&b| Spec::new(b, v)))
        .collect()
}

/// Every cycle the search finds, one per kind in each component (fewer where kinds
/// imply each other, unless the implied kind's cycle is shorter), and for each component whose search ran out of budget, what its
/// relations prove on their own ([`super::exists`]).
pub(crate) fn cycles(g: &DepGraph, options: &Options) -> Cycles {
    let all: Vec<NodeIndex> = g.graph.node_indices().collect();
    let mut local = Local::new(all.len());
    let mut budget = options.search_steps_max;
    let mut out = Cycles::default();
    let specs = specs();
    let mut scratch = Scratch::default();
    let adjacent_rw = adjacent_rw(g);
    for component in components(g, &all, &mut local, ALL_LINKS) {
        out.sccs += 1;
        let mut search = ComponentSearch {
            g,
            local: &mut local,
            scratch: &mut scratch,
            budget: &mut budget,
            found: Vec::new(),
            implied: Default::default(),
            exhausted: false,
            adjacent_rw: &adjacent_rw,
        };
        search.run(&component, &specs);
        if search.found.is_empty() {
            search.exhausted = true;
            if let Some(cycle) = fallback(g, &component, search.local) {
                search.found.push(cycle);
            }
        }
        if search.exhausted {
            out.exhausted += 1;
            out.exists.extend(cycle_exists(g, &component, search.local));
        }
        out.found.extend(search.found);
    }
    out
}

/// Per node, whether two rw steps can follow each other from it: an rw edge to a
/// transaction (directly or through a hub) that has an rw edge itself.
fn adjacent_rw(g: &DepGraph) -> Vec<bool> {
    let rw = |n: NodeIndex| {
        g.graph
            .edges(n)
            .any(|e| g.edges[*e.weight() as usize].link == Link::Rw)
    };
    let rw_out: Vec<bool> = g.graph.node_indices().map(rw).collect();
    // A hub continues if one of its appends has an rw edge.
    let hub_out: Vec<bool> = g
        .graph
        .node_indices()
        .map(|n| {
            n.index() >= g.txns
                && g.graph.edges(n).any(|e| {
                    g.edges[*e.weight() as usize].link == Link::Hub && rw_out[e.target().index()]
                })
        })
        .collect();
    let continues = |target: NodeIndex| {
        if target.index() < g.txns {
            rw_out[target.index()]
        } else {
            hub_out[target.index()]
        }
    };
    g.graph
        .node_indices()
        .map(|n| {
            n.index() < g.txns
                && g.graph.edges(n).any(|e| {
                    g.edges[*e.weight() as usize].link == Link::Rw && continues(e.target())
                })
        })
        .collect()
}

/// The search of one component.
struct ComponentSearch<'a> {
    g: &'a DepGraph,
    local: &'a mut Local,
    scratch: &'a mut Scratch,
    budget: &'a mut u64,
    found: Vec<FoundCycle>,
    implied: std::collections::BTreeSet<&'static str>,
    exhausted: bool,
    /// Per node: whether it has an rw edge to a transaction with an rw edge of its own
    /// (the start of two adjacent rw steps, which only `G2-item` has).
    adjacent_rw: &'a [bool],
}

/// Further starts tried, after a cycle is found, for a shorter one.
const EXTRA_STARTS: usize = 3;

/// The edges the searches for shorter cycles of implied kinds may follow, in all, per
/// component.
const SHORTER_STEPS: u64 = 1 << 20;

/// The edges one breadth-first search may follow in the first round.
const FIRST_CAP: u64 = 1 << 10;

/// The edges the search for one kind in one component may follow: at least this many,
/// and this many per node of the component.
const SPEC_STEPS_MIN: u64 = 1 << 20;
const SPEC_STEPS_PER_NODE: u64 = 64;

impl ComponentSearch<'_> {
    fn run(&mut self, component: &[NodeIndex], specs: &[Spec]) {
        // Kinds that need what the component lacks are not searched for.
        let (present, adjacent) = self.present(component);
        let mut restricted = Restricted::default();
        for spec in specs {
            if self.implied.contains(spec.kind.name()) {
                continue;
            }
            match self.search_kind(component, spec, (present, adjacent), &mut restricted) {
                Searched::Found(steps) => self.record(spec.kind, steps),
                Searched::NotFound => {}
                Searched::OutOfBudget => return,
            }
        }
        self.shorter_variants(component, (present, adjacent), &mut restricted);
    }

    /// For each cycle found of a kind without real-time (or process) steps: a shorter
    /// cycle of its `-process` or `-realtime` variant, if there is one. The variant is
    /// implied (a cycle of data dependencies is also one with order steps allowed), so
    /// it rules out no further model; but a stale read after a completed write is
    /// easier to follow as the two-step cycle real time closes than as the longer
    /// cycle of data dependencies through the same rw step.
    fn shorter_variants(
        &mut self,
        component: &[NodeIndex],
        links: (u8, bool),
        restricted: &mut Restricted,
    ) {
        // These searches only add witnesses of implied kinds: they take nothing from
        // the history's budget, and running out of their own exhausts nothing.
        let (global, exhausted) = (*self.budget, self.exhausted);
        *self.budget = SHORTER_STEPS.min(global);
        self.shorter_variants_within(component, links, restricted);
        *self.budget = global;
        self.exhausted = exhausted;
    }

    /// [`ComponentSearch::shorter_variants`], within the budget it set.
    fn shorter_variants_within(
        &mut self,
        component: &[NodeIndex],
        links: (u8, bool),
        restricted: &mut Restricted,
    ) {
        let mut at = 0;
        while at < self.found.len() {
            let (kind, len) = (self.found[at].kind, self.found[at].steps.len());
            at += 1;
            for variant in [Variant::Process, Variant::Realtime] {
                if variant <= kind.variant
                    || self
                        .found
                        .iter()
                        .any(|f| f.kind.base == kind.base && f.kind.variant == variant)
                {
                    continue;
                }
                let spec = Spec::new(kind.base, variant);
                match self.search_kind(component, &spec, links, restricted) {
                    Searched::Found(steps) if steps.len() < len => {
                        self.found.push(FoundCycle {
                            kind: spec.kind,
                            steps,
                            shorter_than: Some((kind, len)),
                        });
                    }
                    Searched::Found(_) | Searched::NotFound => {}
                    Searched::OutOfBudget => return,
                }
            }
        }
    }

    /// Looks for a cycle of `spec`'s kind in `component`, which has `links` (the links
    /// inside it, and whether two rw steps can follow each other there).
    fn search_kind(
        &mut self,
        component: &[NodeIndex],
        spec: &Spec,
        (present, adjacent): (u8, bool),
        restricted: &mut Restricted,
    ) -> Searched {
        let needs = spec.needs();
        if present & needs != needs || (spec.rw == RwRule::TwoAny && !adjacent) {
            return Searched::NotFound;
        }
        if *self.budget == 0 {
            self.exhausted = true;
            return Searched::OutOfBudget;
        }
        // The links a cycle of this kind may use, of those present.
        let mask = spec.mask & present;
        let slot = match restricted.iter().position(|(m, _)| *m == mask) {
            Some(slot) => slot,
            None => {
                let parts = if mask == present {
                    vec![component.to_vec()]
                } else {
                    let nodes = self.nodes_for(component, mask);
                    components(self.g, &nodes, self.local, mask)
                };
                restricted.push((mask, parts));
                restricted.len() - 1
            }
        };
        let parts = std::mem::take(&mut restricted[slot].1);
        let found = parts.iter().find_map(|part| self.search(part, spec));
        restricted[slot].1 = parts;
        found.map_or(Searched::NotFound, Searched::Found)
    }

    /// Which links `component` has inside it, and whether two rw steps can follow each
    /// other there.
    fn present(&mut self, component: &[NodeIndex]) -> (u8, bool) {
        let mut present = 0u8;
        let mut adjacent = false;
        self.local.enter(component);
        for &n in component {
            adjacent |= self.adjacent_rw[n.index()];
            for e in self.g.graph.edges(n) {
                if self.local.get(e.target()) != Local::OUTSIDE {
                    present |= self.g.edges[*e.weight() as usize].link.bit();
                }
            }
        }
        self.local.leave(component);
        (present, adjacent)
    }

    /// The nodes of `component` a cycle using only `mask`'s links can pass: time points
    /// only with real time, hubs only with rw.
    fn nodes_for(&self, component: &[NodeIndex], mask: u8) -> Vec<NodeIndex> {
        let points = Link::Realtime.allowed(mask);
        let hubs = Link::Rw.allowed(mask);
        if points && hubs {
            return component.to_vec();
        }
        component
            .iter()
            .copied()
            .filter(|&n| {
                n.index() < self.g.txns || {
                    let hub = self
                        .g
                        .graph
                        .edges(n)
                        .any(|e| self.g.edges[*e.weight() as usize].link == Link::Hub);
                    if hub { hubs } else { points }
                }
            })
            .collect()
    }

    /// Looks for a cycle of `spec`'s kind in `part` and returns the shortest found;
    /// records any cycle of another kind met on the way.
    ///
    /// The starts are searched in rounds of iterative deepening: each breadth-first
    /// search may follow at most `cap` edges, and the starts whose search was cut are
    /// tried again with a cap 16 times larger. Short cycles, the usual ones, are found
    /// at once wherever they start; a kind with no cycle costs little per start.
    fn search(&mut self, part: &[NodeIndex], spec: &Spec) -> Option<Vec<LogicalStep>> {
        self.local.enter(part);
        let mut starts = self.starts(part, spec);
        let mut budget =
            (*self.budget).min(SPEC_STEPS_MIN.max(SPEC_STEPS_PER_NODE * part.len() as u64));
        let mut best: Option<Vec<LogicalStep>> = None;
        let mut cap = FIRST_CAP;
        'rounds: loop {
            let mut capped = Vec::new();
            let mut extra = 0;
            for &start in &starts {
                if best.is_some() {
                    if extra == EXTRA_STARTS {
                        break;
                    }
                    extra += 1;
                }
                if budget == 0 {
                    self.exhausted = true;
                    break 'rounds;
                }
                let allowed = cap.min(budget);
                let mut limit = allowed;
                let walk = bfs(
                    self.g,
                    part,
                    self.local,
                    self.scratch,
                    spec,
                    start,
                    &mut limit,
                );
                let spent = allowed - limit;
                budget -= spent;
                *self.budget -= spent;
                let walk = match walk {
                    Walk::Found(walk) => walk,
                    Walk::None => continue,
                    Walk::Capped => {
                        capped.push(start);
                        continue;
                    }
                };
                self.cut(&walk, spec, &mut best);
            }
            if best.is_some() || capped.is_empty() {
                break;
            }
            starts = capped;
            cap = cap.saturating_mul(16);
        }
        self.local.leave(part);
        best
    }

    /// The transactions of `part` (entered in `local`) a search for `spec`'s kind
    /// starts at: those with a link of the kind's first relation inside `part`.
    fn starts(&self, part: &[NodeIndex], spec: &Spec) -> Vec<NodeIndex> {
        let first = spec.first();
        part.iter()
            .copied()
            .filter(|n| n.index() < self.g.txns)
            .filter(|&n| match first {
                None => true,
                Some(link) => self.g.graph.edges(n).any(|e| {
                    self.g.edges[*e.weight() as usize].link == link
                        && self.local.get(e.target()) != Local::OUTSIDE
                }),
            })
            .filter(|n| spec.rw != RwRule::TwoAny || self.adjacent_rw[n.index()])
            .collect()
    }

    /// A closed walk cut into simple cycles: the shortest of `spec`'s kind so far
    /// into `best`, each of another kind recorded.
    fn cut(&mut self, walk: &[EdgeIndex], spec: &Spec, best: &mut Option<Vec<LogicalStep>>) {
        let steps = relabel(self.g, logical(self.g, walk), spec.mask);
        for cycle in split(steps) {
            let Some(kind) = classify(&cycle) else {
                continue;
            };
            if kind != spec.kind {
                self.record(kind, cycle);
            } else if best.as_ref().is_none_or(|b| cycle.len() < b.len()) {
                *best = Some(cycle);
            }
        }
    }

    fn record(&mut self, kind: CycleKind, steps: Vec<LogicalStep>) {
        if self.implied.contains(kind.name()) {
            return;
        }
        self.implied.extend(models::implied_anomalies(kind.name()));
        self.found.push(FoundCycle {
            kind,
            steps,
            shorter_than: None,
        });
    }
}

/// The components of a component restricted to a kind's links, by mask.
type Restricted = Vec<(u8, Vec<Vec<NodeIndex>>)>;

/// The outcome of the search for one kind in one component.
enum Searched {
    Found(Vec<LogicalStep>),
    NotFound,
    /// The search budget of the whole history is spent.
    OutOfBudget,
}

/// The outcome of one breadth-first search.
enum Walk {
    /// The edges of a closed walk from the start back to it.
    Found(Vec<EdgeIndex>),
    /// No cycle of the kind passes through the start.
    None,
    /// The search followed as many edges as it was allowed.
    Capped,
}

/// Reused memory of the searches.
#[derive(Debug, Default)]
struct Scratch {
    stamp: Vec<u32>,
    dist: Vec<u32>,
    parent: Vec<(u32, u32)>,
    generation: u32,
    queue: VecDeque<u32>,
}

impl Scratch {
    /// Room for `slots` search states, all unvisited: the generation that marks the
    /// ones this search visits.
    fn fresh(&mut self, slots: usize) -> u32 {
        if self.stamp.len() < slots {
            self.stamp.resize(slots, 0);
            self.dist.resize(slots, 0);
            self.parent.resize(slots, (0, 0));
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.fill(0);
            self.generation = 1;
        }
        self.generation
    }

    /// The edges from the start (`root`) to `slot` and then `last`, by the parents
    /// the search recorded.
    fn walk_back(&self, mut slot: u32, last: u32, root: u32) -> Vec<EdgeIndex> {
        let mut walk = vec![EdgeIndex::new(last as usize)];
        while slot != root {
            let (previous, edge) = self.parent[slot as usize];
            walk.push(EdgeIndex::new(edge as usize));
            slot = previous;
        }
        walk.reverse();
        walk
    }
}

/// The search state besides the node, as mixed-radix digits: rw edges so far (0..=2),
/// whether the last step was rw, and whether wr, process and realtime were used. Only
/// the digits a kind needs are kept; the others stay 0.
#[derive(Clone, Copy, Debug)]
struct Layout {
    rw: bool,
    last_rw: bool,
    wr: bool,
    process: bool,
    realtime: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct State {
    rw: u8,
    last_rw: bool,
    wr: bool,
    process: bool,
    realtime: bool,
}

impl Layout {
    fn of(spec: &Spec) -> Layout {
        let first = spec.first();
        Layout {
            rw: matches!(spec.rw, RwRule::TwoAny | RwRule::TwoNonadjacent),
            last_rw: spec.rw == RwRule::TwoNonadjacent,
            wr: spec.wr && first != Some(Link::Wr),
            process: spec.process && first != Some(Link::Process),
            realtime: spec.realtime && first != Some(Link::Realtime),
        }
    }

    fn states(&self) -> usize {
        (if self.rw { 3 } else { 1 })
            * (if self.last_rw { 2 } else { 1 })
            * (if self.wr { 2 } else { 1 })
            * (if self.process { 2 } else { 1 })
            * (if self.realtime { 2 } else { 1 })
    }

    fn encode(&self, s: State) -> usize {
        let mut code = 0;
        let mut digit = |on: bool, radix: usize, value: usize| {
            if on {
                code = code * radix + value;
            }
        };
        digit(self.rw, 3, usize::from(s.rw));
        digit(self.last_rw, 2, usize::from(s.last_rw));
        digit(self.wr, 2, usize::from(s.wr));
        digit(self.process, 2, usize::from(s.process));
        digit(self.realtime, 2, usize::from(s.realtime));
        code
    }

    fn decode(&self, mut code: usize) -> State {
        let mut s = State::default();
        let mut digit = |on: bool, radix: usize| -> usize {
            if on {
                let d = code % radix;
                code /= radix;
                d
            } else {
                0
            }
        };
        s.realtime = digit(self.realtime, 2) == 1;
        s.process = digit(self.process, 2) == 1;
        s.wr = digit(self.wr, 2) == 1;
        s.last_rw = digit(self.last_rw, 2) == 1;
        s.rw = digit(self.rw, 3) as u8;
        s
    }

    /// The state after following `link`, if the kind allows it.
    fn step(&self, spec: &Spec, s: State, link: Link) -> Option<State> {
        if !link.allowed(spec.mask) {
            return None;
        }
        let mut next = s;
        match link {
            Link::Rw => {
                match spec.rw {
                    RwRule::None => return None,
                    RwRule::One => return None, // the one rw edge is the first step
                    RwRule::TwoNonadjacent if s.last_rw => return None,
                    _ => {}
                }
                next.rw = (s.rw + 1).min(2);
                next.last_rw = true;
            }
            Link::Hub | Link::Tick => {}
            other => {
                next.last_rw = false;
                next.wr |= other == Link::Wr;
                next.process |= other == Link::Process;
                next.realtime |= other == Link::Realtime;
            }
        }
        Some(self.keep(next))
    }

    /// `s` with the digits this layout does not keep cleared.
    fn keep(&self, s: State) -> State {
        State {
            rw: if self.rw { s.rw } else { 0 },
            last_rw: self.last_rw && s.last_rw,
            wr: self.wr && s.wr,
            process: self.process && s.process,
            realtime: self.realtime && s.realtime,
        }
    }

    /// Whether a walk back at the start in state `s` is a cycle of the kind.
    fn accepts(&self, spec: &Spec, s: State) -> bool {
        let rw = match spec.rw {
            RwRule::TwoAny => s.rw >= 2,
            RwRule::TwoNonadjacent => s.rw >= 2 && !s.last_rw,
            RwRule::None | RwRule::One => true,
        };
        rw && (!self.wr || s.wr) && (!self.process || s.process) && (!self.realtime || s.realtime)
    }
}

/// The state after the first step, which must be the kind's first relation.
fn first_state(layout: &Layout, spec: &Spec, link: Link) -> Option<State> {
    if spec.first().is_some_and(|f| f != link) {
        return None;
    }
    let start = State::default();
    if link == Link::Rw {
        let s = State {
            rw: 1,
            last_rw: true,
            ..start
        };
        return link.allowed(spec.mask).then(|| layout.keep(s));
    }
    layout.step(spec, start, link)
}

/// A 0-1 breadth-first search of the product of `part` (already entered in `local`)
/// and the kind's states, from `start` back to it.
fn bfs(
    g: &DepGraph,
    part: &[NodeIndex],
    local: &Local,
    scratch: &mut Scratch,
    spec: &Spec,
    start: NodeIndex,
    limit: &mut u64,
) -> Walk {
    const ROOT: u32 = u32::MAX;
    let layout = Layout::of(spec);
    let states = layout.states();
    let generation = scratch.fresh(part.len() * states);
    let start_local = local.get(start);
    // The best way back to the start: its length and (previous slot, edge).
    let mut best: Option<(u32, u32, u32)> = None;
    scratch.queue.clear();
    let relax = |scratch: &mut Scratch,
                 best: &mut Option<(u32, u32, u32)>,
                 from_slot: u32,
                 from_dist: u32,
                 edge: petgraph::graph::EdgeReference<'_, u32>,
                 state: State| {
        let link = g.edges[*edge.weight() as usize].link;
        let target = local.get(edge.target());
        if target == Local::OUTSIDE {
            return;
        }
        let d = from_dist + link.cost();
        if target == start_local {
            if layout.accepts(spec, state) && best.is_none_or(|(b, _, _)| d < b) {
                *best = Some((d, from_slot, edge.id().index() as u32));
            }
            return;
        }
        let slot = target as usize * states + layout.encode(state);
        if scratch.stamp[slot] == generation && scratch.dist[slot] <= d {
            return;
        }
        scratch.stamp[slot] = generation;
        scratch.dist[slot] = d;
        scratch.parent[slot] = (from_slot, edge.id().index() as u32);
        if link.cost() == 0 {
            scratch.queue.push_front(slot as u32);
        } else {
            scratch.queue.push_back(slot as u32);
        }
    };
    for edge in g.graph.edges(start) {
        *limit = limit.saturating_sub(1);
        let link = g.edges[*edge.weight() as usize].link;
        if let Some(state) = first_state(&layout, spec, link) {
            relax(scratch, &mut best, ROOT, 0, edge, state);
        }
    }
    while let Some(slot) = scratch.queue.pop_front() {
        let d = scratch.dist[slot as usize];
        if best.is_some_and(|(b, _, _)| b <= d) {
            break;
        }
        if *limit == 0 {
            return Walk::Capped;
        }
        let node = part[slot as usize / states];
        let state = layout.decode(slot as usize % states);
        for edge in g.graph.edges(node) {
            *limit = limit.saturating_sub(1);
            let link = g.edges[*edge.weight() as usize].link;
            if let Some(next) = layout.step(spec, state, link) {
                relax(scratch, &mut best, slot, d, edge, next);
            }
        }
    }
    match best {
        Some((_, slot, last)) => Walk::Found(scratch.walk_back(slot, last, ROOT)),
        None => Walk::None,
    }
}

/// The steps between transactions of a closed walk: free links are folded into the
/// step they continue.
fn logical(g: &DepGraph, walk: &[EdgeIndex]) -> Vec<LogicalStep> {
    let mut steps: Vec<LogicalStep> = Vec::new();
    let mut open = false;
    for &e in walk {
        let (source, target) = g.graph.edge_endpoints(e).expect("an edge of the graph");
        let info = g.edges[g.graph[e] as usize];
        if !open {
            steps.push(LogicalStep {
                from: source.index() as u32,
                to: u32::MAX,
                rel: info.link.rel(),
                from_mop: info.from_mop,
                to_mop: info.to_mop,
                unplaced: info.unplaced,
            });
        }
        let step = steps.last_mut().expect("pushed above");
        if info.to_mop != MopRef::NONE {
            step.to_mop = info.to_mop;
        }
        open = target.index() >= g.txns;
        if !open {
            step.to = target.index() as u32;
        }
    }
    steps
}

/// Each step between two transactions that are also related by a weaker order
/// (ww, wr, process before realtime; ww, wr before process) takes the weaker one.
fn relabel(g: &DepGraph, mut steps: Vec<LogicalStep>, mask: u8) -> Vec<LogicalStep> {
    for step in &mut steps {
        let weaker: &[Link] = match step.rel {
            Rel::Realtime => &[Link::Ww, Link::Wr, Link::Process],
            Rel::Process => &[Link::Ww, Link::Wr],
            _ => continue,
        };
        let to = NodeIndex::new(step.to as usize);
        let from = NodeIndex::new(step.from as usize);
        for &link in weaker.iter().filter(|l| l.allowed(mask)) {
            let parallel = g
                .graph
                .edges_connecting(from, to)
                .map(|e| g.edges[*e.weight() as usize])
                .find(|info| info.link == link);
            if let Some(info) = parallel {
                *step = LogicalStep {
                    rel: link.rel(),
                    from_mop: info.from_mop,
                    to_mop: info.to_mop,
                    unplaced: info.unplaced,
                    ..*step
                };
                break;
            }
        }
    }
    steps
}

/// A closed walk cut into simple cycles.
fn split(steps: Vec<LogicalStep>) -> Vec<Vec<LogicalStep>> {
    for i in 0..steps.len() {
        if let Some(j) = (i + 1..steps.len()).find(|&j| steps[j].from == steps[i].from) {
            let inner: Vec<LogicalStep> = steps[i..j].to_vec();
            let mut outer: Vec<LogicalStep> = steps[..i].to_vec();
            outer.extend_from_slice(&steps[j..]);
            let mut out = split(inner);
            out.extend(split(outer));
            return out;
        }
    }
    vec![steps]
}

/// The kind of a simple cycle, by the relations its steps use (Elle's classification).
pub(crate) fn classify(steps: &[LogicalStep]) -> Option<CycleKind> {
    let count = |rel: Rel| steps.iter().filter(|s| s.rel == rel).count();
    let rw = count(Rel::Rw);
    let adjacent = (0..steps.len())
        .any(|i| steps[i].rel == Rel::Rw && steps[(i + 1) % steps.len()].rel == Rel::Rw);
    let base = match rw {
        0 if count(Rel::Wr) > 0 => Base::G1c,
        0 if count(Rel::Ww) > 0 => Base::G0,
        0 => return None,
        1 => Base::GSingleItem,
        _ if adjacent => Base::G2Item,
        _ => Base::GNonadjacentItem,
    };
    let variant = if count(Rel::Realtime) > 0 {
        Variant::Realtime
    } else if count(Rel::Process) > 0 {
        Variant::Process
    } else {
        Variant::Data
    };
    Some(CycleKind { base, variant })
}

/// Some cycle of a component, by a plain breadth-first search from its first
/// transaction back to it (when the kind-by-kind search ran out of budget).
fn fallback(g: &DepGraph, component: &[NodeIndex], local: &mut Local) -> Option<FoundCycle> {
    let start = *component.iter().find(|n| n.index() < g.txns)?;
    local.enter(component);
    let mut parent: Vec<Option<EdgeIndex>> = vec![None; component.len()];
    let mut queue = VecDeque::from([start]);
    let mut closing = None;
    'search: while let Some(n) = queue.pop_front() {
        for edge in g.graph.edges_directed(n, Direction::Outgoing) {
            let target = local.get(edge.target());
            if target == Local::OUTSIDE {
                continue;
            }
            if edge.target() == start {
                closing = Some(edge.id());
                break 'search;
            }
            if parent[target as usize].is_none() {
                parent[target as usize] = Some(edge.id());
                queue.push_back(edge.target());
            }
        }
    }
    let mut walk = Vec::new();
    let mut at = closing;
    while let Some(e) = at {
        walk.push(e);
        let (source, _) = g.graph.edge_endpoints(e).expect("an edge of the graph");
        at = if source == start {
            None
        } else {
            parent[local.get(source) as usize]
        };
    }
    local.leave(component);
    walk.reverse();
    let steps = relabel(g, logical(g, &walk), ALL_LINKS);
    let kind = classify(&steps)?;
    Some(FoundCycle {
        kind,
        steps,
        shorter_than: None,
    })
}
