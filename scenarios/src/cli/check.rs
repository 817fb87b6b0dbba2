//! `consim check`: verdicts on history files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::exit::Exit;
use checkers::check::{CheckError, Checked, check_file};
use checkers::elle::models::Model;
use checkers::formats::Format;
use checkers::history::Value;
use checkers::linear::{Options, Outcome, Verdict};
use checkers::shared::{describe_op, when};
use checkers::spec::SpecName;
use clap::builder::TypedValueParser;
use serde_json::json;

#[derive(Clone, Debug, clap::Args)]
pub struct CheckArgs {
    /// History files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The sequential model (default: kv for histories with keys or appends, else
    /// cas-register).
    #[arg(long, value_parser = spec_name())]
    pub model: Option<SpecName>,
    /// What to check: linearizability; the four session guarantees (on list-append or
    /// unique-value register histories); `elle`, the dependency graph of Elle
    /// (anomalies such as G0, G1c, G-single-item-process, each cycle explained, and the
    /// consistency models they rule out; transactional histories too); or convergence
    /// and lost writes, from the final reads; or all of them, one after another (each
    /// saying so where it does not apply: a history of transactions is judged by the
    /// dependency graph alone).
    #[arg(long, value_enum, default_value_t = Consistency::Linearizable)]
    pub consistency: Consistency,
    /// The history format.
    #[arg(long, default_value = "auto", value_parser = format())]
    pub format: Format,
    /// Give up on a history after this many seconds (verdict unknown, exit 3).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Give up when the search uses this much memory (bytes; K, M, G suffixes).
    #[arg(long, value_name = "BYTES", default_value = "2G", value_parser = super::args::parse_bytes)]
    pub max_memory: u64,
    /// Write a self-contained HTML picture of the (first) history to this file.
    #[arg(long, value_name = "FILE")]
    pub viz: Option<PathBuf>,
    /// For a linearizable history, print the linearization order.
    #[arg(long)]
    pub witness: bool,
    /// With `--consistency elle` (or `all`): the consistency models the history is
    /// expected to satisfy, comma-separated, as Elle's `:consistency-models`. Only
    /// anomalies one of them prohibits are reported and count as violations (default:
    /// every anomaly).
    #[arg(long, value_name = "MODELS", value_delimiter = ',', value_parser = model())]
    pub consistency_models: Option<Vec<Model>>,
}

/// A sequential specification, by name.
fn spec_name() -> impl TypedValueParser<Value = SpecName> {
    clap::builder::PossibleValuesParser::new(SpecName::NAMES)
        .map(|name| SpecName::from_name(&name).expect("a possible value is a specification"))
}

/// A consistency model, by name.
fn model() -> impl TypedValueParser<Value = Model> {
    clap::builder::PossibleValuesParser::new(Model::all().map(Model::name))
        .map(|name| name.parse().expect("a possible value is a model"))
}

/// A history format, by name.
fn format() -> impl TypedValueParser<Value = Format> {
    clap::builder::PossibleValuesParser::new(Format::NAMES)
        .map(|name| Format::from_name(&name).expect("a possible value is a format"))
}

/// What `consim check` judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Consistency {
    /// Linearizability.
    Linearizable,
    /// The four session guarantees.
    Session,
    /// Elle's dependency graph.
    Elle,
    /// Convergence and lost writes, from the final reads.
    Convergence,
    /// All of them, one after another.
    All,
}

/// How a batch of checks came out.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    errors: usize,
    violations: usize,
    unknowns: usize,
}

impl Tally {
    /// A usage error if anything could not be read, else a violation if anything is
    /// violated, else inconclusive if anything is undecided.
    fn exit(self) -> Exit {
        if self.errors > 0 {
            Exit::Usage
        } else {
            Exit::of(self.violations as u64, self.unknowns as u64)
        }
    }

    fn add(self, other: Tally) -> Tally {
        Tally {
            errors: self.errors + other.errors,
            violations: self.violations + other.violations,
            unknowns: self.unknowns + other.unknowns,
        }
    }
}

/// Reads a history file and pairs its events into operations.
fn read_paired(
    path: &std::path::Path,
    format: Format,
    file: &str,
) -> Result<
    (
        checkers::history::History,
        Vec<checkers::history::Operation>,
    ),
    CheckError,
> {
    let history = checkers::formats::read_file(path, format)?;
    let ops = history.operations(file)?;
    Ok((history, ops))
}

/// Checks every file as `--consistency` says; `all` runs the four checks in turn
/// (where a check cannot judge a history, it says it does not apply, and the others
/// go on).
pub fn command(args: CheckArgs, json: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
    if args.consistency_models.is_some()
        && !matches!(args.consistency, Consistency::Elle | Consistency::All)
    {
        anyhow::bail!(
            "--consistency-models names the models the dependency graph's anomalies are judged against: it takes --consistency elle (or all)"
        );
    }
    let mut batch = Batch::new(&args, json);
    let tally = match args.consistency {
        Consistency::Linearizable => linear_command(&mut batch, out)?,
        Consistency::Session => session_command(&mut batch, out)?,
        Consistency::Elle => elle_command(&mut batch, out)?,
        Consistency::Convergence => convergence_command(&mut batch, out)?,
        Consistency::All => {
            batch.all = true;
            linear_command(&mut batch, out)?
                .add(session_command(&mut batch, out)?)
                .add(elle_command(&mut batch, out)?)
                .add(convergence_command(&mut batch, out)?)
        }
    };
    Ok(tally.exit())
}

/// `--consistency linearizable`.
fn linear_command(batch: &mut Batch<'_>, out: &mut dyn Write) -> anyhow::Result<Tally> {
    let (args, format, json) = (batch.args, batch.args.format, batch.json);
    let model = args.model;
    if let Some(t) = args.timeout {
        anyhow::ensure!(
            t.is_finite() && t > 0.0,
            "--timeout must be a positive number of seconds, got {t}"
        );
    }
    let options = Options {
        timeout: args.timeout.map(Duration::from_secs_f64),
        max_memory_bytes: args.max_memory,
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        ..Options::default()
    };
    let check = |path: &Path, _: &str| check_file(path, format, model, &options);
    each_file(
        out,
        batch,
        LINEARIZABLE,
        check,
        |out, index, file, checked| {
            if json {
                writeln!(out, "{}", json_line(file, &checked, args.witness))?;
            } else {
                print_human(out, file, &checked, args.witness)?;
            }
            if index == 0 {
                if let Some(viz) = &args.viz {
                    let page = checkers::viz::page(file, &checked);
                    std::fs::write(viz, page)
                        .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", viz.display()))?;
                }
            }
            Ok(checked.report.verdict())
        },
    )
}

/// For a register history: the first anomaly real time alone proves on each key
/// (stale reads, new-old inversions, future reads; see
/// [`checkers::anomalies::register_anomalies`]), as `kind: sentence`, to print beside
/// the search's sentence. Empty for list-append histories (`--consistency elle`
/// explains those) and keys that show none.
fn register_witnesses(checked: &Checked) -> BTreeMap<Option<Value>, String> {
    if checked.model == SpecName::ListAppend {
        return BTreeMap::new();
    }
    let mut first = BTreeMap::new();
    for found in checkers::anomalies::register_anomalies(&checked.history, &checked.operations) {
        first
            .entry(found.key.clone())
            .or_insert_with(|| found.sentence());
    }
    first
}

fn key_name(key: &Option<Value>) -> String {
    key.as_ref()
        .map_or_else(|| "-".to_owned(), Value::to_string)
}

/// An error in reading or judging `file` (whose message names the file and line).
fn print_error(
    out: &mut dyn Write,
    file: &str,
    err: &dyn std::fmt::Display,
    json: bool,
) -> std::io::Result<()> {
    if json {
        writeln!(
            out,
            "{}",
            json!({"file": file, "verdict": "error", "error": err.to_string()})
        )
    } else {
        // The message names the file and line already.
        eprintln!("consim: error: {err}");
        Ok(())
    }
}

fn print_human(
    out: &mut dyn Write,
    file: &str,
    checked: &Checked,
    witness: bool,
) -> std::io::Result<()> {
    let report = &checked.report;
    let verdict = report.verdict();
    let millis = checked.elapsed.as_secs_f64() * 1e3;
    let mut line = format!(
        "{file}: {} ({} ops, {} keys, {}, {millis:.1} ms)",
        serde_json::to_value(verdict)
            .map(|v| v.as_str().unwrap_or("").to_owned())
            .unwrap_or_default(),
        report.ops,
        report.keys.len(),
        checked.model.name()
    );
    let violated = report.keys_violated();
    if !violated.is_empty() {
        let names: Vec<String> = violated.iter().map(key_name).collect();
        line += &format!("; keys violated: {}", names.join(", "));
    }
    writeln!(out, "{line}")?;
    let witnesses = if violated.is_empty() {
        BTreeMap::new()
    } else {
        register_witnesses(checked)
    };
    for key in &report.keys {
        match &key.outcome {
            Outcome::Violation(v) => {
                print_violation(out, checked, &key.key, v, witnesses.get(&key.key))?;
            }
            Outcome::Unknown { reason } => {
                writeln!(out, "  key {}: unknown: {reason}", key_name(&key.key))?
            }
            Outcome::Linearizable { order, .. } if witness => {
                let steps: Vec<String> = order
                    .iter()
                    .map(|&i| {
                        let op = &checked.operations[i];
                        format!("p{} {}", op.process, describe_op(op))
                    })
                    .collect();
                writeln!(
                    out,
                    "  key {} linearization: {}",
                    key_name(&key.key),
                    steps.join(", ")
                )?;
            }
            Outcome::Linearizable { .. } => {}
        }
    }
    Ok(())
}

/// One key's violation: the search's sentence, what real time alone shows, and where
/// the search got stuck.
fn print_violation(
    out: &mut dyn Write,
    checked: &Checked,
    key: &Option<Value>,
    v: &checkers::linear::Violation,
    witness: Option<&String>,
) -> std::io::Result<()> {
    match key {
        None => writeln!(out, "  {}", v.sentence)?,
        Some(_) => writeln!(out, "  key {}: {}", key_name(key), v.sentence)?,
    }
    if v.without_search {
        // The sentence is the proof; there is no prefix to show.
        return Ok(());
    }
    if let Some(witness) = witness {
        writeln!(out, "    real time alone shows it: {witness}")?;
    }
    let next: Vec<String> = v
        .candidates
        .iter()
        .take(6)
        .map(|c| {
            let op = &checked.operations[c.op];
            format!("p{} {}", op.process, describe_op(op))
        })
        .collect();
    writeln!(
        out,
        "    longest linearizable prefix: {} ops, after which {}; could come next, but none leads on: {}{}",
        v.prefix.len(),
        v.state,
        next.join(", "),
        if v.candidates.len() > 6 { ", …" } else { "" }
    )
}

fn json_line(file: &str, checked: &Checked, witness: bool) -> serde_json::Value {
    let report = &checked.report;
    let witnesses = if report.keys_violated().is_empty() {
        BTreeMap::new()
    } else {
        register_witnesses(checked)
    };
    let keys: Vec<serde_json::Value> = report
        .keys
        .iter()
        .map(|key| {
            let mut entry = json!({"key": key.key, "ops": key.ops, "explored": key.explored});
            match &key.outcome {
                Outcome::Linearizable { order, .. } => {
                    entry["verdict"] = json!("ok");
                    if witness {
                        entry["linearization"] = json!(
                            order
                                .iter()
                                .map(|&i| checked.operations[i].call)
                                .collect::<Vec<_>>()
                        );
                    }
                }
                Outcome::Violation(v) => {
                    entry["verdict"] = json!("violation");
                    entry["sentence"] = json!(v.sentence);
                    if let Some(w) = witnesses.get(&key.key) {
                        entry["real_time_witness"] = json!(w);
                    }
                    entry["without_search"] = json!(v.without_search);
                    entry["state"] = json!(v.state);
                    entry["longest_prefix"] = json!(v.prefix.len());
                    entry["blocking"] = json!(v.blocking.map(|i| describe(checked, i)));
                    entry["cannot_place"] = json!(
                        v.candidates
                            .iter()
                            .map(|c| json!({"op": describe(checked, c.op), "why": c.impossible}))
                            .collect::<Vec<_>>()
                    );
                }
                Outcome::Unknown { reason } => {
                    entry["verdict"] = json!("unknown");
                    entry["reason"] = json!(reason);
                }
            }
            entry
        })
        .collect();
    json!({
        "file": file,
        "consistency": "linearizable",
        "verdict": report.verdict(),
        "model": checked.model,
        "ops": report.ops,
        "keys_violated": report.keys_violated(),
        "millis": checked.elapsed.as_secs_f64() * 1e3,
        "keys": keys,
    })
}

fn describe(checked: &Checked, op: usize) -> String {
    let o = &checked.operations[op];
    format!(
        "{} by process {} {}",
        describe_op(o),
        o.process,
        when(&checked.history, o)
    )
}

/// `--consistency session`: the four session guarantees per history. The wall clock
/// times the check for the report; it reaches no verdict.
fn session_command(batch: &mut Batch<'_>, out: &mut dyn Write) -> anyhow::Result<Tally> {
    let (format, json) = (batch.args.format, batch.json);
    let check = |path: &Path, file: &str| session_check(path, format, file);
    each_file(out, batch, SESSION, check, |out, _, file, checked| {
        if json {
            writeln!(out, "{}", checked.to_json(file))?;
        } else {
            checked.print(out, file)?;
        }
        Ok(verdict(checked.ok()))
    })
}

/// A history's session check, and the anomalies a list-append history shows outright.
struct SessionChecked {
    history: checkers::history::History,
    ops: Vec<checkers::history::Operation>,
    report: checkers::session::SessionReport,
    anomalies: Vec<checkers::anomalies::Found>,
    elapsed: Duration,
}

/// Reads and checks one history. The wall clock times the check for the report; it
/// reaches no verdict.
#[allow(clippy::disallowed_methods)]
fn session_check(
    path: &std::path::Path,
    format: Format,
    file: &str,
) -> Result<SessionChecked, CheckError> {
    let (history, ops) = read_paired(path, format, file)?;
    let start = std::time::Instant::now();
    let report = checkers::session::check_sessions(&history, &ops).map_err(|source| {
        CheckError::NotTraceable {
            origin: file.to_owned(),
            source,
        }
    })?;
    // What a list-append history shows outright, beside the guarantees (which skip the
    // elements these concern).
    let anomalies = if report.workload == checkers::traceable::Workload::ListAppend {
        checkers::anomalies::list_append_anomalies(&history, &ops)
    } else {
        Vec::new()
    };
    Ok(SessionChecked {
        history,
        ops,
        report,
        anomalies,
        elapsed: start.elapsed(),
    })
}

impl SessionChecked {
    fn ok(&self) -> bool {
        self.report.ok() && self.anomalies.is_empty()
    }

    fn line_of(&self, i: usize) -> usize {
        let call = self.ops[i].call;
        self.history.lines.get(call).copied().unwrap_or(call + 1)
    }

    fn lines(&self, ops: &[usize]) -> Vec<usize> {
        ops.iter().map(|&i| self.line_of(i)).collect()
    }

    fn to_json(&self, file: &str) -> serde_json::Value {
        let guarantees: serde_json::Map<String, serde_json::Value> = self
            .report
            .results
            .iter()
            .map(|(g, anomalies)| {
                let list: Vec<serde_json::Value> = anomalies
                    .iter()
                    .map(|a| json!({"key": a.key, "lines": self.lines(&a.ops), "explanation": a.explanation}))
                    .collect();
                let verdict = if anomalies.is_empty() { "ok" } else { "violation" };
                (g.name().to_owned(), json!({"verdict": verdict, "anomalies": list}))
            })
            .collect();
        let mut keys: Vec<Option<Value>> = self
            .report
            .results
            .iter()
            .flat_map(|(_, a)| a.iter().map(|x| x.key.clone()))
            .chain(self.anomalies.iter().map(|a| a.key.clone()))
            .collect();
        keys.sort();
        keys.dedup();
        json!({
            "file": file,
            "consistency": "session",
            "verdict": if self.ok() { "ok" } else { "violation" },
            "workload": self.report.workload,
            "ops": self.ops.len(),
            "keys_violated": keys,
            "millis": self.elapsed.as_secs_f64() * 1e3,
            "guarantees": guarantees,
            "anomalies": self.anomalies.iter().map(|a| json!({
                "kind": a.kind,
                "key": a.key,
                "lines": self.lines(&a.ops),
                "explanation": a.explanation,
            })).collect::<Vec<_>>(),
        })
    }

    fn print(&self, out: &mut dyn Write, file: &str) -> anyhow::Result<()> {
        let verdict = if self.ok() { "ok" } else { "violation" };
        let workload = serde_json::to_value(self.report.workload)?;
        writeln!(
            out,
            "{file}: {verdict} ({} ops, {}, session guarantees, {:.1} ms)",
            self.ops.len(),
            workload.as_str().unwrap_or(""),
            self.elapsed.as_secs_f64() * 1e3
        )?;
        let plural = |n: usize| if n == 1 { "y" } else { "ies" };
        if let Some(first) = self.anomalies.first() {
            let kind = serde_json::to_value(first.kind)?;
            writeln!(
                out,
                "  {} anomal{} the history shows outright; first, {} on key {}: {}",
                self.anomalies.len(),
                plural(self.anomalies.len()),
                kind.as_str().unwrap_or(""),
                key_name(&first.key),
                first.explanation
            )?;
        }
        for (g, anomalies) in &self.report.results {
            match anomalies.first() {
                None => writeln!(out, "  {}: ok", g.name())?,
                Some(first) => writeln!(
                    out,
                    "  {}: {} anomal{}; key {}: {}",
                    g.name(),
                    anomalies.len(),
                    plural(anomalies.len()),
                    key_name(&first.key),
                    first.explanation
                )?,
            }
        }
        Ok(())
    }
}

/// `--consistency elle`: the dependency graph, its anomalies and the models they rule
/// out. The wall clock times the analysis for the report; it reaches no verdict.
#[allow(clippy::disallowed_methods)]
fn elle_command(batch: &mut Batch<'_>, out: &mut dyn Write) -> anyhow::Result<Tally> {
    use checkers::elle::read::{check_source, read_file};
    let (format, json) = (batch.args.format, batch.json);
    let mut options = checkers::elle::Options::default();
    options.consistency_models = batch.args.consistency_models.clone();
    let check = |path: &Path, file: &str| {
        let source = read_file(path, format)?;
        let start = std::time::Instant::now();
        let report =
            check_source(&source, &options).map_err(|reason| CheckError::NotTraceable {
                origin: file.to_owned(),
                source: reason,
            })?;
        Ok((source, report, start.elapsed().as_secs_f64() * 1e3))
    };
    let requested = options.consistency_models.as_deref();
    each_file(
        out,
        batch,
        ELLE,
        check,
        |out, _, file, (source, report, millis)| {
            if json {
                let line = elle_json(file, &source, &report, millis, requested);
                writeln!(out, "{line}")?;
            } else {
                print_elle(out, file, &report, millis, requested)?;
            }
            Ok(verdict(report.ok()))
        },
    )
}

/// One `--json` line of `--consistency elle`.
fn elle_json(
    file: &str,
    source: &checkers::elle::read::Source,
    report: &checkers::elle::Report,
    millis: f64,
    requested: Option<&[Model]>,
) -> serde_json::Value {
    let mut types: Vec<&str> = report
        .anomalies
        .iter()
        .map(|a| a.kind.static_name())
        .collect();
    types.sort_unstable();
    types.dedup();
    let anomalies: Vec<serde_json::Value> = report
        .anomalies
        .iter()
        .map(|a| {
            let steps: Vec<serde_json::Value> = a
                .steps
                .iter()
                .map(|s| {
                    json!({
                        "from_line": source.line(s.from),
                        "to_line": source.line(s.to),
                        "rel": s.rel,
                        "key": s.key,
                        "why": s.why,
                    })
                })
                .collect();
            json!({
                "type": a.kind,
                "lines": a.lines,
                "ops": a.txns,
                "explanation": a.explanation,
                "steps": steps,
            })
        })
        .collect();
    json!({
        "file": file,
        "consistency": "elle",
        "verdict": if report.ok() { "ok" } else { "violation" },
        "workload": report.workload,
        "ops": report.txns,
        "millis": millis,
        "consistency_models": requested,
        "sccs": report.sccs,
        "sccs_search_exhausted": report.sccs_search_exhausted,
        "anomaly_types": types,
        "anomalies": anomalies,
        "unreported_types": report.unreported,
        "not": report.ruled_out.not,
        "ruled_out": report.ruled_out.all,
    })
}

/// The human report of `--consistency elle`: per kind of anomaly, how many and the
/// first; what the components whose search ran out of budget prove on their own; what
/// the requested models do not prohibit; the models ruled out.
fn print_elle(
    out: &mut dyn Write,
    file: &str,
    report: &checkers::elle::Report,
    millis: f64,
    requested: Option<&[Model]>,
) -> anyhow::Result<()> {
    use checkers::anomalies::Kind;
    let verdict = if report.ok() { "ok" } else { "violation" };
    let workload = serde_json::to_value(report.workload)?;
    let against =
        requested.map_or_else(String::new, |models| format!(" against {}", names(models)));
    writeln!(
        out,
        "{file}: {verdict} ({} ops, {}, dependency graph{against}, {millis:.1} ms)",
        report.txns,
        workload.as_str().unwrap_or("")
    )?;
    // Per kind, how many and the first, in the order they were found.
    let mut kinds: Vec<Kind> = Vec::new();
    for a in &report.anomalies {
        if !kinds.contains(&a.kind) && !matches!(a.kind, Kind::CycleExists(_)) {
            kinds.push(a.kind);
        }
    }
    for kind in kinds {
        let all: Vec<&checkers::elle::Anomaly> =
            report.anomalies.iter().filter(|a| a.kind == kind).collect();
        writeln!(
            out,
            "  {}: {} found; first: {}",
            kind.static_name(),
            all.len(),
            all[0].explanation
        )?;
    }
    print_elle_exhausted(out, report)?;
    if !report.unreported.is_empty() {
        let kinds: Vec<&str> = report.unreported.iter().map(|k| k.static_name()).collect();
        writeln!(
            out,
            "  also found, but prohibited by none of {}: {}",
            requested.map_or_else(String::new, names),
            kinds.join(", ")
        )?;
    }
    print_ruled_out(out, &report.ruled_out)?;
    Ok(())
}

/// Model names, comma-separated.
fn names(models: &[Model]) -> String {
    let names: Vec<&str> = models.iter().map(|m| m.name()).collect();
    names.join(", ")
}

/// Where the cycle search ran out of budget, and what those components' relations
/// prove on their own (the `-cycle-exists` anomalies).
fn print_elle_exhausted(
    out: &mut dyn Write,
    report: &checkers::elle::Report,
) -> anyhow::Result<()> {
    if report.sccs_search_exhausted == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "  the cycle search ran out of budget in {} of {} strongly connected components: each still shows one cycle, but weaker kinds may be there too",
        report.sccs_search_exhausted, report.sccs
    )?;
    for a in &report.anomalies {
        if let checkers::anomalies::Kind::CycleExists(c) = a.kind {
            writeln!(
                out,
                "  {}, inferred from a component's relations alone: {}",
                c.name(),
                a.explanation
            )?;
        }
    }
    Ok(())
}

/// The models ruled out: the weakest, then the others.
fn print_ruled_out(
    out: &mut dyn Write,
    ruled_out: &checkers::elle::models::RuledOut,
) -> std::io::Result<()> {
    if ruled_out.all.is_empty() {
        return Ok(());
    }
    let also: Vec<&str> = ruled_out
        .all
        .iter()
        .copied()
        .filter(|m| !ruled_out.not.contains(m))
        .collect();
    writeln!(
        out,
        "  rules out: {}{}",
        ruled_out.not.join(", "),
        if also.is_empty() {
            String::new()
        } else {
            format!(" (and so {})", also.join(", "))
        }
    )
}

/// `--consistency convergence`: final reads and the fate of every write.
fn convergence_command(batch: &mut Batch<'_>, out: &mut dyn Write) -> anyhow::Result<Tally> {
    let (format, json) = (batch.args.format, batch.json);
    let check = |path: &Path, file: &str| {
        let (history, ops) = read_paired(path, format, file)?;
        Ok((
            ops.len(),
            checkers::convergence::check_convergence(&history, &ops),
        ))
    };
    each_file(
        out,
        batch,
        CONVERGENCE,
        check,
        |out, _, file, (ops, report)| {
            if json {
                writeln!(out, "{}", convergence_json(file, ops, &report))?;
            } else {
                let verdict = if report.ok() { "ok" } else { "violation" };
                let keys = report.keys.len();
                writeln!(
                    out,
                    "{file}: {verdict} ({ops} ops, {keys} keys, convergence)"
                )?;
                for k in report.keys.iter().filter(|k| !k.problems.is_empty()) {
                    for problem in &k.problems {
                        writeln!(out, "  key {}: {problem}", key_name(&k.key))?;
                    }
                }
            }
            Ok(verdict(report.ok()))
        },
    )
}

/// One `--json` line of `--consistency convergence`.
fn convergence_json(
    file: &str,
    ops: usize,
    report: &checkers::convergence::ConvergenceReport,
) -> serde_json::Value {
    let verdict = if report.ok() { "ok" } else { "violation" };
    let bad: Vec<&Option<Value>> = report
        .keys
        .iter()
        .filter(|k| !k.problems.is_empty())
        .map(|k| &k.key)
        .collect();
    let keys: Vec<serde_json::Value> = report
        .keys
        .iter()
        .map(|k| {
            let fates: serde_json::Map<String, serde_json::Value> = k
                .elements
                .iter()
                .map(|(fate, values)| {
                    let name = serde_json::to_value(fate)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    (name, json!(values))
                })
                .collect();
            json!({
                "key": k.key,
                "final_reads": k.final_reads.len(),
                "converged": k.converged,
                "elements": fates,
                "lost_updates": k.lost_updates.len(),
                "problems": k.problems,
            })
        })
        .collect();
    json!({"file": file, "consistency": "convergence", "verdict": verdict, "ops": ops, "keys_violated": bad, "keys": keys})
}

/// One of the checks, as [`each_file`] names it.
#[derive(Clone, Copy, Debug)]
struct Judge {
    /// As `--consistency` names it.
    consistency: &'static str,
    /// What it judges, in words.
    what: &'static str,
    /// Whether it judges histories of transactions of several micro-operations, or
    /// single operations only.
    transactions: bool,
}

const LINEARIZABLE: Judge = Judge {
    consistency: "linearizable",
    what: "linearizability",
    transactions: false,
};
const SESSION: Judge = Judge {
    consistency: "session",
    what: "session guarantees",
    transactions: false,
};
const ELLE: Judge = Judge {
    consistency: "elle",
    what: "dependency graph",
    transactions: true,
};
const CONVERGENCE: Judge = Judge {
    consistency: "convergence",
    what: "convergence",
    transactions: false,
};

/// The files of one `consim check`, and how the checks treat what they cannot judge.
struct Batch<'a> {
    args: &'a CheckArgs,
    json: bool,
    /// `--consistency all`: a history a check cannot judge is reported as not
    /// applicable to it, and the other checks go on. Alone, a check reports an error.
    all: bool,
    /// Whether each file (by index) is a history of transactions, once asked.
    transactional: BTreeMap<usize, bool>,
}

impl<'a> Batch<'a> {
    fn new(args: &'a CheckArgs, json: bool) -> Batch<'a> {
        Batch {
            args,
            json,
            all: false,
            transactional: BTreeMap::new(),
        }
    }

    /// Whether file `index` is a history of transactions of several micro-operations
    /// (Jepsen's `:f :txn`, elle-cli's JSON), as the dependency graph reads it: asked
    /// of a file only a single-operation check could not read.
    fn transactional(&mut self, index: usize) -> bool {
        let path = &self.args.files[index];
        let format = self.args.format;
        *self.transactional.entry(index).or_insert_with(|| {
            matches!(
                checkers::elle::read::read_file(path, format),
                Ok(checkers::elle::read::Source::Transactions(_))
            )
        })
    }
}

/// Why a single-operation check does not judge a history of transactions.
fn transactions_why(judge: Judge) -> String {
    format!(
        "a history of transactions of several micro-operations: --consistency {} judges single operations, and --consistency elle judges transactions",
        judge.consistency
    )
}

/// The verdict of a check that decides every history.
fn verdict(ok: bool) -> Verdict {
    if ok { Verdict::Ok } else { Verdict::Violation }
}

/// Checks each file of `batch` with `check`, has `report` print what it found and
/// return its verdict (`index` is the file's place in the list), and tallies the
/// verdicts. A file that cannot be read or judged is an error printed in its place;
/// under `--consistency all`, a history `judge` cannot judge (one that is not
/// traceable, or of transactions for a single-operation check) is reported as not
/// applicable instead.
fn each_file<T>(
    out: &mut dyn Write,
    batch: &mut Batch<'_>,
    judge: Judge,
    mut check: impl FnMut(&Path, &str) -> Result<T, CheckError>,
    mut report: impl FnMut(&mut dyn Write, usize, &str, T) -> anyhow::Result<Verdict>,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    let json = batch.json;
    for (index, path) in batch.args.files.iter().enumerate() {
        let file = path.display().to_string();
        let err = match check(path, &file) {
            Ok(done) => {
                match report(out, index, &file, done)? {
                    Verdict::Ok => {}
                    Verdict::Violation => tally.violations += 1,
                    Verdict::Unknown => tally.unknowns += 1,
                }
                continue;
            }
            Err(err) => err,
        };
        let transactions = matches!(err, CheckError::History(_))
            && !judge.transactions
            && batch.transactional(index);
        match err {
            _ if transactions && batch.all => {
                not_applicable(out, json, &file, judge, &transactions_why(judge))?;
            }
            _ if transactions => {
                tally.errors += 1;
                let message = format!("{file}: {}", transactions_why(judge));
                print_error(out, &file, &message, json)?;
            }
            CheckError::NotTraceable { source, .. } if batch.all => {
                not_applicable(out, json, &file, judge, &source)?;
            }
            err => {
                tally.errors += 1;
                print_error(out, &file, &err, json)?;
            }
        }
    }
    Ok(tally)
}

/// Says that a check does not apply to a file (with `--consistency all`, where the
/// other checks still do).
fn not_applicable(
    out: &mut dyn Write,
    json: bool,
    file: &str,
    judge: Judge,
    reason: &dyn std::fmt::Display,
) -> std::io::Result<()> {
    if json {
        writeln!(
            out,
            "{}",
            json!({"file": file, "consistency": judge.consistency, "verdict": "not-applicable", "reason": reason.to_string()})
        )
    } else {
        writeln!(out, "{file}: {} not applicable: {reason}", judge.what)
    }
}

#[cfg(test)]
mod tests {
    use super::print_elle;
    use checkers::elle::read::{check_source, read_str};
    use checkers::formats::Format;

    /// T1 and T2 read each other's appends (G1c); T0, before both in real time, read
    /// T1's append to w, so every cycle through it takes real time.
    const G1C_AFTER_A_FUTURE_READ: &str = "\
{:process 0, :type :invoke, :f :txn, :value [[:r :w nil]]}
{:process 0, :type :ok, :f :txn, :value [[:r :w [1]]]}
{:process 1, :type :invoke, :f :txn, :value [[:append :x 1] [:r :y nil] [:append :w 1]]}
{:process 2, :type :invoke, :f :txn, :value [[:append :y 1] [:r :x nil]]}
{:process 1, :type :ok, :f :txn, :value [[:append :x 1] [:r :y [1]] [:append :w 1]]}
{:process 2, :type :ok, :f :txn, :value [[:append :y 1] [:r :x [1]]]}
";

    #[test]
    fn the_human_report_says_what_a_component_proves_on_its_own() {
        let source = read_str(G1C_AFTER_A_FUTURE_READ, Format::Edn, "h.edn").unwrap();
        let mut options = checkers::elle::Options::default();
        options.search_steps_max = 0;
        let report = check_source(&source, &options).unwrap();
        let mut out = Vec::new();
        print_elle(&mut out, "h.edn", &report, 0.0, None).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(
                "the cycle search ran out of budget in 1 of 1 strongly connected components"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "\n  read-committed-cycle-exists, inferred from a component's relations alone: The 2 transactions invoked at lines 3 and 4 are strongly connected by ww and wr edges"
            ),
            "{text}"
        );
        assert!(text.contains("\n  rules out: read-committed"), "{text}");
        assert!(!text.contains("cycle-exists: 1 found"), "{text}");
    }
}
