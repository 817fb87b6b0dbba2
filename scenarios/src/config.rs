//! What to run: the model, its settings, the nemesis, the workload, the clients and
//! their patterns, the seed — everything a run is a pure function of.

use models::Params;
use models::client::{BreakerConfig, RetryPolicy};
use serde::Serialize;
use sim_core::nemesis::{Nemesis, Setup};
use sim_core::{Duration, FaultPlan};

use crate::workload::{Mix, WorkloadConfig};

/// How long a run may go on in simulated time before the runner stops it.
pub const SIMULATED_TIME_LIMIT: Duration = Duration::from_secs(3_600);

/// The client-side patterns a scenario turns on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ClientSettings {
    /// How long one attempt waits.
    pub timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// Idempotency keys on retried requests.
    pub idempotency: bool,
    /// A circuit breaker.
    pub breaker: Option<BreakerConfig>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            timeout: Duration::from_millis(500),
            retry: RetryPolicy::default(),
            idempotency: true,
            breaker: None,
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The model: a name in the catalog the run goes through — consim's own
    /// ([`models::Builtin`]) for [`crate::run::run`], or yours: a
    /// [`Harness`](crate::harness::Harness) of your declaration runs its model.
    /// The model's own workload mix is used unless [`RunConfig::workload`] says
    /// otherwise.
    pub model: String,
    /// Model parameters.
    pub params: Params,
    /// The nemesis.
    pub nemesis: Nemesis,
    /// The run seed.
    pub seed: u64,
    /// A fault plan to replay instead of generating one from the nemesis.
    pub plan: Option<FaultPlan>,
    /// Whether to record the full trace.
    pub trace: bool,
    /// The operations to perform, instead of drawing them from the seed (the
    /// workload's mix and keys still say what the checkers judge and what the final
    /// reads read).
    pub script: Option<crate::script::Script>,
    /// The workload (`None`: the model's own, [`models::ModelInfo::workload`], with
    /// [`WorkloadConfig::default`]'s other settings).
    pub workload: Option<WorkloadConfig>,
    /// How many clients.
    pub clients: u32,
    /// The clients' patterns.
    pub client: ClientSettings,
    /// Faults strike inside this window from the start (and, with an open-loop
    /// workload, operations arrive inside it).
    pub window: Duration,
    /// How long each fault spell lasts (`None`: the nemesis's own lengths); see
    /// [`Setup::spell`].
    pub spell: Option<Duration>,
    /// The quiet time before the final reads.
    pub quiet: Duration,
    /// Which guarantees to judge.
    pub checks: Checks,
    /// The replicas' capacity (`None`: infinite, as by default; see
    /// [`sim_core::Capacity`]): each handles one message at a time, and what arrives
    /// while it is busy queues, up to a bound.
    pub capacity: Option<sim_core::Capacity>,
}

/// Which guarantees a run judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checks {
    /// What the model promises, and what a bug variant breaks.
    Promised,
    /// Every guarantee (for the CAP matrix).
    All,
    /// None (for measuring the simulator alone).
    None,
}

impl RunConfig {
    /// The defaults for `model` and `seed`: no faults, the model's own workload of 200
    /// operations, 5 clients, a 4 s fault window and 2 s of quiet.
    pub fn new(model: &str, seed: u64) -> RunConfig {
        RunConfig {
            model: model.to_owned(),
            params: Params::default(),
            nemesis: Nemesis::None,
            seed,
            plan: None,
            script: None,
            trace: false,
            workload: None,
            clients: 5,
            client: ClientSettings::default(),
            window: Duration::from_secs(4),
            spell: None,
            quiet: Duration::from_secs(2),
            checks: Checks::Promised,
            capacity: None,
        }
    }

    /// What the nemesis plans for: this configuration's clients, window and spells,
    /// with `replicas` replicas.
    pub fn setup(&self, replicas: usize) -> Setup {
        Setup {
            replicas,
            clients: self.clients as usize,
            window: self.window,
            spell: self.spell,
        }
    }

    /// The workload the run performs: [`RunConfig::workload`], or else `mix` (the
    /// model's own) with [`WorkloadConfig::default`]'s other settings.
    pub fn workload_or(&self, mix: Mix) -> WorkloadConfig {
        self.workload.unwrap_or(WorkloadConfig {
            mix,
            ..WorkloadConfig::default()
        })
    }

    /// The scenario's name: the nemesis, or `plan` for a replayed plan file.
    pub fn scenario(&self) -> &'static str {
        if self.plan.is_some() {
            "plan"
        } else {
            self.nemesis.name()
        }
    }
}

/// A configuration the command line cannot say: its replay command would run
/// something else.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the command line has no flag for {what}; run this configuration through the library")]
pub struct NotOnTheCommandLine {
    /// What it cannot say.
    pub what: &'static str,
}

/// The files a replay command reads: the fault plan and the script the run replays,
/// where it replays them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayFiles<'a> {
    /// The fault plan's file (`--plan`).
    pub plan: Option<&'a std::path::Path>,
    /// The script's file (`--script`).
    pub script: Option<&'a std::path::Path>,
}

impl ReplayFiles<'_> {
    /// No files: the seed draws the faults and the operations.
    pub const NONE: ReplayFiles<'static> = ReplayFiles {
        plan: None,
        script: None,
    };
}

impl RunConfig {
    /// The arguments of the `run` command that runs this configuration again (after
    /// the command itself, e.g. `cargo run --release -- run`), with `files` naming
    /// the plan and script files it replays, if it replays them. Only what differs from
    /// [`RunConfig::new`]'s defaults, and from `info` (what the catalog says of the
    /// model: its workload), is spelled out.
    ///
    /// ```
    /// use consim::config::{ReplayFiles, RunConfig};
    /// use consim::nemesis::Nemesis;
    /// let mut config = RunConfig::new("raft", 7);
    /// config.nemesis = Nemesis::Swarm;
    /// config.clients = 3;
    /// config.params = models::Params::default().with("replicas", 3).with("pre-vote", false);
    /// assert_eq!(
    ///     config.replay_args(&models::raft::RAFT.info(), ReplayFiles::NONE)?.join(" "),
    ///     "--model raft --scenario swarm --seed 7 --clients 3 --param pre-vote=false --replicas 3"
    /// );
    /// # Ok::<(), consim::config::NotOnTheCommandLine>(())
    /// ```
    pub fn replay_args(
        &self,
        info: &models::ModelInfo,
        files: ReplayFiles<'_>,
    ) -> Result<Vec<String>, NotOnTheCommandLine> {
        let defaults = RunConfig::new(&self.model, self.seed);
        if (self.window, self.quiet, self.checks)
            != (defaults.window, defaults.quiet, defaults.checks)
        {
            return Err(NotOnTheCommandLine {
                what: "the fault window, the quiet time or the checks",
            });
        }
        let mut args = vec!["--model".to_owned(), self.model.clone()];
        if self.script.is_some() && files.script.is_none() {
            return Err(NotOnTheCommandLine {
                what: "a script without its file",
            });
        }
        match (files.plan, &self.plan) {
            (Some(_), _) => {}
            (None, Some(_)) => {
                return Err(NotOnTheCommandLine {
                    what: "a fault plan without its file",
                });
            }
            (None, None) => args.extend(["--scenario".to_owned(), self.nemesis.name().to_owned()]),
        }
        args.extend(["--seed".to_owned(), self.seed.to_string()]);
        if let Some(w) = &self.workload {
            args.extend(workload_args(info.workload, w, self.script.is_some()));
        }
        if self.clients != defaults.clients {
            args.extend(["--clients".to_owned(), self.clients.to_string()]);
        }
        for (name, value) in &self.params.settings {
            let bug = info.settings.iter().any(|s| s.bug && s.name == name);
            match name.as_str() {
                "replicas" => args.extend(["--replicas".to_owned(), value.clone()]),
                _ if bug && value == "true" => args.extend(["--bug".to_owned(), name.clone()]),
                _ => args.extend(["--param".to_owned(), format!("{name}={value}")]),
            }
        }
        args.extend(client_args(&self.client)?);
        if let Some(capacity) = self.capacity {
            args.extend(capacity_args(capacity)?);
        }
        if let Some(spell) = self.spell {
            args.extend([
                "--spell-ms".to_owned(),
                (spell.as_nanos() / 1_000_000).to_string(),
            ]);
        }
        if let Some(path) = files.plan {
            args.extend(["--plan".to_owned(), path.display().to_string()]);
        }
        if let Some(path) = files.script {
            args.extend(["--script".to_owned(), path.display().to_string()]);
        }
        Ok(args)
    }
}

/// The flags that set workload `w` for a model whose own mix is `mix`, where it
/// differs from the defaults; with a `script`, only those that matter to a script
/// (the mix and the keys).
fn workload_args(mix: Mix, w: &WorkloadConfig, script: bool) -> Vec<String> {
    let base = WorkloadConfig::default();
    let mut args = Vec::new();
    let mut flag = |name: &str, value: String| args.extend([name.to_owned(), value]);
    if w.mix != mix {
        flag("--workload", w.mix.name().to_owned());
    }
    if w.keys != base.keys {
        flag("--keys", w.keys.to_string());
    }
    if script {
        return args;
    }
    let default_ops = if w.rate.is_some() { u64::MAX } else { base.ops };
    if w.ops != default_ops {
        flag("--ops", w.ops.to_string());
    }
    if let crate::workload::KeyChoice::Zipf { s } = w.key_choice {
        flag("--zipf", s.to_string());
    }
    if w.read_percent != base.read_percent {
        flag("--read-percent", w.read_percent.to_string());
    }
    if w.cas_percent != base.cas_percent {
        flag("--cas-percent", w.cas_percent.to_string());
    }
    if w.think != base.think {
        flag("--think-ms", (w.think.as_nanos() / 1_000_000).to_string());
    }
    if let Some(rate) = w.rate {
        flag("--rate", rate.to_string());
    }
    args
}

/// The flags that give the replicas `capacity` (those `--service-ms` can say: a
/// constant service time, or an exponential one capped at 20 times its mean).
fn capacity_args(capacity: sim_core::Capacity) -> Result<Vec<String>, NotOnTheCommandLine> {
    use sim_core::Latency;
    let (mean, shape) = match capacity.service {
        Latency::Constant { value } => (value, "constant"),
        Latency::Exponential { min, mean, max }
            if min == Duration::ZERO && max.as_nanos() == mean.as_nanos().saturating_mul(20) =>
        {
            (mean, "exponential")
        }
        _ => {
            return Err(NotOnTheCommandLine {
                what: "a service-time distribution other than --service-ms's",
            });
        }
    };
    let mean_ms = mean.as_nanos() as f64 / 1e6;
    if capacity.queue_bound == 0 || !(0.001..=60_000.0).contains(&mean_ms) {
        return Err(NotOnTheCommandLine {
            what: "a queue bound of 0, or a service time --service-ms cannot say",
        });
    }
    let mut args = vec![
        "--service-ms".to_owned(),
        mean_ms.to_string(),
        "--queue-bound".to_owned(),
        capacity.queue_bound.to_string(),
    ];
    if shape == "constant" {
        args.extend(["--service-dist".to_owned(), shape.to_owned()]);
    }
    Ok(args)
}

/// The flags that set the clients' patterns, where they differ from the defaults.
fn client_args(c: &ClientSettings) -> Result<Vec<String>, NotOnTheCommandLine> {
    let base = ClientSettings::default();
    let mut args = Vec::new();
    if c.timeout != base.timeout {
        args.extend([
            "--timeout-ms".to_owned(),
            (c.timeout.as_nanos() / 1_000_000).to_string(),
        ]);
    }
    if c.retry.max_attempts != base.retry.max_attempts {
        args.extend(["--attempts".to_owned(), c.retry.max_attempts.to_string()]);
    }
    if (c.retry.base_backoff, c.retry.max_backoff)
        != (base.retry.base_backoff, base.retry.max_backoff)
    {
        return Err(NotOnTheCommandLine {
            what: "the retry backoff",
        });
    }
    if c.retry.backoff != base.retry.backoff {
        let (name, _) = models::client::Backoff::ALL
            .iter()
            .find(|(_, b)| *b == c.retry.backoff)
            .expect("every backoff has a name");
        args.extend(["--retry".to_owned(), (*name).to_owned()]);
    }
    if let Some(budget) = c.retry.budget {
        if !(1..=1000).contains(&budget.per_mille) {
            return Err(NotOnTheCommandLine {
                what: "a retry budget outside 0.001..=1",
            });
        }
        let share = f64::from(budget.per_mille) / 1000.0;
        args.extend(["--retry-budget".to_owned(), share.to_string()]);
    }
    if !c.idempotency {
        args.push("--no-idempotency".to_owned());
    }
    if c.retry.retry_unsafe {
        args.push("--unsafe-retries".to_owned());
    }
    if let Some(b) = c.breaker {
        if b.cooldown != Duration::from_millis(1_000) {
            return Err(NotOnTheCommandLine {
                what: "the circuit breaker's cool-down",
            });
        }
        args.extend(["--breaker".to_owned(), b.threshold.to_string()]);
    }
    Ok(args)
}
