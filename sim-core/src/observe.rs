//! Observers: a typed look at the messages of a run, for measurements that need more
//! than the trace's text (which request a replica received, which it answered).
//!
//! An observer is a closure the [`crate::SimBuilder::observer`] hands every message
//! sent and every message delivered. It sees the message by reference and returns
//! nothing, so it cannot change the run: a run with an observer has the same trace
//! hash as one without.

use crate::{NodeId, Time};

/// What happened to a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observation {
    /// A node sent it (whatever its link then does with it: lose, delay, duplicate).
    Sent,
    /// It reached a running node, which is about to handle it (a paused node's messages
    /// are delivered when it resumes; one that reaches a crashed node is not delivered).
    Delivered,
}

/// One message, as an observer sees it.
#[derive(Debug)]
pub struct Observed<'a, M> {
    /// Sent or delivered.
    pub kind: Observation,
    /// The true simulated time it happened.
    pub time: Time,
    /// When the message was sent (for a send, `time`): the copies of one send that
    /// link duplication delivers share it, so it names the send.
    pub sent: Time,
    /// The sender.
    pub source: NodeId,
    /// The receiver.
    pub target: NodeId,
    /// The message.
    pub msg: &'a M,
}

/// A boxed observer of messages of type `M`.
pub type Observer<M> = Box<dyn FnMut(&Observed<'_, M>)>;
