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

/// The operations a workload draws: the kinds of request a model serves, and so the
/// workload it is run with by default ([`crate::ModelInfo::workload`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Mix {
    /// Reads and writes of registers.
    Register,
    /// Reads, writes and compare-and-set of registers.
    Kv,
    /// Reads of lists and appends to them (Elle's list-append, the most traceable).
    ListAppend,
}

impl Mix {
    /// Every mix, by `--workload` name.
    pub const ALL: [Mix; 3] = [Mix::Register, Mix::Kv, Mix::ListAppend];

    /// The name `--workload` takes.
    ///
    /// ```
    /// assert_eq!(models::kv::Mix::ListAppend.name(), "list-append");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Mix::Register => "register",
            Mix::Kv => "kv",
            Mix::ListAppend => "list-append",
        }
    }

    /// The mix called `name`.
    pub fn from_name(name: &str) -> Option<Mix> {
        Mix::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// What a client asks a store to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
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
    /// Append `value` to the list at `key` (Elle's list-append).
    Append {
        /// The key.
        key: Key,
        /// The element to append.
        value: Value,
    },
}

impl Request {
    /// The key the request is about.
    pub fn key(&self) -> Key {
        match *self {
            Request::Read { key }
            | Request::Write { key, .. }
            | Request::Cas { key, .. }
            | Request::Append { key, .. } => key,
        }
    }

    /// The same request of key `key`.
    ///
    /// ```
    /// use models::kv::Request;
    /// let write = Request::Write { key: 3, value: 9 };
    /// assert_eq!(write.with_key(0), Request::Write { key: 0, value: 9 });
    /// ```
    pub fn with_key(mut self, new: Key) -> Request {
        match &mut self {
            Request::Read { key }
            | Request::Write { key, .. }
            | Request::Cas { key, .. }
            | Request::Append { key, .. } => *key = new,
        }
        self
    }

    /// Whether the request may change the store.
    pub fn is_write(&self) -> bool {
        !matches!(self, Request::Read { .. })
    }

    /// The value this request writes, if it writes one (workloads keep these unique).
    pub fn written(&self) -> Option<Value> {
        match *self {
            Request::Read { .. } => None,
            Request::Write { value, .. } | Request::Append { value, .. } => Some(value),
            Request::Cas { to, .. } => Some(to),
        }
    }
}

/// What a store answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Reply {
    /// The register value read (`None`: never written).
    Read(Option<Value>),
    /// The list read from a key that was appended to, oldest element first.
    ReadList(Vec<Value>),
    /// The append took effect.
    Appended,
    /// The write took effect.
    Written,
    /// The compare matched and the swap took effect.
    Swapped,
    /// The compare did not match; nothing changed.
    CasMismatch(Option<Value>),
}

/// One operation a workload asks a client to perform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub struct Op {
    /// The workload's id for the operation, echoed in the outcome.
    pub id: u64,
    /// What to do.
    pub request: Request,
    /// How long it had already waited when its client was handed it (an open loop's
    /// operation waits at its client behind the one in flight): a client's deadline
    /// counts from the operation's arrival, so this much of it is gone.
    pub queued: sim_core::Duration,
}

/// How an operation ended, from the client's point of view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
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

/// What one key holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Cell {
    /// A register's value.
    Register(Value),
    /// A list built by appends.
    List(imbl::Vector<Value>),
}

/// The key-value state machine every model applies requests to: registers and lists
/// keyed by [`Key`], in persistent collections so that copying it (to sync it, or to
/// keep a snapshot) is cheap.
///
/// A write replaces whatever the key holds; an append to a register turns it into
/// the list `[old, new]`; a cas compares register values only (a list never matches).
///
/// ```
/// use models::kv::{Reply, Request, Store};
/// let mut store = Store::default();
/// assert_eq!(store.apply(&Request::Append { key: 1, value: 5 }), Reply::Appended);
/// store.apply(&Request::Append { key: 1, value: 6 });
/// assert_eq!(store.apply(&Request::Read { key: 1 }), Reply::ReadList(vec![5, 6]));
/// assert_eq!(store.apply(&Request::Write { key: 2, value: 9 }), Reply::Written);
/// let cas = Request::Cas { key: 2, from: 9, to: 10 };
/// assert_eq!(store.apply(&cas), Reply::Swapped);
/// assert_eq!(store.apply(&cas), Reply::CasMismatch(Some(10)));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Store {
    cells: imbl::OrdMap<Key, Cell>,
}

impl Store {
    /// Applies `request` and returns the reply.
    pub fn apply(&mut self, request: &Request) -> Reply {
        match *request {
            Request::Read { key } => self.read(key),
            Request::Write { key, value } => {
                self.cells.insert(key, Cell::Register(value));
                Reply::Written
            }
            Request::Cas { key, from, to } => match self.cells.get(&key) {
                Some(Cell::Register(current)) if *current == from => {
                    self.cells.insert(key, Cell::Register(to));
                    Reply::Swapped
                }
                Some(Cell::Register(current)) => Reply::CasMismatch(Some(*current)),
                Some(Cell::List(_)) | None => Reply::CasMismatch(None),
            },
            Request::Append { key, value } => {
                // In place: a copy of the list would share its last chunk, which the
                // push would then have to copy (a store's cells are shared only with
                // its own snapshots).
                match self.cells.get_mut(&key) {
                    Some(Cell::List(list)) => list.push_back(value),
                    Some(Cell::Register(old)) => {
                        let list = imbl::vector![*old, value];
                        self.cells.insert(key, Cell::List(list));
                    }
                    None => {
                        self.cells.insert(key, Cell::List(imbl::vector![value]));
                    }
                }
                Reply::Appended
            }
        }
    }

    /// What a read of `key` answers.
    pub fn read(&self, key: Key) -> Reply {
        match self.cells.get(&key) {
            Some(Cell::Register(value)) => Reply::Read(Some(*value)),
            Some(Cell::List(list)) => Reply::ReadList(list.iter().copied().collect()),
            None => Reply::Read(None),
        }
    }

    /// What `key` holds.
    pub fn get(&self, key: Key) -> Option<&Cell> {
        self.cells.get(&key)
    }

    /// Sets `key` to `cell` (for replication protocols that ship whole cells).
    pub fn set(&mut self, key: Key, cell: Cell) {
        self.cells.insert(key, cell);
    }

    /// Every key and what it holds, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Cell)> {
        self.cells.iter()
    }
}
