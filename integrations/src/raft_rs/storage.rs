//! What a replica keeps on disk, and raft-rs's [`raft::Storage`] view of it.
//!
//! [`Persisted`] is both: it is the replica's [`consim::sim_core::Node::Durable`] state, and
//! the storage its `RawNode` reads. It is plain data (an `imbl` vector of entries, the
//! hard state and the configuration), so that a sync (a clone) is cheap and a crash
//! keeps exactly what was synced. raft-rs's own `MemStorage` would not do: it shares
//! its content behind an `Arc`, so a copy taken at a sync would go on changing with
//! the live one, and a crash would keep writes that were never synced.
//!
//! The replica writes each `Ready` into the copy its `RawNode` owns and copies that
//! into durable state before syncing (see [`crate::raft_rs::replica`]); after a restart it
//! builds the `RawNode` from what was synced. The log is never compacted, so entry
//! `i` is at position `i - 1`, the first index is always 1, and raft-rs never needs a
//! snapshot.

use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, StorageError};

/// A replica's disk: the raft log, the hard state (term, vote, commit index) and the
/// configuration (the voters).
#[derive(Clone, Debug, Default)]
pub struct Persisted {
    /// Term, vote and commit index.
    pub hard_state: HardState,
    /// The voters; empty until the replica first boots.
    pub conf_state: ConfState,
    /// The log; entry `i` is at position `i - 1`.
    pub entries: imbl::Vector<Entry>,
}

impl Persisted {
    /// The index of the last entry (0: the log is empty).
    pub fn last_index(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Entry `index` (counting from 1), if the log holds it.
    pub fn entry(&self, index: u64) -> Option<&Entry> {
        let position = usize::try_from(index.checked_sub(1)?).ok()?;
        self.entries.get(position)
    }

    /// Writes `entries` (consecutive, starting at most one past the last entry),
    /// replacing whatever suffix of the log they overlap, as raft-rs's `Ready` asks:
    /// its entries may overwrite uncommitted ones a former leader left.
    ///
    /// ```
    /// use raft::eraftpb::Entry;
    /// use integrations::raft_rs::storage::Persisted;
    /// let entry = |index, term| Entry { index, term, ..Entry::default() };
    /// let mut disk = Persisted::default();
    /// disk.append(&[entry(1, 1), entry(2, 1), entry(3, 1)]);
    /// disk.append(&[entry(2, 2)]);
    /// let terms: Vec<u64> = disk.entries.iter().map(|e| e.term).collect();
    /// assert_eq!(terms, [1, 2]);
    /// ```
    ///
    /// # Panics
    ///
    /// If `entries` would leave a gap, or are not consecutive: raft-rs never hands out
    /// such a batch.
    pub fn append(&mut self, entries: &[Entry]) {
        let Some(first) = entries.first() else {
            return;
        };
        assert!(
            (1..=self.last_index() + 1).contains(&first.index),
            "entries from index {} would leave a gap after the last one, {}",
            first.index,
            self.last_index()
        );
        self.entries.truncate((first.index - 1) as usize);
        for entry in entries {
            assert_eq!(
                entry.index,
                self.last_index() + 1,
                "raft-rs hands out consecutive entries"
            );
            self.entries.push_back(entry.clone());
        }
    }
}

impl raft::Storage for Persisted {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(
            self.hard_state.clone(),
            self.conf_state.clone(),
        ))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low == 0 {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if low > high || high > self.last_index() + 1 {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let mut entries: Vec<Entry> = (low..high)
            .filter_map(|index| self.entry(index).cloned())
            .collect();
        raft::util::limit_size(&mut entries, max_size.into());
        Ok(entries)
    }

    fn term(&self, index: u64) -> raft::Result<u64> {
        if index == 0 {
            return Ok(0); // Before the first entry: the log is never compacted.
        }
        self.entry(index)
            .map(|entry| entry.term)
            .ok_or(raft::Error::Store(StorageError::Unavailable))
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(Persisted::last_index(self))
    }

    /// raft-rs asks for a snapshot only for a follower that needs entries before the
    /// first index; with no compaction there are none, so this is never called.
    fn snapshot(&self, _request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        Err(raft::Error::Store(
            StorageError::SnapshotTemporarilyUnavailable,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::Storage;

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            index,
            term,
            ..Entry::default()
        }
    }

    #[test]
    fn the_storage_view_matches_the_log() {
        let mut disk = Persisted::default();
        assert_eq!(
            (disk.first_index(), Storage::last_index(&disk)),
            (Ok(1), Ok(0))
        );
        assert_eq!(disk.term(0), Ok(0));
        disk.append(&[entry(1, 1), entry(2, 2), entry(3, 2)]);
        assert_eq!(disk.term(2), Ok(2));
        assert!(disk.term(4).is_err());
        let got = disk
            .entries(2, 4, None, GetEntriesContext::empty(false))
            .expect("in range");
        assert_eq!(got, vec![entry(2, 2), entry(3, 2)]);
        assert!(
            disk.entries(2, 5, None, GetEntriesContext::empty(false))
                .is_err()
        );
        // A size limit still returns at least one entry.
        let one = disk
            .entries(1, 4, Some(0), GetEntriesContext::empty(false))
            .expect("in range");
        assert_eq!(one, vec![entry(1, 1)]);
    }

    #[test]
    #[should_panic(expected = "gap")]
    fn a_gap_is_refused() {
        let mut disk = Persisted::default();
        disk.append(&[entry(2, 1)]);
    }
}
