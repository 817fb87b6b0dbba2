//! Checking a history file end to end: read, pair, pick the specification, check, time
//! it.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::formats::{self, Format};
use crate::history::{History, HistoryError, Operation};
use crate::linear::{self, InvalidOperation, Options, Report};
use crate::spec::{Kv, ListAppend, Register, SpecName};
use crate::traceable::NotTraceable;

/// Why a file could not be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// Unreadable or malformed history.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// A history the session checks or the dependency graph cannot judge soundly.
    #[error("{origin}:{source}")]
    NotTraceable {
        /// The file.
        origin: String,
        /// What is wrong.
        source: NotTraceable,
    },
    /// An operation the specification cannot apply.
    #[error("{origin}:{source}")]
    Invalid {
        /// The file.
        origin: String,
        /// What is wrong.
        source: InvalidOperation,
    },
}

/// A checked history.
#[derive(Debug)]
pub struct Checked {
    /// The specification used (named as `--model` names it).
    pub model: SpecName,
    /// The history as read.
    pub history: History,
    /// Its operations (`fail`s dropped).
    pub operations: Vec<Operation>,
    /// The verdict per key.
    pub report: Report,
    /// Time spent checking (reading and pairing excluded).
    pub elapsed: Duration,
}

/// Reads and checks one file.
pub fn check_file(
    path: &Path,
    format: Format,
    spec: Option<SpecName>,
    options: &Options,
) -> Result<Checked, CheckError> {
    let history = formats::read_file(path, format)?;
    check_history(history, &path.display().to_string(), spec, options)
}

/// Checks a history already read against `spec` (guessed from the history if `None`);
/// `origin` names it in errors.
///
/// ```
/// use checkers::check::check_history;
/// use checkers::history::History;
/// use checkers::linear::{Options, Verdict};
/// use checkers::spec::SpecName;
/// let text = r#"{"process":0,"type":"invoke","f":"write","value":1}
/// {"process":0,"type":"ok","f":"write","value":1}"#;
/// let history = History::from_jsonl(text, "h")?;
/// let checked = check_history(history, "h", None, &Options::default())?;
/// assert_eq!(checked.model, SpecName::CasRegister);
/// assert_eq!(checked.report.verdict(), Verdict::Ok);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_history(
    history: History,
    origin: &str,
    spec: Option<SpecName>,
    options: &Options,
) -> Result<Checked, CheckError> {
    let operations = history.operations(origin)?;
    let spec = spec.unwrap_or_else(|| SpecName::guess(&history));
    let start = Instant::now();
    let result = check_as(spec, &history, &operations, options);
    let elapsed = start.elapsed();
    let report = result.map_err(|source| CheckError::Invalid {
        origin: origin.to_owned(),
        source,
    })?;
    Ok(Checked {
        model: spec,
        history,
        operations,
        report,
        elapsed,
    })
}

/// [`linear::check`] of `history`, whose operations are `operations` (from
/// [`History::operations`]), with the built-in specification `spec`: [`check_history`]
/// for a caller that has the operations already and needs only the report.
pub fn check_operations(
    spec: SpecName,
    history: &History,
    operations: &[Operation],
    options: &Options,
) -> Result<Report, InvalidOperation> {
    check_as(spec, history, operations, options)
}

/// [`linear::check`] with the built-in specification `spec`.
fn check_as(
    spec: SpecName,
    history: &History,
    operations: &[Operation],
    options: &Options,
) -> Result<Report, InvalidOperation> {
    let initial = history.initial.clone();
    let mut options = options.clone();
    if spec != SpecName::ListAppend {
        // What real time alone proves on register keys decides them when the search
        // cannot.
        for found in crate::anomalies::register_anomalies(history, operations) {
            options.proven.entry(found.key.clone()).or_insert(found);
        }
    }
    let options = &options;
    match spec {
        SpecName::Register => {
            let register = Register {
                cas: false,
                initial,
            };
            linear::check(&register, history, operations, options)
        }
        SpecName::CasRegister => {
            let register = Register { cas: true, initial };
            linear::check(&register, history, operations, options)
        }
        SpecName::Kv => linear::check(&Kv { initial }, history, operations, options),
        SpecName::ListAppend => linear::check(&ListAppend, history, operations, options),
    }
}
