//! The `consim` command line, for the models of any catalog: consim's own binary is
//! this over [`models::Builtin`], and a user's binary is this over their declaration
//! ([`crate::main`]). One module per command; the flags several commands share are in
//! [`args`].
//!
//! Exit codes, for every command ([`crate::exit::Exit`]): 0 all consistent, 1 a
//! violation was found, 2 usage or input error, 3 inconclusive.
//!
//! This is the one part of the library that prints, and whose errors are `anyhow`'s:
//! it is a program's `main`, and what goes wrong ends here as a message and exit 2.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command line prints

mod args;
mod bench;
mod check;
mod contention;
mod explore;
mod list;
mod matrix;
mod run;
mod shrink;
mod sweep;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use models::Catalog;

use crate::exit::Exit;
use crate::harness::Harness;

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
    List(list::ListArgs),
    /// Run one model under one scenario with one seed: verdicts, availability, latency.
    Run(run::RunArgs),
    /// Run one scenario over a range of seeds, across cores.
    Sweep(sweep::SweepArgs),
    /// Shrink a failing run: the fewest faults and operations that still fail it.
    Shrink(shrink::ShrinkArgs),
    /// The CAP table: for each model and nemesis, how often each guarantee held,
    /// availability and latency, as Markdown.
    Matrix(matrix::MatrixArgs),
    /// Explore every schedule of a small configuration: every order of deliveries,
    /// client operations and (within a budget) timer firings and faults, each history
    /// judged.
    Explore(explore::ExploreArgs),
    /// Brooker's contention experiment: N clients each completing one compare-and-set
    /// on one key, retrying on conflict; calls and time to finish per retry policy.
    Contention(contention::ContentionArgs),
    /// Check histories: is each linearizable?
    Check(check::CheckArgs),
    /// Measure the simulator.
    Bench {
        #[command(subcommand)]
        what: bench::Bench,
    },
}

/// Parses `args` (the program's name first) as the `consim` command line for the
/// models of `harness`'s catalog, runs the command, and returns its exit code.
pub fn main<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    args: impl IntoIterator<Item = OsString>,
) -> ExitCode {
    run(harness, args, &mut std::io::stdout().lock()).into()
}

/// As [`main`], with what the command prints on standard output written to `out`
/// instead (usage errors, errors and progress still go to standard error): for tests
/// of a program's output, such as the book's.
///
/// ```
/// use consim::exit::Exit;
/// use consim::harness::Harness;
/// let harness = Harness::new(models::single_copy::SINGLE_COPY).jobs(1);
/// let mut out = Vec::new();
/// let args = ["my-store", "sweep", "--seeds", "0..3", "--scenario", "none"];
/// let exit = consim::cli::run(&harness, args.map(Into::into), &mut out);
/// assert_eq!(exit, Exit::Consistent);
/// let text = String::from_utf8(out)?;
/// assert!(text.starts_with("sweep single-copy none: 3 seeds, 0 failed"), "{text}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run<C: Catalog + Clone + 'static>(
    harness: &Harness<C>,
    args: impl IntoIterator<Item = OsString>,
    out: &mut dyn std::io::Write,
) -> Exit {
    let matches = match command(harness.catalog()).try_get_matches_from(args) {
        Ok(matches) => matches,
        Err(err) => {
            let code = if err.use_stderr() {
                Exit::Usage
            } else {
                Exit::Consistent // --help, --version
            };
            let _ = err.print();
            return code;
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return Exit::Usage;
        }
    };
    let result = match cli.command {
        Command::List(args) => list::command(harness, &args, cli.json, out),
        Command::Run(args) => run::command(harness, args, cli.json, out),
        Command::Sweep(args) => sweep::command(harness, args, cli.json, out),
        Command::Shrink(args) => shrink::command(harness, args, cli.json, out),
        Command::Matrix(args) => matrix::command(harness, args, cli.json, out),
        Command::Explore(args) => explore::command(harness, args, cli.json, out),
        Command::Check(args) => check::command(args, cli.json, out),
        Command::Contention(args) => contention::command(args, cli.json, out),
        Command::Bench { what } => bench::command(what, cli.json, out),
    };
    finish(result)
}

/// The command line, with `--model` taking the names of `catalog`'s models (and, when
/// it has just one, taking that one by default).
fn command<C: Catalog>(catalog: &C) -> clap::Command {
    let names = catalog.names();
    let mut cli = Cli::command();
    for sub in ["run", "sweep", "shrink", "explore"] {
        cli = cli.mut_subcommand(sub, |sub| {
            sub.mut_arg("model", |arg| {
                let arg = arg.value_parser(clap::builder::PossibleValuesParser::new(&names));
                match names.as_slice() {
                    [only] => arg.default_value(*only).required(false),
                    _ => arg,
                }
            })
        });
    }
    cli
}

/// The exit code of a command's result, its error printed.
fn finish(result: anyhow::Result<Exit>) -> Exit {
    match result {
        Ok(exit) => exit,
        // A reader that went away (`consim … | head`) is not an error, as in ripgrep.
        Err(err)
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Exit::Consistent
        }
        Err(err) => {
            eprintln!("consim: error: {err:#}");
            Exit::Usage
        }
    }
}
