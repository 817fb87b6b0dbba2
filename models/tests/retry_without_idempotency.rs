//! `retry-without-idempotency` caught: under message loss (no duplication), a write
//! whose answer was lost is retried and applied twice, so an append shows up twice in
//! a list. With idempotency keys (`single-copy` itself) the same plans never duplicate
//! one.

mod quorum_support;

use models::kv::{Outcome, Reply, Request};
use models::retry_without_idempotency::RetryWithoutIdempotency;
use models::single_copy::SingleCopy;
use models::{Model, Params};
use quorum_support::{Gen, Nemesis, Record, RunSpec, plan, run};
use sim_core::{Fault, FaultPlan, NodeId, Probability};

fn appends(g: &mut Gen, _client: usize) -> Request {
    let key = g.rng.below(2);
    if g.rng.below(2) == 0 {
        Request::Read { key }
    } else {
        Request::Append {
            key,
            value: g.value(),
        }
    }
}

/// The first read that shows an element twice.
fn duplicate(history: &[Record]) -> Option<String> {
    history.iter().find_map(|r| match &r.outcome {
        Outcome::Ok {
            reply: Reply::ReadList(list),
            ..
        } => {
            let mut sorted = list.clone();
            sorted.sort_unstable();
            sorted.dedup();
            (sorted.len() != list.len()).then(|| format!("{r:?} holds an element twice"))
        }
        _ => None,
    })
}

/// Bursts of message loss, without duplication (which would duplicate requests by
/// itself).
fn loss_only(seed: u64) -> FaultPlan {
    let mut plan = plan(Nemesis::LossDuplication, seed, &[NodeId(0)]);
    for timed in &mut plan.faults {
        if let Fault::AllLinks(config) = &mut timed.fault {
            config.duplicate = Probability::ZERO;
        }
    }
    plan
}

fn first_duplicate<M: Model>(model: &M, seeds: u64) -> Option<(u64, String)> {
    (0..seeds).find_map(|seed| {
        let spec = RunSpec::new(seed, loss_only(seed), 150);
        let (_, history) = run(model, &spec, appends, |_| {});
        duplicate(&history).map(|d| (seed, d))
    })
}

#[test]
fn retry_without_idempotency_is_caught_within_20_seeds_of_message_loss() {
    let model = RetryWithoutIdempotency;
    let found = first_duplicate(&model, 20);
    assert!(found.is_some(), "no duplicate in 20 seeds");
}

#[test]
fn single_copy_with_idempotency_keys_never_duplicates_under_the_same_plans() {
    let model = SingleCopy;
    assert_eq!(first_duplicate(&model, 200), None);
}

#[test]
fn more_than_one_replica_is_refused() {
    let params = Params::default().with("replicas", 2);
    let err = models::retry_without_idempotency::RETRY_WITHOUT_IDEMPOTENCY
        .model(&params)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "model `retry-without-idempotency`: setting `replicas` is `2`; it takes exactly 1"
    );
}

/// Found while writing the test above (and by `consim sweep` under swarm): a network
/// duplicate of an older append that arrives after the client's next write must not be
/// applied again. Seed 10 of the loss-and-duplication plans used to show `31` twice,
/// until `Dedup::seen` answered requests older than the client's last.
#[test]
fn single_copy_does_not_apply_a_late_duplicate_of_an_older_request() {
    let model = SingleCopy;
    let spec = RunSpec::new(10, plan(Nemesis::LossDuplication, 10, &[NodeId(0)]), 150);
    let (_, history) = run(&model, &spec, appends, |_| {});
    assert_eq!(duplicate(&history), None);
}
