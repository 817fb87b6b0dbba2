//! Work and capacity: how long a node takes to handle what reaches it, and what waits.
//!
//! By default a node has infinite capacity: a handler costs no simulated time, so no
//! amount of load can overload it. A node given a [`Capacity`] handles one message or
//! input at a time:
//!
//! - handling one takes a *service time*: what the handler declares with
//!   [`Ctx::work`](crate::Ctx::work), or else a draw from the capacity's
//!   [`Capacity::service`] distribution (from the node's own stream,
//!   [`Purpose::Service`](crate::Purpose::Service)), times any
//!   [`Fault::Slowdown`](crate::Fault::Slowdown) in force;
//! - the handler runs when service starts (it sees the state as it is then), and the
//!   messages it sends leave when service ends (a crash before then loses them; a
//!   pause holds them until it ends);
//! - what arrives while the node is busy waits in a FIFO queue of at most
//!   [`Capacity::queue_bound`] entries; what arrives to a full queue overflows: the
//!   kernel sends the sender the node's [`Node::refusal`](crate::Node::refusal) if it
//!   has one (a cheap "busy" reply, costing no work), and drops it otherwise;
//! - timers are the node's own housekeeping: they fire on time, even while it is busy,
//!   and cost only the work their handler declares (none by default); declared work
//!   starts when the node is free (after the request in service), its messages leave
//!   when it ends, and what waits waits for it too;
//! - a crash loses the queue and what had not left yet (it was in the process's
//!   memory; [`crate::Stats::dropped_crash`] counts it); a pause stops the work in
//!   hand (it ends as much later as the pause lasted) and holds what arrives, which
//!   joins the queue in arrival order on resume.
//!
//! Nothing here runs for a node without a capacity, so a run without any has the same
//! trace hash as before capacities existed.

use serde::{Deserialize, Serialize};

use crate::{Duration, Latency, SimRng, Time};

/// How much a node can do at once (see the [module docs](self)).
///
/// ```
/// use sim_core::{Capacity, Duration, Latency};
/// // About 1,000 requests a second (1 ms each, exponentially distributed, at most
/// // 20 ms), and at most 64 waiting.
/// let capacity = Capacity {
///     service: Latency::Exponential {
///         min: Duration::ZERO,
///         mean: Duration::from_millis(1),
///         max: Duration::from_millis(20),
///     },
///     queue_bound: 64,
///     shed: false,
///     bulkheads: 1,
/// };
/// assert!(capacity.validate().is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Capacity {
    /// How long handling one message or input takes when the handler does not say
    /// (the same shapes of distribution as a link's latency).
    pub service: Latency,
    /// How many messages and inputs may wait while the node is busy (0: none waits;
    /// whatever arrives while it is busy overflows).
    pub queue_bound: u32,
    /// Whether to drop, unserved, what waited longer than its deadline (load
    /// shedding).
    #[serde(default)]
    pub shed: bool,
    /// How many queues, one per request class, served in turn (1: one queue for all).
    #[serde(default = "one_queue")]
    pub bulkheads: u8,
}

fn one_queue() -> u8 {
    1
}

impl Capacity {
    /// Checks the service distribution: ordered bounds, a finite shape, and draws
    /// that are not all zero (a node that costs nothing has no capacity to speak of).
    pub fn validate(&self) -> Result<(), String> {
        self.service
            .validate()
            .map_err(|e| format!("service time: {e}"))?;
        let all_zero = self.service.max() == Duration::ZERO
            || match self.service {
                Latency::Exponential { min, mean, .. } => min == mean && mean == Duration::ZERO,
                Latency::LogNormal { min, median, .. } => min == median && median == Duration::ZERO,
                Latency::Constant { .. } | Latency::Uniform { .. } => false,
            };
        if all_zero {
            return Err("service time: every draw would be zero".to_owned());
        }
        if self.bulkheads == 0 {
            return Err("bulkheads: a node needs at least one queue".to_owned());
        }
        Ok(())
    }
}

/// A node's capacity and what it is doing: the simulator's bookkeeping, one per node
/// that has a capacity. `E` is the simulator's event type, `M` its message type.
pub(crate) struct Work<E, M> {
    pub(crate) capacity: Capacity,
    /// Service times are multiplied by this (a [`crate::Fault::Slowdown`]).
    pub(crate) slowdown: f64,
    /// When the node is free again.
    pub(crate) busy_until: Time,
    /// What waits, per class, in arrival order, with when it joined the queue.
    queues: Vec<std::collections::VecDeque<(Time, E)>>,
    /// How many wait, in all classes.
    waiting: usize,
    /// The class whose turn is next.
    turn: usize,
    /// Service-time draws.
    pub(crate) rng: SimRng,
    /// Bumped by a crash, so that a wake-up queued before it is ignored.
    pub(crate) epoch: u64,
    /// Messages sent by handlers whose work is not done yet, by batch number, with
    /// when that work ends: they leave then, unless the node crashes first.
    pub(crate) outbox: std::collections::BTreeMap<u64, (Time, Vec<(crate::NodeId, M)>)>,
    /// Since when the node is paused, if it is.
    pub(crate) paused_at: Option<Time>,
    pub(crate) next_batch: u64,
    /// The longest the queue has been.
    pub(crate) longest_queue: usize,
}

impl<E, M> Work<E, M> {
    pub(crate) fn new(capacity: Capacity, rng: SimRng) -> Work<E, M> {
        Work {
            capacity,
            slowdown: 1.0,
            busy_until: Time::ZERO,
            queues: (0..capacity.bulkheads.max(1))
                .map(|_| std::collections::VecDeque::new())
                .collect(),
            waiting: 0,
            turn: 0,
            rng,
            epoch: 0,
            outbox: std::collections::BTreeMap::new(),
            paused_at: None,
            next_batch: 0,
            longest_queue: 0,
        }
    }

    /// The service time of one handler call: `declared` if it said, else a draw; times
    /// the slowdown.
    pub(crate) fn service_time(&mut self, declared: Option<Duration>, timer: bool) -> Duration {
        let base = match declared {
            Some(work) => work,
            None if timer => Duration::ZERO,
            None => self.capacity.service.sample(&mut self.rng),
        };
        if self.slowdown == 1.0 {
            base
        } else {
            Duration::from_nanos((base.as_nanos() as f64 * self.slowdown) as u64)
        }
    }

    /// A crash: the queue and what had not left yet are gone (how many messages and
    /// inputs, it returns), and the node is idle when it comes back.
    pub(crate) fn crash(&mut self, now: Time) -> u64 {
        let unsent: usize = self.outbox.values().map(|(_, sends)| sends.len()).sum();
        let lost = (self.waiting + unsent) as u64;
        self.queues
            .iter_mut()
            .for_each(std::collections::VecDeque::clear);
        self.waiting = 0;
        self.outbox.clear();
        self.busy_until = now;
        self.paused_at = None;
        self.epoch += 1;
        lost
    }

    /// How many messages and inputs wait, in all classes.
    pub(crate) fn len(&self) -> usize {
        self.waiting
    }

    /// How many queues (bulkheads) the node has.
    pub(crate) fn bulkheads(&self) -> usize {
        self.queues.len()
    }

    /// The queue of messages of class `class` (classes beyond the bulkheads share the
    /// last queue).
    pub(crate) fn class_queue(&self, class: usize) -> usize {
        class.min(self.queues.len() - 1)
    }

    /// Whether queue `queue` has no room left.
    pub(crate) fn is_full(&self, queue: usize) -> bool {
        self.queues[queue].len() >= self.capacity.queue_bound as usize
    }

    /// Queues `event`, which arrived at `now`, in queue `queue`.
    pub(crate) fn push(&mut self, queue: usize, now: Time, event: E) {
        self.queues[queue].push_back((now, event));
        self.waiting += 1;
        self.longest_queue = self.longest_queue.max(self.waiting);
    }

    /// The next event to serve, with its class and when it arrived: the head of the
    /// first class, from the one whose turn it is, that has something waiting. The
    /// turn moves on only when one is served ([`Work::served`]).
    pub(crate) fn pop(&mut self) -> Option<(usize, Time, E)> {
        let n = self.queues.len();
        let class = (0..n)
            .map(|i| (self.turn + i) % n)
            .find(|&c| !self.queues[c].is_empty())?;
        self.waiting -= 1;
        let (arrived, event) = self.queues[class].pop_front()?;
        Some((class, arrived, event))
    }

    /// A message of `class` was served: the next class's turn.
    pub(crate) fn served(&mut self, class: usize) {
        self.turn = (class + 1) % self.queues.len();
    }

    /// A resume at `now`: the work in hand (and what it will send) ends as much later
    /// as the pause lasted.
    pub(crate) fn resume(&mut self, now: Time) {
        let Some(since) = self.paused_at.take() else {
            return;
        };
        let pause = now.saturating_since(since);
        if self.busy_until > since {
            self.busy_until += pause;
        }
        for (due, _) in self.outbox.values_mut() {
            if *due > since {
                *due += pause;
            }
        }
    }
}
