//! The set of configurations the search has entered, stored compactly.
//!
//! A configuration is what is linearized and the state reached (and, inside a run of
//! `info` operations, the state the run started from). What is linearized is not
//! stored as a bitset of every operation, which at 10,000 operations would take more
//! than a kilobyte per configuration, but as what it is determined by:
//!
//! - the *floor*: the first `ok` operation, in order of return, not yet linearized.
//!   Every `ok` operation that returns before it is linearized (the search linearizes
//!   an operation only while no unlinearized one returned before its call);
//! - which `ok` operations returning after the floor are linearized already: only
//!   operations invoked before the floor's return can be, a window about as wide as
//!   the history's concurrency;
//! - which `info` operations are linearized, as a bitset over them, kept apart so
//!   that a configuration that merely used up more `info` operations than one seen
//!   before is recognised as subsumed ([`Memo`]).

use crate::history::Operation;
use crate::shared::mix;

const EMPTY: u32 = u32::MAX;

/// Where each operation's bits go in a configuration's key.
pub(super) struct Layout {
    /// Per operation, its rank among the `ok` operations by return (`EMPTY` for
    /// `info` ones).
    rank: Vec<u32>,
    /// Per `ok` rank, the event position of its return.
    returns: Vec<usize>,
    /// Per operation (in invocation order), the highest `ok` rank among it and the
    /// operations invoked before it.
    highest: Vec<u32>,
    /// Event positions of the calls, in operation order.
    calls: Vec<usize>,
    /// Per operation, its index among the `info` ones (`EMPTY` for `ok` ones).
    info: Vec<u32>,
    infos: usize,
}

impl Layout {
    /// The layout for `ops`, which are in invocation order.
    pub(super) fn new(ops: &[&Operation]) -> Layout {
        let calls: Vec<usize> = ops.iter().map(|o| o.call).collect();
        assert!(
            calls.windows(2).all(|w| w[0] < w[1]),
            "the search's operations are in invocation order"
        );
        let mut by_return: Vec<u32> = (0..ops.len() as u32)
            .filter(|&i| ops[i as usize].ret.is_some())
            .collect();
        by_return.sort_by_key(|&i| ops[i as usize].ret);
        let mut rank = vec![EMPTY; ops.len()];
        for (r, &i) in by_return.iter().enumerate() {
            rank[i as usize] = r as u32;
        }
        let returns = by_return
            .iter()
            .map(|&i| ops[i as usize].ret.expect("ranked operations returned"))
            .collect();
        let mut top = 0;
        let highest = rank
            .iter()
            .map(|&r| {
                if r != EMPTY {
                    top = top.max(r);
                }
                top
            })
            .collect();
        let mut infos = 0;
        let info = ops
            .iter()
            .map(|o| {
                if o.ret.is_some() {
                    return EMPTY;
                }
                infos += 1;
                infos as u32 - 1
            })
            .collect();
        Layout {
            rank,
            returns,
            highest,
            calls,
            info,
            infos,
        }
    }

    /// An empty configuration's bits.
    pub(super) fn empty(&self) -> Linearized {
        Linearized {
            ranks: vec![0; self.returns.len().div_ceil(64).max(1)],
            infos: vec![0; self.info_words()],
            floor: 0,
        }
    }
}

/// What is linearized, in the form the key is read from.
pub(super) struct Linearized {
    /// `ok` operations by rank.
    ranks: Vec<u64>,
    /// `info` operations by their index among them.
    infos: Vec<u64>,
    /// The first `ok` rank not linearized.
    floor: u32,
}

impl Layout {
    /// Words in a bitset of `info` operations.
    pub(super) fn info_words(&self) -> usize {
        self.infos.div_ceil(64).max(1)
    }
}

impl Linearized {
    /// Marks operation `op` linearized.
    pub(super) fn set(&mut self, layout: &Layout, op: u32) {
        let rank = layout.rank[op as usize];
        if rank == EMPTY {
            let i = layout.info[op as usize];
            self.infos[i as usize / 64] |= 1 << (i % 64);
            return;
        }
        self.ranks[rank as usize / 64] |= 1 << (rank % 64);
        while (self.floor as usize) < layout.returns.len() && self.has(self.floor) {
            self.floor += 1;
        }
    }

    /// Undoes [`Linearized::set`].
    pub(super) fn clear(&mut self, layout: &Layout, op: u32) {
        let rank = layout.rank[op as usize];
        if rank == EMPTY {
            let i = layout.info[op as usize];
            self.infos[i as usize / 64] &= !(1 << (i % 64));
            return;
        }
        self.ranks[rank as usize / 64] &= !(1 << (rank % 64));
        self.floor = self.floor.min(rank);
    }

    fn has(&self, rank: u32) -> bool {
        self.ranks[rank as usize / 64] & (1 << (rank % 64)) != 0
    }

    /// The key of this configuration with `state` and `run_start`, without the `info`
    /// operations, written to `key` (cleared first).
    pub(super) fn key(&self, layout: &Layout, state: u32, run_start: u32, key: &mut Vec<u64>) {
        key.clear();
        key.push((u64::from(run_start) << 32) | u64::from(state));
        key.push(u64::from(self.floor));
        if (self.floor as usize) < layout.returns.len() {
            // Operations invoked before the floor's return are the only ones above it
            // that can be linearized.
            let horizon = layout.returns[self.floor as usize];
            let invoked = layout.calls.partition_point(|&c| c < horizon);
            let top = layout.highest[invoked.max(1) - 1];
            let first = self.floor as usize / 64;
            for w in first..=(top as usize / 64).max(first) {
                let mut word = self.ranks[w];
                if w == first {
                    // At and below the floor every bit is set but the floor's own.
                    word &= !(u64::MAX >> (63 - self.floor % 64));
                }
                key.push(word);
            }
        }
    }

    /// Which `info` operations are linearized, as a bitset over them.
    pub(super) fn infos(&self) -> &[u64] {
        &self.infos
    }
}

/// The configurations entered: an open-addressed table from a configuration's key
/// (without its `info` operations) to the sets of `info` operations it was entered
/// with. A configuration is *subsumed* by one entered before with the same key and
/// fewer `info` operations linearized: every way on from the new one is open to the old
/// one too (the `info` operations it has left are a superset, and identical ones
/// invoked earlier stand in for later ones), so the new one can add nothing.
pub(super) struct Memo {
    slots: Vec<(u64, u32)>,
    /// Per key: where it starts in `keys` (led by its length), and its first set.
    entries: Vec<(u32, u32)>,
    keys: Vec<u64>,
    /// The `info` sets, `words` each, and per set the next one of the same key.
    sets: Vec<u64>,
    next: Vec<u32>,
    words: usize,
}

impl Memo {
    /// An empty memo for `info` sets of `words` words.
    pub(super) fn new(words: usize) -> Memo {
        Memo {
            slots: vec![(0, EMPTY); 1024],
            entries: Vec::new(),
            keys: Vec::new(),
            sets: Vec::new(),
            next: Vec::new(),
            words,
        }
    }

    /// Bytes held.
    pub(super) fn bytes(&self) -> u64 {
        (self.slots.capacity() * 16
            + self.entries.capacity() * 8
            + self.keys.capacity() * 8
            + self.sets.capacity() * 8
            + self.next.capacity() * 4) as u64
    }

    /// Enters the configuration with `key` and `infos`; returns whether it was new
    /// (neither entered before nor subsumed).
    pub(super) fn insert(&mut self, key: &[u64], infos: &[u64]) -> bool {
        debug_assert_eq!(infos.len(), self.words);
        let hash = key.iter().fold(0x243F_6A88_85A3_08D3, |h, &w| mix(h ^ w));
        let mask = self.slots.len() - 1;
        let mut at = (hash as usize) & mask;
        loop {
            let (h, entry) = self.slots[at];
            if entry == EMPTY {
                break;
            }
            if h == hash && self.key_of(entry) == key {
                return self.add_set(entry, infos);
            }
            at = (at + 1) & mask;
        }
        let entry = u32::try_from(self.entries.len()).expect("fewer than 2^32 keys");
        let start = u32::try_from(self.keys.len()).expect("fewer than 2^32 words of keys");
        self.keys.push(key.len() as u64);
        self.keys.extend_from_slice(key);
        self.entries.push((start, EMPTY));
        self.slots[at] = (hash, entry);
        if self.entries.len() * 2 > self.slots.len() {
            self.grow();
        }
        self.add_set(entry, infos)
    }

    fn key_of(&self, entry: u32) -> &[u64] {
        let start = self.entries[entry as usize].0 as usize;
        let len = self.keys[start] as usize;
        &self.keys[start + 1..start + 1 + len]
    }

    /// Adds `infos` to `entry`'s sets unless one of them is a subset of it; sets that
    /// are supersets of it leave the list (they are subsumed now).
    fn add_set(&mut self, entry: u32, infos: &[u64]) -> bool {
        let words = self.words;
        let mut previous = EMPTY;
        let mut set = self.entries[entry as usize].1;
        while set != EMPTY {
            let stored = &self.sets[set as usize * words..(set as usize + 1) * words];
            if stored.iter().zip(infos).all(|(s, i)| s & !i == 0) {
                return false;
            }
            let next = self.next[set as usize];
            if stored.iter().zip(infos).all(|(s, i)| i & !s == 0) {
                // Unlinked; its words stay in the arena.
                match previous {
                    EMPTY => self.entries[entry as usize].1 = next,
                    p => self.next[p as usize] = next,
                }
            } else {
                previous = set;
            }
            set = next;
        }
        let set = u32::try_from(self.next.len()).expect("fewer than 2^32 configurations");
        self.sets.extend_from_slice(infos);
        self.next.push(self.entries[entry as usize].1);
        self.entries[entry as usize].1 = set;
        true
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.slots = vec![(0, EMPTY); old.len() * 2];
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|s| s.1 != EMPTY) {
            let mut at = (slot.0 as usize) & mask;
            while self.slots[at].1 != EMPTY {
                at = (at + 1) & mask;
            }
            self.slots[at] = slot;
        }
    }
}
