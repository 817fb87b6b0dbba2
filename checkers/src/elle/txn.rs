//! Transactions: what the dependency graph is made of.
//!
//! A transaction is an operation of one or more micro-operations (Elle's "mops"): reads,
//! appends and writes, each on one key. consim's own histories are single-operation
//! transactions; Jepsen's and Elle's transactional histories have several mops per
//! transaction (see [`super::read`]).

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

use crate::history::{EventType, Function, History, Operation, Value};

use crate::traceable::NotTraceable;

/// What a micro-operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MopKind {
    /// Reads a key: a list (list-append) or a value (register).
    Read,
    /// Appends a unique element to a key's list.
    Append,
    /// Overwrites a register with a unique value.
    Write,
}

/// One micro-operation of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mop<'a> {
    /// What it does.
    pub f: MopKind,
    /// The key (`None` for a single-register history).
    pub key: Cow<'a, Option<Value>>,
    /// The element appended, the value written, or the value read (`nil`: the initial
    /// state; for a transaction whose outcome is unknown, a read's value is unknown and
    /// ignored). Borrowed from the operations it was made from, or owned.
    pub value: Cow<'a, Value>,
}

impl fmt::Display for Mop<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.f, &*self.key) {
            (MopKind::Read, Some(k)) => write!(f, "read {} = {}", key_text(k), self.value),
            (MopKind::Read, None) => write!(f, "read {}", self.value),
            (MopKind::Append, _) => write!(f, "append {}{}", self.value, key_suffix(&self.key)),
            (MopKind::Write, _) => write!(f, "write {}{}", self.value, key_suffix(&self.key)),
        }
    }
}

fn key_suffix(key: &Option<Value>) -> String {
    key.as_ref()
        .map_or_else(String::new, |k| format!(" to {}", key_text(k)))
}

/// A key as explanations name it: strings (and Jepsen's keywords, read as `:x`)
/// without quotes.
pub(crate) fn key_text(key: &Value) -> String {
    match key {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether a transaction took effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It committed (`ok`).
    Ok,
    /// Unknown (`info`, or never completed): it may have taken effect, or not; its
    /// reads say nothing.
    Info,
}

/// A transaction: an invocation paired with its completion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Txn<'a> {
    /// The client process; `None` for an op without `:process` (Elle's own examples
    /// leave it out), which no process order links to any other.
    pub process: Option<u64>,
    /// Committed or unknown (failed transactions are in [`TxnHistory::aborted`]).
    pub status: Status,
    /// Its micro-operations, as completed (as invoked, for an unknown outcome).
    pub mops: Vec<Mop<'a>>,
    /// Position of the invocation among the history's events.
    pub call: usize,
    /// Position of the `ok` completion; `None` if it never completed.
    pub ret: Option<usize>,
    /// Source line of the invocation.
    pub call_line: usize,
    /// Source line of the completion.
    pub ret_line: Option<usize>,
    /// Time of the invocation, in nanoseconds, if the history says.
    pub call_time: Option<u64>,
    /// Time of the completion.
    pub ret_time: Option<u64>,
}

impl Txn<'_> {
    /// The transaction in a few words: `process 3 append 5 to x (line 12)`, or
    /// `an op without :process, append 5 to x (line 12)`.
    ///
    /// ```
    /// use checkers::elle::read::{read_str, Source};
    /// use checkers::formats::Format;
    /// let edn = "{:type :invoke, :value [[:append :x 5]]}\n{:type :ok, :value [[:append :x 5]]}";
    /// let Source::Transactions(history) = read_str(edn, Format::Edn, "h.edn")? else {
    ///     panic!("a transactional history")
    /// };
    /// assert_eq!(history.txns[0].describe(), "an op without :process, append 5 to :x (line 1)");
    /// # Ok::<(), checkers::history::HistoryError>(())
    /// ```
    pub fn describe(&self) -> String {
        let mops: Vec<String> = self.mops.iter().map(Mop::to_string).collect();
        let what = if self.mops.len() == 1 {
            mops[0].clone()
        } else {
            format!("[{}]", mops.join(", "))
        };
        let unknown = match self.status {
            Status::Ok => "",
            Status::Info => " (outcome unknown)",
        };
        match self.process {
            Some(process) => format!(
                "process {process} {what}{unknown} (line {})",
                self.call_line
            ),
            None => format!(
                "{}, {what}{unknown} (line {})",
                process_text(None),
                self.call_line
            ),
        }
    }
}

/// A transaction's process as explanations name it: `process 3`, or `an op without
/// :process`.
pub(crate) fn process_text(process: Option<u64>) -> String {
    process.map_or_else(
        || "an op without :process".to_owned(),
        |p| format!("process {p}"),
    )
}

/// A failed transaction: it certainly did not take effect, so a read that shows one of
/// its writes read aborted state (G1a).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Aborted<'a> {
    /// The client process; `None` for an op without `:process`.
    pub process: Option<u64>,
    /// What it tried.
    pub mops: Vec<Mop<'a>>,
    /// Source line of its failure.
    pub line: usize,
}

/// A transactional history: committed and unknown transactions in invocation order,
/// and the failed ones.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TxnHistory<'a> {
    /// Committed (`ok`) and unknown (`info`) transactions, in invocation order.
    pub txns: Vec<Txn<'a>>,
    /// Failed transactions.
    pub aborted: Vec<Aborted<'a>>,
    /// The value of every register before its first write (`nil` unless the format
    /// says otherwise).
    pub initial: Value,
}

impl<'a> TxnHistory<'a> {
    /// Whether every transaction is a single micro-operation (consim's own histories,
    /// Jepsen's single-object ones): then each transaction is an operation on one
    /// object, and the single-object models (sequential, linearizable) apply.
    pub fn single_object(&self) -> bool {
        self.txns.iter().all(|t| t.mops.len() <= 1)
    }

    /// The single-operation transactions of `ops` (from [`History::operations`]): the
    /// `n`-th transaction is the `n`-th operation. Failed appends and writes become
    /// [`TxnHistory::aborted`]. Values are borrowed, not copied.
    ///
    /// ```
    /// use checkers::elle::TxnHistory;
    /// use checkers::history::History;
    /// let text = r#"{"process":0,"type":"invoke","f":"append","key":"x","value":1}
    /// {"process":0,"type":"ok","f":"append","key":"x","value":1}"#;
    /// let history = History::from_jsonl(text, "h")?;
    /// let ops = history.operations("h")?;
    /// let txns = TxnHistory::from_operations(&history, &ops)?;
    /// assert_eq!(txns.txns[0].mops[0].to_string(), "append 1 to x");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_operations(
        history: &'a History,
        ops: &'a [Operation],
    ) -> Result<TxnHistory<'a>, NotTraceable> {
        let line = |event: usize| history.lines.get(event).copied().unwrap_or(event + 1);
        let mut txns = Vec::with_capacity(ops.len());
        for op in ops {
            let f = mop_kind(op.f).ok_or_else(|| NotTraceable::Unsupported {
                line: line(op.call),
                message: "cas is not part of a traceable workload (use read and write, or append)"
                    .to_owned(),
            })?;
            let (status, value) = match (&op.output, op.ret) {
                (Some(output), Some(_)) if f == MopKind::Read => (Status::Ok, output),
                (_, Some(_)) => (Status::Ok, &op.input),
                (_, None) => (Status::Info, &op.input),
            };
            txns.push(Txn {
                process: Some(op.process),
                status,
                mops: vec![Mop {
                    f,
                    key: Cow::Borrowed(&op.key),
                    value: Cow::Borrowed(value),
                }],
                call: op.call,
                ret: op.ret,
                call_line: line(op.call),
                ret_line: op.ret.map(line),
                call_time: history.events[op.call].time,
                ret_time: op.ret.and_then(|r| history.events[r].time),
            });
        }
        let aborted = history
            .events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind == EventType::Fail)
            .filter_map(|(i, e)| {
                let f = mop_kind(e.f).filter(|&f| f != MopKind::Read)?;
                Some(Aborted {
                    process: Some(e.process),
                    mops: vec![Mop {
                        f,
                        key: Cow::Borrowed(&e.key),
                        value: Cow::Borrowed(&e.value),
                    }],
                    line: line(i),
                })
            })
            .collect();
        Ok(TxnHistory {
            txns,
            aborted,
            initial: history.initial.clone(),
        })
    }
}

fn mop_kind(f: Function) -> Option<MopKind> {
    match f {
        Function::Read => Some(MopKind::Read),
        Function::Append => Some(MopKind::Append),
        Function::Write => Some(MopKind::Write),
        Function::Cas => None,
    }
}
