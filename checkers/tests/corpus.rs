//! Every history of Porcupine's corpus (Jepsen etcd logs, kv histories) gets the
//! verdict Porcupine's own tests assert, listed in the corpus's MANIFEST.tsv.

use std::path::PathBuf;

use checkers::check::check_file;
use checkers::formats::Format;
use checkers::history::HistoryError;
use checkers::linear::{Options, Verdict};
use checkers::spec::SpecName;

pub fn corpus_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/histories/porcupine");
    assert!(
        dir.join("MANIFEST.tsv").exists(),
        "the shared history corpus is missing at {}: CI lays shared/ beside the clone",
        dir.display()
    );
    dir
}

pub struct Row {
    pub file: String,
    pub format: Format,
    pub model: SpecName,
    pub ops: usize,
    pub verdict: String,
}

pub fn manifest() -> Vec<Row> {
    let text = std::fs::read_to_string(corpus_dir().join("MANIFEST.tsv")).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 5, "manifest line {line:?}");
            Row {
                file: fields[0].to_owned(),
                format: Format::from_name(fields[1]).unwrap(),
                model: SpecName::from_name(fields[2]).unwrap(),
                ops: fields[3].parse().unwrap(),
                verdict: fields[4].to_owned(),
            }
        })
        .collect()
}

#[test]
fn every_history_in_the_manifest_gets_its_verdict() {
    let rows = manifest();
    assert_eq!(rows.len(), 109);
    let mut checked = 0;
    for row in rows {
        let path = corpus_dir().join(&row.file);
        let options = Options {
            max_memory_bytes: 512 << 20,
            ..Options::default()
        };
        let result = check_file(&path, row.format, Some(row.model), &options);
        if row.verdict == "skip" {
            let err = result.expect_err("an empty file is an error, not a verdict");
            assert!(
                matches!(
                    err,
                    checkers::check::CheckError::History(HistoryError::Empty { .. })
                ),
                "{err}"
            );
            assert!(err.to_string().contains("empty"), "{err}");
            continue;
        }
        let checked_file = result.unwrap_or_else(|e| panic!("{}: {e}", row.file));
        // The manifest counts invocations (failed ones included).
        let invocations = checked_file
            .history
            .events
            .iter()
            .filter(|e| e.kind == checkers::history::EventType::Invoke)
            .count();
        assert_eq!(invocations, row.ops, "{}: operation count", row.file);
        let expected = match row.verdict.as_str() {
            "ok" => Verdict::Ok,
            "violation" => Verdict::Violation,
            other => panic!("unknown verdict {other}"),
        };
        assert_eq!(checked_file.report.verdict(), expected, "{}", row.file);
        checked += 1;
    }
    assert_eq!(checked, 108);
}

/// Porcupine stops at the first bad key; we report all of them, and decide every key
/// of the bad kv files, keys 0 and 9 of c50-bad included (Porcupine, checking them
/// alone, ran out of memory at 9 GB), within a quarter of the default budget.
#[test]
fn every_key_of_the_bad_kv_files_is_decided() {
    for (file, violated) in [
        ("kv/c01-bad.txt", vec!["7"]),
        (
            "kv/c10-bad.txt",
            vec!["0", "1", "2", "3", "5", "6", "7", "9"],
        ),
        (
            "kv/c50-bad.txt",
            vec!["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        ),
    ] {
        let options = Options {
            max_memory_bytes: 512 << 20,
            ..Options::default()
        };
        let checked = check_file(
            &corpus_dir().join(file),
            Format::PorcupineKv,
            Some(SpecName::Kv),
            &options,
        )
        .unwrap();
        let name = |k: &Option<checkers::history::Value>| match k {
            Some(checkers::history::Value::Str(s)) => s.clone(),
            other => format!("{other:?}"),
        };
        let unknown: Vec<String> = checked
            .report
            .keys
            .iter()
            .filter(|k| matches!(k.outcome, checkers::linear::Outcome::Unknown { .. }))
            .map(|k| name(&k.key))
            .collect();
        let bad: Vec<String> = checked.report.keys_violated().iter().map(name).collect();
        assert_eq!(bad, violated, "{file}: violated keys");
        assert!(unknown.is_empty(), "{file}: undecided keys {unknown:?}");
    }
}
