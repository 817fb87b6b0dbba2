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
//! use consim::run::run;
//! use consim::strategies::scenario;
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

use models::kv::Mix;
use models::settings::{Kind, SettingInfo};
use models::{Builtin, Catalog, ModelInfo, Params};
use proptest::prelude::*;
use sim_core::Duration;

use crate::config::{ClientSettings, RunConfig};
use crate::nemesis::Nemesis;
use crate::workload::{KeyChoice, Rate, WorkloadConfig};

/// Any nemesis; shrinks towards `none`.
pub fn nemesis() -> impl Strategy<Value = Nemesis> {
    (0..Nemesis::ALL.len()).prop_map(|i| Nemesis::ALL[i])
}

/// A workload of `mix`: 1–300 operations over 1–8 keys, uniform or Zipf, 0–90%
/// reads, an optional think time; or, open-loop, 1–40 arrivals per second per client
/// (then the operations are a cap). Shrinks towards a closed loop.
pub fn workload(mix: Mix) -> impl Strategy<Value = WorkloadConfig> {
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

/// Settings of `model` that it accepts, drawn from its declaration
/// ([`models::ModelInfo::settings`]): each setting at its default, or anywhere in the
/// range the declaration gives property tests to explore; a combination the model
/// refuses (quorums that do not meet, a heartbeat above the election timeout) is drawn
/// again. Shrinks towards the defaults.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
/// use consim::strategies::params;
/// let mut runner = TestRunner::deterministic();
/// let p = params("dynamo").new_tree(&mut runner).unwrap().current();
/// assert!(models::dynamo::DYNAMO.model(&p).is_ok());
/// ```
pub fn params(model: &'static str) -> BoxedStrategy<Params> {
    params_in(Builtin, model)
}

/// [`params`] of a model of `catalog` (a [`models::Declaration`] of your own, say).
///
/// # Panics
///
/// If `catalog` has no model called `model`.
pub fn params_in<C: Catalog + Clone + 'static>(
    catalog: C,
    model: &'static str,
) -> BoxedStrategy<Params> {
    let info = find(&catalog, model);
    let settings: Vec<BoxedStrategy<Option<(String, String)>>> = info
        .settings
        .iter()
        .filter(|s| !s.bug)
        .map(setting)
        .collect();
    settings
        .prop_map(|pairs| Params {
            settings: pairs.into_iter().flatten().collect(),
        })
        .prop_filter("the model accepts its settings", move |p| {
            catalog.visit(model, p, Accepts).is_ok()
        })
        .boxed()
}

/// What `catalog` says of `model`.
fn find<C: Catalog>(catalog: &C, model: &str) -> ModelInfo {
    catalog
        .find(model)
        .unwrap_or_else(|| panic!("{}", catalog.unknown(model)))
}

/// One setting: unset (its default), or a value it takes.
fn setting(info: &'static SettingInfo) -> BoxedStrategy<Option<(String, String)>> {
    let name = info.name;
    match info.kind {
        Kind::Flag => prop::option::of(any::<bool>())
            .prop_map(move |b| b.map(|b| (name.to_owned(), b.to_string())))
            .boxed(),
        Kind::Count | Kind::OptionalCount => prop::option::of(info.explore.0..=info.explore.1)
            .prop_map(move |v| v.map(|v| (name.to_owned(), v.to_string())))
            .boxed(),
    }
}

/// A visit that only builds the model.
struct Accepts;

impl models::ModelVisitor for Accepts {
    type Output = ();
    fn visit<M: models::Model>(self, _: M, _: &ModelInfo) {}
}

/// A whole scenario of `model`: any seed, nemesis, workload, model settings
/// ([`params`]), 1–7 clients, client settings, and fault spells of the nemesis's own
/// lengths or of 50–2,000 ms.
pub fn scenario(model: &'static str) -> impl Strategy<Value = RunConfig> {
    scenario_in(Builtin, model)
}

/// [`scenario`] of a model of `catalog` (a [`models::Declaration`] of your own, say):
/// run each with [`crate::run::run_in`] and the same catalog.
///
/// # Panics
///
/// If `catalog` has no model called `model`.
pub fn scenario_in<C: Catalog + Clone + 'static>(
    catalog: C,
    model: &'static str,
) -> impl Strategy<Value = RunConfig> {
    let mix = find(&catalog, model).workload;
    (
        any::<u64>(),
        nemesis(),
        workload(mix),
        params_in(catalog, model),
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
