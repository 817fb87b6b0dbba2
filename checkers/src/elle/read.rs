//! Reading histories for the dependency graph: consim's own (single operations, read
//! by [`crate::formats`]) and transactional ones — Jepsen's `history.edn` with
//! `:f :txn` and elle-cli's JSON with transactions of several micro-operations, each
//! micro-operation `[f k v]` with `f` one of `r`, `append`, `w`.
//!
//! Whether a history is transactional is decided by its first client op, read alone;
//! the rest is read once, in one pass. An op map without `:process` (Elle's own
//! examples leave it out) is a transaction of a process of its own: it has no process
//! order, and real time orders it by the order of events, as Elle does.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::edn::{self, Form, Position};
use crate::formats::{
    self, Format, Process, edn_error, edn_time, edn_value, event_type, json_ops, json_value,
    parse_error,
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

/// One event of a transactional history, as read.
struct TxnEvent {
    /// `None` for an op without `:process`.
    process: Option<u64>,
    kind: EventType,
    mops: Vec<Mop<'static>>,
    line: usize,
    time: Option<u64>,
}

/// Pairs transactional events into transactions, as [`History::operations`] pairs
/// operations.
///
/// An op without `:process` (Elle's own examples leave it out) is a process of its
/// own: no process order links it to anything, and real time orders it as it orders
/// every transaction, by the order of events. A completion without `:process`
/// completes the one invocation without `:process` that is pending; with several
/// pending, which one it completes cannot be told, and that is an error.
struct Pairing<'o> {
    origin: &'o str,
    txns: Vec<Option<Txn<'static>>>,
    aborted: Vec<Aborted<'static>>,
    /// The pending invocation of each process, as a slot of `txns`.
    pending: BTreeMap<u64, usize>,
    /// The pending invocations without `:process`, as slots of `txns`.
    pending_without_process: Vec<usize>,
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
            pending_without_process: Vec::new(),
            crashed: BTreeSet::new(),
            events: 0,
        }
    }

    fn error(&self, line: usize, process: Option<u64>, message: String) -> HistoryError {
        match process {
            Some(process) => HistoryError::Pairing {
                origin: self.origin.to_owned(),
                line,
                process,
                message,
            },
            None => parse_error(
                self.origin,
                line,
                format!("an op without :process {message}"),
            ),
        }
    }

    fn event(&mut self, event: TxnEvent) -> Result<(), HistoryError> {
        let position = self.events;
        self.events += 1;
        if event.kind == EventType::Invoke {
            return self.invoke(event, position);
        }
        let slot = self.pending_slot(&event)?;
        self.complete(slot, event, position)
    }

    /// The slot of the pending invocation that a completion completes.
    fn pending_slot(&mut self, event: &TxnEvent) -> Result<usize, HistoryError> {
        let kind = event.kind;
        let nothing = || format!("completes ({kind:?}) with nothing pending");
        if let Some(process) = event.process {
            return self
                .pending
                .remove(&process)
                .ok_or_else(|| self.error(event.line, Some(process), nothing()));
        }
        match self.pending_without_process.as_slice() {
            &[slot] => {
                self.pending_without_process.clear();
                Ok(slot)
            }
            [] => Err(self.error(event.line, None, nothing())),
            several => {
                let mut lines: Vec<String> = several
                    .iter()
                    .take(5)
                    .map(|&slot| {
                        self.txns[slot]
                            .as_ref()
                            .map_or(0, |t| t.call_line)
                            .to_string()
                    })
                    .collect();
                if several.len() > lines.len() {
                    lines.push("…".into());
                }
                let message = format!(
                    "completes ({kind:?}) while {} invocations without :process are pending (lines {}): completions cannot be matched without :process",
                    several.len(),
                    lines.join(", ")
                );
                Err(self.error(event.line, None, message))
            }
        }
    }

    /// Completes the transaction in `slot` with `event`, the history's `position`-th.
    fn complete(
        &mut self,
        slot: usize,
        event: TxnEvent,
        position: usize,
    ) -> Result<(), HistoryError> {
        let txn = self.txns[slot]
            .as_mut()
            .expect("pending transactions are kept");
        let invoked = txn.mops.len();
        if !event.mops.is_empty() && event.mops.len() != invoked {
            let message = format!(
                "completes with {} micro-operations, but invoked {invoked}",
                event.mops.len()
            );
            return Err(self.error(event.line, event.process, message));
        }
        if !event.mops.is_empty() {
            txn.mops = event.mops;
        }
        match event.kind {
            EventType::Ok => {
                txn.status = Status::Ok;
                txn.ret = Some(position);
                txn.ret_line = Some(event.line);
                txn.ret_time = event.time;
            }
            EventType::Fail => {
                let txn = self.txns[slot].take().expect("just seen");
                self.aborted.push(Aborted {
                    process: txn.process,
                    mops: txn.mops,
                    line: event.line,
                });
            }
            _ => {
                self.crashed.extend(event.process);
            }
        }
        Ok(())
    }

    fn invoke(&mut self, event: TxnEvent, position: usize) -> Result<(), HistoryError> {
        let slot = self.txns.len();
        match event.process {
            Some(process) => {
                if self.crashed.contains(&process) {
                    return Err(self.error(event.line, event.process, "invokes again after an `info`; a process whose outcome is unknown never invokes again".into()));
                }
                if let Some(&other) = self.pending.get(&process) {
                    let other = self.txns[other].as_ref().map_or(0, |t| t.call_line);
                    let message =
                        format!("invokes while its transaction of line {other} is still pending");
                    return Err(self.error(event.line, event.process, message));
                }
                self.pending.insert(process, slot);
            }
            None => self.pending_without_process.push(slot),
        }
        self.txns.push(Some(Txn {
            process: event.process,
            status: Status::Info,
            mops: event.mops,
            call: position,
            ret: None,
            call_line: event.line,
            ret_line: None,
            call_time: event.time,
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
fn edn_is_txn(form: &Form<'_>) -> bool {
    if !matches!(form, Form::Map(_)) {
        return false;
    }
    let is_mop = |m: &Form<'_>| matches!(m, Form::Vector(parts) if parts.first().and_then(Form::as_keyword).is_some_and(|f| mop_kind(f).is_some()));
    match form.get("f") {
        Some(f) => f.as_keyword() == Some("txn"),
        None => {
            matches!(form.get("value"), Some(Form::Vector(mops)) if !mops.is_empty() && mops.iter().all(is_mop))
        }
    }
}

fn edn_txns(text: &str, origin: &str) -> Result<Option<TxnHistory<'static>>, HistoryError> {
    let mut items = edn::items(text);
    // Decide on the first client op map: a history is transactional or not. Only the
    // forms up to it are read here; a history that is not transactional is read from
    // the start by the operation reader.
    let first = first_client_op(&mut items, origin)?;
    let Some((at, first)) = first.filter(|(_, form)| edn_is_txn(form)) else {
        return Ok(None);
    };
    let mut pairing = Pairing::new(origin);
    edn_txn_event(&mut pairing, &first, at.line)?;
    for item in items {
        let (at, form) = item.map_err(|e| edn_error(origin, &e))?;
        edn_txn_event(&mut pairing, &form, at.line)?;
    }
    pairing.finish().map(Some)
}

/// The first op-level form of an EDN history that is not the nemesis's op.
fn first_client_op<'t>(
    items: &mut edn::Items<'t>,
    origin: &str,
) -> Result<Option<(Position, Form<'t>)>, HistoryError> {
    for item in items {
        let (at, form) = item.map_err(|e| edn_error(origin, &e))?;
        if !matches!(form.get("process"), Some(Form::Keyword("nemesis"))) {
            return Ok(Some((at, form)));
        }
    }
    Ok(None)
}

/// One op map of a transactional EDN history, starting on `line`, into `pairing`.
fn edn_txn_event(
    pairing: &mut Pairing<'_>,
    form: &Form<'_>,
    line: usize,
) -> Result<(), HistoryError> {
    let origin = pairing.origin;
    if !matches!(form, Form::Map(_)) {
        return Err(parse_error(
            origin,
            line,
            format!(
                "expected an op map {{:process … :type … :value …}}, got {}",
                form.kind()
            ),
        ));
    }
    let process = match formats::edn_process(form, origin, line)? {
        Process::Client(process) => Some(process),
        Process::Nemesis => return Ok(()),
        Process::Missing => None,
    };
    let kind = formats::edn_type(form, origin, line)?;
    if !edn_is_txn(form) {
        return Err(parse_error(
            origin,
            line,
            "expected a transaction (:f :txn, :value [[:append k v] [:r k v] …]) like the rest of the history",
        ));
    }
    let mops = edn_txn_mops(form, origin, line)?;
    pairing.event(TxnEvent {
        process,
        kind,
        mops,
        line,
        time: edn_time(form),
    })
}

/// The micro-operations of a transaction's op map (none for a `nil` value).
fn edn_txn_mops(
    map: &Form<'_>,
    origin: &str,
    line: usize,
) -> Result<Vec<Mop<'static>>, HistoryError> {
    match map.get("value") {
        Some(Form::Vector(mops)) => mops
            .iter()
            .map(|m| {
                edn_mop(m).ok_or_else(|| {
                    parse_error(
                        origin,
                        line,
                        format!(
                            "expected a micro-operation [:r|:append|:w key value], got {}",
                            m.kind()
                        ),
                    )
                })
            })
            .collect(),
        Some(Form::Nil) | None => Ok(Vec::new()),
        Some(other) => Err(parse_error(
            origin,
            line,
            format!(
                "expected :value to be a vector of micro-operations, got {}",
                other.kind()
            ),
        )),
    }
}

fn edn_mop(form: &Form<'_>) -> Option<Mop<'static>> {
    let Form::Vector(parts) = form else {
        return None;
    };
    let [Form::Keyword(f), key, value] = parts.as_slice() else {
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
        if let Some(event) = json_txn_event(op, origin, *line, index)? {
            pairing.event(event)?;
        }
    }
    pairing.finish().map(Some)
}

/// Op `index` of a transactional JSON history, from `line`; `None` for the nemesis's.
fn json_txn_event(
    op: &serde_json::Value,
    origin: &str,
    line: usize,
    index: usize,
) -> Result<Option<TxnEvent>, HistoryError> {
    if json_is_nemesis(op) {
        return Ok(None);
    }
    let what = |m: String| parse_error(origin, line, format!("op #{index}: {m}"));
    let process = match op.get("process") {
        None | Some(serde_json::Value::Null) => None,
        Some(p) => Some(
            p.as_u64()
                .ok_or_else(|| what(format!("expected a process number, got {p}")))?,
        ),
    };
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
    Ok(Some(TxnEvent {
        process,
        kind,
        mops,
        line,
        time,
    }))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elle::Rel;

    fn transactions(text: &str, format: Format) -> Result<TxnHistory<'static>, HistoryError> {
        match read_str(text, format, "h")? {
            Source::Transactions(t) => Ok(t),
            Source::Operations { .. } => panic!("expected transactions from {text}"),
        }
    }

    #[test]
    fn ops_without_process_are_each_their_own_process() {
        let text = "{:type :invoke, :value [[:append :x 1]]}\n\
                    {:type :ok, :value [[:append :x 1]]}\n\
                    {:type :invoke, :value [[:r :x nil]]}\n\
                    {:type :ok, :value [[:r :x [1]]]}\n";
        let h = transactions(text, Format::Auto).unwrap();
        assert_eq!(h.txns.len(), 2);
        assert_eq!(h.txns[0].process, None);
        assert_eq!(h.txns[1].process, None);
        assert_eq!((h.txns[1].call_line, h.txns[1].ret_line), (3, Some(4)));
        assert_eq!(h.txns[1].status, Status::Ok);
        // No process order links them; real time (the order of events) does.
        let report = crate::elle::check(&h, &crate::elle::Options::default()).unwrap();
        assert!(report.ok(), "{report:?}");
    }

    #[test]
    fn ops_without_process_get_real_time_order_but_no_process_order() {
        // T2 misses T1's append though T1 completed before T2 began: a real-time cycle,
        // never a process one.
        let text = "{:type :invoke, :value [[:append :x 1]]}\n\
                    {:type :ok, :value [[:append :x 1]]}\n\
                    {:type :invoke, :value [[:r :x nil]]}\n\
                    {:type :ok, :value [[:r :x nil]]}\n";
        let h = transactions(text, Format::Edn).unwrap();
        let report = crate::elle::check(&h, &crate::elle::Options::default()).unwrap();
        let cycle = &report.anomalies[0];
        assert_eq!(cycle.kind.name(), "G-single-item-realtime");
        assert!(cycle.steps.iter().all(|s| s.rel != Rel::Process));
        assert!(
            cycle
                .explanation
                .starts_with("Let T1 = an op without :process, append 1 to :x (line 1)"),
            "{}",
            cycle.explanation
        );
    }

    #[test]
    fn completions_without_process_cannot_be_matched_when_several_are_pending() {
        let text = "{:type :invoke, :value [[:append :x 1]]}\n\
                    {:type :invoke, :value [[:append :x 2]]}\n\
                    {:type :ok, :value [[:append :x 1]]}\n";
        let err = transactions(text, Format::Edn).unwrap_err();
        assert_eq!(
            err.to_string(),
            "h:3: an op without :process completes (Ok) while 2 invocations without :process are pending (lines 1, 2): completions cannot be matched without :process"
        );
        let text = "{:type :invoke, :value [[:append :x 1]]}\n\
                    {:type :ok, :value [[:append :x 1]]}\n\
                    {:type :fail, :value [[:append :x 1]]}\n";
        let err = transactions(text, Format::Edn).unwrap_err();
        assert_eq!(
            err.to_string(),
            "h:3: an op without :process completes (Fail) with nothing pending"
        );
    }

    #[test]
    fn ops_with_and_without_process_pair_apart() {
        let text = "{:process 0, :type :invoke, :f :txn, :value [[:append :x 1]]}\n\
                    {:type :invoke, :value [[:append :y 1]]}\n\
                    {:type :fail, :value [[:append :y 1]]}\n\
                    {:process 0, :type :info, :f :txn, :value nil}\n";
        let h = transactions(text, Format::Edn).unwrap();
        assert_eq!(h.txns.len(), 1);
        assert_eq!(
            (h.txns[0].process, h.txns[0].status),
            (Some(0), Status::Info)
        );
        assert_eq!(h.aborted.len(), 1);
        assert_eq!((h.aborted[0].process, h.aborted[0].line), (None, 3));
    }

    #[test]
    fn elle_json_without_process() {
        let text = r#"[{"type":"invoke","f":"txn","value":[["append","x",1],["r","y",null]]},
{"type":"ok","f":"txn","value":[["append","x",1],["r","y",[]]]}]"#;
        let h = transactions(text, Format::Auto).unwrap();
        assert_eq!(h.txns.len(), 1);
        assert_eq!((h.txns[0].process, h.txns[0].status), (None, Status::Ok));
        let bad = r#"[{"process":"p1","type":"invoke","f":"txn","value":[["append","x",1],["r","y",null]]}]"#;
        let err = transactions(bad, Format::ElleJson).unwrap_err();
        assert!(
            err.to_string()
                .contains("op #0: expected a process number, got \"p1\""),
            "{err}"
        );
    }

    #[test]
    fn the_line_of_a_transaction_is_the_line_its_map_starts_on() {
        let text = "; a comment\n; another\n\n{:process 0, :type :invoke, :f :txn,\n :value [[:append :x 1]]}\n\
                    [{:process 0, :type :ok, :f :txn, :value [[:append :x 1]]}\n\
                     ; between\n {:process 1, :type :invoke, :f :txn, :value [[:r :x nil]]}]\n";
        let h = transactions(text, Format::Auto).unwrap();
        assert_eq!((h.txns[0].call_line, h.txns[0].ret_line), (4, Some(6)));
        assert_eq!(h.txns[1].call_line, 8);
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let text = "{:process 0, :type :invoke, :f :txn, :value [[:append :x 1]]}\n\
                    {:process 0, :type :ok, :f :txn, :value [[:append :x 1]]\n";
        let err = transactions(text, Format::Edn).unwrap_err();
        assert_eq!(
            err.to_string(),
            "h:2:1: expected `}` to close the map opened at line 2, column 1, but the input ends"
        );
        let text = "{:process 0, :type :invoke, :f :txn, :value [[:append :x 1]]}\n\
                    {:process 0, :type :ok, :f :txn, :value [[:append :x 1] 2x]}\n";
        let err = transactions(text, Format::Edn).unwrap_err();
        assert_eq!(
            err.to_string(),
            "h:2:57: expected a number, a keyword or a symbol, got `2x`"
        );
    }
}
