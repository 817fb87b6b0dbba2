//! The flags commands share: what one run is ([`ScenarioArgs`]), the clients'
//! patterns ([`ClientArgs`]), and the parsers of closed sets of names.

use std::path::PathBuf;

use clap::builder::TypedValueParser;

use models::client::{Backoff, BreakerConfig, RetryBudget};
use models::{Catalog, ModelInfo};
use sim_core::{Duration, FaultPlan};

use crate::config::{ClientSettings, ReplayFiles, RunConfig};
use crate::harness::Harness;
use crate::nemesis::Nemesis;
use crate::script::{Fit, Script};
use crate::workload::{KeyChoice, Mix, Rate, WorkloadConfig};
use anyhow::Context;

/// What one run is: shared by `run`, `sweep` and `shrink`.
#[derive(Clone, Debug, clap::Args)]
pub struct ScenarioArgs {
    /// The model (see `consim list`), bug variants included.
    #[arg(long)]
    pub model: String,
    /// The nemesis (see `consim list`).
    #[arg(long, default_value = "swarm", value_parser = nemesis())]
    pub scenario: Nemesis,
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// Number of clients.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub clients: u32,
    /// Replicas (default: the model's own; the same as `--param replicas=N`).
    #[arg(long)]
    pub replicas: Option<usize>,
    /// A model setting, `KEY=VALUE` (repeatable; `consim list` shows each model's).
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = crate::matrix::parse_setting)]
    pub params: Vec<(String, String)>,
    /// Switch on one of the model's bugs (repeatable; `consim list` shows them): the
    /// same as `--param NAME=true`.
    #[arg(long = "bug", value_name = "NAME")]
    pub bugs: Vec<String>,
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub capacity: CapacityArgs,
    /// Retry without idempotency keys (each attempt a new request id).
    #[arg(long)]
    pub no_idempotency: bool,
    /// Retry timed-out writes even without idempotency keys (unsafe: a write may
    /// apply twice).
    #[arg(long)]
    pub unsafe_retries: bool,
    /// How long each fault spell lasts, in milliseconds (default: 100 to 1,200, drawn
    /// per spell); see `consim list`.
    #[arg(long, value_name = "MS", value_parser = spell_ms())]
    pub spell_ms: Option<u64>,
    /// Apply the faults of this plan file (JSON) instead of generating them.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Perform the operations of this script file (JSON Lines, one operation per line;
    /// a failing seed's artifacts have one) instead of drawing them from the seed.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
}

impl ScenarioArgs {
    /// The files these flags replay.
    pub fn files(&self) -> ReplayFiles<'_> {
        ReplayFiles {
            plan: self.plan.as_deref(),
            script: self.script.as_deref(),
        }
    }
}

/// The workload's flags.
#[derive(Clone, Debug, clap::Args)]
pub struct WorkloadArgs {
    /// The workload mix (default: the model's own, see `consim list`).
    #[arg(long, value_parser = mix())]
    pub workload: Option<Mix>,
    /// Operations the clients perform in all (the final reads not counted; default
    /// 200). With --rate, a cap on the operations that arrive (default: none).
    #[arg(long, value_name = "N")]
    pub ops: Option<u64>,
    /// Keys the workload uses.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    pub keys: u64,
    /// Choose keys from a Zipf distribution with this exponent instead of uniformly.
    #[arg(long, value_name = "S")]
    pub zipf: Option<f64>,
    /// Out of 100: reads (the rest are writes, appends or cas).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub read_percent: u8,
    /// Out of 100: compare-and-sets (the kv workload only).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub cas_percent: u8,
    /// The longest pause a client takes between operations, in milliseconds (uniform;
    /// 0 is a tight closed loop). Sets the request rate: about clients / (latency +
    /// think/2) operations per second.
    #[arg(long, default_value_t = 0, conflicts_with = "rate")]
    pub think_ms: u64,
    /// Open loop: operations arrive at each client at this rate (per second, Poisson)
    /// for the whole fault window and queue there, however the store is doing.
    #[arg(long, value_name = "OPS_PER_S", allow_negative_numbers = true)]
    pub rate: Option<Rate>,
}

impl WorkloadArgs {
    /// The workload, of `model`'s own mix unless `--workload` says otherwise.
    pub fn config(&self, model: &ModelInfo) -> WorkloadConfig {
        let default_ops = if self.rate.is_some() { u64::MAX } else { 200 };
        WorkloadConfig {
            mix: self.workload.unwrap_or(model.workload),
            ops: self.ops.unwrap_or(default_ops),
            keys: self.keys,
            key_choice: match self.zipf {
                Some(s) => KeyChoice::Zipf { s },
                None => KeyChoice::Uniform,
            },
            read_percent: self.read_percent,
            cas_percent: self.cas_percent,
            think: Duration::from_millis(self.think_ms),
            rate: self.rate,
        }
    }
}

impl ScenarioArgs {
    /// The run these flags describe, with `seed`, checked before it runs.
    pub fn config<C: Catalog + Clone + 'static>(
        &self,
        harness: &Harness<C>,
        seed: u64,
    ) -> anyhow::Result<RunConfig> {
        let mut config = RunConfig::new(&self.model, seed);
        let info = harness.info(&config)?;
        config.nemesis = self.scenario;
        if let Some(path) = &self.plan {
            config.plan = Some(FaultPlan::load(path)?);
        }
        let workload = self.workload.config(&info);
        config.workload = Some(workload);
        config.clients = self.clients;
        config.params.settings = self.params.iter().cloned().collect();
        if let Some(n) = self.replicas {
            config.params = config.params.with("replicas", n);
        }
        for bug in &self.bugs {
            check_bug(&info, bug)?;
            config.params = config.params.with(bug, true);
        }
        config.client = self.client.settings();
        config.client.idempotency = !self.no_idempotency;
        config.client.retry.retry_unsafe = self.unsafe_retries;
        config.spell = self.spell_ms.map(Duration::from_millis);
        config.capacity = self.capacity.capacity();
        if let Some(path) = &self.script {
            let script = Script::load(path)?;
            let fit = Fit {
                clients: config.clients as usize,
                keys: workload.keys,
                mix: workload.mix,
            };
            script
                .validate(fit)
                .with_context(|| path.display().to_string())?;
            config.script = Some(script);
        }
        harness.validate(&config)?;
        Ok(config)
    }
}

/// That `bug` is one of `model`'s bugs, or what its bugs are.
fn check_bug(model: &ModelInfo, bug: &str) -> anyhow::Result<()> {
    let bugs: Vec<&str> = model
        .settings
        .iter()
        .filter(|s| s.bug)
        .map(|s| s.name)
        .collect();
    if bugs.contains(&bug) {
        return Ok(());
    }
    if bugs.is_empty() {
        anyhow::bail!(
            "--bug {bug}: model `{}` has no bugs to switch on",
            model.name
        );
    }
    anyhow::bail!(
        "--bug {bug}: model `{}` has no such bug; its bugs are: {}",
        model.name,
        bugs.join(", ")
    )
}

/// The replicas' capacity (off unless `--service-ms` is given).
#[derive(Clone, Debug, clap::Args)]
pub struct CapacityArgs {
    /// Give every replica a capacity: handling one message takes this long on average,
    /// in milliseconds (e.g. 0.5), one at a time, and what arrives while a replica is
    /// busy waits in its queue. Off by default (infinite capacity).
    #[arg(long, value_name = "MS", value_parser = parse_service_ms, allow_negative_numbers = true)]
    pub service_ms: Option<f64>,
    /// How service times are distributed around --service-ms: `exponential` (capped at
    /// 20 times the mean) or `constant`.
    #[arg(long, value_name = "SHAPE", default_value = "exponential",
          value_parser = ["exponential", "constant"], requires = "service_ms")]
    pub service_dist: String,
    /// How many messages may wait at a replica with a capacity; what arrives to a full
    /// queue is dropped.
    #[arg(long, value_name = "N", default_value_t = 1_000, requires = "service_ms",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub queue_bound: u32,
}

impl CapacityArgs {
    /// The capacity these flags give every replica, if any.
    pub fn capacity(&self) -> Option<sim_core::Capacity> {
        let mean = Duration::from_nanos((self.service_ms? * 1e6).round() as u64);
        let service = match self.service_dist.as_str() {
            "constant" => sim_core::Latency::constant(mean),
            _ => sim_core::Latency::Exponential {
                min: Duration::ZERO,
                mean,
                max: Duration::from_nanos(mean.as_nanos().saturating_mul(20)),
            },
        };
        Some(sim_core::Capacity {
            service,
            queue_bound: self.queue_bound,
        })
    }
}

/// A mean service time in milliseconds: above zero (at least a microsecond), at most
/// a minute.
pub fn parse_service_ms(text: &str) -> Result<f64, String> {
    let ms: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of milliseconds"))?;
    if !(ms.is_finite() && (0.001..=60_000.0).contains(&ms)) {
        return Err(format!(
            "a service time is a number of milliseconds from 0.001 to 60000, not {text}"
        ));
    }
    Ok(ms)
}

/// The client patterns `run`, `sweep`, `shrink` and `matrix` share.
#[derive(Clone, Debug, clap::Args)]
pub struct ClientArgs {
    /// How long a client waits for an answer, in milliseconds.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: u64,
    /// Attempts per operation (1: no retries).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub attempts: u32,
    /// Open a circuit breaker after this many failed operations in a row.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub breaker: Option<u32>,
    /// How a client waits between attempts: `none` (one attempt, whatever --attempts
    /// says), `immediate`, `fixed` (20 ms), `exponential` (20 ms doubling, at most
    /// 400 ms, no jitter), or that with `full-jitter` (uniform up to it; the default),
    /// `equal-jitter` (half of it plus uniform up to the other half) or
    /// `decorrelated-jitter` (uniform from 20 ms to three times the last wait).
    #[arg(long, value_name = "POLICY", value_parser = retry_choice())]
    pub retry: Option<RetryChoice>,
    /// Retry at most this share of the operations a client begins (a token bucket of
    /// ten retries, refilled by SHARE per operation), e.g. 0.1.
    #[arg(long, value_name = "SHARE", value_parser = parse_share, allow_negative_numbers = true)]
    pub retry_budget: Option<RetryBudget>,
}

impl ClientArgs {
    /// The patterns these flags turn on.
    pub fn settings(&self) -> ClientSettings {
        let mut client = ClientSettings {
            timeout: Duration::from_millis(self.timeout_ms),
            ..ClientSettings::default()
        };
        client.retry.max_attempts = self.attempts;
        match self.retry {
            Some(RetryChoice::None) => client.retry.max_attempts = 1,
            Some(RetryChoice::After(backoff)) => client.retry.backoff = backoff,
            None => {}
        }
        client.retry.budget = self.retry_budget;
        client.breaker = self.breaker.map(|threshold| BreakerConfig {
            threshold,
            cooldown: Duration::from_millis(1_000),
        });
        client
    }
}

/// What `--retry` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryChoice {
    /// One attempt per operation.
    None,
    /// Retries, after waits of this policy.
    After(Backoff),
}

/// A retry policy, by name: `none`, or a [`Backoff`].
pub fn retry_choice() -> impl TypedValueParser<Value = RetryChoice> {
    let names: Vec<&'static str> = std::iter::once("none")
        .chain(Backoff::ALL.iter().map(|(name, _)| *name))
        .collect();
    clap::builder::PossibleValuesParser::new(names).map(|name| {
        Backoff::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(RetryChoice::None, |&(_, backoff)| {
                RetryChoice::After(backoff)
            })
    })
}

/// A retry budget's share of operations: a number above 0 and at most 1, to the
/// thousandth.
pub fn parse_share(text: &str) -> Result<RetryBudget, String> {
    let share: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    let per_mille = (share * 1000.0).round();
    if !(share > 0.0 && share <= 1.0) || per_mille < 1.0 {
        return Err(format!(
            "a retry budget is a share of operations above 0 and at most 1 (at least 0.001), not {text}"
        ));
    }
    Ok(RetryBudget {
        per_mille: per_mille as u32,
    })
}

/// A nemesis, by name.
pub fn nemesis() -> impl TypedValueParser<Value = Nemesis> {
    clap::builder::PossibleValuesParser::new(Nemesis::names())
        .map(|name| Nemesis::from_name(&name).expect("a possible value is a nemesis"))
}

/// A workload mix, by name.
pub fn mix() -> impl TypedValueParser<Value = Mix> {
    clap::builder::PossibleValuesParser::new(Mix::ALL.map(Mix::name))
        .map(|name| Mix::from_name(&name).expect("a possible value is a mix"))
}

/// Spells from 1 ms to 3 s: a spell must fit the 4 s fault window after its start
/// (50 to 400 ms in).
pub fn spell_ms() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=3_000)
}

/// A number of bytes, with K, M or G.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let (digits, scale) = match text.trim().to_ascii_uppercase().chars().last() {
        Some('K') => (&text[..text.len() - 1], 1u64 << 10),
        Some('M') => (&text[..text.len() - 1], 1 << 20),
        Some('G') => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            format!("expected a positive number of bytes such as 2G or 500M, got {text:?}")
        })
}
