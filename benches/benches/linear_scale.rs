//! Linearizability at Jepsen's concurrency: generated single-register cas histories
//! (values 0–4, as Jepsen's cas-register test draws them; 3 % of operations crash, and
//! a fresh process takes each crashed one's place), linearizable by construction or
//! with one planted read that no linearization allows ([`checkers::synth`]), checked
//! with a 60 s time budget and the default 2 GB memory budget, on one core.
//!
//! Each history is checked once, as `consim check --model cas-register` checks it (a
//! decision takes from milliseconds to the whole budget, so repetitions say little);
//! the table gives the verdict ("violation (real time)" when the search ran out of its
//! budget for a key that real time alone proves stale, see
//! [`checkers::anomalies::register_anomalies`]), the wall time, the configurations the
//! search entered and the most memory its search held.
//!
//! `cargo bench -p benches --bench linear_scale` runs every shape (up to 24 checks of up
//! to 60 s); `-- 30` keeps the shapes with 30 processes, `-- 10000` those of 10,000
//! operations (the arguments are matched against the shape's name). The environment
//! variable `LINEAR_SCALE_SEEDS` sets the last seed (seeds 1 to it; default 2), and
//! `LINEAR_SCALE_TIMEOUT_S` the time budget (default 60).

use std::io::Write;
use std::time::{Duration, Instant};

use checkers::check::check_history;
use checkers::linear::{Options, Outcome};
use checkers::spec::SpecName;
use checkers::synth::{Shape, cas_register, stale_read};

fn main() -> std::io::Result<()> {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "| processes | operations | seed | planted violation | verdict | seconds | configurations | peak MB |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|")?;
    for processes in [10, 30, 60] {
        for ops in [2_000, 10_000] {
            for violation in [false, true] {
                for seed in 1..=env_or("LINEAR_SCALE_SEEDS", 2) {
                    let name = format!("{processes} {ops} {seed} {violation}");
                    if filters
                        .iter()
                        .all(|f| name.split(' ').any(|part| part == f))
                    {
                        let shape = Shape {
                            violation,
                            ..Shape::jepsen(processes, ops, seed)
                        };
                        writeln!(out, "{}", row(&shape))?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The number in environment variable `name`, or `default`.
fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

/// Checks the history of `shape` and describes the result as a table row.
fn row(shape: &Shape) -> String {
    let options = Options {
        timeout: Some(Duration::from_secs(env_or("LINEAR_SCALE_TIMEOUT_S", 60))),
        threads: 1,
        ..Options::default()
    };
    let history = cas_register(shape);
    let operations = history
        .operations("generated")
        .expect("generated histories pair up");
    let planted = stale_read(&operations).is_some();
    let started = Instant::now();
    let checked = check_history(history, "generated", Some(SpecName::CasRegister), &options)
        .expect("a valid history");
    let seconds = started.elapsed().as_secs_f64();
    let key = &checked.report.keys[0];
    let verdict = match &key.outcome {
        Outcome::Linearizable { .. } => "ok".to_owned(),
        Outcome::Violation(v) if v.without_search => "violation (real time)".to_owned(),
        Outcome::Violation(_) => "violation".to_owned(),
        Outcome::Unknown { reason } => format!("unknown ({reason})"),
    };
    format!(
        "| {} | {} | {} | {} | {verdict} | {seconds:.2} | {} | {:.0} |",
        shape.processes,
        shape.ops,
        shape.seed,
        if planted { "yes" } else { "no" },
        key.explored,
        key.peak_bytes as f64 / 1e6
    )
}
