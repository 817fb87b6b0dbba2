//! Hand-written histories, one subtlety each, with verdicts worked out by hand.

use checkers::check::check_history;
use checkers::history::History;
use checkers::linear::{Options, Outcome, Verdict};
use checkers::spec::SpecName;

fn verdict(model: SpecName, text: &str) -> Verdict {
    let history = History::from_jsonl(text, "case").unwrap();
    check_history(history, "case", Some(model), &Options::default())
        .unwrap()
        .report
        .verdict()
}

const REG: SpecName = SpecName::CasRegister;

/// The violation the single key of `text` has, and the configurations its search
/// entered; panics if it has none.
fn violation(model: SpecName, text: &str) -> (checkers::linear::Violation, u64) {
    let history = History::from_jsonl(text, "case").unwrap();
    let checked = check_history(history, "case", Some(model), &Options::default()).unwrap();
    let key = &checked.report.keys[0];
    let Outcome::Violation(v) = &key.outcome else {
        panic!("expected a violation, got {:?}", key.outcome);
    };
    (*v.clone(), key.explored)
}

#[test]
fn sequential_write_then_read_is_ok() {
    let h = r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"ok","f":"write","value":1}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"read","value":1}"#;
    assert_eq!(verdict(REG, h), Verdict::Ok);
}

#[test]
fn a_read_of_the_initial_value_after_a_completed_write_is_stale() {
    let h = r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"ok","f":"write","value":1}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"read","value":null}"#;
    assert_eq!(verdict(REG, h), Verdict::Violation);
}

#[test]
fn a_read_of_the_initial_value_concurrent_with_the_write_is_ok() {
    let h = r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"read","value":null}
{"process":0,"type":"ok","f":"write","value":1}"#;
    assert_eq!(verdict(REG, h), Verdict::Ok);
}

#[test]
fn an_info_write_that_must_have_happened() {
    // Nobody else wrote 2, so the read of 2 proves the info write took effect.
    let h = r#"{"process":0,"type":"invoke","f":"write","value":2}
{"process":0,"type":"info","f":"write","value":2}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"read","value":2}"#;
    assert_eq!(verdict(REG, h), Verdict::Ok);
}

#[test]
fn an_info_write_that_must_not_have_happened() {
    // The info write of 2 may never have happened: reads of nil after it are fine.
    let h = r#"{"process":0,"type":"invoke","f":"write","value":2}
{"process":0,"type":"info","f":"write","value":2}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"read","value":null}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"read","value":null}"#;
    assert_eq!(verdict(REG, h), Verdict::Ok);
}

#[test]
fn an_info_write_cannot_take_effect_before_it_was_invoked() {
    let h = r#"{"process":1,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"read","value":2}
{"process":0,"type":"invoke","f":"write","value":2}
{"process":0,"type":"info","f":"write","value":2}"#;
    assert_eq!(verdict(REG, h), Verdict::Violation);
}

#[test]
fn an_info_write_that_happened_cannot_be_undone() {
    // Read 2 proves the info write happened; a later read of nil then is stale.
    let h = r#"{"process":0,"type":"invoke","f":"write","value":2}
{"process":0,"type":"info","f":"write","value":2}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"read","value":2}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"read","value":null}"#;
    assert_eq!(verdict(REG, h), Verdict::Violation);
}

#[test]
fn a_failed_cas_did_not_happen() {
    let h = r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"ok","f":"write","value":1}
{"process":1,"type":"invoke","f":"cas","value":[1,5]}
{"process":1,"type":"fail","f":"cas","value":[1,5]}
{"process":2,"type":"invoke","f":"read","value":null}
{"process":2,"type":"ok","f":"read","value":1}"#;
    assert_eq!(verdict(REG, h), Verdict::Ok);
}

#[test]
fn a_successful_cas_needs_its_expected_value() {
    let h = r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"ok","f":"write","value":1}
{"process":1,"type":"invoke","f":"cas","value":[2,5]}
{"process":1,"type":"ok","f":"cas","value":[2,5]}"#;
    assert_eq!(verdict(REG, h), Verdict::Violation);
}

#[test]
fn equal_timestamps_are_concurrent_and_order_is_by_position() {
    // Both operations carry the same times: overlapping, either order is allowed.
    let h = r#"{"process":0,"type":"invoke","f":"write","value":1,"time":10}
{"process":1,"type":"invoke","f":"read","value":null,"time":10}
{"process":0,"type":"ok","f":"write","value":1,"time":20}
{"process":1,"type":"ok","f":"read","value":null,"time":20}"#;
    assert_eq!(verdict(REG, h), Verdict::Ok);
}

#[test]
fn every_bad_key_is_reported_not_just_the_first() {
    let h = r#"{"process":0,"type":"invoke","f":"write","key":"a","value":1}
{"process":0,"type":"ok","f":"write","key":"a","value":1}
{"process":1,"type":"invoke","f":"read","key":"a","value":null}
{"process":1,"type":"ok","f":"read","key":"a","value":null}
{"process":0,"type":"invoke","f":"write","key":"b","value":1}
{"process":0,"type":"ok","f":"write","key":"b","value":1}
{"process":1,"type":"invoke","f":"read","key":"b","value":1}
{"process":1,"type":"ok","f":"read","key":"b","value":1}
{"process":0,"type":"invoke","f":"write","key":"c","value":1}
{"process":0,"type":"ok","f":"write","key":"c","value":1}
{"process":1,"type":"invoke","f":"read","key":"c","value":null}
{"process":1,"type":"ok","f":"read","key":"c","value":null}"#;
    let history = History::from_jsonl(h, "case").unwrap();
    let checked = check_history(history, "case", Some(SpecName::Kv), &Options::default()).unwrap();
    let bad: Vec<String> = checked
        .report
        .keys_violated()
        .into_iter()
        .map(|k| k.unwrap().to_string())
        .collect();
    assert_eq!(bad, vec!["\"a\"", "\"c\""]);
}

#[test]
fn the_violation_says_why_in_one_sentence() {
    let h = r#"{"process":2,"type":"invoke","f":"write","value":4,"time":1000000}
{"process":2,"type":"ok","f":"write","value":4,"time":2000000}
{"process":1,"type":"invoke","f":"read","value":null,"time":12000000}
{"process":1,"type":"ok","f":"read","value":3,"time":12300000}"#;
    let history = History::from_jsonl(h, "case").unwrap();
    let checked = check_history(history, "case", Some(REG), &Options::default()).unwrap();
    let Outcome::Violation(v) = &checked.report.keys[0].outcome else {
        panic!("expected a violation");
    };
    // No write or cas of 3 exists, so the read is doomed before anything is
    // linearized: the search stops at the empty prefix and says so.
    assert_eq!(v.prefix, Vec::<usize>::new(), "doomed from the start");
    assert_eq!(v.state, "the register holds nothing (nil)");
    assert_eq!(
        v.sentence,
        "process 1 between 12.000 ms and 12.300 ms (line 3): read 3, but the register \
         holds nothing (nil); no write or cas that could leave that value is left"
    );
}

#[test]
fn a_violation_after_a_write_names_the_write() {
    // A write of 3 exists, so the read of 3 is not doomed at once; after write 4 it
    // cannot happen.
    let h = r#"{"process":0,"type":"invoke","f":"write","value":3,"time":500000}
{"process":0,"type":"ok","f":"write","value":3,"time":800000}
{"process":2,"type":"invoke","f":"write","value":4,"time":1000000}
{"process":2,"type":"ok","f":"write","value":4,"time":2000000}
{"process":1,"type":"invoke","f":"read","value":null,"time":12000000}
{"process":1,"type":"ok","f":"read","value":3,"time":12300000}"#;
    let history = History::from_jsonl(h, "case").unwrap();
    let checked = check_history(history, "case", Some(REG), &Options::default()).unwrap();
    let Outcome::Violation(v) = &checked.report.keys[0].outcome else {
        panic!("expected a violation");
    };
    assert_eq!(v.prefix, vec![0, 1], "both writes are the longest prefix");
    assert_eq!(v.state, "the register holds 4");
    assert!(
        v.sentence
            .starts_with("process 1 between 12.000 ms and 12.300 ms (line 5): read 3"),
        "{}",
        v.sentence
    );
    assert!(
        v.sentence
            .contains("read 3, but the register holds 4 after write 4 by process 2"),
        "{}",
        v.sentence
    );
    assert!(v.sentence.contains("2.000 ms"), "{}", v.sentence);
}

#[test]
fn a_linearizable_history_has_a_witness_order() {
    let h = r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":1,"type":"invoke","f":"write","value":2}
{"process":1,"type":"ok","f":"write","value":2}
{"process":0,"type":"ok","f":"write","value":1}
{"process":2,"type":"invoke","f":"read","value":null}
{"process":2,"type":"ok","f":"read","value":1}"#;
    let history = History::from_jsonl(h, "case").unwrap();
    let checked = check_history(history, "case", Some(REG), &Options::default()).unwrap();
    let Outcome::Linearizable { order, .. } = &checked.report.keys[0].outcome else {
        panic!("expected ok");
    };
    assert_eq!(order, &vec![1, 0, 2], "write 2, then write 1, then read 1");
}

#[test]
fn a_tiny_budget_gives_unknown_not_a_verdict() {
    // Linearizable by construction, and its search enters tens of thousands of
    // configurations (more than the 1,024 between two budget checks).
    let shape = checkers::synth::Shape::jepsen(30, 10_000, 2);
    let history = checkers::synth::cas_register(&shape);
    let tight = Options {
        max_memory_bytes: 1,
        threads: 1,
        ..Options::default()
    };
    let checked = check_history(history.clone(), "c", Some(SpecName::CasRegister), &tight).unwrap();
    assert_eq!(checked.report.verdict(), Verdict::Unknown);
    let Outcome::Unknown { reason } = &checked.report.keys[0].outcome else {
        panic!("expected unknown: {:?}", checked.report.keys[0].outcome);
    };
    assert!(reason.contains("memory budget"), "{reason}");
    // With the default budget the same history is decided, and linearizable.
    let decided = check_history(
        history,
        "c",
        Some(SpecName::CasRegister),
        &Options::default(),
    );
    assert_eq!(decided.unwrap().report.verdict(), Verdict::Ok);
}

fn kv_verdict(text: &str) -> Verdict {
    let history =
        checkers::formats::read_str(text, checkers::formats::Format::PorcupineKv, "kv").unwrap();
    check_history(history, "kv", Some(SpecName::Kv), &Options::default())
        .unwrap()
        .report
        .verdict()
}

/// The shape of the violation in key 0 of Porcupine's c50-bad: a read returns the
/// initial empty string after an append completed, and no put of "" exists.
#[test]
fn a_late_read_of_the_initial_empty_string_is_a_violation() {
    let bad = r#"{:process 0, :type :invoke, :f :append, :key "0", :value "a"}
{:process 0, :type :ok, :f :append, :key "0", :value "a"}
{:process 1, :type :invoke, :f :get, :key "0", :value nil}
{:process 1, :type :ok, :f :get, :key "0", :value ""}"#;
    assert_eq!(kv_verdict(bad), Verdict::Violation);
    let concurrent = r#"{:process 0, :type :invoke, :f :append, :key "0", :value "a"}
{:process 1, :type :invoke, :f :get, :key "0", :value nil}
{:process 0, :type :ok, :f :append, :key "0", :value "a"}
{:process 1, :type :ok, :f :get, :key "0", :value ""}"#;
    assert_eq!(kv_verdict(concurrent), Verdict::Ok);
    let reset = r#"{:process 0, :type :invoke, :f :append, :key "0", :value "a"}
{:process 0, :type :ok, :f :append, :key "0", :value "a"}
{:process 2, :type :invoke, :f :put, :key "0", :value ""}
{:process 1, :type :invoke, :f :get, :key "0", :value nil}
{:process 1, :type :ok, :f :get, :key "0", :value ""}
{:process 2, :type :ok, :f :put, :key "0", :value ""}"#;
    assert_eq!(
        kv_verdict(reset),
        Verdict::Ok,
        "a concurrent put of \"\" can reset it"
    );
}

/// Regressions from a review of the pruning rules: each history is linearizable, and
/// an earlier version of the checker called it a violation.
#[test]
fn review_regressions_are_linearizable() {
    let guessed = |text: &str| {
        let history = History::from_jsonl(text, "case").unwrap();
        check_history(history, "case", None, &Options::default())
            .unwrap()
            .report
            .verdict()
    };
    // Appending "" to nil gives "": nil grows into the empty string.
    let empty_append = r#"{"process":0,"type":"invoke","f":"append","value":""}
{"process":0,"type":"ok","f":"append","value":""}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"read","value":""}"#;
    assert_eq!(guessed(empty_append), Verdict::Ok);
    // A read of nil observes an unknown write of nil: it must not be dropped.
    let nil_write = r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"ok","f":"write","value":1}
{"process":1,"type":"invoke","f":"write","value":null}
{"process":1,"type":"info","f":"write","value":null}
{"process":2,"type":"invoke","f":"read","value":null}
{"process":2,"type":"ok","f":"read","value":null}"#;
    assert_eq!(guessed(nil_write), Verdict::Ok);
    // A read of [1,2] observes an unknown write of [1,2].
    let list_write = r#"{"process":0,"type":"invoke","f":"write","value":[1,2]}
{"process":0,"type":"info","f":"write","value":[1,2]}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"read","value":[1,2]}"#;
    assert_eq!(guessed(list_write), Verdict::Ok);
    // An append of "y" needs the unknown write of "x" (appending to 5 is impossible).
    let needed_write = r#"{"process":0,"type":"invoke","f":"write","value":5}
{"process":0,"type":"ok","f":"write","value":5}
{"process":1,"type":"invoke","f":"write","value":"x"}
{"process":1,"type":"info","f":"write","value":"x"}
{"process":0,"type":"invoke","f":"append","value":"y"}
{"process":0,"type":"ok","f":"append","value":"y"}"#;
    assert_eq!(guessed(needed_write), Verdict::Ok);
}

/// A key real time alone proves not linearizable (a stale read on a register whose
/// values repeat) is reported violated even when the search runs out of its budget;
/// with budget enough, the search's own explanation comes first.
#[test]
fn a_stale_read_decides_a_key_the_search_cannot() {
    let shape = checkers::synth::Shape {
        violation: true,
        ..checkers::synth::Shape::jepsen(5, 300, 3)
    };
    let history = checkers::synth::cas_register(&shape);
    let starved = Options {
        first_attempt_configs: 0,
        proven_search_configs: 0,
        ..Options::default()
    };
    let checked =
        check_history(history.clone(), "h", Some(SpecName::CasRegister), &starved).unwrap();
    let Outcome::Violation(v) = &checked.report.keys[0].outcome else {
        panic!(
            "expected a violation, got {:?}",
            checked.report.keys[0].outcome
        );
    };
    assert!(v.without_search);
    assert!(v.prefix.is_empty() && v.candidates.is_empty());
    assert!(
        v.sentence.starts_with(
            "the search ran out of its budget, but real time alone proves it: stale-read: process"
        ),
        "{}",
        v.sentence
    );
    let searched = check_history(
        history,
        "h",
        Some(SpecName::CasRegister),
        &Options::default(),
    )
    .unwrap();
    let Outcome::Violation(v) = &searched.report.keys[0].outcome else {
        panic!("expected a violation");
    };
    assert!(
        !v.without_search,
        "the search finishes on 300 operations: {}",
        v.sentence
    );
}

/// The search's effort on Jepsen-scale cas-register histories (60 processes, 10,000
/// operations, 3 % crashed clients), pinned: a change to the search that alters how
/// many configurations it enters on them fails here, deliberately. Searching in the
/// order of return as well as of invocation took the first of these from the 60 s
/// time budget (`unknown`, 22 M configurations, by invocation alone) to thousands;
/// counting the resets each cas needs (`Search::starved`) took the last from the
/// 60 s budget (`unknown`, 18 M configurations) to these counts.
#[test]
fn high_concurrency_linearizable_histories_are_decided_with_pinned_effort() {
    let mut entered = Vec::new();
    for (processes, seed) in [(60, 1), (60, 2), (30, 2), (30, 10), (60, 11)] {
        let shape = checkers::synth::Shape::jepsen(processes, 10_000, seed);
        let history = checkers::synth::cas_register(&shape);
        let options = Options {
            threads: 1,
            ..Options::default()
        };
        let checked = check_history(history, "h", Some(SpecName::CasRegister), &options).unwrap();
        assert_eq!(checked.report.verdict(), Verdict::Ok, "{shape:?}");
        entered.push(checked.report.keys[0].explored);
    }
    assert_eq!(entered, [7_277, 7_168, 7_600, 110_125, 7_274]);
}

/// Two cas from 4 after one write of 4: each needs the register to hold 4, and the
/// first leaves 1, so the second needs a reset to 4 that nothing left can make. The
/// search sees it right after the write (two stretches of 4 needed, one there), and
/// the explanation says so.
#[test]
fn two_cas_from_one_write_need_a_reset_nothing_makes() {
    let h = r#"{"process":0,"type":"invoke","f":"write","value":4}
{"process":0,"type":"ok","f":"write","value":4}
{"process":1,"type":"invoke","f":"cas","value":[4,1]}
{"process":2,"type":"invoke","f":"cas","value":[4,1]}
{"process":1,"type":"ok","f":"cas","value":[4,1]}
{"process":2,"type":"ok","f":"cas","value":[4,1]}"#;
    let (v, explored) = violation(REG, h);
    assert_eq!(v.prefix, [0], "{v:?}");
    assert_eq!(v.blocking, Some(2), "{v:?}");
    assert!(
        v.sentence.starts_with(
            "process 2 (line 4): cas 4→1 needs 4 before it returns, which takes one more reset to it (a cas that needs it ends what one made), and no operation left that was invoked before it returns could make one"
        ),
        "{}",
        v.sentence
    );
    // The empty configuration and the one after the write; neither cas is tried.
    assert_eq!(explored, 2);
}

/// The same on a key-value store, where a cas from a string that already grows into
/// the value it needs resets nothing: two cas from "ab" after one write of "ab" need a
/// reset nothing left can make, seen right after the write.
#[test]
fn two_kv_cas_from_one_write_need_a_reset_nothing_makes() {
    let h = r#"{"process":0,"type":"invoke","f":"write","value":"ab"}
{"process":0,"type":"ok","f":"write","value":"ab"}
{"process":1,"type":"invoke","f":"cas","value":["ab","c"]}
{"process":2,"type":"invoke","f":"cas","value":["ab","c"]}
{"process":3,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"cas","value":["ab","c"]}
{"process":2,"type":"ok","f":"cas","value":["ab","c"]}
{"process":3,"type":"ok","f":"read","value":"c"}"#;
    let (v, explored) = violation(SpecName::Kv, h);
    assert!(
        v.sentence
            .contains("needs \"ab\" before it returns, which takes one more reset to it"),
        "{}",
        v.sentence
    );
    assert_eq!(explored, 2);
}
