//! Elle's published histories (`shared/histories/elle`, see its README): each reads,
//! every transaction has the line its op map starts on, and each gets the verdict its
//! README states.

use std::path::PathBuf;

use checkers::elle::read::{Source, read_file};
use checkers::elle::{Options, Report, TxnHistory, check};
use checkers::formats::Format;

fn path(file: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/histories/elle");
    assert!(
        dir.join("README.md").exists(),
        "Elle's histories are missing at {}: CI lays shared/ beside the clone",
        dir.display()
    );
    dir.join(file)
}

fn transactions(file: &str) -> TxnHistory<'static> {
    match read_file(&path(file), Format::Auto) {
        Ok(Source::Transactions(t)) => t,
        Ok(Source::Operations { .. }) => panic!("{file}: read as single operations"),
        Err(e) => panic!("{file}: {e}"),
    }
}

/// The op map on 1-based `line` of `file`, which must start at its first column.
fn op_line(lines: &[&str], line: usize) -> String {
    let text = lines[line - 1];
    assert!(
        text.starts_with('{'),
        "line {line} is not an op map: {text}"
    );
    text.to_owned()
}

/// Every transaction's invocation and completion are the op maps on its lines: of the
/// right type, and by its process.
fn assert_lines_are_op_maps(file: &str, history: &TxnHistory<'_>) {
    let text = std::fs::read_to_string(path(file)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for txn in &history.txns {
        let call = op_line(&lines, txn.call_line);
        assert!(
            call.contains(":type :invoke"),
            "{file}:{}: {call}",
            txn.call_line
        );
        if let Some(process) = txn.process {
            assert!(call.contains(&format!(":process {process},")), "{call}");
        }
        if let Some(ret_line) = txn.ret_line {
            let ret = op_line(&lines, ret_line);
            assert!(ret.contains(":type :ok"), "{file}:{ret_line}: {ret}");
            assert!(ret_line > txn.call_line);
        }
    }
    for aborted in &history.aborted {
        let fail = op_line(&lines, aborted.line);
        assert!(
            fail.contains(":type :fail"),
            "{file}:{}: {fail}",
            aborted.line
        );
    }
}

fn report(history: &TxnHistory<'_>) -> Report {
    check(history, &Options::default()).expect("a list-append history")
}

fn kinds(report: &Report) -> Vec<String> {
    report.anomalies.iter().map(|a| a.kind.name()).collect()
}

#[test]
fn huge_scc_reads_every_transaction_on_its_line() {
    let h = transactions("huge-scc.edn");
    // 10,254 invocations: 3,036 ok, 7,070 failed, 148 info (the other 94 of the 242
    // `:info` lines are the nemesis's).
    assert_eq!(h.txns.len(), 3_184);
    assert_eq!(h.aborted.len(), 7_070);
    let ok = h
        .txns
        .iter()
        .filter(|t| t.status == checkers::elle::Status::Ok)
        .count();
    assert_eq!(ok, 3_036);
    assert!(h.txns.iter().all(|t| t.process.is_some()));
    assert_lines_are_op_maps("huge-scc.edn", &h);
    let r = report(&h);
    assert!(!r.ok());
    // What Elle's test concludes (the component alone proves a cycle strong snapshot
    // isolation forbids; see elle_published.rs for the anomaly types).
    assert_eq!(
        r.ruled_out.not,
        ["strong-snapshot-isolation"],
        "{:?}",
        r.ruled_out
    );
    assert!(r.ruled_out.all.contains(&"strict-serializable"));
}

#[test]
fn si_without_g_single_reads_past_its_comments() {
    let h = transactions("si-without-g-single.edn");
    let calls: Vec<usize> = h.txns.iter().map(|t| t.call_line).collect();
    let rets: Vec<Option<usize>> = h.txns.iter().map(|t| t.ret_line).collect();
    assert_eq!(calls, vec![9, 12, 15, 18]);
    assert_eq!(rets, vec![Some(10), Some(13), Some(16), Some(19)]);
    assert_lines_are_op_maps("si-without-g-single.edn", &h);
    // Elle: anomaly types [:G2-item], not repeatable read. Every :time is 0, so the
    // order of events gives real-time order too.
    let r = report(&h);
    assert!(kinds(&r).contains(&"G2-item".to_owned()), "{:?}", kinds(&r));
    assert!(
        r.ruled_out.not.contains(&"repeatable-read"),
        "{:?}",
        r.ruled_out
    );
}

#[test]
fn paper_example_reads_without_process() {
    let h = transactions("paper-example.edn");
    assert_eq!(h.txns.len(), 4);
    assert!(h.txns.iter().all(|t| t.process.is_none()));
    let calls: Vec<usize> = h.txns.iter().map(|t| t.call_line).collect();
    assert_eq!(calls, vec![1, 3, 5, 7]);
    assert_lines_are_op_maps("paper-example.edn", &h);
    let r = report(&h);
    // The README's cycle by hand is G-single-realtime: T4 →rw T2 →rt T4. consim finds
    // a G-single-item cycle through the same rw step first (T2 →wr T3 →ww T4 →rw T2,
    // the ww because T3's append of 3 to 256 shows in no read), which implies it; the
    // real-time one is reported beside it because it is shorter.
    assert_eq!(
        kinds(&r),
        vec![
            "G-single-item".to_owned(),
            "G-single-item-realtime".to_owned()
        ]
    );
    // T4 (line 7) read key 255 as [2 3 4 5], without T2's (line 3) append of 8.
    let cycle = &r.anomalies[0];
    assert!(
        cycle.lines.contains(&3) && cycle.lines.contains(&7),
        "{cycle:?}"
    );
    assert!(
        cycle
            .explanation
            .contains("read key 255 = [2 3 4 5], without T1's append of 8"),
        "{}",
        cycle.explanation
    );
    assert!(
        cycle.explanation.contains("an op without :process"),
        "{}",
        cycle.explanation
    );
    assert!(
        !cycle.explanation.contains("process 0"),
        "{}",
        cycle.explanation
    );
}
