//! `consim shrink`: the fewest faults, clients, keys and operations that still fail a
//! run.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use models::Catalog;
use serde_json::json;

use super::args::ScenarioArgs;
use crate::exit::Exit;
use crate::harness::Harness;
use crate::shrink::Shrunk;

#[derive(Debug, clap::Args)]
pub struct ShrinkArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// The failing seed.
    #[arg(long)]
    pub seed: u64,
    /// The most runs to try.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub budget: u64,
    /// Where to write the shrunk plan and history (default: consim-out, or the folder
    /// the program's harness names).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn command<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    args: ShrinkArgs,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let config = args.scenario.config(harness, args.seed)?;
    let Some(shrunk) = harness.shrink(&config, args.budget)? else {
        if json {
            writeln!(out, "{}", json!({ "seed": args.seed, "failed": false }))?;
        } else {
            writeln!(
                out,
                "seed {} does not fail {} under {}: nothing to shrink",
                args.seed,
                config.model,
                config.scenario()
            )?;
        }
        return Ok(Exit::Consistent);
    };
    let dir = args
        .out
        .as_deref()
        .unwrap_or(harness.out_dir())
        .join(format!(
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
    let replay = harness.replay(&shrunk.config, Some(&plan_path))?;
    if json {
        writeln!(out, "{}", shrunk_json(&args, &shrunk, &plan_path, &replay))?;
    } else {
        write_text(out, &args, &shrunk, &plan_path, &replay)?;
    }
    Ok(Exit::Violation)
}

fn shrunk_json(args: &ShrinkArgs, shrunk: &Shrunk, plan: &Path, replay: &str) -> serde_json::Value {
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
        "rounds": shrunk.rounds,
        "plan": plan,
        "replay": replay,
    })
}

fn write_text(
    out: &mut dyn Write,
    args: &ShrinkArgs,
    shrunk: &Shrunk,
    plan: &Path,
    replay: &str,
) -> anyhow::Result<()> {
    let config = &shrunk.config;
    writeln!(
        out,
        "shrunk seed {} of {} under {}: {} faults (from {}), {} clients (from {}), {} keys (from {}), {} operations (from {}), in {} runs over {} rounds",
        args.seed,
        config.model,
        args.scenario.scenario.name(),
        shrunk.plan.faults.len(),
        shrunk.original_faults,
        shrunk.clients,
        shrunk.original_clients,
        shrunk.keys,
        shrunk.original_keys,
        shrunk.ops,
        shrunk.original_ops,
        shrunk.runs,
        shrunk.rounds.last().map_or(0, |step| step.round)
    )?;
    shrunk.report.write_text(out, false)?;
    writeln!(out, "plan: {}", plan.display())?;
    for f in &shrunk.plan.faults {
        writeln!(out, "  at {}: {}", f.at, serde_json::to_string(&f.fault)?)?;
    }
    writeln!(out, "replay: {replay}")?;
    Ok(())
}
