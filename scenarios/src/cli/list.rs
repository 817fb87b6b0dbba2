//! `consim list`: what there is to run.

use std::io::Write;

use models::Catalog;
use models::{Guarantee, ModelInfo};

use crate::availability::{DEFINITIONS, MEASURES};
use crate::exit::Exit;
use crate::harness::Harness;
use crate::nemesis::Nemesis;
use crate::workload::Mix;
use serde_json::json;

/// `consim list`'s flags.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only this model (a correct model, or a bug variant: its model), with its
    /// settings and bug variants.
    #[arg(long)]
    pub model: Option<String>,
}

pub fn command<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    args: &ListArgs,
    json: bool,
    mut out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let mut models = harness.catalog().models();
    if let Some(name) = &args.model {
        let Some(found) = models.iter().find(|m| m.name == name.as_str()) else {
            let known: Vec<&str> = models.iter().map(|m| m.name).collect();
            anyhow::bail!("no model named {name}; the models are {}", known.join(", "));
        };
        let model = found.variant_of.unwrap_or(found.name);
        models.retain(|m| m.name == model || m.variant_of == Some(model));
        if json {
            write_json_models(&mut out, &models)?;
        } else {
            write_models(&mut out, &models)?;
        }
        return Ok(Exit::Consistent);
    }
    if json {
        write_json(&mut out, &models)?;
    } else {
        write_models(&mut out, &models)?;
        write_the_rest(&mut out)?;
    }
    Ok(Exit::Consistent)
}

fn write_json_models(out: &mut dyn Write, models: &[ModelInfo]) -> anyhow::Result<()> {
    for model in models {
        writeln!(out, "{}", json!({ "model": model }))?;
    }
    Ok(())
}

fn write_json(out: &mut dyn Write, models: &[ModelInfo]) -> anyhow::Result<()> {
    write_json_models(out, models)?;
    for nemesis in Nemesis::ALL {
        let line = json!({ "scenario": nemesis.name(), "summary": nemesis.summary() });
        writeln!(out, "{line}")?;
    }
    for nemesis in Nemesis::OVERLOAD {
        let line = json!({
            "scenario": nemesis.name(),
            "summary": nemesis.summary(),
            "overload_trigger": true,
        });
        writeln!(out, "{line}")?;
    }
    for mix in Mix::ALL {
        writeln!(out, "{}", json!({ "workload": mix.name() }))?;
    }
    for (measure, definition) in MEASURES.iter().zip(DEFINITIONS) {
        let line = json!({ "availability": measure, "definition": definition });
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn names(gs: &[Guarantee]) -> String {
    if gs.is_empty() {
        return "nothing".to_owned();
    }
    gs.iter().map(|g| g.name()).collect::<Vec<_>>().join(", ")
}

/// Each correct model, its settings, and its bug variants under it.
fn write_models(out: &mut dyn Write, models: &[ModelInfo]) -> anyhow::Result<()> {
    writeln!(out, "models:")?;
    for model in models.iter().filter(|m| m.variant_of.is_none()) {
        writeln!(out, "  {:<26} {}", model.name, model.summary)?;
        writeln!(
            out,
            "  {:<26} promises: {}; workload: {}; scenario: {}",
            "",
            names(model.promises),
            model.workload.name(),
            model.default_scenario
        )?;
        write_settings(out, model)?;
        for bug in models.iter().filter(|b| b.variant_of == Some(model.name)) {
            writeln!(out, "    bug {:<26} {}", bug.name, bug.summary)?;
            writeln!(
                out,
                "    {:<30} breaks: {}; shows under: {}",
                "",
                if bug.breaks.is_empty() {
                    "no guarantee of the history (the model's invariants catch it)".to_owned()
                } else {
                    names(bug.breaks)
                },
                bug.default_scenario
            )?;
        }
    }
    Ok(())
}

/// `settings: replicas=5 (1 to 64): Replicas. …`, one line each.
fn write_settings(out: &mut dyn Write, model: &ModelInfo) -> anyhow::Result<()> {
    for s in model.settings {
        let doc = s.doc.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.bug {
            writeln!(out, "  {:<26} --bug {}: {doc}", "", s.name)?;
            continue;
        }
        let default = match s.default {
            "None" => "derived".to_owned(),
            d => d.replace('_', ""),
        };
        writeln!(
            out,
            "  {:<26} --param {}={default} ({}): {doc}",
            "",
            s.name,
            s.accepts(),
        )?;
    }
    Ok(())
}

fn write_the_rest(out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "scenarios (nemeses):")?;
    for nemesis in Nemesis::ALL {
        writeln!(out, "  {:<26} {}", nemesis.name(), nemesis.summary())?;
    }
    writeln!(
        out,
        "  (partition-halves, partition-majorities-ring, isolate-leader, bridge, one-way, \
         crash-restart, pause and flaky-network strike in spells of 100 to 1,200 ms, or \
         --spell-ms: shorter than the 1.5 s or so a client spends on three attempts of \
         500 ms)"
    )?;
    writeln!(
        out,
        "overload triggers (a store near capacity by default; swarm adds them with --swarm-with):"
    )?;
    for nemesis in Nemesis::OVERLOAD {
        writeln!(out, "  {:<26} {}", nemesis.name(), nemesis.summary())?;
    }
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
    writeln!(out, "  {}", names(&Guarantee::ALL))?;
    writeln!(out, "availability (run, sweep and matrix report all four):")?;
    for (measure, definition) in MEASURES.iter().zip(DEFINITIONS) {
        writeln!(out, "  {measure:<26} {definition}")?;
    }
    Ok(())
}
