//! Readers for the history formats consim understands.
//!
//! | format | what it is |
//! | --- | --- |
//! | `jsonl` | consim's native format: one JSON op map per line |
//! | `edn` | Jepsen's `history.edn`: op maps, one a line or one vector of them; `:process :nemesis` ops are ignored; independent keys as `[k v]` values |
//! | `jepsen-log` | the Jepsen text logs of etcd's published histories: `INFO  jepsen.util - P  :TYPE  :F  VALUE` |
//! | `porcupine-kv` | Porcupine's kv histories: EDN maps with `:key`, `:f :get/:put/:append`; every key starts as `""` |
//! | `elle-json` | elle-cli's JSON: a JSON array (or lines) of op maps with string keys; single-micro-op transactions |
//!
//! `auto` sniffs the format from the first characters that are neither blank nor in a
//! `;` comment line. Every error names the source, the line (and the column, for a
//! syntax error) and what was expected. EDN is read by [`crate::edn`], in one pass.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::edn::{self, Form};

use crate::history::{
    Event, EventType, Function, History, HistoryError, Value, json_column, json_message,
};

/// A history format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Sniff it.
    Auto,
    /// consim's native JSONL.
    Jsonl,
    /// Jepsen's `history.edn`.
    Edn,
    /// Jepsen's text log (etcd histories).
    JepsenLog,
    /// Porcupine's kv EDN lines.
    PorcupineKv,
    /// elle-cli's JSON.
    ElleJson,
}

impl Format {
    /// Every format's name, as the command line spells it.
    pub const NAMES: [&'static str; 6] = [
        "auto",
        "jsonl",
        "edn",
        "jepsen-log",
        "porcupine-kv",
        "elle-json",
    ];

    /// The format named `name`.
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name {
            "auto" => Format::Auto,
            "jsonl" => Format::Jsonl,
            "edn" => Format::Edn,
            "jepsen-log" => Format::JepsenLog,
            "porcupine-kv" => Format::PorcupineKv,
            "elle-json" => Format::ElleJson,
            _ => return None,
        })
    }

    /// The format's name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Jsonl => "jsonl",
            Format::Edn => "edn",
            Format::JepsenLog => "jepsen-log",
            Format::PorcupineKv => "porcupine-kv",
            Format::ElleJson => "elle-json",
        }
    }

    /// Guesses the format of `text` from its first characters that are not blank
    /// and not in a `;` comment line.
    ///
    /// ```
    /// use checkers::formats::Format;
    /// let edn = "; T1 appends\n\n{:type :invoke, :f :txn, :value [[:append 9 2]], :process 2}";
    /// assert_eq!(Format::sniff(edn), Some(Format::Edn));
    /// ```
    pub fn sniff(text: &str) -> Option<Format> {
        let start = skip_comment_lines(text);
        if start.starts_with("INFO") || start.lines().next()?.contains("jepsen.util") {
            Some(Format::JepsenLog)
        } else if start.starts_with("{\"") || start.starts_with("{ \"") {
            Some(Format::Jsonl)
        } else if start.starts_with('[') && skip_comment_lines(&start[1..]).starts_with('{') {
            let inner = skip_comment_lines(&start[1..]);
            Some(if inner[1..].trim_start().starts_with('"') {
                Format::ElleJson
            } else {
                Format::Edn
            })
        } else if start.starts_with("{:") || start.starts_with("{ :") {
            let first = start.lines().next().unwrap_or("");
            let porcupine = first.contains(":key")
                && [":get", ":put", ":append"]
                    .iter()
                    .any(|f| first.contains(f));
            Some(if porcupine {
                Format::PorcupineKv
            } else {
                Format::Edn
            })
        } else {
            None
        }
    }
}

/// `text` after its leading blank lines and `;` comment lines (EDN's comments).
fn skip_comment_lines(text: &str) -> &str {
    let mut rest = text.trim_start();
    while let Some(comment) = rest.strip_prefix(';') {
        rest = comment
            .split_once('\n')
            .map_or("", |(_, after)| after)
            .trim_start();
    }
    rest
}

/// Reads a history file in `format` (`Auto` sniffs it).
pub fn read_file(path: &Path, format: Format) -> Result<History, HistoryError> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| HistoryError::Parse {
        origin: origin.clone(),
        line: 0,
        column: None,
        message: format!("cannot read: {e}"),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| HistoryError::Parse {
        origin: origin.clone(),
        column: None,
        line: line_of_offset(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        ),
        message: "expected UTF-8 text".into(),
    })?;
    read_str(&text, format, &origin)
}

/// Reads a history from `text` in `format`; `origin` names it in errors.
///
/// ```
/// use checkers::formats::{read_str, Format};
/// let log = "INFO  jepsen.util - 0\t:invoke\t:write\t3\nINFO  jepsen.util - 0\t:ok\t:write\t3\n";
/// let history = read_str(log, Format::Auto, "etcd.log")?;
/// assert_eq!(history.events.len(), 2);
/// # Ok::<(), checkers::history::HistoryError>(())
/// ```
pub fn read_str(text: &str, format: Format, origin: &str) -> Result<History, HistoryError> {
    let format = match format {
        Format::Auto => Format::sniff(text).ok_or_else(|| {
            if text.trim().is_empty() {
                HistoryError::Empty {
                    origin: origin.to_owned(),
                }
            } else {
                parse_error(origin, 1, "cannot tell the format: expected JSON lines, EDN op maps or a Jepsen log; name it with --format")
            }
        })?,
        other => other,
    };
    let history = match format {
        Format::Auto => unreachable!("resolved above"),
        Format::Jsonl => History::from_jsonl(text, origin)?,
        Format::JepsenLog => read_jepsen_log(text, origin)?,
        Format::Edn => read_edn(text, origin, false)?,
        Format::PorcupineKv => read_edn(text, origin, true)?,
        Format::ElleJson => read_elle_json(text, origin)?,
    };
    if history.events.is_empty() {
        return Err(HistoryError::Empty {
            origin: origin.to_owned(),
        });
    }
    Ok(history)
}

/// An error about line `line` as a whole (no column).
pub(crate) fn parse_error(origin: &str, line: usize, message: impl Into<String>) -> HistoryError {
    HistoryError::Parse {
        origin: origin.to_owned(),
        line,
        column: None,
        message: message.into(),
    }
}

/// The line of byte `offset`: it scans from the start, so it is for one error, never
/// for every op.
fn line_of_offset(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

pub(crate) fn event_type(name: &str) -> Option<EventType> {
    Some(match name {
        "invoke" => EventType::Invoke,
        "ok" => EventType::Ok,
        "fail" => EventType::Fail,
        "info" => EventType::Info,
        _ => return None,
    })
}

fn function(name: &str) -> Option<Function> {
    Some(match name {
        "read" | "get" | "r" => Function::Read,
        "write" | "put" | "w" => Function::Write,
        "cas" => Function::Cas,
        "append" => Function::Append,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------
// Jepsen text logs

fn read_jepsen_log(text: &str, origin: &str) -> Result<History, HistoryError> {
    let mut history = History::default();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(event) = jepsen_log_event(line, origin, number)? {
            history.push(event, number);
        }
    }
    Ok(history)
}

/// One line of a Jepsen log; `None` for the nemesis's.
fn jepsen_log_event(
    line: &str,
    origin: &str,
    number: usize,
) -> Result<Option<Event>, HistoryError> {
    let error = |message: String| parse_error(origin, number, message);
    let expected = "expected `INFO  jepsen.util - PROCESS  :TYPE  :F  VALUE`";
    let Some((_, rest)) = line.split_once("jepsen.util - ") else {
        return Err(error(format!("{expected}, got {line:?}")));
    };
    let mut fields = rest.split_whitespace();
    let (Some(process), Some(kind), Some(f)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(error(format!("{expected}: missing fields")));
    };
    if process == ":nemesis" {
        return Ok(None);
    }
    let process: u64 = process
        .parse()
        .map_err(|_| error(format!("expected a process number, got {process:?}")))?;
    let kind = kind.strip_prefix(':').and_then(event_type).ok_or_else(|| {
        error(format!(
            "expected :invoke, :ok, :fail or :info, got {kind:?}"
        ))
    })?;
    let f = f
        .strip_prefix(':')
        .and_then(function)
        .ok_or_else(|| error(format!("expected :read, :write or :cas, got {f:?}")))?;
    let value_text = fields.collect::<Vec<_>>().join(" ");
    let value = if value_text == ":timed-out" {
        // A timed-out completion carries no value. A `:fail :read :timed-out` is a
        // read whose outcome is unknown, but its process goes on invoking (it did
        // not crash, as an `:info` process would have); a read of unknown outcome
        // constrains nothing, so it stays a `fail` and is dropped like one.
        Value::Nil
    } else {
        parse_log_value(&value_text).ok_or_else(|| {
            error(format!(
                "expected nil, an integer or [A B], got {value_text:?}"
            ))
        })?
    };
    Ok(Some(Event {
        process,
        kind,
        f,
        key: None,
        value,
        time: None,
    }))
}

fn parse_log_value(text: &str) -> Option<Value> {
    let text = text.trim();
    if text.is_empty() || text == "nil" {
        return Some(Value::Nil);
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return inner
            .split_whitespace()
            .map(parse_log_value)
            .collect::<Option<Vec<_>>>()
            .map(Value::List);
    }
    text.parse().ok().map(Value::Int)
}

// ---------------------------------------------------------------------------------
// EDN: Jepsen's history.edn and Porcupine's kv lines

/// An EDN syntax error as a history error: the file, line, column and what was expected.
pub(crate) fn edn_error(origin: &str, error: &edn::Error) -> HistoryError {
    HistoryError::Parse {
        origin: origin.to_owned(),
        line: error.position.line,
        column: Some(error.position.column),
        message: error.kind.to_string(),
    }
}

fn read_edn(text: &str, origin: &str, porcupine: bool) -> Result<History, HistoryError> {
    let mut history = History::default();
    if porcupine {
        history.initial = Value::Str(String::new());
    }
    for item in edn::items(text) {
        let (at, form) = item.map_err(|e| edn_error(origin, &e))?;
        edn_op(&form, origin, at.line, porcupine, &mut history)?;
    }
    if !porcupine {
        unwrap_independent_tuples(&mut history);
    }
    Ok(history)
}

/// Older Jepsen histories of independent keys wrap every value as an untagged `[k v]`
/// pair. A pair alone is ambiguous (a read may return a two-element list), so the
/// values are taken as pairs only if every event of the history has that shape.
fn unwrap_independent_tuples(history: &mut History) {
    let all_pairs = !history.events.is_empty()
        && history
            .events
            .iter()
            .all(|e| e.key.is_none() && is_independent_tuple(e.f, &e.value));
    if !all_pairs {
        return;
    }
    for event in &mut history.events {
        if let Value::List(mut pair) = std::mem::take(&mut event.value) {
            event.value = pair.pop().unwrap_or_default();
            event.key = pair.pop();
        }
    }
}

fn is_pair(value: &Value) -> bool {
    matches!(value, Value::List(pair) if pair.len() == 2)
}

/// The keyword under `field` of an op map, without its colon.
pub(crate) fn keyword<'t>(map: &Form<'t>, field: &str) -> Option<&'t str> {
    map.get(field).and_then(Form::as_keyword)
}

/// An EDN op map's `:time`, if it has a non-negative one.
pub(crate) fn edn_time(map: &Form<'_>) -> Option<u64> {
    match map.get("time") {
        Some(Form::Int(t)) => u64::try_from(*t).ok(),
        _ => None,
    }
}

/// Who performed an op, by its `:process`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Process {
    /// A client process.
    Client(u64),
    /// The nemesis: its ops are not the clients'.
    Nemesis,
    /// The op map has no `:process`.
    Missing,
}

/// An EDN op map's `:process`.
pub(crate) fn edn_process(
    map: &Form<'_>,
    origin: &str,
    line: usize,
) -> Result<Process, HistoryError> {
    match map.get("process") {
        Some(Form::Int(p)) if *p >= 0 => Ok(Process::Client(p.unsigned_abs())),
        Some(Form::Keyword("nemesis")) => Ok(Process::Nemesis),
        None => Ok(Process::Missing),
        Some(other) => Err(parse_error(
            origin,
            line,
            format!(
                "expected :process to be a non-negative integer or :nemesis, got {}",
                other.kind()
            ),
        )),
    }
}

/// An EDN op map's `:type`.
pub(crate) fn edn_type(
    map: &Form<'_>,
    origin: &str,
    line: usize,
) -> Result<EventType, HistoryError> {
    keyword(map, "type").and_then(event_type).ok_or_else(|| {
        parse_error(
            origin,
            line,
            "expected :type to be :invoke, :ok, :fail or :info",
        )
    })
}

fn edn_op(
    form: &Form<'_>,
    origin: &str,
    line: usize,
    porcupine: bool,
    history: &mut History,
) -> Result<(), HistoryError> {
    let error = |message: String| parse_error(origin, line, message);
    if !matches!(form, Form::Map(_)) {
        return Err(error(format!(
            "expected an op map {{:process … :type … :f …}}, got {}",
            form.kind()
        )));
    }
    let process = match edn_process(form, origin, line)? {
        Process::Client(process) => process,
        Process::Nemesis => return Ok(()),
        Process::Missing => {
            return Err(error(
                "expected :process to be a non-negative integer or :nemesis, got nothing (only transactional histories may leave it out)".into(),
            ));
        }
    };
    let kind = edn_type(form, origin, line)?;
    let f = keyword(form, "f").and_then(function).ok_or_else(|| {
        error("expected :f to be :read, :write, :cas or :append (or :get, :put)".into())
    })?;
    let (key, value) = edn_key_and_value(form, porcupine).map_err(error)?;
    if matches!(form.get("final?"), Some(Form::Bool(true))) {
        history.finals.push(history.events.len());
    }
    let time = edn_time(form);
    history.push(
        Event {
            process,
            kind,
            f,
            key,
            value,
            time,
        },
        line,
    );
    Ok(())
}

/// An op map's key and value: its `:key`, or, for a value tagged as an independent
/// tuple `[k v]`, the tuple's `k` (untagged tuples are unwrapped after the whole
/// history is read, [`unwrap_independent_tuples`]).
fn edn_key_and_value(map: &Form<'_>, porcupine: bool) -> Result<(Option<Value>, Value), String> {
    let raw = match map.get("value") {
        None => Value::Nil,
        Some(v) => edn_value(v).ok_or_else(|| {
            format!(
                "expected :value to be nil, an integer, a string or a vector, got {}",
                v.kind()
            )
        })?,
    };
    let explicit_key = match map.get("key") {
        None => None,
        Some(k) => Some(edn_value(k).ok_or("expected :key to be a string or an integer")?),
    };
    let tagged_tuple = matches!(
        map.get("value"),
        Some(Form::Tagged("jepsen.independent/tuple", _))
    );
    Ok(match explicit_key {
        Some(key) => (Some(key), raw),
        None if !porcupine && tagged_tuple && is_pair(&raw) => {
            let Value::List(mut pair) = raw else {
                unreachable!("checked to be a pair")
            };
            let value = pair.pop().expect("a pair");
            (pair.pop(), value)
        }
        None => (None, raw),
    })
}

/// Jepsen's independent keys wrap values as `[k v]`: a vector pair where a scalar is
/// expected, or `[k [from to]]` for a cas.
fn is_independent_tuple(f: Function, value: &Value) -> bool {
    match (f, value) {
        (Function::Cas, Value::List(pair)) => pair.len() == 2 && matches!(pair[1], Value::List(_)),
        (_, Value::List(pair)) => pair.len() == 2 && !matches!(pair[0], Value::List(_)),
        _ => false,
    }
}

/// An EDN form as a history value; `None` for forms a value cannot be (floats, maps, …).
/// Forms as values, into a vector of exactly their number (collecting into an
/// `Option<Vec<_>>` would lose the count and grow the vector by doubling).
pub(crate) fn edn_values(forms: &[Form<'_>]) -> Option<Vec<Value>> {
    let mut values = Vec::with_capacity(forms.len());
    for form in forms {
        values.push(edn_value(form)?);
    }
    Some(values)
}

pub(crate) fn edn_value(form: &Form<'_>) -> Option<Value> {
    Some(match form {
        Form::Nil => Value::Nil,
        Form::Int(i) => Value::Int(*i),
        // `5N`: an integer written as a big one, which fits.
        Form::BigInt(digits) => Value::Int(digits.parse().ok()?),
        Form::Str(s) => Value::Str(s.to_string()),
        Form::Keyword(k) => Value::Str(format!(":{k}")),
        Form::Vector(items) | Form::List(items) => Value::List(edn_values(items)?),
        Form::Tagged(_, inner) => edn_value(inner)?,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------
// elle-cli JSON

#[derive(Deserialize)]
struct ElleOp {
    process: serde_json::Value,
    #[serde(rename = "type")]
    kind: String,
    f: String,
    #[serde(default)]
    value: serde_json::Value,
    #[serde(default)]
    time: Option<u64>,
}

fn read_elle_json(text: &str, origin: &str) -> Result<History, HistoryError> {
    let mut history = History::default();
    for op in json_ops(text, origin)? {
        let op = op?;
        elle_op(op.value, origin, op.line, op.index, &mut history)?;
    }
    Ok(history)
}

/// One op map of a JSON history.
pub(crate) struct JsonOp {
    /// The map.
    pub value: serde_json::Value,
    /// Its line: for all the maps of one array, the array's first (serde_json keeps
    /// no positions inside it).
    pub line: usize,
    /// Its position in the array, or its line's (from 0).
    pub index: usize,
}

/// The op maps of a JSON history: one array of them, or one a line. The lines are read
/// one at a time, so that an error names the first bad line.
pub(crate) fn json_ops<'t>(
    text: &'t str,
    origin: &'t str,
) -> Result<Box<dyn Iterator<Item = Result<JsonOp, HistoryError>> + 't>, HistoryError> {
    if text.trim_start().starts_with('[') {
        let ops: Vec<serde_json::Value> = serde_json::from_str(text)
            .map_err(|e| json_error(origin, e.line(), &e, "expected a JSON array of op maps"))?;
        let ops = ops.into_iter().enumerate();
        return Ok(Box::new(ops.map(|(index, value)| {
            Ok(JsonOp {
                value,
                line: 1,
                index,
            })
        })));
    }
    let lines = text.lines().enumerate();
    Ok(Box::new(
        lines
            .filter(|(_, line)| !line.trim().is_empty())
            .map(move |(index, line)| {
                let value = serde_json::from_str(line)
                    .map_err(|e| json_error(origin, index + 1, &e, "expected a JSON op map"))?;
                Ok(JsonOp {
                    value,
                    line: index + 1,
                    index,
                })
            }),
    ))
}

/// A JSON syntax error on line `line`, with serde_json's column.
fn json_error(
    origin: &str,
    line: usize,
    error: &serde_json::Error,
    expected: &str,
) -> HistoryError {
    HistoryError::Parse {
        origin: origin.to_owned(),
        line,
        column: json_column(error),
        message: format!("{expected}: {}", json_message(error)),
    }
}

fn elle_op(
    raw: serde_json::Value,
    origin: &str,
    line: usize,
    index: usize,
    history: &mut History,
) -> Result<(), HistoryError> {
    let op: ElleOp = serde_json::from_value(raw).map_err(|e| {
        parse_error(
            origin,
            line,
            format!("op #{index}: expected {{\"process\", \"type\", \"f\", \"value\"}}: {e}"),
        )
    })?;
    let process = match &op.process {
        serde_json::Value::Number(n) if n.as_u64().is_some() => n.as_u64().unwrap_or_default(),
        serde_json::Value::String(s) if s == "nemesis" || s == ":nemesis" => return Ok(()),
        other => {
            return Err(parse_error(
                origin,
                line,
                format!("op #{index}: expected a process number, got {other}"),
            ));
        }
    };
    let kind = event_type(op.kind.trim_start_matches(':')).ok_or_else(|| {
        parse_error(
            origin,
            line,
            format!("op #{index}: unknown type {:?}", op.kind),
        )
    })?;
    let (f, key, value) = if op.f.trim_start_matches(':') == "txn" {
        elle_txn(&op.value).map_err(|m| parse_error(origin, line, format!("op #{index}: {m}")))?
    } else {
        let f = function(op.f.trim_start_matches(':')).ok_or_else(|| {
            parse_error(origin, line, format!("op #{index}: unknown f {:?}", op.f))
        })?;
        let value = json_value(&op.value).ok_or_else(|| {
            parse_error(
                origin,
                line,
                format!("op #{index}: unsupported value {}", op.value),
            )
        })?;
        (f, None, value)
    };
    history.push(
        Event {
            process,
            kind,
            f,
            key,
            value,
            time: op.time,
        },
        line,
    );
    Ok(())
}

/// A transaction of exactly one micro-op (`["append", k, v]`, `["r", k, v]`,
/// `["w", k, v]`), in the single-object view.
fn elle_txn(value: &serde_json::Value) -> Result<(Function, Option<Value>, Value), String> {
    let Some(micro_ops) = value.as_array() else {
        return Err(format!(
            "expected a transaction (a list of micro-ops), got {value}"
        ));
    };
    let [micro] = micro_ops.as_slice() else {
        return Err(format!(
            "a transaction of {} micro-ops; only single-micro-op transactions are checked (single-object view)",
            micro_ops.len()
        ));
    };
    let parts = micro
        .as_array()
        .filter(|p| p.len() == 3)
        .ok_or_else(|| format!("expected a micro-op [f k v], got {micro}"))?;
    let f = parts[0]
        .as_str()
        .and_then(|f| function(f.trim_start_matches(':')))
        .ok_or_else(|| format!("unknown micro-op {}", parts[0]))?;
    let key = json_value(&parts[1]).ok_or_else(|| format!("unsupported key {}", parts[1]))?;
    let value = json_value(&parts[2]).ok_or_else(|| format!("unsupported value {}", parts[2]))?;
    Ok((f, Some(key), value))
}

pub(crate) fn json_value(value: &serde_json::Value) -> Option<Value> {
    Some(match value {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Number(n) => Value::Int(n.as_i64()?),
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(items) => {
            Value::List(items.iter().map(json_value).collect::<Option<_>>()?)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_every_format() {
        assert_eq!(
            Format::sniff("INFO  jepsen.util - 0\t:invoke\t:read\tnil"),
            Some(Format::JepsenLog)
        );
        assert_eq!(Format::sniff("{\"process\":0}"), Some(Format::Jsonl));
        assert_eq!(Format::sniff("[{\"process\":0}]"), Some(Format::ElleJson));
        assert_eq!(Format::sniff("[{:process 0}]"), Some(Format::Edn));
        assert_eq!(
            Format::sniff("{:process 0, :type :invoke, :f :read}"),
            Some(Format::Edn)
        );
        assert_eq!(
            Format::sniff("{:process 9, :type :invoke, :f :append, :key \"0\", :value \"x\"}"),
            Some(Format::PorcupineKv)
        );
        assert_eq!(Format::sniff("hello"), None);
    }

    #[test]
    fn sniffing_skips_comment_lines() {
        let edn = "; T1 ww T3 on 9\n;\n\n; T1: read by T4\n{:index 10, :type :invoke, :process 2}";
        assert_eq!(Format::sniff(edn), Some(Format::Edn));
        assert_eq!(
            Format::sniff("; ops\n[ ; all of them\n{:process 0}]"),
            Some(Format::Edn)
        );
        assert_eq!(Format::sniff("; only a comment"), None);
        assert_eq!(Format::sniff("; a comment\nhello"), None);
    }

    #[test]
    fn an_op_s_line_is_where_its_map_starts() {
        let text = "; a comment\n{:type :invoke, :f :read, :process 0}\n; another\n\n\
                    [{:type :ok, :f :read, :value 1,\n  :process 0}\n {:type :invoke, :f :read, :process 1}]";
        let h = read_str(text, Format::Auto, "h.edn").unwrap();
        assert_eq!(h.lines, vec![2, 5, 7]);
    }

    #[test]
    fn single_operations_need_a_process() {
        let text = "{:type :invoke, :f :read}";
        let err = read_str(text, Format::Edn, "h.edn").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "h.edn:1: expected :process to be a non-negative integer or :nemesis, got nothing"
            ),
            "{err}"
        );
    }

    #[test]
    fn big_integers_that_fit_are_integers() {
        let text = "{:type :invoke, :f :write, :value 5N, :process 0, :time 7}";
        let h = read_str(text, Format::Edn, "h.edn").unwrap();
        assert_eq!(h.events[0].value, Value::Int(5));
        assert_eq!(h.events[0].time, Some(7));
        let text = "{:type :invoke, :f :write, :value 99999999999999999999, :process 0}";
        let err = read_str(text, Format::Edn, "h.edn").unwrap_err();
        assert!(err.to_string().contains("got a big integer"), "{err}");
    }

    #[test]
    fn json_errors_name_the_column() {
        let err = read_str(
            "[{\"process\": 0,\n  \"type\" \"invoke\"}]",
            Format::ElleJson,
            "e.json",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "e.json:2:10: expected a JSON array of op maps: expected `:`"
        );
    }

    #[test]
    fn jepsen_log_timeouts_and_fails() {
        let log = "INFO  jepsen.util - 1\t:invoke\t:read\tnil\n\
                   INFO  jepsen.util - 1\t:fail\t:read\t:timed-out\n\
                   INFO  jepsen.util - 2\t:invoke\t:cas\t[1 2]\n\
                   INFO  jepsen.util - 2\t:info\t:cas\t:timed-out\n";
        let h = read_str(log, Format::JepsenLog, "l").unwrap();
        assert_eq!(h.events[1].kind, EventType::Fail);
        assert_eq!(h.events[3].kind, EventType::Info);
        assert_eq!(
            h.events[2].value,
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        let err = read_str(
            "INFO  jepsen.util - 1\t:invoke\t:frob\tnil\n",
            Format::JepsenLog,
            "l",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("l:1: expected :read"), "{err}");
    }

    #[test]
    fn edn_independent_tuples_and_nemesis() {
        let text = "{:type :invoke, :f :cas, :value [3 [1 2]], :process 0}\n\
                    {:type :info, :f :start, :process :nemesis}\n\
                    {:type :invoke, :f :write, :value [4 7], :process 1}\n\
                    {:type :invoke, :f :read, :value [4 nil], :process 2}";
        let h = read_str(text, Format::Edn, "h.edn").unwrap();
        assert_eq!(h.events.len(), 3);
        assert_eq!(h.events[0].key, Some(Value::Int(3)));
        assert_eq!(
            h.events[0].value,
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(h.events[1].key, Some(Value::Int(4)));
        assert_eq!(h.events[1].value, Value::Int(7));
        assert_eq!(h.events[2].value, Value::Nil);
        // Not every value is a pair: a read of [1 2] is a list, not key 1 and value 2.
        let plain = "{:type :invoke, :f :read, :value nil, :process 0}\n\
                     {:type :ok, :f :read, :value [1 2], :process 0}\n\
                     {:type :invoke, :f :cas, :value [1 2], :process 1}\n\
                     {:type :invoke, :f :write, :value #jepsen.independent/tuple [4 7], :process 2}";
        let h = read_str(plain, Format::Edn, "h.edn").unwrap();
        assert_eq!(h.events[1].key, None);
        assert_eq!(
            h.events[1].value,
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(h.events[2].key, None, "a plain cas pair is not a tuple");
        assert_eq!(
            h.events[3].key,
            Some(Value::Int(4)),
            "a tagged tuple always is"
        );
        let vector =
            "[{:type :invoke, :f :read, :process 0}\n {:type :ok, :f :read, :value 1, :process 0}]";
        assert_eq!(read_str(vector, Format::Auto, "v").unwrap().events.len(), 2);
    }

    #[test]
    fn edn_errors_name_the_line() {
        let text = "{:type :invoke, :f :read, :process 0}\n{:type :invoke, :f :read, :process 1\n";
        let err = read_str(text, Format::Edn, "h.edn").unwrap_err();
        assert!(err.to_string().starts_with("h.edn:2:"), "{err}");
        let text =
            "{:type :invoke, :f :read, :process 0}\n\n{:type :bogus, :f :read, :process 1}\n";
        let err = read_str(text, Format::Edn, "h.edn").unwrap_err();
        assert!(
            err.to_string().starts_with("h.edn:3: expected :type"),
            "{err}"
        );
    }

    #[test]
    fn porcupine_kv_starts_keys_empty() {
        let text = "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n{:process 0, :type :ok, :f :get, :key \"1\", :value \"\"}\n";
        let h = read_str(text, Format::Auto, "kv").unwrap();
        assert_eq!(h.initial, Value::Str(String::new()));
        assert_eq!(h.events[0].f, Function::Read);
        assert_eq!(h.events[1].key, Some(Value::Str("1".into())));
    }

    #[test]
    fn elle_json_single_micro_op_transactions() {
        let text = r#"[{"process":0,"type":"invoke","f":"txn","value":[["append","x",1]]},
 {"process":0,"type":"ok","f":"txn","value":[["append","x",1]]},
 {"process":1,"type":"invoke","f":"txn","value":[["r","x",null]]},
 {"process":1,"type":"ok","f":"txn","value":[["r","x",[1]]]}]"#;
        let h = read_str(text, Format::Auto, "e.json").unwrap();
        assert_eq!(h.events[3].f, Function::Read);
        assert_eq!(h.events[3].value, Value::List(vec![Value::Int(1)]));
        let multi = r#"[{"process":0,"type":"invoke","f":"txn","value":[["append","x",1],["r","y",null]]}]"#;
        let err = read_str(multi, Format::ElleJson, "e.json").unwrap_err();
        assert!(err.to_string().contains("2 micro-ops"), "{err}");
    }

    #[test]
    fn empty_input_is_a_clear_error() {
        let err = read_str("\n\n", Format::Auto, "empty.log").unwrap_err();
        assert!(matches!(err, HistoryError::Empty { .. }));
        assert!(err.to_string().contains("empty.log"), "{err}");
    }
}
