//! Anomalies a list-append history shows outright: each in a minimal form and a near
//! miss.

use checkers::anomalies::{Found, Kind, list_append_anomalies};
use checkers::history::{History, Operation};

/// The kinds `check` finds in the JSONL history `text`.
pub(crate) fn kinds_by(check: fn(&History, &[Operation]) -> Vec<Found>, text: &str) -> Vec<Kind> {
    let history = History::from_jsonl(text, "case").unwrap();
    let ops = history.operations("case").unwrap();
    check(&history, &ops).into_iter().map(|f| f.kind).collect()
}

fn kinds(text: &str) -> Vec<Kind> {
    kinds_by(list_append_anomalies, text)
}

/// One JSONL event on key "x".
pub(crate) fn line(p: u64, kind: &str, f: &str, value: &str) -> String {
    format!(
        "{{\"process\":{p},\"type\":\"{kind}\",\"f\":\"{f}\",\"key\":\"x\",\"value\":{value}}}\n"
    )
}

fn append(p: u64, v: i64, outcome: &str) -> String {
    line(p, "invoke", "append", &v.to_string()) + &line(p, outcome, "append", &v.to_string())
}

fn read(p: u64, list: &str) -> String {
    line(p, "invoke", "read", "null") + &line(p, "ok", "read", list)
}

#[test]
fn garbage_read() {
    assert_eq!(
        kinds(&(append(0, 1, "ok") + &read(1, "[1,7]"))),
        vec![Kind::GarbageRead]
    );
    assert_eq!(kinds(&(append(0, 1, "ok") + &read(1, "[1]"))), vec![]);
}

#[test]
fn aborted_read_is_g1a() {
    assert_eq!(
        kinds(&(append(0, 1, "fail") + &read(1, "[1]"))),
        vec![Kind::AbortedRead]
    );
    // An info append may have happened: reading it is fine.
    assert_eq!(kinds(&(append(0, 1, "info") + &read(1, "[1]"))), vec![]);
}

#[test]
fn duplicate_elements() {
    assert_eq!(
        kinds(&(append(0, 1, "ok") + &read(1, "[1,1]"))),
        vec![Kind::DuplicateElements]
    );
}

#[test]
fn incompatible_order() {
    let bad = append(0, 1, "ok") + &append(1, 2, "ok") + &read(2, "[1,2]") + &read(3, "[2,1]");
    assert_eq!(kinds(&bad), vec![Kind::IncompatibleOrder]);
    let fine = append(0, 1, "ok") + &append(1, 2, "ok") + &read(2, "[2]") + &read(3, "[2,1]");
    assert_eq!(kinds(&fine), vec![]);
}
