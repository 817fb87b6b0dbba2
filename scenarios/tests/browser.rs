//! The run's page in a real browser: Debian's chromium, headless, loads the page of a
//! failing run and dumps the DOM it built, logging the console to stderr.
//!
//! Ignored by `cargo test` (it needs chromium); `.ci/run` installs chromium and runs
//! it with `cargo test --workspace --test browser -- --ignored`. `CONSIM_CHROMIUM`
//! names another browser binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use consim::checkers::history::{Event, EventType, Function, Value};
use consim::config::RunConfig;
use consim::nemesis::Nemesis;
use consim::report::{Judgement, RunReport};
use consim::sim_core::{EventKind, NodeId, TraceEvent};

const HOSTILE: &str = "</script><img src=x onerror=alert(1)>";

/// How long chromium may take to load a page.
const PATIENCE: Duration = Duration::from_secs(120);

fn folder() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("consim-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What chromium made of a page: the DOM, and the console's messages.
struct Loaded {
    dom: String,
    console: Vec<String>,
}

/// Runs chromium headless on `page` with `args`, its output into files (a page's DOM is
/// larger than a pipe holds), killed if it takes longer than [`PATIENCE`].
fn chromium(page: &Path, args: &[&str]) -> (String, String) {
    let browser = std::env::var("CONSIM_CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    let dir = folder();
    let name = page.file_stem().unwrap().to_string_lossy().into_owned();
    let (out, err) = (
        dir.join(format!("{name}.out")),
        dir.join(format!("{name}.err")),
    );
    let profile = dir.join(format!("{name}.profile"));
    let mut child = Command::new(&browser)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {browser} ({e}): install it (apt-get install chromium)")
        });
    // Polls are counted rather than the wall clock read: the crate's lints keep clocks
    // out.
    let poll = Duration::from_millis(100);
    let mut waited = Duration::ZERO;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if waited > PATIENCE {
            child.kill().ok();
            panic!(
                "{browser} did not finish {} in {PATIENCE:?}",
                page.display()
            );
        }
        std::thread::sleep(poll);
        waited += poll;
    };
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert!(status.success(), "{browser} failed: {status}\n{stderr}");
    (std::fs::read_to_string(&out).unwrap(), stderr)
}

/// Loads `page` and dumps its DOM, with the console logged.
fn load(page: &Path) -> Loaded {
    let (dom, stderr) = chromium(page, &["--enable-logging=stderr", "--v=0", "--dump-dom"]);
    // Chromium logs each console message as `…:INFO:CONSOLE:LINE] "message", source: …`
    // (`CONSOLE(LINE)` in older versions).
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    Loaded { dom, console }
}

fn write_page(name: &str, html: &str) -> PathBuf {
    let path = folder().join(name);
    std::fs::write(&path, html).unwrap();
    path
}

/// raft-stale-read's seed 1830 under isolate-leader, traced: it fails with a stale read
/// while the deposed leader is cut off.
fn failing_run() -> RunReport {
    let mut config = RunConfig::new("raft-stale-read", 1830);
    config.nemesis = Nemesis::IsolateLeader;
    config.trace = true;
    let report = consim::run::run(&config).unwrap();
    assert!(
        report.failed(),
        "seed 1830 no longer fails: pick another failing seed"
    );
    report
}

/// `report` with hostile text in a payload, a history operation and a verdict.
fn with_hostile_text(mut report: RunReport) -> RunReport {
    let trace = report.trace.as_mut().unwrap();
    let at = trace[trace.len() / 2].time;
    trace.push(TraceEvent {
        time: at,
        kind: EventKind::DropLoss,
        node: Some(NodeId(1)),
        peer: Some(NodeId(0)),
        sent: Some(at),
        detail: HOSTILE.to_owned(),
    });
    trace.sort_by_key(|e| e.time);
    let op = |kind| Event {
        process: 1_000,
        kind,
        f: Function::Append,
        key: Some(Value::Str(HOSTILE.to_owned())),
        value: Value::Str(HOSTILE.to_owned()),
        time: Some(at.as_nanos()),
    };
    report.history.push(op(EventType::Invoke), 0);
    report.history.push(op(EventType::Ok), 0);
    report.verdicts[0].judgement = Judgement::Violation {
        explanation: HOSTILE.to_owned(),
    };
    report
}

/// The part of a DOM that draws the view `id`.
fn view<'d>(dom: &'d str, id: &str) -> &'d str {
    let start = dom
        .find(&format!("id=\"view-{id}\""))
        .unwrap_or_else(|| panic!("no view {id} in the DOM"));
    let rest = &dom[start..];
    let end = rest[1..]
        .find("<div class=\"view\"")
        .map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

#[test]
#[ignore = "needs chromium; .ci/run runs it"]
fn the_checks_below_can_fail_a_console_error_and_an_injected_image_are_seen() {
    let page = write_page(
        "control.html",
        "<!DOCTYPE html><html><body><p>control</p><img src=\"x\" alt=\"\">\
         <script>console.error(\"control error\")</script></body></html>",
    );
    let loaded = load(&page);
    assert!(
        loaded.console.iter().any(|l| l.contains("control error")),
        "chromium's console log is not where the test looks: {:?}",
        loaded.console
    );
    assert!(loaded.dom.contains("<img"), "{}", loaded.dom);
}

#[test]
#[ignore = "needs chromium; .ci/run runs it"]
fn the_run_page_loads_clean_with_a_lane_per_node_and_hostile_text_as_text() {
    let report = with_hostile_text(failing_run());
    let nodes = report.replicas + report.clients as usize;
    let html = consim::picture::page(&report, HOSTILE).unwrap();
    let page = write_page("run.html", &html);
    let loaded = load(&page);
    assert_eq!(loaded.console, Vec::<String>::new(), "console messages");
    let dom = &loaded.dom;
    assert!(
        dom.contains("<svg class=\"plot\""),
        "the drawing is in the DOM"
    );
    for id in ["window", "whole"] {
        let drawn = view(dom, id);
        assert_eq!(drawn.matches("<g class=\"lane ").count(), nodes, "{id}");
        for node in 0..nodes {
            let lane = format!("data-node=\"{node}\"><line");
            assert_eq!(drawn.matches(&lane).count(), 1, "{id}: n{node}");
        }
    }
    // The hostile text made no element: it is text wherever it shows.
    assert!(!dom.contains("<img"), "an element made of the run's text");
    assert!(
        dom.matches("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;")
            .count()
            >= 4
    );
    assert!(dom.contains("dropped: the link lost it (DropLoss)"));
}

#[test]
#[ignore = "needs chromium; .ci/run runs it"]
fn the_run_page_renders_to_a_screenshot() {
    let html = consim::picture::page(&failing_run(), "consim run …").unwrap();
    let page = write_page("shot.html", &html);
    let png = folder().join("shot.png");
    let shot = format!("--screenshot={}", png.display());
    chromium(
        &page,
        &[&shot, "--window-size=1400,900", "--hide-scrollbars"],
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    // A blank 1400x900 page compresses to a few kilobytes; the drawing does not.
    assert!(
        bytes.len() > 50_000,
        "{} bytes: is the page blank?",
        bytes.len()
    );
}
