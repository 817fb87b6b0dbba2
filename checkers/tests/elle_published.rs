//! Elle's published histories (`shared/histories/elle/`, see its README) with the
//! verdicts Elle's own tests (`test/elle/list_append_test.clj`) assert: the models
//! ruled out (`:not`) and the anomaly types, less Elle's markers of a search cut short
//! (`cycle-search-timeout`, `*-cycle-exists`), which depend on how fast each search is.
//!
//! `paper-example.edn` is left out: its op maps have no `:process`, which the reader
//! does not take yet.

use std::path::{Path, PathBuf};

use checkers::elle::read::{Source, check_source, read_file};
use checkers::elle::{Options, Report};
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
    read_file(path, Format::Edn).unwrap_or_else(|e| panic!("{file}: {e}"))
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
///
/// Reading the file is slow until the EDN reader's quadratic step is gone (about 9 s
/// in release, longer in a debug build).
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
