//! The CAP matrix: for each model and nemesis, over a range of seeds, how often each
//! guarantee held, how available the store was, and how fast.
//!
//! Every guarantee is judged in every run (not only the promised ones), so the table
//! shows what each consistency model costs and buys: a strong store keeps every
//! guarantee and loses availability under partitions; an eventual one stays available
//! and gives up the session guarantees. A share is over the runs where the guarantee
//! could be judged; `n/a` means it never could (for example, session checks on a
//! history with cas), and a guarantee the model promises is marked with `*`.

use models::Params;
use serde::Serialize;

use crate::nemesis::Nemesis;
use crate::run::{
    ALL_GUARANTEES, Checks, ClientSettings, Judgement, Latencies, OpCounts, RunConfig, RunError,
    latencies,
};
use crate::sweep::sweep;

/// A model setting written `KEY=VALUE` (`--param`, and the settings of a
/// [`ModelSpec`]), trimmed; the key must not be empty.
///
/// ```
/// use scenarios::matrix::parse_setting;
/// assert_eq!(parse_setting(" r = 2"), Ok(("r".to_owned(), "2".to_owned())));
/// assert!(parse_setting("=2").is_err());
/// ```
pub fn parse_setting(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))
}

/// A model and its settings, written `name` or `name:key=value:key=value…` (with
/// `replicas=N` for the replica count): one row group of the matrix, so that one
/// table can set a model beside itself with other settings.
///
/// ```
/// use scenarios::matrix::ModelSpec;
/// let spec: ModelSpec = "raft:check-quorum=true:replicas=3".parse()?;
/// assert_eq!(spec.name, "raft");
/// assert_eq!(spec.params.replicas, Some(3));
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
        let valid = || {
            let names: Vec<&str> = models::catalog()
                .iter()
                .filter(|m| m.serves_clients)
                .map(|m| m.name)
                .collect();
            names.join(", ")
        };
        match models::find(&name) {
            None => {
                return Err(format!(
                    "unknown model `{name}`; the models are: {}",
                    valid()
                ));
            }
            Some(m) if !m.serves_clients => {
                return Err(format!(
                    "`{name}` serves no clients, so it has no row; the models are: {}",
                    valid()
                ));
            }
            Some(_) => {}
        }
        let mut params = Params::default();
        for part in parts {
            let (key, value) = parse_setting(part)
                .map_err(|_| format!("`{part}` in `{text}` is not KEY=VALUE"))?;
            if key == "replicas" {
                let n = value
                    .parse()
                    .map_err(|_| format!("replicas `{value}` in `{text}` is not a count"))?;
                params.replicas = Some(n);
            } else {
                params.settings.insert(key, value);
            }
        }
        Ok(ModelSpec {
            name,
            params,
            label: text.trim().to_owned(),
        })
    }
}

impl std::fmt::Display for ModelSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

/// One cell of the matrix: a model under a nemesis.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The model, with its settings if any were given (`raft:check-quorum=true`).
    pub model: String,
    /// The nemesis.
    pub scenario: String,
    /// Runs.
    pub runs: u64,
    /// Per guarantee (in [`ALL_GUARANTEES`] order): runs where it held, runs where it
    /// was judged, and whether the model promises it.
    pub guarantees: Vec<GuaranteeShare>,
    /// Successful share of all workload operations.
    pub availability: f64,
    /// Latency percentiles over all successful operations of all runs.
    pub latency: Latencies,
    /// Runs where the model panicked.
    pub panics: u64,
}

/// How often one guarantee held.
#[derive(Clone, Debug, Serialize)]
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
    /// The cell text: a percentage, `n/a`, with `*` if promised.
    pub fn cell(&self) -> String {
        let star = if self.promised { "*" } else { "" };
        if self.judged == 0 {
            format!("n/a{star}")
        } else {
            let pct = 100.0 * self.held as f64 / self.judged as f64;
            format!("{pct:.0}%{star}")
        }
    }
}

/// Runs the matrix: every model in `models` under every nemesis in `nemeses`, seeds
/// `0..seeds`, on `jobs` threads; calls `row` as each cell is done.
pub fn matrix(
    model_specs: &[ModelSpec],
    nemeses: &[Nemesis],
    seeds: u64,
    jobs: usize,
    client: ClientSettings,
    mut row: impl FnMut(&Row),
) -> Result<Vec<Row>, RunError> {
    let seed_list: Vec<u64> = (0..seeds).collect();
    let mut rows = Vec::new();
    for spec in model_specs {
        let model = &spec.name;
        for &nemesis in nemeses {
            let mut config = RunConfig::new(model, 0);
            config.params = spec.params.clone();
            config.nemesis = nemesis;
            config.checks = Checks::All;
            config.client = client;
            let mut cell = Row {
                model: spec.to_string(),
                scenario: nemesis.name().to_owned(),
                runs: 0,
                guarantees: ALL_GUARANTEES
                    .iter()
                    .map(|&g| GuaranteeShare {
                        guarantee: g,
                        held: 0,
                        judged: 0,
                        unknown: 0,
                        promised: models::find(model).is_some_and(|m| m.promises.contains(&g)),
                    })
                    .collect(),
                availability: 0.0,
                latency: Latencies::default(),
                panics: 0,
            };
            let mut ops = OpCounts::default();
            let mut samples = Vec::new();
            sweep(&config, &seed_list, jobs, false, |report| {
                cell.runs += 1;
                ops.add(&report.ops);
                samples.extend_from_slice(&report.latency_samples);
                if report.panic.is_some() {
                    cell.panics += 1;
                }
                for v in &report.verdicts {
                    let share = cell
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
            })?;
            cell.availability = ops.availability();
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
    for g in ALL_GUARANTEES {
        let name = serde_json::to_value(g)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        head += &format!(" {name} |");
        rule += "---:|";
    }
    head += " availability | p50 ms | p99 ms |";
    rule += "---:|---:|---:|";
    format!("{head}\n{rule}")
}

/// One row of the Markdown table.
pub fn markdown_row(row: &Row) -> String {
    let mut line = format!("| {} | {} |", row.model, row.scenario);
    for share in &row.guarantees {
        line += &format!(" {} |", share.cell());
    }
    line += &format!(
        " {:.1}% | {:.1} | {:.1} |",
        100.0 * row.availability,
        row.latency.p50_ms,
        row.latency.p99_ms
    );
    line
}
