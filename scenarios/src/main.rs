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
use scenarios::run::{RunConfig, RunReport, run};
use serde_json::json;
use sim_core::{Duration, FaultPlan};

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
    /// List the models and what each promises.
    List,
    /// Run one model with one seed and print a summary line.
    Run(RunArgs),
    /// Check histories: is each linearizable?
    Check(CheckArgs),
    /// Measure the simulator.
    Bench {
        #[command(subcommand)]
        what: Bench,
    },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The model (see `consim list`).
    #[arg(long, value_parser = model_names())]
    model: String,
    /// The run seed: the same seed and build give the same run.
    #[arg(long)]
    seed: u64,
    /// Apply the faults of this plan file (JSON, see sim_core::FaultPlan).
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Print every event of the run before the summary.
    #[arg(long)]
    trace: bool,
    /// Operations the clients perform in all.
    #[arg(long, default_value_t = 200)]
    ops: u64,
    /// Number of clients.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    clients: u32,
    /// How long a client waits for a reply, in milliseconds, before it reports the
    /// operation as indeterminate.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
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
        Err(err) => {
            eprintln!("consim: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn list(json: bool) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    for model in models::catalog() {
        if json {
            writeln!(out, "{}", serde_json::to_string(model)?)?;
        } else {
            let promises: Vec<String> = model
                .promises
                .iter()
                .map(|g| serde_json::to_value(g).map(|v| v.as_str().unwrap_or("").to_owned()))
                .collect::<Result<_, _>>()?;
            let promises = if promises.is_empty() {
                "nothing (no clients)".to_owned()
            } else {
                promises.join(", ")
            };
            writeln!(out, "{:<12} {}", model.name, model.summary)?;
            writeln!(out, "{:<12} promises: {promises}", "")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_command(args: RunArgs, json: bool) -> anyhow::Result<ExitCode> {
    let mut config = RunConfig::new(&args.model, args.seed);
    if let Some(path) = &args.plan {
        config.plan = FaultPlan::load(path)?;
    }
    config.trace = args.trace;
    config.workload.ops = args.ops;
    config.clients = args.clients;
    config.client_timeout = Duration::from_millis(args.timeout_ms);
    let report = run(&config).with_context(|| match &args.plan {
        Some(path) => format!("cannot run with plan {}", path.display()),
        None => "cannot run".to_owned(),
    })?;
    print_run(&report, &args, json)?;
    Ok(ExitCode::SUCCESS)
}

fn print_run(report: &RunReport, args: &RunArgs, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if let Some(trace) = &report.trace {
        for event in trace {
            if json {
                writeln!(out, "{}", json!({ "trace": event }))?;
            } else {
                writeln!(out, "{event}")?;
            }
        }
    }
    let hash = format!("{:016x}", report.trace_hash);
    if json {
        let line = json!({
            "model": report.model,
            "seed": report.seed,
            "events": report.stats.events,
            "deliveries": report.stats.deliveries,
            "simulated_ns": report.simulated.as_nanos(),
            "trace_hash": hash,
            "ops": report.ops,
            "stats": report.stats,
        });
        writeln!(out, "{line}")?;
    } else {
        let ops = report.ops;
        let mut line = format!(
            "model={} seed={} events={} deliveries={} simulated={} trace_hash={hash}",
            report.model,
            report.seed,
            report.stats.events,
            report.stats.deliveries,
            report.simulated
        );
        if ops != Default::default() {
            line += &format!(
                " ops: ok={} fail={} info={} unfinished={}",
                ops.ok, ops.fail, ops.info, ops.unfinished
            );
        }
        writeln!(out, "{line}")?;
        let plan = args
            .plan
            .as_ref()
            .map(|p| format!(" --plan {}", p.display()))
            .unwrap_or_default();
        writeln!(
            out,
            "replay: cargo run --release -- run --model {} --seed {}{plan} --trace",
            report.model, report.seed
        )?;
    }
    Ok(())
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
