//! The simulator's pending events, earliest first.
//!
//! A binary heap of small keys over a slab of the events: reordering the heap moves
//! 24-byte keys, not events (a message's payload can be a hundred bytes or more), and
//! a slot freed by a pop is reused by the next push.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// An event's place in the order: its time, then its sequence number (unique, so
/// no two keys are equal), and the slot that holds it.
#[derive(Clone, Copy, Debug)]
struct Key {
    time: u64,
    seq: u64,
    slot: u32,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    /// Reversed, so that the max-heap pops the earliest `(time, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// Events ordered by `(time, seq)`, earliest first.
#[derive(Debug)]
pub(crate) struct Queue<E> {
    heap: BinaryHeap<Key>,
    slots: Vec<Option<E>>,
    free: Vec<u32>,
}

impl<E> Queue<E> {
    pub(crate) fn new() -> Queue<E> {
        Queue {
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Queues `event` at `time`; `seq` breaks ties and must never repeat.
    pub(crate) fn push(&mut self, time: u64, seq: u64, event: E) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(event);
                slot
            }
            None => {
                let slot = u32::try_from(self.slots.len()).expect("fewer than 2³² events pending");
                self.slots.push(Some(event));
                slot
            }
        };
        self.heap.push(Key { time, seq, slot });
    }

    /// The earliest event and its time.
    pub(crate) fn pop(&mut self) -> Option<(u64, E)> {
        let key = self.heap.pop()?;
        self.free.push(key.slot);
        let event = self.slots[key.slot as usize]
            .take()
            .expect("a queued slot holds its event");
        Some((key.time, event))
    }

    /// The earliest event's time.
    pub(crate) fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|k| k.time)
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
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
