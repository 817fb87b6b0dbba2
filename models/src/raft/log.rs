//! A Raft log that copies cheaply and appends cheaply after a copy.
//!
//! A replica copies its log into durable state after every change and syncs it (the
//! kernel keeps the synced copy apart), so an append always finds its log shared with
//! two copies. A persistent vector answers the copy with a pointer bump, but then the
//! append copies the chunk it writes into: [`imbl::Vector`]'s chunks hold 64 entries,
//! and copying half of one on every append was about a twentieth of a raft sweep.
//! [`Log`] shares its full chunks of [`CHUNK`] entries and copies only the entries
//! after them, fewer than [`CHUNK`], on the first write after a copy.

use std::fmt;
use std::sync::Arc;

use super::Entry;

/// Entries per shared chunk.
pub const CHUNK: usize = 16;

/// A replica's log: entry `i` (from 1) at position `i - 1`.
///
/// ```
/// use models::raft::{Command, Entry, Log};
/// let entry = |term| Entry { term, command: Command::Noop };
/// let mut log: Log = (1..=40).map(entry).collect();
/// let durable = log.clone(); // shares every entry
/// log.truncate(20);
/// log.push_back(entry(99));
/// assert_eq!((log.len(), log[19].term, log[20].term), (21, 20, 99));
/// assert_eq!((durable.len(), durable[20].term), (40, 21));
/// ```
#[derive(Clone, Default)]
pub struct Log {
    /// Full chunks, shared between copies.
    chunks: imbl::Vector<Arc<[Entry; CHUNK]>>,
    /// The entries after them (fewer than [`CHUNK`]), copied on write when shared.
    tail: Arc<Vec<Entry>>,
}

impl Log {
    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.chunks.len() * CHUNK + self.tail.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry at position `i` (index `i + 1`), if there is one.
    pub fn get(&self, i: usize) -> Option<&Entry> {
        match i.checked_sub(self.chunks.len() * CHUNK) {
            Some(in_tail) => self.tail.get(in_tail),
            None => Some(&self.chunks[i / CHUNK][i % CHUNK]),
        }
    }

    /// The last entry, if there is one.
    pub fn last(&self) -> Option<&Entry> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    /// Appends `entry`.
    pub fn push_back(&mut self, entry: Entry) {
        let tail = self.tail_mut();
        tail.push(entry);
        if tail.len() == CHUNK {
            let full: [Entry; CHUNK] = tail
                .as_slice()
                .try_into()
                .expect("a tail of exactly one chunk");
            tail.clear();
            self.chunks.push_back(Arc::new(full));
        }
    }

    /// Keeps the first `len` entries (all of them, if it holds no more).
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len() {
            return;
        }
        let full = len / CHUNK;
        if full < self.chunks.len() {
            let kept = &self.chunks[full][..len % CHUNK];
            let mut tail = Vec::with_capacity(CHUNK);
            tail.extend_from_slice(kept);
            self.tail = Arc::new(tail);
            self.chunks.truncate(full);
        } else {
            self.tail_mut().truncate(len % CHUNK);
        }
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Entry> + '_ {
        self.chunks
            .iter()
            .flat_map(|chunk| chunk.iter())
            .chain(self.tail.iter())
    }

    /// The tail, copied first if another log shares it (as `Arc::make_mut` would, but
    /// with room for a whole chunk, so the pushes that follow do not reallocate).
    fn tail_mut(&mut self) -> &mut Vec<Entry> {
        if Arc::get_mut(&mut self.tail).is_none() {
            let mut own = Vec::with_capacity(CHUNK);
            own.extend_from_slice(&self.tail);
            self.tail = Arc::new(own);
        }
        Arc::get_mut(&mut self.tail).expect("a tail no other log shares")
    }
}

impl std::ops::Index<usize> for Log {
    type Output = Entry;

    fn index(&self, i: usize) -> &Entry {
        match self.get(i) {
            Some(entry) => entry,
            None => panic!("log position {i} past its end ({} entries)", self.len()),
        }
    }
}

impl PartialEq for Log {
    fn eq(&self, other: &Log) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Log {}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl FromIterator<Entry> for Log {
    fn from_iter<I: IntoIterator<Item = Entry>>(entries: I) -> Log {
        let mut log = Log::default();
        log.extend(entries);
        log
    }
}

impl Extend<Entry> for Log {
    fn extend<I: IntoIterator<Item = Entry>>(&mut self, entries: I) {
        for entry in entries {
            self.push_back(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::Command;
    use proptest::prelude::*;

    fn entry(term: u64) -> Entry {
        Entry {
            term,
            command: Command::Noop,
        }
    }

    #[derive(Clone, Debug)]
    enum Step {
        Push(u64),
        Truncate(usize),
        /// Keep a copy (as durable state does), which later writes must not touch.
        Copy,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            6 => (0u64..1000).prop_map(Step::Push),
            1 => (0usize..80).prop_map(Step::Truncate),
            2 => Just(Step::Copy),
        ]
    }

    proptest! {
        /// Against a `Vec`: the same entries after any appends and truncations, and
        /// every copy keeps what it held when it was taken.
        #[test]
        fn a_log_behaves_as_a_vector_and_copies_stay_put(
            steps in prop::collection::vec(step(), 0..200),
        ) {
            let (mut log, mut model) = (Log::default(), Vec::new());
            let mut copies: Vec<(Log, Vec<Entry>)> = Vec::new();
            for step in steps {
                match step {
                    Step::Push(term) => {
                        log.push_back(entry(term));
                        model.push(entry(term));
                    }
                    Step::Truncate(len) => {
                        log.truncate(len);
                        model.truncate(len);
                    }
                    Step::Copy => copies.push((log.clone(), model.clone())),
                }
                prop_assert_eq!(log.len(), model.len());
                prop_assert_eq!(log.last(), model.last());
            }
            for (i, e) in model.iter().enumerate() {
                prop_assert_eq!(log.get(i), Some(e));
            }
            prop_assert_eq!(log.get(model.len()), None);
            prop_assert!(log.iter().eq(model.iter()));
            for (copy, held) in &copies {
                prop_assert!(copy.iter().eq(held.iter()));
                prop_assert_eq!(copy.len(), held.len());
            }
        }
    }
}
