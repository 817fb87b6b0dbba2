//! `consim explore`: every schedule of a small configuration.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use models::Catalog;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sim_core::explore::{Budget, Order, Reduction, Schedule, Stats};

use crate::exit::Exit;
use crate::explore::{ExploreConfig, ExploreOutcome, ExploreReport, Followed, Pattern};
use crate::harness::Harness;

#[derive(Debug, clap::Args)]
pub struct ExploreArgs {
    /// The model (see `consim list`; only models that offer exploration). Needed
    /// unless --replay gives a schedule, which names its own.
    #[arg(long)]
    pub model: Option<String>,
    /// Replicas (default: the model's own; the same as `--param replicas=N`).
    #[arg(long)]
    pub replicas: Option<usize>,
    /// A model setting, `KEY=VALUE` (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = crate::matrix::parse_setting)]
    pub params: Vec<(String, String)>,
    /// Switch on one of the model's bugs (repeatable): the same as `--param NAME=true`.
    #[arg(long = "bug", value_name = "NAME")]
    pub bugs: Vec<String>,
    /// Clients, each doing `--ops` operations: a write (an append, for list-append
    /// models), then reads and writes by turns.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=8))]
    pub clients: u32,
    /// Operations per client.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=8))]
    pub ops: u32,
    /// Each client's operations instead, one word per client, one letter per
    /// operation (w write, r read, c cas, a append): `w/rr` is a writer and a client
    /// that reads twice. Overrides --clients and --ops.
    #[arg(long)]
    pub pattern: Option<Pattern>,
    /// Messages that may be lost along one schedule.
    #[arg(long, default_value_t = 0)]
    pub drops: u32,
    /// Messages that may be delivered twice along one schedule.
    #[arg(long, default_value_t = 0)]
    pub duplicates: u32,
    /// Replica crashes along one schedule (a crashed replica may restart later).
    #[arg(long, default_value_t = 0)]
    pub crashes: u32,
    /// Partitions along one schedule: a replica cut off from every other node, healed
    /// at any later point (or never); one at a time.
    #[arg(long, default_value_t = 0)]
    pub partitions: u32,
    /// Timer firings along one schedule; any pending timer may fire next. With 0
    /// (the default) timers never fire: no retransmissions, no client timeouts.
    #[arg(long, default_value_t = 0)]
    pub timer_firings: u32,
    /// `sleep-sets` skips reorderings of independent events; `dpor` (dynamic
    /// partial-order reduction, depth first, no faults) takes one schedule per class of
    /// schedules that only reorder independent events, visiting fewer states but,
    /// keeping no table of them, often taking more steps; `none` takes every one.
    #[arg(long, default_value = "sleep-sets", value_parser = reduction())]
    pub reduction: Reduction,
    /// `bfs` (breadth first: a violation with the fewest steps) or `dfs` (depth first:
    /// memory for the visited states and the current path only).
    #[arg(long, default_value = "bfs", value_parser = order())]
    pub search: Order,
    /// Keep in flight the messages their receivers would ignore for good (late
    /// answers to settled requests) instead of taking them out: the same histories in
    /// a larger space.
    #[arg(long)]
    pub keep_ignored: bool,
    /// Also explore with no reduction at all (every transition, ignored messages
    /// kept) and print both, to show the reductions' effect.
    #[arg(long)]
    pub compare: bool,
    /// Stop (unknown, exit 3) beyond this many distinct states.
    #[arg(long, default_value_t = 10_000_000)]
    pub max_states: u64,
    /// Stop (unknown, exit 3) after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Stop (unknown, exit 3) once the process holds this much memory (K, M or G;
    /// read from /proc/self/status, where there is one): the states waiting to be
    /// expanded and the visited ones are what grows.
    #[arg(long, default_value = "4G", value_name = "BYTES", value_parser = super::args::parse_bytes)]
    pub max_memory: u64,
    /// Seeds the nodes' random streams.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write a violation's schedule to this file (JSON; follow it with --replay).
    #[arg(long, value_name = "FILE")]
    pub save_schedule: Option<PathBuf>,
    /// Follow the schedule in this file (written by --save-schedule) step by step,
    /// print it and judge its history, instead of exploring (`consim run --schedule`
    /// does the same as a run, with its report and --viz page).
    #[arg(long, value_name = "FILE", conflicts_with = "save_schedule")]
    pub replay: Option<PathBuf>,
}

/// The names `--reduction` and `--search` take, and what each means.
const REDUCTIONS: [(&str, Reduction); 3] = [
    ("sleep-sets", Reduction::SleepSets),
    ("dpor", Reduction::Dpor),
    ("none", Reduction::None),
];
const ORDERS: [(&str, Order); 2] = [("bfs", Order::BreadthFirst), ("dfs", Order::DepthFirst)];

/// A flag's value, one of `table`'s names.
fn choice<T: Copy + Send + Sync + 'static, const N: usize>(
    table: [(&'static str, T); N],
) -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(table.map(|(name, _)| name)).map(move |name| {
        table
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, value)| value)
            .expect("a possible value is in the table")
    })
}

fn reduction() -> impl clap::builder::TypedValueParser<Value = Reduction> {
    choice(REDUCTIONS)
}

fn order() -> impl clap::builder::TypedValueParser<Value = Order> {
    choice(ORDERS)
}

/// A schedule on disk: the configuration it is a schedule of, and its steps.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleFile {
    config: ExploreConfig,
    schedule: Schedule,
}

impl ExploreArgs {
    fn config<C: Catalog>(&self, catalog: &C) -> anyhow::Result<ExploreConfig> {
        let model = self
            .model
            .clone()
            .ok_or_else(|| anyhow::anyhow!("explore needs --model (or --replay FILE)"))?;
        let mix = catalog
            .find(&model)
            .map_or(models::kv::Mix::Register, |m| m.workload);
        let mut params = self.params.clone();
        if let Some(n) = self.replicas {
            params.push(("replicas".to_owned(), n.to_string()));
        }
        params.extend(self.bugs.iter().map(|bug| (bug.clone(), "true".to_owned())));
        Ok(ExploreConfig {
            model,
            params,
            pattern: self.pattern.clone().unwrap_or_else(|| {
                Pattern::alternating(self.clients as usize, self.ops as usize, mix)
            }),
            budget: Budget {
                drops: self.drops,
                duplicates: self.duplicates,
                crashes: self.crashes,
                timer_firings: self.timer_firings,
                partitions: self.partitions,
            },
            reduction: self.reduction,
            keep_ignored: self.keep_ignored,
            order: self.search,
            max_states: self.max_states,
            seed: self.seed,
            timeout_ms: 500,
            attempts: 1,
        })
    }
}

pub fn command<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    args: ExploreArgs,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    if let Some(path) = &args.replay {
        return replay(harness, path, json, out);
    }
    let config = args.config(harness.catalog())?;
    let unreduced = ExploreConfig {
        reduction: Reduction::None,
        keep_ignored: true,
        ..config.clone()
    };
    let runs: Vec<ExploreConfig> = if args.compare && config != unreduced {
        vec![config, unreduced]
    } else {
        vec![config]
    };
    let mut exit = Exit::Consistent;
    for config in &runs {
        let (report, seconds) = timed(harness, config, args.timeout, args.max_memory)?;
        if let (Some(path), ExploreOutcome::Violation { schedule, .. }) =
            (&args.save_schedule, &report.outcome)
        {
            let file = ScheduleFile {
                config: config.clone(),
                schedule: schedule.clone(),
            };
            std::fs::write(path, serde_json::to_string_pretty(&file)? + "\n")
                .with_context(|| format!("{}: cannot write the schedule", path.display()))?;
        }
        if json {
            writeln!(out, "{}", to_json(config, &report, seconds))?;
        } else {
            write_text(out, config, &report, seconds)?;
        }
        exit = exit.max(match report.outcome {
            ExploreOutcome::Ok => Exit::Consistent,
            ExploreOutcome::Violation { .. } => Exit::Violation,
            ExploreOutcome::Unknown { .. } => Exit::Inconclusive,
        });
    }
    Ok(exit)
}

/// Explores `config`, stopping after `timeout` seconds of wall time if given.
#[allow(
    clippy::disallowed_methods,
    reason = "wall time only bounds and measures the search; it never decides what is explored"
)]
fn timed<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    config: &ExploreConfig,
    timeout: Option<f64>,
    max_memory: u64,
) -> anyhow::Result<(ExploreReport, f64)> {
    let started = std::time::Instant::now();
    let mut stop = || {
        if let Some(t) = timeout.filter(|&t| started.elapsed().as_secs_f64() > t) {
            return Some(format!("stopped after {t} s (--timeout)"));
        }
        resident_bytes()
            .filter(|&held| held > max_memory)
            .map(|held| {
                format!(
                    "stopped holding {} MiB, over --max-memory {} MiB",
                    held >> 20,
                    max_memory >> 20
                )
            })
    };
    let report = crate::explore::explore(harness.catalog(), config, &mut stop)
        .with_context(|| format!("cannot explore {}", config.model))?;
    Ok((report, started.elapsed().as_secs_f64()))
}

/// The process's resident memory, from the `VmRSS` line of `/proc/self/status`, if
/// the system has one.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib << 10)
}

/// Reads the schedule file at `path` and follows it.
pub(super) fn follow<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    path: &std::path::Path,
) -> anyhow::Result<(ExploreConfig, Followed)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the schedule", path.display()))?;
    let file: ScheduleFile = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}:{}: expected a schedule written by `consim explore --save-schedule`: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    let followed = crate::explore::replay(harness.catalog(), &file.config, &file.schedule)
        .with_context(|| format!("{}: cannot follow the schedule", path.display()))?;
    Ok((file.config, followed))
}

fn replay<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    path: &std::path::Path,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let (_, followed) = follow(harness, path)?;
    let Followed {
        replayed,
        history,
        violation,
        ..
    } = &followed;
    if json {
        writeln!(
            out,
            "{}",
            json!({ "steps": replayed.narrative, "history": history.to_jsonl(), "violation": violation })
        )?;
    } else {
        writeln!(
            out,
            "replay of {} ({} steps):",
            path.display(),
            replayed.narrative.len()
        )?;
        write_steps(out, &replayed.narrative)?;
        writeln!(out, "history:")?;
        out.write_all(history.to_jsonl().as_bytes())?;
        match violation {
            Some(why) => writeln!(out, "VIOLATION: {why}")?,
            None => writeln!(out, "ok: the history it ends with breaks nothing judged")?,
        }
    }
    Ok(if violation.is_some() {
        Exit::Violation
    } else {
        Exit::Consistent
    })
}

fn write_steps(out: &mut dyn Write, steps: &[String]) -> std::io::Result<()> {
    for (i, line) in steps.iter().enumerate() {
        writeln!(out, "  {:>3}. {line}", i + 1)?;
    }
    Ok(())
}

fn write_text(
    out: &mut dyn Write,
    config: &ExploreConfig,
    report: &ExploreReport,
    seconds: f64,
) -> std::io::Result<()> {
    let b = config.budget;
    writeln!(
        out,
        "explore {}: {} replicas, {} clients, pattern {} ({} operations); budget: {} drops, {} duplicates, {} crashes, {} partitions, {} timer firings; reduction: {}{}{}",
        report.info.name,
        report.replicas,
        config.pattern.clients(),
        config.pattern,
        config.pattern.operations(),
        b.drops,
        b.duplicates,
        b.crashes,
        b.partitions,
        b.timer_firings,
        reduction_name(config.reduction),
        if config.keep_ignored || config.reduction == Reduction::Dpor {
            ", ignored messages kept"
        } else {
            ""
        },
        match config.order {
            Order::BreadthFirst => "",
            Order::DepthFirst => "; depth first",
        },
    )?;
    let judged: Vec<&str> = report.judged.iter().map(|g| g.name()).collect();
    match &report.outcome {
        ExploreOutcome::Ok => writeln!(
            out,
            "ok: {}; no history breaks {}",
            match config.reduction {
                Reduction::Dpor =>
                    "a schedule of every class of equivalent schedules taken to its end",
                Reduction::SleepSets | Reduction::None => "every reachable state expanded",
            },
            judged.join(", ")
        )?,
        ExploreOutcome::Unknown { reason } => writeln!(out, "unknown: {reason}")?,
        ExploreOutcome::Violation {
            explanation,
            schedule,
            replayed,
        } => {
            writeln!(
                out,
                "VIOLATION after {} steps: {explanation}",
                schedule.steps.len()
            )?;
            writeln!(out, "schedule:")?;
            write_steps(out, &replayed.narrative)?;
        }
    }
    write_stats(out, &report.stats, seconds)
}

fn write_stats(out: &mut dyn Write, s: &Stats, seconds: f64) -> std::io::Result<()> {
    writeln!(
        out,
        "states: {} distinct; transitions: {} taken, {} slept; {} revisits, {} re-expanded; {} terminal; depth {}; {} histories judged",
        s.states,
        s.transitions,
        s.slept,
        s.revisits,
        s.reexpanded,
        s.terminal,
        s.max_depth,
        s.histories
    )?;
    if s.schedules > 0 {
        writeln!(
            out,
            "dpor: {} schedules taken to their end, {} cut short with every move asleep",
            s.schedules, s.blocked
        )?;
    }
    writeln!(
        out,
        "time: {seconds:.2} s; {:.0} states/s, {:.0} transitions/s",
        s.states as f64 / seconds.max(1e-9),
        s.transitions as f64 / seconds.max(1e-9)
    )
}

fn reduction_name(r: Reduction) -> &'static str {
    REDUCTIONS
        .iter()
        .find(|(_, value)| *value == r)
        .map_or("?", |(name, _)| name)
}

fn to_json(config: &ExploreConfig, report: &ExploreReport, seconds: f64) -> serde_json::Value {
    let (verdict, detail) = match &report.outcome {
        ExploreOutcome::Ok => ("ok", json!(null)),
        ExploreOutcome::Unknown { reason } => ("unknown", json!(reason)),
        ExploreOutcome::Violation {
            explanation,
            schedule,
            replayed,
        } => (
            "violation",
            json!({ "explanation": explanation, "schedule": schedule, "steps": replayed.narrative }),
        ),
    };
    json!({
        "model": report.info.name,
        "config": config,
        "verdict": verdict,
        "detail": detail,
        "stats": report.stats,
        "seconds": seconds,
    })
}
