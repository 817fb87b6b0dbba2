//! Convergence and lost writes, one case per fate, each with a near miss.

use checkers::convergence::{Fate, check_convergence};
use checkers::history::{History, Value};

fn report(text: &str) -> checkers::convergence::ConvergenceReport {
    let history = History::from_jsonl(text, "case").unwrap();
    let ops = history.operations("case").unwrap();
    check_convergence(&history, &ops)
}

fn line(p: u64, kind: &str, f: &str, value: &str) -> String {
    format!(
        "{{\"process\":{p},\"type\":\"{kind}\",\"f\":\"{f}\",\"key\":\"x\",\"value\":{value}}}\n"
    )
}

fn op(p: u64, f: &str, value: &str, result: &str) -> String {
    let invoke = if f == "read" { "null" } else { value };
    line(p, "invoke", f, invoke) + &line(p, "ok", f, result)
}

fn ints(values: &[i64]) -> Vec<Value> {
    values.iter().map(|&v| Value::Int(v)).collect()
}

#[test]
fn final_reads_that_disagree_did_not_converge() {
    let bad = op(0, "append", "1", "1") + &op(0, "read", "", "[1]") + &op(1, "read", "", "[]");
    let r = report(&bad);
    assert!(!r.keys[0].converged);
    assert!(
        r.keys[0].problems[0].contains("disagree"),
        "{:?}",
        r.keys[0].problems
    );
    let fine = op(0, "append", "1", "1") + &op(0, "read", "", "[1]") + &op(1, "read", "", "[1]");
    let r = report(&fine);
    assert!(r.keys[0].converged);
    assert!(r.ok());
}

#[test]
fn only_reads_after_every_write_ended_are_final() {
    // The first read is concurrent with the append: not final, so no disagreement.
    let text = line(0, "invoke", "append", "1")
        + &line(1, "invoke", "read", "null")
        + &line(1, "ok", "read", "[]")
        + &line(0, "ok", "append", "1")
        + &op(1, "read", "", "[1]");
    let r = report(&text);
    assert_eq!(r.keys[0].final_reads.len(), 1);
    assert!(r.ok());
}

#[test]
fn an_acknowledged_append_missing_at_the_end_is_lost() {
    let bad = op(0, "append", "1", "1") + &op(1, "append", "2", "2") + &op(0, "read", "", "[2]");
    let r = report(&bad);
    assert_eq!(r.keys[0].elements[&Fate::Lost], ints(&[1]));
    assert_eq!(r.keys[0].elements[&Fate::Stable], ints(&[2]));
    assert!(!r.ok());
}

#[test]
fn info_appends_are_recovered_or_never_read() {
    let text = line(0, "invoke", "append", "1")
        + &line(0, "info", "append", "1")
        + &line(1, "invoke", "append", "2")
        + &line(1, "info", "append", "2")
        + &op(2, "read", "", "[1]")
        + &op(2, "read", "", "[]");
    // A read saw 1, so it happened (recovered); it is not lost, since it was never
    // acknowledged. Nobody saw 2 (never read). Both reads come after every write
    // ended, so both are final, and they disagree.
    let r = report(&text);
    assert_eq!(r.keys[0].elements[&Fate::Recovered], ints(&[1]));
    assert_eq!(r.keys[0].elements[&Fate::NeverRead], ints(&[2]));
    assert!(!r.keys[0].converged);
}

#[test]
fn an_element_nobody_appended_is_unexpected() {
    let bad = op(0, "append", "1", "1") + &op(0, "read", "", "[1,9]");
    let r = report(&bad);
    assert_eq!(r.keys[0].elements[&Fate::Unexpected], ints(&[9]));
    assert!(!r.ok());
}

#[test]
fn lww_overwritten_by_an_older_write_is_a_lost_update() {
    // Write 1 ended before write 2 began, yet the final value is 1: write 2 was lost
    // (its coordinator's clock ran behind).
    let bad = op(0, "write", "1", "1") + &op(1, "write", "2", "2") + &op(2, "read", "", "1");
    let r = report(&bad);
    assert_eq!(r.keys[0].lost_updates.len(), 1);
    assert!(
        r.keys[0].problems[0].contains("ended before it began"),
        "{:?}",
        r.keys[0].problems
    );
    // Concurrent writes: either may win.
    let fine = line(0, "invoke", "write", "1")
        + &line(1, "invoke", "write", "2")
        + &line(1, "ok", "write", "2")
        + &line(0, "ok", "write", "1")
        + &op(2, "read", "", "1");
    let r = report(&fine);
    assert!(r.keys[0].lost_updates.is_empty());
    assert!(r.ok());
}

#[test]
fn reads_marked_final_are_the_final_reads() {
    // Marked final, the read concurrent with the append is final: it disagrees with
    // the later read.
    let marked = |l: String| l.replace("}\n", ",\"final\":true}\n");
    let text = line(0, "invoke", "append", "1")
        + &marked(line(1, "invoke", "read", "null"))
        + &marked(line(1, "ok", "read", "[]"))
        + &line(0, "ok", "append", "1")
        + &marked(op(1, "read", "", "[1]"));
    let r = report(&text);
    assert_eq!(r.keys[0].final_reads.len(), 2);
    assert!(!r.keys[0].converged);
    // Unmarked reads are then not final, even after every write: no disagreement.
    let text =
        op(0, "append", "1", "1") + &marked(op(1, "read", "", "[1]")) + &op(2, "read", "", "[]");
    let r = report(&text);
    assert_eq!(r.keys[0].final_reads.len(), 1);
    assert!(r.ok(), "{:?}", r.keys[0].problems);
    // EDN's :final? marks them too.
    let edn = "{:process 0, :type :invoke, :f :append, :key :x, :value 1}
{:process 0, :type :ok, :f :append, :key :x, :value 1}
{:process 1, :type :invoke, :f :read, :key :x, :value nil, :final? true}
{:process 1, :type :ok, :f :read, :key :x, :value [1], :final? true}
{:process 2, :type :invoke, :f :read, :key :x, :value nil}
{:process 2, :type :ok, :f :read, :key :x, :value []}";
    let history =
        checkers::formats::read_str(edn, checkers::formats::Format::Edn, "h.edn").unwrap();
    assert_eq!(history.finals, vec![2, 3]);
    let r = check_convergence(&history, &history.operations("h.edn").unwrap());
    assert_eq!(r.keys[0].final_reads.len(), 1);
    assert!(r.ok());
}
