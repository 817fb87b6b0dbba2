//! The harness: one value that runs, sweeps, shrinks, checks the determinism of and
//! writes the artifacts of the models of a catalog — consim's own, or a model of yours
//! declared as a [`models::Declaration`] — and that gives a program the whole `consim`
//! command line for them.
//!
//! ```
//! use consim::harness::{Harness, Until};
//! use consim::config::RunConfig;
//! use models::single_copy::SINGLE_COPY; // a declaration, as yours would be
//!
//! let harness = Harness::new(SINGLE_COPY).jobs(2);
//! let base = RunConfig::new("single-copy", 0);
//! let totals = harness.sweep(&base, &[0, 1, 2], Until::AllSeeds, |_| {})?;
//! assert_eq!((totals.runs, totals.failures), (3, 0));
//! assert!(totals.ops.ok > 0);
//! # Ok::<(), consim::report::RunError>(())
//! ```
//!
//! A program's `main` is one line, and the program then takes `run`, `sweep`,
//! `shrink`, `matrix`, `list`, `check` and `bench`, with `--json`, `--viz`, `--shard`
//! and consim's exit codes, for the catalog's models:
//!
//! ```no_run
//! # use models::single_copy::SINGLE_COPY as MY_MODEL;
//! fn main() -> std::process::ExitCode {
//!     consim::main(MY_MODEL)
//! }
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use models::{Catalog, ModelInfo};
use proptest::strategy::Strategy;

use crate::artifacts::ArtifactError;
use crate::config::{NotOnTheCommandLine, ReplayFiles, RunConfig};
use crate::report::{RunError, RunReport};
use crate::run::{Divergence, check_determinism_with, run_in, validate_in};
use crate::shrink::{Shrunk, shrink_with};
pub use crate::sweep::Until;
use crate::sweep::{SweepTotals, sweep_with};

/// The models of a catalog, and everything consim does to them. See the [module
/// docs](self).
#[derive(Clone, Debug)]
pub struct Harness<C> {
    catalog: C,
    jobs: usize,
    out: PathBuf,
    command: String,
}

impl<C: Catalog + Clone + 'static> Harness<C> {
    /// The harness of `catalog`'s models: sweeps on every core, artifacts under
    /// `consim-out/`, replay lines that start the way this program was started
    /// ([`command_from_env`]).
    pub fn new(catalog: C) -> Harness<C> {
        Harness {
            catalog,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            out: PathBuf::from("consim-out"),
            command: command_from_env(),
        }
    }

    /// Sweeps run on `jobs` threads (at least one).
    #[must_use]
    pub fn jobs(mut self, jobs: usize) -> Harness<C> {
        self.jobs = jobs.max(1);
        self
    }

    /// Failing runs' artifacts go under `dir`.
    #[must_use]
    pub fn out(mut self, dir: impl Into<PathBuf>) -> Harness<C> {
        self.out = dir.into();
        self
    }

    /// Replay lines start with `command`, the words that run this program
    /// (`cargo run --release --` for consim's own).
    #[must_use]
    pub fn command(mut self, command: impl Into<String>) -> Harness<C> {
        self.command = command.into();
        self
    }

    /// The catalog.
    pub fn catalog(&self) -> &C {
        &self.catalog
    }

    /// The threads sweeps run on.
    pub fn threads(&self) -> usize {
        self.jobs
    }

    /// Where failing runs' artifacts go.
    pub fn out_dir(&self) -> &Path {
        &self.out
    }

    /// What the catalog says of `config`'s model.
    pub fn info(&self, config: &RunConfig) -> Result<ModelInfo, RunError> {
        let info = self.catalog.find(&config.model);
        info.ok_or_else(|| self.catalog.unknown(&config.model).into())
    }

    /// Runs `config`.
    pub fn run(&self, config: &RunConfig) -> Result<RunReport, RunError> {
        run_in(&self.catalog, config)
    }

    /// Checks that `config` can run (the model and its settings, the workload, the
    /// plan) without running it.
    pub fn validate(&self, config: &RunConfig) -> Result<(), RunError> {
        validate_in(&self.catalog, config)
    }

    /// Runs `base` with each of `seeds`, calling `report` with each result in seed
    /// order; see [`crate::sweep::sweep_with`].
    pub fn sweep(
        &self,
        base: &RunConfig,
        seeds: &[u64],
        until: Until,
        report: impl FnMut(&RunReport),
    ) -> Result<SweepTotals, RunError> {
        self.validate(base)?;
        let run = |config: &RunConfig| self.run(config);
        sweep_with(base, seeds, self.jobs, until, &run, report)
    }

    /// The fewest faults, clients, keys and operations that still fail `config`, in
    /// at most `budget` runs; `None` if it does not fail. See [`crate::shrink`].
    pub fn shrink(&self, config: &RunConfig, budget: u64) -> Result<Option<Shrunk>, RunError> {
        shrink_with(config, budget, &|config: &RunConfig| self.run(config))
    }

    /// Runs `config` twice and compares the traces: `None` if they are the same, else
    /// where they first differ.
    pub fn check_determinism(
        &self,
        config: &RunConfig,
    ) -> Result<(RunReport, Option<Divergence>), RunError> {
        check_determinism_with(config, &|config: &RunConfig| self.run(config))
    }

    /// Writes `report`'s artifacts (a run of `base` with the report's seed) under the
    /// harness's folder, with `replay` ([`Harness::replay`] of that run) on its page;
    /// returns their folder. See [`crate::artifacts::write`].
    pub fn write_artifacts(
        &self,
        base: &RunConfig,
        report: &RunReport,
        replay: &str,
    ) -> Result<PathBuf, ArtifactError> {
        let run = |config: &RunConfig| self.run(config);
        crate::artifacts::write(&self.out, base, report, replay, &run)
    }

    /// The command that runs `config` again through this program (`files`: the
    /// files of the fault plan and the script it replays, if any).
    ///
    /// ```
    /// use consim::config::{ReplayFiles, RunConfig};
    /// use consim::harness::Harness;
    /// let harness = Harness::new(models::Builtin).command("cargo run --release --");
    /// let mut config = RunConfig::new("raft", 7);
    /// config.clients = 3;
    /// assert_eq!(
    ///     harness.replay(&config, ReplayFiles::NONE)?,
    ///     "cargo run --release -- run --model raft --scenario none --seed 7 --clients 3"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replay(
        &self,
        config: &RunConfig,
        files: ReplayFiles<'_>,
    ) -> Result<String, ReplayError> {
        let info = self.info(config)?;
        let args: Vec<String> = config
            .replay_args(&info, files)?
            .iter()
            .map(|a| quoted(a))
            .collect();
        Ok(format!("{} run {}", self.command, args.join(" ")))
    }

    /// The command that runs this harness's program (`cargo run --release --`, or the
    /// program's own path), as replay lines show it.
    pub fn command_name(&self) -> &str {
        &self.command
    }

    /// Whole scenarios of `model` for proptest: see [`crate::strategies::scenario_in`].
    pub fn scenarios(&self, model: &'static str) -> impl Strategy<Value = RunConfig> + use<C> {
        crate::strategies::scenario_in(self.catalog.clone(), model)
    }

    /// The `consim` command line, for this catalog's models: parses the program's
    /// arguments, runs the command, prints, and returns the exit code (0 all
    /// consistent, 1 a violation, 2 a usage or input error, 3 inconclusive).
    pub fn main(self) -> ExitCode {
        crate::cli::main(&self, std::env::args_os())
    }
}

/// Why a replay line could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The model is not in the catalog.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The command line cannot say the configuration.
    #[error(transparent)]
    NotOnTheCommandLine(#[from] NotOnTheCommandLine),
}

/// `text`, quoted for a shell if it needs to be.
fn quoted(text: &str) -> String {
    if text.is_empty() || text.contains(|c: char| c.is_whitespace() || "'\"\\$`".contains(c)) {
        format!("'{}'", text.replace('\'', r"'\''"))
    } else {
        text.to_owned()
    }
}

/// The words that run this program again, for replay lines. Under `cargo run` (which
/// sets `CARGO_PKG_NAME`), the cargo command: `cargo run --release -p PACKAGE
/// --example NAME --` for an example, `--bin NAME` for a binary, with the profile the
/// program was built with; otherwise, the program's path as it was started. Read once,
/// before any run: nothing here reaches a simulation.
pub fn command_from_env() -> String {
    let program = std::env::args()
        .next()
        .unwrap_or_else(|| "consim".to_owned());
    match std::env::var("CARGO_PKG_NAME") {
        Ok(package) => cargo_command(&package, Path::new(&program)),
        Err(_) => quoted(&program),
    }
}

/// `cargo run …` for `program`, a path in a cargo target folder
/// (`target/release/examples/NAME`, `target/debug/NAME`) of `package`.
///
/// ```
/// use consim::harness::cargo_command;
/// use std::path::Path;
/// assert_eq!(
///     cargo_command("consim", Path::new("target/release/examples/primary_backup")),
///     "cargo run --release -p consim --example primary_backup --"
/// );
/// assert_eq!(
///     cargo_command("mine", Path::new("/w/target/debug/mine")),
///     "cargo run -p mine --bin mine --"
/// );
/// ```
pub fn cargo_command(package: &str, program: &Path) -> String {
    let name = program
        .file_stem()
        .map_or("consim".into(), |n| n.to_string_lossy());
    let mut parent = program.parent();
    let kind = if parent.and_then(Path::file_name) == Some("examples".as_ref()) {
        parent = parent.and_then(Path::parent);
        "--example"
    } else {
        "--bin"
    };
    let profile = match parent.and_then(Path::file_name).and_then(|p| p.to_str()) {
        Some("debug") | None => String::new(),
        Some("release") => " --release".to_owned(),
        Some(other) => format!(" --profile {other}"),
    };
    format!("cargo run{profile} -p {package} {kind} {name} --")
}
