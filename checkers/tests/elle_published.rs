//! Elle's published histories (`shared/histories/elle/`, see its README) with the
//! verdicts Elle's own tests (`test/elle/list_append_test.clj`) assert: the models
//! ruled out (`:not`) and the anomaly types, less Elle's markers of a search cut short
//! (`cycle-search-timeout`, `*-cycle-exists`), which depend on how fast each search is.
//!
//! `paper-example.edn`, whose conclusion Elle's tests do not state, is checked against
//! the README's conclusion by hand.

use std::path::{Path, PathBuf};

use checkers::elle::read::{Source, check_source, read_file};
use checkers::elle::{Options, Rel, Report};
use checkers::formats::Format;

fn elle_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/histories/elle");
    assert!(
        dir.join("README.md").exists(),
        "Elle's published histories are missing at {}: CI lays shared/ beside the clone",
        dir.display()
    );
    dir
}

fn read(file: &str) -> Source {
    let path: &Path = &elle_dir().join(file);
    read_file(path, Format::Auto).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn check(source: &Source, models: Option<&[&str]>) -> Report {
    let mut options = Options::default();
    options.consistency_models =
        models.map(|models| models.iter().map(|m| m.parse().unwrap()).collect());
    check_source(source, &options).expect("a traceable history")
}

/// The anomaly types, sorted, without Elle's markers of a search cut short.
fn types(report: &Report) -> Vec<&'static str> {
    let mut types: Vec<&'static str> = report
        .anomalies
        .iter()
        .map(|a| a.kind.static_name())
        .filter(|t| *t != "cycle-search-timeout" && !t.ends_with("-cycle-exists"))
        .collect();
    types.sort_unstable();
    types.dedup();
    types
}

/// `huge-scc-test`: Elle's `:not #{:strong-snapshot-isolation}`, anomaly types
/// `[:G2-item-realtime :cycle-search-timeout :strong-snapshot-isolation-cycle-exists]`,
/// with Elle's default models (`[:strict-serializable]`, which prohibits every anomaly
/// this history shows) and with none requested.
#[test]
fn huge_scc() {
    let source = read("huge-scc.edn");
    for models in [None, Some(&["strict-serializable"][..])] {
        let report = check(&source, models);
        assert!(!report.ok());
        assert_eq!(types(&report), ["G2-item-realtime"], "{models:?}");
        assert_eq!(
            report.ruled_out.not,
            ["strong-snapshot-isolation"],
            "{models:?}"
        );
        // As in Elle, the search runs out of budget on the one huge component, and the
        // component alone proves a cycle strong snapshot isolation forbids.
        assert_eq!((report.sccs, report.sccs_search_exhausted), (1, 1));
        let exists: Vec<&str> = report
            .anomalies
            .iter()
            .map(|a| a.kind.static_name())
            .filter(|t| t.ends_with("-cycle-exists"))
            .collect();
        assert_eq!(exists, ["strong-snapshot-isolation-cycle-exists"]);
    }
}

/// `si-without-g-single`, with `:consistency-models [:snapshot-isolation
/// :repeatable-read]`: anomaly types `[:G2-item]`, `:not #{:repeatable-read}`. The
/// history's adjacent rw edges (T3 rw T4 rw T3) are a G2-item cycle, which
/// repeatable read forbids and snapshot isolation allows.
#[test]
fn si_without_g_single() {
    let source = read("si-without-g-single.edn");
    let report = check(
        &source,
        Some(&["snapshot-isolation", "repeatable-read"][..]),
    );
    assert_eq!(types(&report), ["G2-item"]);
    assert_eq!(report.ruled_out.not, ["repeatable-read"]);
    // Real time is the order of events (every `:time` is 0): T1 completed before T2
    // was invoked, and T2 read key 9 without T1's append. That G-single-item-realtime
    // cycle is real, but neither requested model prohibits it.
    let unreported: Vec<&str> = report.unreported.iter().map(|k| k.static_name()).collect();
    assert_eq!(unreported, ["G-single-item-realtime"]);
    let everything = check(&source, None);
    assert_eq!(types(&everything), ["G-single-item-realtime", "G2-item"]);
}

/// `paper-example` (no `:process`, `:time` or `:f`): Elle's tests state no conclusion;
/// by hand, T4 read key 255 as `[2 3 4 5]`, without T2's append of 8, though T2
/// completed before T4 was invoked: a G-single-item-realtime cycle (T4 rw T2 rt T4).
/// consim reports it, and first a cycle of data dependencies alone through the same
/// rw step, which Elle's search (and its order of kinds) also finds first: T2 wr T3
/// (T3 read 255 with the 8), T3 ww T4 (T4's append of 3 to key 256 shows in no read,
/// so it comes after T3's 4, which T3 read), T4 rw T2. That G-single-item cycle implies
/// the real-time kind; the real-time cycle is reported too because it is shorter.
#[test]
fn paper_example() {
    let source = read("paper-example.edn");
    assert_eq!(source.len(), 4);
    let report = check(&source, None);
    assert_eq!(types(&report), ["G-single-item", "G-single-item-realtime"]);
    let data = &report.anomalies[0];
    assert_eq!(data.kind.static_name(), "G-single-item");
    assert_eq!(data.lines, [3, 5, 7], "T2, T3, T4 in the paper's numbering");
    let realtime = &report.anomalies[1];
    assert_eq!(realtime.kind.static_name(), "G-single-item-realtime");
    assert_eq!(realtime.lines, [3, 7], "T2 and T4 in the paper's numbering");
    let rels: Vec<Rel> = realtime.steps.iter().map(|s| s.rel).collect();
    assert_eq!(rels, [Rel::Realtime, Rel::Rw]);
    assert!(
        realtime
            .explanation
            .contains("completed (line 4) before T2 was invoked (line 7)")
            && realtime.explanation.contains("because it is shorter"),
        "{}",
        realtime.explanation
    );
    let implied = checkers::elle::models::implied_anomalies("G-single-item");
    assert!(implied.contains("G-single-item-realtime"));
    assert_eq!(report.ruled_out.not, ["consistent-view", "repeatable-read"]);
    // Asked for strict serializability alone, the same two cycles: it forbids both.
    let strict = check(&source, Some(&["strict-serializable"][..]));
    assert_eq!(types(&strict), ["G-single-item", "G-single-item-realtime"]);
}
