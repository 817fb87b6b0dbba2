//! proptest strategies for whole scenarios, for property tests in CI.
//!
//! A scenario is data — a model, a nemesis, a workload, client settings, a seed — so
//! proptest can generate it, and a failing case shrinks towards simpler settings
//! (fewer operations and clients, no faults, a smaller seed) before it is reported.
//! Every generated run is still deterministic: the failing case proptest prints is a
//! `consim run` command away.
//!
//! In a test file, under `#[test]`:
//!
//! ```
//! use proptest::prelude::*;
//! use proptest::test_runner::{Config, TestRunner};
//! use scenarios::run::run;
//! use scenarios::strategies::scenario;
//!
//! let mut runner = TestRunner::new(Config::with_cases(8));
//! runner
//!     .run(&scenario("single-copy"), |config| {
//!         let report = run(&config).unwrap();
//!         prop_assert!(!report.failed(), "{:?}", report.verdicts);
//!         Ok(())
//!     })
//!     .unwrap();
//! ```

use std::collections::BTreeMap;

use models::Params;
use proptest::prelude::*;
use sim_core::Duration;

use crate::nemesis::Nemesis;
use crate::run::{ClientSettings, RunConfig, default_mix};
use crate::workload::{KeyChoice, Rate, WorkloadConfig};

/// Any nemesis; shrinks towards `none`.
pub fn nemesis() -> impl Strategy<Value = Nemesis> {
    (0..Nemesis::ALL.len()).prop_map(|i| Nemesis::ALL[i])
}

/// A workload of `model`'s own mix: 1–300 operations over 1–8 keys, uniform or Zipf,
/// 0–90% reads, an optional think time; or, open-loop, 1–40 arrivals per second per
/// client (then the operations are a cap). Shrinks towards a closed loop.
pub fn workload(model: &str) -> impl Strategy<Value = WorkloadConfig> {
    let mix = default_mix(model);
    (
        1u64..300,
        1u64..8,
        prop::option::of(0.5f64..2.0),
        0u8..90,
        0u64..50,
        prop::option::of(1u32..40),
    )
        .prop_map(
            move |(ops, keys, zipf, read_percent, think_ms, rate)| WorkloadConfig {
                mix,
                ops,
                keys,
                key_choice: zipf.map_or(KeyChoice::Uniform, |s| KeyChoice::Zipf { s }),
                read_percent,
                cas_percent: (90 - read_percent).min(10),
                think: Duration::from_millis(think_ms),
                rate: rate.map(|r| Rate::new(f64::from(r)).expect("1 to 40 is a rate")),
            },
        )
}

/// Client settings: 1–4 attempts, a 100–1000 ms timeout, an optional breaker;
/// idempotency keys on (turning them off is a bug variant, not a setting to vary).
pub fn client() -> impl Strategy<Value = ClientSettings> {
    (1u32..5, 100u64..1_000, prop::option::of(1u32..6)).prop_map(|(attempts, timeout, breaker)| {
        let mut client = ClientSettings {
            timeout: Duration::from_millis(timeout),
            ..ClientSettings::default()
        };
        client.retry.max_attempts = attempts;
        client.breaker = breaker.map(|threshold| models::client::BreakerConfig {
            threshold,
            cooldown: Duration::from_millis(1_000),
        });
        client
    })
}

/// Settings of `model` that it accepts: 1–7 replicas where it has a choice, and its
/// own settings over their sensible ranges — quorum sizes for ABD and Dynamo; election,
/// heartbeat, drift bound and lease (within the bound its docs give), CheckQuorum and
/// PreVote for Raft. Shrinks towards the model's defaults (`None` replicas, no
/// settings).
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
/// use scenarios::strategies::params;
/// let mut runner = TestRunner::deterministic();
/// let p = params("dynamo").new_tree(&mut runner).unwrap().current();
/// assert!(models::dynamo::Dynamo::new(p, false).is_ok());
/// ```
pub fn params(model: &'static str) -> BoxedStrategy<Params> {
    let replicas = prop::option::of(1usize..8);
    match model {
        "raft" | "raft-commit-old-term" | "raft-stale-read" | "raft-ack-before-sync" => (
            replicas,
            prop::option::of((
                100u64..400,
                1u64..100,
                0u64..200_000,
                prop::option::of(1u64..=100),
            )),
            any::<(bool, bool)>(),
        )
            .prop_map(move |(replicas, timing, (check_quorum, no_pre_vote))| {
                let mut params = match timing {
                    None => params_of(replicas, &[]),
                    Some(timing) => raft_timing(replicas, timing),
                };
                // Off the defaults only when drawn so (false shrinks to the defaults).
                if check_quorum {
                    params.settings.insert("check-quorum".into(), "true".into());
                }
                if no_pre_vote {
                    params.settings.insert("pre-vote".into(), "false".into());
                }
                params
            })
            .boxed(),
        "abd" | "abd-no-write-back" => (1usize..8, prop::option::of((0usize..7, 0usize..7)))
            .prop_map(move |(n, quorums)| match quorums {
                None => params_of(Some(n), &[]),
                // Any r, w in 1..=n with r + w > n.
                Some((r, w)) => {
                    let r = r % n + 1;
                    let w = (w % n + 1).max(n + 1 - r);
                    params_of(Some(n), &[("r", r as u64), ("w", w as u64)])
                }
            })
            .boxed(),
        "primary-async" | "session-token-ignored" => {
            replicas.prop_map(move |r| params_of(r, &[])).boxed()
        }
        "dynamo" | "dynamo-crdt" => (
            1usize..8,
            prop::option::of((0usize..7, 0usize..7, 0usize..7)),
        )
            .prop_map(move |(replicas, quorums)| match quorums {
                None => params_of(Some(replicas), &[]),
                Some((n, r, w)) => {
                    let n = n % replicas + 1;
                    let (r, w) = (r % n + 1, w % n + 1);
                    params_of(
                        Some(replicas),
                        &[("n", n as u64), ("r", r as u64), ("w", w as u64)],
                    )
                }
            })
            .boxed(),
        _ => Just(Params::default()).boxed(),
    }
}

/// Raft's timing settings from drawn numbers: heartbeats below the election timeout,
/// and a lease (if any) within the bound its drift allows.
fn raft_timing(
    replicas: Option<usize>,
    (election, heartbeat_percent, drift, lease_percent): (u64, u64, u64, Option<u64>),
) -> Params {
    let heartbeat = (election * heartbeat_percent / 100).clamp(1, election - 1);
    let bound =
        u128::from(election) * u128::from(1_000_000 - drift) / u128::from(1_000_000 + drift);
    let lease = lease_percent.map_or(0, |p| (bound as u64 * p / 100).max(1));
    params_of(
        replicas,
        &[
            ("election-ms", election),
            ("heartbeat-ms", heartbeat),
            ("drift-ppm", drift),
            ("lease-ms", lease),
        ],
    )
}

/// Model settings from numbers.
fn params_of(replicas: Option<usize>, settings: &[(&str, u64)]) -> Params {
    Params {
        replicas,
        settings: settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// A whole scenario of `model`: any seed, nemesis, workload, model settings
/// ([`params`]), 1–7 clients, client settings, and fault spells of the nemesis's own
/// lengths or of 50–2,000 ms.
pub fn scenario(model: &'static str) -> impl Strategy<Value = RunConfig> {
    (
        any::<u64>(),
        nemesis(),
        workload(model),
        params(model),
        (1u32..8, client()),
        prop::option::of(50u64..2_000),
    )
        .prop_map(
            move |(seed, nemesis, workload, params, (clients, client), spell_ms)| {
                let mut config = RunConfig::new(model, seed);
                config.nemesis = nemesis;
                config.workload = Some(workload);
                config.params = params;
                config.clients = clients;
                config.client = client;
                config.spell = spell_ms.map(Duration::from_millis);
                config
            },
        )
}
