//! The [`Node`] trait that users implement, and the [`Ctx`] their handlers act through.

use std::convert::Infallible;
use std::fmt::Debug;
use std::marker::PhantomData;

use crate::{Clock, Duration, NodeId, SimRng, Time, TimerId};

/// A process of a protocol: a state machine that does no I/O.
///
/// The simulator calls the `on_*` handlers one event at a time; a handler acts only
/// through its [`Ctx`]: it sends messages, sets and cancels timers, reads its own
/// (skewed, drifting) clock and random stream, writes durable state and reports
/// outputs to the world outside the network. Replicas and clients are both `Node`s;
/// clients share the replicas' message type, and receive operations as
/// [`Node::Input`] and report outcomes as [`Node::Output`].
///
/// A crash drops the value (all volatile state) and every pending timer; a restart
/// calls [`Node::start`] again, with [`Ctx::durable`] holding what was last synced.
///
/// # Example
///
/// A counter that counts the pings it receives, remembers the count across crashes
/// only when it syncs, and reports every count as an output:
///
/// ```
/// use std::convert::Infallible;
/// use sim_core::{Ctx, Node, NodeId};
///
/// #[derive(Debug)]
/// struct Counter;
///
/// impl Node for Counter {
///     type Config = ();
///     type Msg = ();
///     type Timer = Infallible;
///     type Durable = u64;
///     type Input = Infallible;
///     type Output = u64;
///
///     fn start(_config: &(), _ctx: &mut Ctx<'_, Self>) -> Self {
///         Counter
///     }
///
///     fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, _from: NodeId, _msg: ()) {
///         *ctx.durable_mut() += 1;
///         ctx.sync();
///         let count = *ctx.durable();
///         ctx.output(count);
///     }
/// }
/// ```
pub trait Node: Sized {
    /// What [`Node::start`] builds the node from (its peers, its parameters). The
    /// simulator keeps it and passes it again on every restart.
    type Config: Debug;
    /// Messages on the network.
    type Msg: Clone + Debug;
    /// The payload of a timer, handed back to [`Node::on_timer`].
    type Timer: Clone + Debug;
    /// State that survives a crash once synced ([`Ctx::sync`]). Make it cheap to
    /// clone (persistent collections such as `imbl`'s) if it is large: a sync clones it.
    type Durable: Clone + Debug + Default;
    /// Requests from outside the network (a workload's operations, for clients).
    /// Use [`Infallible`] for nodes that take none.
    type Input: Clone + Debug;
    /// Reports to outside the network (a client's outcomes). Use [`Infallible`] for
    /// nodes that report nothing.
    type Output: Clone + Debug;

    /// Boots the node, at the start of the run and on every restart after a crash.
    fn start(config: &Self::Config, ctx: &mut Ctx<'_, Self>) -> Self;

    /// A message from `from` arrived.
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Self::Msg);

    /// A timer set with [`Ctx::set_timer`] fired (it was not cancelled, and the node
    /// has not crashed since setting it). The default ignores it, for nodes that set
    /// no timers (declare `type Timer = Infallible;`).
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Self::Timer) {
        let _ = (ctx, timer);
    }

    /// A request from outside the network. The default ignores it; nodes that declare
    /// an `Input` other than [`Infallible`] override this.
    fn on_input(&mut self, ctx: &mut Ctx<'_, Self>, input: Self::Input) {
        let _ = (ctx, input);
    }

    /// What a node with a [`crate::Capacity`] whose queue is full sends back instead of
    /// handling `msg` from `from` (a cheap "busy, try later" reply, which costs no work
    /// and cannot change the node), or `None` to drop it silently (the default).
    fn refusal(&self, from: NodeId, msg: &Self::Msg) -> Option<Self::Msg> {
        let _ = (from, msg);
        None
    }

    /// Whether this node would ignore `msg` from `from` for good: handed it now, or at
    /// any later point whatever happens to the node meanwhile (restarts included), it
    /// would change nothing (state, durable state, timers, random stream) and send,
    /// set and report nothing. A late answer to a request already settled is the usual
    /// case. Only exploration asks ([`crate::explore`]): it takes such messages out of
    /// flight, because a state with one is the same, to every checker, as the state
    /// without it, and the states that differ only in where such messages are make up
    /// most of a space. Answer `true` only when it holds for good (a message the node
    /// would act on after some later step is not ignored); the default, `false`, is
    /// always right.
    fn ignores(&self, from: NodeId, msg: &Self::Msg) -> bool {
        let _ = (from, msg);
        false
    }

    /// How long `msg` may wait in the queue of a node with a [`crate::Capacity`]
    /// before it is not worth doing (its sender no longer waits for the answer), if it
    /// says: a capacity that sheds load drops it unserved once it has waited longer.
    /// The default: no deadline.
    fn deadline(msg: &Self::Msg) -> Option<Duration> {
        let _ = msg;
        None
    }

    /// Which bulkhead `msg` queues in on a node whose [`crate::Capacity`] has more
    /// than one (classes from the number of bulkheads up share the last). The
    /// default: class 0 for everything.
    fn class(msg: &Self::Msg) -> usize {
        let _ = msg;
        0
    }
}

/// Durable state, as the working copy and as last synced.
#[derive(Clone, Debug, Default, Hash)]
pub(crate) struct Durable<D> {
    pub(crate) current: D,
    pub(crate) synced: D,
    pub(crate) dirty: bool,
}

impl<D: Clone> Durable<D> {
    /// What a crash leaves: the synced copy; unsynced writes are gone.
    pub(crate) fn crash(&mut self) {
        if self.dirty {
            self.current = self.synced.clone();
            self.dirty = false;
        }
    }
}

/// What a handler asked for, applied by the simulator when the handler returns.
#[derive(Debug)]
pub(crate) struct Effects<N: Node> {
    pub(crate) sends: Vec<(NodeId, N::Msg)>,
    pub(crate) timers: Vec<(TimerId, Duration, N::Timer)>,
    pub(crate) outputs: Vec<N::Output>,
    /// The work the handler declared ([`Ctx::work`]), if it did.
    pub(crate) work: Option<Duration>,
}

impl<N: Node> Default for Effects<N> {
    fn default() -> Self {
        Effects {
            sends: Vec::new(),
            timers: Vec::new(),
            outputs: Vec::new(),
            work: None,
        }
    }
}

/// A process's pending timers (set, not fired, not cancelled), in id order.
///
/// A sorted vector: a node has a handful of timers pending, ids are handed out in
/// increasing order (so a new one goes at the end), and a timer fires or is cancelled
/// usually near the front; a search in a few contiguous words beats a tree's nodes.
#[derive(Clone, Debug, Default)]
pub(crate) struct LiveTimers(Vec<TimerId>);

impl LiveTimers {
    /// Adds `id`; it is newer than every id added before (asserted).
    #[inline]
    pub(crate) fn insert(&mut self, id: TimerId) {
        if let Some(&last) = self.0.last() {
            assert!(last < id, "timer {id:?} set after {last:?}: ids only grow");
        }
        self.0.push(id);
    }

    #[inline]
    pub(crate) fn contains(&self, id: TimerId) -> bool {
        self.0.binary_search(&id).is_ok()
    }

    /// Removes `id`; whether it was there.
    #[inline]
    pub(crate) fn remove(&mut self, id: TimerId) -> bool {
        match self.0.binary_search(&id) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

/// A node's handle on the world during one handler call.
///
/// Everything a handler does goes through here; nothing takes effect until the handler
/// returns, and all of it is deterministic given the run seed.
#[derive(Debug)]
pub struct Ctx<'a, N: Node> {
    pub(crate) id: NodeId,
    pub(crate) now: Time,
    pub(crate) clock: &'a Clock,
    pub(crate) rng: &'a mut SimRng,
    pub(crate) durable: &'a mut Durable<N::Durable>,
    pub(crate) live_timers: &'a mut LiveTimers,
    pub(crate) next_timer: &'a mut u64,
    pub(crate) effects: &'a mut Effects<N>,
    pub(crate) syncs: &'a mut u64,
}

impl<N: Node> Ctx<'_, N> {
    /// This node's id.
    #[inline]
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The node's local wall clock (like `SystemTime`): offset and drifting from true
    /// time as its faults say, and stepped back or forward by clock-jump faults. Use it
    /// for timestamps; to measure how long something took, use [`Ctx::monotonic`],
    /// which a jump does not move.
    #[inline]
    pub fn now(&self) -> Time {
        self.clock.local(self.now)
    }

    /// The node's monotonic clock (like `std::time::Instant`): it drifts with the
    /// node's clock but never jumps, so `monotonic() - earlier` is the time elapsed on
    /// this node. Like timers ([`Ctx::set_timer`]), no jump moves it. Its readings are comparable
    /// only within one boot of the node; do not keep them in durable state.
    #[inline]
    pub fn monotonic(&self) -> Time {
        self.clock.monotonic(self.now)
    }

    /// This node's own random stream (seeded from the run seed and the node's id; it
    /// continues across restarts).
    #[inline]
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng
    }

    /// Sends `msg` to `to`. The network decides its latency, and whether it is lost,
    /// duplicated or cut off by a partition.
    #[inline]
    pub fn send(&mut self, to: NodeId, msg: N::Msg) {
        self.effects.sends.push((to, msg));
    }

    /// Sets a timer that fires after `after` has passed **on this node's clock** (so a
    /// fast clock fires early in true time). Clock jumps do not move timers, as with a
    /// monotonic OS timer.
    pub fn set_timer(&mut self, after: Duration, timer: N::Timer) -> TimerId {
        let id = TimerId(*self.next_timer);
        *self.next_timer += 1;
        self.live_timers.insert(id);
        self.effects
            .timers
            .push((id, self.clock.true_span(after), timer));
        id
    }

    /// Cancels a timer. Returns whether it was still pending; cancelling a fired or
    /// cancelled timer is harmless.
    pub fn cancel_timer(&mut self, id: TimerId) -> bool {
        self.live_timers.remove(id)
    }

    /// The durable state: after a restart, what was last synced.
    pub fn durable(&self) -> &N::Durable {
        &self.durable.current
    }

    /// The durable state, to change. Changes are lost on a crash unless [`Ctx::sync`]
    /// is called before it.
    pub fn durable_mut(&mut self) -> &mut N::Durable {
        self.durable.dirty = true;
        &mut self.durable.current
    }

    /// Makes every durable write so far survive a crash (an `fsync`).
    pub fn sync(&mut self) {
        if self.durable.dirty {
            self.durable.synced = self.durable.current.clone();
            self.durable.dirty = false;
            *self.syncs += 1;
        }
    }

    /// Reports `output` to the world outside the network (for a client: an outcome).
    pub fn output(&mut self, output: N::Output) {
        self.effects.outputs.push(output);
    }

    /// Declares that this handler did `work`'s worth of work (its service time; calls
    /// add up). On a node with a [`crate::Capacity`], the node is busy that long (times
    /// any slowdown), what it sends leaves when the work is done, and what arrives
    /// meanwhile waits in its queue; a handler that declares nothing costs a draw from
    /// the capacity's service distribution (a timer's, nothing). No effect on a node
    /// without a capacity. A handler that sheds a request cheaply (say, one whose
    /// deadline has passed) declares the little it did.
    pub fn work(&mut self, work: Duration) {
        let so_far = self.effects.work.unwrap_or(Duration::ZERO);
        self.effects.work = Some(so_far.saturating_add(work));
    }
}

/// A node that does nothing: the client type of a simulation without clients.
#[derive(Debug)]
pub struct Idle<M>(PhantomData<M>);

impl<M: Clone + Debug> Node for Idle<M> {
    type Config = ();
    type Msg = M;
    type Timer = Infallible;
    type Durable = ();
    type Input = Infallible;
    type Output = Infallible;

    fn start(_config: &(), _ctx: &mut Ctx<'_, Self>) -> Self {
        Idle(PhantomData)
    }

    fn on_message(&mut self, _ctx: &mut Ctx<'_, Self>, _from: NodeId, _msg: M) {}

    fn on_timer(&mut self, _ctx: &mut Ctx<'_, Self>, timer: Infallible) {
        match timer {}
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::LiveTimers;
    use crate::TimerId;

    proptest! {
        /// Against a `BTreeSet`: the same answers to every insert (of a new, larger
        /// id), removal, lookup and clear.
        #[test]
        fn live_timers_behave_as_a_set(ops in proptest::collection::vec((0u8..4, 0u64..40), 0..200)) {
            let (mut live, mut model, mut next) = (LiveTimers::default(), BTreeSet::new(), 0);
            for (op, id) in ops {
                match op {
                    0 => {
                        next += 1 + id % 3;
                        live.insert(TimerId(next));
                        model.insert(TimerId(next));
                    }
                    1 => prop_assert_eq!(live.remove(TimerId(id)), model.remove(&TimerId(id))),
                    2 => prop_assert_eq!(live.contains(TimerId(id)), model.contains(&TimerId(id))),
                    _ if id == 0 => {
                        live.clear();
                        model.clear();
                    }
                    _ => {}
                }
                prop_assert_eq!(&live.0, &model.iter().copied().collect::<Vec<_>>());
            }
        }
    }
}
