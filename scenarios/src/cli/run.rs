//! `consim run`: one model, one scenario, one seed.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use models::Catalog;
use serde_json::json;
use sim_core::TraceEvent;

use super::args::ScenarioArgs;
use crate::config::RunConfig;
use crate::exit::Exit;
use crate::harness::Harness;
use crate::report::RunReport;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// The run seed: the same seed and build give the same run (default: 1).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Follow the schedule in this file (written by `consim explore --save-schedule`)
    /// instead of a seed: the order of events it records, move for move, with its
    /// configuration (the --model given must be the schedule's). The trace's clock
    /// advances one millisecond per step: a schedule has an order, not latencies.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["seed", "check_determinism", "plan", "script"])]
    pub schedule: Option<PathBuf>,
    /// Print every event of the run before the summary.
    #[arg(long)]
    pub trace: bool,
    /// Write the clients' history to this file (JSONL).
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Write the fault plan applied to this file (JSON; replay it with --plan).
    #[arg(long, value_name = "FILE")]
    pub save_plan: Option<PathBuf>,
    /// Write a self-contained HTML page of the run: its messages, faults and history on
    /// one time axis, zoomed to the operations that show a violation (traces the run).
    #[arg(long, value_name = "FILE")]
    pub viz: Option<PathBuf>,
    /// Run the seed twice and compare the traces event by event.
    #[arg(long)]
    pub check_determinism: bool,
}

pub fn command<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    args: RunArgs,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    if let Some(path) = &args.schedule {
        return scheduled(harness, &args, path, json, out);
    }
    let seed = args.seed.unwrap_or(1);
    let mut config = args.scenario.config(harness, seed)?;
    // The page is drawn from the trace; tracing does not change the run.
    config.trace = args.trace || args.viz.is_some();
    let report = if args.check_determinism {
        checked_twice(harness, &config)?
    } else {
        harness.run(&config).context("cannot run")?
    };
    let replay = harness.replay(&config, args.scenario.files())?;
    show(&args, &report, &replay, json, out)
}

/// `consim run --schedule`: the explored schedule followed again, reported as a run.
fn scheduled<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    args: &RunArgs,
    path: &std::path::Path,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let (config, followed) = super::explore::follow(harness, path)?;
    anyhow::ensure!(
        config.model == args.scenario.model,
        "{}: the schedule is of model {}, not {}",
        path.display(),
        config.model,
        args.scenario.model
    );
    let report = followed.report(&config);
    let replay = format!(
        "{} run --model {} --schedule {}",
        harness.command_name(),
        config.model,
        path.display()
    );
    show(args, &report, &replay, json, out)
}

/// Prints a run's trace (if asked), writes the files the flags ask for, prints the
/// report and the line that replays it; the run's exit code.
fn show(
    args: &RunArgs,
    report: &RunReport,
    replay: &str,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    if args.trace {
        for event in report.trace.as_deref().unwrap_or_default() {
            if json {
                writeln!(out, "{}", json!({ "trace": event }))?;
            } else {
                writeln!(out, "{event}")?;
            }
        }
    }
    write_files(args, report, replay)?;
    if json {
        writeln!(out, "{}", report.to_json())?;
    } else {
        report.write_text(out, true)?;
        writeln!(out, "replay: {replay}")?;
    }
    Ok(Exit::of(
        u64::from(report.failed()),
        u64::from(report.inconclusive()),
    ))
}

/// Runs `config` twice and fails, naming the first differing event, unless the two
/// traces are the same.
fn checked_twice<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    config: &RunConfig,
) -> anyhow::Result<RunReport> {
    let (report, divergence) = harness.check_determinism(config).context("cannot run")?;
    if let Some(d) = divergence {
        let show = |e: Option<&TraceEvent>| e.map_or("(nothing)".to_owned(), ToString::to_string);
        anyhow::bail!(
            "nondeterminism: the two runs of seed {} differ first at event {}:\n  first run:  {}\n  second run: {}",
            config.seed,
            d.index,
            show(d.first.as_ref()),
            show(d.second.as_ref())
        );
    }
    eprintln!(
        "determinism: both runs of seed {} gave the same {} trace entries (trace_hash={:016x})",
        config.seed,
        report.trace.as_ref().map_or(0, Vec::len),
        report.trace_hash
    );
    Ok(report)
}

/// The history, plan and page the flags ask for (`replay` goes on the page).
fn write_files(args: &RunArgs, report: &RunReport, replay: &str) -> anyhow::Result<()> {
    if let Some(path) = &args.history {
        std::fs::write(path, report.history.to_jsonl())
            .with_context(|| format!("{}: cannot write the history", path.display()))?;
    }
    if let Some(path) = &args.save_plan {
        std::fs::write(path, report.plan.to_json())
            .with_context(|| format!("{}: cannot write the plan", path.display()))?;
    }
    if let Some(path) = &args.viz {
        crate::artifacts::write_page(path, report, replay)?;
    }
    Ok(())
}
