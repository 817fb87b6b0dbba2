//! One state of an exploration (every node, the messages in flight, the history so
//! far) and the moves that lead out of it.

use std::hash::Hash;
use std::rc::Rc;

use super::fingerprint::{Fingerprinter, Fp, fingerprint};
use super::{Budget, Explorable, Happened, Setup, Step};
use crate::node::{Durable, Effects, LiveTimers};
use crate::{Clock, Ctx, Node, NodeId, Purpose, SimRng, Time, TimerId};

/// A timer set and not yet fired nor cancelled.
#[derive(Clone, Debug, Hash)]
pub(crate) struct Pending<T> {
    id: TimerId,
    due: Time,
    timer: T,
}

/// One process: its node (absent while down) and what outlives a crash.
#[derive(Clone, Debug)]
pub(crate) struct Proc<N: Node> {
    node: Option<N>,
    durable: Durable<N::Durable>,
    rng: SimRng,
    live: LiveTimers,
    next_timer: u64,
    timers: Vec<Pending<N::Timer>>,
    fp: Fp,
}

impl<N: Explorable> Proc<N> {
    fn new(seed: u64, id: NodeId) -> Proc<N> {
        Proc {
            node: None,
            durable: Durable::default(),
            rng: SimRng::new(seed, Purpose::Process(id)),
            live: LiveTimers::default(),
            next_timer: 0,
            timers: Vec::new(),
            fp: 0,
        }
    }

    fn refresh(&mut self) {
        let mut h = Fingerprinter::new();
        self.node.hash(&mut h);
        self.durable.hash(&mut h);
        self.rng.hash(&mut h);
        self.next_timer.hash(&mut h);
        self.timers.hash(&mut h);
        self.fp = h.finish128();
    }

    /// Runs `f` with a context for this process; returns what it asked for.
    fn handle(
        &mut self,
        id: NodeId,
        now: Time,
        clock: &Clock,
        f: impl FnOnce(&mut Option<N>, &mut Ctx<'_, N>),
    ) -> Effects<N> {
        let mut effects = Effects::default();
        let mut syncs = 0;
        let mut ctx = Ctx {
            id,
            now,
            clock,
            rng: &mut self.rng,
            durable: &mut self.durable,
            live_timers: &mut self.live,
            next_timer: &mut self.next_timer,
            effects: &mut effects,
            syncs: &mut syncs,
        };
        f(&mut self.node, &mut ctx);
        for (timer_id, after, timer) in effects.timers.drain(..) {
            self.timers.push(Pending {
                id: timer_id,
                due: now + after,
                timer,
            });
        }
        let live = &self.live;
        self.timers.retain(|p| live.contains(p.id));
        effects
    }

    /// Hands the node a message (a node that is down loses it).
    fn receive(
        &mut self,
        id: NodeId,
        from: NodeId,
        msg: N::Msg,
        now: Time,
        clock: &Clock,
    ) -> Effects<N> {
        self.handle(id, now, clock, |node, ctx| {
            if let Some(node) = node {
                node.on_message(ctx, from, msg);
            }
        })
    }

    /// Fires pending timer `t`, at the later of `now` and its deadline; returns that
    /// time, the clock every node reads from then on, and what the handler asked for.
    fn fire(&mut self, id: NodeId, t: usize, now: Time, clock: &Clock) -> (Time, Effects<N>) {
        let pending = self.timers.remove(t);
        self.live.remove(pending.id);
        let now = now.max(pending.due);
        let fx = self.handle(id, now, clock, |node, ctx| {
            if let Some(node) = node {
                node.on_timer(ctx, pending.timer);
            }
        });
        (now, fx)
    }

    /// Whether the node, up, ignores `f` for good ([`Node::ignores`]).
    fn ignores(&self, f: &Flight<N::Msg>) -> bool {
        self.node
            .as_ref()
            .is_some_and(|n| n.ignores(f.from, &f.msg))
    }

    /// Hands a copy of this process `f`: whether that changed its state, and whether
    /// it sent, set or reported anything.
    fn probe(&self, f: &Flight<N::Msg>, now: Time, clock: &Clock) -> (bool, bool) {
        let mut copy = self.clone();
        let fx = copy.receive(f.to, f.from, f.msg.clone(), now, clock);
        copy.refresh();
        let sent = !(fx.sends.is_empty() && fx.timers.is_empty() && fx.outputs.is_empty());
        (copy.fp != self.fp, sent)
    }

    fn crash(&mut self) {
        self.node = None;
        self.live.clear();
        self.timers.clear();
        self.durable.crash();
        self.refresh();
    }
}

/// A message in flight. `send` numbers the sends along the path that led here (a
/// schedule names deliveries by it); it is not part of the state.
#[derive(Clone, Debug)]
pub(crate) struct Flight<M> {
    from: NodeId,
    to: NodeId,
    msg: M,
    send: u64,
    fp: Fp,
}

impl<M: std::fmt::Debug> Flight<M> {
    /// Its delivery, as a trace event (the caller gives it its time).
    pub(crate) fn traced(&self) -> Traced {
        Traced {
            kind: crate::EventKind::Deliver,
            node: Some(self.to),
            peer: Some(self.from),
            send: Some(self.send),
            detail: format!("{:?}", self.msg),
        }
    }
}

/// A transition's name across states ([`World::identity`]).
pub(crate) type Tid = u64;

/// A way out of a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Move {
    /// A client takes its next operation.
    Input(usize),
    /// The message at this index of the flights is delivered.
    Deliver(usize),
    /// The timer at this index of the node's pending timers fires.
    Fire(NodeId, usize),
    /// The message at this index is lost.
    Drop(usize),
    /// The message at this index is delivered and stays in flight, to arrive again.
    Duplicate(usize),
    /// A replica crashes.
    Crash(usize),
    /// A crashed replica boots.
    Restart(usize),
    /// A replica is cut off from every other node.
    Isolate(usize),
    /// The partition heals.
    Heal,
}

/// What a move touches: the node whose state it changes, whether that node is a
/// client and the move a client's input, and whether it touches everything (faults
/// and timer firings, which use up a shared budget and, for timers, move the clock
/// every node reads).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Footprint {
    pub(crate) node: NodeId,
    pub(crate) client: bool,
    pub(crate) input: bool,
    pub(crate) global: bool,
}

impl Footprint {
    /// Whether two moves commute: both local, at different nodes, and, if both are at
    /// clients, both deliveries. Client events order the history in real time, but
    /// only an invocation against a completion does: two deliveries (whose outcomes
    /// are completions) leave the same real-time order in either order. Two inputs do
    /// not commute, because an input may complete at once (a client whose circuit
    /// breaker is open fails it without sending), and then it is a completion too.
    pub(crate) fn independent(self, other: Footprint) -> bool {
        let shared = self.global || other.global || self.node == other.node;
        let ordered = self.client && other.client && (self.input || other.input);
        !(shared || ordered)
    }
}

/// A whole state.
#[derive(Clone, Debug)]
pub(crate) struct World<R: Node, C: Node<Msg = R::Msg>> {
    // Shared between the worlds a search holds until one of them changes it: a
    // step changes one node, so a successor copies one node and shares the rest.
    replicas: Vec<Rc<Proc<R>>>,
    clients: Vec<Rc<Proc<C>>>,
    flights: Vec<Rc<Flight<R::Msg>>>,
    /// The sum of the flights' fingerprints: a fingerprint of the multiset.
    net: Fp,
    now: Time,
    left: Budget,
    /// The replica a partition cuts off, if any.
    isolated: Option<NodeId>,
    sends: u64,
    /// Per client: operations handed out and outcomes reported.
    given: Vec<usize>,
    reported: Vec<usize>,
    pub(crate) history: Rc<Vec<Happened<C>>>,
    hist: Fp,
}

/// What a world needs from its exploration to take a step.
pub(crate) struct Env<'a, R: Node, C: Node<Msg = R::Msg>> {
    pub(crate) setup: &'a Setup<R, C>,
    pub(crate) clock: Clock,
}

impl<'a, R: Node, C: Node<Msg = R::Msg>> Env<'a, R, C> {
    /// Exploration's clocks are perfect: one clock for every node.
    pub(crate) fn new(setup: &'a Setup<R, C>) -> Env<'a, R, C> {
        Env {
            setup,
            clock: Clock::default(),
        }
    }

    /// Whether moves take ignored messages out of flight: unless told to keep them,
    /// and never under DPOR (the `dpor` module's docs say why).
    pub(crate) fn absorbs(&self) -> bool {
        !self.setup.keep_ignored && self.setup.reduction != super::Reduction::Dpor
    }
}

impl<R: Explorable, C: Explorable<Msg = R::Msg>> World<R, C> {
    /// Every node booted, in id order, nothing else happened.
    pub(crate) fn start(env: &Env<'_, R, C>) -> World<R, C> {
        let setup = env.setup;
        assert_eq!(
            setup.inputs.len(),
            setup.clients.len(),
            "exploration needs one list of inputs per client"
        );
        let n = setup.replicas.len();
        let mut world = World {
            replicas: (0..n)
                .map(|i| Rc::new(Proc::new(setup.seed, NodeId(i as u32))))
                .collect(),
            clients: (0..setup.clients.len())
                .map(|i| Rc::new(Proc::new(setup.seed, NodeId((n + i) as u32))))
                .collect(),
            flights: Vec::new(),
            net: 0,
            now: Time::ZERO,
            left: setup.budget,
            isolated: None,
            sends: 0,
            given: vec![0; setup.clients.len()],
            reported: vec![0; setup.clients.len()],
            history: Rc::new(Vec::new()),
            hist: 0,
        };
        for i in 0..n {
            world.boot_replica(env, i);
        }
        for i in 0..setup.clients.len() {
            let config = &setup.clients[i];
            let id = world.client_id(i);
            let fx = Rc::make_mut(&mut world.clients[i]).handle(
                id,
                Time::ZERO,
                &env.clock,
                |node, ctx| {
                    *node = Some(C::start(config, ctx));
                },
            );
            world.after_client(i, fx);
        }
        world.absorb(env, |_| {});
        world.refresh_history();
        world
    }

    fn client_id(&self, index: usize) -> NodeId {
        NodeId((self.replicas.len() + index) as u32)
    }

    fn boot_replica(&mut self, env: &Env<'_, R, C>, i: usize) {
        let config = &env.setup.replicas[i];
        let fx = Rc::make_mut(&mut self.replicas[i]).handle(
            NodeId(i as u32),
            self.now,
            &env.clock,
            |node, ctx| {
                *node = Some(R::start(config, ctx));
            },
        );
        self.after_replica(i, fx);
    }

    fn after_replica(&mut self, i: usize, mut fx: Effects<R>) {
        assert!(
            fx.outputs.is_empty(),
            "replica {i} reported outputs during exploration; only clients report"
        );
        Rc::make_mut(&mut self.replicas[i]).refresh();
        self.send_all(NodeId(i as u32), &mut fx.sends);
    }

    fn after_client(&mut self, i: usize, mut fx: Effects<C>) {
        for output in fx.outputs.drain(..) {
            assert!(
                self.reported[i] < self.given[i],
                "client {i} reported {output:?} with no operation in flight"
            );
            self.reported[i] += 1;
            Rc::make_mut(&mut self.history).push(Happened::Complete { client: i, output });
        }
        Rc::make_mut(&mut self.clients[i]).refresh();
        let id = self.client_id(i);
        self.send_all(id, &mut fx.sends);
    }

    fn send_all(&mut self, from: NodeId, sends: &mut Vec<(NodeId, R::Msg)>) {
        let processes = self.replicas.len() + self.clients.len();
        for (to, msg) in sends.drain(..) {
            assert!(
                to.index() < processes,
                "{from} sent {msg:?} to {to}, which does not exist ({processes} processes)"
            );
            if self.cut(from, to) {
                // Lost at the cut; it still had its send number.
                self.sends += 1;
                continue;
            }
            let fp = fingerprint(&(from, to, &msg));
            self.net = self.net.wrapping_add(fp);
            self.flights.push(Rc::new(Flight {
                from,
                to,
                msg,
                send: self.sends,
                fp,
            }));
            self.sends += 1;
        }
    }

    /// Whether a partition cuts the link from `from` to `to`.
    fn cut(&self, from: NodeId, to: NodeId) -> bool {
        from != to && self.isolated.is_some_and(|r| r == from || r == to)
    }

    /// The state's fingerprint: nodes, the multiset of messages in flight, the clock,
    /// the budget left and the history up to real-time equivalence.
    pub(crate) fn fingerprint(&self) -> Fp {
        let mut h = Fingerprinter::new();
        for p in &self.replicas {
            p.fp.hash(&mut h);
        }
        for p in &self.clients {
            p.fp.hash(&mut h);
        }
        self.net.hash(&mut h);
        self.now.hash(&mut h);
        self.left.hash(&mut h);
        self.isolated.hash(&mut h);
        self.hist.hash(&mut h);
        h.finish128()
    }

    /// The history's fingerprint up to real-time equivalence: per client, its
    /// operations in order, each with what it returned and how many operations of
    /// every client had completed when it was invoked. Two histories with the same
    /// fingerprint order their operations the same way in real time.
    fn refresh_history(&mut self) {
        let clients = self.clients.len();
        let mut done = vec![0u32; clients];
        let mut per_client: Vec<Fingerprinter> =
            (0..clients).map(|_| Fingerprinter::new()).collect();
        for event in self.history.iter() {
            match event {
                Happened::Invoke { client, input } => {
                    let h = &mut per_client[*client];
                    0u8.hash(h);
                    input.hash(h);
                    done.hash(h);
                }
                Happened::Complete { client, output } => {
                    let h = &mut per_client[*client];
                    1u8.hash(h);
                    output.hash(h);
                    done[*client] += 1;
                }
            }
        }
        let mut h = Fingerprinter::new();
        for p in &per_client {
            p.finish128().hash(&mut h);
        }
        self.hist = h.finish128();
    }

    pub(crate) fn history_fingerprint(&self) -> Fp {
        self.hist
    }

    /// Every move out of this state, in a fixed order: client inputs, deliveries,
    /// timer firings, then the faults the budget still allows.
    pub(crate) fn moves(&self, env: &Env<'_, R, C>, out: &mut Vec<Move>) {
        out.clear();
        for c in 0..self.clients.len() {
            if self.given[c] == self.reported[c] && self.given[c] < env.setup.inputs[c].len() {
                out.push(Move::Input(c));
            }
        }
        let distinct = self.distinct_flights();
        out.extend(distinct.iter().map(|&i| Move::Deliver(i)));
        if self.left.timer_firings > 0 {
            self.timer_moves(out);
        }
        if self.left.drops > 0 {
            out.extend(distinct.iter().map(|&i| Move::Drop(i)));
        }
        if self.left.duplicates > 0 {
            out.extend(distinct.iter().map(|&i| Move::Duplicate(i)));
        }
        for (i, p) in self.replicas.iter().enumerate() {
            match p.node {
                Some(_) if self.left.crashes > 0 => out.push(Move::Crash(i)),
                Some(_) => {}
                None => out.push(Move::Restart(i)),
            }
        }
        match self.isolated {
            Some(_) => out.push(Move::Heal),
            None if self.left.partitions > 0 => {
                out.extend((0..self.replicas.len()).map(Move::Isolate));
            }
            None => {}
        }
    }

    /// Indices of the flights, one per distinct message (copies are interchangeable).
    fn distinct_flights(&self) -> Vec<usize> {
        let mut seen: Vec<Fp> = Vec::with_capacity(self.flights.len());
        let mut out = Vec::with_capacity(self.flights.len());
        for (i, f) in self.flights.iter().enumerate() {
            if !seen.contains(&f.fp) {
                seen.push(f.fp);
                out.push(i);
            }
        }
        out
    }

    fn timer_moves(&self, out: &mut Vec<Move>) {
        for (i, p) in self.replicas.iter().enumerate() {
            out.extend((0..p.timers.len()).map(|t| Move::Fire(NodeId(i as u32), t)));
        }
        for (i, p) in self.clients.iter().enumerate() {
            let id = self.client_id(i);
            out.extend((0..p.timers.len()).map(|t| Move::Fire(id, t)));
        }
    }

    fn is_client(&self, node: NodeId) -> bool {
        node.index() >= self.replicas.len()
    }

    /// What `mv` touches (see [`Footprint`]).
    pub(crate) fn footprint(&self, mv: Move) -> Footprint {
        let local = |node: NodeId| Footprint {
            node,
            client: self.is_client(node),
            input: false,
            global: false,
        };
        match mv {
            Move::Input(c) => Footprint {
                input: true,
                ..local(self.client_id(c))
            },
            Move::Deliver(i) => local(self.flights[i].to),
            Move::Fire(node, _) => Footprint {
                global: true,
                ..local(node)
            },
            Move::Drop(i) | Move::Duplicate(i) => Footprint {
                global: true,
                ..local(self.flights[i].to)
            },
            Move::Crash(r) | Move::Restart(r) | Move::Isolate(r) => Footprint {
                global: true,
                ..local(NodeId(r as u32))
            },
            Move::Heal => Footprint {
                global: true,
                ..local(NodeId(0))
            },
        }
    }

    /// A name for `mv` that means the same transition in every state where it is
    /// enabled (what sleep sets hold). 64 bits: only the few transitions enabled in
    /// one state need telling apart.
    pub(crate) fn identity(&self, mv: Move) -> Tid {
        let fp = match mv {
            Move::Input(c) => fingerprint(&(0u8, c)),
            // Already a fingerprint: the low half names the delivery.
            Move::Deliver(i) => return self.flights[i].fp as u64,
            Move::Fire(node, t) => {
                let id = if self.is_client(node) {
                    self.clients[node.index() - self.replicas.len()].timers[t].id
                } else {
                    self.replicas[node.index()].timers[t].id
                };
                fingerprint(&(2u8, node, id))
            }
            Move::Drop(i) => fingerprint(&(3u8, self.flights[i].fp)),
            Move::Duplicate(i) => fingerprint(&(4u8, self.flights[i].fp)),
            Move::Crash(r) => fingerprint(&(5u8, r)),
            Move::Restart(r) => fingerprint(&(6u8, r)),
            Move::Isolate(r) => fingerprint(&(7u8, r)),
            Move::Heal => fingerprint(&8u8),
        };
        fp as u64
    }

    /// The move as a schedule step, named so that a replay finds it again.
    pub(crate) fn step(&self, mv: Move) -> Step {
        let flight = |i: usize| &self.flights[i];
        match mv {
            Move::Input(c) => Step::Input {
                client: self.client_id(c),
            },
            Move::Deliver(i) => Step::Deliver {
                send: flight(i).send,
                from: flight(i).from,
                to: flight(i).to,
            },
            Move::Fire(node, t) => Step::Fire {
                node,
                timer: if self.is_client(node) {
                    self.clients[node.index() - self.replicas.len()].timers[t].id
                } else {
                    self.replicas[node.index()].timers[t].id
                },
            },
            Move::Drop(i) => Step::Drop {
                send: flight(i).send,
                from: flight(i).from,
                to: flight(i).to,
            },
            Move::Duplicate(i) => Step::Duplicate {
                send: flight(i).send,
                from: flight(i).from,
                to: flight(i).to,
            },
            Move::Crash(r) => Step::Crash {
                node: NodeId(r as u32),
            },
            Move::Restart(r) => Step::Restart {
                node: NodeId(r as u32),
            },
            Move::Isolate(r) => Step::Isolate {
                node: NodeId(r as u32),
            },
            Move::Heal => Step::Heal,
        }
    }

    /// The move a schedule step names here, if it is enabled.
    pub(crate) fn find(&self, env: &Env<'_, R, C>, step: &Step) -> Option<Move> {
        // The send number names the message; its ends must be the ones the step says.
        let by_send = |send: u64, from: NodeId, to: NodeId| {
            self.flights
                .iter()
                .position(|f| f.send == send && f.from == from && f.to == to)
        };
        let up = |r: usize| self.replicas.get(r).map(|p| p.node.is_some());
        let left = self.left;
        match *step {
            Step::Input { client } => {
                let c = client.index().checked_sub(self.replicas.len())?;
                let idle = self.given.get(c)? == self.reported.get(c)?;
                (idle && self.given[c] < env.setup.inputs[c].len()).then_some(Move::Input(c))
            }
            Step::Deliver { send, from, to } => Some(Move::Deliver(by_send(send, from, to)?)),
            Step::Drop { send, from, to } if left.drops > 0 => {
                Some(Move::Drop(by_send(send, from, to)?))
            }
            Step::Duplicate { send, from, to } if left.duplicates > 0 => {
                Some(Move::Duplicate(by_send(send, from, to)?))
            }
            Step::Fire { node, timer } if left.timer_firings > 0 => {
                let t = if self.is_client(node) {
                    position_of(
                        &self.clients.get(node.index() - self.replicas.len())?.timers,
                        timer,
                    )?
                } else {
                    position_of(&self.replicas.get(node.index())?.timers, timer)?
                };
                Some(Move::Fire(node, t))
            }
            Step::Crash { node } if left.crashes > 0 && up(node.index())? => {
                Some(Move::Crash(node.index()))
            }
            Step::Restart { node } if !up(node.index())? => Some(Move::Restart(node.index())),
            Step::Isolate { node }
                if self.isolated.is_none()
                    && left.partitions > 0
                    && node.index() < self.replicas.len() =>
            {
                Some(Move::Isolate(node.index()))
            }
            Step::Heal if self.isolated.is_some() => Some(Move::Heal),
            _ => None,
        }
    }

    /// Takes the move. Returns whether a client reported an outcome.
    pub(crate) fn apply(&mut self, env: &Env<'_, R, C>, mv: Move) -> bool {
        self.apply_absorbing(env, mv, |_| {})
    }

    /// Takes the move, then takes out of flight every message its receiver ignores for
    /// good ([`Node::ignores`]), handing each to `absorbed`. Returns whether a client
    /// reported an outcome.
    pub(crate) fn apply_absorbing(
        &mut self,
        env: &Env<'_, R, C>,
        mv: Move,
        absorbed: impl FnMut(&Flight<R::Msg>),
    ) -> bool {
        let before = self.history.len();
        match mv {
            Move::Input(c) => self.input(env, c),
            Move::Deliver(i) => {
                let flight = self.take_flight(i);
                self.deliver(env, flight);
            }
            Move::Duplicate(i) => {
                self.left.duplicates -= 1;
                let flight = Flight::clone(&self.flights[i]);
                self.deliver(env, flight);
            }
            Move::Drop(i) => {
                self.left.drops -= 1;
                self.take_flight(i);
            }
            Move::Fire(node, t) => {
                self.left.timer_firings -= 1;
                self.fire(env, node, t);
            }
            Move::Crash(r) => {
                self.left.crashes -= 1;
                Rc::make_mut(&mut self.replicas[r]).crash();
            }
            Move::Restart(r) => self.boot_replica(env, r),
            Move::Isolate(r) => {
                self.left.partitions -= 1;
                self.isolate(NodeId(r as u32));
            }
            Move::Heal => self.isolated = None,
        }
        self.absorb(env, absorbed);
        let grew = self.history.len() > before;
        if grew {
            self.refresh_history();
        }
        self.history[before..]
            .iter()
            .any(|h| matches!(h, Happened::Complete { .. }))
    }

    /// Takes out of flight every message whose receiver, up, ignores it for good. A
    /// state with such a message in flight has the futures of the state without it:
    /// its delivery is a no-op wherever it comes, and a drop or duplicate of it only
    /// spends budget. Checked after every move, over every flight: a message becomes
    /// ignored only when its receiver changes, and stays so (the promise of
    /// [`Node::ignores`]), so which moves come first does not change what is absorbed.
    fn absorb(&mut self, env: &Env<'_, R, C>, mut absorbed: impl FnMut(&Flight<R::Msg>)) {
        if !env.absorbs() {
            return;
        }
        let mut i = 0;
        while i < self.flights.len() {
            let f = &self.flights[i];
            let ignored = if self.is_client(f.to) {
                self.clients[f.to.index() - self.replicas.len()].ignores(f)
            } else {
                self.replicas[f.to.index()].ignores(f)
            };
            if !ignored {
                i += 1;
                continue;
            }
            if cfg!(debug_assertions) {
                self.assert_no_op(env, f);
            }
            let f = self.flights.remove(i);
            self.net = self.net.wrapping_sub(f.fp);
            absorbed(&f);
        }
    }

    /// In debug builds: delivering a message its receiver says it ignores changes
    /// nothing now (the part of [`Node::ignores`]' promise that can be checked).
    fn assert_no_op(&self, env: &Env<'_, R, C>, f: &Flight<R::Msg>) {
        let (changed, sent) = if self.is_client(f.to) {
            let c = f.to.index() - self.replicas.len();
            self.clients[c].probe(f, self.now, &env.clock)
        } else {
            self.replicas[f.to.index()].probe(f, self.now, &env.clock)
        };
        assert!(
            !changed && !sent,
            "{} says it ignores {:?} from {} for good, but handling it now changes its \
             state: {changed}, or sends, sets or reports something: {sent}",
            f.to,
            f.msg,
            f.from
        );
    }

    /// Cuts `node` off: what is in flight to or from it is lost.
    fn isolate(&mut self, node: NodeId) {
        self.isolated = Some(node);
        let (lost, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.flights)
            .into_iter()
            .partition(|f| f.from != f.to && (f.from == node || f.to == node));
        for f in &lost {
            self.net = self.net.wrapping_sub(f.fp);
        }
        self.flights = kept;
    }

    fn take_flight(&mut self, i: usize) -> Flight<R::Msg> {
        let flight = self.flights.remove(i);
        self.net = self.net.wrapping_sub(flight.fp);
        Rc::try_unwrap(flight).unwrap_or_else(|shared| Flight::clone(&shared))
    }

    fn input(&mut self, env: &Env<'_, R, C>, c: usize) {
        let input = env.setup.inputs[c][self.given[c]].clone();
        self.given[c] += 1;
        Rc::make_mut(&mut self.history).push(Happened::Invoke {
            client: c,
            input: input.clone(),
        });
        let id = self.client_id(c);
        let fx =
            Rc::make_mut(&mut self.clients[c]).handle(id, self.now, &env.clock, |node, ctx| {
                if let Some(node) = node {
                    node.on_input(ctx, input);
                }
            });
        self.after_client(c, fx);
    }

    fn deliver(&mut self, env: &Env<'_, R, C>, flight: Flight<R::Msg>) {
        let Flight { from, to, msg, .. } = flight;
        if self.is_client(to) {
            let c = to.index() - self.replicas.len();
            let fx =
                Rc::make_mut(&mut self.clients[c]).receive(to, from, msg, self.now, &env.clock);
            self.after_client(c, fx);
        } else {
            let r = to.index();
            let fx =
                Rc::make_mut(&mut self.replicas[r]).receive(to, from, msg, self.now, &env.clock);
            self.after_replica(r, fx);
        }
    }

    fn fire(&mut self, env: &Env<'_, R, C>, node: NodeId, t: usize) {
        if self.is_client(node) {
            let c = node.index() - self.replicas.len();
            let (now, fx) = Rc::make_mut(&mut self.clients[c]).fire(node, t, self.now, &env.clock);
            self.now = now;
            self.after_client(c, fx);
        } else {
            let r = node.index();
            let (now, fx) = Rc::make_mut(&mut self.replicas[r]).fire(node, t, self.now, &env.clock);
            self.now = now;
            self.after_replica(r, fx);
        }
    }

    /// A line for people on what `mv` does here.
    pub(crate) fn describe(&self, mv: Move, env: &Env<'_, R, C>) -> String {
        match mv {
            Move::Input(c) => format!(
                "{} invokes {:?}",
                self.client_id(c),
                env.setup.inputs[c][self.given[c]]
            ),
            Move::Deliver(i) | Move::Drop(i) | Move::Duplicate(i) => {
                let f = &self.flights[i];
                let verb = match mv {
                    Move::Deliver(_) => "delivers",
                    Move::Drop(_) => "loses",
                    _ => "duplicates",
                };
                format!("{verb} send {} {} → {}: {:?}", f.send, f.from, f.to, f.msg)
            }
            Move::Fire(node, t) => {
                if self.is_client(node) {
                    let p = &self.clients[node.index() - self.replicas.len()].timers[t];
                    format!("{node} timer {:?} fires: {:?}", p.id, p.timer)
                } else {
                    let p = &self.replicas[node.index()].timers[t];
                    format!("{node} timer {:?} fires: {:?}", p.id, p.timer)
                }
            }
            Move::Crash(r) => format!("n{r} crashes"),
            Move::Restart(r) => format!("n{r} restarts"),
            Move::Isolate(r) => {
                format!(
                    "a partition cuts n{r} off from every other node (what is in flight to or from it is lost)"
                )
            }
            Move::Heal => "the partition heals".to_owned(),
        }
    }
}

/// What a move is, for a trace: its kind, node, other end, the send number of its
/// message, and the payload as text.
pub(crate) struct Traced {
    pub(crate) kind: crate::EventKind,
    pub(crate) node: Option<NodeId>,
    pub(crate) peer: Option<NodeId>,
    pub(crate) send: Option<u64>,
    pub(crate) detail: String,
}

impl<R: Explorable, C: Explorable<Msg = R::Msg>> World<R, C> {
    /// The fingerprint of `node`'s process (state, durable state, timers, random
    /// stream): what tells whether a step changed it.
    pub(crate) fn node_fingerprint(&self, node: NodeId) -> Fp {
        if self.is_client(node) {
            self.clients[node.index() - self.replicas.len()].fp
        } else {
            self.replicas[node.index()].fp
        }
    }

    /// How many replicas there are (clients come after them).
    pub(crate) fn replica_count(&self) -> usize {
        self.replicas.len()
    }

    /// Messages sent so far along this path: the next send's number.
    pub(crate) fn sends(&self) -> u64 {
        self.sends
    }

    /// `mv` as a trace event (the caller gives it its time).
    pub(crate) fn traced(&self, mv: Move, env: &Env<'_, R, C>) -> Traced {
        use crate::EventKind;
        let plain = |kind, node| Traced {
            kind,
            node: Some(node),
            peer: None,
            send: None,
            detail: String::new(),
        };
        match mv {
            Move::Input(c) => Traced {
                detail: format!("{:?}", env.setup.inputs[c][self.given[c]]),
                ..plain(EventKind::Input, self.client_id(c))
            },
            Move::Deliver(i) | Move::Drop(i) | Move::Duplicate(i) => {
                let f = &self.flights[i];
                let down = !self.is_client(f.to) && self.replicas[f.to.index()].node.is_none();
                let kind = match mv {
                    Move::Drop(_) => EventKind::DropLoss,
                    _ if down => EventKind::DropDown,
                    _ => EventKind::Deliver,
                };
                Traced { kind, ..f.traced() }
            }
            Move::Fire(node, _) => Traced {
                detail: self.describe(mv, env),
                ..plain(EventKind::Timer, node)
            },
            Move::Crash(r) => Traced {
                detail: format!("Crash {{ node: n{r} }}"),
                ..plain(EventKind::Fault, NodeId(r as u32))
            },
            Move::Restart(r) => plain(EventKind::Start, NodeId(r as u32)),
            Move::Isolate(r) => Traced {
                detail: format!("Isolate {{ node: n{r} }}"),
                ..plain(EventKind::Fault, NodeId(r as u32))
            },
            Move::Heal => Traced {
                node: None,
                detail: "HealAll".to_owned(),
                ..plain(EventKind::Fault, NodeId(0))
            },
        }
    }
}

fn position_of<T>(timers: &[Pending<T>], id: TimerId) -> Option<usize> {
    timers.iter().position(|p| p.id == id)
}
