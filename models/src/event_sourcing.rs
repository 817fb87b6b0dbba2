//! `event-sourced`: an append-only event log and projections built from it, delivered
//! at least once; with its bugs `non-idempotent-consumer` and
//! `projection-read-your-writes`.
//!
//! Event sourcing keeps state as the sequence of changes ("persist state changes as
//! immutable events; replayability simplifies recovery after a crash"), and CQRS
//! serves reads from *projections*: read models that consumers build from the events,
//! asynchronously. The machinery is [`crate::primary_async`]'s, with followers as
//! consumers ([`Projection::Rebuilt`]):
//!
//! - `n0` holds the **event log**: each write is validated against the state the log
//!   folds to (a cas that does not match changes nothing), appended and synced before
//!   it is acknowledged, with its position as the session token. It never forgets.
//! - `n1…` are **consumers**, each with a projection in memory. The log ships events in
//!   batches and ships again what a consumer has not acknowledged in time, so an event
//!   may arrive twice (**at-least-once delivery**); a consumer applies an event only if
//!   it is the next one it lacks (**idempotent by position**). A consumer that crashes
//!   restarts with an empty projection and asks for the log again from the start
//!   (**replay**).
//! - Clients write to the log and read from a projection. A read carries the client's
//!   session token (the position of the last write or read it saw) and waits until the
//!   projection has applied that far: **read-your-writes through a projection**, and
//!   monotonic reads across projections.
//!
//! What it promises is what `primary-async` does, every guarantee but linearizability
//! (a projection behind the log serves other clients' old state).
//!
//! **The ground truth beside the history** is [`ProjectionWatch`], the model's
//! invariants: after every event, each live consumer's projection must be the fold of
//! the events it has applied, and those events a prefix of the log. A projection that
//! has applied an event twice breaks it (`projection differs from the fold`), at the
//! moment it happens, whatever the reads later show.
//!
//! # The variants
//!
//! - `non-idempotent-consumer`: a consumer applies every event delivered, those it
//!   already has included; a batch shipped again (its acknowledgement was late or
//!   lost) appends the same elements twice.
//! - `projection-read-your-writes`: consumers serve reads at once, whatever the token:
//!   a client that writes and then reads a projection that lags does not see its write.

use std::collections::BTreeMap;

use crate::client::Routing;
use crate::kv::{Key, Mix, Request, Store};
use crate::primary_async::{
    PRIMARY, PrimaryAsyncConfig, PrimaryAsyncReplica, PrimaryAsyncSettings, Projection,
};
use crate::{Declaration, Guarantee, Invariants, Model, ModelInfo};

/// event-sourced in the catalog.
pub const EVENT_SOURCED: Declaration<PrimaryAsyncSettings, EventSourced> = Declaration {
    info: ModelInfo::new(
        "event-sourced",
        "an event log and projections rebuilt from it by replay; events delivered at least once, applied once by position; reads wait for the session token",
    )
    .promises(Guarantee::ALL_BUT_LINEARIZABLE)
    .scenario("crash-restart")
    .workload(Mix::ListAppend),
    build: |s| Ok(EventSourced::new(s, true, true)),
};

/// non-idempotent-consumer in the catalog.
pub const NON_IDEMPOTENT_CONSUMER: Declaration<PrimaryAsyncSettings, EventSourced> = Declaration {
    info: ModelInfo::new(
        "non-idempotent-consumer",
        "event-sourced whose consumers apply an event delivered again a second time",
    )
    .variant_of("event-sourced", &[Guarantee::Convergence])
    // Batches are shipped again with no fault at all: one that overtakes an earlier
    // one shows the consumer a gap, and an acknowledgement later than the
    // retransmission timeout looks lost (pinned by scenarios'
    // `the_bug_zoos_seed_statistics`).
    .scenario("none")
    .workload(Mix::ListAppend),
    build: |s| Ok(EventSourced::new(s, false, true)),
};

/// projection-read-your-writes in the catalog.
pub const PROJECTION_READ_YOUR_WRITES: Declaration<PrimaryAsyncSettings, EventSourced> =
    Declaration {
        info: ModelInfo::new(
            "projection-read-your-writes",
            "event-sourced whose projections serve reads without waiting for the session token",
        )
        .variant_of("event-sourced", &[Guarantee::ReadYourWrites])
        .scenario("none")
        .workload(Mix::ListAppend),
        build: |s| Ok(EventSourced::new(s, true, false)),
    };

/// The model the runner builds.
#[derive(Clone, Copy, Debug)]
pub struct EventSourced {
    config: PrimaryAsyncConfig,
}

impl EventSourced {
    /// `idempotent: false` is `non-idempotent-consumer`; `check_tokens: false` is
    /// `projection-read-your-writes`.
    pub fn new(settings: PrimaryAsyncSettings, idempotent: bool, check_tokens: bool) -> Self {
        EventSourced {
            config: PrimaryAsyncConfig {
                replicas: settings.replicas as u32,
                check_tokens,
                projection: Projection::Rebuilt { idempotent },
            },
        }
    }
}

impl Model for EventSourced {
    type Replica = PrimaryAsyncReplica;

    fn replicas(&self) -> Vec<PrimaryAsyncConfig> {
        vec![self.config; self.config.replicas as usize]
    }

    fn routing(&self) -> Routing {
        Routing::ReadsHomeWritesLeader
    }

    fn invariants(&self) -> Option<Box<dyn Invariants<PrimaryAsyncReplica>>> {
        Some(Box::new(ProjectionWatch::default()))
    }
}

/// The fold of one consumer's events so far, kept up to date as it applies more.
#[derive(Debug, Default)]
struct Fold {
    events: usize,
    store: Store,
}

/// Each consumer's projection against the fold of the events it has applied, after
/// every event of the run.
#[derive(Debug, Default)]
pub struct ProjectionWatch {
    folds: BTreeMap<usize, Fold>,
}

impl ProjectionWatch {
    fn check_consumer(
        &mut self,
        i: usize,
        consumer: &PrimaryAsyncReplica,
        log: Option<&imbl::Vector<Request>>,
    ) -> Result<(), String> {
        let applied = consumer.log();
        let fold = self.folds.entry(i).or_default();
        if applied.len() < fold.events {
            *fold = Fold::default(); // It restarted: its projection is being rebuilt.
        }
        for (at, request) in applied.iter().enumerate().skip(fold.events) {
            // Each event the consumer applied is the log's event at that position
            // (checked when it is applied, if the log's node is up then).
            if let Some(event) = log.and_then(|log| log.get(at))
                && event != request
            {
                return Err(format!(
                    "projection not from the log: n{i}'s event {} is {request:?}, the log's is {event:?}",
                    at + 1
                ));
            }
            fold.store.apply(request);
        }
        fold.events = applied.len();
        match differing_key(&fold.store, consumer.store()) {
            None => Ok(()),
            Some(key) => Err(format!(
                "projection differs from the fold: n{i} has applied the log's first {} events, which fold key {key} to {}, but its projection holds {}",
                fold.events,
                shown(&fold.store, key),
                shown(consumer.store(), key)
            )),
        }
    }
}

/// The first key on which two stores differ.
fn differing_key(a: &Store, b: &Store) -> Option<Key> {
    let keys: std::collections::BTreeSet<Key> = a.iter().chain(b.iter()).map(|(&k, _)| k).collect();
    keys.into_iter().find(|&k| a.get(k) != b.get(k))
}

/// A key's value in `store`, as a read shows it.
fn shown(store: &Store, key: Key) -> String {
    match store.read(key) {
        crate::kv::Reply::ReadList(list) => {
            let items: Vec<String> = list.iter().map(ToString::to_string).collect();
            format!("[{}]", items.join(" "))
        }
        crate::kv::Reply::Read(Some(v)) => v.to_string(),
        crate::kv::Reply::Read(None) => "nothing".to_owned(),
        other => format!("{other:?}"),
    }
}

impl Invariants<PrimaryAsyncReplica> for ProjectionWatch {
    fn check(
        &mut self,
        now: sim_core::Time,
        replicas: &[Option<&PrimaryAsyncReplica>],
    ) -> Result<(), String> {
        let log = replicas
            .get(PRIMARY.0 as usize)
            .copied()
            .flatten()
            .map(PrimaryAsyncReplica::log);
        for (i, replica) in replicas.iter().enumerate().skip(1) {
            match replica {
                Some(consumer) => self
                    .check_consumer(i, consumer, log)
                    .map_err(|e| format!("{e} (at {now})"))?,
                None => {
                    self.folds.remove(&i);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::{NodeId, Time};

    fn append(value: u64) -> Request {
        Request::Append { key: 1, value }
    }

    fn folded(events: &[Request]) -> Store {
        let mut store = Store::default();
        for e in events {
            store.apply(e);
        }
        store
    }

    #[test]
    fn a_projection_with_an_event_applied_twice_differs_from_the_fold() {
        let log = [append(1), append(2)];
        let primary = PrimaryAsyncReplica::holding(NodeId(0), &log, folded(&log));
        // The consumer applied both events, and the second one again.
        let twice = folded(&[append(1), append(2), append(2)]);
        let consumer = PrimaryAsyncReplica::holding(NodeId(1), &log, twice);
        let mut watch = ProjectionWatch::default();
        let broken = watch
            .check(Time::ZERO, &[Some(&primary), Some(&consumer)])
            .unwrap_err();
        assert!(
            broken.starts_with("projection differs from the fold: n1 has applied the log's first 2 events, which fold key 1 to [1 2], but its projection holds [1 2 2]"),
            "{broken}"
        );
    }

    #[test]
    fn a_projection_behind_the_log_or_rebuilding_is_fine() {
        let log = [append(1), append(2), append(3)];
        let primary = PrimaryAsyncReplica::holding(NodeId(0), &log, folded(&log));
        let behind = PrimaryAsyncReplica::holding(NodeId(1), &log[..2], folded(&log[..2]));
        let mut watch = ProjectionWatch::default();
        assert_eq!(
            watch.check(Time::ZERO, &[Some(&primary), Some(&behind)]),
            Ok(())
        );
        // Restarted: an empty projection, replaying from the start.
        let empty = PrimaryAsyncReplica::holding(NodeId(1), &[], Store::default());
        assert_eq!(
            watch.check(Time::ZERO, &[Some(&primary), Some(&empty)]),
            Ok(())
        );
        let again = PrimaryAsyncReplica::holding(NodeId(1), &log[..1], folded(&log[..1]));
        assert_eq!(
            watch.check(Time::ZERO, &[Some(&primary), Some(&again)]),
            Ok(())
        );
    }

    /// The near miss of an event applied twice: a log that holds the same event twice
    /// (two requests appending one value), applied once each, folds to the same
    /// repeated value, and is fine.
    #[test]
    fn an_event_the_log_holds_twice_applied_once_each_is_fine() {
        let log = [append(1), append(2), append(2)];
        let primary = PrimaryAsyncReplica::holding(NodeId(0), &log, folded(&log));
        let consumer = PrimaryAsyncReplica::holding(NodeId(1), &log, folded(&log));
        let mut watch = ProjectionWatch::default();
        assert_eq!(
            watch.check(Time::ZERO, &[Some(&primary), Some(&consumer)]),
            Ok(())
        );
    }

    #[test]
    fn events_that_are_not_the_logs_are_caught() {
        let log = [append(1), append(2)];
        let primary = PrimaryAsyncReplica::holding(NodeId(0), &log, folded(&log));
        let other = [append(1), append(9)];
        let consumer = PrimaryAsyncReplica::holding(NodeId(1), &other, folded(&other));
        let mut watch = ProjectionWatch::default();
        let broken = watch
            .check(Time::ZERO, &[Some(&primary), Some(&consumer)])
            .unwrap_err();
        assert!(
            broken.starts_with("projection not from the log: n1's event 2"),
            "{broken}"
        );
        // The near miss: the same events as the log's, in a log that has grown since.
        let longer = [append(1), append(2), append(3)];
        let primary = PrimaryAsyncReplica::holding(NodeId(0), &longer, folded(&longer));
        let consumer = PrimaryAsyncReplica::holding(NodeId(1), &log, folded(&log));
        assert_eq!(
            ProjectionWatch::default().check(Time::ZERO, &[Some(&primary), Some(&consumer)]),
            Ok(())
        );
    }
}
