//! The simulator's pending events, earliest first.
//!
//! A four-ary min-heap of small keys over a slab of the events: reordering the heap
//! moves 24-byte keys, not events (a message's payload can be a hundred bytes or
//! more), a slot freed by a pop is reused by the next push, and four children per
//! node make the heap half as deep as a binary one (a pop, the commonest operation,
//! walks one path from the root down; the four children of a node share a cache
//! line or two).

/// An event's place in the order, in one number so that comparing two is one
/// branch-free comparison (the heap's comparisons are unpredictable: a branch per
/// field mispredicts on about half of them): the time in the high 64 bits, then the
/// sequence number (unique, so no two keys are equal) and, in the low
/// [`SLOT_BITS`], the slot that holds the event. The slot takes no part in the
/// order: no two keys share a sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key(u128);

/// Bits of a key that hold the slot: up to 2²⁴ (16.7 million) events pending at once.
const SLOT_BITS: u32 = 24;
/// Sequence numbers below this fit beside the slot: 2⁴⁰, a trillion events a run.
const SEQ_LIMIT: u64 = 1 << (64 - SLOT_BITS);

impl Key {
    fn new(time: u64, seq: u64, slot: u32) -> Key {
        assert!(seq < SEQ_LIMIT, "sequence number {seq} past {SEQ_LIMIT}");
        assert!(
            slot < 1 << SLOT_BITS,
            "{slot} events pending, the most is 2^{SLOT_BITS}"
        );
        Key(u128::from(time) << 64 | u128::from(seq << SLOT_BITS | u64::from(slot)))
    }

    fn time(self) -> u64 {
        (self.0 >> 64) as u64
    }

    fn slot(self) -> usize {
        (self.0 as u64 & ((1 << SLOT_BITS) - 1)) as usize
    }
}

/// Children per heap node.
const ARITY: usize = 4;

/// Events ordered by `(time, seq)`, earliest first.
#[derive(Debug)]
pub(crate) struct Queue<E> {
    /// A min-heap: each key comes before its children, which are at
    /// `ARITY * i + 1 ..= ARITY * i + ARITY`.
    heap: Vec<Key>,
    slots: Vec<Option<E>>,
    free: Vec<u32>,
}

impl<E> Queue<E> {
    pub(crate) fn new() -> Queue<E> {
        Queue {
            heap: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Queues `event` at `time`; `seq` breaks ties and must never repeat (and stays
    /// below 2⁴⁰; at most 2²⁴ events wait at once).
    #[inline(always)]
    pub(crate) fn push(&mut self, time: u64, seq: u64, event: E) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(event);
                slot
            }
            None => {
                let slot = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                self.slots.push(Some(event));
                slot
            }
        };
        self.sift_up(Key::new(time, seq, slot));
    }

    /// The earliest event and its time.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(u64, E)> {
        let last = self.heap.pop()?;
        let key = match self.heap.first() {
            None => last,
            Some(&first) => {
                self.sift_down(last);
                first
            }
        };
        self.free.push(key.slot() as u32);
        let event = self.slots[key.slot()]
            .take()
            .expect("a queued slot holds its event");
        Some((key.time(), event))
    }

    /// The earliest event's time.
    pub(crate) fn peek_time(&self) -> Option<u64> {
        self.heap.first().map(|k| k.time())
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Adds `key` at the end and moves it up to its place (without reading it back).
    #[inline]
    fn sift_up(&mut self, key: Key) {
        let mut at = self.heap.len();
        self.heap.push(key);
        while at > 0 {
            let parent = (at - 1) / ARITY;
            if key > self.heap[parent] {
                break;
            }
            self.heap[at] = self.heap[parent];
            at = parent;
        }
        self.heap[at] = key;
    }

    /// Puts `key` in the root's place (the root is being popped) and moves it down to
    /// its place (written once, where it ends: reading a key back just after writing
    /// it stalls the load on the store).
    #[inline]
    fn sift_down(&mut self, key: Key) {
        let mut at = 0;
        let len = self.heap.len();
        loop {
            let first = ARITY * at + 1;
            if first >= len {
                break;
            }
            let least = if first + ARITY <= len {
                // All four: two pairs, then their winners (no branch depends on a
                // comparison, so none mispredicts).
                let heap = &self.heap[first..first + ARITY];
                let left = earlier(heap, 0, 1);
                let right = earlier(heap, 2, 3);
                first + earlier(heap, left, right)
            } else {
                let heap = &self.heap[first..len];
                first + (1..heap.len()).fold(0, |least, child| earlier(heap, least, child))
            };
            if self.heap[least] > key {
                break;
            }
            self.heap[at] = self.heap[least];
            at = least;
        }
        self.heap[at] = key;
    }
}

/// Of `heap[a]` and `heap[b]`, the index of the earlier key, chosen by arithmetic on
/// the comparison rather than a branch on it (the compiler turns the obvious `if`
/// into a jump that mispredicts about half the time).
#[inline]
fn earlier(heap: &[Key], a: usize, b: usize) -> usize {
    let take_b = usize::from(heap[b] < heap[a]);
    a ^ ((a ^ b) & take_b.wrapping_neg())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Queue;

    proptest! {
        /// Against a sorted list: pops come out by (time, seq), whatever the pushes
        /// and pops in between.
        #[test]
        fn pops_in_time_then_sequence_order(ops in proptest::collection::vec((any::<bool>(), 0u64..20), 0..200)) {
            let mut queue = Queue::new();
            let mut model: Vec<(u64, u64)> = Vec::new();
            for (seq, (push, time)) in ops.into_iter().enumerate() {
                let seq = seq as u64;
                if push {
                    queue.push(time, seq, (time, seq));
                    model.push((time, seq));
                } else {
                    model.sort_unstable();
                    let expected = if model.is_empty() { None } else { Some(model.remove(0)) };
                    prop_assert_eq!(queue.pop().map(|(_, e)| e), expected);
                }
                model.sort_unstable();
                prop_assert_eq!(queue.peek_time(), model.first().map(|&(t, _)| t));
                prop_assert_eq!(queue.len(), model.len());
            }
        }
    }
}
