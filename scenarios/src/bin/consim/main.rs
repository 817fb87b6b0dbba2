//! `consim`: the command line. See `consim --help` and ../shared/DESIGN.md. One module
//! per command; the flags several commands share are in [`args`].
//!
//! Exit codes, for every command ([`scenarios::exit::Exit`]): 0 all consistent, 1 a
//! violation was found, 2 usage or input error, 3 inconclusive.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a CLI prints

mod args;
mod bench;
mod check;
mod list;
mod matrix;
mod run;
mod shrink;
mod sweep;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use scenarios::exit::Exit;

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
    /// List the models (with bug variants, promises and settings), scenarios,
    /// workloads, checkers and availability measures.
    List,
    /// Run one model under one scenario with one seed: verdicts, availability, latency.
    Run(run::RunArgs),
    /// Run one scenario over a range of seeds, across cores.
    Sweep(sweep::SweepArgs),
    /// Shrink a failing run: the fewest faults and operations that still fail it.
    Shrink(shrink::ShrinkArgs),
    /// The CAP table: for each model and nemesis, how often each guarantee held,
    /// availability and latency, as Markdown.
    Matrix(matrix::MatrixArgs),
    /// Check histories: is each linearizable?
    Check(check::CheckArgs),
    /// Measure the simulator.
    Bench {
        #[command(subcommand)]
        what: bench::Bench,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::List => list::command(cli.json),
        Command::Run(args) => run::command(args, cli.json),
        Command::Sweep(args) => sweep::command(args, cli.json),
        Command::Shrink(args) => shrink::command(args, cli.json),
        Command::Matrix(args) => matrix::command(args, cli.json),
        Command::Check(args) => check::command(args, cli.json),
        Command::Bench { what } => bench::command(what, cli.json),
    };
    match result {
        Ok(exit) => exit.into(),
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
            Exit::Usage.into()
        }
    }
}

/// The replay line of `config`: the command that runs it again (`plan` is the path of
/// the plan file it replays, if any).
fn replay_line(
    config: &scenarios::config::RunConfig,
    plan: Option<&std::path::Path>,
) -> anyhow::Result<String> {
    let args = config.replay_args(plan)?;
    let quoted: Vec<String> = args
        .iter()
        .map(|a| {
            if a.contains(char::is_whitespace) {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect();
    Ok(format!("cargo run --release -- run {}", quoted.join(" ")))
}
