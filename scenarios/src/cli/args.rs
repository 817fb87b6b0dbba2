//! The flags commands share: what one run is ([`ScenarioArgs`]), the clients'
//! patterns ([`ClientArgs`]), and the parsers of closed sets of names.

use std::path::PathBuf;

use clap::builder::TypedValueParser;

use models::client::{Backoff, BreakerConfig, DoubleSubmit, RetryBudget};
use models::{Catalog, ModelInfo};
use sim_core::{Duration, FaultPlan};

use crate::config::{ClientSettings, ReplayFiles, RunConfig};
use crate::harness::Harness;
use crate::nemesis::{Nemesis, SwarmWith};
use crate::script::{Fit, Script};
use crate::workload::{KeyChoice, Mix, Rate, WorkloadConfig};
use anyhow::Context;

/// What one run is: shared by `run`, `sweep` and `shrink`.
#[derive(Clone, Debug, clap::Args)]
pub struct ScenarioArgs {
    /// The model (see `consim list`), bug variants included.
    #[arg(long)]
    pub model: String,
    /// The nemesis (see `consim list`). The overload triggers `slowdown` and `surge`
    /// run a store at about 70 % of its capacity unless told otherwise: 400 clients at
    /// 3.5 operations per second each (register workload), replicas with a 0.5 ms service
    /// time and a queue of 600, 120 ms timeouts, a 300 ms deadline, a 20 s window,
    /// and no guarantees judged.
    #[arg(long, default_value = "swarm", value_parser = nemesis())]
    pub scenario: Nemesis,
    /// With `--scenario swarm`: also let swarm pick these overload triggers
    /// (comma-separated: slowdown, surge), which brings the overload scenarios'
    /// defaults with them.
    #[arg(long, value_name = "TRIGGERS", value_parser = parse_swarm_with)]
    pub swarm_with: Option<SwarmWith>,
    /// How long the fault window lasts, in milliseconds: faults strike in it, and
    /// open-loop operations arrive in it (default: 4,000; 20,000 for the overload
    /// scenarios).
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1_000..=600_000))]
    pub window_ms: Option<u64>,
    /// Which guarantees to judge: those the model promises (and its bugs break), all,
    /// or none (default: promised; none in the overload scenarios).
    #[arg(long, value_enum)]
    pub checks: Option<crate::config::Checks>,
    /// Guarantees the run must keep beyond the model's promises (comma-separated,
    /// `consim list` names them): judged, and a violation fails the run, so that a
    /// sweep stops at it and `shrink` shrinks it (a lost write in a store that
    /// promises only convergence, say).
    #[arg(long, value_name = "GUARANTEES", value_delimiter = ',', value_parser = parse_guarantee)]
    pub require: Vec<models::Guarantee>,
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// Number of clients (default: 5; 400 for the overload scenarios).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub clients: Option<u32>,
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
    /// think/2) operations per second. Default: 0 (or, in the overload scenarios, an
    /// open loop at their rate).
    #[arg(long, conflicts_with = "rate")]
    pub think_ms: Option<u64>,
    /// Open loop: operations arrive at each client at this rate (per second, Poisson)
    /// for the whole fault window and queue there, however the store is doing.
    #[arg(long, value_name = "OPS_PER_S", allow_negative_numbers = true)]
    pub rate: Option<Rate>,
}

impl WorkloadArgs {
    /// The workload, of the scenario's default mix unless `--workload` says
    /// otherwise, at its default rate unless `--rate` or `--think-ms` says otherwise.
    pub fn config(&self, defaults: (Mix, Option<Rate>)) -> WorkloadConfig {
        let (default_mix, default_rate) = defaults;
        let rate = match (self.rate, self.think_ms) {
            (Some(rate), _) => Some(rate),
            (None, Some(_)) => None,
            (None, None) => default_rate,
        };
        let default_ops = if rate.is_some() { u64::MAX } else { 200 };
        WorkloadConfig {
            mix: self.workload.unwrap_or(default_mix),
            ops: self.ops.unwrap_or(default_ops),
            keys: self.keys,
            key_choice: match self.zipf {
                Some(s) => KeyChoice::Zipf { s },
                None => KeyChoice::Uniform,
            },
            read_percent: self.read_percent,
            cas_percent: self.cas_percent,
            think: Duration::from_millis(self.think_ms.unwrap_or(0)),
            rate,
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
        let swarm_with = self.swarm_with.unwrap_or_default();
        if self.swarm_with.is_some() && self.scenario != Nemesis::Swarm {
            anyhow::bail!("--swarm-with adds to swarm's mix: it needs --scenario swarm");
        }
        let mut config = RunConfig::for_scenario(&self.model, seed, self.scenario, swarm_with);
        if let Some(path) = &self.plan {
            // The plan's faults, with the defaults of the scenario named beside it (if
            // any: --scenario's own default, swarm, has the plain ones).
            config.plan = Some(FaultPlan::load(path)?);
        }
        let info = harness.info(&config)?;
        let defaults = (config.default_mix(info.workload), config.default_rate());
        let workload = self.workload.config(defaults);
        config.workload = Some(workload);
        if let Some(clients) = self.clients {
            config.clients = clients;
        }
        if let Some(checks) = self.checks {
            config.checks = checks;
        }
        config.required = self.require.clone();
        config.required.sort();
        config.required.dedup();
        if let Some(ms) = self.window_ms {
            config.window = Duration::from_millis(ms);
        }
        config.params.settings = self.params.iter().cloned().collect();
        if let Some(n) = self.replicas {
            config.params = config.params.with("replicas", n);
        }
        for bug in &self.bugs {
            check_bug(&info, bug)?;
            config.params = config.params.with(bug, true);
        }
        config.client = self.client.settings(config.client);
        config.client.idempotency = !self.no_idempotency;
        config.client.retry.retry_unsafe = self.unsafe_retries;
        config.spell = self.spell_ms.map(Duration::from_millis);
        config.capacity = self.capacity.capacity(config.capacity)?;
        if config.plan.is_none() {
            // (A plan's faults are its own: the scenario's spell is not in them.)
            config
                .setup(0)
                .check(config.nemesis)
                .map_err(|e| anyhow::anyhow!("--scenario {}: {e}", config.nemesis.name()))?;
        }
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
    /// queue is dropped (default: 1,000; 600 in the overload scenarios).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub queue_bound: Option<u32>,
    /// Load shedding: a replica drops, unserved, a request that waited in its queue
    /// longer than the deadline it carries (see --deadline-ms).
    #[arg(long)]
    pub shed: bool,
    /// Bulkheads: each replica keeps three queues (replica-to-replica traffic, client
    /// reads, client writes) of --queue-bound each and serves them in turn.
    #[arg(long)]
    pub bulkheads: bool,
}

impl CapacityArgs {
    /// The capacity these flags give every replica, over the scenario's own
    /// (`base`), if any: an error for a flag that needs a capacity when there is none.
    pub fn capacity(
        &self,
        base: Option<sim_core::Capacity>,
    ) -> anyhow::Result<Option<sim_core::Capacity>> {
        let service = self.service();
        let Some(mut capacity) = base.or(service) else {
            for (flag, given) in [
                ("--queue-bound", self.queue_bound.is_some()),
                ("--shed", self.shed),
                ("--bulkheads", self.bulkheads),
            ] {
                if given {
                    anyhow::bail!("{flag} needs replicas with a capacity: give --service-ms");
                }
            }
            return Ok(None);
        };
        if let Some(given) = service {
            // Over the scenario's capacity, --service-ms changes the service time only.
            capacity.service = given.service;
        }
        if let Some(bound) = self.queue_bound {
            capacity.queue_bound = bound;
        }
        capacity.shed |= self.shed;
        if self.bulkheads {
            capacity.bulkheads = 3;
        }
        Ok(Some(capacity))
    }

    /// The capacity `--service-ms` and `--service-dist` say, with the default bound.
    fn service(&self) -> Option<sim_core::Capacity> {
        let mean = Duration::from_nanos((self.service_ms? * 1e6).round() as u64);
        let service = match self.service_dist.as_str() {
            "constant" => sim_core::Latency::constant(mean),
            _ => crate::config::exponential_service(mean),
        };
        Some(sim_core::Capacity {
            service,
            queue_bound: 1_000,
            shed: false,
            bulkheads: 1,
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
    /// How long a client waits for an answer to each attempt, in milliseconds
    /// (default: 500; 120 in the overload scenarios).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: Option<u64>,
    /// How long an operation may take in all, in milliseconds, from when it arrives:
    /// each attempt carries what is left (a replica that sheds load, --shed, drops it
    /// once that has passed), no retry starts after it, and an operation still
    /// waiting at its client by then is abandoned (default: none; 300 in the overload
    /// scenarios).
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub deadline_ms: Option<u64>,
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
    /// Submit this share of writes twice, as a user who double-clicks does, e.g. 0.2:
    /// the second submit follows the first within 300 ms, with the operation's
    /// idempotency key (without one under --no-idempotency).
    #[arg(long, value_name = "SHARE", value_parser = parse_double_submit, allow_negative_numbers = true)]
    pub double_submit: Option<DoubleSubmit>,
}

impl ClientArgs {
    /// The patterns these flags turn on, over the scenario's own (`base`).
    pub fn settings(&self, base: ClientSettings) -> ClientSettings {
        let mut client = base;
        if let Some(ms) = self.timeout_ms {
            client.timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = self.deadline_ms {
            client.deadline = Some(Duration::from_millis(ms));
        }
        client.retry.max_attempts = self.attempts;
        match self.retry {
            Some(RetryChoice::None) => client.retry.max_attempts = 1,
            Some(RetryChoice::After(backoff)) => client.retry.backoff = backoff,
            None => {}
        }
        client.retry.budget = self.retry_budget;
        if self.double_submit.is_some() {
            client.double_submit = self.double_submit;
        }
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
    let per_mille = per_mille(text, "a retry budget")?;
    Ok(RetryBudget { per_mille })
}

/// `--double-submit`'s share of writes, per mille.
pub fn parse_double_submit(text: &str) -> Result<DoubleSubmit, String> {
    let per_mille = per_mille(text, "--double-submit")?;
    Ok(DoubleSubmit {
        per_mille,
        ..DoubleSubmit::default()
    })
}

/// A share above 0 and at most 1 (at least 0.001), in thousandths.
fn per_mille(text: &str, what: &str) -> Result<u32, String> {
    let share: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    let per_mille = (share * 1000.0).round();
    if !(share > 0.0 && share <= 1.0) || per_mille < 1.0 {
        return Err(format!(
            "{what} is a share above 0 and at most 1 (at least 0.001), not {text}"
        ));
    }
    Ok(per_mille as u32)
}

/// The overload triggers swarm may add, by name, comma-separated.
pub fn parse_swarm_with(text: &str) -> Result<SwarmWith, String> {
    let mut with = SwarmWith::default();
    for name in text.split(',').map(str::trim) {
        match name {
            "slowdown" => with.slowdown = true,
            "surge" => with.surge = true,
            _ => {
                return Err(format!(
                    "{name:?} is not an overload trigger; swarm can add slowdown and surge"
                ));
            }
        }
    }
    Ok(with)
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

/// A guarantee, by the name `consim list` prints.
fn parse_guarantee(name: &str) -> Result<models::Guarantee, String> {
    let name = name.trim();
    models::Guarantee::ALL
        .into_iter()
        .find(|g| g.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = models::Guarantee::ALL.iter().map(|g| g.name()).collect();
            format!("no guarantee `{name}`: one of {}", names.join(", "))
        })
}
