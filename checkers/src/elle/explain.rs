//! Cycles in sentences, the way Elle writes them: "Let T1 = …, T2 = …. Then T1 < T2,
//! because T2 read T1's append of 5 to key x; however, T2 < T1, because …: a
//! contradiction!"

use crate::history::Value;

use super::exists::Exists;
use super::graph::DepGraph;
use super::infer::MopRef;
use super::search::{FoundCycle, LogicalStep};
use super::txn::{Mop, MopKind, TxnHistory};
use super::{Anomaly, Kind, Rel, Step};

fn mop<'h>(history: &'h TxnHistory<'_>, at: MopRef) -> &'h Mop<'h> {
    &history.txns[at.txn as usize].mops[at.mop as usize]
}

fn key_name(key: &Option<Value>) -> String {
    key.as_ref().map_or_else(
        || "the register".to_owned(),
        |k| format!("key {}", super::txn::key_text(k)),
    )
}

/// The time of an event, in milliseconds, if the history says.
fn at_ms(time: Option<u64>) -> String {
    time.map_or_else(String::new, |t| format!(" at {:.3} ms", t as f64 / 1e6))
}

/// Why `step` holds, naming its ends `a` and `b`.
fn why(history: &TxnHistory<'_>, step: &LogicalStep, a: &str, b: &str) -> String {
    let from = &history.txns[step.from as usize];
    let to = &history.txns[step.to as usize];
    match step.rel {
        Rel::Ww => ww(history, step, a, b),
        Rel::Wr => wr(history, step, a, b),
        Rel::Rw => rw(history, step, a, b),
        Rel::Process => format!(
            "{} ran {a} (ending at line {}) before {b}",
            super::txn::process_text(from.process),
            from.ret_line.unwrap_or(from.call_line)
        ),
        Rel::Realtime => format!(
            "{a} completed (line {}{}) before {b} was invoked (line {}{})",
            from.ret_line.unwrap_or(from.call_line),
            at_ms(from.ret_time),
            to.call_line,
            at_ms(to.call_time)
        ),
    }
}

/// What a write micro-operation did, as a noun.
fn verb(w: &Mop<'_>) -> &'static str {
    match w.f {
        MopKind::Append => "append",
        _ => "write",
    }
}

/// Why a ww step holds: `b` appended right after `a`, or after every element any read
/// shows.
fn ww(history: &TxnHistory<'_>, step: &LogicalStep, a: &str, b: &str) -> String {
    let (x, y) = (mop(history, step.from_mop), mop(history, step.to_mop));
    if step.unplaced {
        format!(
            "{a} appended {} to {}, the last element any read of it shows, and {b}'s append of {} comes after it, since no read shows it",
            x.value,
            key_name(&x.key),
            y.value
        )
    } else {
        format!(
            "{b} appended {} to {} right after {a} appended {}",
            y.value,
            key_name(&y.key),
            x.value
        )
    }
}

/// Why a wr step holds: `b` read what `a` wrote.
fn wr(history: &TxnHistory<'_>, step: &LogicalStep, a: &str, b: &str) -> String {
    let (w, r) = (mop(history, step.from_mop), mop(history, step.to_mop));
    let shown = match r.f {
        MopKind::Read if w.f == MopKind::Append => {
            format!(" (it read {})", r.value)
        }
        _ => String::new(),
    };
    format!(
        "{b} read {a}'s {} of {} to {}{shown}",
        verb(w),
        w.value,
        key_name(&w.key)
    )
}

/// Why an rw step holds: `a` read a version without `b`'s write, which came after it.
fn rw(history: &TxnHistory<'_>, step: &LogicalStep, a: &str, b: &str) -> String {
    let (r, w) = (mop(history, step.from_mop), mop(history, step.to_mop));
    let empty = matches!(&*r.value, Value::Nil)
        || matches!(&*r.value, Value::List(items) if items.is_empty())
        || (w.f == MopKind::Write && *r.value == history.initial);
    let read = if empty {
        format!("{a} read the initial state of {}", key_name(&r.key))
    } else {
        format!("{a} read {} = {}", key_name(&r.key), r.value)
    };
    if w.f == MopKind::Write {
        format!(
            "{a} read the initial value {} of {}, which precedes every write of it, {b}'s write of {} included",
            r.value,
            key_name(&r.key),
            w.value
        )
    } else if step.unplaced {
        format!(
            "{read}, without {b}'s {} of {}, which no read shows: it came after every version any read shows",
            verb(w),
            w.value
        )
    } else {
        format!(
            "{read}, without {b}'s {} of {}, the next element of its list",
            verb(w),
            w.value
        )
    }
}

/// The anomaly of a cycle, with an explanation per step.
pub(crate) fn cycle(history: &TxnHistory<'_>, _graph: &DepGraph, found: &FoundCycle) -> Anomaly {
    let name = |i: usize| format!("T{}", i + 1);
    // Start at the transaction invoked first: T1 is the earliest.
    let mut cycle = found.steps.clone();
    let first = (0..cycle.len()).min_by_key(|&i| cycle[i].from).unwrap_or(0);
    cycle.rotate_left(first);
    let n = cycle.len();
    let mut steps = Vec::with_capacity(n);
    let mut clauses = Vec::with_capacity(n);
    for (i, step) in cycle.iter().enumerate() {
        let (a, b) = (name(i), name((i + 1) % n));
        let sentence = why(history, step, &a, &b);
        let key = match step.rel {
            Rel::Ww | Rel::Wr | Rel::Rw => mop(history, step.from_mop).key.clone().into_owned(),
            Rel::Process | Rel::Realtime => None,
        };
        clauses.push(if i + 1 == n && n > 1 {
            format!("however, {a} < {b}, because {sentence}: a contradiction!")
        } else {
            format!("{a} < {b}, because {sentence}")
        });
        steps.push(Step {
            from: step.from as usize,
            to: step.to as usize,
            rel: step.rel,
            key,
            why: sentence,
        });
    }
    let txns: Vec<usize> = cycle.iter().map(|s| s.from as usize).collect();
    let lets: Vec<String> = txns
        .iter()
        .enumerate()
        .map(|(i, &t)| format!("{} = {}", name(i), history.txns[t].describe()))
        .collect();
    Anomaly {
        kind: Kind::Cycle(found.kind),
        lines: txns.iter().map(|&t| history.txns[t].call_line).collect(),
        txns,
        steps,
        explanation: format!(
            "Let {}. Then {}{}",
            lets.join("; "),
            clauses.join("; "),
            found.shorter_than.map_or(String::new(), |(k, len)| format!(
                " (A {k} cycle of {len} transactions was found too, which implies a cycle of this kind; this one, of {n}, is reported as well because it is shorter.)",
                k = k.name()
            ))
        ),
    }
}

/// How many transactions a cycle-exists explanation names before it says how many more.
const EXISTS_SHOWN: usize = 8;

/// The anomaly of a cycle-exists finding: which transactions, and why a cycle the model
/// forbids lies among them.
pub(crate) fn exists(history: &TxnHistory<'_>, found: &Exists) -> Anomaly {
    let lines: Vec<usize> = found
        .txns
        .iter()
        .map(|&t| history.txns[t].call_line)
        .collect();
    let shown: Vec<String> = lines
        .iter()
        .take(EXISTS_SHOWN)
        .map(ToString::to_string)
        .collect();
    let list = match lines.len().saturating_sub(EXISTS_SHOWN) {
        0 => match shown.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => shown.join(""),
        },
        more => format!("{}, … ({more} more)", shown.join(", ")),
    };
    let model = found.model;
    let explanation = format!(
        "The {} transactions invoked at lines {list} are strongly connected by {}, so a cycle that {} forbids exists among them, though the search ran out of budget before finding one",
        lines.len(),
        model.relations_text(),
        model.prose()
    );
    Anomaly {
        kind: Kind::CycleExists(model),
        txns: found.txns.clone(),
        lines,
        steps: Vec::new(),
        explanation,
    }
}
