//! The dependency-graph engine: Elle's own test histories with Elle's verdicts; every
//! anomaly in a minimal violating form and a near-miss that is fine; property tests
//! (a single copy applied in real-time order is never flagged; small histories agree
//! with a brute-force search for a serial order).

use checkers::elle::read::{Source, check_source, read_str};
use checkers::elle::{Options, Report, TxnHistory, check, check_operations};
use checkers::formats::Format;
use checkers::history::History;

/// Elle's little language for transactions (`elle/list_append_test.clj`): `ax1` appends
/// 1 to x, `rx12` reads x = [1 2], `rx` reads x = [] (nil), `ax1ay1` is a transaction
/// of two micro-operations.
fn mops(text: &str) -> Vec<(char, char, Vec<i64>)> {
    let mut out: Vec<(char, char, Vec<i64>)> = Vec::new();
    for c in text.chars() {
        match c {
            'a' | 'r' => out.push((c, ' ', Vec::new())),
            'x' | 'y' | 'z' | 't' | 'u' => out.last_mut().expect("a mop").1 = c,
            digit => out
                .last_mut()
                .expect("a mop")
                .2
                .push(digit.to_digit(10).expect("a digit") as i64),
        }
    }
    out
}

fn edn_txn(text: &str, completed: bool) -> String {
    let parts: Vec<String> = mops(text)
        .into_iter()
        .map(|(f, k, v)| match f {
            'a' => format!("[:append :{k} {}]", v[0]),
            _ if !completed => format!("[:r :{k} nil]"),
            _ if v.is_empty() => format!("[:r :{k} nil]"),
            _ => format!(
                "[:r :{k} [{}]]",
                v.iter().map(i64::to_string).collect::<Vec<_>>().join(" ")
            ),
        })
        .collect();
    format!("[{}]", parts.join(" "))
}

/// Transactions in Elle's language, each by its own process, all concurrent (every
/// invocation before every completion): no process or real-time order, as in Elle's
/// tests that check data dependencies alone. A leading `!` makes a transaction fail.
fn concurrent(txns: &[&str]) -> TxnHistory<'static> {
    let mut edn = String::new();
    for (p, t) in txns.iter().enumerate() {
        let t = t.trim_start_matches('!');
        edn += &format!(
            "{{:process {p}, :type :invoke, :f :txn, :value {}}}\n",
            edn_txn(t, false)
        );
    }
    for (p, t) in txns.iter().enumerate() {
        let kind = if t.starts_with('!') { "fail" } else { "ok" };
        let t = t.trim_start_matches('!');
        edn += &format!(
            "{{:process {p}, :type :{kind}, :f :txn, :value {}}}\n",
            edn_txn(t, true)
        );
    }
    transactions(&edn)
}

/// Transactions in Elle's language as `(process, txn)`, one after another in real time.
fn sequential(txns: &[(u64, &str)]) -> TxnHistory<'static> {
    let mut edn = String::new();
    for (p, t) in txns {
        edn += &format!(
            "{{:process {p}, :type :invoke, :f :txn, :value {}}}\n",
            edn_txn(t, false)
        );
        edn += &format!(
            "{{:process {p}, :type :ok, :f :txn, :value {}}}\n",
            edn_txn(t, true)
        );
    }
    transactions(&edn)
}

fn transactions(edn: &str) -> TxnHistory<'static> {
    match read_str(edn, Format::Edn, "case.edn").expect("a well-formed history") {
        Source::Transactions(t) => t,
        Source::Operations { .. } => panic!("expected transactions"),
    }
}

fn report(history: &TxnHistory<'_>) -> Report {
    check(history, &Options::default()).expect("a traceable history")
}

fn kinds(report: &Report) -> Vec<String> {
    let mut kinds: Vec<String> = report.anomalies.iter().map(|a| a.kind.name()).collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// The anomaly kinds and the weakest models ruled out, Elle's `:anomaly-types` and
/// `:not`.
fn verdict(history: &TxnHistory<'_>) -> (Vec<String>, Vec<&'static str>) {
    let r = report(history);
    (kinds(&r), r.ruled_out.not.clone())
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

mod elle_verdicts {
    //! Histories from Elle's `test/elle/list_append_test.clj`, with Elle's verdicts.
    use super::*;

    #[test]
    fn g0_write_cycle() {
        let h = concurrent(&["ax1ay1", "ax2ay2", "rx12ry21"]);
        assert_eq!(verdict(&h), (names(&["G0"]), vec!["read-uncommitted"]));
        let r = report(&h);
        assert_eq!(r.anomalies[0].txns, vec![0, 1]);
    }

    #[test]
    fn g1c_circular_information_flow() {
        let h = concurrent(&["ax1ry1", "ax2ay1", "rx12ry1"]);
        assert_eq!(verdict(&h), (names(&["G1c"]), vec!["read-committed"]));
    }

    #[test]
    fn g_single_item() {
        let h = concurrent(&["ax1ay1", "ax2ry", "rx12"]);
        assert_eq!(
            verdict(&h),
            (
                names(&["G-single-item"]),
                vec!["consistent-view", "repeatable-read"]
            )
        );
    }

    #[test]
    fn g2_item_anti_dependency_cycle() {
        let h = concurrent(&["ax1ry", "ay1rx"]);
        assert_eq!(verdict(&h), (names(&["G2-item"]), vec!["repeatable-read"]));
        let r = report(&h);
        assert_eq!(r.anomalies[0].steps.len(), 2);
        assert!(
            r.anomalies[0]
                .explanation
                .contains("read the initial state of key :x"),
            "{}",
            r.anomalies[0].explanation
        );
    }

    #[test]
    fn g1a_aborted_read() {
        let h = concurrent(&["!ax1", "rx1"]);
        // As a single-object history, not sequential either.
        assert_eq!(
            verdict(&h),
            (names(&["G1a"]), vec!["read-committed", "sequential"])
        );
    }

    #[test]
    fn g1b_intermediate_read_is_also_g_single() {
        // Elle: "This is not only G1b, since it has an intermediate read, but also
        // G-single, since rx1 observes ax1 but does not observe ax2!"
        let h = concurrent(&["ax1ax2", "rx1"]);
        assert_eq!(
            verdict(&h),
            (names(&["G-single-item", "G1b"]), vec!["read-committed"])
        );
    }

    #[test]
    fn lost_update_and_its_anti_dependency_cycle() {
        let h = concurrent(&["ax0", "rx0ax1", "rx0ax2"]);
        assert_eq!(
            verdict(&h),
            (
                names(&["G2-item", "lost-update"]),
                vec!["cursor-stability", "ROLA"]
            )
        );
        // One transaction reading and writing twice is not a lost update.
        assert!(report(&concurrent(&["rxax1ax2", "rx12"])).ok());
    }

    #[test]
    fn repeatable_read_g_single_item() {
        let h = concurrent(&["ax1ay1", "rx1ry"]);
        assert_eq!(
            verdict(&h),
            (
                names(&["G-single-item"]),
                vec!["consistent-view", "repeatable-read"]
            )
        );
    }

    #[test]
    fn repeatable_read_g_nonadjacent_item() {
        let h = concurrent(&["ax1at1", "rx1ry", "ay1az2", "rz2rt"]);
        assert_eq!(
            verdict(&h),
            (
                names(&["G-nonadjacent-item"]),
                vec!["repeatable-read", "snapshot-isolation"]
            )
        );
        let r = report(&h);
        assert_eq!(r.anomalies[0].steps.len(), 4);
    }

    #[test]
    fn g_nonadjacent_item_and_a_cycle_that_is_not() {
        let h = concurrent(&["ax1", "rx1ry", "ay1", "ry1rx"]);
        assert_eq!(
            verdict(&h),
            (
                names(&["G-nonadjacent-item"]),
                vec!["repeatable-read", "snapshot-isolation"]
            )
        );
        assert!(
            report(&concurrent(&[
                "rx5ay1", "ryaz2", "rzat3", "rt3au4", "ruax5"
            ]))
            .ok()
        );
    }

    #[test]
    fn unobserved_writes_come_after_the_longest_read() {
        let h = concurrent(&["ax1ay1", "ax2ay2", "ax3ay3", "rx12", "ry2"]);
        assert_eq!(
            verdict(&h),
            (names(&["G-single-item", "G0"]), vec!["read-uncommitted"])
        );
    }

    #[test]
    fn strong_snapshot_isolation_violation() {
        let h = sequential(&[(0, "ax1"), (1, "ax2"), (2, "rx1"), (3, "rx12")]);
        let r = report(&h);
        assert_eq!(kinds(&r), names(&["G-single-item-realtime"]));
        // Elle's :not is #{:strong-snapshot-isolation}; as a single-object history it
        // is not linearizable either.
        assert_eq!(
            r.ruled_out.not,
            ["linearizable", "strong-snapshot-isolation"]
        );
        assert_eq!(r.anomalies[0].txns, vec![1, 2]);
    }

    #[test]
    fn strong_session_snapshot_isolation_violation() {
        let h = sequential(&[(0, "ax1"), (1, "ax2"), (1, "rx1"), (2, "rx12")]);
        let r = report(&h);
        assert_eq!(kinds(&r), names(&["G-single-item-process"]));
        assert_eq!(
            r.ruled_out.not,
            ["sequential", "strong-session-snapshot-isolation"]
        );
    }

    #[test]
    fn g_nonadjacent_item_process() {
        // Tsunaou's history (jepsen-io/elle#17).
        let h = sequential(&[(0, "rxrz1"), (1, "ax1"), (1, "rz"), (2, "az1")]);
        let r = report(&h);
        assert!(
            kinds(&r).contains(&"G-nonadjacent-item-process".to_owned()),
            "{:?}",
            kinds(&r)
        );
        // Elle's test looks for strong-session-SI anomalies only; in real time, T1 also
        // read a write invoked after it had completed (G1c-realtime).
        assert!(kinds(&r).contains(&"G1c-realtime".to_owned()));
        assert_eq!(
            r.ruled_out.not,
            ["strong-read-committed", "strong-session-snapshot-isolation"]
        );
    }

    #[test]
    fn wr_process_g1c_process() {
        // jepsen-io/elle#21.
        let h = sequential(&[(1, "rx1ay1"), (2, "ry1"), (2, "ax1")]);
        let r = report(&h);
        assert_eq!(kinds(&r), names(&["G1c-process"]));
        assert_eq!(r.ruled_out.not, ["strong-session-read-committed"]);
    }

    #[test]
    fn duplicated_elements() {
        // Elle also reports a G1c here, from the order the duplicated read suggests;
        // with an element twice, consim takes no order from that key. The models ruled
        // out are the same.
        let h = concurrent(&["ax1ry1", "ax2ay1", "rx121"]);
        assert_eq!(
            verdict(&h),
            (names(&["duplicate-elements"]), vec!["read-uncommitted"])
        );
    }

    #[test]
    fn contradictory_read_orders() {
        // Elle also reports a G1c through the order of the longest read; consim takes
        // no order from a key whose reads disagree. The models ruled out are the same.
        let h = concurrent(&["ax1ry1", "ax2", "ax3ay1", "rx13", "rx123"]);
        assert_eq!(
            verdict(&h),
            (names(&["incompatible-order"]), vec!["read-committed"])
        );
    }
}

#[test]
fn operations_and_their_source_agree() {
    let text = r#"{"process":0,"type":"invoke","f":"append","key":"x","value":1}
{"process":0,"type":"ok","f":"append","key":"x","value":1}
{"process":0,"type":"invoke","f":"read","key":"x","value":null}
{"process":0,"type":"ok","f":"read","key":"x","value":[]}"#;
    let history = History::from_jsonl(text, "h").unwrap();
    let ops = history.operations("h").unwrap();
    let r = check_operations(&history, &ops, &Options::default()).unwrap();
    assert_eq!(
        kinds(&r),
        names(&["G-single-item-process", "read-your-writes"])
    );
    let source = read_str(text, Format::Auto, "h").unwrap();
    assert_eq!(check_source(&source, &Options::default()).unwrap(), r);
}
