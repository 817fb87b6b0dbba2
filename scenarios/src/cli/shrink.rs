//! `consim shrink`: the fewest faults, clients, keys and operations that still fail a
//! run.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use models::Catalog;
use serde_json::json;

use super::args::ScenarioArgs;
use crate::config::ReplayFiles;
use crate::exit::Exit;
use crate::harness::Harness;
use crate::script::{Script, Scripted, Start};
use crate::shrink::Shrunk;
use models::kv::Request;

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
    let script_path = dir.join("script.jsonl");
    let write = |path: &Path, text: String| {
        std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))
    };
    write(&plan_path, shrunk.plan.to_json())?;
    write(&script_path, shrunk.script.to_jsonl())?;
    write(&dir.join("history.jsonl"), shrunk.report.history.to_jsonl())?;
    let files = ReplayFiles {
        plan: Some(&plan_path),
        script: Some(&script_path),
    };
    let replay = harness.replay(&shrunk.config, files)?;
    if json {
        writeln!(out, "{}", shrunk_json(&args, &shrunk, files, &replay))?;
    } else {
        write_text(out, &args, &shrunk, files, &replay)?;
    }
    Ok(Exit::Violation)
}

fn shrunk_json(
    args: &ShrinkArgs,
    shrunk: &Shrunk,
    files: ReplayFiles<'_>,
    replay: &str,
) -> serde_json::Value {
    let (size, original) = (shrunk.size, shrunk.original);
    json!({
        "seed": args.seed,
        "failed": true,
        "faults": size.faults,
        "original_faults": original.faults,
        "ops": size.ops,
        "original_ops": original.ops,
        "clients": size.clients,
        "original_clients": original.clients,
        "replicas": size.replicas,
        "original_replicas": original.replicas,
        "keys": size.keys,
        "original_keys": original.keys,
        "runs": shrunk.runs,
        "rounds": shrunk.rounds,
        "plan": files.plan,
        "script": files.script,
        "replay": replay,
    })
}

fn write_text(
    out: &mut dyn Write,
    args: &ShrinkArgs,
    shrunk: &Shrunk,
    files: ReplayFiles<'_>,
    replay: &str,
) -> anyhow::Result<()> {
    let (size, original) = (shrunk.size, shrunk.original);
    writeln!(
        out,
        "shrunk seed {} of {} under {}: {} faults (from {}), {} clients (from {}), {} replicas (from {}), {} keys (from {}), {} operations (from {}), in {} runs over {} rounds",
        args.seed,
        shrunk.config.model,
        args.scenario.scenario.name(),
        size.faults,
        original.faults,
        size.clients,
        original.clients,
        size.replicas,
        original.replicas,
        size.keys,
        original.keys,
        size.ops,
        original.ops,
        shrunk.runs,
        shrunk.rounds.last().map_or(0, |step| step.round)
    )?;
    shrunk.report.write_text(out, false)?;
    if let Some(plan) = files.plan {
        writeln!(out, "plan: {}", plan.display())?;
    }
    for f in &shrunk.plan.faults {
        writeln!(out, "  at {}: {}", f.at, serde_json::to_string(&f.fault)?)?;
    }
    if let Some(script) = files.script {
        writeln!(out, "script: {}", script.display())?;
    }
    write_script(out, &shrunk.script)?;
    writeln!(out, "replay: {replay}")?;
    Ok(())
}

/// Each client's operations, one line per client.
fn write_script(out: &mut dyn Write, script: &Script) -> anyhow::Result<()> {
    for (client, ops) in script.clients().iter().enumerate() {
        if ops.is_empty() {
            writeln!(out, "  client {client}: only the final reads")?;
            continue;
        }
        let ops: Vec<String> = ops.iter().map(describe).collect();
        writeln!(out, "  client {client}: {}", ops.join(", "))?;
    }
    Ok(())
}

/// An operation as `write k1 = 7` (with its start, if not at once).
fn describe(op: &Scripted) -> String {
    let what = match op.request {
        Request::Read { key } => format!("read k{key}"),
        Request::Write { key, value } => format!("write k{key} = {value}"),
        Request::Cas { key, from, to } => format!("cas k{key} {from}→{to}"),
        Request::Append { key, value } => format!("append k{key} {value}"),
    };
    match op.start {
        Start::Think(d) if d == sim_core::Duration::ZERO => what,
        Start::Think(d) => format!("{what} (after {d})"),
        Start::Arrival(t) => format!("{what} (arrives {t})"),
    }
}
