//! The key-value requests every model serves, and the client-facing types around them.
//!
//! A workload hands a client an [`Op`] (an [`sim_core::Node::Input`]); the client
//! reports an [`Outcome`] (its [`sim_core::Node::Output`]) in Jepsen's three values:
//! it happened (`Ok`), it certainly did not (`Fail`), or nobody knows (`Info`, for
//! example after a timeout).

use serde::{Deserialize, Serialize};

/// A key.
pub type Key = u64;
/// A value. Workloads write unique values so that checkers can tell writes apart.
pub type Value = u64;

/// What a client asks a store to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Request {
    /// Read a key.
    Read {
        /// The key.
        key: Key,
    },
    /// Overwrite a key.
    Write {
        /// The key.
        key: Key,
        /// The new value.
        value: Value,
    },
    /// Set `key` to `to` if it holds `from`.
    Cas {
        /// The key.
        key: Key,
        /// The value expected.
        from: Value,
        /// The value to set.
        to: Value,
    },
}

impl Request {
    /// The key the request is about.
    pub fn key(&self) -> Key {
        match *self {
            Request::Read { key } | Request::Write { key, .. } | Request::Cas { key, .. } => key,
        }
    }

    /// Whether the request may change the store.
    pub fn is_write(&self) -> bool {
        !matches!(self, Request::Read { .. })
    }
}

/// What a store answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reply {
    /// The value read (`None`: never written).
    Read(Option<Value>),
    /// The write took effect.
    Written,
    /// The compare matched and the swap took effect.
    Swapped,
    /// The compare did not match; nothing changed.
    CasMismatch(Option<Value>),
}

/// One operation a workload asks a client to perform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// The workload's id for the operation, echoed in the outcome.
    pub id: u64,
    /// What to do.
    pub request: Request,
}

/// How an operation ended, from the client's point of view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// It took effect, with this reply.
    Ok {
        /// The operation's id.
        id: u64,
        /// The store's reply.
        reply: Reply,
    },
    /// It certainly did not take effect (a cas whose compare did not match, as in
    /// Jepsen).
    Fail {
        /// The operation's id.
        id: u64,
        /// Why.
        reason: String,
    },
    /// It may or may not have taken effect (the client timed out).
    Info {
        /// The operation's id.
        id: u64,
        /// Why the outcome is unknown.
        reason: String,
    },
}

impl Outcome {
    /// The id of the operation this outcome ends.
    pub fn id(&self) -> u64 {
        match *self {
            Outcome::Ok { id, .. } | Outcome::Fail { id, .. } | Outcome::Info { id, .. } => id,
        }
    }
}
