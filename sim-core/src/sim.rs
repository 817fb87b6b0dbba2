//! The simulator: an event queue ordered by `(time, sequence)` and the loop that
//! delivers events to nodes, applies faults, and records the trace.

use std::collections::VecDeque;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::capacity::Work;
use crate::node::{Durable, Effects, LiveTimers};
use crate::observe::{Observation, Observed, Observer};
use crate::queue::Queue;
use crate::sched::Scheduler;
use crate::trace::TraceHash;
use crate::{
    Capacity, Clock, Ctx, DecisionLog, Duration, EventKind, Fault, FaultPlan, Idle, LinkConfig,
    Node, NodeId, PlanError, Purpose, SchedulerConfig, SimRng, Time, TimedFault, TimerId,
    TraceEvent,
};

/// Counters of a run, all deterministic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Events taken off the queue (including ones that were then dropped or skipped).
    pub events: u64,
    /// Messages handed to their target.
    pub deliveries: u64,
    /// Messages sent.
    pub sends: u64,
    /// Messages lost by their link.
    pub lost: u64,
    /// Extra deliveries scheduled by link duplication.
    pub duplicated: u64,
    /// Messages dropped because their link was cut at some moment of their flight.
    pub dropped_cut: u64,
    /// Messages and inputs that reached a node that was down.
    pub dropped_down: u64,
    /// Timers that fired.
    pub timers_fired: u64,
    /// Inputs handed to nodes.
    pub inputs: u64,
    /// Outputs reported by nodes.
    pub outputs: u64,
    /// Faults applied.
    pub faults: u64,
    /// Durable syncs that wrote something.
    pub syncs: u64,
    /// Node boots (first starts and restarts).
    pub boots: u64,
    /// With a replay scheduler: the send at which the log ran out, if it did.
    pub replay_exhausted_at: Option<u64>,
    /// Messages and inputs that waited in a busy node's queue ([`Capacity`]).
    pub queued: u64,
    /// Messages and inputs dropped because a node's queue was full.
    pub dropped_overload: u64,
    /// Of those, the ones answered with the node's refusal ([`Node::refusal`]).
    pub refused: u64,
    /// Messages and inputs a crash took with it: waiting in the queue of a node with
    /// a capacity, or sent by a handler whose work was not done.
    pub dropped_crash: u64,
    /// Messages dropped unserved by a node that sheds load, because they had waited
    /// longer than their deadline ([`Node::deadline`]).
    pub shed: u64,
}

/// An output a node reported, with when and who.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emitted<O> {
    /// True simulated time of the report.
    pub time: Time,
    /// The node that reported it.
    pub node: NodeId,
    /// What it reported.
    pub output: O,
}

/// Why a simulation could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A simulation needs at least one replica.
    #[error("a simulation needs at least one replica")]
    NoReplicas,
    /// Too many processes for the flat link tables.
    #[error("{0} processes is more than the supported 65,536")]
    TooManyProcesses(usize),
    /// The fault plan does not fit.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A parameter is out of range.
    #[error("{0}")]
    Invalid(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Up,
    Down,
    Paused,
}

/// One process's slot: its node (absent while down) and what outlives a crash.
struct Proc<N: Node> {
    config: N::Config,
    node: Option<N>,
    status: Status,
    durable: Durable<N::Durable>,
    clock: Clock,
    rng: SimRng,
    live_timers: LiveTimers,
    /// Handlers run and crashes so far: it moves whenever the node's state may have.
    changes: u64,
}

impl<N: Node> Proc<N> {
    fn new(seed: u64, id: NodeId, config: N::Config, clock: Clock) -> Proc<N> {
        Proc {
            config,
            node: None,
            status: Status::Down,
            durable: Durable::default(),
            clock,
            rng: SimRng::new(seed, Purpose::Process(id)),
            live_timers: LiveTimers::default(),
            changes: 0,
        }
    }

    /// Volatile state, pending timers and unsynced durable writes are gone.
    fn crash(&mut self) {
        self.changes += 1;
        self.node = None;
        self.status = Status::Down;
        self.live_timers.clear();
        self.durable.crash();
    }
}

// An eight-byte tag puts every field at an eight-byte offset, so the copies the
// compiler makes of an event (from its queue slot to the handler) are chunks that the
// fields' later reads lie wholly inside: with a four-byte tag, a delivery's `sent`
// straddled two of them and each read of it stalled (store forwarding failed). The
// kernel relay benchmark went from 19.95 to 20.3 M deliveries/s.
#[repr(u64)]
enum Event<R: Node, C: Node> {
    Start(NodeId),
    Deliver {
        source: NodeId,
        target: NodeId,
        sent: Time,
        msg: R::Msg,
    },
    ReplicaTimer(NodeId, TimerId, R::Timer),
    ClientTimer(NodeId, TimerId, C::Timer),
    ReplicaInput(NodeId, R::Input),
    ClientInput(NodeId, C::Input),
    Fault(usize),
    /// A node with a capacity is free again: it takes the next event from its queue.
    /// The number is its crash count then (a wake-up from before a crash is void).
    Serve(NodeId, u64),
    /// A node with a capacity finished the work of a handler: what it sent leaves.
    /// Its crash count then, and the batch in its outbox.
    Depart(NodeId, u64, u64),
}

impl<R: Node, C: Node> Event<R, C> {
    /// The process an event is for, if any.
    fn target(&self) -> Option<NodeId> {
        match *self {
            Event::Start(n)
            | Event::ReplicaTimer(n, ..)
            | Event::ClientTimer(n, ..)
            | Event::ReplicaInput(n, _)
            | Event::ClientInput(n, _)
            | Event::Serve(n, _)
            | Event::Depart(n, ..) => Some(n),
            Event::Deliver { target, .. } => Some(target),
            Event::Fault(_) => None,
        }
    }
}

/// A node's capacity bookkeeping, in the simulator's event and message types.
type NodeWork<R, C> = Work<Event<R, C>, <R as Node>::Msg>;

/// Builds a [`Sim`]. Every invariant is checked in [`SimBuilder::build`].
#[must_use]
pub struct SimBuilder<R: Node, C: Node<Msg = R::Msg> = Idle<<R as Node>::Msg>> {
    seed: u64,
    replicas: Vec<R::Config>,
    clients: Vec<C::Config>,
    link: LinkConfig,
    clocks: Vec<(NodeId, Clock)>,
    plan: FaultPlan,
    scheduler: SchedulerConfig,
    trace: bool,
    record_decisions: bool,
    observer: Option<Observer<R::Msg>>,
    replica_capacity: Option<Capacity>,
    capacities: Vec<(NodeId, Capacity)>,
}

impl<R: Node, C: Node<Msg = R::Msg>> fmt::Debug for SimBuilder<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimBuilder")
            .field("seed", &self.seed)
            .field("replicas", &self.replicas)
            .field("clients", &self.clients)
            .field("link", &self.link)
            .field("plan", &self.plan)
            .field("scheduler", &self.scheduler)
            .field("trace", &self.trace)
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl<R: Node, C: Node<Msg = R::Msg>> SimBuilder<R, C> {
    /// A builder for a run with seed `seed`.
    pub fn new(seed: u64) -> Self {
        SimBuilder {
            seed,
            replicas: Vec::new(),
            clients: Vec::new(),
            link: LinkConfig::default(),
            clocks: Vec::new(),
            plan: FaultPlan::default(),
            scheduler: SchedulerConfig::Random,
            trace: false,
            record_decisions: false,
            observer: None,
            replica_capacity: None,
            capacities: Vec::new(),
        }
    }

    /// Gives every replica `capacity`: it handles one message or input at a time, and
    /// what arrives while it is busy waits (see [`Capacity`]). Off by default.
    pub fn replica_capacity(mut self, capacity: Capacity) -> Self {
        self.replica_capacity = Some(capacity);
        self
    }

    /// Gives process `node` `capacity` (replica or client; after
    /// [`SimBuilder::replica_capacity`], this one wins for `node`).
    pub fn capacity(mut self, node: NodeId, capacity: Capacity) -> Self {
        self.capacities.push((node, capacity));
        self
    }

    /// Adds a replica (ids `n0, n1, …` in the order added).
    pub fn replica(mut self, config: R::Config) -> Self {
        self.replicas.push(config);
        self
    }

    /// Adds a client (ids after the replicas, in the order added).
    pub fn client(mut self, config: C::Config) -> Self {
        self.clients.push(config);
        self
    }

    /// The config of every link at the start (default: [`LinkConfig::default`]).
    pub fn links(mut self, config: LinkConfig) -> Self {
        self.link = config;
        self
    }

    /// The clock a process starts with (default: exact, no drift).
    pub fn clock(mut self, node: NodeId, clock: Clock) -> Self {
        self.clocks.push((node, clock));
        self
    }

    /// The faults to apply.
    pub fn plan(mut self, plan: FaultPlan) -> Self {
        self.plan = plan;
        self
    }

    /// The scheduler (default: random).
    pub fn scheduler(mut self, scheduler: SchedulerConfig) -> Self {
        self.scheduler = scheduler;
        self
    }

    /// Records the full trace (off by default; the trace hash is always on).
    pub fn trace(mut self, on: bool) -> Self {
        self.trace = on;
        self
    }

    /// Records every network decision, for replay with [`SchedulerConfig::Replay`].
    pub fn record_decisions(mut self, on: bool) -> Self {
        self.record_decisions = on;
        self
    }

    /// Hands `observer` every message sent and every message delivered, as it
    /// happens. It sees each by reference and cannot change the run: the trace hash
    /// is the same with it and without.
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use sim_core::{Observation, Sim};
    /// # use std::convert::Infallible;
    /// # use sim_core::{Ctx, Node, NodeId};
    /// # #[derive(Debug)]
    /// # struct Ping;
    /// # impl Node for Ping {
    /// #     type Config = ();
    /// #     type Msg = u32;
    /// #     type Timer = Infallible;
    /// #     type Durable = ();
    /// #     type Input = Infallible;
    /// #     type Output = Infallible;
    /// #     fn start(_: &(), ctx: &mut Ctx<'_, Self>) -> Self {
    /// #         if ctx.id() == NodeId(0) { ctx.send(NodeId(1), 7); }
    /// #         Ping
    /// #     }
    /// #     fn on_message(&mut self, _: &mut Ctx<'_, Self>, _: NodeId, _: u32) {}
    /// #     fn on_timer(&mut self, _: &mut Ctx<'_, Self>, t: Infallible) { match t {} }
    /// # }
    /// // Ping: node 0 sends node 1 the number 7 when it starts.
    /// let delivered = Rc::new(Cell::new(0));
    /// let seen = delivered.clone();
    /// let mut sim = Sim::<Ping>::builder(1)
    ///     .replica(())
    ///     .replica(())
    ///     .observer(move |o| {
    ///         if o.kind == Observation::Delivered {
    ///             seen.set(seen.get() + *o.msg);
    ///         }
    ///     })
    ///     .build()?;
    /// while sim.step() {}
    /// assert_eq!(delivered.get(), 7);
    /// # Ok::<(), sim_core::BuildError>(())
    /// ```
    pub fn observer(mut self, observer: impl FnMut(&Observed<'_, R::Msg>) + 'static) -> Self {
        self.observer = Some(Box::new(observer));
        self
    }

    /// Checks the configuration and builds the simulation, with every process due to
    /// start at time zero.
    pub fn build(self) -> Result<Sim<R, C>, BuildError> {
        let n = self.replicas.len() + self.clients.len();
        if self.replicas.is_empty() {
            return Err(BuildError::NoReplicas);
        }
        if n > 65_536 {
            return Err(BuildError::TooManyProcesses(n));
        }
        self.plan.validate(n)?;
        self.scheduler.validate().map_err(BuildError::Invalid)?;
        self.link.latency.validate().map_err(BuildError::Invalid)?;
        let clocks = build_clocks(n, &self.clocks)?;
        let seed = self.seed;
        let replica_count = self.replicas.len();
        let replicas: Vec<Proc<R>> = self
            .replicas
            .into_iter()
            .enumerate()
            .map(|(i, config)| Proc::new(seed, NodeId(i as u32), config, clocks[i]))
            .collect();
        let clients: Vec<Proc<C>> = self
            .clients
            .into_iter()
            .enumerate()
            .map(|(i, config)| {
                let id = replica_count + i;
                Proc::new(seed, NodeId(id as u32), config, clocks[id])
            })
            .collect();
        let work = build_work(
            n,
            replica_count,
            seed,
            self.replica_capacity,
            &self.capacities,
        )?;
        let mut scheduler_rng = SimRng::new(seed, Purpose::Scheduler);
        let mut sim = Sim {
            seed,
            now: Time::ZERO,
            seq: 0,
            queue: Queue::new(),
            replicas,
            clients,
            held: (0..n).map(|_| VecDeque::new()).collect(),
            network: crate::network::Network::new(n, self.link, seed),
            scheduler: Scheduler::new(self.scheduler, n, &mut scheduler_rng),
            faults: Vec::new(),
            replica_fx: Effects::default(),
            client_fx: Effects::default(),
            replica_outputs: Vec::new(),
            client_outputs: Vec::new(),
            trace: self.trace.then(Vec::new),
            hash: TraceHash::new(seed),
            decisions: self.record_decisions.then(DecisionLog::default),
            next_timer: 0,
            stats: Stats::default(),
            observer: self.observer,
            capacity_on: work.iter().any(Option::is_some),
            work,
        };
        for i in 0..n {
            sim.push(Time::ZERO, Event::Start(NodeId(i as u32)));
        }
        for TimedFault { at, fault } in self.plan.faults {
            sim.push_fault(at, fault);
        }
        Ok(sim)
    }
}

/// A deterministic simulation of replicas `R` and clients `C` on one network.
///
/// # Example
///
/// Five nodes that pass a token around; the same seed gives the same run:
///
/// ```
/// use std::convert::Infallible;
/// use sim_core::{Ctx, Node, NodeId, Sim, Time, Duration};
///
/// #[derive(Debug)]
/// struct Token;
/// impl Node for Token {
///     type Config = u32; // how many nodes
///     type Msg = ();
///     type Timer = Infallible;
///     type Durable = ();
///     type Input = Infallible;
///     type Output = Infallible;
///     fn start(_n: &u32, ctx: &mut Ctx<'_, Self>) -> Self {
///         if ctx.id() == NodeId(0) {
///             ctx.send(NodeId(1), ());
///         }
///         Token
///     }
///     fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, _from: NodeId, _msg: ()) {
///         let next = (ctx.id().0 + 1) % 5;
///         ctx.send(NodeId(next), ());
///     }
///     fn on_timer(&mut self, _ctx: &mut Ctx<'_, Self>, t: Infallible) {
///         match t {}
///     }
/// }
///
/// let run = |seed| -> Result<(u64, u64), sim_core::BuildError> {
///     let mut builder = Sim::<Token>::builder(seed);
///     for _ in 0..5 {
///         builder = builder.replica(5);
///     }
///     let mut sim = builder.build()?;
///     sim.run_until(Time::ZERO + Duration::from_secs(1));
///     Ok((sim.stats().deliveries, sim.trace_hash()))
/// };
/// assert_eq!(run(7)?, run(7)?);
/// assert_ne!(run(7)?.1, run(8)?.1);
/// # Ok::<(), sim_core::BuildError>(())
/// ```
pub struct Sim<R: Node, C: Node<Msg = R::Msg> = Idle<<R as Node>::Msg>> {
    seed: u64,
    now: Time,
    seq: u64,
    queue: Queue<Event<R, C>>,
    replicas: Vec<Proc<R>>,
    clients: Vec<Proc<C>>,
    /// Events that reached a paused process, per process, in arrival order.
    held: Vec<VecDeque<(Time, Event<R, C>)>>,
    network: crate::network::Network,
    scheduler: Scheduler,
    faults: Vec<Fault>,
    replica_fx: Effects<R>,
    client_fx: Effects<C>,
    replica_outputs: Vec<Emitted<R::Output>>,
    client_outputs: Vec<Emitted<C::Output>>,
    trace: Option<Vec<TraceEvent>>,
    hash: TraceHash,
    decisions: Option<DecisionLog>,
    next_timer: u64,
    stats: Stats,
    observer: Option<Observer<R::Msg>>,
    /// Per process, its capacity and what waits for it (`None`: infinite capacity).
    work: Vec<Option<NodeWork<R, C>>>,
    /// Whether any process has a capacity (so that runs without any skip it all).
    capacity_on: bool,
}

impl<R: Node, C: Node<Msg = R::Msg>> fmt::Debug for Sim<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("seed", &self.seed)
            .field("now", &self.now)
            .field("replicas", &self.replicas.len())
            .field("clients", &self.clients.len())
            .field("pending", &self.queue.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<R: Node> Sim<R> {
    /// A builder for a simulation of replicas only.
    pub fn builder(seed: u64) -> SimBuilder<R> {
        SimBuilder::new(seed)
    }
}

impl<R: Node, C: Node<Msg = R::Msg>> Sim<R, C> {
    /// A builder for a simulation with replicas `R` and clients `C`.
    pub fn with_clients(seed: u64) -> SimBuilder<R, C> {
        SimBuilder::new(seed)
    }

    /// The run seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// True simulated time: the time of the last event handled.
    pub fn now(&self) -> Time {
        self.now
    }

    /// The counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The 64-bit hash of every event so far.
    pub fn trace_hash(&self) -> u64 {
        self.hash.finish()
    }

    /// The full trace, if it was turned on.
    pub fn trace(&self) -> Option<&[TraceEvent]> {
        self.trace.as_deref()
    }

    /// Every network decision so far, if recording was turned on.
    pub fn decision_log(&self) -> Option<&DecisionLog> {
        self.decisions.as_ref()
    }

    /// The replicas' ids.
    pub fn replica_ids(&self) -> impl Iterator<Item = NodeId> + use<R, C> {
        (0..self.replicas.len() as u32).map(NodeId)
    }

    /// The clients' ids.
    pub fn client_ids(&self) -> impl Iterator<Item = NodeId> + use<R, C> {
        let first = self.replicas.len() as u32;
        (first..first + self.clients.len() as u32).map(NodeId)
    }

    /// Every process's id, replicas first.
    pub fn process_ids(&self) -> impl Iterator<Item = NodeId> + use<R, C> {
        (0..(self.replicas.len() + self.clients.len()) as u32).map(NodeId)
    }

    /// A replica's state, if it is up (or paused).
    pub fn replica(&self, id: NodeId) -> Option<&R> {
        self.replicas.get(id.index())?.node.as_ref()
    }

    /// How many times replica `id`'s state may have changed so far (handlers it ran,
    /// crashes): a replica whose count did not move since it was last looked at is as
    /// it was then.
    pub fn replica_changes(&self, id: NodeId) -> u64 {
        self.replicas[id.index()].changes
    }

    /// A client's state, if it is up (or paused).
    pub fn client(&self, id: NodeId) -> Option<&C> {
        let index = id.index().checked_sub(self.replicas.len())?;
        self.clients.get(index)?.node.as_ref()
    }

    /// How many messages and inputs wait in process `id`'s queue now (0 for a process
    /// without a [`Capacity`]).
    pub fn queue_len(&self, id: NodeId) -> usize {
        self.work[id.index()].as_ref().map_or(0, |w| w.len())
    }

    /// The longest process `id`'s queue has been so far (0 without a [`Capacity`]).
    pub fn longest_queue(&self, id: NodeId) -> usize {
        self.work[id.index()]
            .as_ref()
            .map_or(0, |w| w.longest_queue)
    }

    /// Whether a process is running (up and not paused).
    pub fn is_up(&self, id: NodeId) -> bool {
        self.status(id) == Status::Up
    }

    fn status(&self, id: NodeId) -> Status {
        match self.client_index(id) {
            None => self.replicas[id.index()].status,
            Some(i) => self.clients[i].status,
        }
    }

    /// A process's local clock reading now.
    pub fn local_time(&self, id: NodeId) -> Time {
        match self.client_index(id) {
            None => self.replicas[id.index()].clock.local(self.now),
            Some(i) => self.clients[i].clock.local(self.now),
        }
    }

    /// Whether the link `source → target` is cut by a partition now.
    pub fn link_is_cut(&self, source: NodeId, target: NodeId) -> bool {
        self.network.is_cut(source, target)
    }

    /// The time of the next pending event, if any.
    pub fn next_event_time(&self) -> Option<Time> {
        self.queue.peek_time().map(Time::from_nanos)
    }

    /// Hands `input` to client `id` at time `at` (not before now).
    ///
    /// # Panics
    /// If `id` is not a client or `at` is in the past.
    pub fn input_client(&mut self, id: NodeId, at: Time, input: C::Input) {
        assert!(
            self.client_index(id).is_some(),
            "input_client: {id} is not a client"
        );
        self.push(at, Event::ClientInput(id, input));
    }

    /// Hands `input` to replica `id` at time `at` (not before now).
    ///
    /// # Panics
    /// If `id` is not a replica or `at` is in the past.
    pub fn input_replica(&mut self, id: NodeId, at: Time, input: R::Input) {
        assert!(
            id.index() < self.replicas.len(),
            "input_replica: {id} is not a replica"
        );
        self.push(at, Event::ReplicaInput(id, input));
    }

    /// Schedules one more fault (for nemeses that decide as the run goes, such as
    /// isolating whoever leads).
    pub fn schedule_fault(&mut self, at: Time, fault: Fault) -> Result<(), PlanError> {
        let plan = FaultPlan {
            faults: vec![TimedFault {
                at,
                fault: fault.clone(),
            }],
        };
        plan.validate(self.replicas.len() + self.clients.len())?;
        self.push_fault(at.max(self.now), fault);
        Ok(())
    }

    /// Takes the clients' outputs reported so far.
    pub fn drain_client_outputs(&mut self) -> std::vec::Drain<'_, Emitted<C::Output>> {
        self.client_outputs.drain(..)
    }

    /// Takes the replicas' outputs reported so far.
    pub fn drain_replica_outputs(&mut self) -> std::vec::Drain<'_, Emitted<R::Output>> {
        self.replica_outputs.drain(..)
    }

    /// Handles the next event. Returns `false` if there was none.
    pub fn step(&mut self) -> bool {
        let Some((time, event)) = self.queue.pop() else {
            return false;
        };
        let time = Time::from_nanos(time);
        assert!(
            time >= self.now,
            "event at {time} popped after {}",
            self.now
        );
        self.now = time;
        self.stats.events += 1;
        self.handle(event);
        true
    }

    /// Handles every event up to and including `deadline`, then sets the time to it.
    pub fn run_until(&mut self, deadline: Time) {
        while self
            .queue
            .peek_time()
            .is_some_and(|t| t <= deadline.as_nanos())
        {
            self.step();
        }
        self.now = self.now.max(deadline);
    }

    /// Runs for `span` of simulated time from now.
    pub fn run_for(&mut self, span: Duration) {
        self.run_until(self.now.saturating_add(span));
    }

    /// Runs until `deliveries` messages in all have been delivered or nothing is left.
    pub fn run_deliveries(&mut self, deliveries: u64) {
        while self.stats.deliveries < deliveries && self.step() {}
    }

    fn client_index(&self, id: NodeId) -> Option<usize> {
        let total = self.replicas.len() + self.clients.len();
        assert!(
            id.index() < total,
            "{id} does not exist ({total} processes)"
        );
        id.index().checked_sub(self.replicas.len())
    }

    #[inline(always)]
    fn push(&mut self, at: Time, event: Event<R, C>) {
        assert!(
            at >= self.now,
            "event scheduled at {at}, before now ({})",
            self.now
        );
        let seq = self.seq;
        self.seq += 1;
        self.queue.push(at.as_nanos(), seq, event);
    }

    fn push_fault(&mut self, at: Time, fault: Fault) {
        self.faults.push(fault);
        self.push(at, Event::Fault(self.faults.len() - 1));
    }

    #[inline]
    fn record(
        &mut self,
        kind: EventKind,
        node: Option<NodeId>,
        peer: Option<NodeId>,
        sent: Option<Time>,
        detail: impl FnOnce() -> String,
    ) {
        let word = |n: Option<NodeId>| n.map_or(0, |n| u64::from(n.0) + 1);
        self.hash.event(self.now, kind, word(node), word(peer));
        if let Some(trace) = &mut self.trace {
            trace.push(TraceEvent {
                time: self.now,
                kind,
                node,
                peer,
                sent,
                detail: detail(),
            });
        }
    }

    #[inline]
    fn observe(&mut self, kind: Observation, link: (NodeId, NodeId), sent: Time, msg: &R::Msg) {
        if let Some(observer) = &mut self.observer {
            observer(&Observed {
                kind,
                time: self.now,
                sent,
                source: link.0,
                target: link.1,
                msg,
            });
        }
    }

    fn handle(&mut self, event: Event<R, C>) {
        match event {
            Event::Fault(index) => return self.apply_fault(index),
            // Start events are queued before any fault, so the process is still down.
            Event::Start(id) => return self.boot(id),
            // A cancelled timer, or one from before a crash, vanishes without a trace.
            Event::ReplicaTimer(id, timer_id, _)
                if !self.replicas[id.index()].live_timers.contains(timer_id) =>
            {
                return;
            }
            Event::ClientTimer(id, timer_id, _)
                if !self.clients[id.index() - self.replicas.len()]
                    .live_timers
                    .contains(timer_id) =>
            {
                return;
            }
            _ => {}
        }
        if let Event::Deliver {
            source,
            target,
            sent,
            ..
        } = event
        {
            if !self.network.passes(source, target, sent) {
                self.stats.dropped_cut += 1;
                self.record(
                    EventKind::DropCut,
                    Some(target),
                    Some(source),
                    Some(sent),
                    String::new,
                );
                return;
            }
        }
        let target = event.target().expect("every non-fault event has a target");
        match self.status(target) {
            // Without any capacity, nothing queues: straight to the handler.
            Status::Up if !self.capacity_on => self.dispatch(event),
            Status::Up => self.admit(event),
            Status::Paused => {
                let (peer, sent) = match event {
                    Event::Deliver { source, sent, .. } => (Some(source), Some(sent)),
                    _ => (None, None),
                };
                self.record(EventKind::Hold, Some(target), peer, sent, String::new);
                self.held[target.index()].push_back((self.now, event));
            }
            Status::Down => self.drop_for_down(event),
        }
    }

    fn drop_for_down(&mut self, event: Event<R, C>) {
        match event {
            Event::Deliver { .. } | Event::ReplicaInput(..) | Event::ClientInput(..) => {
                self.stats.dropped_down += 1;
                self.record_drop(EventKind::DropDown, &event);
            }
            // A down process has no live timers, nothing queued and nothing about to
            // leave: a crash cleared them.
            Event::ReplicaTimer(..)
            | Event::ClientTimer(..)
            | Event::Serve(..)
            | Event::Depart(..) => {}
            Event::Start(_) | Event::Fault(_) => {
                unreachable!("starts, faults and wake-ups are handled before dispatch")
            }
        }
    }

    /// Records that a message or input was dropped, as `kind`.
    fn record_drop(&mut self, kind: EventKind, event: &Event<R, C>) {
        match event {
            Event::Deliver {
                source,
                target,
                sent,
                msg,
            } => self.record(kind, Some(*target), Some(*source), Some(*sent), || {
                format!("{msg:?}")
            }),
            Event::ReplicaInput(id, input) => {
                self.record(kind, Some(*id), None, None, || format!("{input:?}"));
            }
            Event::ClientInput(id, input) => {
                self.record(kind, Some(*id), None, None, || format!("{input:?}"));
            }
            _ => unreachable!("only messages and inputs are dropped"),
        }
    }

    /// Hands an event that arrives now to its running process ([`Sim::admit_at`]).
    fn admit(&mut self, event: Event<R, C>) {
        self.admit_at(self.now, event);
    }

    /// Hands an event to its running process now, or, for a message or input to a busy
    /// node with a [`Capacity`], queues it (or, if the queue is full, drops or refuses
    /// it). It `arrived` then (earlier than now if a pause held it): a node that sheds
    /// load drops, unserved, a message that has waited past its deadline since.
    fn admit_at(&mut self, arrived: Time, event: Event<R, C>) {
        match event {
            Event::Serve(id, epoch) => return self.serve_next(id, epoch),
            Event::Depart(id, epoch, batch) => return self.depart(id, epoch, batch),
            _ => {}
        }
        if !matches!(event, Event::ReplicaTimer(..) | Event::ClientTimer(..)) {
            let target = event.target().expect("messages and inputs have a target");
            if let Some(work) = &self.work[target.index()] {
                // Held by a pause past its deadline: it takes no place in the queue.
                if work.capacity.shed && self.expired(&event, arrived) {
                    return self.shed(&event);
                }
                if work.len() == 0 && work.busy_until <= self.now {
                    return self.dispatch(event);
                }
                let queue = match work.bulkheads() {
                    1 => 0,
                    _ => work.class_queue(self.class_of(&event)),
                };
                if work.is_full(queue) {
                    return self.overflow(event);
                }
                return self.enqueue(target, queue, (arrived, event));
            }
        }
        self.dispatch(event);
    }

    /// The bulkhead class of a message ([`Node::class`]); inputs are of class 0.
    fn class_of(&self, event: &Event<R, C>) -> usize {
        match event {
            Event::Deliver { target, msg, .. } => match self.client_index(*target) {
                None => R::class(msg),
                Some(_) => C::class(msg),
            },
            _ => 0,
        }
    }

    /// Whether `event`, which joined its node's queue at `queued`, has waited longer
    /// than its deadline ([`Node::deadline`]) on a node that sheds load.
    fn expired(&self, event: &Event<R, C>, queued: Time) -> bool {
        let Event::Deliver { target, msg, .. } = event else {
            return false;
        };
        let deadline = match self.client_index(*target) {
            None => R::deadline(msg),
            Some(_) => C::deadline(msg),
        };
        deadline.is_some_and(|d| self.now.saturating_since(queued) > d)
    }

    /// Puts a message or input in its busy node's queue, and makes sure the node wakes
    /// up to serve it.
    fn enqueue(&mut self, target: NodeId, queue: usize, (arrived, event): (Time, Event<R, C>)) {
        let (peer, sent) = match event {
            Event::Deliver { source, sent, .. } => (Some(source), Some(sent)),
            _ => (None, None),
        };
        self.stats.queued += 1;
        self.record(EventKind::Queue, Some(target), peer, sent, String::new);
        let now = self.now;
        let work = self.work[target.index()]
            .as_mut()
            .expect("only nodes with a capacity queue");
        work.push(queue, arrived, event);
        if work.len() == 1 {
            let (at, epoch) = (work.busy_until.max(now), work.epoch);
            self.push(at, Event::Serve(target, epoch));
        }
    }

    /// A message whose deadline passed while it waited is dropped unserved.
    fn shed(&mut self, event: &Event<R, C>) {
        self.stats.shed += 1;
        self.record_drop(EventKind::Shed, event);
    }

    /// A node's queue was full: the message is dropped, or answered with the node's
    /// refusal if it has one; an input is dropped.
    fn overflow(&mut self, event: Event<R, C>) {
        self.stats.dropped_overload += 1;
        self.record_drop(EventKind::DropOverload, &event);
        let Event::Deliver {
            source,
            target,
            msg,
            ..
        } = event
        else {
            return;
        };
        let refusal = match self.client_index(target) {
            None => self.replicas[target.index()]
                .node
                .as_ref()
                .and_then(|n| n.refusal(source, &msg)),
            Some(i) => self.clients[i]
                .node
                .as_ref()
                .and_then(|n| n.refusal(source, &msg)),
        };
        if let Some(reply) = refusal {
            self.stats.refused += 1;
            self.send_all(target, &mut vec![(source, reply)]);
        }
    }

    /// A running node with a capacity is free: it serves the next event in its queue
    /// (unless the wake-up is from before a crash, or a timer's work keeps it busy a
    /// while longer).
    fn serve_next(&mut self, id: NodeId, epoch: u64) {
        let now = self.now;
        let work = self.work[id.index()]
            .as_mut()
            .expect("only nodes with a capacity are woken");
        if work.epoch != epoch || work.len() == 0 {
            return;
        }
        if work.busy_until > now {
            let at = work.busy_until;
            return self.push(at, Event::Serve(id, epoch));
        }
        let shed = work.capacity.shed;
        while let Some((class, queued, event)) = self.work[id.index()]
            .as_mut()
            .expect("still has a capacity")
            .pop()
        {
            if shed && self.expired(&event, queued) {
                // The class keeps its turn: its next message is next.
                self.shed(&event);
                continue;
            }
            self.work[id.index()]
                .as_mut()
                .expect("still has a capacity")
                .served(class);
            self.dispatch(event);
            break;
        }
        let work = self.work[id.index()]
            .as_ref()
            .expect("still has a capacity");
        if work.len() > 0 {
            let at = work.busy_until.max(now);
            self.push(at, Event::Serve(id, epoch));
        }
    }

    /// A running node with a capacity finished a handler's work: what it sent leaves
    /// (unless the node crashed since).
    fn depart(&mut self, id: NodeId, epoch: u64, batch: u64) {
        let work = self.work[id.index()]
            .as_mut()
            .expect("only nodes with a capacity hold messages back");
        if work.epoch != epoch {
            return;
        }
        let due = work.outbox.get(&batch).expect("each batch leaves once").0;
        if due > self.now {
            // A pause put the end of the work off.
            return self.push(due, Event::Depart(id, epoch, batch));
        }
        let (_, mut sends) = work.outbox.remove(&batch).expect("each batch leaves once");
        self.send_all(id, &mut sends);
    }

    /// Accounts for a handler's work on a node with a capacity (see [`Capacity`]) and
    /// returns when what it sent leaves: now plus its service time (now, without a
    /// capacity). A request (message or input) starts on an idle node; the work a timer
    /// or boot declares starts when the node is free, after what it was doing.
    fn finish_work(&mut self, id: NodeId, declared: Option<Duration>, request: bool) -> Time {
        let now = self.now;
        let Some(work) = self.work[id.index()].as_mut() else {
            return now;
        };
        let service = work.service_time(declared, !request);
        if request {
            assert!(
                work.busy_until <= now,
                "{id} started a request at {now} while busy until {}",
                work.busy_until
            );
            work.busy_until = now + service;
            now + service
        } else if service == Duration::ZERO {
            now
        } else {
            work.busy_until = work.busy_until.max(now) + service;
            work.busy_until
        }
    }

    /// Hands an event to its (running) process.
    fn dispatch(&mut self, event: Event<R, C>) {
        match event {
            Event::Deliver {
                source,
                target,
                sent,
                msg,
            } => {
                self.stats.deliveries += 1;
                self.record(
                    EventKind::Deliver,
                    Some(target),
                    Some(source),
                    Some(sent),
                    || format!("{msg:?}"),
                );
                self.observe(Observation::Delivered, (source, target), sent, &msg);
                match self.client_index(target) {
                    None => {
                        self.call_replica(target, true, |n, ctx| n.on_message(ctx, source, msg));
                    }
                    Some(_) => {
                        self.call_client(target, true, |n, ctx| n.on_message(ctx, source, msg));
                    }
                }
            }
            Event::ReplicaTimer(id, timer_id, timer) => {
                if self.replicas[id.index()].live_timers.remove(timer_id) {
                    self.stats.timers_fired += 1;
                    self.record(EventKind::Timer, Some(id), None, None, || {
                        format!("{timer:?}")
                    });
                    self.call_replica(id, false, |n, ctx| n.on_timer(ctx, timer));
                }
            }
            Event::ClientTimer(id, timer_id, timer) => {
                let index = id.index() - self.replicas.len();
                if self.clients[index].live_timers.remove(timer_id) {
                    self.stats.timers_fired += 1;
                    self.record(EventKind::Timer, Some(id), None, None, || {
                        format!("{timer:?}")
                    });
                    self.call_client(id, false, |n, ctx| n.on_timer(ctx, timer));
                }
            }
            Event::ReplicaInput(id, input) => {
                self.stats.inputs += 1;
                self.record(EventKind::Input, Some(id), None, None, || {
                    format!("{input:?}")
                });
                self.call_replica(id, true, |n, ctx| n.on_input(ctx, input));
            }
            Event::ClientInput(id, input) => {
                self.stats.inputs += 1;
                self.record(EventKind::Input, Some(id), None, None, || {
                    format!("{input:?}")
                });
                self.call_client(id, true, |n, ctx| n.on_input(ctx, input));
            }
            Event::Start(_) | Event::Fault(_) | Event::Serve(..) | Event::Depart(..) => {
                unreachable!("starts, faults and wake-ups are handled before dispatch")
            }
        }
    }

    /// Runs a handler of replica `id` (`request`: for a message or input, which costs
    /// service time on a node with a capacity) and applies its effects.
    fn call_replica(&mut self, id: NodeId, request: bool, f: impl FnOnce(&mut R, &mut Ctx<'_, R>)) {
        let proc = &mut self.replicas[id.index()];
        with_ctx(
            id,
            self.now,
            proc,
            &mut self.next_timer,
            &mut self.replica_fx,
            &mut self.stats.syncs,
            |node, _, ctx| {
                f(node.as_mut().expect("a running replica has a node"), ctx);
            },
        );
        self.apply_replica_effects(id, request);
    }

    /// [`Sim::call_replica`], for a client.
    fn call_client(&mut self, id: NodeId, request: bool, f: impl FnOnce(&mut C, &mut Ctx<'_, C>)) {
        let proc = &mut self.clients[id.index() - self.replicas.len()];
        with_ctx(
            id,
            self.now,
            proc,
            &mut self.next_timer,
            &mut self.client_fx,
            &mut self.stats.syncs,
            |node, _, ctx| {
                f(node.as_mut().expect("a running client has a node"), ctx);
            },
        );
        self.apply_client_effects(id, request);
    }

    fn boot(&mut self, id: NodeId) {
        self.stats.boots += 1;
        self.record(EventKind::Start, Some(id), None, None, String::new);
        match self.client_index(id) {
            None => {
                let proc = &mut self.replicas[id.index()];
                assert_eq!(proc.status, Status::Down, "booting {id}, which is not down");
                with_ctx(
                    id,
                    self.now,
                    proc,
                    &mut self.next_timer,
                    &mut self.replica_fx,
                    &mut self.stats.syncs,
                    |node, config, ctx| {
                        *node = Some(R::start(config, ctx));
                    },
                );
                proc.status = Status::Up;
                self.apply_replica_effects(id, false);
            }
            Some(index) => {
                let proc = &mut self.clients[index];
                assert_eq!(proc.status, Status::Down, "booting {id}, which is not down");
                with_ctx(
                    id,
                    self.now,
                    proc,
                    &mut self.next_timer,
                    &mut self.client_fx,
                    &mut self.stats.syncs,
                    |node, config, ctx| {
                        *node = Some(C::start(config, ctx));
                    },
                );
                proc.status = Status::Up;
                self.apply_client_effects(id, false);
            }
        }
    }

    fn apply_replica_effects(&mut self, id: NodeId, request: bool) {
        self.apply_node_effects(
            id,
            request,
            |sim| &mut sim.replica_fx,
            Event::ReplicaTimer,
            |sim, emitted| sim.replica_outputs.push(emitted),
        );
    }

    fn apply_client_effects(&mut self, id: NodeId, request: bool) {
        self.apply_node_effects(
            id,
            request,
            |sim| &mut sim.client_fx,
            Event::ClientTimer,
            |sim, emitted| sim.client_outputs.push(emitted),
        );
    }

    /// [`Sim::apply_effects`] on the effects `fx` picks out (the replicas' or the
    /// clients'), moved out for the call and back.
    #[inline]
    fn apply_node_effects<N: Node<Msg = R::Msg>>(
        &mut self,
        id: NodeId,
        request: bool,
        fx: fn(&mut Self) -> &mut Effects<N>,
        timer_event: fn(NodeId, TimerId, N::Timer) -> Event<R, C>,
        report: fn(&mut Self, Emitted<N::Output>),
    ) {
        let capacity_on = self.capacity_on;
        let effects = fx(self);
        if !capacity_on && effects.timers.is_empty() && effects.outputs.is_empty() {
            // The common handler only sends: move just its sends out and back.
            let mut sends = std::mem::take(&mut effects.sends);
            self.send_all(id, &mut sends);
            fx(self).sends = sends;
            return;
        }
        let mut effects = std::mem::take(fx(self));
        self.apply_effects(id, request, &mut effects, timer_event, report);
        *fx(self) = effects;
    }

    /// Queues a handler's timers, reports its outputs, and sends its messages (when
    /// its work is done, on a node with a capacity; `request`: the handler was for a
    /// message or input), in that order. Replicas and clients differ only in the event
    /// a timer becomes and the list an output goes to.
    fn apply_effects<N: Node<Msg = R::Msg>>(
        &mut self,
        id: NodeId,
        request: bool,
        effects: &mut Effects<N>,
        timer_event: fn(NodeId, TimerId, N::Timer) -> Event<R, C>,
        report: fn(&mut Self, Emitted<N::Output>),
    ) {
        for (timer_id, after, timer) in effects.timers.drain(..) {
            self.push(self.now + after, timer_event(id, timer_id, timer));
        }
        for output in effects.outputs.drain(..) {
            self.stats.outputs += 1;
            self.record(EventKind::Output, Some(id), None, None, || {
                format!("{output:?}")
            });
            let emitted = Emitted {
                time: self.now,
                node: id,
                output,
            };
            report(self, emitted);
        }
        if self.capacity_on {
            // (Without any capacity, declared work is never read: it costs nothing.)
            let declared = effects.work.take();
            self.send_after_work(id, request, declared, &mut effects.sends);
        } else {
            self.send_all(id, &mut effects.sends);
        }
    }

    /// Sends a handler's messages when its work is done: now on a node without a
    /// capacity or for work that took no time; else from the node's outbox when the
    /// work ends (a crash before then loses them).
    fn send_after_work(
        &mut self,
        id: NodeId,
        request: bool,
        declared: Option<Duration>,
        sends: &mut Vec<(NodeId, R::Msg)>,
    ) {
        let depart = self.finish_work(id, declared, request);
        if depart == self.now || sends.is_empty() {
            return self.send_all(id, sends);
        }
        let work = self.work[id.index()]
            .as_mut()
            .expect("only a node with a capacity works for a while");
        let batch = work.next_batch;
        work.next_batch += 1;
        work.outbox.insert(batch, (depart, std::mem::take(sends)));
        let epoch = work.epoch;
        self.push(depart, Event::Depart(id, epoch, batch));
    }

    /// Puts each message on the network, where the scheduler decides its fate.
    #[inline]
    fn send_all(&mut self, source: NodeId, sends: &mut Vec<(NodeId, R::Msg)>) {
        let processes = self.replicas.len() + self.clients.len();
        for (target, msg) in sends.drain(..) {
            assert!(
                target.index() < processes,
                "{source} sent {msg:?} to {target}, which does not exist ({processes} processes)"
            );
            let (link, rng) = self.network.link_and_rng(source, target);
            let decision =
                self.scheduler
                    .decide(source, link, rng, &mut self.stats.replay_exhausted_at);
            if let Some(log) = &mut self.decisions {
                log.decisions.push(decision);
            }
            self.stats.sends += 1;
            self.observe(Observation::Sent, (source, target), self.now, &msg);
            if decision.lost {
                self.stats.lost += 1;
                self.record(
                    EventKind::DropLoss,
                    Some(target),
                    Some(source),
                    Some(self.now),
                    || format!("{msg:?}"),
                );
                continue;
            }
            let sent = self.now;
            if let Some(extra) = decision.duplicate {
                self.stats.duplicated += 1;
                let copy = msg.clone();
                self.push(
                    sent + extra,
                    Event::Deliver {
                        source,
                        target,
                        sent,
                        msg: copy,
                    },
                );
            }
            self.push(
                sent + decision.delay,
                Event::Deliver {
                    source,
                    target,
                    sent,
                    msg,
                },
            );
        }
    }

    fn apply_fault(&mut self, index: usize) {
        let fault = self.faults[index].clone();
        self.stats.faults += 1;
        self.record(EventKind::Fault, None, None, None, || format!("{fault:?}"));
        match fault {
            Fault::Crash { node } => self.crash(node),
            Fault::Restart { node } => {
                if self.status(node) != Status::Down {
                    self.crash(node);
                }
                self.boot(node);
            }
            Fault::Pause { node } => {
                if self.status(node) == Status::Up {
                    self.set_status(node, Status::Paused);
                    if let Some(work) = self.work[node.index()].as_mut() {
                        work.paused_at = Some(self.now);
                    }
                }
            }
            Fault::Resume { node } => self.resume(node),
            Fault::Partition(p) => self.network.apply_cut(&p, self.now),
            Fault::Heal(p) => self.network.heal(&p),
            Fault::HealAll => self.network.heal_all(),
            Fault::ClockJump { node, delta_ns } => {
                let now = self.now;
                self.clock_mut(node).jump(now, delta_ns);
            }
            Fault::ClockDrift { node, drift_ppm } => {
                let now = self.now;
                self.clock_mut(node).set_drift(now, drift_ppm);
            }
            Fault::AllLinks(config) => self.network.set_all_links(config),
            Fault::Link {
                source,
                target,
                config,
            } => self.network.set_link(source, target, config),
            Fault::Slowdown { node, factor } => {
                if let Some(work) = self.work[node.index()].as_mut() {
                    work.slowdown = factor;
                }
            }
            // The workload's: the scenario drew its arrivals from the plan.
            Fault::Surge { .. } => {}
        }
    }

    fn crash(&mut self, id: NodeId) {
        self.held[id.index()].clear();
        if let Some(work) = self.work[id.index()].as_mut() {
            self.stats.dropped_crash += work.crash(self.now);
        }
        match self.client_index(id) {
            None => self.replicas[id.index()].crash(),
            Some(i) => self.clients[i].crash(),
        }
    }

    fn resume(&mut self, id: NodeId) {
        if self.status(id) != Status::Paused {
            return;
        }
        self.set_status(id, Status::Up);
        if let Some(work) = self.work[id.index()].as_mut() {
            work.resume(self.now);
        }
        // What arrived during the pause is handled now, in arrival order (on a node
        // with a capacity: it joins the queue). A handler cannot crash or pause its own
        // node, so the node stays up throughout.
        while let Some((arrived, event)) = self.held[id.index()].pop_front() {
            self.admit_at(arrived, event);
        }
    }

    fn set_status(&mut self, id: NodeId, status: Status) {
        match self.client_index(id) {
            None => self.replicas[id.index()].status = status,
            Some(i) => self.clients[i].status = status,
        }
    }

    fn clock_mut(&mut self, id: NodeId) -> &mut Clock {
        match self.client_index(id) {
            None => &mut self.replicas[id.index()].clock,
            Some(i) => &mut self.clients[i].clock,
        }
    }
}

/// Per process, its clock: exact unless `given`.
fn build_clocks(processes: usize, given: &[(NodeId, Clock)]) -> Result<Vec<Clock>, BuildError> {
    let mut clocks = vec![Clock::default(); processes];
    for &(node, clock) in given {
        let slot = clocks.get_mut(node.index()).ok_or_else(|| {
            BuildError::Invalid(format!("clock for {node}, which does not exist"))
        })?;
        *slot = clock;
    }
    Ok(clocks)
}

/// Per process, its capacity's bookkeeping: `all` for every replica, then `each` for
/// the nodes it names; every capacity checked.
fn build_work<E, M>(
    processes: usize,
    replicas: usize,
    seed: u64,
    all: Option<Capacity>,
    each: &[(NodeId, Capacity)],
) -> Result<Vec<Option<Work<E, M>>>, BuildError> {
    let mut capacities: Vec<Option<Capacity>> = (0..processes)
        .map(|i| if i < replicas { all } else { None })
        .collect();
    for &(node, capacity) in each {
        let slot = capacities.get_mut(node.index()).ok_or_else(|| {
            BuildError::Invalid(format!("capacity for {node}, which does not exist"))
        })?;
        *slot = Some(capacity);
    }
    capacities
        .into_iter()
        .enumerate()
        .map(|(i, capacity)| {
            capacity
                .map(|c| {
                    let id = NodeId(i as u32);
                    c.validate()
                        .map_err(|e| BuildError::Invalid(format!("capacity of {id}: {e}")))?;
                    Ok(Work::new(c, SimRng::new(seed, Purpose::Service(id))))
                })
                .transpose()
        })
        .collect()
}

/// Runs `f` on process `id`'s node slot and config with a context for it: the one place
/// a [`Ctx`] is put together, for replicas and clients, boots and handlers alike.
fn with_ctx<N: Node>(
    id: NodeId,
    now: Time,
    proc: &mut Proc<N>,
    next_timer: &mut u64,
    effects: &mut Effects<N>,
    syncs: &mut u64,
    f: impl FnOnce(&mut Option<N>, &N::Config, &mut Ctx<'_, N>),
) {
    proc.changes += 1;
    let mut ctx = Ctx {
        id,
        now,
        clock: &proc.clock,
        rng: &mut proc.rng,
        durable: &mut proc.durable,
        live_timers: &mut proc.live_timers,
        next_timer,
        effects,
        syncs,
    };
    f(&mut proc.node, &proc.config, &mut ctx);
}
