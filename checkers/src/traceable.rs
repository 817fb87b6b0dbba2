//! Traceable histories: the two workloads whose reads say which writes they saw, on
//! which the session guarantees ([`crate::session`]) and the dependency graph
//! ([`crate::elle`]) are judged, and the one error both give for a history that is not
//! one of them.
//!
//! - **list-append** (Elle's): each append adds a unique element to a key's list, and a
//!   read returns the whole list;
//! - **registers with unique written values**: a read of `v` saw the one write of `v`.
//!
//! A written value that repeats, or an operation neither workload has (a cas), makes a
//! read ambiguous: the checks refuse the history ([`NotTraceable`]) rather than guess.

use std::fmt;

use serde::Serialize;

use crate::history::Value;

/// Which traceable workload a history is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Appends of unique elements, reads of whole lists.
    ListAppend,
    /// Writes of unique values, reads of single values.
    Register,
}

/// The analysis that refused a history, as its error says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Analysis {
    /// The session guarantees ([`crate::session`]).
    Sessions,
    /// The dependency graph ([`crate::elle`]).
    Dependencies,
}

impl Analysis {
    /// What the analysis needs unique written values for, as the error words it.
    fn needs(self) -> &'static str {
        match self {
            Analysis::Sessions => "session checks need",
            Analysis::Dependencies => "dependency inference needs",
        }
    }
}

impl fmt::Display for Analysis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.needs())
    }
}

/// A history the session checks or the dependency graph cannot judge soundly.
///
/// ```
/// use checkers::history::History;
/// use checkers::session::check_sessions;
/// let text = r#"{"process":0,"type":"invoke","f":"write","value":1}
/// {"process":0,"type":"ok","f":"write","value":1}
/// {"process":1,"type":"invoke","f":"write","value":1}
/// {"process":1,"type":"ok","f":"write","value":1}"#;
/// let history = History::from_jsonl(text, "h")?;
/// let err = check_sessions(&history, &history.operations("h")?).unwrap_err();
/// assert!(err.to_string().starts_with("3: the value 1 is written to key - more than once"));
/// # Ok::<(), checkers::history::HistoryError>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotTraceable {
    /// Two writes of one key wrote the same value: a read could not say which it saw.
    #[error(
        "{line}: the value {value} is written to key {key} more than once (also at line {other}); {analysis} unique written values"
    )]
    NotUnique {
        /// Line of the second write.
        line: usize,
        /// Line of the first (0: the initial value).
        other: usize,
        /// The value.
        value: Value,
        /// The key, as the analysis names it.
        key: String,
        /// The analysis that needs the values unique.
        analysis: Analysis,
    },
    /// An operation the traceable workloads do not have.
    #[error("{line}: {message}")]
    Unsupported {
        /// Line of the invocation.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl NotTraceable {
    /// The same refusal, said by `analysis` (which ran the one that refused).
    #[must_use]
    pub(crate) fn in_analysis(self, analysis: Analysis) -> NotTraceable {
        match self {
            NotTraceable::NotUnique {
                line,
                other,
                value,
                key,
                ..
            } => NotTraceable::NotUnique {
                line,
                other,
                value,
                key,
                analysis,
            },
            unsupported @ NotTraceable::Unsupported { .. } => unsupported,
        }
    }
}
