//! Exhaustive exploration: every order in which the pending events of a small
//! configuration can happen, not a sample of them.
//!
//! A seeded run picks one order of events (its latencies decide it); exploration
//! takes every one. From each state it tries every enabled move — a client taking its
//! next operation, the delivery of any message in flight, and, within a budget, a
//! timer firing, a message lost or duplicated, a replica crashing (and restarting) —
//! and hands every history that grows by an outcome to a judge (for consim, the
//! model's checkers). It stops at the first violation, when every reachable state has
//! been expanded (then no schedule of this configuration breaks what the judge
//! checks), or at a limit.
//!
//! # The semantics explored
//!
//! - **Asynchronous messages.** Any message in flight may be delivered next,
//!   whatever the link latencies say; identical copies of one message are one choice.
//!   Links never lose or duplicate a message except through the fault budget.
//! - **Time moves only when a timer fires.** Messages take no time; firing a timer
//!   advances the clock every node reads to that timer's deadline (if it is later
//!   than now). Any pending timer may fire next, whatever its deadline, so a
//!   retransmission may come before its answer and a timeout before a fast reply:
//!   sound for protocols whose safety does not rest on timing. Protocols whose
//!   safety does (lease reads, clock-bound waits) are not explored faithfully this
//!   way, and their models say so by not offering exploration. Firings come out of
//!   [`Budget::timer_firings`] so that the space is finite; with 0, timers never fire
//!   (retransmission and timeouts are off).
//! - **Clocks are perfect** (no offset, no drift) and **randomness is fixed by the
//!   seed**: `ctx.rng()` is the node's seeded stream, as in a run, and part of the
//!   node's state. A draw is not a choice point.
//! - **Clients take one operation at a time**: a client is offered its next input
//!   once it has reported an outcome for every input so far.
//!
//! # States and the reduction
//!
//! States are told apart by a 128-bit fingerprint (the `fingerprint` module docs) of
//! every node's state (volatile and durable, timers, random stream), the multiset of
//! messages in flight, the clock, the fault budget left and the history *up to
//! real-time equivalence*: per client, its operations and outcomes in order, and for
//! each invocation how many operations of every client had completed. Two histories
//! alike in that are alike to every checker of a history (they order their
//! operations the same way in real time and in every session), so a state reached
//! again is not expanded again.
//!
//! # Messages ignored for good
//!
//! Most of a small system's states differ only in where late messages are: the third
//! answer to a phase that needed two, a reply to a request already settled. A node
//! says which messages it would ignore for good ([`Node::ignores`]: handed one now or
//! at any later point, it would change nothing and send nothing), and after every
//! move exploration takes those out of flight. A state with such a message in flight
//! and the state without it have the same futures: delivering it is a no-op wherever
//! it comes, dropping or duplicating it only spends budget, and every other move is
//! enabled in both and leads to states that again differ by that message alone. So
//! the states reached, once these messages are taken out, are the states of the full
//! space with them taken out (but for those where budget was spent on such a message,
//! each covered by the same state with that budget left), and the histories are the
//! same (a test checks them, and the states with no move out, on every model that
//! offers exploration, correct and buggy, with faults and timers in the budget).
//! Whether a message is taken out depends only on its receiver's state, which only a
//! move at the receiver changes, and a message once ignored stays so; so two moves at
//! different nodes take out the same messages in either order, and sleep sets are
//! unaffected. DPOR is not: taking a message out takes away its delivery, and DPOR
//! never reverses a race with an event that does not happen, so under
//! [`Reduction::Dpor`] ignored messages stay in flight (the `dpor` module's docs). In a debug build
//! exploration also hands every message it takes out to a copy of its receiver and
//! asserts that nothing changed, the half of the promise that can be checked at that
//! point; [`Setup::keep_ignored`] (`--keep-ignored`) keeps them, for comparison. A
//! replay of a schedule shows them arriving, ignored, right after the step that sent
//! them or made them late.
//!
//! With [`Reduction::SleepSets`] the search also skips transitions that only
//! reorder independent events (Godefroid's sleep sets, 1996). Two moves are
//! independent when each changes the state of one node only and the nodes differ
//! (each touches only its own node and adds messages to a multiset), except a client's
//! input against any other client's event: an invocation and a completion at two
//! clients order two operations in real time, so their order matters, and an input
//! may complete at once (a client whose breaker is open fails it without sending).
//! Two deliveries to different clients commute: their outcomes are completions, and
//! two completions leave the same real-time order either way. Timer firings (they
//! move the clock every node reads), faults and partitions (they use up a shared
//! budget, and a partition changes every node's links) are independent of nothing. Combining sleep sets with a cache of visited states
//! loses states unless done with care (the pitfall Yang et al., SPIN 2008, show for
//! dynamic partial-order reduction); here every visited state keeps the sleep set it
//! was expanded with, and a state reached again with a sleep set that is not a
//! superset is expanded again for the transitions it slept before (Godefroid's
//! thesis, ch. 5). Sleep sets never skip a state, only transitions into states that
//! are reached another way, so the reduced search visits exactly the states of the
//! full one (a test checks it on every model that offers exploration) and does less
//! work per state.
//!
//! [`Reduction::Dpor`] visits fewer states: dynamic partial-order reduction (source
//! sets and sleep sets), stateless and depth first, for configurations without faults
//! or timer firings (the `dpor` module's docs say what it is, why it reaches every
//! complete history, and why on the shipped models it is the slower search).
//!
//! The search is breadth first by default ([`Order`]), so the first violation found has
//! as few steps as any schedule to a broken history; depth first keeps only the path's
//! siblings in memory. A violation comes back as a [`Schedule`] that [`replay`] follows
//! move for move.

mod dpor;
mod fingerprint;
mod search;
mod world;

use std::fmt::Debug;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use crate::{Node, NodeId, TimerId};

pub use search::{Exploration, Outcome, Stats, explore};
pub use world_api::{ReplayError, Replayed, STEP, replay};

mod world_api;

/// A node whose state exploration can copy and fingerprint: cloneable and hashable,
/// and so are its messages, timers, durable state, inputs and outputs. A model opts
/// into exploration by deriving `Clone` and `Hash` on these.
pub trait Explorable:
    Node<Msg: Hash, Timer: Hash, Durable: Hash, Input: Hash, Output: Hash> + Clone + Hash
{
}

impl<N> Explorable for N where
    N: Node<Msg: Hash, Timer: Hash, Durable: Hash, Input: Hash, Output: Hash> + Clone + Hash
{
}

/// What may go wrong, at most, along any one schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Budget {
    /// Messages that may be lost.
    pub drops: u32,
    /// Messages that may be delivered twice.
    pub duplicates: u32,
    /// Replica crashes (a crashed replica may restart at any later point, or stay
    /// down).
    pub crashes: u32,
    /// Timer firings (see the module docs: with 0, timers never fire).
    pub timer_firings: u32,
    /// Partitions: one replica cut off from every other node (the messages in flight
    /// to and from it are lost, and so is every one sent across the cut), healed at any
    /// later point or never. One at a time.
    #[serde(default)]
    pub partitions: u32,
}

/// Whether the search skips reorderings of independent events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reduction {
    /// Every transition out of every state.
    None,
    /// Sleep sets (see the module docs).
    #[default]
    SleepSets,
    /// Dynamic partial-order reduction with source sets and sleep sets, stateless and
    /// depth first (the `dpor` module's docs): explores at least one schedule of every
    /// class of schedules that only reorder independent events, instead of every
    /// state; it visits fewer states but, remembering none, may take more steps.
    /// Needs an empty fault budget.
    Dpor,
}

/// The order states are expanded in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// Breadth first: a violation comes with as few steps as any schedule to a broken
    /// history has; memory grows with the widest level of the search.
    #[default]
    BreadthFirst,
    /// Depth first: memory for the visited states and the current path's siblings
    /// only, for spaces whose levels do not fit; a violation's schedule may be longer
    /// than need be.
    DepthFirst,
}

/// A configuration to explore.
#[derive(Debug)]
pub struct Setup<R: Node, C: Node<Msg = R::Msg>> {
    /// Replica configs: replicas are `NodeId(0..)`.
    pub replicas: Vec<R::Config>,
    /// Client configs: clients come after the replicas.
    pub clients: Vec<C::Config>,
    /// Each client's operations, in order.
    pub inputs: Vec<Vec<C::Input>>,
    /// Seeds every node's random stream.
    pub seed: u64,
    /// Faults and timer firings allowed along one schedule.
    pub budget: Budget,
    /// The reduction.
    pub reduction: Reduction,
    /// Keep in flight the messages their receivers ignore for good
    /// ([`Node::ignores`]) instead of taking them out (see the module docs): the same
    /// histories in a larger space, to measure what taking them out saves and to test
    /// a model's `ignores`.
    pub keep_ignored: bool,
    /// Breadth or depth first.
    pub order: Order,
    /// Stop (unknown) once this many distinct states were seen.
    pub max_states: u64,
}

/// Something that happened at a client: what the judge sees, in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Happened<C: Node> {
    /// The client (by index among clients) took an operation.
    Invoke {
        /// Index among the clients (`NodeId` minus the replica count).
        client: usize,
        /// The operation.
        input: C::Input,
    },
    /// The client reported an outcome.
    Complete {
        /// Index among the clients.
        client: usize,
        /// The outcome.
        output: C::Output,
    },
}

/// A judge's verdict on one history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judgement {
    /// Nothing wrong.
    Ok,
    /// Broken, with why.
    Violation(String),
    /// The judge could not decide (its own budget ran out).
    Unknown(String),
}

/// One step of a schedule. Messages are named by their send number along the
/// schedule (the `n`-th message sent, from 0), timers by their node and id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Step {
    /// A client takes its next operation.
    Input {
        /// The client.
        client: NodeId,
    },
    /// A message is delivered.
    Deliver {
        /// Its send number.
        send: u64,
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
    },
    /// A timer fires.
    Fire {
        /// Its node.
        node: NodeId,
        /// Its id.
        timer: TimerId,
    },
    /// A message is lost.
    Drop {
        /// Its send number.
        send: u64,
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
    },
    /// A message is delivered and stays in flight, to be delivered again.
    Duplicate {
        /// Its send number.
        send: u64,
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
    },
    /// A replica crashes.
    Crash {
        /// The replica.
        node: NodeId,
    },
    /// A crashed replica boots again.
    Restart {
        /// The replica.
        node: NodeId,
    },
    /// A replica is cut off from every other node.
    Isolate {
        /// The replica.
        node: NodeId,
    },
    /// The partition heals.
    Heal,
}

/// A path through the state space: the order of events and the faults along it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// The steps, in order.
    pub steps: Vec<Step>,
}
