//! Histories in Jepsen's vocabulary, and pairing their events into operations.
//!
//! A history is a sequence of client events. Each process invokes an operation
//! (`invoke`) and completes it with `ok` (it happened), `fail` (it certainly did not
//! happen) or `info` (unknown: it may have happened at any time after its invocation,
//! or never). A process that ended in `info` never invokes again.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A value carried by an operation, as Jepsen writes them.
///
/// Ordered as a derived order would be (by variant, in the order below, then by
/// contents); equality and order compare two integers inline, the usual case in the
/// checkers' sets and searches. Equality is the derived one, written out (a test holds
/// it to the derived one), so the derived hash agrees with it.
#[allow(clippy::derived_hash_with_manual_eq)]
#[derive(Clone, Debug, Default, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// `nil` / `null`: no value (a read's invoke, an unwritten register).
    #[default]
    Nil,
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// A list: a cas's `[from, to]`, a list-append read.
    List(Vec<Value>),
}

impl PartialEq for Value {
    #[inline]
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Nil, Value::Nil) => true,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            _ => false,
        }
    }
}

impl Ord for Value {
    #[inline]
    fn cmp(&self, other: &Value) -> std::cmp::Ordering {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::List(a), Value::List(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Value {
    #[inline]
    fn partial_cmp(&self, other: &Value) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Value {
    /// The variant's place in the order.
    fn rank(&self) -> u8 {
        match self {
            Value::Nil => 0,
            Value::Int(_) => 1,
            Value::Str(_) => 2,
            Value::List(_) => 3,
        }
    }

    /// Bytes this value holds on the heap (strings and lists), for memory budgets.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Nil | Value::Int(_) => 0,
            Value::Str(s) => s.capacity(),
            Value::List(items) => {
                items.capacity() * std::mem::size_of::<Value>()
                    + items.iter().map(Value::heap_bytes).sum::<usize>()
            }
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "nil"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                write!(f, "[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, " ")?;
                    }
                    write!(f, "{item}")?;
                }
                write!(f, "]")
            }
        }
    }
}

/// What an event says about its operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// The operation began.
    Invoke,
    /// It took effect.
    Ok,
    /// It certainly did not take effect.
    Fail,
    /// Unknown whether it took effect.
    Info,
}

/// The function an operation applies (Jepsen's `:f`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Function {
    /// Read a register or key (`get` in Porcupine's kv histories).
    Read,
    /// Overwrite it (`put`).
    Write,
    /// Compare and set: value `[from, to]`.
    Cas,
    /// Append to it (a string concatenation or a list push).
    Append,
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Function::Read => "read",
            Function::Write => "write",
            Function::Cas => "cas",
            Function::Append => "append",
        })
    }
}

/// One event of a history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The client process.
    pub process: u64,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The function.
    pub f: Function,
    /// The key, for multi-key histories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    /// The value: the argument on invoke, the result on completion.
    #[serde(default = "nil")]
    pub value: Value,
    /// When, in nanoseconds, if the history says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
}

fn nil() -> Value {
    Value::Nil
}

/// The column of a JSON error, if it has a position.
pub(crate) fn json_column(error: &serde_json::Error) -> Option<usize> {
    (error.line() > 0).then(|| error.column())
}

/// A JSON error without the `at line L column C` serde_json appends (the error's
/// position is shown as `file:line:column`).
pub(crate) fn json_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(end) if error.line() > 0 => text[..end].to_owned(),
        _ => text,
    }
}

/// Whether a JSON event line says `"final": true`.
fn final_marker(line: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("final").and_then(serde_json::Value::as_bool))
        .unwrap_or(false)
}

/// A history: events in the order they happened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// The events.
    pub events: Vec<Event>,
    /// The source line of each event (1-based), for error messages and witnesses.
    pub lines: Vec<usize>,
    /// The value every key (or the register) holds before the first write: `nil`,
    /// except in formats that say otherwise (Porcupine's kv starts every key as `""`).
    pub initial: Value,
    /// Events explicitly marked as final reads (`"final": true` in JSONL, `:final?
    /// true` in EDN), by index, in order. When a history marks any, the convergence
    /// check takes exactly the reads marked final ([`crate::convergence`]).
    pub finals: Vec<usize>,
}

/// An operation: an invocation paired with its completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The client process.
    pub process: u64,
    /// The function.
    pub f: Function,
    /// The key, for multi-key histories.
    pub key: Option<Value>,
    /// The argument (from the invocation).
    pub input: Value,
    /// The result, from an `ok` completion; `None` when unknown (`info`, or never
    /// completed): such an operation may have taken effect with any result, or not at
    /// all.
    pub output: Option<Value>,
    /// Index of the invocation in the history's events.
    pub call: usize,
    /// Index of the `ok` completion; `None` for an operation that may take effect any
    /// time after its call (an `info`, or an invocation never completed).
    pub ret: Option<usize>,
}

/// Why a history is malformed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// A line is not an event. Shown as `file:line:column: message`, or
    /// `file:line: message` where the column is not known.
    #[error("{origin}:{line}{}: {message}", column.map_or_else(String::new, |c| format!(":{c}")))]
    Parse {
        /// The file, or `<string>`.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, where the reader knows it.
        column: Option<usize>,
        /// What was expected.
        message: String,
    },
    /// The history has no events at all.
    #[error("{origin}: the history is empty: no events to check")]
    Empty {
        /// The file, or `<string>`.
        origin: String,
    },
    /// The events do not pair up.
    #[error("{origin}:{line}: process {process}: {message}")]
    Pairing {
        /// The file, or `<string>`.
        origin: String,
        /// 1-based line of the offending event.
        line: usize,
        /// The process.
        process: u64,
        /// What is wrong.
        message: String,
    },
}

impl History {
    /// Reads the native format: one JSON object per line, Jepsen's op map fields.
    /// Blank lines are skipped. `origin` names the source in errors.
    ///
    /// ```
    /// use checkers::history::{EventType, History};
    /// let text = r#"{"process":3,"type":"invoke","f":"write","key":"x","value":5,"time":120000}
    /// {"process":3,"type":"ok","f":"write","key":"x","value":5,"time":180000}"#;
    /// let history = History::from_jsonl(text, "example.jsonl")?;
    /// assert_eq!(history.events[1].kind, EventType::Ok);
    /// assert_eq!(history.operations("example.jsonl")?.len(), 1);
    /// # Ok::<(), checkers::history::HistoryError>(())
    /// ```
    pub fn from_jsonl(text: &str, origin: &str) -> Result<History, HistoryError> {
        let mut history = History::default();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let event: Event = serde_json::from_str(line).map_err(|e| HistoryError::Parse {
                origin: origin.to_owned(),
                line: index + 1,
                column: json_column(&e),
                message: format!(
                    "expected an event like {{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}}: {}",
                    json_message(&e)
                ),
            })?;
            // The final-read marker is not an event field: look for it only where the
            // line names it.
            if line.contains("\"final\"") && final_marker(line) {
                history.finals.push(history.events.len());
            }
            history.push(event, index + 1);
        }
        Ok(history)
    }

    /// Whether event `index` is marked as a final read.
    pub fn is_final(&self, index: usize) -> bool {
        self.finals.binary_search(&index).is_ok()
    }

    /// Appends an event read from source line `line`.
    pub fn push(&mut self, event: Event, line: usize) {
        self.events.push(event);
        self.lines.push(line);
    }

    /// The time of event `index`: its `time` field if the history has one, else its
    /// position (so that order is all that is shown).
    pub fn time_of(&self, index: usize) -> u64 {
        self.events[index].time.unwrap_or(index as u64)
    }

    /// Whether the events carry times.
    pub fn has_times(&self) -> bool {
        self.events.iter().all(|e| e.time.is_some())
    }

    /// The history in the native format, one event per line.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for (index, event) in self.events.iter().enumerate() {
            let line = serde_json::to_string(event).expect("events always serialise");
            match line.strip_suffix('}') {
                Some(open) if self.is_final(index) => {
                    out.push_str(open);
                    out.push_str(",\"final\":true}");
                }
                _ => out.push_str(&line),
            }
            out.push('\n');
        }
        out
    }

    /// Pairs each invocation with its completion. `fail`ed operations are dropped
    /// (they did not happen); `info` and never-completed operations keep `ret: None`.
    pub fn operations(&self, origin: &str) -> Result<Vec<Operation>, HistoryError> {
        // The slot in `ops` of each process's pending invocation, and the processes
        // that ended in `info`.
        let mut pending: std::collections::BTreeMap<u64, usize> = Default::default();
        let mut crashed: std::collections::BTreeSet<u64> = Default::default();
        let mut ops: Vec<Option<Operation>> = Vec::new();
        for (index, event) in self.events.iter().enumerate() {
            let error = |message: String| HistoryError::Pairing {
                origin: origin.to_owned(),
                line: self.lines.get(index).copied().unwrap_or(index + 1),
                process: event.process,
                message,
            };
            match event.kind {
                EventType::Invoke => {
                    if crashed.contains(&event.process) {
                        return Err(error(
                            "invokes again after an `info`; a process whose outcome is unknown never invokes again".into(),
                        ));
                    }
                    if let Some(&slot) = pending.get(&event.process) {
                        let call = ops[slot].as_ref().map_or(0, |op| op.call);
                        return Err(error(format!(
                            "invokes while its operation of line {} is still pending",
                            self.lines.get(call).copied().unwrap_or(call + 1)
                        )));
                    }
                    pending.insert(event.process, ops.len());
                    ops.push(Some(Operation {
                        process: event.process,
                        f: event.f,
                        key: event.key.clone(),
                        input: event.value.clone(),
                        output: None,
                        call: index,
                        ret: None,
                    }));
                }
                EventType::Ok | EventType::Fail | EventType::Info => {
                    let Some(slot) = pending.remove(&event.process) else {
                        return Err(error(format!(
                            "completes ({:?}) with nothing pending",
                            event.kind
                        )));
                    };
                    let op = ops[slot].as_mut().expect("a pending operation is present");
                    if op.f != event.f {
                        return Err(error(format!(
                            "completes a {} that was invoked as a {}",
                            event.f, op.f
                        )));
                    }
                    match event.kind {
                        EventType::Ok => {
                            op.output = Some(event.value.clone());
                            op.ret = Some(index);
                        }
                        EventType::Fail => ops[slot] = None,
                        _ => {
                            crashed.insert(event.process);
                        }
                    }
                }
            }
        }
        Ok(ops.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `Value` with the derived order and equality, to hold the hand-written ones to.
    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Derived {
        Nil,
        Int(i64),
        Str(String),
        List(Vec<Derived>),
    }

    impl From<&Value> for Derived {
        fn from(v: &Value) -> Derived {
            match v {
                Value::Nil => Derived::Nil,
                Value::Int(i) => Derived::Int(*i),
                Value::Str(s) => Derived::Str(s.clone()),
                Value::List(items) => Derived::List(items.iter().map(Derived::from).collect()),
            }
        }
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Nil),
            (-3i64..3).prop_map(Value::Int),
            "[ab]{0,2}".prop_map(Value::Str),
        ];
        leaf.prop_recursive(3, 12, 4, |inner| {
            prop::collection::vec(inner, 0..4).prop_map(Value::List)
        })
    }

    proptest! {
        #[test]
        fn values_order_and_compare_as_derived(a in value(), b in value()) {
            let (da, db) = (Derived::from(&a), Derived::from(&b));
            prop_assert_eq!(a.cmp(&b), da.cmp(&db));
            prop_assert_eq!(a.partial_cmp(&b), da.partial_cmp(&db));
            prop_assert_eq!(a == b, da == db);
        }
    }

    fn parse(text: &str) -> Result<Vec<Operation>, HistoryError> {
        History::from_jsonl(text, "t.jsonl")?.operations("t.jsonl")
    }

    #[test]
    fn pairs_ok_drops_fail_keeps_info_open() {
        let ops = parse(
            r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":1,"type":"invoke","f":"cas","value":[1,2]}
{"process":0,"type":"ok","f":"write","value":1}
{"process":1,"type":"fail","f":"cas","value":[1,2]}
{"process":2,"type":"invoke","f":"read","value":null}
{"process":2,"type":"info","f":"read","value":null}
{"process":3,"type":"invoke","f":"read"}"#,
        )
        .unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!((ops[0].call, ops[0].ret), (0, Some(2)));
        assert_eq!(ops[0].output, Some(Value::Int(1)));
        assert_eq!(ops[1].output, None);
        assert_eq!((ops[1].process, ops[1].ret), (2, None));
        assert_eq!((ops[2].process, ops[2].ret), (3, None));
    }

    #[test]
    fn a_bad_line_names_the_line_and_what_was_expected() {
        let err = parse("{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,\"type\":\"okay\",\"f\":\"read\"}")
            .unwrap_err();
        let text = err.to_string();
        // serde_json's column: the end of the bad value.
        assert!(
            text.starts_with("t.jsonl:2:26: expected an event"),
            "{text}"
        );
        assert!(
            !text.contains(" at line "),
            "the position is shown once: {text}"
        );
        assert!(text.contains("unknown variant `okay`"), "{text}");
    }

    #[test]
    fn invoking_after_info_or_twice_is_an_error() {
        let err = parse(
            r#"{"process":0,"type":"invoke","f":"read"}
{"process":0,"type":"info","f":"read"}
{"process":0,"type":"invoke","f":"read"}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("t.jsonl:3: process 0: invokes again after an `info`"),
            "{err}"
        );
        let err = parse(
            r#"{"process":0,"type":"invoke","f":"read"}
{"process":0,"type":"invoke","f":"read"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("still pending"), "{err}");
        let err = parse(r#"{"process":0,"type":"ok","f":"read"}"#).unwrap_err();
        assert!(err.to_string().contains("nothing pending"), "{err}");
    }

    #[test]
    fn final_reads_are_marked_and_round_trip() {
        let text = r#"{"process":3,"type":"invoke","f":"read","key":"x","value":null,"final":true}
{"process":3,"type":"ok","f":"read","key":"x","value":[1],"final":true}
{"process":4,"type":"invoke","f":"read","key":"x","value":null,"final":false}
"#;
        let history = History::from_jsonl(text, "t").unwrap();
        assert_eq!(history.finals, vec![0, 1]);
        assert!(history.is_final(1) && !history.is_final(2));
        let again = History::from_jsonl(&history.to_jsonl(), "t").unwrap();
        assert_eq!(again.finals, history.finals);
    }

    #[test]
    fn jsonl_round_trips() {
        let text = r#"{"process":3,"type":"invoke","f":"append","key":"x","value":[1,"a"],"time":5}
{"process":3,"type":"ok","f":"append","key":"x","value":[1,"a"],"time":9}
"#;
        let history = History::from_jsonl(text, "t").unwrap();
        assert_eq!(history.to_jsonl(), text);
    }
}
