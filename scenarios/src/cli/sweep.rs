//! `consim sweep`: one scenario over a range of seeds, across cores.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use models::Catalog;
use serde_json::json;

use super::args::ScenarioArgs;
use crate::config::RunConfig;
use crate::exit::Exit;
use crate::harness::{Harness, Until};
use crate::report::RunReport;
use crate::sweep::{Shard, SweepTotals, parse_seeds, shard_seeds};

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
    /// Where failing runs' artifacts go (default: consim-out, or the folder the
    /// program's harness names).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Sweeps time themselves: the wall clock is read here, outside every run, to report
/// seeds/s; nothing it reads reaches a simulation.
#[allow(clippy::disallowed_methods)]
pub fn command<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    args: SweepArgs,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let base = args.scenario.config(harness, args.seeds.start)?;
    let seeds = shard_seeds(args.seeds.clone(), args.shard);
    let jobs = args.jobs.map_or(harness.threads(), |j| j as usize);
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| harness.out_dir().to_owned());
    let harness = harness.clone().jobs(jobs).out(out_dir);
    let until = if args.stop_on_failure {
        Until::FirstFailure
    } else {
        Until::AllSeeds
    };
    let bar = (std::io::stderr().is_terminal() && !json).then(|| progress(seeds.len()));
    let start = std::time::Instant::now();
    let mut io_error = None;
    let totals = harness.sweep(&base, &seeds, until, |report| {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        let shown = match &bar {
            Some(bar) => bar.suspend(|| show(out, &harness, &args, &base, report, json)),
            None => show(out, &harness, &args, &base, report, json),
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
        out,
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
fn show<C: Catalog + Clone + 'static>(
    out: &mut dyn Write,
    harness: &Harness<C>,
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
        let mut config = base.clone();
        config.seed = report.seed;
        let replay = harness.replay(&config, args.scenario.files())?;
        let dir = harness.write_artifacts(base, report, &replay)?;
        if !json {
            writeln!(out, "  artifacts: {}\n  replay: {replay}", dir.display())?;
        }
    }
    Ok(())
}

fn summarize(
    out: &mut dyn Write,
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
            "largest_measures": totals
                .largest
                .iter()
                .map(|(seed, m)| json!({"seed": seed, "measure": m}))
                .collect::<Vec<_>>(),
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
    for (seed, measure) in &totals.largest {
        writeln!(out, "  largest at seed {seed}: {measure}")?;
    }
    Ok(())
}
