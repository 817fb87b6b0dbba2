//! The CAP matrix: for each model and nemesis, over a range of seeds, how often each
//! guarantee held, how available the store was (four ways, see
//! [`crate::availability`]), and how fast.
//!
//! Every guarantee is judged in every run (not only the promised ones), so the table
//! shows what each consistency model costs and buys: a strong store keeps every
//! guarantee and, on the minority side of a partition, answers nothing; an eventual
//! one answers on both sides and gives up the session guarantees. A share is over the
//! runs where the guarantee could be judged; `n/a` means it never could (for example,
//! session checks on a history with cas), and a guarantee the model promises is marked
//! with `*`. Every share has a 95% interval with the run as the unit
//! ([`crate::interval`]).

use models::{Builtin, Catalog, Guarantee, ModelError, ModelInfo, Params};
use serde_json::{Value, json};

use crate::availability::{Availability, MEASURES, Ratio};
use crate::config::{Checks, ClientSettings, RunConfig};
use crate::interval;
use crate::nemesis::Nemesis;
use crate::report::{Judgement, Latencies, OpCounts, RunError, latencies};
use crate::run::run_in;
use crate::sweep::{Until, sweep_with};
use crate::workload::{Mix, WorkloadConfig};

/// A model setting written `KEY=VALUE` (`--param`, and the settings of a
/// [`ModelSpec`]), trimmed; the key must not be empty.
///
/// ```
/// use consim::matrix::parse_setting;
/// assert_eq!(parse_setting(" r = 2"), Ok(("r".to_owned(), "2".to_owned())));
/// assert!(parse_setting("=2").is_err());
/// ```
pub fn parse_setting(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))
}

/// A model and its settings, written `name` or `name:key=value:key=value…`
/// (`replicas=N` among them): one row group of the matrix, so that one table can set
/// a model beside itself with other settings. The name and the settings are checked
/// when the matrix starts, by the catalog and the model's own declaration.
///
/// ```
/// use consim::matrix::ModelSpec;
/// let spec: ModelSpec = "raft:check-quorum=true:replicas=3".parse()?;
/// assert_eq!(spec.name, "raft");
/// assert_eq!(spec.params.settings["replicas"], "3");
/// assert_eq!(spec.params.settings["check-quorum"], "true");
/// assert_eq!(spec.to_string(), "raft:check-quorum=true:replicas=3");
/// # Ok::<(), String>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSpec {
    /// The model's name, as `--model` takes it.
    pub name: String,
    /// Its settings.
    pub params: Params,
    /// The text it was written as: the rows' label.
    label: String,
}

impl std::str::FromStr for ModelSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<ModelSpec, String> {
        let mut parts = text.split(':');
        let name = parts.next().unwrap_or_default().trim().to_owned();
        let mut params = Params::default();
        for part in parts {
            let (key, value) = parse_setting(part)
                .map_err(|_| format!("`{part}` in `{text}` is not KEY=VALUE"))?;
            params.settings.insert(key, value);
        }
        Ok(ModelSpec {
            name,
            params,
            label: text.trim().to_owned(),
        })
    }
}

impl ModelSpec {
    /// What `catalog` says of the model, or that it has no such model.
    pub fn info<C: Catalog>(&self, catalog: &C) -> Result<ModelInfo, ModelError> {
        catalog
            .find(&self.name)
            .ok_or_else(|| catalog.unknown(&self.name))
    }
}

impl std::fmt::Display for ModelSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

/// One cell of the matrix: a model under a nemesis.
#[derive(Clone, Debug)]
pub struct Row {
    /// The model, with its settings if any were given (`raft:check-quorum=true`).
    pub model: String,
    /// The nemesis.
    pub scenario: String,
    /// Runs.
    pub runs: u64,
    /// Per guarantee (in [`Guarantee::ALL`] order): runs where it held, runs where it
    /// was judged, and whether the model promises it.
    pub guarantees: Vec<GuaranteeShare>,
    /// The availability measures, counted over every run.
    pub availability: Availability,
    /// Each run's availability counts, for the intervals.
    pub per_run: Vec<Availability>,
    /// How the workload operations of every run ended.
    pub ops: OpCounts,
    /// Latency percentiles over all successful operations of all runs (`None`: none
    /// succeeded).
    pub latency: Option<Latencies>,
    /// Each run's latency samples (ns), for the intervals.
    pub per_run_latency: Vec<Vec<u64>>,
    /// Runs where the model panicked.
    pub panics: u64,
    /// Runs in which some fault struck (a nemesis may find nothing to break: no
    /// partition splits one replica).
    pub faulted: u64,
}

/// How often one guarantee held.
#[derive(Clone, Debug)]
pub struct GuaranteeShare {
    /// The guarantee.
    pub guarantee: models::Guarantee,
    /// Runs where it held.
    pub held: u64,
    /// Runs where it was judged (held or violated).
    pub judged: u64,
    /// Runs where the checker's budget ran out.
    pub unknown: u64,
    /// Whether the model promises it.
    pub promised: bool,
}

impl GuaranteeShare {
    /// The share of judged runs where it held (`None`: never judged).
    pub fn share(&self) -> Option<f64> {
        Ratio {
            hits: self.held,
            trials: self.judged,
        }
        .share()
    }

    /// Its 95% interval (Wilson, over runs).
    pub fn interval(&self) -> Option<(f64, f64)> {
        interval::wilson(self.held, self.judged)
    }

    /// The cell text: a percentage or `n/a`, with `*` if promised, and the interval
    /// if `intervals`.
    pub fn cell(&self, intervals: bool) -> String {
        let star = if self.promised { "*" } else { "" };
        match self.share() {
            None => format!("n/a{star}"),
            Some(share) => {
                let range = if intervals {
                    bracket(self.interval(), 0)
                } else {
                    String::new()
                };
                format!("{:.0}%{star}{range}", 100.0 * share)
            }
        }
    }
}

/// ` [low–high]` in percent with `decimals`, or nothing.
fn bracket(range: Option<(f64, f64)>, decimals: usize) -> String {
    range.map_or(String::new(), |(low, high)| {
        format!(" [{:.decimals$}–{:.decimals$}]", 100.0 * low, 100.0 * high)
    })
}

impl Row {
    fn new(spec: &ModelSpec, info: &ModelInfo, nemesis: Nemesis) -> Row {
        Row {
            model: spec.to_string(),
            scenario: nemesis.name().to_owned(),
            runs: 0,
            guarantees: Guarantee::ALL
                .iter()
                .map(|&g| GuaranteeShare {
                    guarantee: g,
                    held: 0,
                    judged: 0,
                    unknown: 0,
                    promised: info.promises.contains(&g),
                })
                .collect(),
            availability: Availability::default(),
            per_run: Vec::new(),
            ops: OpCounts::default(),
            latency: None,
            per_run_latency: Vec::new(),
            panics: 0,
            faulted: 0,
        }
    }

    /// Counts one run's report in.
    fn count(&mut self, report: &crate::report::RunReport) {
        self.runs += 1;
        self.faulted += u64::from(report.faulted);
        self.ops.add(&report.ops);
        self.availability.add(&report.availability);
        self.per_run.push(report.availability);
        self.per_run_latency.push(report.latency_samples.clone());
        if report.panic.is_some() {
            self.panics += 1;
        }
        for v in &report.verdicts {
            let share = self
                .guarantees
                .iter_mut()
                .find(|s| s.guarantee == v.guarantee)
                .expect("every guarantee has a share");
            match v.judgement {
                Judgement::Ok => {
                    share.held += 1;
                    share.judged += 1;
                }
                Judgement::Violation { .. } => share.judged += 1,
                Judgement::Unknown { .. } => share.unknown += 1,
                Judgement::NotApplicable { .. } => {}
            }
        }
    }

    /// The 95% interval of availability measure `index` (in [`MEASURES`] order).
    pub fn availability_interval(&self, index: usize) -> Option<(f64, f64)> {
        let runs: Vec<Ratio> = self.per_run.iter().map(|a| a.ratios()[index]).collect();
        interval::ratio(&runs)
    }

    /// The 95% intervals of the median and the 99th percentile latency, in ms
    /// (bootstrapped over runs, see [`interval::percentiles`]).
    pub fn latency_intervals(&self) -> Option<[(f64, f64); 2]> {
        let ms = |(low, high): (f64, f64)| (low / 1e6, high / 1e6);
        let found = interval::percentiles(&self.per_run_latency, &[0.50, 0.99])?;
        Some([ms(found[0]), ms(found[1])])
    }

    /// Whether a promise was broken in some run (or the model panicked).
    pub fn broke_a_promise(&self) -> bool {
        self.panics > 0
            || self
                .guarantees
                .iter()
                .any(|g| g.promised && g.held < g.judged)
    }

    /// The cell as one JSON object (the `--json` line).
    pub fn to_json(&self) -> Value {
        let name = |g: Guarantee| g.name().to_owned();
        let pair = |r: Option<(f64, f64)>| r.map(|(low, high)| json!([low, high]));
        let guarantees: serde_json::Map<String, Value> = self
            .guarantees
            .iter()
            .map(|g| (name(g.guarantee), json!(g.share())))
            .collect();
        let guarantee_ci: serde_json::Map<String, Value> = self
            .guarantees
            .iter()
            .map(|g| (name(g.guarantee), json!(pair(g.interval()))))
            .collect();
        let guarantee_counts: serde_json::Map<String, Value> = self
            .guarantees
            .iter()
            .map(|g| {
                let counts = json!({ "held": g.held, "judged": g.judged, "unknown": g.unknown });
                (name(g.guarantee), counts)
            })
            .collect();
        let promised: Vec<String> = self
            .guarantees
            .iter()
            .filter(|g| g.promised)
            .map(|g| name(g.guarantee))
            .collect();
        let mut availability_ci = serde_json::Map::new();
        let mut availability_counts = serde_json::Map::new();
        for (i, (measure, ratio)) in MEASURES.iter().zip(self.availability.ratios()).enumerate() {
            availability_ci.insert(
                (*measure).to_owned(),
                json!(pair(self.availability_interval(i))),
            );
            availability_counts.insert((*measure).to_owned(), json!(ratio));
        }
        let total = self.ops.total();
        let share = |n: u64| (total > 0).then(|| n as f64 / total as f64);
        json!({
            "model": self.model,
            "nemesis": self.scenario,
            "runs": self.runs,
            "faulted_runs": self.faulted,
            "panics": self.panics,
            "promised": promised,
            "guarantees": guarantees,
            "availability": self.availability,
            "latency": self.latency.map(|l| json!({ "p50_ms": l.p50_ms, "p99_ms": l.p99_ms })),
            "latency_ci95": self.latency_intervals().map(|[p50, p99]| {
                json!({ "p50_ms": [p50.0, p50.1], "p99_ms": [p99.0, p99.1] })
            }),
            "outcomes": {
                "ok": share(self.ops.ok),
                "fail": share(self.ops.fail),
                "info": share(self.ops.info),
                "unfinished": share(self.ops.unfinished),
            },
            "ci95": { "guarantees": guarantee_ci, "availability": availability_ci },
            "counts": {
                "guarantees": guarantee_counts,
                "availability": availability_counts,
                "ops": self.ops,
            },
        })
    }
}

/// What every cell of a matrix shares.
#[derive(Clone, Debug)]
pub struct MatrixConfig {
    /// Seeds per cell: `0..seeds`.
    pub seeds: u64,
    /// Worker threads.
    pub jobs: usize,
    /// The workload: its mix is each model's own when `mix` is `None`.
    pub workload: WorkloadConfig,
    /// The workload mix for every model (`None`: each model's default).
    pub mix: Option<Mix>,
    /// The clients' patterns.
    pub client: ClientSettings,
    /// Fault spell lengths (`None`: each nemesis's own).
    pub spell: Option<sim_core::Duration>,
}

impl MatrixConfig {
    /// The run configuration of one cell (seed 0), for the model `info` describes.
    pub fn cell(&self, spec: &ModelSpec, info: &ModelInfo, nemesis: Nemesis) -> RunConfig {
        let mut config = RunConfig::new(&spec.name, 0);
        config.params = spec.params.clone();
        config.nemesis = nemesis;
        config.checks = Checks::All;
        config.client = self.client;
        config.spell = self.spell;
        config.workload = Some(WorkloadConfig {
            mix: self.mix.unwrap_or(info.workload),
            ..self.workload
        });
        config
    }
}

/// Runs the matrix: every model in `model_specs` under every nemesis in `nemeses`,
/// calling `row` as each cell is done.
pub fn matrix(
    model_specs: &[ModelSpec],
    nemeses: &[Nemesis],
    config: &MatrixConfig,
    row: impl FnMut(&Row),
) -> Result<Vec<Row>, RunError> {
    matrix_in(&Builtin, model_specs, nemeses, config, row)
}

/// [`matrix`] of models of `catalog`.
pub fn matrix_in<C: Catalog>(
    catalog: &C,
    model_specs: &[ModelSpec],
    nemeses: &[Nemesis],
    config: &MatrixConfig,
    mut row: impl FnMut(&Row),
) -> Result<Vec<Row>, RunError> {
    let seed_list: Vec<u64> = (0..config.seeds).collect();
    let mut rows = Vec::new();
    for spec in model_specs {
        let info = spec.info(catalog)?;
        for &nemesis in nemeses {
            let mut cell = Row::new(spec, &info, nemesis);
            let mut samples = Vec::new();
            let base = config.cell(spec, &info, nemesis);
            let run = |config: &RunConfig| run_in(catalog, config);
            sweep_with(
                &base,
                &seed_list,
                config.jobs,
                Until::AllSeeds,
                &run,
                |report| {
                    samples.extend_from_slice(&report.latency_samples);
                    cell.count(report);
                },
            )?;
            cell.latency = latencies(&mut samples);
            row(&cell);
            rows.push(cell);
        }
    }
    Ok(rows)
}

/// The Markdown table's header lines.
pub fn markdown_header() -> String {
    let mut head = "| model | nemesis |".to_owned();
    let mut rule = "|---|---|".to_owned();
    for g in Guarantee::ALL {
        head += &format!(" {} |", g.name());
        rule += "---:|";
    }
    for column in MEASURES {
        head += &format!(" {column} |");
        rule += "---:|";
    }
    head += " p50 ms | p99 ms |";
    rule += "---:|---:|";
    format!("{head}\n{rule}")
}

/// One row of the Markdown table; with `intervals`, every share with its 95% interval.
pub fn markdown_row(row: &Row, intervals: bool) -> String {
    let struck = if row.faulted == 0 && row.scenario != Nemesis::None.name() {
        " (no fault struck)"
    } else {
        ""
    };
    let mut line = format!("| {} | {}{struck} |", row.model, row.scenario);
    for share in &row.guarantees {
        line += &format!(" {} |", share.cell(intervals));
    }
    for (i, ratio) in row.availability.ratios().iter().enumerate() {
        let cell = match ratio.share() {
            None => "n/a".to_owned(),
            Some(share) => {
                let range = if intervals {
                    bracket(row.availability_interval(i), 1)
                } else {
                    String::new()
                };
                format!("{:.1}%{range}", 100.0 * share)
            }
        };
        line += &format!(" {cell} |");
    }
    match (
        row.latency,
        intervals.then(|| row.latency_intervals()).flatten(),
    ) {
        (Some(l), Some([p50, p99])) => {
            let range = |(low, high): (f64, f64)| format!(" [{low:.1}–{high:.1}]");
            line += &format!(
                " {:.1}{} | {:.1}{} |",
                l.p50_ms,
                range(p50),
                l.p99_ms,
                range(p99)
            );
        }
        (Some(l), None) => line += &format!(" {:.1} | {:.1} |", l.p50_ms, l.p99_ms),
        (None, _) => line += " n/a | n/a |",
    }
    line
}
