//! What to run: the model, its settings, the nemesis, the workload, the clients and
//! their patterns, the seed — everything a run is a pure function of.

use models::Params;
use models::client::{BreakerConfig, DoubleSubmit, RetryPolicy};
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
    /// How long an operation may take in all (see
    /// [`models::client::ClientConfig::deadline`]); in an open loop, an operation
    /// still waiting at its client when this much time has passed since it arrived is
    /// abandoned, never sent.
    pub deadline: Option<Duration>,
    /// Writes submitted twice ([`models::client::DoubleSubmit`]).
    pub double_submit: Option<DoubleSubmit>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            timeout: Duration::from_millis(500),
            retry: RetryPolicy::default(),
            idempotency: true,
            breaker: None,
            deadline: None,
            double_submit: None,
        }
    }
}

/// What the overload scenarios (`slowdown`, `surge`, and `swarm` with either) run
/// unless told otherwise: a store at about 70 % of its capacity, with clients whose
/// timeouts suit its latency, over a window long enough to see it recover.
///
/// | setting | default | flag |
/// |---|---|---|
/// | fault window | 20 s | `--window-ms` |
/// | clients | 400 | `--clients` |
/// | arrivals | 3.5 per second per client, open loop (1,400/s in all) | `--rate` |
/// | replica service time | exponential, mean 0.5 ms (capacity about 2,000/s) | `--service-ms` |
/// | replica queue bound | 600 (300 ms of work) | `--queue-bound` |
/// | client timeout per attempt | 120 ms | `--timeout-ms` |
/// | deadline per operation | 300 ms | `--deadline-ms` |
///
/// The numbers hang together: the links' round trip is about 40 ms (up to 200 ms),
/// so 120 ms times out a few attempts even when all is well; a full queue holds more
/// work than a deadline, so that when it is full nothing answered from it is in time;
/// and 400 clients retrying at once can send more than the replica can serve, so
/// that retries alone can keep it full.
/// | guarantees judged | none | `--checks` |
/// | workload | `register` | `--workload` |
///
/// They judge no guarantees by default: they are load experiments, and their
/// histories (tens of thousands of operations from hundreds of clients, thousands of
/// them left open by timeouts) are beyond what a linearizability search decides in
/// reasonable time; `--checks promised` judges them anyway.
pub mod overload {
    use sim_core::Duration;

    /// The fault window.
    pub const WINDOW: Duration = Duration::from_secs(20);
    /// Clients.
    pub const CLIENTS: u32 = 400;
    /// Operations per second per client.
    pub const RATE: f64 = 3.5;
    /// The mean service time of a replica.
    pub const SERVICE: Duration = Duration::from_micros(500);
    /// How many requests may wait at a replica.
    pub const QUEUE_BOUND: u32 = 600;
    /// How long a client waits for each attempt.
    pub const TIMEOUT: Duration = Duration::from_millis(120);
    /// How long an operation may take in all.
    pub const DEADLINE: Duration = Duration::from_millis(300);
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
    /// Guarantees the run must keep beyond what the model promises (`--require`):
    /// judged whatever [`RunConfig::checks`] says, and a violation fails the run, so
    /// that a sweep finds and `shrink` shrinks, say, a lost write in a store that
    /// promises only convergence.
    pub required: Vec<models::Guarantee>,
    /// The replicas' capacity (`None`: infinite, as by default; see
    /// [`sim_core::Capacity`]): each handles one message at a time, and what arrives
    /// while it is busy queues, up to a bound.
    pub capacity: Option<sim_core::Capacity>,
    /// The overload triggers swarm may add (none by default; see
    /// [`sim_core::nemesis::SwarmWith`]).
    pub swarm_with: sim_core::nemesis::SwarmWith,
}

/// Which guarantees a run judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
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
            required: Vec::new(),
            capacity: None,
            swarm_with: sim_core::nemesis::SwarmWith::default(),
        }
    }

    /// The defaults of `nemesis`'s scenario for `model` and `seed`: those of
    /// [`RunConfig::new`], but for the overload scenarios (`slowdown`, `surge`, and
    /// `swarm` with either in `swarm_with`), which run a store near capacity
    /// ([`overload`]).
    ///
    /// ```
    /// use consim::config::RunConfig;
    /// use consim::nemesis::{Nemesis, SwarmWith};
    /// let plain = RunConfig::for_scenario("single-copy", 1, Nemesis::Pause, SwarmWith::default());
    /// assert_eq!(plain.clients, 5);
    /// assert!(plain.capacity.is_none());
    /// let loaded = RunConfig::for_scenario("single-copy", 1, Nemesis::Slowdown, SwarmWith::default());
    /// assert_eq!(loaded.clients, 400);
    /// assert!(loaded.capacity.is_some());
    /// ```
    pub fn for_scenario(
        model: &str,
        seed: u64,
        nemesis: Nemesis,
        swarm_with: sim_core::nemesis::SwarmWith,
    ) -> RunConfig {
        let mut config = RunConfig::new(model, seed);
        config.nemesis = nemesis;
        config.swarm_with = swarm_with;
        if !config.loaded() {
            return config;
        }
        config.window = overload::WINDOW;
        config.checks = Checks::None;
        config.clients = overload::CLIENTS;
        config.client.timeout = overload::TIMEOUT;
        config.client.deadline = Some(overload::DEADLINE);
        config.capacity = Some(sim_core::Capacity {
            service: exponential_service(overload::SERVICE),
            queue_bound: overload::QUEUE_BOUND,
            shed: false,
            bulkheads: 1,
        });
        config
    }

    /// Whether this is an overload scenario, which runs near capacity by default.
    pub fn loaded(&self) -> bool {
        self.nemesis.is_overload() || (self.nemesis == Nemesis::Swarm && self.swarm_with.any())
    }

    /// The workload mix the scenario runs by default, for a model whose own is `own`:
    /// the overload scenarios run `register` (reads and writes of single keys: every
    /// operation that is answered in time is goodput, and the history stays small
    /// however many operations there are), the others the model's own.
    pub fn default_mix(&self, own: Mix) -> Mix {
        if self.loaded() { Mix::Register } else { own }
    }

    /// The rate of arrivals the scenario has by default, if it has one.
    pub fn default_rate(&self) -> Option<crate::workload::Rate> {
        self.loaded()
            .then(|| crate::workload::Rate::new(overload::RATE).expect("a valid rate"))
    }

    /// What the nemesis plans for: this configuration's clients, window and spells,
    /// with `replicas` replicas.
    pub fn setup(&self, replicas: usize) -> Setup {
        Setup {
            replicas,
            clients: self.clients as usize,
            window: self.window,
            spell: self.spell,
            swarm_with: self.swarm_with,
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
        let defaults = if self.plan.is_some() {
            RunConfig::new(&self.model, self.seed)
        } else {
            RunConfig::for_scenario(&self.model, self.seed, self.nemesis, self.swarm_with)
        };
        if self.quiet != defaults.quiet {
            return Err(NotOnTheCommandLine {
                what: "the quiet time",
            });
        }
        let mut args = self.scenario_args(files)?;
        if self.window != defaults.window {
            args.extend([
                "--window-ms".to_owned(),
                (self.window.as_nanos() / 1_000_000).to_string(),
            ]);
        }
        if let Some(w) = &self.workload {
            let base = WorkloadConfig {
                rate: defaults.default_rate(),
                ..WorkloadConfig::default()
            };
            let mix = defaults.default_mix(info.workload);
            args.extend(workload_args(mix, w, &base, self.script.is_some()));
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
        args.extend(client_args(&self.client, &defaults.client)?);
        args.extend(self.load_args(&defaults)?);
        if let Some(path) = files.plan {
            args.extend(["--plan".to_owned(), path.display().to_string()]);
        }
        if let Some(path) = files.script {
            args.extend(["--script".to_owned(), path.display().to_string()]);
        }
        Ok(args)
    }
}

impl RunConfig {
    /// The model, scenario and seed flags of [`RunConfig::replay_args`].
    fn scenario_args(&self, files: ReplayFiles<'_>) -> Result<Vec<String>, NotOnTheCommandLine> {
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
        if self.plan.is_none() {
            args.extend(swarm_with_args(self.swarm_with));
        }
        args.extend(["--seed".to_owned(), self.seed.to_string()]);
        Ok(args)
    }

    /// The flags of [`RunConfig::replay_args`] for the replicas' capacity, the
    /// spells and the checks, where they differ from `defaults`.
    fn load_args(&self, defaults: &RunConfig) -> Result<Vec<String>, NotOnTheCommandLine> {
        let mut args = Vec::new();
        match (self.capacity, defaults.capacity) {
            (Some(capacity), Some(base)) if capacity == base => {}
            (Some(capacity), base) => args.extend(capacity_args(capacity, base)?),
            (None, Some(_)) => {
                return Err(NotOnTheCommandLine {
                    what: "infinite capacity in a scenario that has one by default",
                });
            }
            (None, None) => {}
        }
        if let Some(spell) = self.spell {
            args.extend([
                "--spell-ms".to_owned(),
                (spell.as_nanos() / 1_000_000).to_string(),
            ]);
        }
        if self.checks != defaults.checks {
            let name = match self.checks {
                Checks::Promised => "promised",
                Checks::All => "all",
                Checks::None => "none",
            };
            args.extend(["--checks".to_owned(), name.to_owned()]);
        }
        if !self.required.is_empty() {
            let names: Vec<&str> = self.required.iter().map(|g| g.name()).collect();
            args.extend(["--require".to_owned(), names.join(",")]);
        }
        Ok(args)
    }
}

/// The flags that set workload `w` for a model whose own mix is `mix`, where it
/// differs from the defaults; with a `script`, only those that matter to a script
/// (the mix and the keys).
fn workload_args(mix: Mix, w: &WorkloadConfig, base: &WorkloadConfig, script: bool) -> Vec<String> {
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
    if w.think != base.think || (w.rate.is_none() && base.rate.is_some()) {
        flag("--think-ms", (w.think.as_nanos() / 1_000_000).to_string());
    }
    if let Some(rate) = w.rate.filter(|&rate| Some(rate) != base.rate) {
        flag("--rate", rate.to_string());
    }
    args
}

/// The flags that swarm's overload triggers need.
fn swarm_with_args(with: sim_core::nemesis::SwarmWith) -> Vec<String> {
    let names: Vec<&str> = [(with.slowdown, "slowdown"), (with.surge, "surge")]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
    if names.is_empty() {
        return Vec::new();
    }
    vec!["--swarm-with".to_owned(), names.join(",")]
}

/// Service times exponentially distributed around `mean`, capped at 20 times it: the
/// shape `--service-ms` gives by default (and the only exponential one a replay line
/// can say).
pub fn exponential_service(mean: Duration) -> sim_core::Latency {
    sim_core::Latency::Exponential {
        min: Duration::ZERO,
        mean,
        max: Duration::from_nanos(mean.as_nanos().saturating_mul(20)),
    }
}

/// The flags that give the replicas `capacity` (those `--service-ms` can say: a
/// constant service time, or an exponential one capped at 20 times its mean), where
/// the scenario's own capacity is `base`.
fn capacity_args(
    capacity: sim_core::Capacity,
    base: Option<sim_core::Capacity>,
) -> Result<Vec<String>, NotOnTheCommandLine> {
    use sim_core::Latency;
    let (mean, shape) = match capacity.service {
        Latency::Constant { value } => (value, "constant"),
        Latency::Exponential { mean, .. } if capacity.service == exponential_service(mean) => {
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
    if !matches!(capacity.bulkheads, 1 | 3) {
        return Err(NotOnTheCommandLine {
            what: "bulkheads other than --bulkheads's three",
        });
    }
    let mut args = Vec::new();
    if base.is_none_or(|b| b.service != capacity.service) {
        args.extend(["--service-ms".to_owned(), mean_ms.to_string()]);
        if shape == "constant" {
            args.extend(["--service-dist".to_owned(), shape.to_owned()]);
        }
    }
    if base.is_none_or(|b| b.queue_bound != capacity.queue_bound) {
        args.extend(["--queue-bound".to_owned(), capacity.queue_bound.to_string()]);
    }
    if capacity.shed {
        args.push("--shed".to_owned());
    }
    if capacity.bulkheads == 3 {
        args.push("--bulkheads".to_owned());
    }
    Ok(args)
}

/// The flags that set the clients' patterns, where they differ from the defaults.
/// `--double-submit SHARE`, if writes are submitted twice.
fn double_submit_args(clicks: Option<DoubleSubmit>) -> Result<Vec<String>, NotOnTheCommandLine> {
    let Some(clicks) = clicks else {
        return Ok(Vec::new());
    };
    if clicks.within != DoubleSubmit::default().within {
        return Err(NotOnTheCommandLine {
            what: "a double submit's lag other than 300 ms",
        });
    }
    let share = f64::from(clicks.per_mille) / 1000.0;
    Ok(vec!["--double-submit".to_owned(), share.to_string()])
}

fn client_args(
    c: &ClientSettings,
    base: &ClientSettings,
) -> Result<Vec<String>, NotOnTheCommandLine> {
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
    args.extend(double_submit_args(c.double_submit)?);
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
    match (c.deadline, base.deadline) {
        (Some(deadline), base) if Some(deadline) != base => {
            let ms = deadline.as_nanos() / 1_000_000;
            if Duration::from_millis(ms) != deadline || ms == 0 {
                return Err(NotOnTheCommandLine {
                    what: "a deadline that is not a whole number of milliseconds",
                });
            }
            args.extend(["--deadline-ms".to_owned(), ms.to_string()]);
        }
        (None, Some(_)) => {
            return Err(NotOnTheCommandLine {
                what: "no deadline in a scenario that has one by default",
            });
        }
        _ => {}
    }
    Ok(args)
}
