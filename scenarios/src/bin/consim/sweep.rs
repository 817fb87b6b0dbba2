//! `consim sweep`: one scenario over a range of seeds, across cores.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use scenarios::config::RunConfig;
use scenarios::exit::Exit;
use scenarios::report::RunReport;
use scenarios::sweep::{Shard, SweepTotals, parse_seeds, shard_seeds};
use serde_json::json;

use crate::args::ScenarioArgs;

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// The seeds, `A..B` (B excluded).
    #[arg(long, value_parser = parse_seeds)]
    pub seeds: std::ops::Range<u64>,
    /// Worker threads (default: the machine's cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_024))]
    pub jobs: Option<u32>,
    /// Run only shard I of N (every N-th seed of the range, from the I-th).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Stop at the first failing seed.
    #[arg(long)]
    pub stop_on_failure: bool,
    /// Where failing runs' artifacts go.
    #[arg(long, default_value = "consim-out", value_name = "DIR")]
    pub out: PathBuf,
}

/// The number of worker threads: `jobs`, or the machine's cores.
pub fn jobs(jobs: Option<u32>) -> usize {
    jobs.map(|j| j as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Sweeps time themselves: the wall clock is read here, outside every run, to report
/// seeds/s; nothing it reads reaches a simulation.
#[allow(clippy::disallowed_methods)]
pub fn command(args: SweepArgs, json: bool) -> anyhow::Result<Exit> {
    let base = args.scenario.config(args.seeds.start)?;
    let seeds = shard_seeds(args.seeds.clone(), args.shard);
    let jobs = jobs(args.jobs);
    let bar = (std::io::stderr().is_terminal() && !json).then(|| progress(seeds.len()));
    let start = std::time::Instant::now();
    let mut out = std::io::stdout().lock();
    let mut io_error = None;
    let totals = scenarios::sweep::sweep(&base, &seeds, jobs, args.stop_on_failure, |report| {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        let shown = match &bar {
            Some(bar) => bar.suspend(|| show(&mut std::io::stdout(), &args, &base, report, json)),
            None => show(&mut out, &args, &base, report, json),
        };
        if let Err(e) = shown {
            io_error.get_or_insert(e);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(e) = io_error {
        return Err(e);
    }
    summarize(
        &mut out,
        &base,
        &totals,
        jobs,
        start.elapsed().as_secs_f64(),
        json,
    )?;
    Ok(Exit::of(totals.failures, totals.inconclusive))
}

fn progress(seeds: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(seeds as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {pos}/{len} seeds [{bar:30}] {per_sec} eta {eta} {msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar
}

/// One run's line (every run with `--json`, else the ones that did not pass), and a
/// failing run's artifacts and replay line.
fn show(
    out: &mut impl Write,
    args: &SweepArgs,
    base: &RunConfig,
    report: &RunReport,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        writeln!(out, "{}", report.to_json())?;
    } else if report.failed() || report.inconclusive() {
        report.write_text(out, false)?;
    }
    if report.failed() {
        let dir = scenarios::artifacts::write(&args.out, base, report, &scenarios::run::run)?;
        let mut config = base.clone();
        config.seed = report.seed;
        let replay = crate::replay_line(&config, args.scenario.plan.as_deref())?;
        if !json {
            writeln!(out, "  artifacts: {}\n  replay: {replay}", dir.display())?;
        }
    }
    Ok(())
}

fn summarize(
    out: &mut impl Write,
    base: &RunConfig,
    totals: &SweepTotals,
    jobs: usize,
    seconds: f64,
    json: bool,
) -> anyhow::Result<()> {
    let seconds = seconds.max(1e-9);
    let simulated_s = totals.simulated_ns as f64 / 1e9;
    if json {
        let summary = json!({
            "summary": true,
            "model": base.model,
            "scenario": base.scenario(),
            "seeds": totals.runs,
            "failures": totals.failures,
            "inconclusive": totals.inconclusive,
            "first_failure": totals.first_failure,
            "ops": totals.ops,
            "jobs": jobs,
            "seeds_per_s": totals.runs as f64 / seconds,
            "events_per_s": totals.events as f64 / seconds,
            "simulated_to_real": simulated_s / seconds,
        });
        // The summary goes to stderr so that shards' stdout lines concatenate into the
        // whole sweep's, and so that --jobs does not change stdout.
        eprintln!("{summary}");
        return Ok(());
    }
    let first = totals
        .first_failure
        .map(|s| format!(", first at seed {s}"))
        .unwrap_or_default();
    let ops = totals.ops;
    writeln!(
        out,
        "sweep {} {}: {} seeds, {} failed{first}, {} inconclusive; operations: {} ok, {} failed, {} timed out, {} unfinished; {:.0} seeds/s, {:.2}M events/s, {:.0}x simulated-to-real, {jobs} jobs, {:.2}s",
        base.model,
        base.scenario(),
        totals.runs,
        totals.failures,
        totals.inconclusive,
        ops.ok,
        ops.fail,
        ops.info,
        ops.unfinished,
        totals.runs as f64 / seconds,
        totals.events as f64 / seconds / 1e6,
        simulated_s / seconds,
        seconds
    )?;
    Ok(())
}
