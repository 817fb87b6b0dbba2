//! Effects per intent: how many times each append took effect, counted from the reads.
//!
//! In a list-append history every append is one *intent*: a payment a user meant to
//! make once, whatever the client did to get it through (a retry after a timeout, a
//! double-click that sent it twice). Its element, unique among its key's appends,
//! names it. A read of the key is a snapshot of the list, so the number of times the
//! element occurs in it is the number of times the intent had taken effect by then; the
//! most any read shows is a lower bound on the intent's effects, exact at a read of a
//! quiet system (consim's final reads).
//!
//! **no duplicate effects**: no read shows an intent's element more than once. A read
//! that does is the anomaly `duplicate-elements` ([`crate::anomalies`]); this check
//! turns it round, from the read to the append, and counts. With no
//! lost writes (every acknowledged append is in the final state,
//! [`crate::convergence`]) that is *exactly once in effect*, what idempotency keys are
//! for: a request that reaches the server twice is applied once.
//!
//! What it cannot count, it says: a register's writes overwrite one another and leave
//! no count behind, and two appends of one element to one key cannot be told apart.
//! An element a read holds that no append wrote is not an intent's effect; convergence
//! reports it (`unexpected`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::history::{Function, History, Operation, Value};
use crate::shared::{by_key, op_text};

/// Why effects cannot be counted in a history.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Uncountable {
    /// No appends: writes to a register overwrite one another.
    #[error(
        "the history has no appends: a register's writes overwrite one another, so reads cannot count how many times each took effect (run the list-append workload)"
    )]
    NoAppends,
    /// Two appends of one element to one key.
    #[error("{first} and {second} append the same element: their effects cannot be told apart")]
    SharedElement {
        /// The first append, in words.
        first: String,
        /// The second.
        second: String,
    },
}

/// An intent that took effect more than once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    /// The append (an index into the checked operations).
    pub append: usize,
    /// The read that holds its element most often.
    pub read: usize,
    /// How many times that read holds it.
    pub effects: usize,
    /// The two, in words: who appended what, and where the read holds it.
    pub explanation: String,
}

/// Every intent's effects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EffectsReport {
    /// The appends checked (every append that did not fail).
    pub intents: usize,
    /// Intents by the most times any read holds their element: effects → intents (0:
    /// no read saw it).
    pub by_effects: BTreeMap<usize, usize>,
    /// The intents some read holds more than once, in history order.
    pub duplicated: Vec<Duplicate>,
}

impl EffectsReport {
    /// Whether no intent took effect more than once.
    pub fn ok(&self) -> bool {
        self.duplicated.is_empty()
    }

    /// `2 of 200 appends took effect more than once (198 at most once, 1 twice, 1 3 times)`.
    pub fn summary(&self) -> String {
        let once: usize = self.by_effects.range(..2).map(|(_, n)| n).sum();
        let more: Vec<String> = self
            .by_effects
            .range(2..)
            .map(|(&effects, n)| match effects {
                2 => format!("{n} twice"),
                _ => format!("{n} {effects} times"),
            })
            .collect();
        format!(
            "{} of {} appends took effect more than once ({once} at most once, {})",
            self.duplicated.len(),
            self.intents,
            more.join(", ")
        )
    }
}

/// Counts every append's effects in `ops` (from [`History::operations`]).
///
/// ```
/// use checkers::effects::check_effects;
/// use checkers::history::History;
/// // One payment of 7, applied twice (a double-click without an idempotency key).
/// let text = r#"{"process":0,"type":"invoke","f":"append","key":"x","value":7}
/// {"process":0,"type":"ok","f":"append","key":"x","value":7}
/// {"process":1,"type":"invoke","f":"read","key":"x","value":null}
/// {"process":1,"type":"ok","f":"read","key":"x","value":[7,7]}"#;
/// let history = History::from_jsonl(text, "h")?;
/// let report = check_effects(&history, &history.operations("h")?).unwrap();
/// assert_eq!(report.duplicated[0].effects, 2);
/// assert!(report.duplicated[0].explanation.contains("at positions 1 and 2"));
/// # Ok::<(), checkers::history::HistoryError>(())
/// ```
pub fn check_effects(history: &History, ops: &[Operation]) -> Result<EffectsReport, Uncountable> {
    if !ops.iter().any(|o| o.f == Function::Append) {
        return Err(Uncountable::NoAppends);
    }
    let mut report = EffectsReport::default();
    for indices in by_key(ops).values() {
        count_key(history, ops, indices, &mut report)?;
    }
    report.duplicated.sort_by_key(|d| ops[d.append].call);
    Ok(report)
}

/// What one read-by-read count knows of an append.
struct Intent {
    /// The append.
    append: usize,
    /// The most times one read holds its element.
    most: usize,
    /// The first read that holds it that many times.
    read: Option<usize>,
    /// The read being scanned, and how many times it held the element so far.
    scanning: (usize, usize),
}

/// Counts the effects of one key's appends into `report`.
fn count_key(
    history: &History,
    ops: &[Operation],
    indices: &[usize],
    report: &mut EffectsReport,
) -> Result<(), Uncountable> {
    // Element → its append, the most times one read holds it and that read (the
    // first to hold it that often), and the count so far in the read being scanned:
    // sorted by element, looked up by binary search (a read's every element is).
    let mut intents = intents_of(history, ops, indices)?;
    for &r in indices.iter().filter(|&&i| ops[i].f == Function::Read) {
        let Some(Value::List(list)) = &ops[r].output else {
            continue;
        };
        // One pass over the list: each element's count in this read grows one by one,
        // and the first read to reach a count is the one kept for it.
        for element in list {
            let Ok(at) = intents.binary_search_by(|(e, _)| (*e).cmp(element)) else {
                continue;
            };
            let intent = &mut intents[at].1;
            let seen = match intent.scanning {
                (read, seen) if read == r => seen + 1,
                _ => 1,
            };
            intent.scanning = (r, seen);
            if seen > intent.most {
                (intent.most, intent.read) = (seen, Some(r));
            }
        }
    }
    report.intents += intents.len();
    for (element, intent) in intents {
        let (append, effects, read) = (intent.append, intent.most, intent.read);
        *report.by_effects.entry(effects).or_default() += 1;
        if let Some(read) = read.filter(|_| effects > 1) {
            report.duplicated.push(Duplicate {
                append,
                read,
                effects,
                explanation: explain(history, ops, (append, read), element),
            });
        }
    }
    Ok(())
}

/// The appends of one key (`indices`), as intents sorted by element; an error if two
/// append one element (the first such pair in `indices`' order: the pair whose second
/// append comes first).
fn intents_of<'o>(
    history: &History,
    ops: &'o [Operation],
    indices: &[usize],
) -> Result<Vec<(&'o Value, Intent)>, Uncountable> {
    let mut intents: Vec<(&Value, Intent)> = indices
        .iter()
        .filter(|&&i| ops[i].f == Function::Append)
        .map(|&i| {
            let intent = Intent {
                append: i,
                most: 0,
                read: None,
                scanning: (usize::MAX, 0),
            };
            (&ops[i].input, intent)
        })
        .collect();
    // Stable: the appends of one element stay in `indices`' order.
    intents.sort_by_key(|(element, _)| *element);
    let position = |op: usize| indices.iter().position(|&i| i == op);
    let shared = intents
        .windows(2)
        .filter(|pair| pair[0].0 == pair[1].0)
        .map(|pair| (pair[0].1.append, pair[1].1.append))
        .min_by_key(|&(_, second)| position(second));
    match shared {
        Some((first, second)) => Err(Uncountable::SharedElement {
            first: op_text(history, &ops[first]),
            second: op_text(history, &ops[second]),
        }),
        None => Ok(intents),
    }
}

/// `process 0 append 7 … took effect 2 times: process 1 read … holds 7 at positions 1
/// and 2 (of 2)`.
fn explain(
    history: &History,
    ops: &[Operation],
    (append, read): (usize, usize),
    element: &Value,
) -> String {
    let Some(Value::List(list)) = &ops[read].output else {
        unreachable!("a duplicate is found in a read of a list")
    };
    let positions: Vec<String> = list
        .iter()
        .enumerate()
        .filter(|(_, e)| *e == element)
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    let (last, rest) = positions.split_last().expect("at least two positions");
    format!(
        "{} took effect {} times: {} holds {element} at positions {} and {last} (of {})",
        op_text(history, &ops[append]),
        positions.len(),
        op_text(history, &ops[read]),
        rest.join(", "),
        list.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<EffectsReport, Uncountable> {
        let history = History::from_jsonl(text, "h").unwrap();
        check_effects(&history, &history.operations("h").unwrap())
    }

    const APPENDS: &str = r#"{"process":0,"type":"invoke","f":"append","key":"x","value":1}
{"process":0,"type":"ok","f":"append","key":"x","value":1}
{"process":1,"type":"invoke","f":"append","key":"x","value":2}
{"process":1,"type":"info","f":"append","key":"x","value":2}
{"process":2,"type":"invoke","f":"append","key":"y","value":1}
{"process":2,"type":"ok","f":"append","key":"y","value":1}
"#;

    fn with_read(key: &str, list: &str) -> String {
        format!(
            "{APPENDS}{{\"process\":3,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"{key}\",\"value\":null}}\n{{\"process\":3,\"type\":\"ok\",\"f\":\"read\",\"key\":\"{key}\",\"value\":{list}}}"
        )
    }

    #[test]
    fn each_element_once_is_ok_and_counted() {
        let report = check(&with_read("x", "[1,2]")).unwrap();
        assert!(report.ok());
        assert_eq!(report.intents, 3);
        // y's append: no read of y saw it.
        assert_eq!(report.by_effects, BTreeMap::from([(0, 1), (1, 2)]));
    }

    #[test]
    fn an_element_read_three_times_took_effect_three_times() {
        let report = check(&with_read("x", "[1,2,1,1]")).unwrap();
        assert_eq!(report.duplicated.len(), 1, "{report:?}");
        let d = &report.duplicated[0];
        assert_eq!(d.effects, 3);
        assert!(
            d.explanation.starts_with("process 0 append 1")
                && d.explanation.contains("took effect 3 times")
                && d.explanation
                    .contains("holds 1 at positions 1, 3 and 4 (of 4)"),
            "{}",
            d.explanation
        );
        assert_eq!(
            report.summary(),
            "1 of 3 appends took effect more than once (2 at most once, 1 3 times)"
        );
    }

    /// The witness is the first read that holds the element most often: later reads
    /// holding it as often, or less, do not replace it.
    #[test]
    fn the_witness_is_the_first_read_holding_the_element_most_often() {
        let read = |process: u32, list: &str| {
            format!(
                "{{\"process\":{process},\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\",\"value\":null}}\n{{\"process\":{process},\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":{list}}}\n"
            )
        };
        let text = format!(
            "{APPENDS}{}{}{}{}",
            read(3, "[1,1]"),
            read(4, "[1,2,1,1]"),
            read(5, "[1,1,1]"),
            read(6, "[1,2]")
        );
        let report = check(&text).unwrap();
        assert_eq!(report.duplicated.len(), 1, "{report:?}");
        let d = &report.duplicated[0];
        assert_eq!(d.effects, 3);
        let history = History::from_jsonl(&text, "h").unwrap();
        let ops = history.operations("h").unwrap();
        assert_eq!(ops[d.read].process, 4, "{:?}", ops[d.read]);
    }

    #[test]
    fn an_info_append_applied_twice_is_a_duplicate_too() {
        let report = check(&with_read("x", "[2,1,2]")).unwrap();
        assert_eq!(report.duplicated[0].effects, 2);
        assert!(
            report.duplicated[0]
                .explanation
                .starts_with("process 1 append 2")
        );
    }

    /// The near miss: the same element twice, but in reads of different keys, or an
    /// element no append wrote, repeated.
    #[test]
    fn the_same_element_under_two_keys_or_an_unwritten_one_is_no_duplicate() {
        let text = format!(
            "{}\n{{\"process\":4,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"y\",\"value\":null}}\n{{\"process\":4,\"type\":\"ok\",\"f\":\"read\",\"key\":\"y\",\"value\":[1,9,9]}}",
            with_read("x", "[1]")
        );
        let report = check(&text).unwrap();
        assert!(report.ok(), "{report:?}");
        assert_eq!(report.by_effects, BTreeMap::from([(0, 1), (1, 2)]));
    }

    /// The near miss of counting: two reads that each hold the element once are one
    /// effect seen twice, not two effects.
    #[test]
    fn two_reads_each_holding_an_element_once_count_one_effect() {
        let text = format!(
            "{}\n{{\"process\":4,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\",\"value\":null}}\n{{\"process\":4,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":[1,2]}}",
            with_read("x", "[1]")
        );
        let report = check(&text).unwrap();
        assert!(report.ok(), "{report:?}");
        assert_eq!(report.by_effects.get(&1), Some(&2));
    }

    #[test]
    fn what_cannot_be_counted_is_said() {
        let registers = r#"{"process":0,"type":"invoke","f":"write","key":"x","value":1}
{"process":0,"type":"ok","f":"write","key":"x","value":1}"#;
        assert_eq!(check(registers), Err(Uncountable::NoAppends));
        let twice = format!(
            "{APPENDS}{{\"process\":5,\"type\":\"invoke\",\"f\":\"append\",\"key\":\"x\",\"value\":1}}"
        );
        let Err(Uncountable::SharedElement { first, second }) = check(&twice) else {
            panic!("two appends of 1 to x");
        };
        assert!(first.starts_with("process 0") && second.starts_with("process 5"));
    }
}
