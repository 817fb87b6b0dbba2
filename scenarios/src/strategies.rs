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

use proptest::prelude::*;
use sim_core::Duration;

use crate::nemesis::Nemesis;
use crate::run::{ClientSettings, RunConfig, default_mix};
use crate::workload::{KeyChoice, WorkloadConfig};

/// Any nemesis; shrinks towards `none`.
pub fn nemesis() -> impl Strategy<Value = Nemesis> {
    (0..Nemesis::ALL.len()).prop_map(|i| Nemesis::ALL[i])
}

/// A workload of `model`'s own mix: 1–300 operations over 1–8 keys, uniform or Zipf,
/// 0–90% reads, an optional think time.
pub fn workload(model: &str) -> impl Strategy<Value = WorkloadConfig> {
    let mix = default_mix(model);
    (
        1u64..300,
        1u64..8,
        prop::option::of(0.5f64..2.0),
        0u8..90,
        0u64..50,
    )
        .prop_map(
            move |(ops, keys, zipf, read_percent, think_ms)| WorkloadConfig {
                mix,
                ops,
                keys,
                key_choice: zipf.map_or(KeyChoice::Uniform, |s| KeyChoice::Zipf { s }),
                read_percent,
                cas_percent: (90 - read_percent).min(10),
                think: Duration::from_millis(think_ms),
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

/// A whole scenario of `model`: any seed, nemesis, workload, 1–8 clients and client
/// settings.
pub fn scenario(model: &'static str) -> impl Strategy<Value = RunConfig> {
    (any::<u64>(), nemesis(), workload(model), 1u32..8, client()).prop_map(
        move |(seed, nemesis, workload, clients, client)| {
            let mut config = RunConfig::new(model, seed);
            config.nemesis = nemesis;
            config.workload = Some(workload);
            config.clients = clients;
            config.client = client;
            config
        },
    )
}
