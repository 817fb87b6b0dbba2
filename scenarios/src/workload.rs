//! A closed-loop key-value workload: each client has one operation in flight and gets
//! the next as soon as the last one ends, until the workload's budget is spent.
//!
//! Keys are drawn uniformly from a small range so that operations contend; every write
//! and cas writes a value never written before (the checkers rely on that to tell
//! which write a read saw).

use models::kv::{Key, Op, Request, Value};
use sim_core::{Purpose, SimRng};

/// The mix of operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkloadConfig {
    /// Operations in all, across clients.
    pub ops: u64,
    /// Keys are `0..keys`.
    pub keys: u64,
    /// Out of 100: reads.
    pub read_percent: u8,
    /// Out of 100: cas (the rest are writes).
    pub cas_percent: u8,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            ops: 200,
            keys: 4,
            read_percent: 50,
            cas_percent: 10,
        }
    }
}

/// Hands out operations, drawn from the run seed's workload stream.
#[derive(Debug)]
pub struct Workload {
    config: WorkloadConfig,
    rng: SimRng,
    issued: u64,
    next_value: Value,
}

impl Workload {
    /// The workload of run `seed`.
    ///
    /// ```
    /// use scenarios::workload::{Workload, WorkloadConfig};
    /// let config = WorkloadConfig { ops: 3, ..WorkloadConfig::default() };
    /// let mut w = Workload::new(1, config);
    /// let ops: Vec<_> = std::iter::from_fn(|| w.next_op()).collect();
    /// assert_eq!(ops.len(), 3);
    /// assert_eq!(ops.iter().map(|o| o.id).collect::<Vec<_>>(), vec![0, 1, 2]);
    /// ```
    pub fn new(seed: u64, config: WorkloadConfig) -> Workload {
        assert!(config.keys > 0, "a workload needs at least one key");
        assert!(
            config.read_percent + config.cas_percent <= 100,
            "read {}% + cas {}% is over 100%",
            config.read_percent,
            config.cas_percent
        );
        Workload {
            config,
            rng: SimRng::new(seed, Purpose::Workload),
            issued: 0,
            next_value: 1,
        }
    }

    /// The next operation, or `None` when the budget is spent.
    pub fn next_op(&mut self) -> Option<Op> {
        if self.issued == self.config.ops {
            return None;
        }
        let id = self.issued;
        self.issued += 1;
        let key: Key = self.rng.below(self.config.keys);
        let roll = self.rng.below(100) as u8;
        let request = if roll < self.config.read_percent {
            Request::Read { key }
        } else if roll < self.config.read_percent + self.config.cas_percent {
            // Compare against a value some earlier write may have put there.
            let from = self.rng.between(1, self.next_value.max(1));
            Request::Cas {
                key,
                from,
                to: self.fresh_value(),
            }
        } else {
            Request::Write {
                key,
                value: self.fresh_value(),
            }
        };
        Some(Op { id, request })
    }

    fn fresh_value(&mut self) -> Value {
        let value = self.next_value;
        self.next_value += 1;
        value
    }

    /// How many operations have been handed out.
    pub fn issued(&self) -> u64 {
        self.issued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_values_are_unique() {
        let mut w = Workload::new(
            3,
            WorkloadConfig {
                ops: 1_000,
                ..WorkloadConfig::default()
            },
        );
        let mut seen = std::collections::BTreeSet::new();
        while let Some(op) = w.next_op() {
            if let Some(v) = op.request.written() {
                assert!(seen.insert(v), "value {v} written twice");
            }
        }
        assert!(seen.len() > 300, "the mix writes about half the time");
    }

    #[test]
    fn same_seed_same_operations() {
        let ops = |seed| {
            let mut w = Workload::new(seed, WorkloadConfig::default());
            std::iter::from_fn(move || w.next_op()).collect::<Vec<_>>()
        };
        assert_eq!(ops(5), ops(5));
        assert_ne!(ops(5), ops(6));
    }
}
