//! Traces: what happened, event by event, and a 64-bit hash that summarises it.
//!
//! The hash is always on and costs a few multiplications per event; the full trace
//! (with each payload's `Debug` text) is off by default because formatting payloads is
//! what makes tracing slow. Two runs with the same seed and build have the same hash;
//! any difference in what was delivered to whom and when changes it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{NodeId, Time};

/// The kind of a traced event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A node booted (at the start, or on restart).
    Start,
    /// A message was handed to its target.
    Deliver,
    /// A message was lost by its link.
    DropLoss,
    /// An event reached a paused node and waits for it to resume.
    Hold,
    /// A message met a cut link.
    DropCut,
    /// A message reached a node that was down.
    DropDown,
    /// A timer fired.
    Timer,
    /// An input from outside reached a node.
    Input,
    /// A node reported an output.
    Output,
    /// A fault struck.
    Fault,
    /// A message or input reached a busy node with a [`crate::Capacity`] and waits in
    /// its queue.
    Queue,
    /// A message or input reached a node whose queue was full, and was dropped (or
    /// refused: the node's refusal was sent back instead).
    DropOverload,
    /// A message's turn came in a node that sheds load, after it had waited longer
    /// than its deadline: it was dropped unserved.
    Shed,
}

impl EventKind {
    fn code(self) -> u64 {
        self as u64 + 1
    }
}

/// One traced event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// True simulated time.
    pub time: Time,
    /// What happened.
    pub kind: EventKind,
    /// The node it happened to (the receiver of a message).
    pub node: Option<NodeId>,
    /// The other end: the sender of a message.
    pub peer: Option<NodeId>,
    /// When a message was sent.
    pub sent: Option<Time>,
    /// The payload or fault, as its `Debug` text.
    pub detail: String,
}

impl fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>14} {:?}", self.time.to_string(), self.kind)?;
        if let Some(node) = self.node {
            write!(f, " {node}")?;
        }
        if let Some(peer) = self.peer {
            write!(f, " <- {peer}")?;
        }
        if let Some(sent) = self.sent {
            write!(f, " (sent {sent})")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// A streaming 64-bit hash of a run's events (word-at-a-time multiply-rotate, with a
/// final avalanche). Portable: it depends only on the words fed to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TraceHash(u64);

const K: u64 = 0x9E37_79B9_7F4A_7C15;

impl TraceHash {
    pub(crate) fn new(seed: u64) -> TraceHash {
        TraceHash(seed ^ 0x243F_6A88_85A3_08D3)
    }

    #[inline]
    fn word(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(23) ^ w).wrapping_mul(K);
    }

    #[inline]
    pub(crate) fn event(&mut self, time: Time, kind: EventKind, node: u64, peer: u64) {
        self.word(time.as_nanos());
        self.word(kind.code() | (node << 8) | (peer << 36));
    }

    pub(crate) fn finish(self) -> u64 {
        // splitmix64's finaliser: every input bit affects every output bit.
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
