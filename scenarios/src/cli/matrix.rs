//! `consim matrix`: the CAP table.

use std::io::Write;

use models::Catalog;
use sim_core::Duration;

use super::args::ClientArgs;
use crate::exit::Exit;
use crate::harness::Harness;
use crate::matrix::{MatrixConfig, ModelSpec};
use crate::nemesis::Nemesis;
use crate::workload::{Mix, Rate, WorkloadConfig};

#[derive(Debug, clap::Args)]
pub struct MatrixArgs {
    /// Seeds per cell (seeds 0..N).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// Models (comma-separated; default: every correct model). A model may carry
    /// settings, `NAME:KEY=VALUE:…` (`replicas=N` too), to set it beside itself:
    /// `--models raft,raft:check-quorum=true`.
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<ModelSpec>,
    /// Nemeses (comma-separated; default: every one).
    #[arg(long, value_delimiter = ',', value_parser = super::args::nemesis())]
    pub scenarios: Vec<Nemesis>,
    /// The workload mix for every model (default: each model's own, see `consim list`).
    #[arg(long, value_parser = super::args::mix())]
    pub workload: Option<Mix>,
    /// Operations arrive at each client at this rate (per second, Poisson, an open
    /// loop) for the whole fault window.
    #[arg(
        long,
        value_name = "OPS_PER_S",
        default_value = "5",
        allow_negative_numbers = true
    )]
    pub rate: Rate,
    /// Keys the workload uses.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    pub keys: u64,
    /// How long each fault spell lasts, in milliseconds (default: 100 to 1,200, drawn
    /// per spell).
    #[arg(long, value_name = "MS", value_parser = super::args::spell_ms())]
    pub spell_ms: Option<u64>,
    /// Print each share with its 95% interval (runs as the unit).
    #[arg(long)]
    pub intervals: bool,
    /// Worker threads (default: the machine's cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_024))]
    pub jobs: Option<u32>,
    #[command(flatten)]
    pub client: ClientArgs,
}

impl MatrixArgs {
    /// The cells' common configuration.
    fn config(&self, threads: usize) -> MatrixConfig {
        MatrixConfig {
            seeds: self.seeds,
            jobs: self.jobs.map_or(threads, |j| j as usize),
            workload: WorkloadConfig {
                ops: u64::MAX,
                keys: self.keys,
                rate: Some(self.rate),
                ..WorkloadConfig::default()
            },
            mix: self.workload,
            client: self
                .client
                .settings(crate::config::ClientSettings::default()),
            spell: self.spell_ms.map(Duration::from_millis),
        }
    }
}

pub fn command<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    args: MatrixArgs,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let catalog = harness.catalog();
    let specs: Vec<ModelSpec> = if args.models.is_empty() {
        catalog
            .models()
            .iter()
            .filter(|m| m.variant_of.is_none())
            .map(|m| m.name.parse().expect("a catalogued name"))
            .collect()
    } else {
        args.models.clone()
    };
    let nemeses: Vec<Nemesis> = if args.scenarios.is_empty() {
        Nemesis::ALL.to_vec()
    } else {
        args.scenarios.clone()
    };
    let config = args.config(harness.threads());
    // Models the catalog does not have, and settings a model refuses, are refused
    // before the table starts.
    for spec in &specs {
        let info = spec.info(catalog)?;
        harness.validate(&config.cell(spec, &info, Nemesis::None))?;
    }
    if !json {
        writeln!(
            out,
            "CAP matrix: {} seeds per cell, {} operations per second per client (open loop); \
             share of runs in which each guarantee held (* = promised by the model), \
             availability four ways (see `consim list`), latency of successful operations\n",
            args.seeds, args.rate
        )?;
        writeln!(out, "{}", crate::matrix::markdown_header())?;
    }
    let mut io_error = None;
    let mut broken_promises = 0u64;
    crate::matrix::matrix_in(catalog, &specs, &nemeses, &config, |row| {
        broken_promises += u64::from(row.broke_a_promise());
        let line = if json {
            row.to_json().to_string()
        } else {
            crate::matrix::markdown_row(row, args.intervals)
        };
        if let Err(e) = writeln!(out, "{line}") {
            io_error.get_or_insert(anyhow::Error::from(e));
        }
    })?;
    if let Some(e) = io_error {
        return Err(e);
    }
    Ok(Exit::of(broken_promises, 0))
}
