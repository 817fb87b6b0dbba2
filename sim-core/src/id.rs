//! Process identities.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A process on the simulated network: a replica or a client.
///
/// Replicas are numbered first (`0..replicas`), then clients. The number is an index,
/// stable for the whole run, and survives crashes and restarts.
///
/// ```
/// use sim_core::NodeId;
/// assert_eq!(NodeId(3).index(), 3);
/// assert_eq!(NodeId(3).to_string(), "n3");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The id as an index into per-process tables.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// A timer set by a process; returned by [`Ctx::set_timer`](crate::Ctx::set_timer) so
/// that it can be cancelled. Ids are unique for the whole run, across restarts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimerId(pub u64);
