//! Checking a history file end to end: read, pair, pick the model, check, time it.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::formats::{self, Format};
use crate::history::{History, HistoryError, Operation};
use crate::linear::{self, InvalidOperation, Options, Report};
use crate::model::{Kv, ListAppend, Register};

/// The built-in models, by the names the command line uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelName {
    /// read, write.
    Register,
    /// read, write, cas.
    CasRegister,
    /// independent keys with read, write, cas, append.
    Kv,
    /// Elle's list-append, one key at a time.
    ListAppend,
}

impl ModelName {
    /// Every model's name.
    pub const NAMES: [&'static str; 4] = ["register", "cas-register", "kv", "list-append"];

    /// The model named `name`.
    pub fn from_name(name: &str) -> Option<ModelName> {
        Some(match name {
            "register" => ModelName::Register,
            "cas-register" => ModelName::CasRegister,
            "kv" => ModelName::Kv,
            "list-append" => ModelName::ListAppend,
            _ => return None,
        })
    }

    /// The model's name.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// The model a history most likely means: `list-append` if it only appends
    /// non-strings and reads (Elle's workload), `kv` if its events carry keys or
    /// appends, `cas-register` otherwise.
    pub fn guess(history: &History) -> ModelName {
        use crate::history::{Function, Value};
        let keyed = history.events.iter().any(|e| e.key.is_some());
        let appends = history.events.iter().any(|e| e.f == Function::Append);
        let list_append = appends
            && history.events.iter().all(|e| match e.f {
                Function::Append => !matches!(e.value, Value::Str(_)),
                Function::Read => matches!(e.value, Value::Nil | Value::List(_)),
                _ => false,
            });
        if list_append {
            ModelName::ListAppend
        } else if keyed || appends {
            ModelName::Kv
        } else {
            ModelName::CasRegister
        }
    }
}

/// Why a file could not be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// Unreadable or malformed history.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// A history the session checks cannot judge soundly.
    #[error("{origin}:{source}")]
    Session {
        /// The file.
        origin: String,
        /// What is wrong.
        source: crate::session::SessionError,
    },
    /// A history the dependency graph cannot be built from soundly.
    #[error("{origin}:{source}")]
    Elle {
        /// The file.
        origin: String,
        /// What is wrong.
        source: crate::elle::ElleError,
    },
    /// An operation the model cannot apply.
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
    /// The model used.
    pub model: ModelName,
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
    model: Option<ModelName>,
    options: &Options,
) -> Result<Checked, CheckError> {
    let history = formats::read_file(path, format)?;
    check_history(history, &path.display().to_string(), model, options)
}

/// Checks a history already read; `origin` names it in errors.
pub fn check_history(
    history: History,
    origin: &str,
    model: Option<ModelName>,
    options: &Options,
) -> Result<Checked, CheckError> {
    let operations = history.operations(origin)?;
    let model = model.unwrap_or_else(|| ModelName::guess(&history));
    let start = Instant::now();
    let initial = history.initial.clone();
    let result = match model {
        ModelName::Register => linear::check(
            &Register {
                cas: false,
                initial,
            },
            &history,
            &operations,
            options,
        ),
        ModelName::CasRegister => linear::check(
            &Register { cas: true, initial },
            &history,
            &operations,
            options,
        ),
        ModelName::Kv => linear::check(&Kv { initial }, &history, &operations, options),
        ModelName::ListAppend => linear::check(&ListAppend, &history, &operations, options),
    };
    let elapsed = start.elapsed();
    let report = result.map_err(|source| CheckError::Invalid {
        origin: origin.to_owned(),
        source,
    })?;
    Ok(Checked {
        model,
        history,
        operations,
        report,
        elapsed,
    })
}
