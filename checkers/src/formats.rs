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
//! `auto` sniffs the format from the first non-blank characters. Every error names the
//! source, the line and what was expected.

use std::borrow::Cow;
use std::path::Path;

use clojure_reader::edn::{self, Edn};
use serde::{Deserialize, Serialize};

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

    /// Guesses the format of `text` from its first non-blank characters.
    pub fn sniff(text: &str) -> Option<Format> {
        let start = text.trim_start();
        if start.starts_with("INFO") || start.lines().next()?.contains("jepsen.util") {
            Some(Format::JepsenLog)
        } else if start.starts_with("{\"") || start.starts_with("{ \"") {
            Some(Format::Jsonl)
        } else if start.starts_with('[') && start[1..].trim_start().starts_with('{') {
            let inner = start[1..].trim_start();
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

pub(crate) fn line_of_offset(text: &str, offset: usize) -> usize {
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

/// Every top-level form of an EDN history with the line it starts on; the maps of a
/// top-level vector or list each come with the vector's line.
pub(crate) fn edn_forms<'t>(
    text: &'t str,
    origin: &str,
) -> Result<Vec<(Edn<'t>, usize)>, HistoryError> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let consumed = text.len() - rest.len();
        let skipped = rest.len() - rest.trim_start().len();
        if rest.trim_start().is_empty() {
            break;
        }
        let line = line_of_offset(text, consumed + skipped);
        let (form, remaining) = edn::read(rest).map_err(|e| {
            if e.code == clojure_reader::error::Code::UnexpectedEOF {
                return parse_error(
                    origin,
                    line,
                    "expected an EDN op map, but it is cut short: the input ends before it closes",
                );
            }
            let at = e
                .line
                .map_or(line, |l| line_of_offset(text, consumed) + l - 1);
            parse_error(origin, at, format!("expected an EDN op map: {:?}", e.code))
        })?;
        if let Edn::Vector(items) | Edn::List(items) = &form {
            out.extend(items.iter().map(|item| (item.clone(), line)));
        } else {
            out.push((form, line));
        }
        rest = remaining;
    }
    Ok(out)
}

fn read_edn(text: &str, origin: &str, porcupine: bool) -> Result<History, HistoryError> {
    let mut history = History::default();
    if porcupine {
        history.initial = Value::Str(String::new());
    }
    for (form, line) in edn_forms(text, origin)? {
        // A vector of maps: all from its opening line; no finer position.
        edn_op(&form, origin, line, porcupine, &mut history)?;
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

/// The keyword under `field`, without its colon.
pub(crate) fn keyword<'a>(
    map: &'a std::collections::BTreeMap<Edn<'a>, Edn<'a>>,
    field: &'a str,
) -> Option<&'a str> {
    match edn_get(map, field) {
        Some(Edn::Key(k)) => Some(k),
        _ => None,
    }
}

pub(crate) fn edn_get<'a>(
    map: &'a std::collections::BTreeMap<Edn<'a>, Edn<'a>>,
    key: &'a str,
) -> Option<&'a Edn<'a>> {
    map.get(&Edn::Key(Cow::Borrowed(key)))
}

/// An EDN op map's `:time`, if it has a non-negative one.
pub(crate) fn edn_time<'a>(map: &'a std::collections::BTreeMap<Edn<'a>, Edn<'a>>) -> Option<u64> {
    match edn_get(map, "time") {
        Some(Edn::Int(t)) if *t >= 0 => Some(*t as u64),
        _ => None,
    }
}

/// An EDN op map's `:process` and `:type`; `None` for the nemesis's ops.
pub(crate) fn edn_process_and_type<'a>(
    map: &'a std::collections::BTreeMap<Edn<'a>, Edn<'a>>,
    origin: &str,
    line: usize,
) -> Result<Option<(u64, EventType)>, HistoryError> {
    let process = match edn_get(map, "process") {
        Some(Edn::Int(p)) if *p >= 0 => *p as u64,
        Some(Edn::Key(k)) if k == "nemesis" => return Ok(None),
        other => {
            return Err(parse_error(
                origin,
                line,
                format!(
                    "expected :process to be a non-negative integer or :nemesis, got {}",
                    other.map_or("nothing".into(), edn_kind)
                ),
            ));
        }
    };
    let kind = keyword(map, "type").and_then(event_type).ok_or_else(|| {
        parse_error(
            origin,
            line,
            "expected :type to be :invoke, :ok, :fail or :info",
        )
    })?;
    Ok(Some((process, kind)))
}

fn edn_op(
    form: &Edn<'_>,
    origin: &str,
    line: usize,
    porcupine: bool,
    history: &mut History,
) -> Result<(), HistoryError> {
    let Edn::Map(map) = form else {
        return Err(parse_error(
            origin,
            line,
            format!(
                "expected an op map {{:process … :type … :f …}}, got {}",
                edn_kind(form)
            ),
        ));
    };
    let Some((process, kind)) = edn_process_and_type(map, origin, line)? else {
        return Ok(()); // A nemesis op.
    };
    let f = keyword(map, "f").and_then(function).ok_or_else(|| {
        parse_error(
            origin,
            line,
            "expected :f to be :read, :write, :cas or :append (or :get, :put)",
        )
    })?;
    let raw = match edn_get(map, "value") {
        None => Value::Nil,
        Some(v) => edn_value(v).ok_or_else(|| {
            parse_error(
                origin,
                line,
                format!(
                    "expected :value to be nil, an integer, a string or a vector, got {}",
                    edn_kind(v)
                ),
            )
        })?,
    };
    let explicit_key = match edn_get(map, "key") {
        None => None,
        Some(k) => Some(edn_value(k).ok_or_else(|| {
            parse_error(origin, line, "expected :key to be a string or an integer")
        })?),
    };
    let tagged_tuple = matches!(edn_get(map, "value"), Some(Edn::Tagged(tag, _)) if tag == "jepsen.independent/tuple");
    let (key, value) = match explicit_key {
        Some(key) => (Some(key), raw),
        None if !porcupine && tagged_tuple && is_pair(&raw) => {
            let Value::List(mut pair) = raw else {
                unreachable!("checked to be a pair")
            };
            let value = pair.pop().expect("a pair");
            (pair.pop(), value)
        }
        None => (None, raw),
    };
    let time = edn_time(map);
    if matches!(edn_get(map, "final?"), Some(Edn::Bool(true))) {
        history.finals.push(history.events.len());
    }
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

/// Jepsen's independent keys wrap values as `[k v]`: a vector pair where a scalar is
/// expected, or `[k [from to]]` for a cas.
fn is_independent_tuple(f: Function, value: &Value) -> bool {
    match (f, value) {
        (Function::Cas, Value::List(pair)) => pair.len() == 2 && matches!(pair[1], Value::List(_)),
        (_, Value::List(pair)) => pair.len() == 2 && !matches!(pair[0], Value::List(_)),
        _ => false,
    }
}

pub(crate) fn edn_value(form: &Edn<'_>) -> Option<Value> {
    Some(match form {
        Edn::Nil => Value::Nil,
        Edn::Int(i) => Value::Int(*i),
        Edn::Str(s) => Value::Str(s.to_string()),
        Edn::Key(k) => Value::Str(format!(":{k}")),
        Edn::Vector(items) | Edn::List(items) => {
            Value::List(items.iter().map(edn_value).collect::<Option<_>>()?)
        }
        Edn::Tagged(_, inner) => edn_value(inner)?,
        _ => return None,
    })
}

pub(crate) fn edn_kind(form: &Edn<'_>) -> String {
    let kind = match form {
        Edn::Vector(_) => "a vector",
        Edn::Set(_) => "a set",
        Edn::Map(_) => "a map",
        Edn::List(_) => "a list",
        Edn::Key(_) => "a keyword",
        Edn::Symbol(_) => "a symbol",
        Edn::Str(_) => "a string",
        Edn::Int(_) => "an integer",
        Edn::Tagged(..) => "a tagged value",
        Edn::Double(_) => "a float",
        Edn::Rational(_) => "a ratio",
        Edn::Char(_) => "a character",
        Edn::Bool(_) => "a boolean",
        Edn::Nil => "nil",
        _ => "an unsupported value",
    };
    kind.to_owned()
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
