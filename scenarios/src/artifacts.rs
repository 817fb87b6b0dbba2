//! What a failing run leaves behind, to be replayed and looked at: its history, the
//! fault plan applied, the full trace, the report, and two pictures: the whole run's
//! ([`crate::picture`]) and the history's linearizability check ([`checkers::viz`]).

use std::path::{Path, PathBuf};

use crate::config::RunConfig;
use crate::report::{RunError, RunReport};

/// Why the artifacts could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// A file could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The traced rerun could not run.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The traced rerun differed from the run: the model is not deterministic.
    #[error("nondeterminism: seed {seed} gave trace hash {first:016x} and, traced, {second:016x}")]
    Nondeterministic {
        /// The seed.
        seed: u64,
        /// The run's hash.
        first: u64,
        /// The traced rerun's.
        second: u64,
    },
    /// The history could not be checked for the picture.
    #[error("the picture: {0}")]
    Picture(String),
    /// The run's page could not be drawn.
    #[error(transparent)]
    Page(#[from] crate::picture::PictureError),
}

/// Where a failing run's artifacts go under `root`: `MODEL-SCENARIO-SEED`.
pub fn dir(root: &Path, report: &RunReport) -> PathBuf {
    root.join(format!(
        "{}-{}-{}",
        report.model, report.scenario, report.seed
    ))
}

fn write_file(path: &Path, text: impl AsRef<[u8]>) -> Result<(), ArtifactError> {
    std::fs::write(path, text).map_err(|source| ArtifactError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Writes `report`'s artifacts (a run of `base` with the report's seed) under `root`:
/// `history.jsonl`, `plan.json`, `script.jsonl` (each client's operations, to replay
/// or edit with `--plan` and `--script`), `trace.txt` (from a traced rerun with `run`, which
/// must give the same trace hash), `report.txt`, `run.html` (the run's page, with
/// `replay`, the command that runs it again) and `viz.html` (the history's check;
/// not for a run whose model panicked). Returns the folder.
pub fn write(
    root: &Path,
    base: &RunConfig,
    report: &RunReport,
    replay: &str,
    run: &dyn Fn(&RunConfig) -> Result<RunReport, RunError>,
) -> Result<PathBuf, ArtifactError> {
    let dir = dir(root, report);
    std::fs::create_dir_all(&dir).map_err(|source| ArtifactError::Write {
        path: dir.clone(),
        source,
    })?;
    write_file(&dir.join("history.jsonl"), report.history.to_jsonl())?;
    write_file(&dir.join("plan.json"), report.plan.to_json())?;
    write_file(&dir.join("script.jsonl"), report.script.to_jsonl())?;
    let traced = traced_rerun(base, report, run)?;
    let trace: String = traced
        .trace
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|e| format!("{e}\n"))
        .collect();
    write_file(&dir.join("trace.txt"), trace)?;
    let mut text = Vec::new();
    report
        .write_text(&mut text, true)
        .expect("writing to memory cannot fail");
    write_file(&dir.join("report.txt"), text)?;
    let checked = crate::picture::check(&traced);
    let page = crate::picture::page_checked(&traced, checked.as_ref(), replay)?;
    write_file(&dir.join("run.html"), page)?;
    if report.panic.is_none() {
        let checked = checked.map_err(|e| ArtifactError::Picture(e.to_string()))?;
        let path = dir.join("viz.html");
        write_file(
            &path,
            checkers::viz::page(&path.display().to_string(), &checked),
        )?;
    }
    Ok(dir)
}

/// Runs `report`'s seed of `base` again with the trace on; it must give the same trace.
fn traced_rerun(
    base: &RunConfig,
    report: &RunReport,
    run: &dyn Fn(&RunConfig) -> Result<RunReport, RunError>,
) -> Result<RunReport, ArtifactError> {
    let mut config = base.clone();
    config.seed = report.seed;
    config.trace = true;
    let traced = run(&config)?;
    if traced.trace_hash != report.trace_hash {
        return Err(ArtifactError::Nondeterministic {
            seed: report.seed,
            first: report.trace_hash,
            second: traced.trace_hash,
        });
    }
    Ok(traced)
}

/// Writes the self-contained HTML page of `report` (a traced run) to `path`: its
/// messages, faults and history on one time axis ([`crate::picture`]), with `replay`.
/// The folder it goes in is made if it is missing (`--viz consim-out/run.html` before
/// any run wrote there).
pub fn write_page(path: &Path, report: &RunReport, replay: &str) -> Result<(), ArtifactError> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| ArtifactError::Write {
            path: dir.to_owned(),
            source,
        })?;
    }
    write_file(path, crate::picture::page(report, replay)?)
}
