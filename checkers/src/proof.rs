//! What a history proves outright, in sentences: the anomalies that rule out
//! linearizability (and weaker models) without a search, each with the operations it
//! involves. The runner leads a violation's explanation with the first; the picture
//! ([`crate::viz`]) lists them and outlines their operations.

use crate::history::{History, Operation};

/// One anomaly the history proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// `kind: sentences`, as Elle (or, for registers, [`crate::anomalies`]) names it.
    pub text: String,
    /// The operations involved (indices into the `ops` given).
    pub ops: Vec<usize>,
}

/// Every anomaly `ops` (from [`History::operations`]) of `history` prove: for
/// registers (`list_append` false), first what real time alone shows
/// ([`crate::anomalies::register_anomalies`]); then what Elle's dependency graph shows
/// (cycles, outright anomalies, broken session guarantees). Empty when the history
/// proves none, or cannot be read as Elle reads histories (written values that repeat).
///
/// ```
/// use checkers::history::History;
/// use checkers::proof::proofs;
/// let text = r#"{"process":0,"type":"invoke","f":"write","key":"x","value":1}
/// {"process":0,"type":"ok","f":"write","key":"x","value":1}
/// {"process":1,"type":"invoke","f":"read","key":"x","value":null}
/// {"process":1,"type":"ok","f":"read","key":"x","value":null}"#;
/// let history = History::from_jsonl(text, "h")?;
/// let found = proofs(&history, &history.operations("h")?, false);
/// assert!(found[0].text.starts_with("stale-read: "));
/// assert_eq!(found[0].ops.len(), 2);
/// # Ok::<(), checkers::history::HistoryError>(())
/// ```
pub fn proofs(history: &History, ops: &[Operation], list_append: bool) -> Vec<Proof> {
    let mut found = Vec::new();
    if !list_append {
        for f in crate::anomalies::register_anomalies(history, ops) {
            found.push(Proof {
                text: f.sentence(),
                ops: f.ops,
            });
        }
    }
    let options = crate::elle::Options::default();
    if let Ok(report) = crate::elle::check_operations(history, ops, &options) {
        for a in report.anomalies {
            let mut involved = a.txns;
            involved.retain(|&i| i < ops.len());
            found.push(Proof {
                text: format!("{}: {}", a.kind.name(), a.explanation),
                ops: involved,
            });
        }
    }
    found
}
