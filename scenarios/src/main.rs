//! `consim`: the command line. See `consim --help` and ../shared/DESIGN.md.
//!
//! Exit codes, for every command: 0 all consistent, 1 a violation was found, 2 usage or
//! input error, 3 inconclusive.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a CLI prints

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use checkers::check::ModelName;
use checkers::formats::Format;
use clap::{Parser, Subcommand};
use scenarios::kernel_bench;

mod check;
use models::client::BreakerConfig;
use scenarios::availability::{Availability, DEFINITIONS, MEASURES};
use scenarios::nemesis::Nemesis;
use scenarios::run::{
    ClientSettings, GuaranteeVerdict, Judgement, Role, RunConfig, RunReport, check_determinism,
    default_mix, run,
};
use scenarios::sweep::{Shard, parse_seeds, shard_seeds};
use scenarios::workload::{KeyChoice, Mix, Rate, WorkloadConfig};
use serde_json::json;
use sim_core::{Duration, FaultPlan, TraceEvent};
use std::io::IsTerminal;

/// Deterministic simulation of distributed consistency: one seed fixes a whole run.
#[derive(Debug, Parser)]
#[command(name = "consim", version, about, propagate_version = true)]
struct Cli {
    /// Print one JSON object per result line instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the models (with bug variants and promises), scenarios and workloads.
    List,
    /// Run one model under one scenario with one seed: verdicts, availability, latency.
    Run(RunArgs),
    /// Run one scenario over a range of seeds, across cores.
    Sweep(SweepArgs),
    /// Shrink a failing run: the fewest faults and operations that still fail it.
    Shrink(ShrinkArgs),
    /// The CAP table: for each model and nemesis, how often each guarantee held,
    /// availability and latency, as Markdown.
    Matrix(MatrixArgs),
    /// Check histories: is each linearizable?
    Check(CheckArgs),
    /// Measure the simulator.
    Bench {
        #[command(subcommand)]
        what: Bench,
    },
}

/// What one run is: shared by `run` and `sweep`.
#[derive(Clone, Debug, clap::Args)]
struct ScenarioArgs {
    /// The model (see `consim list`), bug variants included.
    #[arg(long, value_parser = model_names())]
    model: String,
    /// The nemesis (see `consim list`).
    #[arg(long, default_value = "swarm", value_parser = clap::builder::PossibleValuesParser::new(Nemesis::names()))]
    scenario: String,
    /// The workload mix (default: the model's own, see `consim list`).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Mix::ALL.map(Mix::name)))]
    workload: Option<String>,
    /// Operations the clients perform in all (the final reads not counted; default
    /// 200). With --rate, a cap on the operations that arrive (default: none).
    #[arg(long, value_name = "N")]
    ops: Option<u64>,
    /// Keys the workload uses.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    keys: u64,
    /// Choose keys from a Zipf distribution with this exponent instead of uniformly.
    #[arg(long, value_name = "S")]
    zipf: Option<f64>,
    /// The longest pause a client takes between operations, in milliseconds (uniform;
    /// 0 is a tight closed loop). Sets the request rate: about clients / (latency +
    /// think/2) operations per second.
    #[arg(long, default_value_t = 0, conflicts_with = "rate")]
    think_ms: u64,
    /// Open loop: operations arrive at each client at this rate (per second, Poisson)
    /// for the whole fault window and queue there, however the store is doing.
    #[arg(long, value_name = "OPS_PER_S", allow_negative_numbers = true)]
    rate: Option<Rate>,
    /// How long each fault spell lasts, in milliseconds (default: 100 to 1,200, drawn
    /// per spell); see `consim list`.
    #[arg(long, value_name = "MS", value_parser = spell_ms())]
    spell_ms: Option<u64>,
    /// Number of clients.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    clients: u32,
    /// Replicas (default: the model's own).
    #[arg(long)]
    replicas: Option<usize>,
    /// A model setting, `KEY=VALUE` (repeatable; see the model's docs, e.g. `r=2`).
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = scenarios::matrix::parse_setting)]
    params: Vec<(String, String)>,
    #[command(flatten)]
    client: ClientArgs,
    /// Retry without idempotency keys (each attempt a new request id).
    #[arg(long)]
    no_idempotency: bool,
    /// Retry timed-out writes even without idempotency keys (unsafe: a write may
    /// apply twice).
    #[arg(long)]
    unsafe_retries: bool,
    /// Apply the faults of this plan file (JSON) instead of generating them.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
}

impl ScenarioArgs {
    fn config(&self, seed: u64) -> anyhow::Result<RunConfig> {
        let mut config = RunConfig::new(&self.model, seed);
        config.nemesis = Nemesis::from_name(&self.scenario).expect("clap checked the name");
        if let Some(path) = &self.plan {
            config.plan = Some(FaultPlan::load(path)?);
        }
        let mix = match &self.workload {
            Some(name) => Mix::from_name(name).expect("clap checked the name"),
            None => default_mix(&self.model),
        };
        let default_ops = if self.rate.is_some() { u64::MAX } else { 200 };
        config.workload = Some(WorkloadConfig {
            mix,
            ops: self.ops.unwrap_or(default_ops),
            keys: self.keys,
            key_choice: key_choice(self.zipf),
            think: Duration::from_millis(self.think_ms),
            rate: self.rate,
            ..WorkloadConfig::default()
        });
        config.spell = self.spell_ms.map(Duration::from_millis);
        config.clients = self.clients;
        config.params.replicas = self.replicas;
        config.params.settings = self.params.iter().cloned().collect();
        config.client = self.client.settings();
        config.client.idempotency = !self.no_idempotency;
        config.client.retry.retry_unsafe = self.unsafe_retries;
        scenarios::run::validate(&config)?;
        Ok(config)
    }
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// The run seed: the same seed and build give the same run.
    #[arg(long)]
    seed: u64,
    /// Print every event of the run before the summary.
    #[arg(long)]
    trace: bool,
    /// Write the clients' history to this file (JSONL).
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
    /// Write the fault plan applied to this file (JSON; replay it with --plan).
    #[arg(long, value_name = "FILE")]
    save_plan: Option<PathBuf>,
    /// Write a self-contained HTML picture of the history's linearizability check.
    #[arg(long, value_name = "FILE")]
    viz: Option<PathBuf>,
    /// Run the seed twice and compare the traces event by event.
    #[arg(long)]
    check_determinism: bool,
}

#[derive(Debug, clap::Args)]
struct SweepArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// The seeds, `A..B` (B excluded).
    #[arg(long, value_parser = parse_seeds)]
    seeds: std::ops::Range<u64>,
    /// Worker threads (default: the machine's cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_024))]
    jobs: Option<u32>,
    /// Run only shard I of N (every N-th seed of the range, from the I-th).
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Stop at the first failing seed.
    #[arg(long)]
    stop_on_failure: bool,
    /// Where failing runs' artifacts go.
    #[arg(long, default_value = "consim-out", value_name = "DIR")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
struct ShrinkArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// The failing seed.
    #[arg(long)]
    seed: u64,
    /// The most runs to try.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..))]
    budget: u64,
    /// Where to write the shrunk plan.
    #[arg(long, default_value = "consim-out", value_name = "DIR")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
struct MatrixArgs {
    /// Seeds per cell (seeds 0..N).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
    /// Models (comma-separated; default: every correct model). A model may carry
    /// settings, `NAME:KEY=VALUE:…` (`replicas=N` too), to set it beside itself:
    /// `--models raft,raft:check-quorum=true`.
    #[arg(long, value_delimiter = ',')]
    models: Vec<scenarios::matrix::ModelSpec>,
    /// Nemeses (comma-separated; default: every one).
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(Nemesis::names()))]
    scenarios: Vec<String>,
    /// The workload mix for every model (default: each model's own, see `consim list`).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Mix::ALL.map(Mix::name)))]
    workload: Option<String>,
    /// Operations arrive at each client at this rate (per second, Poisson, an open
    /// loop) for the whole fault window.
    #[arg(
        long,
        value_name = "OPS_PER_S",
        default_value = "5",
        allow_negative_numbers = true
    )]
    rate: Rate,
    /// Keys the workload uses.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    keys: u64,
    /// How long each fault spell lasts, in milliseconds (default: 100 to 1,200, drawn
    /// per spell).
    #[arg(long, value_name = "MS", value_parser = spell_ms())]
    spell_ms: Option<u64>,
    /// Print each share with its 95% interval (runs as the unit).
    #[arg(long)]
    intervals: bool,
    /// Worker threads (default: the machine's cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_024))]
    jobs: Option<u32>,
    #[command(flatten)]
    client: ClientArgs,
}

/// The client patterns `run`, `sweep`, `shrink` and `matrix` share.
#[derive(Clone, Debug, clap::Args)]
struct ClientArgs {
    /// How long a client waits for an answer, in milliseconds.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// Attempts per operation (1: no retries).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    attempts: u32,
    /// Open a circuit breaker after this many failed operations in a row.
    #[arg(long, value_name = "N")]
    breaker: Option<u32>,
}

impl ClientArgs {
    fn settings(&self) -> ClientSettings {
        let mut client = ClientSettings {
            timeout: Duration::from_millis(self.timeout_ms),
            ..ClientSettings::default()
        };
        client.retry.max_attempts = self.attempts;
        client.breaker = self.breaker.map(|threshold| BreakerConfig {
            threshold: threshold.max(1),
            cooldown: Duration::from_millis(1_000),
        });
        client
    }
}

#[derive(Clone, Debug, clap::Args)]
struct CheckArgs {
    /// History files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The sequential model (default: kv for histories with keys or appends, else
    /// cas-register).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(ModelName::NAMES))]
    model: Option<String>,
    /// What to check: linearizability; the four session guarantees (on list-append or
    /// unique-value register histories); `elle`, the dependency graph of Elle
    /// (anomalies such as G0, G1c, G-single-item-process, each cycle explained, and the
    /// consistency models they rule out; transactional histories too); or convergence
    /// and lost writes, from the final reads; or all of them, one after another.
    #[arg(long, default_value = "linearizable", value_parser = ["linearizable", "session", "elle", "convergence", "all"])]
    consistency: String,
    /// The history format.
    #[arg(long, default_value = "auto", value_parser = clap::builder::PossibleValuesParser::new(Format::NAMES))]
    format: String,
    /// Give up on a history after this many seconds (verdict unknown, exit 3).
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Give up when the search uses this much memory (bytes; K, M, G suffixes).
    #[arg(long, value_name = "BYTES", default_value = "2G", value_parser = parse_bytes)]
    max_memory: u64,
    /// Write a self-contained HTML picture of the (first) history to this file.
    #[arg(long, value_name = "FILE")]
    viz: Option<PathBuf>,
    /// For a linearizable history, print the linearization order.
    #[arg(long)]
    witness: bool,
}

fn key_choice(zipf: Option<f64>) -> KeyChoice {
    match zipf {
        Some(s) => KeyChoice::Zipf { s },
        None => KeyChoice::Uniform,
    }
}

/// Spells from 1 ms to 3 s: a spell must fit the 4 s fault window after its start
/// (50 to 400 ms in).
fn spell_ms() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=3_000)
}

fn parse_bytes(text: &str) -> Result<u64, String> {
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

#[derive(Debug, Subcommand)]
enum Bench {
    /// The relay benchmark: 5 nodes passing messages on at random; deliveries/s.
    Kernel {
        /// Deliveries per measured run.
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
        deliveries: u64,
        /// Measured runs; the median is reported.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1_000))]
        repeat: u32,
        /// The seed of every run.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn model_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(models::catalog().iter().map(|m| m.name))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::List => list(cli.json),
        Command::Run(args) => run_command(args, cli.json),
        Command::Sweep(args) => sweep_command(args, cli.json),
        Command::Shrink(args) => shrink_command(args, cli.json),
        Command::Matrix(args) => matrix_command(args, cli.json),
        Command::Check(args) => check::command(args, cli.json),
        Command::Bench {
            what:
                Bench::Kernel {
                    deliveries,
                    repeat,
                    seed,
                },
        } => bench_kernel(deliveries, repeat, seed, cli.json),
    };
    match result {
        Ok(code) => code,
        // A reader that went away (`consim … | head`) is not an error, as in ripgrep.
        Err(err)
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("consim: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn guarantee_names(gs: &[models::Guarantee]) -> String {
    let names: Vec<String> = gs
        .iter()
        .map(|g| {
            serde_json::to_value(g)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect();
    if names.is_empty() {
        "nothing".to_owned()
    } else {
        names.join(", ")
    }
}

fn list(json: bool) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if json {
        for model in models::catalog() {
            writeln!(out, "{}", json!({ "model": model }))?;
        }
        for nemesis in Nemesis::ALL {
            writeln!(
                out,
                "{}",
                json!({ "scenario": nemesis.name(), "summary": nemesis.summary() })
            )?;
        }
        for mix in Mix::ALL {
            writeln!(out, "{}", json!({ "workload": mix.name() }))?;
        }
        for (measure, definition) in MEASURES.iter().zip(DEFINITIONS) {
            writeln!(
                out,
                "{}",
                json!({ "availability": measure, "definition": definition })
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "models:")?;
    for model in models::catalog().iter().filter(|m| m.variant_of.is_none()) {
        writeln!(out, "  {:<26} {}", model.name, model.summary)?;
        if model.serves_clients {
            writeln!(
                out,
                "  {:<26} promises: {}; workload: {}; scenario: {}",
                "",
                guarantee_names(model.promises),
                default_mix(model.name).name(),
                model.default_scenario
            )?;
        }
        for bug in models::catalog()
            .iter()
            .filter(|b| b.variant_of == Some(model.name))
        {
            writeln!(out, "    bug {:<26} {}", bug.name, bug.summary)?;
            writeln!(
                out,
                "    {:<30} breaks: {}; shows under: {}",
                "",
                guarantee_names(bug.breaks),
                bug.default_scenario
            )?;
        }
    }
    writeln!(out, "scenarios (nemeses):")?;
    for nemesis in Nemesis::ALL {
        writeln!(out, "  {:<26} {}", nemesis.name(), nemesis.summary())?;
    }
    writeln!(
        out,
        "  (partition-halves, partition-majorities-ring, isolate-leader, bridge, one-way, \
         crash-restart, pause and flaky-network strike in spells of 100 to 1,200 ms, or \
         --spell-ms; a client's retries outlast most of them)"
    )?;
    writeln!(out, "workloads:")?;
    writeln!(out, "  {:<26} reads and writes of registers", "register")?;
    writeln!(out, "  {:<26} reads, writes and cas of registers", "kv")?;
    writeln!(
        out,
        "  {:<26} reads of lists and appends (Elle)",
        "list-append"
    )?;
    writeln!(
        out,
        "  (a closed loop by default; --rate R: an open loop, R operations per second per client)"
    )?;
    writeln!(out, "checkers:")?;
    writeln!(
        out,
        "  linearizable, read-your-writes, monotonic-reads, monotonic-writes, writes-follow-reads, convergence, no-lost-writes"
    )?;
    writeln!(out, "availability (run, sweep and matrix report all four):")?;
    for (measure, definition) in MEASURES.iter().zip(DEFINITIONS) {
        writeln!(out, "  {measure:<26} {definition}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The exit code of a set of runs: 1 if any failed, else 3 if any was inconclusive.
fn runs_exit(failures: u64, inconclusive: u64) -> ExitCode {
    ExitCode::from(if failures > 0 {
        1
    } else if inconclusive > 0 {
        3
    } else {
        0
    })
}

fn run_command(args: RunArgs, json: bool) -> anyhow::Result<ExitCode> {
    let mut config = args.scenario.config(args.seed)?;
    config.trace = args.trace;
    let report = if args.check_determinism {
        let (report, divergence) = check_determinism(&config).context("cannot run")?;
        if let Some(d) = divergence {
            let show =
                |e: Option<&TraceEvent>| e.map_or("(nothing)".to_owned(), ToString::to_string);
            anyhow::bail!(
                "nondeterminism: the two runs of seed {} differ first at event {}:\n  first run:  {}\n  second run: {}",
                args.seed,
                d.index,
                show(d.first.as_ref()),
                show(d.second.as_ref())
            );
        }
        eprintln!(
            "determinism: both runs of seed {} gave the same {} trace entries (trace_hash={:016x})",
            args.seed,
            report.trace.as_ref().map_or(0, Vec::len),
            report.trace_hash
        );
        report
    } else {
        run(&config).context("cannot run")?
    };
    if args.trace {
        let mut out = std::io::stdout().lock();
        for event in report.trace.as_deref().unwrap_or_default() {
            if json {
                writeln!(out, "{}", json!({ "trace": event }))?;
            } else {
                writeln!(out, "{event}")?;
            }
        }
    }
    if let Some(path) = &args.history {
        std::fs::write(path, report.history.to_jsonl())
            .with_context(|| format!("{}: cannot write the history", path.display()))?;
    }
    if let Some(path) = &args.save_plan {
        std::fs::write(path, report.plan.to_json())
            .with_context(|| format!("{}: cannot write the plan", path.display()))?;
    }
    if let Some(path) = &args.viz {
        write_viz(path, &report)?;
    }
    let mut out = std::io::stdout().lock();
    print_report(&mut out, &report, json, true)?;
    if !json {
        writeln!(
            out,
            "replay: {}",
            replay_command(&args.scenario, report.seed)
        )?;
    }
    Ok(runs_exit(
        u64::from(report.failed()),
        u64::from(report.inconclusive()),
    ))
}

fn write_viz(path: &std::path::Path, report: &RunReport) -> anyhow::Result<()> {
    let model = match report.workload {
        Some(Mix::ListAppend) => ModelName::ListAppend,
        _ => ModelName::Kv,
    };
    let options = checkers::linear::Options {
        max_memory_bytes: 256 << 20,
        ..checkers::linear::Options::default()
    };
    let checked =
        checkers::check::check_history(report.history.clone(), "history", Some(model), &options)?;
    std::fs::write(
        path,
        checkers::viz::page(&path.display().to_string(), &checked),
    )
    .with_context(|| format!("{}: cannot write", path.display()))
}

/// The one command that replays a run.
fn replay_command(args: &ScenarioArgs, seed: u64) -> String {
    let mut cmd = format!(
        "cargo run --release -- run --model {} --scenario {} --seed {seed}",
        args.model, args.scenario
    );
    if let Some(w) = &args.workload {
        cmd += &format!(" --workload {w}");
    }
    match (args.ops, args.rate) {
        (Some(ops), None) if ops != 200 => cmd += &format!(" --ops {ops}"),
        (Some(ops), Some(_)) => cmd += &format!(" --ops {ops}"),
        _ => {}
    }
    if let Some(rate) = args.rate {
        cmd += &format!(" --rate {rate}");
    }
    if let Some(spell) = args.spell_ms {
        cmd += &format!(" --spell-ms {spell}");
    }
    if args.keys != 4 {
        cmd += &format!(" --keys {}", args.keys);
    }
    if let Some(s) = args.zipf {
        cmd += &format!(" --zipf {s}");
    }
    if args.think_ms != 0 {
        cmd += &format!(" --think-ms {}", args.think_ms);
    }
    if args.clients != 5 {
        cmd += &format!(" --clients {}", args.clients);
    }
    if let Some(n) = args.replicas {
        cmd += &format!(" --replicas {n}");
    }
    for (k, v) in &args.params {
        cmd += &format!(" --param {k}={v}");
    }
    if args.client.timeout_ms != 500 {
        cmd += &format!(" --timeout-ms {}", args.client.timeout_ms);
    }
    if args.client.attempts != 3 {
        cmd += &format!(" --attempts {}", args.client.attempts);
    }
    if args.no_idempotency {
        cmd += " --no-idempotency";
    }
    if args.unsafe_retries {
        cmd += " --unsafe-retries";
    }
    if let Some(b) = args.client.breaker {
        cmd += &format!(" --breaker {b}");
    }
    if let Some(p) = &args.plan {
        cmd += &format!(" --plan {}", p.display());
    }
    cmd
}

/// `cap=93.1% during_faults=40.0% minority=n/a after_retries=99.5%`.
fn availability_text(a: &Availability) -> String {
    MEASURES
        .iter()
        .zip(a.ratios())
        .map(|(name, r)| match r.share() {
            Some(share) => format!("{name}={:.1}%", 100.0 * share),
            None => format!("{name}=n/a"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `{"cap": {"hits": …, "trials": …}, …}`.
fn availability_counts(a: &Availability) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = MEASURES
        .iter()
        .zip(a.ratios())
        .map(|(name, r)| ((*name).to_owned(), json!(r)))
        .collect();
    serde_json::Value::Object(map)
}

fn verdict_text(v: &GuaranteeVerdict) -> String {
    let name = guarantee_names(&[v.guarantee]);
    let role = match v.role {
        Role::Promised => "",
        Role::Broken => " (the bug's target)",
        Role::Measured => " (measured)",
    };
    match &v.judgement {
        Judgement::Ok => format!("{name}{role}: ok"),
        Judgement::Violation { explanation } => format!("{name}{role}: VIOLATION: {explanation}"),
        Judgement::Unknown { reason } => format!("{name}{role}: unknown ({reason})"),
        Judgement::NotApplicable { reason } => format!("{name}{role}: n/a ({reason})"),
    }
}

fn print_report(
    out: &mut impl Write,
    report: &RunReport,
    json: bool,
    verbose: bool,
) -> anyhow::Result<()> {
    let hash = format!("{:016x}", report.trace_hash);
    if json {
        let line = json!({
            "model": report.model,
            "scenario": report.scenario,
            "workload": report.workload,
            "seed": report.seed,
            "failed": report.failed(),
            "events": report.stats.events,
            "deliveries": report.stats.deliveries,
            "simulated_ns": report.simulated.as_nanos(),
            "trace_hash": hash,
            "ops": report.ops,
            "availability": report.availability,
            "availability_counts": availability_counts(&report.availability),
            "latency": report.latency,
            "verdicts": report.verdicts,
            "panic": report.panic,
            "stats": report.stats,
        });
        writeln!(out, "{line}")?;
        return Ok(());
    }
    let ops = report.ops;
    let status = if report.failed() {
        "FAILED"
    } else if report.inconclusive() {
        "inconclusive"
    } else {
        "ok"
    };
    let mut line = format!(
        "{status} model={} scenario={} seed={} events={} deliveries={} simulated={} trace_hash={hash}",
        report.model,
        report.scenario,
        report.seed,
        report.stats.events,
        report.stats.deliveries,
        report.simulated
    );
    if report.workload.is_some() {
        let latency = match report.latency {
            Some(l) => format!(
                "p50={:.1}ms p99={:.1}ms max={:.1}ms",
                l.p50_ms, l.p99_ms, l.max_ms
            ),
            None => "latency n/a (nothing succeeded)".to_owned(),
        };
        line += &format!(
            " ops: ok={} fail={} info={} unfinished={} availability: {} {latency}",
            ops.ok,
            ops.fail,
            ops.info,
            ops.unfinished,
            availability_text(&report.availability),
        );
    }
    writeln!(out, "{line}")?;
    if let Some(panic) = &report.panic {
        writeln!(out, "  the model panicked: {panic}")?;
    }
    for v in &report.verdicts {
        let show = verbose || (v.role != Role::Measured && !matches!(v.judgement, Judgement::Ok));
        if show {
            writeln!(out, "  {}", verdict_text(v))?;
        }
    }
    Ok(())
}

/// Sweeps time themselves: the wall clock is read here, outside every run, to report
/// seeds/s; nothing it reads reaches a simulation.
#[allow(clippy::disallowed_methods)]
fn sweep_command(args: SweepArgs, json: bool) -> anyhow::Result<ExitCode> {
    let base = args.scenario.config(args.seeds.start)?;
    let seeds = shard_seeds(args.seeds.clone(), args.shard);
    let jobs = args
        .jobs
        .map(|j| j as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bar = if std::io::stderr().is_terminal() && !json {
        let bar = indicatif::ProgressBar::new(seeds.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos}/{len} seeds [{bar:30}] {per_sec} eta {eta} {msg}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        Some(bar)
    } else {
        None
    };
    let start = std::time::Instant::now();
    let mut out = std::io::stdout().lock();
    let mut io_error = None;
    let mut failures_seen = 0u64;
    let totals = scenarios::sweep::sweep(&base, &seeds, jobs, args.stop_on_failure, |report| {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        let result = (|| -> anyhow::Result<()> {
            if json {
                print_report(&mut out, report, true, false)?;
            } else if report.failed() || report.inconclusive() {
                if let Some(bar) = &bar {
                    bar.suspend(|| print_report(&mut std::io::stdout(), report, false, false))?;
                } else {
                    print_report(&mut out, report, false, false)?;
                }
            }
            if report.failed() {
                failures_seen += 1;
                let dir = write_artifacts(&args.out, &base, report)?;
                let replay = replay_command(&args.scenario, report.seed);
                if let Some(bar) = &bar {
                    bar.suspend(|| {
                        eprintln!("  artifacts: {}\n  replay: {replay}", dir.display());
                    });
                } else if !json {
                    writeln!(out, "  artifacts: {}\n  replay: {replay}", dir.display())?;
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            io_error.get_or_insert(e);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(e) = io_error {
        return Err(e);
    }
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    let simulated_s = totals.simulated_ns as f64 / 1e9;
    let summary = json!({
        "summary": true,
        "model": base.model,
        "scenario": base.scenario(),
        "seeds": totals.runs,
        "failures": totals.failures,
        "inconclusive": totals.inconclusive,
        "first_failure": totals.first_failure,
        "jobs": jobs,
        "seeds_per_s": totals.runs as f64 / seconds,
        "events_per_s": totals.events as f64 / seconds,
        "simulated_to_real": simulated_s / seconds,
    });
    if json {
        // The summary goes to stderr so that shards' stdout lines concatenate into the
        // whole sweep's, and so that --jobs does not change stdout.
        eprintln!("{summary}");
    } else {
        let first = totals
            .first_failure
            .map(|s| format!(", first at seed {s}"))
            .unwrap_or_default();
        writeln!(
            out,
            "sweep {} {}: {} seeds, {} failed{first}, {} inconclusive; {:.0} seeds/s, {:.2}M events/s, {:.0}x simulated-to-real, {jobs} jobs, {:.2}s",
            base.model,
            base.scenario(),
            totals.runs,
            totals.failures,
            totals.inconclusive,
            totals.runs as f64 / seconds,
            totals.events as f64 / seconds / 1e6,
            simulated_s / seconds,
            seconds
        )?;
    }
    let _ = failures_seen;
    Ok(runs_exit(totals.failures, totals.inconclusive))
}

/// Writes a failing run's history, plan, trace, report and viewer page.
fn write_artifacts(
    root: &std::path::Path,
    base: &RunConfig,
    report: &RunReport,
) -> anyhow::Result<PathBuf> {
    let dir = scenarios::sweep::artifact_dir(root, report);
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))
    };
    write("history.jsonl", report.history.to_jsonl())?;
    write("plan.json", report.plan.to_json())?;
    let mut config = base.clone();
    config.seed = report.seed;
    config.trace = true;
    let traced = run(&config)?;
    anyhow::ensure!(
        traced.trace_hash == report.trace_hash,
        "nondeterminism: seed {} gave trace hash {:016x} and, traced, {:016x}",
        report.seed,
        report.trace_hash,
        traced.trace_hash
    );
    let trace: String = traced
        .trace
        .unwrap_or_default()
        .iter()
        .map(|e| format!("{e}\n"))
        .collect();
    write("trace.txt", trace)?;
    let mut text = Vec::new();
    print_report(&mut text, report, false, true)?;
    write("report.txt", String::from_utf8_lossy(&text).into_owned())?;
    if report.panic.is_none() {
        write_viz(&dir.join("viz.html"), report)?;
    }
    Ok(dir)
}

fn shrink_command(args: ShrinkArgs, json: bool) -> anyhow::Result<ExitCode> {
    let config = args.scenario.config(args.seed)?;
    let Some(shrunk) = scenarios::shrink::shrink(&config, args.budget)? else {
        if json {
            println!("{}", json!({ "seed": args.seed, "failed": false }));
        } else {
            println!(
                "seed {} does not fail {} under {}: nothing to shrink",
                args.seed,
                config.model,
                config.scenario()
            );
        }
        return Ok(ExitCode::SUCCESS);
    };
    let dir = args.out.join(format!(
        "{}-{}-{}-shrunk",
        config.model,
        config.scenario(),
        args.seed
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let plan_path = dir.join("plan.json");
    std::fs::write(&plan_path, shrunk.plan.to_json())
        .with_context(|| format!("{}: cannot write", plan_path.display()))?;
    std::fs::write(dir.join("history.jsonl"), shrunk.report.history.to_jsonl())
        .with_context(|| format!("{}: cannot write", dir.display()))?;
    let mut replay = ScenarioArgs {
        plan: Some(plan_path.clone()),
        ops: Some(shrunk.ops),
        clients: shrunk.clients,
        keys: shrunk.keys,
        ..args.scenario.clone()
    };
    replay.scenario = "none".to_owned();
    let command = replay_command(&replay, args.seed).replace(" --scenario none", "");
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(
            out,
            "{}",
            json!({
                "seed": args.seed,
                "failed": true,
                "faults": shrunk.plan.faults.len(),
                "original_faults": shrunk.original_faults,
                "ops": shrunk.ops,
                "original_ops": shrunk.original_ops,
                "clients": shrunk.clients,
                "original_clients": shrunk.original_clients,
                "keys": shrunk.keys,
                "original_keys": shrunk.original_keys,
                "runs": shrunk.runs,
                "plan": plan_path,
                "replay": command,
            })
        )?;
    } else {
        writeln!(
            out,
            "shrunk seed {} of {} under {}: {} faults (from {}), {} clients (from {}), {} keys (from {}), {} operations (from {}), in {} runs",
            args.seed,
            config.model,
            config.scenario(),
            shrunk.plan.faults.len(),
            shrunk.original_faults,
            shrunk.clients,
            shrunk.original_clients,
            shrunk.keys,
            shrunk.original_keys,
            shrunk.ops,
            shrunk.original_ops,
            shrunk.runs
        )?;
        print_report(&mut out, &shrunk.report, false, false)?;
        writeln!(out, "plan: {}", plan_path.display())?;
        for f in &shrunk.plan.faults {
            writeln!(out, "  at {}: {}", f.at, serde_json::to_string(&f.fault)?)?;
        }
        writeln!(out, "replay: {command}")?;
    }
    Ok(ExitCode::from(1))
}

fn matrix_command(args: MatrixArgs, json: bool) -> anyhow::Result<ExitCode> {
    let model_names: Vec<scenarios::matrix::ModelSpec> = if args.models.is_empty() {
        models::catalog()
            .iter()
            .filter(|m| m.serves_clients && m.variant_of.is_none())
            .map(|m| m.name.parse().expect("a catalogued name"))
            .collect()
    } else {
        args.models.clone()
    };
    let nemeses: Vec<Nemesis> = if args.scenarios.is_empty() {
        Nemesis::ALL.to_vec()
    } else {
        args.scenarios
            .iter()
            .map(|n| Nemesis::from_name(n).expect("clap checked the name"))
            .collect()
    };
    let config = scenarios::matrix::MatrixConfig {
        seeds: args.seeds,
        jobs: args
            .jobs
            .map(|j| j as usize)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        workload: WorkloadConfig {
            ops: u64::MAX,
            keys: args.keys,
            rate: Some(args.rate),
            ..WorkloadConfig::default()
        },
        mix: args
            .workload
            .as_deref()
            .map(|name| Mix::from_name(name).expect("clap checked the name")),
        client: args.client.settings(),
        spell: args.spell_ms.map(Duration::from_millis),
    };
    // Settings a model refuses are refused before the table starts.
    for spec in &model_names {
        scenarios::run::validate(&config.cell(spec, Nemesis::None))?;
    }
    let mut out = std::io::stdout().lock();
    if !json {
        writeln!(
            out,
            "CAP matrix: {} seeds per cell, {} operations per second per client (open loop); \
             share of runs in which each guarantee held (* = promised by the model), \
             availability four ways (see `consim list`), latency of successful operations\n",
            args.seeds, args.rate
        )?;
        writeln!(out, "{}", scenarios::matrix::markdown_header())?;
    }
    let mut io_error = None;
    let mut broken_promises = 0u64;
    scenarios::matrix::matrix(&model_names, &nemeses, &config, |row| {
        broken_promises += u64::from(row.broke_a_promise());
        let line = if json {
            row.to_json().to_string()
        } else {
            scenarios::matrix::markdown_row(row, args.intervals)
        };
        if let Err(e) = writeln!(out, "{line}") {
            io_error.get_or_insert(anyhow::Error::from(e));
        }
    })?;
    if let Some(e) = io_error {
        return Err(e);
    }
    Ok(runs_exit(broken_promises, 0))
}

/// Times the relay benchmark. The wall clock is read here, outside every run, to
/// measure the runs; nothing it reads reaches a simulation.
#[allow(clippy::disallowed_methods)]
fn bench_kernel(deliveries: u64, repeat: u32, seed: u64, json: bool) -> anyhow::Result<ExitCode> {
    // One unmeasured run warms caches and the allocator.
    kernel_bench::relay(seed, deliveries.min(100_000))?;
    let mut rates = Vec::new();
    let mut last = None;
    for _ in 0..repeat {
        let start = std::time::Instant::now();
        let run = kernel_bench::relay(seed, deliveries)?;
        let seconds = start.elapsed().as_secs_f64();
        rates.push(run.deliveries as f64 / seconds);
        if let Some(previous) = last {
            anyhow::ensure!(previous == run, "nondeterminism: {previous:?} then {run:?}");
        }
        last = Some(run);
    }
    let run = last.expect("repeat is at least 1");
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    let (min, max) = (rates[0], rates[rates.len() - 1]);
    let mut out = std::io::stdout().lock();
    if json {
        let line = json!({
            "bench": "kernel-relay",
            "nodes": kernel_bench::RELAY_NODES,
            "seed": seed,
            "deliveries": run.deliveries,
            "repeat": repeat,
            "deliveries_per_s": median,
            "deliveries_per_s_min": min,
            "deliveries_per_s_max": max,
            "simulated_ns": run.simulated.as_nanos(),
            "trace_hash": format!("{:016x}", run.trace_hash),
        });
        writeln!(out, "{line}")?;
    } else {
        writeln!(
            out,
            "kernel relay: {} nodes, {} deliveries, {} simulated, trace_hash={:016x}",
            kernel_bench::RELAY_NODES,
            run.deliveries,
            run.simulated,
            run.trace_hash
        )?;
        writeln!(
            out,
            "deliveries/s: median {:.2}M over {repeat} runs (min {:.2}M, max {:.2}M)",
            median / 1e6,
            min / 1e6,
            max / 1e6
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
