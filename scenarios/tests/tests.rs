//! The `consim` binary as a user runs it: output, determinism and exit codes.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn consim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_consim"))
        .args(args)
        .output()
        .expect("the consim binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

fn json_line(output: &Output) -> Value {
    let text = stdout(output);
    let last = text.lines().last().expect("one line at least");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {last}"))
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("consim-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn run_twice_same_seed_same_hash_and_another_seed_another() {
    let run = |seed: &str| {
        let out = consim(&["run", "--model", "single-copy", "--seed", seed, "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        json_line(&out)
    };
    let (a, b, c) = (run("7"), run("7"), run("8"));
    assert_eq!(a, b, "the whole summary repeats, not just the hash");
    assert_ne!(a["trace_hash"], c["trace_hash"]);
    assert_eq!(a["seed"], 7);
    assert!(a["deliveries"].as_u64().unwrap() > 0);
    assert!(a["simulated_ns"].as_u64().unwrap() > 0);
    assert_eq!(a["trace_hash"].as_str().unwrap().len(), 16);
}

#[test]
fn run_prints_a_summary_and_the_replay_command() {
    let out = consim(&[
        "run",
        "--model",
        "abd",
        "--seed",
        "3",
        "--clients",
        "2",
        "--param",
        "r=3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let summary = text.lines().next().unwrap();
    for field in [
        "model=abd",
        "seed=3",
        "events=",
        "deliveries=",
        "simulated=",
        "trace_hash=",
        "ops: ok=",
    ] {
        assert!(summary.contains(field), "missing {field} in {summary}");
    }
    // The replay command is the resolved configuration, defaults left out.
    let replay = "replay: cargo run --release -- run --model abd --scenario swarm --seed 3 --clients 2 --param r=3";
    assert!(text.contains(replay), "{text}");
    // And it runs the same run.
    let args: Vec<&str> = replay
        .strip_prefix("replay: cargo run --release -- ")
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(stdout(&consim(&args)).lines().next(), Some(summary));
}

#[test]
fn trace_prints_every_event_before_the_summary() {
    let out = consim(&[
        "run",
        "--model",
        "single-copy",
        "--seed",
        "1",
        "--ops",
        "5",
        "--scenario",
        "none",
        "--clients",
        "1",
        "--keys",
        "1",
        "--trace",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let deliveries = text.lines().filter(|l| l.contains(" Deliver ")).count();
    assert_eq!(
        deliveries, 12,
        "5 requests, 1 final read and their replies:\n{text}"
    );
    let json = consim(&[
        "run",
        "--model",
        "single-copy",
        "--seed",
        "1",
        "--ops",
        "5",
        "--trace",
        "--json",
    ]);
    let lines: Vec<Value> = stdout(&json)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| l.get("trace").is_some())
    );
    // The trace does not change the run.
    let plain = json_line(&consim(&[
        "run",
        "--model",
        "single-copy",
        "--seed",
        "1",
        "--ops",
        "5",
        "--json",
    ]));
    assert_eq!(lines.last().unwrap()["trace_hash"], plain["trace_hash"]);
}

#[test]
fn a_plan_file_is_replayed() {
    let plan = temp_file(
        "crash.json",
        r#"{"faults": [
  {"at": 100000000, "fault": {"crash": {"node": 0}}},
  {"at": 2000000000, "fault": {"restart": {"node": 0}}}
]}"#,
    );
    let out = consim(&[
        "run",
        "--model",
        "single-copy",
        "--seed",
        "2",
        "--json",
        "--plan",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = json_line(&out);
    assert!(line["ops"]["info"].as_u64().unwrap() > 0, "{line}");
    assert_eq!(line["stats"]["faults"], 2);
}

#[test]
fn a_plan_that_does_not_parse_names_file_and_line_and_exits_2() {
    let plan = temp_file(
        "bad.json",
        "{\"faults\": [\n  {\"at\": 5, \"fault\": {\"crush\": {\"node\": 0}}}\n]}\n",
    );
    let out = consim(&[
        "run",
        "--model",
        "single-copy",
        "--seed",
        "2",
        "--plan",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:2:", plan.display())), "{err}");
    assert!(err.contains("unknown variant `crush`"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_plan_naming_a_missing_node_exits_2() {
    let plan = temp_file(
        "n9.json",
        r#"{"faults": [{"at": 5, "fault": {"crash": {"node": 9}}}]}"#,
    );
    let out = consim(&[
        "run",
        "--model",
        "single-copy",
        "--seed",
        "2",
        "--plan",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("n9 does not exist"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_plan_file_exits_2() {
    let out = consim(&[
        "run",
        "--model",
        "single-copy",
        "--seed",
        "2",
        "--plan",
        "/nonexistent/plan.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/plan.json"));
}

/// A script the run cannot perform is refused with its file and line, or the
/// operation and what is wrong with it: exit 2, no panic.
#[test]
fn a_bad_script_file_exits_2_naming_the_line() {
    let run = |script: &std::path::Path| {
        consim(&[
            "run",
            "--model",
            "raft",
            "--seed",
            "1",
            "--clients",
            "2",
            "--script",
            script.to_str().unwrap(),
        ])
    };
    let unreadable = temp_file(
        "bad-line.jsonl",
        "{\"client\":0,\"request\":{\"read\":{\"key\":0}}}\n{\"client\":0,\"request\":{\"fly\":1}}\n",
    );
    let out = run(&unreadable);
    assert_eq!(out.status.code(), Some(2));
    let expected = format!("{}:2: expected an operation", unreadable.display());
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
    let third_client = temp_file(
        "bad-client.jsonl",
        "{\"client\":2,\"request\":{\"read\":{\"key\":0}}}\n",
    );
    let out = run(&third_client);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the run has 2 clients"),
        "{}",
        stderr(&out)
    );
    let twice = temp_file(
        "bad-values.jsonl",
        "{\"client\":0,\"request\":{\"append\":{\"key\":0,\"value\":3}}}\n{\"client\":1,\"request\":{\"append\":{\"key\":1,\"value\":3}}}\n",
    );
    let out = run(&twice);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("value 3 is written twice"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    // A good one runs exactly the operations it lists (and the final reads).
    let good = temp_file(
        "good.jsonl",
        "{\"client\":1,\"request\":{\"append\":{\"key\":0,\"value\":7}},\"arrival\":5000000}\n",
    );
    let out = consim(&[
        "run",
        "--model",
        "raft",
        "--seed",
        "1",
        "--clients",
        "2",
        "--script",
        good.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_line(&out)["ops"]["ok"], 1);
}

#[test]
fn usage_errors_exit_2_and_list_what_is_valid() {
    let out = consim(&["run", "--model", "nope", "--seed", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("single-copy"), "{}", stderr(&out));
    // The kernel benchmark's relay is not a model.
    assert_eq!(
        consim(&["run", "--model", "relay", "--seed", "1"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        consim(&["run", "--model", "raft", "--seed", "-1"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(consim(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        consim(&["bench", "kernel", "--deliveries", "0"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn list_names_every_model_with_its_promises() {
    let out = consim(&["list", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let models: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = models
        .iter()
        .filter_map(|m| m["model"]["name"].as_str())
        .collect();
    assert!(names.contains(&"single-copy") && !names.contains(&"relay"));
    assert_eq!(models[0]["model"]["promises"][0], "linearizable");
    // Each model lists its settings, as declared.
    let raft = models
        .iter()
        .find(|m| m["model"]["name"] == "raft")
        .unwrap();
    let settings: Vec<&str> = raft["model"]["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        settings,
        [
            "replicas",
            "election-ms",
            "heartbeat-ms",
            "lease-ms",
            "drift-ppm",
            "check-quorum",
            "pre-vote"
        ]
    );
    assert_eq!(raft["model"]["workload"], "list-append");
    let scenarios: Vec<&str> = models
        .iter()
        .filter_map(|m| m["scenario"].as_str())
        .collect();
    assert!(scenarios.contains(&"swarm") && scenarios.contains(&"isolate-leader"));
    let text = stdout(&consim(&["list"]));
    assert!(text.contains("single-copy") && text.contains("promises: linearizable"));
    assert!(
        text.contains(
            "--param election-ms=150 (a whole number from 1 to 3600000): How long a follower waits"
        ),
        "{text}"
    );
}

#[test]
fn bench_kernel_reports_deliveries_per_second() {
    let out = consim(&[
        "bench",
        "kernel",
        "--deliveries",
        "20000",
        "--repeat",
        "1",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = json_line(&out);
    assert_eq!(line["deliveries"], 20_000);
    assert!(line["deliveries_per_s"].as_f64().unwrap() > 0.0);
    let bare = line["bare_loop_deliveries_per_s"].as_f64().unwrap();
    let ratio = line["kernel_over_bare_loop"].as_f64().unwrap();
    let kernel = line["deliveries_per_s"].as_f64().unwrap();
    assert!(bare > 0.0);
    assert!((ratio - kernel / bare).abs() < 1e-9 * ratio, "{line}");
    let text = stdout(&consim(&[
        "bench",
        "kernel",
        "--deliveries",
        "20000",
        "--repeat",
        "1",
    ]));
    assert!(text.contains("deliveries/s: median"), "{text}");
    assert!(text.contains("kernel/bare loop: "), "{text}");
}

/// The book includes real source by anchor; an include that no longer resolves would
/// teach code that does not exist.
#[test]
fn book_includes_resolve() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let chapters = std::fs::read_dir(root.join("book/src")).unwrap();
    let mut includes = 0;
    for chapter in chapters {
        let path = chapter.unwrap().path();
        // Chapters are the Markdown files; `images/` holds what they show.
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for piece in text.split("{{#include ").skip(1) {
            let target = piece.split("}}").next().unwrap();
            let (file, anchor) = target.split_once(':').unwrap_or((target, ""));
            let source = std::fs::read_to_string(path.parent().unwrap().join(file))
                .unwrap_or_else(|e| panic!("{}: {file}: {e}", path.display()));
            if !anchor.is_empty() {
                assert!(
                    source.contains(&format!("ANCHOR: {anchor}")),
                    "{file}:{anchor}"
                );
                assert!(
                    source.contains(&format!("ANCHOR_END: {anchor}")),
                    "{file}:{anchor}"
                );
            }
            includes += 1;
        }
    }
    assert!(includes >= 2, "the book includes the model's source");
}

fn corpus(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/histories/porcupine")
        .join(file);
    assert!(
        path.exists(),
        "the shared corpus is missing: {}",
        path.display()
    );
    path.to_str().unwrap().to_owned()
}

#[test]
fn check_a_violation_exits_1_with_a_sentence() {
    let out = consim(&["check", &corpus("etcd/etcd_000.log")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("violation (65 ops"), "{text}");
    assert!(text.contains("but the register holds"), "{text}");
}

#[test]
fn check_a_register_violation_names_what_real_time_alone_shows() {
    // Writes of 1 then 2, both done, then a read of 1: a stale read.
    let history = r#"{"process":0,"type":"invoke","f":"write","key":"x","value":1,"time":0}
{"process":0,"type":"ok","f":"write","key":"x","value":1,"time":10}
{"process":0,"type":"invoke","f":"write","key":"x","value":2,"time":20}
{"process":0,"type":"ok","f":"write","key":"x","value":2,"time":30}
{"process":1,"type":"invoke","f":"read","key":"x","value":null,"time":40}
{"process":1,"type":"ok","f":"read","key":"x","value":1,"time":50}
"#;
    let file = temp_file("stale.jsonl", history);
    let out = consim(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("real time alone shows it: stale-read: process 1 read 1"),
        "{text}"
    );
    let out = consim(&["check", "--json", file.to_str().unwrap()]);
    let line = json_line(&out);
    let witness = line["keys"][0]["real_time_witness"].as_str().unwrap();
    assert!(witness.starts_with("stale-read: "), "{line}");
    // The picture lists it, and outlines its two operations (the read, and the write
    // of 2 it missed) in the lanes.
    let page = file.with_extension("html");
    let out = consim(&[
        "check",
        "--viz",
        page.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("<h2>What the history proves</h2><ol><li>stale-read: process 1 read 1"),
        "{html}"
    );
    assert_eq!(html.matches("class=\"op witness\"").count(), 1, "{html}");
    assert_eq!(
        html.matches("class=\"op impossible witness\"").count(),
        1,
        "{html}"
    );
}

#[test]
fn run_viz_writes_the_page_of_the_run_zoomed_to_the_witnesses() {
    let page = temp_file("run1830.html", "");
    let out = consim(&[
        "run",
        "--model",
        "raft-stale-read",
        "--scenario",
        "isolate-leader",
        "--seed",
        "1830",
        "--viz",
        page.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    // The messages, the deposed leader's partition, and the stale read.
    assert!(html.contains("<line class=\"msg\""));
    assert!(html.contains("data-drop=\"cut\""));
    assert!(html.contains("data-fault=\"partition\" data-node=\"2\""));
    assert!(html.contains("id=\"zoom-window\" checked"));
    assert!(html.contains("class=\"op impossible witness\""));
    let replay = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("replay: ").map(str::to_owned))
        .expect("a replay line");
    assert!(html.contains(&format!("<code>{replay}</code>")), "{replay}");
}

#[test]
fn check_a_linearizable_history_exits_0_and_prints_its_witness() {
    let out = consim(&["check", "--witness", &corpus("etcd/etcd_002.log")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(": ok (64 ops"), "{text}");
    assert!(
        text.contains("linearization: p4 read nil, p1 write 1"),
        "{text}"
    );
}

#[test]
fn check_json_has_one_object_per_history() {
    let out = consim(&[
        "check",
        "--json",
        &corpus("etcd/etcd_002.log"),
        &corpus("kv/c10-bad.txt"),
    ]);
    assert_eq!(out.status.code(), Some(1), "any violation makes it exit 1");
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        for field in ["file", "verdict", "ops", "keys_violated", "millis"] {
            assert!(line.get(field).is_some(), "{field} missing in {line}");
        }
    }
    assert_eq!(lines[0]["verdict"], "ok");
    assert_eq!(lines[1]["verdict"], "violation");
    assert_eq!(lines[1]["keys_violated"].as_array().unwrap().len(), 8);
    assert_eq!(lines[1]["model"], "kv");
}

#[test]
fn check_an_exhausted_budget_exits_3() {
    // A generated cas-register history, linearizable by construction, whose search
    // enters more configurations than the 1,024 between two budget checks.
    let shape = checkers::synth::Shape::jepsen(30, 10_000, 2);
    let history = checkers::synth::cas_register(&shape).to_jsonl();
    let path = temp_file("cas-30x10000.jsonl", &history);
    let file = path.to_str().unwrap();
    let out = consim(&["check", "--model", "cas-register", file]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = consim(&[
        "check",
        "--model",
        "cas-register",
        "--max-memory",
        "1",
        file,
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("unknown: the memory budget"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn check_bad_input_exits_2_naming_file_and_line() {
    let out = consim(&["check", &corpus("etcd/etcd_095.log")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("etcd_095.log: the history is empty"),
        "{}",
        stderr(&out)
    );
    let bad = temp_file(
        "bad.jsonl",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":\n",
    );
    let out = consim(&["check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("{}:2:", bad.display())),
        "{}",
        stderr(&out)
    );
    let unpaired = temp_file(
        "unpaired.jsonl",
        "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n",
    );
    let out = consim(&["check", unpaired.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nothing pending"), "{}", stderr(&out));
    assert_eq!(
        consim(&["check", "--format", "bogus", bad.to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        consim(&["check", "--max-memory", "0", bad.to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        consim(&["check", "--model", "nope", bad.to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        consim(&["check", "/nonexistent/history.jsonl"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn check_viz_escapes_what_the_history_says() {
    let hostile = "</script><script>alert(1)</script>";
    let history = temp_file(
        "hostile.jsonl",
        &format!(
            "{{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"k\",\"value\":\"{hostile}\"}}\n\
             {{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"key\":\"k\",\"value\":\"{hostile}\"}}\n\
             {{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"k\",\"value\":null}}\n\
             {{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"k\",\"value\":\"<b>x</b>\"}}\n"
        ),
    );
    let page = history.with_extension("html");
    let out = consim(&[
        "check",
        "--viz",
        page.to_str().unwrap(),
        history.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        !html.to_lowercase().contains("<script"),
        "a value ran as a script"
    );
    assert!(!html.contains("<b>x</b>"), "a value was taken as markup");
    assert!(html.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    // No external assets: the only URL is the SVG namespace.
    assert_eq!(
        html.matches("http").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    // The impossible read is marked, and outlined as the garbage read it is.
    assert!(
        html.contains("class=\"op impossible witness\""),
        "the impossible read is marked"
    );
    assert!(html.contains("<li>garbage-read: "), "{html}");
}

#[test]
fn check_a_value_of_the_wrong_type_exits_2_naming_the_line() {
    let history = temp_file(
        "wrong-type.jsonl",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n\
         {\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n\
         {\"process\":1,\"type\":\"invoke\",\"f\":\"cas\",\"value\":5}\n\
         {\"process\":1,\"type\":\"ok\",\"f\":\"cas\",\"value\":5}\n",
    );
    let out = consim(&["check", history.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}:3: a cas takes [from to], got 5",
            history.display()
        )),
        "{err}"
    );
}

#[test]
fn check_session_guarantees() {
    let history = temp_file(
        "ryw.jsonl",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"append\",\"key\":\"x\",\"value\":1}\n\
         {\"process\":0,\"type\":\"ok\",\"f\":\"append\",\"key\":\"x\",\"value\":1}\n\
         {\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\",\"value\":null}\n\
         {\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":[]}\n",
    );
    let out = consim(&[
        "check",
        "--consistency",
        "session",
        history.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("violation (2 ops, list-append, session guarantees"),
        "{text}"
    );
    assert!(
        text.contains("read-your-writes: 1 anomaly; key \"x\""),
        "{text}"
    );
    assert!(text.contains("monotonic-reads: ok"), "{text}");
    let json = json_line(&consim(&[
        "check",
        "--consistency",
        "session",
        "--json",
        history.to_str().unwrap(),
    ]));
    assert_eq!(json["verdict"], "violation");
    assert_eq!(
        json["guarantees"]["read-your-writes"]["anomalies"][0]["lines"],
        serde_json::json!([1, 3])
    );
    assert_eq!(json["guarantees"]["monotonic-writes"]["verdict"], "ok");
    let duplicate = temp_file(
        "dup.jsonl",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n\
         {\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n\
         {\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n\
         {\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n",
    );
    let out = consim(&[
        "check",
        "--consistency",
        "session",
        duplicate.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!(
            "{}:3: the value 1 is written",
            duplicate.display()
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_convergence_and_lost_writes() {
    let history = temp_file(
        "lost.jsonl",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"append\",\"key\":\"x\",\"value\":1}\n\
         {\"process\":0,\"type\":\"ok\",\"f\":\"append\",\"key\":\"x\",\"value\":1}\n\
         {\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\",\"value\":null}\n\
         {\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":[]}\n",
    );
    let out = consim(&[
        "check",
        "--consistency",
        "convergence",
        history.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("acknowledged appends missing from the final state: 1"),
        "{}",
        stdout(&out)
    );
    let json = json_line(&consim(&[
        "check",
        "--consistency",
        "convergence",
        "--json",
        history.to_str().unwrap(),
    ]));
    assert_eq!(json["verdict"], "violation");
    assert_eq!(json["keys"][0]["elements"]["lost"], serde_json::json!([1]));
}

#[test]
fn check_all_runs_every_check_and_skips_what_does_not_apply() {
    let out = consim(&[
        "check",
        "--consistency",
        "all",
        "--json",
        &corpus("etcd/etcd_002.log"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| l["consistency"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec!["linearizable", "session", "elle", "convergence"]
    );
    assert_eq!(
        lines[1]["verdict"], "not-applicable",
        "a cas history has no traceable sessions"
    );
    assert_eq!(
        lines[2]["verdict"], "not-applicable",
        "nor a dependency graph"
    );
    let out = consim(&[
        "check",
        "--consistency",
        "all",
        &corpus("etcd/etcd_000.log"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the linearizability violation decides the exit code"
    );
}

#[test]
fn check_session_reports_what_a_list_append_history_shows_outright() {
    let history = temp_file(
        "garbage.jsonl",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"append\",\"key\":\"x\",\"value\":1}\n\
         {\"process\":0,\"type\":\"fail\",\"f\":\"append\",\"key\":\"x\",\"value\":1}\n\
         {\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\",\"value\":null}\n\
         {\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":[1]}\n",
    );
    let out = consim(&[
        "check",
        "--consistency",
        "session",
        history.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("first, G1a on key \"x\""),
        "{}",
        stdout(&out)
    );
    let json = json_line(&consim(&[
        "check",
        "--consistency",
        "session",
        "--json",
        history.to_str().unwrap(),
    ]));
    assert_eq!(json["anomalies"][0]["kind"], "G1a");
    assert_eq!(json["verdict"], "violation");
}

#[test]
fn a_sweep_prints_the_same_lines_whatever_the_jobs() {
    let sweep = |jobs: &str| {
        let out = consim(&[
            "sweep",
            "--model",
            "single-copy",
            "--scenario",
            "swarm",
            "--seeds",
            "0..40",
            "--jobs",
            jobs,
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    let one = sweep("1");
    assert_eq!(one.lines().count(), 40);
    assert_eq!(one, sweep("2"), "--jobs 1 and --jobs 2 differ");
    let first: Value = serde_json::from_str(one.lines().next().unwrap()).unwrap();
    assert_eq!(first["seed"], 0);
    assert_eq!(first["failed"], false);
}

#[test]
fn shards_concatenate_into_the_whole_sweep() {
    let sweep = |extra: &[&str]| {
        let mut args = vec![
            "sweep",
            "--model",
            "single-copy",
            "--scenario",
            "crash-restart",
            "--seeds",
            "10..25",
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = consim(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let summary: Value = serde_json::from_str(stderr(&out).lines().last().unwrap()).unwrap();
        assert_eq!(summary["summary"], true);
        stdout(&out)
    };
    let whole = sweep(&[]);
    let mut shards: Vec<String> = (0..3)
        .flat_map(|i| {
            let shard = format!("{i}/3");
            sweep(&["--shard", &shard])
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let seed = |l: &String| serde_json::from_str::<Value>(l).unwrap()["seed"].as_u64();
    shards.sort_by_key(seed);
    assert_eq!(shards, whole.lines().map(str::to_owned).collect::<Vec<_>>());
}

#[test]
fn a_failing_sweep_writes_artifacts_and_a_replay_command_that_fails_again() {
    let dir = std::env::temp_dir().join(format!("consim-artifacts-{}", std::process::id()));
    let out = consim(&[
        "sweep",
        "--model",
        "single-copy",
        "--scenario",
        "flaky-network",
        "--no-idempotency",
        "--unsafe-retries",
        "--seeds",
        "0..200",
        "--stop-on-failure",
        "--out",
        dir.to_str().unwrap(),
    ]);
    // Retrying appends without idempotency keys on a lossy network appends twice.
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("linearizable: VIOLATION"), "{text}");
    let replay = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay: cargo run --release -- "))
        .expect("a replay command");
    let seed = text.lines().find_map(|l| l.split(" seed=").nth(1));
    let seed = seed.and_then(|s| s.split_whitespace().next()).unwrap();
    let artifacts = dir.join(format!("single-copy-flaky-network-{seed}"));
    for file in [
        "history.jsonl",
        "plan.json",
        "script.jsonl",
        "trace.txt",
        "viz.html",
        "run.html",
        "report.txt",
    ] {
        let path = artifacts.join(file);
        assert!(path.is_file(), "missing {}", path.display());
    }
    // The run's page carries the command that replays it.
    let page = std::fs::read_to_string(artifacts.join("run.html")).unwrap();
    assert!(
        page.contains(&format!("<code>cargo run --release -- {replay}</code>")),
        "{replay}"
    );
    // The replay command reproduces the failure, and the saved history is the run's.
    let args: Vec<&str> = replay.split_whitespace().collect();
    let history = dir.join("replayed.jsonl");
    let mut with_history = args.clone();
    with_history.extend_from_slice(&["--history", history.to_str().unwrap()]);
    let again = consim(&with_history);
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
    assert_eq!(
        std::fs::read_to_string(&history).unwrap(),
        std::fs::read_to_string(artifacts.join("history.jsonl")).unwrap()
    );
    // The saved plan replays the same run.
    let plan = artifacts.join("plan.json");
    let mut with_plan: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "--scenario" && *a != "flaky-network")
        .collect();
    with_plan.extend_from_slice(&["--plan", plan.to_str().unwrap(), "--json"]);
    let planned = consim(&with_plan);
    assert_eq!(planned.status.code(), Some(1), "{}", stderr(&planned));
    let replayed = json_line(&consim(&[args.as_slice(), &["--json"]].concat()));
    assert_eq!(json_line(&planned)["trace_hash"], replayed["trace_hash"]);
    let script = artifacts.join("script.jsonl");
    same_run_from_the_script(with_plan, &script, &replayed["trace_hash"]);
    // And consim check agrees with the run's verdict on the saved history.
    let check = consim(&["check", artifacts.join("history.jsonl").to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(1), "{}", stdout(&check));
    std::fs::remove_dir_all(&dir).ok();
}

/// The run `args` (a replay from a plan) with `script`'s operations is the same run:
/// its trace hash is `hash`, and it fails.
fn same_run_from_the_script<'a>(mut args: Vec<&'a str>, script: &'a std::path::Path, hash: &Value) {
    args.extend_from_slice(&["--script", script.to_str().unwrap()]);
    let scripted = consim(&args);
    assert_eq!(scripted.status.code(), Some(1), "{}", stderr(&scripted));
    assert_eq!(&json_line(&scripted)["trace_hash"], hash);
}

#[test]
fn check_determinism_runs_twice_and_says_so() {
    let out = consim(&[
        "run",
        "--model",
        "single-copy",
        "--scenario",
        "swarm",
        "--seed",
        "4",
        "--check-determinism",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("determinism: both runs of seed 4 gave the same"));
}

#[test]
fn sweep_and_run_refuse_bad_ranges_shards_and_names() {
    let bad = |args: &[&str], needle: &str| {
        let out = consim(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    };
    let sweep = ["sweep", "--model", "single-copy", "--seeds"];
    bad(&[&sweep[..], &["5..5"]].concat(), "empty");
    bad(&[&sweep[..], &["9..2"]].concat(), "reversed");
    bad(&[&sweep[..], &["0..9", "--shard", "0/0"]].concat(), "I/N");
    bad(
        &[
            "run",
            "--model",
            "single-copy",
            "--seed",
            "1",
            "--scenario",
            "earthquake",
        ],
        "swarm",
    );
    bad(&["run", "--model", "paxos", "--seed", "1"], "single-copy");
    bad(
        &[
            "run",
            "--model",
            "single-copy",
            "--seed",
            "1",
            "--replicas",
            "3",
        ],
        "replicas",
    );
    bad(
        &[
            "run",
            "--model",
            "single-copy",
            "--seed",
            "1",
            "--param",
            "r=2",
        ],
        "not a setting",
    );
}

#[test]
fn matrix_prints_a_markdown_table() {
    let out = consim(&[
        "matrix",
        "--seeds",
        "3",
        "--models",
        "single-copy",
        "--scenarios",
        "none,crash-restart",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("| model | nemesis | linearizable |"),
        "{text}"
    );
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("| single-copy"))
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(rows[0].contains("| none | 100%* |"), "{text}");
}

#[test]
fn run_reports_availability_four_ways() {
    let out = consim(&[
        "run",
        "--model",
        "raft",
        "--scenario",
        "partition-majority",
        "--seed",
        "3",
        "--rate",
        "5",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = json_line(&out);
    let a = &line["availability"];
    for measure in ["cap", "during_faults", "minority", "after_retries"] {
        let share = a[measure]
            .as_f64()
            .unwrap_or_else(|| panic!("{measure}: {a}"));
        assert!((0.0..=1.0).contains(&share), "{measure}: {a}");
        let counts = &line["availability_counts"][measure];
        let (hits, trials) = (
            counts["hits"].as_u64().unwrap(),
            counts["trials"].as_u64().unwrap(),
        );
        assert!(trials > 0 && hits <= trials, "{measure}: {counts}");
        assert!((share - hits as f64 / trials as f64).abs() < 1e-12);
    }
    // Raft answers nobody on the minority side.
    assert_eq!(a["minority"], 0.0, "{a}");
    // Without faults there is nothing to measure during them: null, not 1.0.
    let out = consim(&[
        "run",
        "--model",
        "raft",
        "--scenario",
        "none",
        "--seed",
        "3",
        "--json",
    ]);
    let a = json_line(&out)["availability"].clone();
    assert!(
        a["during_faults"].is_null() && a["minority"].is_null(),
        "{a}"
    );
    assert_eq!(a["after_retries"], 1.0, "{a}");
    // The text line names all four.
    let out = consim(&[
        "run",
        "--model",
        "raft",
        "--scenario",
        "none",
        "--seed",
        "3",
    ]);
    assert!(
        stdout(&out).contains("availability: cap="),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("during_faults=n/a minority=n/a after_retries=100.0%"));
}

#[test]
fn rates_and_spells_that_make_no_sense_are_refused() {
    let run = ["run", "--model", "single-copy", "--seed", "1"];
    for (extra, needle) in [
        (&["--rate", "0"][..], "above 0"),
        (&["--rate", "-3"][..], "above 0"),
        (&["--rate", "1e9"][..], "at most 1000"),
        (&["--rate", "NaN"][..], "above 0"),
        (&["--rate", "fast"][..], "operations per second"),
        (
            &["--rate", "5", "--think-ms", "10"][..],
            "cannot be used with",
        ),
        (&["--spell-ms", "0"][..], "spell-ms"),
        (&["--spell-ms", "5000"][..], "1..=3000"),
    ] {
        let args = [&run[..], extra].concat();
        let out = consim(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
    let out = consim(&["matrix", "--rate", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // A sane rate runs, and its replay line carries it and the spell.
    let out = consim(&[&run[..], &["--rate", "2.5", "--spell-ms", "300"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("--seed 1 --rate 2.5 --spell-ms 300"),
        "{}",
        stdout(&out)
    );
}

/// A `matrix --json` cell of `runs` runs: every field there, the outcome shares
/// summing to 1, and every share inside its interval (null with it).
fn assert_well_formed(cell: &Value, runs: u64) {
    assert_eq!(cell["runs"], runs, "{cell}");
    for key in [
        "model",
        "nemesis",
        "guarantees",
        "availability",
        "latency",
        "outcomes",
        "ci95",
    ] {
        assert!(!cell[key].is_null(), "{key}: {cell}");
    }
    let outcomes: f64 = ["ok", "fail", "info", "unfinished"]
        .iter()
        .map(|k| cell["outcomes"][k].as_f64().unwrap())
        .sum();
    assert!((outcomes - 1.0).abs() < 1e-9, "{cell}");
    for (name, share) in cell["guarantees"].as_object().unwrap() {
        let ci = &cell["ci95"]["guarantees"][name];
        match share.as_f64() {
            None => assert!(share.is_null() && ci.is_null(), "{name}: {cell}"),
            Some(p) => {
                let (low, high) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
                assert!(low <= p && p <= high, "{name}: {cell}");
            }
        }
    }
}

#[test]
fn matrix_json_has_one_object_per_cell_with_intervals() {
    let out = consim(&[
        "matrix",
        "--seeds",
        "4",
        "--models",
        "single-copy,dynamo",
        "--scenarios",
        "none,partition-majority,bridge",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let cells: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cells.len(), 6);
    for cell in &cells {
        assert_well_formed(cell, 4);
    }
    let cell = |model: &str, nemesis: &str| {
        cells
            .iter()
            .find(|c| c["model"] == model && c["nemesis"] == nemesis)
            .unwrap()
    };
    // Without faults, nothing is measured during them or on a minority side: null.
    let none = cell("single-copy", "none");
    assert!(none["availability"]["during_faults"].is_null(), "{none}");
    assert!(none["ci95"]["availability"]["minority"].is_null(), "{none}");
    assert_eq!(none["faulted_runs"], 0);
    // No bridge can be built of one replica: the cell says no fault struck.
    assert_eq!(cell("single-copy", "bridge")["faulted_runs"], 0);
    assert_eq!(cell("dynamo", "bridge")["faulted_runs"], 4);
    let text = consim(&[
        "matrix",
        "--seeds",
        "2",
        "--models",
        "single-copy",
        "--scenarios",
        "bridge",
    ]);
    assert!(
        stdout(&text).contains("| bridge (no fault struck) |"),
        "{}",
        stdout(&text)
    );
}

/// The CAP theorem, measured: on the minority side of a partition that lasts, the
/// stores that promise linearizability answer (almost) nobody, and the eventually
/// consistent ones answer (almost) everybody, while every promise holds.
#[test]
fn partition_majority_separates_the_cp_stores_from_the_ap_ones() {
    let out = consim(&["matrix", "--scenarios", "partition-majority", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a promise broke: {}",
        stdout(&out)
    );
    let cells: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let minority = |model: &str| {
        let cell = cells.iter().find(|c| c["model"] == model).unwrap();
        cell["availability"]["minority"].as_f64().unwrap()
    };
    for cp in ["single-copy", "raft", "abd"] {
        assert!(minority(cp) <= 0.05, "{cp}: {}", minority(cp));
    }
    for ap in ["dynamo", "dynamo-crdt"] {
        assert!(minority(ap) >= 0.95, "{ap}: {}", minority(ap));
    }
}

/// The lines of `chapter` between `<!-- {marker}: begin -->` and `<!-- {marker}: end -->`.
/// With `CONSIM_BLESS=1` in the environment, replaces them with `fresh` instead (and the
/// test passes): the way to update the book after a deliberate change.
fn book_section(chapter: &str, marker: &str, fresh: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../book/src")
        .join(chapter);
    consim::shown::check_section(&path, marker, fresh).unwrap_or_else(|e| panic!("{e}"));
}

/// The Markdown table `consim matrix ARGS` prints, which must exit 0 (1 would mean a
/// model broke a promise: the table would show it, but the test says so first).
fn matrix_table(args: &str) -> String {
    let mut argv = vec!["matrix"];
    argv.extend(args.split_whitespace());
    let out = consim(&argv);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let table: String = text
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(table.lines().count() > 2, "{text}");
    table
}

/// The `consim matrix` commands whose tables `chapter` shows: every
/// `<!-- consim matrix ARGS: begin -->` marker's arguments.
fn matrix_markers(chapter: &str) -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../book/src")
        .join(chapter);
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("<!-- consim matrix"))
        .filter_map(|l| l.strip_suffix(": begin -->"))
        .map(|args| args.trim().to_owned())
        .collect()
}

/// Every matrix table in the book is what its command prints now, and each command
/// is also printed above its table for the reader to run.
fn check_matrix_tables(chapter: &str, expected: usize) {
    let markers = matrix_markers(chapter);
    assert_eq!(markers.len(), expected, "{chapter}: {markers:?}");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../book/src")
        .join(chapter);
    let text = std::fs::read_to_string(&path).unwrap();
    for args in markers {
        let shown = format!("cargo run --release -- matrix {args}")
            .trim()
            .to_owned();
        assert!(
            text.contains(&format!("{shown}\n```")),
            "{chapter}: the command `{shown}` is not shown above its table"
        );
        let table = matrix_table(&args);
        let marker = format!("consim matrix {args}").trim().to_owned();
        book_section(chapter, &marker, &table);
    }
}

#[test]
fn the_books_cap_tables_are_what_consim_matrix_prints() {
    check_matrix_tables("cap.md", 8);
}

#[test]
fn the_books_client_tables_are_what_consim_matrix_prints() {
    check_matrix_tables("clients.md", 3);
}

#[test]
fn the_books_map_of_models_shows_what_consim_matrix_prints() {
    check_matrix_tables("consistency-models.md", 1);
}

#[test]
fn matrix_refuses_bad_model_specs_before_the_table() {
    for (spec, needle) in [
        ("raftx", "unknown model `raftx`"),
        ("relay", "unknown model `relay`"),
        ("raft:lease", "`lease` in `raft:lease` is not KEY=VALUE"),
        ("raft:bogus=1", "setting `bogus` is not a setting of raft"),
        (
            "raft:replicas=zero",
            "setting `replicas` is `zero`; it takes a whole number from 1 to 64",
        ),
    ] {
        let out = consim(&["matrix", "--seeds", "1", "--models", spec]);
        assert_eq!(out.status.code(), Some(2), "{spec}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{spec}: {}", stderr(&out));
        assert!(!stdout(&out).contains("| model |"), "{spec}: a table began");
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
}

/// The book's *Debugging a failure* chapter shows what its commands print: a sweep,
/// the shrink of its failure, the shrunk run's page, and the fix on the same run.
#[test]
fn the_books_debugging_chapter_shows_what_consim_prints() {
    let dir = std::env::temp_dir().join(format!("consim-debugging-{}", std::process::id()));
    let harness = consim::harness::Harness::new(models::Builtin)
        .command("cargo run --release --")
        .out(&dir);
    let page = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../book/src/debugging.md");
    let shown = consim::shown::check_page(&harness, &page, "consim");
    assert_eq!(shown.unwrap_or_else(|e| panic!("{e}")), 4);
    // The page the chapter pictures was written.
    let html = std::fs::read_to_string(dir.join("stale-read.html")).unwrap();
    assert!(html.contains("data-fault=\"partition\" data-node=\"4\""));
    std::fs::remove_dir_all(&dir).ok();
}

/// The book's *Raft* chapter shows what consim prints: the model's settings, runs
/// with and without a lease and CheckQuorum, each bug's sweep and shrunk run, and the
/// runs' pictures.
#[test]
fn the_books_raft_chapter_shows_what_consim_prints() {
    check_chapter("raft.md", 18, 4);
}

/// The chapter `file` of the book shows what consim prints: `blocks` marked blocks,
/// each its command's output, and `pictures` pages, each the one its block drew.
fn check_chapter(file: &str, blocks: usize, pictures: usize) {
    let stem = file.trim_end_matches(".md");
    let dir = std::env::temp_dir().join(format!("consim-{stem}-{}", std::process::id()));
    let harness = consim::harness::Harness::new(models::Builtin)
        .command("cargo run --release --")
        .out(&dir);
    let page = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../book/src")
        .join(file);
    let shown = consim::shown::check_page(&harness, &page, "consim");
    assert_eq!(shown.unwrap_or_else(|e| panic!("{e}")), blocks, "{file}");
    let drawn = consim::shown::check_pictures(&page, &dir);
    assert_eq!(drawn.unwrap_or_else(|e| panic!("{e}")), pictures, "{file}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The book's *Single copy* chapter shows what consim prints: the model's settings
/// and matrix, each client-side bug's sweep and shrunk run, and the runs' pictures.
#[test]
fn the_books_single_copy_chapter_shows_what_consim_prints() {
    check_chapter("single-copy.md", 8, 2);
}

/// The book's *Primary-async* chapter shows what consim prints: the model's settings
/// and matrix, the bug's sweep, shrunk run, picture and exploration.
#[test]
fn the_books_primary_async_chapter_shows_what_consim_prints() {
    check_chapter("primary-async.md", 6, 1);
}

/// The book's introduction shows what consim prints: the one table that answers the
/// ledger, profile page and analytics question.
#[test]
fn the_books_introduction_shows_what_consim_prints() {
    check_chapter("introduction.md", 1, 0);
}

/// The book's *Dynamo* chapter shows what consim prints: the model's settings, its
/// matrices under several quorums, and a lost write (which it does not promise to
/// avoid) found by `--require no-lost-writes`, shrunk and pictured.
#[test]
fn the_books_dynamo_chapter_shows_what_consim_prints() {
    check_chapter("dynamo.md", 8, 1);
}

/// The book's *Dynamo-CRDT* chapter shows what consim prints: the model's settings,
/// its matrix beside dynamo's, a small run that is not linearizable, pictured, and
/// the exercises' runs.
#[test]
fn the_books_dynamo_crdt_chapter_shows_what_consim_prints() {
    check_chapter("dynamo-crdt.md", 7, 1);
}

/// The book's *ABD* chapter shows what consim prints: the model's settings and
/// matrix, each bug's sweep and shrunk run, and the runs' pictures.
#[test]
fn the_books_abd_chapter_shows_what_consim_prints() {
    check_chapter("abd.md", 8, 2);
}

/// The book's *Caches, events and outboxes* chapter shows what consim prints: each
/// bug found or shrunk, and the same operations against the fix.
#[test]
fn the_books_caches_chapter_shows_what_consim_prints() {
    let dir = std::env::temp_dir().join(format!("consim-caches-{}", std::process::id()));
    let harness = consim::harness::Harness::new(models::Builtin)
        .command("cargo run --release --")
        .out(&dir);
    let page = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../book/src/caches.md");
    let shown = consim::shown::check_page(&harness, &page, "consim");
    assert_eq!(shown.unwrap_or_else(|e| panic!("{e}")), 13);
    let html = std::fs::read_to_string(dir.join("cache-fill-race.html")).unwrap();
    assert!(html.contains("cache-fill-race"));
    std::fs::remove_dir_all(&dir).ok();
}

/// The book's *Every schedule of a small system* chapter shows what `consim explore`
/// prints: an exhaustive search, the reduction's effect, the bugs and a replay.
#[test]
fn the_books_explore_chapter_shows_what_consim_prints() {
    let dir = std::env::temp_dir().join(format!("consim-explore-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let harness = consim::harness::Harness::new(models::Builtin)
        .command("cargo run --release --")
        .out(&dir);
    let page = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../book/src/explore.md");
    let shown = consim::shown::check_page(&harness, &page, "consim");
    assert_eq!(shown.unwrap_or_else(|e| panic!("{e}")), 10);
    let html = std::fs::read_to_string(dir.join("quorum-overlap.html")).unwrap();
    assert!(html.contains("quorum-overlap / schedule / seed 0"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_books_bug_zoo_is_what_consim_sweep_finds() {
    let list = consim(&["list", "--json"]);
    let variants: Vec<Value> = stdout(&list)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter_map(|l| l.get("model").cloned())
        .filter(|m| !m["variant_of"].is_null())
        .collect();
    let mut table = String::from(
        "| variant | breaks | of model | nemesis | first failing seed | how it fails | swarm: first failing seed in each 1,000 of `0..5000` | median |\n|---|---|---|---|---:|---|---|---:|\n",
    );
    for v in &variants {
        let name = v["name"].as_str().unwrap();
        let scenario = v["default_scenario"].as_str().unwrap();
        let broken: Vec<&str> = v["breaks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        let failing = first_failure(name, scenario, 0..1000)
            .unwrap_or_else(|| panic!("{name} under {scenario}: no failure in 1000 seeds"));
        let how = how_it_fails(name, &failing, &broken);
        // Swarm, the nemesis a user starts with, finds every variant in every range.
        let mut swarm: Vec<u64> = (0..5)
            .map(|range| {
                let seeds = range * 1000..(range + 1) * 1000;
                let failing = first_failure(name, "swarm", seeds.clone())
                    .unwrap_or_else(|| panic!("{name}: swarm finds nothing in {seeds:?}"));
                failing["seed"].as_u64().unwrap() - seeds.start
            })
            .collect();
        let each: Vec<String> = swarm.iter().map(u64::to_string).collect();
        swarm.sort_unstable();
        table += &format!(
            "| `{name}` | {} | `{}` | `{scenario}` | {} | {how} | {} | {} |\n",
            if broken.is_empty() {
                "no guarantee of the history (an invariant)".to_owned()
            } else {
                broken.join(", ")
            },
            v["variant_of"].as_str().unwrap(),
            failing["seed"],
            each.join(", "),
            swarm[2]
        );
    }
    book_section("bug-zoo.md", "consim bug zoo", &table);
}

/// The first run of `model` under `scenario` in `seeds` that fails, as `sweep --json`
/// reports it.
fn first_failure(model: &str, scenario: &str, seeds: std::ops::Range<u64>) -> Option<Value> {
    let range = format!("{}..{}", seeds.start, seeds.end);
    let out_dir = std::env::temp_dir().join(format!("consim-zoo-{}", std::process::id()));
    let out = consim(&[
        "sweep",
        "--model",
        model,
        "--scenario",
        scenario,
        "--seeds",
        &range,
        "--stop-on-failure",
        "--json",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    if out.status.code() == Some(0) {
        return None;
    }
    assert_eq!(out.status.code(), Some(1), "{model}: {}", stderr(&out));
    let failing: Value = serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(failing["failed"], true);
    Some(failing)
}

/// How `failing` (a run of `name`) fails: a guarantee the variant breaks, violated, or
/// a property across replicas broken (which a guarantee's violation may or may not
/// follow in that run). Anything else is not the variant's bug.
fn how_it_fails(name: &str, failing: &Value, broken: &[&str]) -> String {
    let violated: Vec<&str> = failing["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["judgement"]["verdict"] == "violation")
        .map(|x| x["guarantee"].as_str().unwrap())
        .collect();
    if let Some(g) = violated.iter().find(|g| broken.contains(g)) {
        return format!("{g} violated");
    }
    let invariant = failing["broken_invariant"]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: violated {violated:?}, breaks {broken:?}"));
    let property = invariant.split_once(':').unwrap().0;
    format!("invariant broken: {property}")
}

/// Every zoo variant's first failure under its own nemesis shrinks to a run a person
/// can read (at most 10 fault events and 20 operations, 12 at the median), and that
/// run fails the same way. Pinned, so that a change to shrinking or to the runs that
/// moves them is deliberate.
#[test]
fn every_zoo_variant_shrinks_to_a_small_run_that_fails_the_same_way() {
    use consim::config::RunConfig;
    use consim::sweep::{Until, sweep};
    let pinned: &[(&str, u64, usize, usize)] = &[
        ("retry-without-idempotency", 0, 2, 4),
        ("double-submit", 0, 0, 2),
        ("raft-commit-old-term", 4, 8, 14),
        ("raft-stale-read", 8, 3, 3),
        ("raft-lease-drift", 104, 3, 3),
        ("raft-ack-before-sync", 2, 2, 1),
        ("abd-no-write-back", 18, 5, 2),
        ("quorum-overlap", 0, 0, 4),
        ("session-token-ignored", 0, 0, 3),
        ("cache-fill-race", 4, 0, 15),
        ("non-idempotent-consumer", 0, 0, 4),
        ("projection-read-your-writes", 0, 0, 3),
        ("dual-write", 0, 2, 4),
    ];
    let mut measured = Vec::new();
    for info in models::catalog().iter().filter(|m| m.variant_of.is_some()) {
        let mut config = RunConfig::new(info.name, 0);
        config.nemesis = consim::nemesis::Nemesis::from_name(info.default_scenario).unwrap();
        let seeds: Vec<u64> = (0..1000).collect();
        let totals = sweep(&config, &seeds, 2, Until::FirstFailure, |_| {}).unwrap();
        config.seed = totals.first_failure.expect("the variant fails");
        let shrunk = consim::shrink::shrink(&config, 2_000).unwrap().unwrap();
        assert!(shrunk.runs < 2_000, "{}: the budget ran out", info.name);
        let (faults, ops) = (shrunk.size.faults, shrunk.size.ops);
        assert!(
            faults <= 10 && ops <= 20,
            "{}: {:?}",
            info.name,
            shrunk.size
        );
        // The shrunk configuration (what the printed replay runs) fails as the
        // original did: the same guarantee, or the same invariant.
        let again = failure_of(&consim::run::run(&shrunk.config).unwrap());
        let original = failure_of(&consim::run::run(&config).unwrap());
        match (&original, &again) {
            (Err(a), Err(b)) => assert_eq!(a, b, "{}", info.name),
            (Ok(a), Ok(b)) => assert!(a.iter().any(|g| b.contains(g)), "{}", info.name),
            _ => panic!("{}: {original:?} then {again:?}", info.name),
        }
        measured.push((info.name, config.seed, faults, ops));
    }
    assert_eq!(measured, pinned);
    let mut ops: Vec<usize> = measured.iter().map(|m| m.3).collect();
    ops.sort_unstable();
    assert!(ops[ops.len() / 2] <= 12, "{ops:?}");
}

/// How a run failed, as the shrinker tells failures apart: the invariant broken (its
/// name), or else the guarantees violated that were promised or broken on purpose.
fn failure_of(report: &consim::report::RunReport) -> Result<Vec<models::Guarantee>, String> {
    if let Some(broken) = report.broken_invariant.as_deref() {
        return Err(broken
            .split_once(':')
            .map_or(broken, |(name, _)| name)
            .to_owned());
    }
    Ok(report
        .verdicts
        .iter()
        .filter(|v| v.role != consim::report::Role::Measured)
        .filter(|v| matches!(v.judgement, consim::report::Judgement::Violation { .. }))
        .map(|v| v.guarantee)
        .collect())
}

/// Shrinking runs its phases to a fixpoint: shrinking its result again finds nothing
/// more to remove, and the result fails the guarantee the original run failed.
#[test]
fn a_shrunk_run_does_not_shrink_further() {
    use consim::nemesis::Nemesis;
    let mut config = consim::config::RunConfig::new("raft-ack-before-sync", 2);
    config.nemesis = Nemesis::CrashRestart;
    let first = consim::shrink::shrink(&config, 2_000)
        .unwrap()
        .expect("seed 2 fails");
    let rounds = first.rounds.last().expect("a round").round;
    assert!(
        first.runs < 2_000,
        "the budget ran out first: {:?}",
        first.rounds
    );
    assert!(rounds >= 2, "{:?}", first.rounds);
    let again = consim::shrink::shrink(&first.config, 2_000)
        .unwrap()
        .expect("still fails");
    assert_eq!(again.size, first.size);
    assert_eq!(again.plan, first.plan);
    assert_eq!(again.script, first.script);
    // The original run breaks Raft's leader completeness before anything else; so
    // does the shrunk one.
    let property = |r: &consim::report::RunReport| {
        let broken = r.broken_invariant.clone().expect("an invariant breaks");
        broken.split_once(':').expect("name: details").0.to_owned()
    };
    let original = consim::run::run(&config).unwrap();
    assert_eq!(property(&first.report), property(&original));
    assert_eq!(property(&original), "leader completeness");
}

#[test]
fn shrink_cuts_a_failing_run_down_and_its_replay_still_fails() {
    let dir = std::env::temp_dir().join(format!("consim-shrink-{}", std::process::id()));
    let out = consim(&[
        "shrink",
        "--model",
        "retry-without-idempotency",
        "--scenario",
        "flaky-network",
        "--seed",
        "1",
        "--out",
        dir.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let line = json_line(&out);
    let faults = line["faults"].as_u64().unwrap();
    assert!(faults < line["original_faults"].as_u64().unwrap(), "{line}");
    assert!(line["ops"].as_u64().unwrap() <= line["original_ops"].as_u64().unwrap());
    // One client appending to one key twice (the retry) is all this bug needs.
    assert_eq!(
        (line["clients"].as_u64(), line["original_clients"].as_u64()),
        (Some(1), Some(5)),
        "{line}"
    );
    assert_eq!(
        (line["keys"].as_u64(), line["original_keys"].as_u64()),
        (Some(1), Some(4)),
        "{line}"
    );
    let replay = line["replay"]
        .as_str()
        .unwrap()
        .strip_prefix("cargo run --release -- ")
        .unwrap();
    assert!(
        replay.contains(" --clients 1") && replay.contains(" --keys 1"),
        "{replay}"
    );
    let again = consim(&replay.split_whitespace().collect::<Vec<_>>());
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
    assert!(stdout(&again).contains("linearizable (the bug's target): VIOLATION"));
    // A run that does not fail has nothing to shrink.
    let fine = consim(&["shrink", "--model", "single-copy", "--seed", "1"]);
    assert_eq!(fine.status.code(), Some(0));
    assert!(stdout(&fine).contains("nothing to shrink"));
    std::fs::remove_dir_all(&dir).ok();
}

/// An open loop's failure shrinks from the operations that arrived, and its replay
/// keeps their arrival times (in its script).
#[test]
fn an_open_loop_failure_shrinks_and_its_replay_keeps_the_arrivals() {
    let dir = std::env::temp_dir().join(format!("consim-shrink-open-{}", std::process::id()));
    let out = consim(&[
        "shrink",
        "--model",
        "session-token-ignored",
        "--scenario",
        "one-way",
        "--rate",
        "5",
        "--seed",
        "0",
        "--out",
        dir.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let line = json_line(&out);
    let original = line["original_ops"].as_u64().unwrap();
    assert!((50..150).contains(&original), "{line}");
    assert!(line["ops"].as_u64().unwrap() < original, "{line}");
    let replay = line["replay"].as_str().unwrap();
    assert!(replay.contains(" --script "), "{replay}");
    let script = std::fs::read_to_string(line["script"].as_str().unwrap()).unwrap();
    assert!(
        script.lines().all(|l| l.contains("\"arrival\":")),
        "{script}"
    );
    let args: Vec<&str> = replay
        .strip_prefix("cargo run --release -- ")
        .unwrap()
        .split_whitespace()
        .collect();
    let again = consim(&args);
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
    assert!(stdout(&again).contains("read-your-writes (the bug's target): VIOLATION"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Convergence is judged on the reads taken after healing and quiet (which the runner
/// marks final), not on every read that happens to follow a key's last write: a
/// lagging follower of primary-async may serve a read during the active phase, after
/// the last append to its key was acknowledged, without it; asynchronous replication
/// allows that, and the final reads all have it. Among the first swarm seeds some show
/// such a read; each passes, and `consim check` on its saved history agrees.
#[test]
fn a_stale_read_before_the_final_reads_is_not_divergence() {
    let mut shown = 0;
    for seed in 0..60 {
        let history = temp_file(&format!("primary-async-{seed}.jsonl"), "");
        let path = history.to_str().unwrap();
        let seed_text = seed.to_string();
        let out = consim(&[
            "run",
            "--model",
            "primary-async",
            "--scenario",
            "swarm",
            "--seed",
            &seed_text,
            "--history",
            path,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
        let events: Vec<Value> = std::fs::read_to_string(&history)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let Some(start) = events.iter().position(|e| e["final"] == true) else {
            panic!("seed {seed}: no final reads marked");
        };
        let stale_key = (0..4).find(|&key| {
            let is =
                |e: &Value, ty: &str, f: &str| e["type"] == ty && e["f"] == f && e["key"] == key;
            let Some(last) = (0..start).rfind(|&i| is(&events[i], "ok", "append")) else {
                return false;
            };
            let appended = &events[last]["value"];
            let lacks = |e: &Value| !e["value"].as_array().unwrap().contains(appended);
            let stale = events[last..start]
                .iter()
                .any(|e| is(e, "ok", "read") && lacks(e));
            let finals_have_it = events[start..]
                .iter()
                .filter(|e| is(e, "ok", "read"))
                .all(|e| !lacks(e));
            stale && finals_have_it
        });
        if stale_key.is_some() {
            shown += 1;
            let check = consim(&["check", "--consistency", "convergence", path]);
            assert_eq!(
                check.status.code(),
                Some(0),
                "seed {seed}: {}",
                stdout(&check)
            );
        }
    }
    assert!(
        shown > 0,
        "no seed shows a stale read before the final reads"
    );
}

/// Swarm seeds that once broke a promise, each for a model bug since fixed: `abd` gave
/// two writes one coordinator ran concurrently the same stamp (1, 17, 19); `dynamo`
/// and `dynamo-crdt` let fallbacks that held nothing make up a read quorum, so a final
/// read (or an append's read, which then wrote a list of one element) found nothing
/// (33, 100, 204; 82, 96).
#[test]
fn swarm_seeds_that_found_model_bugs_pass() {
    for (model, seed) in [
        ("abd", "1"),
        ("abd", "17"),
        ("abd", "19"),
        ("dynamo", "33"),
        ("dynamo", "100"),
        ("dynamo", "204"),
        ("dynamo-crdt", "82"),
        ("dynamo-crdt", "96"),
    ] {
        let out = consim(&[
            "run",
            "--model",
            model,
            "--scenario",
            "swarm",
            "--seed",
            seed,
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{model} seed {seed}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn check_elle_explains_each_cycle_and_names_the_models_ruled_out() {
    // Process 0 appends 1 and then reads x without it.
    let history = temp_file(
        "g-single.jsonl",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"append\",\"key\":\"x\",\"value\":1}\n\
         {\"process\":0,\"type\":\"ok\",\"f\":\"append\",\"key\":\"x\",\"value\":1}\n\
         {\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\",\"value\":null}\n\
         {\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":[]}\n",
    );
    let out = consim(&["check", "--consistency", "elle", history.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("violation (2 ops, list-append, dependency graph"),
        "{text}"
    );
    assert!(
        text.contains(
            "G-single-item-process: 1 found; first: Let T1 = process 0 append 1 to x (line 1)"
        ),
        "{text}"
    );
    assert!(text.contains(": a contradiction!"), "{text}");
    assert!(
        text.contains("rules out: read-your-writes, strong-session-snapshot-isolation"),
        "{text}"
    );
    let json = json_line(&consim(&[
        "check",
        "--consistency",
        "elle",
        "--json",
        history.to_str().unwrap(),
    ]));
    assert_eq!(json["verdict"], "violation");
    assert_eq!(
        json["anomaly_types"],
        serde_json::json!(["G-single-item-process", "read-your-writes"])
    );
    assert_eq!(json["anomalies"][0]["lines"], serde_json::json!([1, 3]));
    assert_eq!(json["anomalies"][0]["steps"][1]["rel"], "rw");
    assert_eq!(json["anomalies"][0]["steps"][1]["from_line"], 3);
    assert_eq!(
        json["not"],
        serde_json::json!(["read-your-writes", "strong-session-snapshot-isolation"])
    );
}

#[test]
fn check_elle_reads_transactions_and_refuses_malformed_ones() {
    // A transactional history (Elle's G2-item), and a malformed one.
    let g2 = temp_file(
        "g2.edn",
        "{:process 0, :type :invoke, :f :txn, :value [[:append :x 1] [:r :y nil]]}\n\
         {:process 1, :type :invoke, :f :txn, :value [[:append :y 1] [:r :x nil]]}\n\
         {:process 0, :type :ok, :f :txn, :value [[:append :x 1] [:r :y []]]}\n\
         {:process 1, :type :ok, :f :txn, :value [[:append :y 1] [:r :x []]]}\n",
    );
    let json = json_line(&consim(&[
        "check",
        "--consistency",
        "elle",
        "--json",
        g2.to_str().unwrap(),
    ]));
    assert_eq!(json["anomaly_types"], serde_json::json!(["G2-item"]));
    assert_eq!(json["not"], serde_json::json!(["repeatable-read"]));
    let bad = temp_file(
        "bad.edn",
        "{:process 0, :type :invoke, :f :txn, :value [[:append :x 1]]}\n\
         {:process 0, :type :ok, :f :txn, :value [[:frob :x 1]]}\n",
    );
    let out = consim(&["check", "--consistency", "elle", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("{}:2: expected a micro-operation", bad.display())),
        "{}",
        stderr(&out)
    );
    let fine = temp_file(
        "fine.jsonl",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"append\",\"key\":\"x\",\"value\":1}\n\
         {\"process\":0,\"type\":\"ok\",\"f\":\"append\",\"key\":\"x\",\"value\":1}\n\
         {\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\",\"value\":null}\n\
         {\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":[1]}\n",
    );
    let out = consim(&["check", "--consistency", "elle", fine.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains(": ok (2 ops, list-append, dependency graph"));
}

/// Elle's G2-item in EDN transactions: each of two concurrent transactions appends to
/// one key and reads the other's initial state (repeatable read forbids it, snapshot
/// isolation allows it). Process 1's append to x completed before process 2's
/// transaction began, which read x without it: a G-single-item-realtime cycle too
/// (strong snapshot isolation forbids it).
const G2_AND_A_STALE_READ: &str = "\
{:process 1, :type :invoke, :f :txn, :value [[:append :x 0]]}
{:process 1, :type :ok, :f :txn, :value [[:append :x 0]]}
{:process 0, :type :invoke, :f :txn, :value [[:append :x 1] [:r :y nil]]}
{:process 2, :type :invoke, :f :txn, :value [[:append :y 1] [:r :x nil]]}
{:process 0, :type :ok, :f :txn, :value [[:append :x 1] [:r :y []]]}
{:process 2, :type :ok, :f :txn, :value [[:append :y 1] [:r :x []]]}
";

#[test]
fn check_elle_reports_only_what_the_requested_models_prohibit() {
    let history = temp_file("g2-stale.edn", G2_AND_A_STALE_READ);
    let file = history.to_str().unwrap();
    let all = json_line(&consim(&["check", "--consistency", "elle", "--json", file]));
    assert_eq!(
        all["anomaly_types"],
        serde_json::json!(["G-single-item-realtime", "G2-item"])
    );
    let args = [
        "check",
        "--consistency",
        "elle",
        "--consistency-models",
        "snapshot-isolation,repeatable-read",
    ];
    let json = json_line(&consim(&[&args[..], &["--json", file]].concat()));
    assert_eq!(json["verdict"], "violation");
    assert_eq!(json["anomaly_types"], serde_json::json!(["G2-item"]));
    assert_eq!(json["not"], serde_json::json!(["repeatable-read"]));
    assert_eq!(
        json["unreported_types"],
        serde_json::json!(["G-single-item-realtime"])
    );
    let out = consim(&[&args[..], &[file]].concat());
    let text = stdout(&out);
    assert!(
        text.contains("dependency graph against snapshot-isolation, repeatable-read"),
        "{text}"
    );
    assert!(
        text.contains(
            "also found, but prohibited by none of snapshot-isolation, repeatable-read: G-single-item-realtime"
        ),
        "{text}"
    );
    // Snapshot isolation alone allows both cycles: the history is fine for it.
    let out = consim(&[
        "check",
        "--consistency",
        "elle",
        "--consistency-models",
        "snapshot-isolation",
        file,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn consistency_models_are_checked_names() {
    let history = temp_file("g2-stale-names.edn", G2_AND_A_STALE_READ);
    let file = history.to_str().unwrap();
    let out = consim(&[
        "check",
        "--consistency",
        "elle",
        "--consistency-models",
        "snapshot",
        file,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("possible values: read-uncommitted"),
        "{}",
        stderr(&out)
    );
    let out = consim(&["check", "--consistency-models", "serializable", file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("it takes --consistency elle (or all)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_all_on_transactions_judges_them_by_the_dependency_graph_alone() {
    let history = temp_file("g2-stale-all.edn", G2_AND_A_STALE_READ);
    let file = history.to_str().unwrap();
    let out = consim(&["check", "--consistency", "all", "--json", file]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the dependency graph's violation decides: {}",
        stderr(&out)
    );
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let verdicts: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["consistency"].as_str().unwrap(),
                l["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("linearizable", "not-applicable"),
            ("session", "not-applicable"),
            ("elle", "violation"),
            ("convergence", "not-applicable")
        ]
    );
    assert!(
        lines[0]["reason"]
            .as_str()
            .unwrap()
            .contains("a history of transactions"),
        "{}",
        lines[0]
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let out = consim(&["check", "--consistency", "all", file]);
    assert!(
        stdout(&out).contains(": linearizability not applicable: a history of transactions"),
        "{}",
        stdout(&out)
    );
    // Asked for alone, a check that cannot judge it is an error that says why.
    for consistency in ["linearizable", "session", "convergence"] {
        let out = consim(&["check", "--consistency", consistency, file]);
        assert_eq!(out.status.code(), Some(2), "{consistency}");
        let expected = format!(
            "{file}: a history of transactions of several micro-operations: --consistency {consistency} judges single operations"
        );
        assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
    }
}

#[test]
fn nonsense_model_parameters_are_refused_naming_the_parameter() {
    for (args, needle) in [
        (&["--model", "dynamo", "--param", "r=5"][..], "setting `r`"),
        (
            &["--model", "single-copy", "--replicas", "3"][..],
            "model `single-copy`: setting `replicas` is `3`; it takes exactly 1",
        ),
        (
            &["--model", "raft", "--replicas", "0"][..],
            "setting `replicas` is `0`",
        ),
        (
            &["--model", "raft", "--param", "lease-ms=400"][..],
            "setting `lease-ms`",
        ),
        (
            &["--model", "abd", "--param", "r=1", "--param", "w=1"][..],
            "r + w > n",
        ),
        (
            &["--model", "dynamo", "--param", "n=abc"][..],
            "setting `n` is `abc`; it takes a whole number from 1 to 64",
        ),
    ] {
        let mut all = vec!["sweep", "--seeds", "0..10"];
        all.extend_from_slice(args);
        let out = consim(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
}

mod properties {
    use consim::config::RunConfig;
    use consim::run::{run, validate};
    use consim::strategies::{params, scenario};
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    /// Every model accepts every setting the strategies generate for it (a refused one
    /// would make the property tests skip what they claim to cover).
    #[test]
    fn generated_model_settings_are_accepted() {
        let mut runner = TestRunner::deterministic();
        for info in models::catalog() {
            for _ in 0..200 {
                let generated = params(info.name).new_tree(&mut runner).unwrap().current();
                let mut config = RunConfig::new(info.name, 0);
                config.params = generated.clone();
                assert!(
                    validate(&config).is_ok(),
                    "{} refuses {generated:?}: {:?}",
                    info.name,
                    validate(&config)
                );
            }
        }
    }

    /// Every correct model the catalog has: adding a model adds it here.
    fn correct_models() -> Vec<&'static str> {
        models::correct_models().map(|m| m.name).collect()
    }

    /// 128 cases, or `PROPTEST_CASES` to look harder.
    fn cases() -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(128)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]

        /// Every correct model of the catalog keeps what it promises in any generated
        /// scenario: any nemesis, workload, model settings, client count and client
        /// settings. A failure prints the command that replays it.
        #[test]
        fn correct_models_keep_their_promises(
            config in prop::sample::select(correct_models()).prop_flat_map(scenario)
        ) {
            let report = run(&config).unwrap();
            let info = models::Catalog::find(&models::Builtin, &config.model).expect("a catalog model");
            let replay = config
                .replay_args(&info, consim::config::ReplayFiles::NONE)
                .map_or_else(|e| e.to_string(), |a| a.join(" "));
            prop_assert!(
                !report.failed(),
                "{} seed {} under {}: {:?} {:?}\nreplay: cargo run --release -- run {replay}",
                config.model,
                config.seed,
                config.nemesis.name(),
                report.panic,
                report.verdicts
            );
            prop_assert_eq!(report.ops.unfinished, 0);
        }
    }
}

/// Two runs per model, pinned: seed 1 under the model's default nemesis and under
/// swarm, each run's trace hash and whether it failed. A change that alters runs fails here first; if the
/// change is deliberate, re-pin the hashes in the same commit and say why in its
/// message. A model added to the catalog fails here, printing the line that pins it.
#[test]
fn golden_trace_hashes_per_model() {
    for info in models::catalog() {
        let mut scenarios = vec![info.default_scenario];
        if info.default_scenario != "swarm" {
            scenarios.push("swarm");
        }
        for scenario in scenarios {
            let mut config = consim::config::RunConfig::new(info.name, 1);
            config.nemesis = consim::nemesis::Nemesis::from_name(scenario).unwrap();
            let report = consim::run::run(&config).unwrap();
            let measured = (format!("{:016x}", report.trace_hash), report.failed());
            let pinned = GOLDEN.iter().find(|g| (g.0, g.1) == (info.name, scenario));
            let Some(&(_, _, hash, failed)) = pinned else {
                panic!(
                    "{name} under {scenario} has no golden trace hash; pin its run with this line:\n\
                     (\"{name}\", \"{scenario}\", \"{}\", {}),",
                    measured.0,
                    measured.1,
                    name = info.name,
                );
            };
            assert_eq!(
                measured,
                (hash.to_owned(), failed),
                "{} under {scenario} seed 1",
                info.name
            );
        }
    }
}

/// The golden runs: model, nemesis, trace hash, whether it failed. Re-pinned when each
/// link got its own random stream and swarm gained deaf-leader (which changes every
/// swarm schedule).
const GOLDEN: &[(&str, &str, &str, bool)] = &[
    ("single-copy", "crash-restart", "e1b7bdf6ad9d2099", false),
    ("single-copy", "swarm", "3fa6768420f89271", false),
    (
        "retry-without-idempotency",
        "pause",
        "80abad372e31fb8b",
        true,
    ),
    (
        "retry-without-idempotency",
        "swarm",
        "3fa6768420f89271",
        false,
    ),
    ("double-submit", "none", "684458e9b385bbcb", true),
    ("double-submit", "swarm", "baad3a2abdcdb33d", true),
    ("raft", "swarm", "84068b771a9c61e6", false),
    (
        "raft-commit-old-term",
        "leader-churn",
        "d2894447b1994784",
        false,
    ),
    ("raft-commit-old-term", "swarm", "98320901c4f27b61", false),
    (
        "raft-stale-read",
        "isolate-leader",
        "69d7c8cf3938ecd7",
        false,
    ),
    ("raft-stale-read", "swarm", "9e36eaed1ef22472", false),
    ("raft-lease-drift", "swarm", "c0fa53bc68619403", false),
    (
        "raft-ack-before-sync",
        "crash-restart",
        "330844dcd2ba4910",
        false,
    ),
    ("raft-ack-before-sync", "swarm", "8accb51dd35e3c8d", false),
    ("abd", "crash-restart", "17aa2bb71d6b2e22", false),
    ("abd", "swarm", "59e323d17a0f0045", false),
    ("abd-no-write-back", "swarm", "02cd6d76a48ac609", false),
    ("quorum-overlap", "one-way", "af23d3daff7e88cf", true),
    ("quorum-overlap", "swarm", "14cce87c3fc82e2b", true),
    (
        "primary-async",
        "partition-halves",
        "0c662a5309e10d90",
        false,
    ),
    ("primary-async", "swarm", "d52e3c88855ee88f", false),
    ("session-token-ignored", "one-way", "2caf884a8aabea1c", true),
    ("session-token-ignored", "swarm", "3644f3b5f93b2b99", true),
    ("dynamo", "clock-skew", "a1efc8cd41b17e7f", false),
    ("dynamo", "swarm", "ce354203904aec1b", false),
    ("dynamo-crdt", "partition-halves", "ad5e2295f8a52c9c", false),
    ("dynamo-crdt", "swarm", "2c57483efd4ef5f0", false),
    ("cache-aside", "swarm", "eb5d7a797542e842", false),
    ("cache-fill-race", "none", "6109eb9fd6176793", false),
    ("cache-fill-race", "swarm", "e8b134c4347ac620", false),
    ("event-sourced", "crash-restart", "1083f4e540d2a355", false),
    ("event-sourced", "swarm", "a5936df0dcb4af48", false),
    ("non-idempotent-consumer", "none", "72dbdc5967e1a48e", true),
    ("non-idempotent-consumer", "swarm", "a5936df0dcb4af48", true),
    (
        "projection-read-your-writes",
        "none",
        "2ed4de8f88e7ef18",
        true,
    ),
    (
        "projection-read-your-writes",
        "swarm",
        "ac7274c773fb1c04",
        true,
    ),
    ("outbox", "crash-restart", "c789304e15bd1582", false),
    ("outbox", "swarm", "d3ecdf98989bc66b", false),
    ("dual-write", "flaky-network", "fc850818db8a5bc8", true),
    ("dual-write", "swarm", "72e8cff9474f356e", true),
];

/// Sweeps `model` (with `settings`) under `nemesis` on seeds `0..seeds`.
fn sweep_totals(
    model: &str,
    settings: &[(&str, &str)],
    nemesis: &str,
    seeds: u64,
) -> consim::sweep::SweepTotals {
    use consim::config::RunConfig;
    let mut config = RunConfig::new(model, 0);
    config.nemesis = consim::nemesis::Nemesis::from_name(nemesis).unwrap();
    for (key, value) in settings {
        config.params = config.params.with(key, value);
    }
    let seeds: Vec<u64> = (0..seeds).collect();
    consim::sweep::sweep(&config, &seeds, 2, consim::sweep::Until::AllSeeds, |_| {}).unwrap()
}

/// The seed statistics the models' docs quote (models/src: retry_without_idempotency.rs,
/// abd.rs, primary_async.rs), pinned: for each variant and nemesis, the first failing
/// seed of `0..200` and how many of the 200 fail. A change that moves them re-pins
/// them here and in the docs, in the same commit.
#[test]
fn the_bug_zoos_seed_statistics() {
    let pinned: &[(&str, &str, Option<u64>, u64)] = &[
        ("retry-without-idempotency", "pause", Some(0), 188),
        ("retry-without-idempotency", "flaky-network", Some(0), 192),
        ("retry-without-idempotency", "isolate-leader", Some(4), 83),
        (
            "retry-without-idempotency",
            "partition-halves",
            Some(0),
            126,
        ),
        ("retry-without-idempotency", "crash-restart", None, 0),
        ("retry-without-idempotency", "clock-skew", None, 0),
        ("retry-without-idempotency", "one-way", None, 0),
        ("retry-without-idempotency", "none", None, 0),
        ("double-submit", "none", Some(0), 200),
        ("double-submit", "swarm", Some(0), 200),
        ("abd-no-write-back", "swarm", Some(18), 10),
        ("abd-no-write-back", "crash-restart", Some(25), 7),
        ("abd-no-write-back", "partition-halves", None, 0),
        ("abd-no-write-back", "none", Some(180), 1),
        ("quorum-overlap", "one-way", Some(0), 200),
        ("quorum-overlap", "none", Some(0), 181),
        ("session-token-ignored", "one-way", Some(0), 200),
        ("session-token-ignored", "leader-churn", Some(0), 200),
        ("cache-fill-race", "none", Some(4), 33),
        ("cache-fill-race", "swarm", Some(8), 24),
        ("non-idempotent-consumer", "none", Some(0), 200),
        ("projection-read-your-writes", "none", Some(0), 197),
        ("dual-write", "flaky-network", Some(0), 171),
        ("dual-write", "none", None, 0),
    ];
    let mut measured = Vec::new();
    for &(model, nemesis, _, _) in pinned {
        let totals = sweep_totals(model, &[], nemesis, 200);
        measured.push((model, nemesis, totals.first_failure, totals.failures));
    }
    assert_eq!(measured, pinned);
}

/// raft.rs says why CheckQuorum is off by default: under the standard nemeses it
/// costs availability. Pinned: operations that took effect, of all, over seeds
/// `0..200` with PreVote on, without and with CheckQuorum.
#[test]
fn check_quorum_costs_availability_under_the_standard_nemeses() {
    let mut measured = Vec::new();
    for nemesis in ["crash-restart", "swarm"] {
        for check_quorum in ["false", "true"] {
            let settings = [("check-quorum", check_quorum)];
            let totals = sweep_totals("raft", &settings, nemesis, 200);
            assert_eq!(totals.failures, 0, "raft under {nemesis}");
            let all = totals.ops.ok + totals.ops.fail + totals.ops.info + totals.ops.unfinished;
            measured.push((nemesis, check_quorum, totals.ops.ok, all));
        }
    }
    let pinned = [
        // 99.5% and 99.1%.
        ("crash-restart", "false", 39_802, 40_000),
        ("crash-restart", "true", 39_634, 40_000),
        // 96.8% and 96.2%.
        ("swarm", "false", 38_717, 40_000),
        ("swarm", "true", 38_473, 40_000),
    ];
    assert_eq!(measured, pinned);
}

/// Raft's cross-replica invariants are checked in every run of the runner, so a sweep
/// of a variant that breaks one reports it: `raft-commit-old-term` commits an entry
/// of an old term by counting replicas, which a later leader may overwrite.
#[test]
fn a_sweep_reports_raft_invariants_a_variant_breaks() {
    use consim::config::RunConfig;
    let mut config = RunConfig::new("raft-commit-old-term", 0);
    config.nemesis = consim::nemesis::Nemesis::LeaderChurn;
    let seeds: Vec<u64> = (0..50).collect();
    let mut broken = Vec::new();
    consim::sweep::sweep(
        &config,
        &seeds,
        2,
        consim::sweep::Until::AllSeeds,
        |report| {
            if let Some(invariant) = &report.broken_invariant {
                assert!(report.failed(), "seed {}: {invariant}", report.seed);
                broken.push((report.seed, invariant.clone()));
            }
        },
    )
    .unwrap();
    let seeds: Vec<u64> = broken.iter().map(|b| b.0).collect();
    assert_eq!(seeds, [4, 9, 20, 25, 30, 34, 47], "{broken:#?}");
    // Figure 8 of the Raft paper: the overwritten entry is missing from a later leader.
    for (seed, invariant) in &broken {
        assert!(
            invariant.starts_with("leader completeness: "),
            "seed {seed}: {invariant}"
        );
    }
    // The correct model keeps them on the same seeds.
    config.model = "raft".to_owned();
    consim::sweep::sweep(
        &config,
        &seeds,
        2,
        consim::sweep::Until::AllSeeds,
        |report| {
            assert_eq!(report.broken_invariant, None, "raft seed {}", report.seed);
        },
    )
    .unwrap();
}

mod explore {
    use super::*;

    #[test]
    fn exploring_abd_exhausts_the_space_and_prints_what_it_did() {
        let out = consim(&[
            "explore",
            "--model",
            "abd",
            "--replicas",
            "3",
            "--clients",
            "2",
            "--ops",
            "1",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains("ok: every reachable state expanded"),
            "{text}"
        );
        assert!(text.contains("states: 5658 distinct"), "{text}");
        assert!(text.contains("states/s"), "{text}");
    }

    #[test]
    fn a_violation_exits_1_and_its_saved_schedule_replays_to_the_same_violation() {
        let schedule = temp_file("schedule.json", "");
        let path = schedule.to_str().unwrap();
        let out = consim(&[
            "explore",
            "--model",
            "quorum-overlap",
            "--pattern",
            "w/r",
            "--save-schedule",
            path,
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains("VIOLATION after 6 steps: linearizable: stale-read"),
            "{text}"
        );
        let again = consim(&["explore", "--replay", path]);
        assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
        let replayed = stdout(&again);
        assert!(replayed.contains("(6 steps)"), "{replayed}");
        assert!(
            replayed.contains("VIOLATION: linearizable: stale-read"),
            "{replayed}"
        );
        let json = consim(&["--json", "explore", "--replay", path]);
        assert_eq!(json_line(&json)["steps"].as_array().map(Vec::len), Some(6));
        // `consim run` follows it too, as a run: its report, its picture.
        let page = temp_file("schedule.html", "");
        let run = consim(&[
            "run",
            "--model",
            "quorum-overlap",
            "--schedule",
            path,
            "--viz",
            page.to_str().unwrap(),
        ]);
        assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
        let text = stdout(&run);
        assert!(text.starts_with("FAILED model=quorum-overlap scenario=schedule seed=0 events=6 deliveries=4 simulated=6ms"), "{text}");
        assert!(
            text.contains("linearizable (the bug's target): VIOLATION: stale-read"),
            "{text}"
        );
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(
            html.contains("quorum-overlap / schedule / seed 0"),
            "the page names the run"
        );
        let twice = consim(&["run", "--model", "quorum-overlap", "--schedule", path]);
        assert_eq!(
            stdout(&twice).lines().next(),
            text.lines().next(),
            "bit for bit: the same trace hash"
        );
        let wrong = consim(&["run", "--model", "abd", "--schedule", path]);
        assert_eq!(wrong.status.code(), Some(2));
        assert!(
            stderr(&wrong).contains("the schedule is of model quorum-overlap, not abd"),
            "{}",
            stderr(&wrong)
        );
    }

    #[test]
    fn bad_input_to_explore_exits_2_with_what_was_expected() {
        let out = consim(&["explore", "--model", "abd", "--pattern", "wq"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("letters w, r, c, a"),
            "{}",
            stderr(&out)
        );
        let out = consim(&["explore", "--model", "raft"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("raft does not offer exploration"),
            "{}",
            stderr(&out)
        );
        let bad = temp_file("bad-schedule.json", "{\"config\": 1}");
        let out = consim(&["explore", "--replay", bad.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("bad-schedule.json:1:"),
            "{}",
            stderr(&out)
        );
        let zero = r#"{"config":{"model":"abd","params":[],"pattern":"w/r","budget":{"drops":0,"duplicates":0,"crashes":0,"timer_firings":0},"reduction":"sleep-sets","max_states":10,"seed":0,"timeout_ms":500,"attempts":0},"schedule":{"steps":[]}}"#;
        let zero = temp_file("zero-attempts.json", zero);
        let out = consim(&["explore", "--replay", zero.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("attempts is 0; a client makes 1 to 100 attempts"),
            "{}",
            stderr(&out)
        );
    }

    #[test]
    fn a_state_budget_that_runs_out_is_unknown_exit_3() {
        for (flag, value, says) in [
            ("--max-states", "1000", "unknown: more than 1000 states"),
            ("--max-memory", "64M", "over --max-memory 64 MiB"),
        ] {
            let out = consim(&[
                "explore",
                "--model",
                "abd",
                "--pattern",
                "wr/wr",
                flag,
                value,
            ]);
            assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
            assert!(stdout(&out).contains(says), "{flag}: {}", stdout(&out));
        }
    }
}

/// `--service-ms` gives the replicas a capacity: at 70 % of it (100 clients at 7
/// operations a second each, against 1 ms per message), requests queue; without it,
/// the same run queues nothing. A failing run's replay line carries the flags.
#[test]
fn run_with_a_capacity_queues_and_replays_with_its_flags() {
    let base = [
        "run",
        "--model",
        "single-copy",
        "--scenario",
        "none",
        "--clients",
        "100",
        "--rate",
        "7",
        "--seed",
        "1",
        "--json",
    ];
    let stats = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let out = consim(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        json_line(&out)["stats"].clone()
    };
    let loaded = stats(&["--service-ms", "1"]);
    assert!(loaded["queued"].as_u64().unwrap() > 100, "{loaded}");
    assert_eq!(loaded["dropped_overload"], 0);
    let tight = stats(&["--service-ms", "1", "--queue-bound", "1"]);
    assert!(tight["dropped_overload"].as_u64().unwrap() > 0, "{tight}");
    let unlimited = stats(&[]);
    assert_eq!(
        (
            unlimited["queued"].as_u64(),
            unlimited["dropped_overload"].as_u64()
        ),
        (Some(0), Some(0))
    );
    let out = consim(&[
        "run",
        "--model",
        "quorum-overlap",
        "--seed",
        "2",
        "--service-ms",
        "0.5",
        "--service-dist",
        "constant",
        "--queue-bound",
        "50",
        "--retry",
        "decorrelated-jitter",
        "--retry-budget",
        "0.2",
    ]);
    let text = stdout(&out);
    assert!(
        text.contains("--retry decorrelated-jitter --retry-budget 0.2 --service-ms 0.5 --service-dist constant --queue-bound 50"),
        "{text}"
    );
}

#[test]
fn capacity_and_retry_flags_refuse_bad_values_naming_the_flag() {
    for (flag, value) in [
        ("--service-ms", "0"),
        ("--service-ms", "-1"),
        ("--queue-bound", "0"),
        ("--retry-budget", "1.5"),
        ("--retry", "sometimes"),
    ] {
        let mut args = vec!["run", "--model", "single-copy", flag, value];
        if flag == "--queue-bound" {
            args.extend(["--service-ms", "1"]);
        }
        let out = consim(&args);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(stderr(&out).contains(flag), "{flag}: {}", stderr(&out));
    }
    let out = consim(&["run", "--model", "single-copy", "--queue-bound", "5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--service-ms"), "{}", stderr(&out));
}

#[test]
fn overload_flags_refuse_bad_values_naming_the_flag() {
    for (args, flag) in [
        (&["--rate", "0"][..], "--rate"),
        (&["--deadline-ms", "0"], "--deadline-ms"),
        (&["--deadline-ms", "18446744073709"], "--deadline-ms"),
        (&["--swarm-with", "slowdown,flood"], "--swarm-with"),
        (
            &["--scenario", "pause", "--swarm-with", "surge"],
            "--swarm-with",
        ),
        (
            &["--scenario", "slowdown", "--window-ms", "9000"],
            "--window-ms",
        ),
        (
            &[
                "--scenario",
                "surge",
                "--spell-ms",
                "3000",
                "--window-ms",
                "12000",
            ],
            "--window-ms",
        ),
        (&["--shed"], "--service-ms"),
        (&["--bulkheads"], "--service-ms"),
        (&["--checks", "some"], "--checks"),
    ] {
        let mut argv = vec!["run", "--model", "single-copy"];
        argv.extend(args);
        let out = consim(&argv);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(flag), "{args:?}: {}", stderr(&out));
    }
}

/// The overload scenarios' defaults are those the book's table documents, and what
/// the replay line prints runs the same run, defaults, overrides and all.
#[test]
fn an_overload_run_replays_from_its_printed_flags() {
    for flags in [
        &["--scenario", "slowdown", "--retry", "immediate"][..],
        &[
            "--scenario",
            "surge",
            "--clients",
            "5",
            "--think-ms",
            "0",
            "--deadline-ms",
            "900",
        ],
        &[
            "--scenario",
            "slowdown",
            "--queue-bound",
            "1000",
            "--shed",
            "--workload",
            "kv",
        ],
        &[
            "--scenario",
            "swarm",
            "--swarm-with",
            "slowdown,surge",
            "--seed",
            "3",
            "--clients",
            "50",
        ],
    ] {
        let mut argv = vec!["run", "--model", "single-copy"];
        argv.extend(flags);
        let out = consim(&argv);
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {}", stderr(&out));
        let text = stdout(&out);
        let hash = |text: &str| {
            let at = text.find("trace_hash=").expect("a summary line") + 11;
            text[at..at + 16].to_owned()
        };
        let replay = text
            .lines()
            .find_map(|l| l.strip_prefix("replay: cargo run --release -- "))
            .expect("a replay line");
        let again = consim(&replay.split_whitespace().collect::<Vec<_>>());
        assert_eq!(hash(&stdout(&again)), hash(&text), "{flags:?} → {replay}");
    }
}

/// A plan saved from a shorter spell replays beside its scenario's defaults: the plan's
/// faults are its own, so the scenario's own spell is not checked against the window.
#[test]
fn a_plan_from_an_overload_run_replays_beside_its_scenario() {
    let plan = temp_file("short-spell.json", "");
    let short = [
        "--scenario",
        "slowdown",
        "--spell-ms",
        "1000",
        "--window-ms",
        "15000",
    ];
    let mut argv = vec![
        "run",
        "--model",
        "single-copy",
        "--save-plan",
        plan.to_str().unwrap(),
    ];
    argv.extend(short);
    let first = consim(&argv);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let replayed = consim(&[
        "run",
        "--model",
        "single-copy",
        "--scenario",
        "slowdown",
        "--window-ms",
        "15000",
        "--plan",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(replayed.status.code(), Some(0), "{}", stderr(&replayed));
}

/// The overload scenarios' defaults are those the book's table documents.
#[test]
fn the_overload_scenarios_defaults_are_the_documented_ones() {
    let out = consim(&[
        "run",
        "--model",
        "single-copy",
        "--scenario",
        "slowdown",
        "--json",
    ]);
    let report = json_line(&out);
    assert_eq!(report["load"]["trigger"]["start_ms"], 5_000);
    assert_eq!(report["load"]["trigger"]["end_ms"], 8_000);
    assert_eq!(report["workload"], "register");
    assert!(report["verdicts"].as_array().unwrap().is_empty());
    let offered = report["load"]["offered_per_s"].as_f64().unwrap();
    assert!(
        (1_300.0..1_500.0).contains(&offered),
        "400 clients × 3.5/s: {offered}"
    );
}

/// A surge multiplies the arrivals for its spell, and a slowdown multiplies the
/// service times: each is seen in the measures of the spell.
#[test]
fn triggers_do_what_they_say_to_the_load() {
    let run = |scenario: &str| {
        let out = consim(&[
            "run",
            "--model",
            "single-copy",
            "--scenario",
            scenario,
            "--retry",
            "full-jitter",
            "--retry-budget",
            "0.1",
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        json_line(&out)
    };
    let surge = run("surge");
    let offered = surge["load"]["offered_per_s"].as_f64().unwrap();
    // 20 s at 1,400/s, 3 s of them at three times that: about 1,820/s.
    assert!((1_700.0..1_950.0).contains(&offered), "{offered}");
    let slowdown = run("slowdown");
    let during = slowdown["load"]["goodput_during"].as_f64().unwrap();
    let before = slowdown["load"]["goodput_before"].as_f64().unwrap();
    assert!(during < before / 4.0, "{slowdown}");
    assert!(slowdown["load"]["longest_queue"][0].as_u64().unwrap() >= 500);
}

/// The flags of each row of the book's metastability table, after `consim run --model
/// single-copy --scenario slowdown`.
/// The header of the overload chapter's tables (rows by [`overload_row`]).
const OVERLOAD_HEADER: &str = "| flags | goodput before | during | after | recovered after | amplification | shed | dropped (queue full) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n";

const METASTABILITY_ROWS: [&str; 8] = [
    "--retry immediate",
    "--retry exponential",
    "--retry full-jitter",
    "--retry full-jitter --retry-budget 0.1",
    "--retry immediate --breaker 5",
    "--retry immediate --shed",
    "--retry full-jitter --retry-budget 0.1 --shed",
    "--retry immediate --retry-budget 0.1",
];

/// The bulkhead table's rows: a Raft cluster at about half its leader's capacity, under
/// a surge, with and without bulkheads, five seeds.
const BULKHEAD_ROWS: [&str; 10] = [
    "--seed 1",
    "--seed 1 --bulkheads",
    "--seed 2",
    "--seed 2 --bulkheads",
    "--seed 3",
    "--seed 3 --bulkheads",
    "--seed 4",
    "--seed 4 --bulkheads",
    "--seed 5",
    "--seed 5 --bulkheads",
];

/// One row of an overload table, from `consim run BASE FLAGS --json`; and the run's
/// `load` object.
fn overload_row(base: &str, flags: &str) -> (String, Value) {
    let mut args = vec!["run"];
    args.extend(base.split_whitespace());
    args.extend(flags.split_whitespace());
    args.push("--json");
    let out = consim(&args);
    assert_eq!(out.status.code(), Some(0), "{flags}: {}", stderr(&out));
    let report = json_line(&out);
    let load = report["load"].clone();
    let per_s = |key: &str| format!("{:.0}/s", load[key].as_f64().unwrap());
    let recovered = match load["recovered_after_ms"].as_u64() {
        Some(ms) => format!("{ms} ms"),
        None => "never".to_owned(),
    };
    let row = format!(
        "| `{flags}` | {} | {} | {} | {recovered} | {:.2} | {} | {} |\n",
        per_s("goodput_before"),
        per_s("goodput_during"),
        per_s("goodput_after"),
        load["amplification"].as_f64().unwrap(),
        report["stats"]["shed"],
        report["stats"]["dropped_overload"],
    );
    (row, load)
}

/// The book's *Retries, backoff and metastable failures* chapter shows what consim
/// prints: the metastability table (one `consim run` per row) and `consim
/// contention`'s table; and both show what the issue asks of them.
#[test]
fn the_books_overload_tables_are_what_consim_prints() {
    let mut table = OVERLOAD_HEADER.to_owned();
    let mut loads = Vec::new();
    for flags in METASTABILITY_ROWS {
        let (row, load) = overload_row("--model single-copy --scenario slowdown", flags);
        table += &row;
        loads.push(load);
    }
    // Immediate retries without a budget stay collapsed after the trigger...
    let immediate = &loads[0];
    assert!(immediate["recovered_after_ms"].is_null(), "{immediate}");
    let (before, after) = (
        immediate["goodput_before"].as_f64().unwrap(),
        immediate["goodput_after"].as_f64().unwrap(),
    );
    assert!(after < before / 2.0, "{immediate}");
    // ...and full jitter with a budget recovers within 2 s of its end.
    let budgeted = &loads[3];
    let recovered = budgeted["recovered_after_ms"].as_u64();
    assert!(recovered.is_some_and(|ms| ms <= 2_000), "{budgeted}");
    book_section(
        "overload.md",
        "consim run --model single-copy --scenario slowdown",
        &table,
    );
    let out = consim(&["contention"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    book_section("overload.md", "consim contention", &stdout(&out));
}

/// The book's bulkhead table (one `consim run` per row) is what consim prints, and
/// shows what the chapter says of it: after the surge, the runs with bulkheads keep
/// more goodput than the same seeds without, in every seed.
#[test]
fn the_books_bulkhead_table_is_what_consim_prints() {
    let base = "--model raft --scenario surge --rate 0.5";
    let mut table = OVERLOAD_HEADER.to_owned();
    let mut after = Vec::new();
    for flags in BULKHEAD_ROWS {
        let (row, load) = overload_row(base, flags);
        table += &row;
        after.push(load["goodput_after"].as_f64().unwrap());
    }
    let better = after.chunks(2).filter(|pair| pair[1] > pair[0]).count();
    assert_eq!(
        better, 5,
        "goodput after the surge, without and with: {after:?}"
    );
    book_section("overload.md", &format!("consim run {base}"), &table);
}

/// Brooker's ordering: full and decorrelated jitter need fewer calls than exponential
/// backoff without jitter, for 10, 50 and 100 clients (each seed's runs summed).
#[test]
fn jitter_needs_fewer_calls_than_exponential_backoff_under_contention() {
    let out = consim(&["contention", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut calls: std::collections::BTreeMap<(String, u64), u64> = Default::default();
    for line in stdout(&out).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let key = (
            v["policy"].as_str().unwrap().to_owned(),
            v["clients"].as_u64().unwrap(),
        );
        *calls.entry(key).or_default() += v["calls"].as_u64().unwrap();
    }
    for n in [10, 50, 100] {
        let of = |policy: &str| calls[&(policy.to_owned(), n)];
        // Without jitter, one client wins each round: n(n+1)/2 calls a seed, 5 seeds.
        assert_eq!(of("exponential"), 5 * n * (n + 1) / 2);
        assert!(of("full-jitter") < of("exponential"), "{calls:?}");
        assert!(of("decorrelated-jitter") < of("exponential"), "{calls:?}");
    }
}

/// A run with a load (an open loop, replicas with a capacity) draws its series on its
/// page: offered load and goodput, latency, and each replica's queue, with the
/// trigger shaded.
#[test]
fn an_overload_runs_page_draws_its_load_over_time() {
    let page = temp_file("overload.html", "");
    let out = consim(&[
        "run",
        "--model",
        "single-copy",
        "--scenario",
        "surge",
        "--clients",
        "20",
        "--rate",
        "5",
        "--viz",
        page.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    let load = &html[html.find("<h2>Load</h2>").expect("a load section")
        ..html.find("<h2>The run</h2>").unwrap()];
    for class in [
        "series offered",
        "series goodput",
        "series p99",
        "series queue",
        "trigger",
    ] {
        assert_eq!(
            load.matches(&format!("class=\"{class}\"")).count(),
            if class == "trigger" { 3 } else { 1 },
            "{class}"
        );
    }
    assert!(load.contains("n0&#39;s queue")); // "n0's queue", escaped
    // Without a load, no section.
    let out = consim(&[
        "run",
        "--model",
        "single-copy",
        "--scenario",
        "none",
        "--viz",
        page.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !std::fs::read_to_string(&page)
            .unwrap()
            .contains("<h2>Load</h2>")
    );
}

/// The fill race, shrunk (seed 4 with no faults: a read misses and reads the store, a
/// write commits and its invalidation reaches the cache, then the read's fill lands):
/// `cache-fill-race` ends with a stale entry, which the model's watch of the cache
/// against the store reports. The same plan and operations on `cache-aside` end clean,
/// because the invalidation voided the lease the fill needed.
#[test]
fn leases_refuse_the_fill_the_race_takes() {
    use consim::config::RunConfig;
    let mut config = RunConfig::new("cache-fill-race", 4);
    config.nemesis = consim::nemesis::Nemesis::from_name("none").unwrap();
    let shrunk = consim::shrink::shrink(&config, 2_000).unwrap().unwrap();
    let racy = consim::run::run(&shrunk.config).unwrap();
    let broken = racy.broken_invariant.as_deref().unwrap_or_default();
    assert!(broken.starts_with("stale cache: "), "{broken:?}");
    assert!(shrunk.size.ops <= 20, "{:?}", shrunk.size);
    // The stale entry is measured too: open at the end of the run, and every hit on
    // it served stale (the racy run's final reads hit it).
    let json = racy.to_json();
    let measures = json["measures"].as_array().unwrap();
    let names: Vec<&str> = measures
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["stale cache hits", "longest stale entry"]);
    let longest = &racy.measures[1];
    assert!(
        longest.shown.ends_with(", still stale at the end"),
        "{longest}"
    );
    assert!(longest.value > 0 && racy.measures[0].value > 0, "{racy:?}");
    let mut fixed = shrunk.config.clone();
    fixed.model = "cache-aside".to_owned();
    let fixed = consim::run::run(&fixed).unwrap();
    assert!(
        !fixed.failed(),
        "{:?} {:?}",
        fixed.broken_invariant,
        fixed.verdicts
    );
    assert_eq!(fixed.ops, racy.ops);
}

/// The dual write, shrunk (seed 0 under flaky-network: the event a service publishes
/// after the database's answer is lost on the wire): `dual-write` ends with a
/// committed write whose event never took effect, which the model's watch of the
/// database against the consumer reports. The same plan and operations on `outbox`
/// end clean, because the relay sends the event from the outbox until it is
/// acknowledged.
#[test]
fn the_outbox_delivers_the_event_the_dual_write_loses() {
    use consim::config::RunConfig;
    let mut config = RunConfig::new("dual-write", 0);
    config.nemesis = consim::nemesis::Nemesis::from_name("flaky-network").unwrap();
    let shrunk = consim::shrink::shrink(&config, 2_000).unwrap().unwrap();
    let lossy = consim::run::run(&shrunk.config).unwrap();
    let broken = lossy.broken_invariant.as_deref().unwrap_or_default();
    assert!(broken.starts_with("lost event: "), "{broken:?}");
    let mut fixed = shrunk.config.clone();
    fixed.model = "outbox".to_owned();
    let fixed = consim::run::run(&fixed).unwrap();
    assert!(
        !fixed.failed(),
        "{:?} {:?}",
        fixed.broken_invariant,
        fixed.verdicts
    );
}

/// A double-click sends a write twice. With idempotency keys the second submit carries
/// the first's request number and the server answers it from its table: runs stay
/// clean under every fault swarm draws. Without (the `double-submit` variant), it is a
/// request of its own, applied again, and the effects-per-intent check says so.
#[test]
fn a_double_submit_takes_effect_once_with_a_key_and_twice_without() {
    use consim::config::RunConfig;
    let mut config = RunConfig::new("single-copy", 3);
    config.nemesis = consim::nemesis::Nemesis::from_name("none").unwrap();
    config.client.double_submit = Some(models::client::DoubleSubmit::default());
    config.trace = true;
    let keyed = consim::run::run(&config).unwrap();
    assert!(!keyed.failed(), "{:?}", keyed.verdicts);
    let trace = keyed.trace.as_ref().unwrap();
    let count = |pred: &dyn Fn(&str) -> bool| trace.iter().filter(|e| pred(&e.detail)).count();
    let resubmits = count(&|d| d.starts_with("Resubmit"));
    let unkeyed = count(&|d| d.starts_with("Resubmit") && !d.contains("seq: Some("));
    assert_eq!(unkeyed, 0, "every second submit carries its first's key");
    // Every second submit is sent, the client idle or not: with no fault (so no
    // retry), the server receives one append more per second submit.
    let appends = count(&|d| d.starts_with("Op {") && d.contains("Append"));
    let received = count(&|d| d.starts_with("Client(Request") && d.contains("Append"));
    assert!(resubmits > 5, "{resubmits}");
    assert_eq!(received, appends + resubmits, "{appends} appends");
    // And under every fault swarm draws, each takes effect once.
    config.nemesis = consim::nemesis::Nemesis::from_name("swarm").unwrap();
    let keyed = consim::run::run(&config).unwrap();
    assert!(!keyed.failed(), "{:?}", keyed.verdicts);
    let judged = |report: &consim::report::RunReport| {
        report
            .verdicts
            .iter()
            .find(|v| v.guarantee == models::Guarantee::NoDuplicateEffects)
            .map(|v| v.judgement.clone())
    };
    assert_eq!(judged(&keyed), Some(consim::report::Judgement::Ok));

    let mut config = RunConfig::new("double-submit", 3);
    config.nemesis = consim::nemesis::Nemesis::from_name("none").unwrap();
    let unkeyed = consim::run::run(&config).unwrap();
    let Some(consim::report::Judgement::Violation { explanation }) = judged(&unkeyed) else {
        panic!("{:?}", unkeyed.verdicts);
    };
    assert!(explanation.contains("took effect 2 times"), "{explanation}");
}

/// The anchors mdbook gives a page's headings: the heading's text, lower-cased, with
/// spaces as dashes and everything but letters, digits, `_` and `-` dropped (inline
/// code's backticks too); a repeated one gets `-1`, `-2`….
fn heading_anchors(page: &str) -> Vec<String> {
    let mut anchors: Vec<String> = Vec::new();
    for line in prose_lines(page) {
        let Some(text) = line.strip_prefix('#').map(|t| t.trim_start_matches('#')) else {
            continue;
        };
        let id: String = text
            .trim()
            .chars()
            .filter_map(|c| match c {
                c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c.to_ascii_lowercase()),
                c if c.is_whitespace() => Some('-'),
                _ => None,
            })
            .collect();
        let repeats = anchors
            .iter()
            .filter(|a| **a == id || a.starts_with(&format!("{id}-")))
            .count();
        anchors.push(if repeats == 0 {
            id
        } else {
            format!("{id}-{repeats}")
        });
    }
    anchors
}

/// A page's lines outside fenced code blocks.
fn prose_lines(page: &str) -> impl Iterator<Item = &str> {
    let mut fenced = false;
    page.lines().filter(move |line| {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            return false;
        }
        !fenced
    })
}

/// Every relative link of a page: `[text](target)`, not inside code.
fn relative_links(page: &str) -> Vec<String> {
    let mut links = Vec::new();
    for line in prose_lines(page) {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = &rest[..end];
            if !target.contains("://") && !target.starts_with("mailto:") {
                links.push(target.to_owned());
            }
        }
    }
    links
}

/// The book's internal links resolve: every page and image a link names exists, every
/// `#anchor` is a heading of its page, and SUMMARY.md lists every page (mdbook would
/// create a listed page that is missing, and leave out one not listed).
#[test]
fn the_books_internal_links_resolve() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../book/src");
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    let listed = relative_links(&summary);
    let mut broken = Vec::new();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md") && !p.ends_with("SUMMARY.md"))
        .collect();
    pages.sort();
    for page in &pages {
        let name = page.file_name().unwrap().to_str().unwrap();
        if !listed.iter().any(|l| l == name) {
            broken.push(format!("SUMMARY.md does not list {name}"));
        }
        let text = std::fs::read_to_string(page).unwrap();
        for link in relative_links(&text) {
            let (file, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let target = if file.is_empty() {
                page.clone()
            } else {
                src.join(file)
            };
            if !target.exists() {
                broken.push(format!("{name}: {link}: no such file"));
                continue;
            }
            let is_page = target.extension().is_some_and(|e| e == "md");
            if !anchor.is_empty() && is_page {
                let anchors = heading_anchors(&std::fs::read_to_string(&target).unwrap());
                if !anchors.iter().any(|a| a == anchor) {
                    broken.push(format!("{name}: {link}: no such heading (has {anchors:?})"));
                }
            }
        }
    }
    for link in &listed {
        if !src.join(link).exists() {
            broken.push(format!("SUMMARY.md: {link}: no such file"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    assert!(pages.len() >= 12, "{pages:?}");
    // The rule for anchors, on the chapter a link relies on.
    let cap = std::fs::read_to_string(src.join("cap.md")).unwrap();
    assert!(heading_anchors(&cap).contains(&"four-ways-to-count-availability".to_owned()));
}

/// A number of a page, with its unit (`ms`, `%`, `operations`…; empty for none) and
/// how many digits it has after the point.
#[derive(Clone, Debug)]
struct Figure {
    text: String,
    value: f64,
    decimals: i32,
    unit: String,
}

/// The units a figure in prose is recognised by: a run produces shares, latencies,
/// rates and counts of seeds, runs, operations or states.
const FIGURE_UNITS: &[&str] = &[
    "%",
    "ms",
    "s",
    "×",
    "x",
    "seeds",
    "seed",
    "runs",
    "operations",
    "states",
];

/// Every number of `text` followed by one of `units` (or by none, if `bare`), and
/// every number after `seed ` (unit `seed`).
fn figures_in(text: &str, units: &[&str], bare: bool) -> Vec<Figure> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || ".-_/".contains(chars[i - 1])));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len()
            && (chars[j].is_ascii_digit()
                || (chars[j] == ',' && chars.get(j + 1).is_some_and(char::is_ascii_digit)))
        {
            j += 1;
        }
        let mut decimals = 0;
        if chars.get(j) == Some(&'.') && chars.get(j + 1).is_some_and(char::is_ascii_digit) {
            j += 1;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
                decimals += 1;
            }
        }
        let number: String = chars[i..j].iter().filter(|c| **c != ',').collect();
        let before: String = chars[i.saturating_sub(5)..i].iter().collect();
        let mut k = j;
        if chars.get(k).is_some_and(|c| *c == ' ' || *c == '\u{a0}') {
            k += 1;
        }
        let rest: String = chars[k..chars.len().min(k + 12)].iter().collect();
        let unit = units.iter().find(|u| {
            rest.starts_with(**u)
                && !rest[u.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphanumeric())
        });
        let unit = match unit {
            Some(u) => Some((*u).to_owned()),
            None if before.ends_with("seed ") => Some("seed".to_owned()),
            None if bare => Some(String::new()),
            None => None,
        };
        if let (Some(unit), Ok(value)) = (unit, number.parse::<f64>()) {
            let text: String = chars[i..j].iter().collect();
            found.push(Figure {
                text: format!("{text} {unit}").trim().to_owned(),
                value,
                decimals,
                unit,
            });
        }
        i = j.max(i + 1);
    }
    found
}

/// A page's prose: without its marked blocks, code and HTML comments.
fn prose_of(page: &str) -> (String, String) {
    let mut prose = String::new();
    let mut blocks = String::new();
    let mut in_block: Option<String> = None;
    let mut fenced = false;
    for line in page.lines() {
        if let Some(marker) = &in_block {
            if line == format!("<!-- {marker}: end -->") {
                in_block = None;
            } else {
                blocks.push_str(line);
                blocks.push('\n');
            }
            continue;
        }
        if let Some(marker) = line
            .strip_prefix("<!-- ")
            .and_then(|l| l.strip_suffix(": begin -->"))
        {
            in_block = Some(marker.to_owned());
            continue;
        }
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || line.starts_with("<!--") {
            continue;
        }
        // Inline code is not prose.
        let mut kept = String::new();
        for (n, part) in line.split('`').enumerate() {
            if n % 2 == 0 {
                kept.push_str(part);
                kept.push(' ');
            }
        }
        prose.push_str(&kept);
        prose.push('\n');
    }
    (prose, blocks)
}

/// Whether a marked block of the page shows `figure`, to the precision the prose
/// gives it (2.596 s is 2.595914s rounded; 2,675 ms is 2675.380 ms).
fn shown_in_blocks(figure: &Figure, shown: &[Figure]) -> bool {
    let tolerance = 0.5 * 10f64.powi(-figure.decimals) + 1e-9;
    let scale = |unit: &str| match unit {
        "s" => Some(1000.0),
        "ms" => Some(1.0),
        _ => None,
    };
    shown.iter().any(|b| {
        let value = match (scale(&figure.unit), scale(&b.unit)) {
            (Some(to), Some(from)) => b.value * from / to,
            _ if figure.unit == "%" && !(b.unit == "%" || b.unit.is_empty()) => return false,
            _ => b.value,
        };
        (value - figure.value).abs() <= tolerance
    })
}

/// Figures in the book's prose that no marked block shows: settings and definitions
/// (a default, a flag's value, the 95% of an interval) and figures from elsewhere
/// (a peer's measurement, a difference of two shown figures), each with why.
const FIGURES_NOT_FROM_A_RUN: &[(&str, &str, &str)] = &[
    (
        "bug-zoo.md",
        "100 seeds",
        "an exercise's question: a sweep's size",
    ),
    (
        "caches.md",
        "300 ms",
        "setting: a double submit's greatest lag",
    ),
    ("cap.md", "500 ms", "setting: the client timeout"),
    ("dynamo.md", "400 ms", "setting: dynamo::GIVE_UP"),
    ("dynamo.md", "500 ms", "setting: the client timeout"),
    ("dynamo.md", "20 %", "setting: clock-skew's greatest drift"),
    (
        "dynamo.md",
        "0.8 s",
        "arithmetic on settings: four anti-entropy periods of 200 ms",
    ),
    ("dynamo-crdt.md", "400 ms", "setting: dynamo::GIVE_UP"),
    (
        "dynamo-crdt.md",
        "200 ms",
        "setting: dynamo::SUSPECT and dynamo::ANTI_ENTROPY",
    ),
    (
        "cap.md",
        "1.5 s",
        "setting: three timeouts and two backoffs",
    ),
    ("cap.md", "1,200 ms", "setting: the longest default spell"),
    (
        "checking.md",
        "10,000 operations",
        "issue #14's target size of history",
    ),
    ("checking.md", "3 %", "issue #14's share of crashed clients"),
    (
        "clients.md",
        "5 operations",
        "setting: the matrix's rate per client",
    ),
    (
        "clients.md",
        "1,200 ms",
        "setting: the longest default spell",
    ),
    (
        "clients.md",
        "50 runs",
        "setting: the matrix's seeds per cell",
    ),
    ("clients.md", "9 %", "difference: 94.4% − 85.3%, both shown"),
    (
        "debugging.md",
        "3.250 s",
        "read off the run's picture, which the block's command draws",
    ),
    ("debugging.md", "44 ms", "difference: 3.250 s − 3.206 s"),
    (
        "explore.md",
        "157 s",
        "the 12-03 run that did not finish, measured by hand",
    ),
    (
        "explore.md",
        "183 s",
        "stateright's run, measured by hand (the table says how)",
    ),
    ("explore.md", "191 %", "stateright's run, measured by hand"),
    (
        "explore.md",
        "15.2 s",
        "wall time of the search the block shows, measured by hand",
    ),
    ("explore.md", "17.5 s", "wall time, measured by hand"),
    (
        "explore.md",
        "25.5 s",
        "wall time of the breadth-first search, measured by hand",
    ),
    (
        "primary-async.md",
        "150 ms",
        "setting: how long a follower holds a read for its token (primary_async::WAIT)",
    ),
    (
        "single-copy.md",
        "500 ms",
        "setting: the client's timeout per attempt",
    ),
    (
        "single-copy.md",
        "400 ms",
        "setting: the retry backoff's cap",
    ),
    (
        "single-copy.md",
        "300 ms",
        "setting: how soon a double submit follows the first",
    ),
    (
        "overload.md",
        "20 s",
        "setting: the overload scenarios' fault window",
    ),
    (
        "overload.md",
        "3.5 operations",
        "setting: the open loop's rate per client",
    ),
    ("overload.md", "0.5 ms", "setting: the mean service time"),
    (
        "overload.md",
        "120 ms",
        "setting: the overload scenarios' client timeout",
    ),
    (
        "overload.md",
        "70 %",
        "setting: the load the overload scenarios aim at",
    ),
    ("overload.md", "90 %", "definition: what recovered means"),
    ("overload.md", "8 s", "setting: the slowdown's end"),
    ("overload.md", "20 ms", "setting: the first backoff"),
];

/// Nothing typed by hand that a command produces: every figure in the book's prose
/// (a share, a latency, a rate, a seed, a count of runs, operations or states) is one
/// a marked block of its page shows, rounded at most, or is listed above with why.
#[test]
fn every_figure_in_the_books_prose_is_shown_by_a_command() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../book/src");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    let mut unexplained = Vec::new();
    let mut used = vec![false; FIGURES_NOT_FROM_A_RUN.len()];
    for page in &pages {
        let name = page.file_name().unwrap().to_str().unwrap();
        let (prose, blocks) = prose_of(&std::fs::read_to_string(page).unwrap());
        let shown = figures_in(&blocks, &["ms", "s", "%"], true);
        for figure in figures_in(&prose, FIGURE_UNITS, false) {
            if shown_in_blocks(&figure, &shown) {
                continue;
            }
            let listed = FIGURES_NOT_FROM_A_RUN
                .iter()
                .position(|(p, f, _)| *p == name && *f == figure.text);
            match listed {
                Some(n) => used[n] = true,
                None => unexplained.push(format!("{name}: {}", figure.text)),
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "figures in prose that no marked block shows:\n{}",
        unexplained.join("\n")
    );
    let stale: Vec<_> = FIGURES_NOT_FROM_A_RUN
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .collect();
    assert!(stale.is_empty(), "listed but not in the prose: {stale:?}");
}

/// Runs of correct models that a review found failing, each for a reason of the
/// model's or a check's, not of the system under test; kept as they are now, passing:
/// - `event-sourced`, swarm seed 119 with 20 operations: two consumers restart and
///   their one request to replay the log is cut; they now ask again until the primary
///   answers;
/// - `raft`, swarm seed 679: a replica paused mid-election wins term 3 after term 4
///   committed an entry, which leader completeness does not require it to hold;
/// - `dual-write` with no faults, every write submitted twice and compare-and-sets:
///   a late second submit of a cas that did not match was answered from the table
///   with the client's later write's reply, and the service published an event for
///   it; the database now drops a request its client has moved past.
#[test]
fn runs_a_review_found_failing_for_no_fault_of_the_system_pass() {
    for args in [
        "run --model event-sourced --scenario swarm --seed 119 --ops 20",
        "run --model raft --scenario swarm --seed 679",
        "run --model dual-write --scenario none --seed 0 --workload kv --double-submit 1",
    ] {
        let out = consim(&args.split(' ').collect::<Vec<_>>());
        assert_eq!(out.status.code(), Some(0), "{args}: {}", stdout(&out));
    }
}

/// The near miss of an event applied twice: under a lossy, duplicating network the
/// outbox's relay delivers some events more than once, and the consumer, which
/// deduplicates by the write's id, applies each once (the model's invariants would
/// say `event applied more than once` otherwise).
#[test]
fn an_event_the_relay_delivers_twice_takes_effect_once() {
    use consim::config::RunConfig;
    let mut config = RunConfig::new("outbox", 0);
    config.nemesis = consim::nemesis::Nemesis::from_name("flaky-network").unwrap();
    config.trace = true;
    let report = consim::run::run(&config).unwrap();
    assert!(!report.failed(), "{:?}", report.broken_invariant);
    let mut delivered: std::collections::BTreeMap<String, u32> = Default::default();
    for e in report.trace.as_ref().unwrap() {
        if e.kind == sim_core::EventKind::Deliver
            && e.node == Some(sim_core::NodeId(1))
            && let Some(event) = e.detail.strip_prefix("Peer(Event { id: ")
        {
            let id = event.split_once(", request").unwrap().0.to_owned();
            *delivered.entry(id).or_default() += 1;
        }
    }
    let again = delivered.values().filter(|&&n| n > 1).count();
    assert!(again > 0, "no event was delivered twice: {delivered:?}");
}

/// `--require` makes a guarantee the model does not promise fail the run that breaks
/// it: a sweep of `dynamo` (which promises convergence only) under clock skew passes
/// without it and stops at a lost write with it; the replay line carries the flag,
/// `shrink` shrinks the failure, and an unknown name is a usage error.
#[test]
fn a_required_guarantee_fails_the_runs_that_break_it() {
    let dir = std::env::temp_dir().join(format!("consim-required-{}", std::process::id()));
    let out_dir = dir.to_str().unwrap();
    let sweep = [
        "sweep",
        "--model",
        "dynamo",
        "--scenario",
        "clock-skew",
        "--workload",
        "register",
        "--seeds",
        "0..5",
        "--stop-on-failure",
        "--out",
        out_dir,
    ];
    let out = consim(&sweep);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let mut required = sweep.to_vec();
    required.extend(["--require", "no-lost-writes"]);
    let out = consim(&required);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("no-lost-writes (required): VIOLATION"),
        "{text}"
    );
    assert!(text.contains("--require no-lost-writes"), "{text}");
    let shrink = [
        "shrink",
        "--model",
        "dynamo",
        "--scenario",
        "clock-skew",
        "--workload",
        "register",
        "--seed",
        "0",
        "--require",
        "no-lost-writes",
        "--out",
        out_dir,
    ];
    let out = consim(&shrink);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("shrunk seed 0 of dynamo"), "{text}");
    assert!(text.contains("--require no-lost-writes --plan"), "{text}");
    let out = consim(&["run", "--model", "dynamo", "--require", "fast"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no guarantee `fast`"),
        "{}",
        stderr(&out)
    );
}
