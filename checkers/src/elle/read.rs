//! Reading histories for the dependency graph: consim's own (single operations, read
//! by [`crate::formats`]) and transactional ones — Jepsen's `history.edn` with
//! `:f :txn` and elle-cli's JSON with transactions of several micro-operations, each
//! micro-operation `[f k v]` with `f` one of `r`, `append`, `w`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use clojure_reader::edn::{self, Edn};

use crate::formats::{
    self, Format, edn_forms, edn_get, edn_kind, edn_time, edn_value, event_type, json_ops,
    json_value, parse_error,
};
use crate::history::{EventType, History, HistoryError, Operation, Value};

use super::txn::{Aborted, Mop, MopKind, Status, Txn, TxnHistory};
use super::{Options, Report, check, check_operations};
use crate::traceable::NotTraceable;

/// A history as read: single operations (which also get the session guarantees), or
/// transactions.
#[derive(Debug)]
pub enum Source {
    /// One operation per event pair.
    Operations {
        /// The history.
        history: History,
        /// Its operations.
        ops: Vec<Operation>,
    },
    /// Transactions of micro-operations.
    Transactions(TxnHistory<'static>),
}

impl Source {
    /// Committed and unknown operations or transactions.
    pub fn len(&self) -> usize {
        match self {
            Source::Operations { ops, .. } => ops.len(),
            Source::Transactions(t) => t.txns.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The source line of operation or transaction `i`'s invocation.
    pub fn line(&self, i: usize) -> usize {
        match self {
            Source::Operations { history, ops } => history
                .lines
                .get(ops[i].call)
                .copied()
                .unwrap_or(ops[i].call + 1),
            Source::Transactions(t) => t.txns[i].call_line,
        }
    }
}

/// Reads a history file in `format` (`Auto` sniffs it).
pub fn read_file(path: &Path, format: Format) -> Result<Source, HistoryError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| HistoryError::Parse {
        origin: origin.clone(),
        line: 0,
        column: None,
        message: format!("cannot read: {e}"),
    })?;
    read_str(&text, format, &origin)
}

/// Reads a history from `text`; `origin` names it in errors.
///
/// ```
/// use checkers::elle::read::{read_str, Source};
/// use checkers::formats::Format;
/// let edn = "{:process 0, :type :invoke, :f :txn, :value [[:append :x 1] [:r :y nil]]}
/// {:process 0, :type :ok, :f :txn, :value [[:append :x 1] [:r :y [2]]]}";
/// let Source::Transactions(history) = read_str(edn, Format::Auto, "h.edn")? else {
///     panic!("a transactional history")
/// };
/// assert_eq!(history.txns[0].mops.len(), 2);
/// # Ok::<(), checkers::history::HistoryError>(())
/// ```
pub fn read_str(text: &str, format: Format, origin: &str) -> Result<Source, HistoryError> {
    let resolved = match format {
        Format::Auto => Format::sniff(text),
        other => Some(other),
    };
    let txns = match resolved {
        Some(Format::Edn) => edn_txns(text, origin)?,
        Some(Format::ElleJson) => json_txns(text, origin)?,
        _ => None,
    };
    if let Some(txns) = txns {
        return Ok(Source::Transactions(txns));
    }
    let history = formats::read_str(text, format, origin)?;
    let ops = history.operations(origin)?;
    Ok(Source::Operations { history, ops })
}

/// Analyses a history as read.
pub fn check_source(source: &Source, options: &Options) -> Result<Report, NotTraceable> {
    match source {
        Source::Operations { history, ops } => check_operations(history, ops, options),
        Source::Transactions(txns) => check(txns, options),
    }
}

/// Pairs transactional events into transactions, as [`History::operations`] pairs
/// operations.
struct Pairing<'o> {
    origin: &'o str,
    txns: Vec<Option<Txn<'static>>>,
    aborted: Vec<Aborted<'static>>,
    pending: BTreeMap<u64, usize>,
    crashed: BTreeSet<u64>,
    events: usize,
}

impl<'o> Pairing<'o> {
    fn new(origin: &'o str) -> Self {
        Pairing {
            origin,
            txns: Vec::new(),
            aborted: Vec::new(),
            pending: BTreeMap::new(),
            crashed: BTreeSet::new(),
            events: 0,
        }
    }

    fn error(&self, line: usize, process: u64, message: String) -> HistoryError {
        HistoryError::Pairing {
            origin: self.origin.to_owned(),
            line,
            process,
            message,
        }
    }

    fn event(
        &mut self,
        process: u64,
        kind: EventType,
        mops: Vec<Mop<'static>>,
        line: usize,
        time: Option<u64>,
    ) -> Result<(), HistoryError> {
        let position = self.events;
        self.events += 1;
        if kind == EventType::Invoke {
            return self.invoke(process, mops, line, time, position);
        }
        let Some(slot) = self.pending.remove(&process) else {
            return Err(self.error(
                line,
                process,
                format!("completes ({kind:?}) with nothing pending"),
            ));
        };
        let txn = self.txns[slot]
            .as_mut()
            .expect("pending transactions are kept");
        if !mops.is_empty() && mops.len() != txn.mops.len() {
            let invoked = txn.mops.len();
            return Err(self.error(
                line,
                process,
                format!(
                    "completes with {} micro-operations, but invoked {invoked}",
                    mops.len()
                ),
            ));
        }
        if !mops.is_empty() {
            txn.mops = mops;
        }
        match kind {
            EventType::Ok => {
                txn.status = Status::Ok;
                txn.ret = Some(position);
                txn.ret_line = Some(line);
                txn.ret_time = time;
            }
            EventType::Fail => {
                let txn = self.txns[slot].take().expect("just seen");
                self.aborted.push(Aborted {
                    process,
                    mops: txn.mops,
                    line,
                });
            }
            _ => {
                self.crashed.insert(process);
            }
        }
        Ok(())
    }

    fn invoke(
        &mut self,
        process: u64,
        mops: Vec<Mop<'static>>,
        line: usize,
        time: Option<u64>,
        position: usize,
    ) -> Result<(), HistoryError> {
        if self.crashed.contains(&process) {
            return Err(self.error(line, process, "invokes again after an `info`; a process whose outcome is unknown never invokes again".into()));
        }
        if let Some(&slot) = self.pending.get(&process) {
            let other = self.txns[slot].as_ref().map_or(0, |t| t.call_line);
            return Err(self.error(
                line,
                process,
                format!("invokes while its transaction of line {other} is still pending"),
            ));
        }
        self.pending.insert(process, self.txns.len());
        self.txns.push(Some(Txn {
            process,
            status: Status::Info,
            mops,
            call: position,
            ret: None,
            call_line: line,
            ret_line: None,
            call_time: time,
            ret_time: None,
        }));
        Ok(())
    }

    fn finish(self) -> Result<TxnHistory<'static>, HistoryError> {
        if self.events == 0 {
            return Err(HistoryError::Empty {
                origin: self.origin.to_owned(),
            });
        }
        Ok(TxnHistory {
            txns: self.txns.into_iter().flatten().collect(),
            aborted: self.aborted,
            initial: Value::Nil,
        })
    }
}

fn mop_kind(name: &str) -> Option<MopKind> {
    match name.trim_start_matches(':') {
        "r" | "read" => Some(MopKind::Read),
        "append" => Some(MopKind::Append),
        "w" | "write" => Some(MopKind::Write),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------
// EDN

/// Whether an EDN op map is a transaction: `:f :txn`, or no `:f` and a vector of
/// micro-operations as its value.
fn edn_is_txn(form: &Edn<'_>) -> bool {
    let Edn::Map(map) = form else {
        return false;
    };
    match edn_get(map, "f") {
        Some(Edn::Key(f)) => f == "txn",
        Some(_) => false,
        None => match edn_get(map, "value") {
            Some(Edn::Vector(mops)) => {
                !mops.is_empty()
                    && mops.iter().all(|m| {
                        matches!(m, Edn::Vector(p) if matches!(p.first(), Some(Edn::Key(k)) if mop_kind(k).is_some()))
                    })
            }
            _ => false,
        },
    }
}

fn edn_txns(text: &str, origin: &str) -> Result<Option<TxnHistory<'static>>, HistoryError> {
    // Decide on the first client op map: a history is transactional or not.
    if !first_client_op(text).as_ref().is_some_and(edn_is_txn) {
        return Ok(None);
    }
    let mut pairing = Pairing::new(origin);
    for (form, line) in edn_forms(text, origin)? {
        let Edn::Map(map) = &form else {
            return Err(parse_error(
                origin,
                line,
                format!(
                    "expected an op map {{:process … :type … :value …}}, got {}",
                    edn_kind(&form)
                ),
            ));
        };
        let Some((process, kind)) = formats::edn_process_and_type(map, origin, line)? else {
            continue; // A nemesis op.
        };
        if !edn_is_txn(&form) {
            return Err(parse_error(
                origin,
                line,
                "expected a transaction (:f :txn, :value [[:append k v] [:r k v] …]) like the rest of the history",
            ));
        }
        let mops = edn_txn_mops(map, origin, line)?;
        pairing.event(process, kind, mops, line, edn_time(map))?;
    }
    pairing.finish().map(Some)
}

/// The first op map of an EDN history that is not the nemesis's.
fn first_client_op(text: &str) -> Option<Edn<'_>> {
    let mut rest = text;
    while !rest.trim_start().is_empty() {
        let Ok((form, remaining)) = edn::read(rest) else {
            break;
        };
        let candidate = match &form {
            Edn::Vector(items) | Edn::List(items) => items.first().cloned(),
            _ => Some(form),
        };
        if let Some(Edn::Map(map)) = &candidate {
            if !matches!(edn_get(map, "process"), Some(Edn::Key(k)) if k == "nemesis") {
                return candidate;
            }
        }
        rest = remaining;
    }
    None
}

/// The micro-operations of a transaction's op map (none for a `nil` value).
fn edn_txn_mops<'a>(
    map: &'a BTreeMap<Edn<'a>, Edn<'a>>,
    origin: &str,
    line: usize,
) -> Result<Vec<Mop<'static>>, HistoryError> {
    match edn_get(map, "value") {
        Some(Edn::Vector(mops)) => mops
            .iter()
            .map(|m| {
                edn_mop(m).ok_or_else(|| {
                    parse_error(
                        origin,
                        line,
                        format!(
                            "expected a micro-operation [:r|:append|:w key value], got {}",
                            edn_kind(m)
                        ),
                    )
                })
            })
            .collect(),
        Some(Edn::Nil) | None => Ok(Vec::new()),
        Some(other) => Err(parse_error(
            origin,
            line,
            format!(
                "expected :value to be a vector of micro-operations, got {}",
                edn_kind(other)
            ),
        )),
    }
}

fn edn_mop(form: &Edn<'_>) -> Option<Mop<'static>> {
    let Edn::Vector(parts) = form else {
        return None;
    };
    let [Edn::Key(f), key, value] = parts.as_slice() else {
        return None;
    };
    Some(Mop {
        f: mop_kind(f)?,
        key: Cow::Owned(Some(edn_value(key)?)),
        value: Cow::Owned(edn_value(value)?),
    })
}

// ---------------------------------------------------------------------------------
// elle-cli JSON

fn json_is_txn(op: &serde_json::Value) -> bool {
    match op.get("f").and_then(|f| f.as_str()) {
        Some(f) => f.trim_start_matches(':') == "txn",
        None => op
            .get("value")
            .and_then(|v| v.as_array())
            .is_some_and(|mops| {
                !mops.is_empty()
                    && mops.iter().all(|m| {
                        m.as_array()
                            .and_then(|p| p.first())
                            .and_then(|f| f.as_str())
                            .is_some_and(|f| mop_kind(f).is_some())
                    })
            }),
    }
}

fn json_txns(text: &str, origin: &str) -> Result<Option<TxnHistory<'static>>, HistoryError> {
    let ops: Vec<(serde_json::Value, usize)> = json_ops(text, origin)?
        .map(|op| op.map(|op| (op.value, op.line)))
        .collect::<Result<_, _>>()?;
    let transactional = ops
        .iter()
        .find(|(op, _)| !json_is_nemesis(op))
        .is_some_and(|(op, _)| json_is_txn(op))
        && ops.iter().any(|(op, _)| {
            op.get("value")
                .and_then(|v| v.as_array())
                .is_some_and(|m| m.len() > 1)
        });
    if !transactional {
        // Single micro-operations: the operation reader takes them.
        return Ok(None);
    }
    let mut pairing = Pairing::new(origin);
    for (index, (op, line)) in ops.iter().enumerate() {
        if json_is_nemesis(op) {
            continue;
        }
        let what = |m: String| parse_error(origin, *line, format!("op #{index}: {m}"));
        let process = op
            .get("process")
            .and_then(|p| p.as_u64())
            .ok_or_else(|| what("expected a process number".into()))?;
        let kind = op
            .get("type")
            .and_then(|t| t.as_str())
            .and_then(|t| event_type(t.trim_start_matches(':')))
            .ok_or_else(|| what("expected type invoke, ok, fail or info".into()))?;
        if !json_is_txn(op) {
            return Err(what(
                "expected a transaction (f \"txn\", value [[\"append\", k, v], …]) like the rest of the history".into(),
            ));
        }
        let mops = json_txn_mops(op).map_err(what)?;
        let time = op.get("time").and_then(|t| t.as_u64());
        pairing.event(process, kind, mops, *line, time)?;
    }
    pairing.finish().map(Some)
}

fn json_is_nemesis(op: &serde_json::Value) -> bool {
    op.get("process")
        .and_then(|p| p.as_str())
        .is_some_and(|p| p.trim_start_matches(':') == "nemesis")
}

/// The micro-operations of a transaction's op map (none for a `null` value), or what
/// is wrong with them.
fn json_txn_mops(op: &serde_json::Value) -> Result<Vec<Mop<'static>>, String> {
    match op.get("value") {
        Some(serde_json::Value::Array(mops)) => mops
            .iter()
            .map(|m| {
                json_mop(m).ok_or_else(|| {
                    format!(
                        "expected a micro-operation [\"r\"|\"append\"|\"w\", key, value], got {m}"
                    )
                })
            })
            .collect(),
        Some(serde_json::Value::Null) | None => Ok(Vec::new()),
        Some(other) => Err(format!("expected a list of micro-operations, got {other}")),
    }
}

fn json_mop(m: &serde_json::Value) -> Option<Mop<'static>> {
    let [f, key, value] = m.as_array()?.as_slice() else {
        return None;
    };
    Some(Mop {
        f: mop_kind(f.as_str()?)?,
        key: Cow::Owned(Some(json_value(key)?)),
        value: Cow::Owned(json_value(value)?),
    })
}
