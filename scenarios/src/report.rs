//! What a run did: its operations, availability, latencies, verdicts, and the
//! artifacts (history, plan, trace) that replay and explain it.

use checkers::history::History;
use models::{Guarantee, ModelError};
use serde::Serialize;
use sim_core::{BuildError, FaultPlan, Stats, Time, TraceEvent};

use crate::availability::{Availability, MEASURES};
use crate::workload::{Mix, WorkloadError};

/// How the clients' operations ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OpCounts {
    /// Took effect.
    pub ok: u64,
    /// Certainly did not take effect.
    pub fail: u64,
    /// Unknown (timed out).
    pub info: u64,
    /// Never ended (the run hit its time limit).
    pub unfinished: u64,
    /// Never sent: in an open loop with a deadline, still waiting at its client
    /// when the deadline passed.
    pub abandoned: u64,
}

impl OpCounts {
    /// These counts and `other`'s together.
    pub fn add(&mut self, other: &OpCounts) {
        self.ok += other.ok;
        self.fail += other.fail;
        self.info += other.info;
        self.unfinished += other.unfinished;
        self.abandoned += other.abandoned;
    }

    /// Every operation counted.
    pub fn total(&self) -> u64 {
        self.ok + self.fail + self.info + self.unfinished + self.abandoned
    }
}

/// Latency percentiles of the successful operations, in simulated milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Latencies {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// Exact percentiles (nearest rank) of `samples`, in nanoseconds, as milliseconds;
/// `None` without samples.
pub fn latencies(samples: &mut [u64]) -> Option<Latencies> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = |p: f64| {
        let i = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i] as f64 / 1e6
    };
    Some(Latencies {
        p50_ms: rank(0.50),
        p99_ms: rank(0.99),
        max_ms: samples[samples.len() - 1] as f64 / 1e6,
    })
}

/// Why a guarantee is judged in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The model promises it: a violation fails the run.
    Promised,
    /// The bug variant breaks it: a violation fails the run (it is what a sweep looks
    /// for).
    Broken,
    /// The command asked for it (`--require`): a violation fails the run.
    Required,
    /// None of these: measured only.
    Measured,
}

/// What the checker concluded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "verdict")]
pub enum Judgement {
    /// It held.
    Ok,
    /// It was violated.
    Violation {
        /// What shows it, in sentences.
        explanation: String,
    },
    /// The checker's budget ran out.
    Unknown {
        /// Which budget.
        reason: String,
    },
    /// The history cannot judge it (for example, session checks of a history with cas).
    NotApplicable {
        /// Why.
        reason: String,
    },
}

/// One guarantee's verdict in a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GuaranteeVerdict {
    /// The guarantee.
    pub guarantee: Guarantee,
    /// Why it was judged.
    pub role: Role,
    /// The conclusion.
    pub judgement: Judgement,
}

/// What a run did.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// The model run.
    pub model: String,
    /// The scenario (nemesis) run.
    pub scenario: String,
    /// The workload mix.
    pub workload: Option<Mix>,
    /// The run seed.
    pub seed: u64,
    /// Replicas run (nodes `0..replicas`; the clients come after them).
    pub replicas: usize,
    /// Clients run.
    pub clients: u32,
    /// Simulated time at the end.
    pub simulated: Time,
    /// The trace hash: same seed and build, same hash.
    pub trace_hash: u64,
    /// The kernel's counters.
    pub stats: Stats,
    /// How the workload's operations ended (final reads not counted).
    pub ops: OpCounts,
    /// Availability, four ways (see [`crate::availability`]).
    pub availability: Availability,
    /// Whether some fault was active at some moment (a nemesis may have nothing to do
    /// to a model: no partition cuts a store of one replica in two).
    pub faulted: bool,
    /// Latencies of the workload's successful operations, from invocation to the end
    /// (time spent waiting at the client before the invocation is not in them);
    /// `None` if none succeeded.
    pub latency: Option<Latencies>,
    /// The verdict on every guarantee judged.
    pub verdicts: Vec<GuaranteeVerdict>,
    /// The model panicked, with this message (the run is a failure).
    pub panic: Option<String>,
    /// A property across replicas that broke, in words ([`models::Model::invariants`],
    /// checked after every event; the run is a failure).
    pub broken_invariant: Option<String>,
    /// What the model's invariants measured over the run ([`models::Measure`]: how
    /// stale a cache was, say); empty for a model that measures nothing.
    pub measures: Vec<models::Measure>,
    /// The faults applied, leaders resolved: replayable with `--plan`.
    #[serde(skip)]
    pub plan: FaultPlan,
    /// The clients' history.
    #[serde(skip)]
    pub history: History,
    /// The operations each client was handed ([`crate::script`]): run again with
    /// this script (and [`RunReport::plan`]), the run is the same.
    #[serde(skip)]
    pub script: crate::script::Script,
    /// The full trace, if asked for.
    #[serde(skip)]
    pub trace: Option<Vec<TraceEvent>>,
    /// Latency samples of the successful workload operations (ns), for aggregating.
    #[serde(skip)]
    pub latency_samples: Vec<u64>,
    /// Offered load, goodput, amplification, queues and recovery (see
    /// [`crate::load`]), for runs with an open loop or replicas with a capacity.
    pub load: Option<crate::load::Load>,
}

impl RunReport {
    /// Whether the run failed: a promised (or bug-broken) guarantee was violated, an
    /// invariant broke, or the model panicked.
    pub fn failed(&self) -> bool {
        self.panic.is_some()
            || self.broken_invariant.is_some()
            || self.verdicts.iter().any(|v| {
                v.role != Role::Measured && matches!(v.judgement, Judgement::Violation { .. })
            })
    }

    /// Whether a judged (non-measured) guarantee was left undecided.
    pub fn inconclusive(&self) -> bool {
        self.verdicts
            .iter()
            .any(|v| v.role != Role::Measured && matches!(v.judgement, Judgement::Unknown { .. }))
    }
}

impl RunReport {
    /// The report as one JSON object (a `--json` line of `run` and `sweep`).
    pub fn to_json(&self) -> serde_json::Value {
        let counts: serde_json::Map<String, serde_json::Value> = MEASURES
            .iter()
            .zip(self.availability.ratios())
            .map(|(name, r)| ((*name).to_owned(), serde_json::json!(r)))
            .collect();
        serde_json::json!({
            "model": self.model,
            "scenario": self.scenario,
            "workload": self.workload,
            "seed": self.seed,
            "failed": self.failed(),
            "events": self.stats.events,
            "deliveries": self.stats.deliveries,
            "simulated_ns": self.simulated.as_nanos(),
            "trace_hash": format!("{:016x}", self.trace_hash),
            "ops": self.ops,
            "availability": self.availability,
            "availability_counts": counts,
            "latency": self.latency,
            "verdicts": self.verdicts,
            "panic": self.panic,
            "broken_invariant": self.broken_invariant,
            "measures": self.measures,
            "stats": self.stats,
            "load": self.load,
        })
    }

    /// The report as text: a summary line, then the verdicts (all of them if
    /// `verbose`, else those that did not hold).
    pub fn write_text(
        &self,
        out: &mut (impl std::io::Write + ?Sized),
        verbose: bool,
    ) -> std::io::Result<()> {
        let status = if self.failed() {
            "FAILED"
        } else if self.inconclusive() {
            "inconclusive"
        } else {
            "ok"
        };
        let mut line = format!(
            "{status} model={} scenario={} seed={} events={} deliveries={} simulated={} trace_hash={:016x}",
            self.model,
            self.scenario,
            self.seed,
            self.stats.events,
            self.stats.deliveries,
            self.simulated,
            self.trace_hash
        );
        if self.workload.is_some() {
            line += &self.operations_text();
        }
        if self.stats.queued + self.stats.dropped_overload > 0 {
            // Only replicas with a capacity queue or overflow.
            line += &format!(
                " overload: queued={} dropped={} refused={} shed={}",
                self.stats.queued, self.stats.dropped_overload, self.stats.refused, self.stats.shed
            );
        }
        if let Some(load) = &self.load {
            line += &load.text();
        }
        writeln!(out, "{line}")?;
        if let Some(panic) = &self.panic {
            writeln!(out, "  the model panicked: {panic}")?;
        }
        if let Some(broken) = &self.broken_invariant {
            writeln!(out, "  invariant broken: {broken}")?;
        }
        for measure in &self.measures {
            writeln!(out, "  measured: {measure}")?;
        }
        if self.verdicts.is_empty() && self.panic.is_none() && self.workload.is_some() {
            writeln!(
                out,
                "  no guarantees judged (`--checks none`, or a model that promises none the history shows)"
            )?;
        }
        for v in &self.verdicts {
            let fine = v.role == Role::Measured || matches!(v.judgement, Judgement::Ok);
            if verbose || !fine {
                writeln!(out, "  {}", v.text())?;
            }
        }
        Ok(())
    }

    /// ` ops: ok=… fail=… info=… unfinished=… availability: cap=… … p50=…ms …`.
    fn operations_text(&self) -> String {
        let ops = self.ops;
        let latency = match self.latency {
            Some(l) => format!(
                "p50={:.1}ms p99={:.1}ms max={:.1}ms",
                l.p50_ms, l.p99_ms, l.max_ms
            ),
            None if ops.ok == 0 => "latency n/a (nothing succeeded)".to_owned(),
            // Only a followed schedule succeeds without latencies: it has an order of
            // events, not times.
            None => "latency n/a (an explored schedule has no latencies)".to_owned(),
        };
        let availability: Vec<String> = MEASURES
            .iter()
            .zip(self.availability.ratios())
            .map(|(name, r)| match r.share() {
                Some(share) => format!("{name}={:.1}%", 100.0 * share),
                None => format!("{name}=n/a"),
            })
            .collect();
        // Only open loops with a deadline abandon operations.
        let abandoned = if ops.abandoned > 0 {
            format!(" abandoned={}", ops.abandoned)
        } else {
            String::new()
        };
        format!(
            " ops: ok={} fail={} info={} unfinished={}{abandoned} availability: {} {latency}",
            ops.ok,
            ops.fail,
            ops.info,
            ops.unfinished,
            availability.join(" "),
        )
    }
}

impl GuaranteeVerdict {
    /// The verdict in words: `linearizable: ok`,
    /// `read-your-writes (the bug's target): VIOLATION: …`.
    pub fn text(&self) -> String {
        let name = self.guarantee.name();
        let role = match self.role {
            Role::Promised => "",
            Role::Broken => " (the bug's target)",
            Role::Required => " (required)",
            Role::Measured => " (measured)",
        };
        match &self.judgement {
            Judgement::Ok => format!("{name}{role}: ok"),
            Judgement::Violation { explanation } => {
                format!("{name}{role}: VIOLATION: {explanation}")
            }
            Judgement::Unknown { reason } => format!("{name}{role}: unknown ({reason})"),
            Judgement::NotApplicable { reason } => format!("{name}{role}: n/a ({reason})"),
        }
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// No model has that name, or its settings make no sense.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The workload's settings make no sense.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// A failing run, replayed from the faults and operations it recorded, did not
    /// fail the same way: the model is not deterministic, or a fault decided as the
    /// run went (an isolated leader) struck at an instant some other event shares,
    /// which the replayed plan orders differently.
    #[error(
        "seed {seed} failed, but not when replayed from its own fault plan and script (trace hash {first:016x}, replayed {replayed:016x}): either the model is not deterministic (`run --check-determinism` finds where) or a fault decided as the run went struck at the same instant as another event, which a replayed plan orders differently; nothing was shrunk"
    )]
    Irreproducible {
        /// The seed.
        seed: u64,
        /// The failing run's trace hash.
        first: u64,
        /// The replay's.
        replayed: u64,
    },
    /// The script has an operation the run cannot perform.
    #[error(transparent)]
    Script(#[from] crate::script::ScriptError),
    /// The simulation could not be built (for example, the plan names a node that
    /// does not exist).
    #[error(transparent)]
    Build(#[from] BuildError),
}
