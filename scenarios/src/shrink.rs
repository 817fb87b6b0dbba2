//! Shrinking a failing run: the fewest faults and operations that still fail it.
//!
//! A failing seed's fault plan (as applied, leaders resolved) and workload are cut down
//! while the run still fails the same way — the same guarantee violated, or a panic
//! again. Faults are removed by delta debugging (Zeller and Hildebrandt, "Simplifying
//! and Isolating Failure-Inducing Input", TSE 2002): first in large chunks, then in
//! smaller ones, down to single faults, until no single fault can go. The faults that
//! heal at the end of the window stay, so that the shrunk run still ends healed and
//! quiet — but only those that undo a fault still in the plan (healing a cut that is
//! gone, or resetting a clock no fault drifted, restores nothing). Then the fewest
//! clients that still fail it (the faults that concerned the clients dropped go too)
//! and the fewest keys. Then the workload is cut: a shorter run of the same seed
//! issues a prefix of the same operations, so the operation count is halved while the
//! failure remains, then trimmed.
//!
//! The phases repeat, in rounds, until a whole round changes nothing (a fixpoint) or
//! the budget of runs is spent: fewer operations often let more faults go, and fewer
//! faults fewer clients. [`Shrunk::rounds`] says what each phase of each round did.
//!
//! Every candidate is a whole deterministic run, so the result replays exactly with
//! `consim run --plan`, `--clients`, `--keys` and `--ops`.

use sim_core::{Fault, FaultPlan, NodeId, Partition, Time, TimedFault};

use crate::config::RunConfig;
use crate::report::{Judgement, Role, RunError, RunReport};
use crate::run::run;
use crate::workload::WorkloadConfig;

/// What a shrink found.
#[derive(Debug)]
pub struct Shrunk {
    /// The shrunk run's whole configuration: its plan, clients, keys and operations;
    /// [`RunConfig::replay_args`] turns it into a command line.
    pub config: RunConfig,
    /// The smallest failing plan found.
    pub plan: FaultPlan,
    /// The smallest failing operation count found.
    pub ops: u64,
    /// The fewest clients found that still fail.
    pub clients: u32,
    /// The fewest keys found that still fail.
    pub keys: u64,
    /// The failing run with them.
    pub report: RunReport,
    /// Faults in the original plan.
    pub original_faults: usize,
    /// Operations in the original workload.
    pub original_ops: u64,
    /// Clients in the original run.
    pub original_clients: u32,
    /// Keys in the original workload.
    pub original_keys: u64,
    /// Runs tried.
    pub runs: u64,
    /// What each phase of each round left, in order.
    pub rounds: Vec<Step>,
}

/// What one phase of a shrink left: the run's size after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// The round (from 1).
    pub round: u32,
    /// The phase: `faults`, `clients`, `keys` or `ops`.
    pub phase: &'static str,
    /// Faults in the plan after it.
    pub faults: usize,
    /// Clients after it.
    pub clients: u32,
    /// Keys after it.
    pub keys: u64,
    /// Operations after it.
    pub ops: u64,
    /// Runs spent so far.
    pub runs: u64,
}

/// How a run failed: the guarantees violated (promised or broken ones), or a panic.
fn failure(report: &RunReport) -> Option<Failure> {
    if report.panic.is_some() {
        return Some(Failure::Panic);
    }
    if let Some(broken) = &report.broken_invariant {
        let property = broken
            .split_once(':')
            .map_or(broken.as_str(), |(name, _)| name);
        return Some(Failure::Invariant(property.to_owned()));
    }
    let violated: Vec<models::Guarantee> = report
        .verdicts
        .iter()
        .filter(|v| v.role != Role::Measured && matches!(v.judgement, Judgement::Violation { .. }))
        .map(|v| v.guarantee)
        .collect();
    (!violated.is_empty()).then_some(Failure::Violated(violated))
}

/// How a run failed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Failure {
    /// The model panicked.
    Panic,
    /// This property across replicas broke ([`models::Model::invariants`]; its name
    /// is what its message says before the first colon).
    Invariant(String),
    /// These guarantees were violated.
    Violated(Vec<models::Guarantee>),
}

impl Failure {
    /// Whether `other` is the same failure: the same kind, and for violations, one of
    /// the same guarantees.
    fn same(&self, other: &Failure) -> bool {
        match (self, other) {
            (Failure::Violated(a), Failure::Violated(b)) => b.iter().any(|g| a.contains(g)),
            (a, b) => a == b,
        }
    }
}

/// Shrinks the failing run `config`; `None` if it does not fail. At most `budget`
/// runs are tried.
///
/// ```
/// use consim::config::RunConfig;
/// use consim::shrink::shrink;
/// // single-copy keeps its promises: nothing to shrink.
/// assert!(shrink(&RunConfig::new("single-copy", 1), 100)?.is_none());
/// # Ok::<(), consim::report::RunError>(())
/// ```
pub fn shrink(config: &RunConfig, budget: u64) -> Result<Option<Shrunk>, RunError> {
    shrink_with(config, budget, &run)
}

/// [`shrink`] with your own way to run one configuration: for a model outside the
/// catalog, a closure that calls [`crate::run::run_with`].
pub fn shrink_with(
    config: &RunConfig,
    budget: u64,
    run: &dyn Fn(&RunConfig) -> Result<RunReport, RunError>,
) -> Result<Option<Shrunk>, RunError> {
    let first = run(config)?;
    let Some(target) = failure(&first) else {
        return Ok(None);
    };
    let original_faults = first.plan.faults.len();
    // The operations the run made: its budget, or, in an open loop, its arrivals
    // (whose cap then shrinks like a budget).
    let original_ops = first.ops.total();
    let mut base = config.clone();
    base.plan = Some(first.plan.clone());
    base.workload = Some(WorkloadConfig {
        ops: original_ops,
        ..config.workload.unwrap_or(WorkloadConfig {
            mix: first
                .workload
                .expect("a run reports the workload mix it ran"),
            ..WorkloadConfig::default()
        })
    });
    let (original_clients, original_keys) = (base.clients, keys(&base));
    let mut shrinker = Shrinker {
        run,
        target,
        budget,
        runs: 1,
        base,
        best: first,
        rounds: Vec::new(),
    };
    shrinker.until_fixpoint()?;
    let Shrinker {
        base,
        best,
        runs,
        rounds,
        ..
    } = shrinker;
    Ok(Some(Shrunk {
        plan: base.plan.clone().unwrap_or_default(),
        ops: base.workload.map_or(original_ops, |w| w.ops),
        clients: base.clients,
        keys: keys(&base),
        config: base,
        report: best,
        original_faults,
        original_ops,
        original_clients,
        original_keys,
        runs,
        rounds,
    }))
}

fn keys(config: &RunConfig) -> u64 {
    config.workload.map_or(0, |w| w.keys)
}

/// One phase of a shrink: it tries smaller candidates, keeping the ones that fail.
type Phase<'a> = fn(&mut Shrinker<'a>) -> Result<(), RunError>;

/// A shrink under way: the smallest configuration that still fails the same way,
/// and the runs spent.
struct Shrinker<'a> {
    run: &'a dyn Fn(&RunConfig) -> Result<RunReport, RunError>,
    target: Failure,
    budget: u64,
    runs: u64,
    base: RunConfig,
    best: RunReport,
    rounds: Vec<Step>,
}

impl Shrinker<'_> {
    fn spent(&self) -> bool {
        self.runs >= self.budget
    }

    /// Rounds of every phase until a round changes nothing or the budget is spent.
    fn until_fixpoint(&mut self) -> Result<(), RunError> {
        for round in 1.. {
            let before = self.size();
            let phases: [(&'static str, Phase<'_>); 4] = [
                ("faults", Self::faults),
                ("clients", Self::clients),
                ("keys", Self::keys),
                ("ops", Self::ops),
            ];
            for (phase, shrink) in phases {
                shrink(self)?;
                let (faults, clients, keys, ops) = self.size();
                let runs = self.runs;
                self.rounds.push(Step {
                    round,
                    phase,
                    faults,
                    clients,
                    keys,
                    ops,
                    runs,
                });
            }
            if self.size() == before || self.spent() {
                break;
            }
        }
        Ok(())
    }

    /// Faults, clients, keys and operations of the configuration to beat.
    fn size(&self) -> (usize, u32, u64, u64) {
        let faults = self.base.plan.as_ref().map_or(0, |p| p.faults.len());
        let ops = self.base.workload.map_or(0, |w| w.ops);
        (faults, self.base.clients, keys(&self.base), ops)
    }

    /// Runs `candidate`; if it fails the same way, it becomes the one to beat.
    fn try_candidate(&mut self, candidate: RunConfig) -> Result<bool, RunError> {
        self.runs += 1;
        let report = (self.run)(&candidate)?;
        let same = failure(&report).is_some_and(|f| self.target.same(&f));
        if same {
            self.base = candidate;
            self.best = report;
        }
        Ok(same)
    }

    /// Delta debugging over the faults before the final heal (which stays, so that
    /// the run still ends healed and quiet).
    fn faults(&mut self) -> Result<(), RunError> {
        let plan = self.base.plan.clone().unwrap_or_default();
        let healed_at = plan.faults.iter().map(|f| f.at).max().unwrap_or(Time::ZERO);
        let (mut units, tail): (Vec<TimedFault>, Vec<TimedFault>) =
            plan.faults.iter().cloned().partition(|f| f.at < healed_at);
        let plan_of = |units: &[TimedFault]| {
            let mut faults = units.to_vec();
            faults.extend(tail.iter().cloned());
            FaultPlan { faults }
        };
        let mut chunk = units.len().div_ceil(2).max(1);
        while !units.is_empty() && !self.spent() {
            let mut removed_any = false;
            let mut start = 0;
            while start < units.len() && !self.spent() {
                let end = (start + chunk).min(units.len());
                let mut candidate_units = units.clone();
                candidate_units.drain(start..end);
                let mut candidate = self.base.clone();
                candidate.plan = Some(plan_of(&candidate_units));
                if self.try_candidate(candidate)? {
                    units = candidate_units;
                    removed_any = true;
                } else {
                    start = end;
                }
            }
            if chunk == 1 && !removed_any {
                break;
            }
            if !removed_any {
                chunk = chunk.div_ceil(2);
            }
        }
        let needed = needed_tail(&units, &tail);
        if needed.len() < tail.len() && !self.spent() {
            let mut candidate = self.base.clone();
            let mut faults = units;
            faults.extend(needed);
            candidate.plan = Some(FaultPlan { faults });
            self.try_candidate(candidate)?;
        }
        Ok(())
    }

    /// The fewest clients that still fail, with the faults that named the clients
    /// dropped removed (node ids past the replicas are clients).
    fn clients(&mut self) -> Result<(), RunError> {
        for clients in 1..self.base.clients {
            if self.spent() {
                break;
            }
            let mut candidate = self.base.clone();
            candidate.clients = clients;
            let nodes = self.best.replicas + clients as usize;
            candidate.plan = self.base.plan.as_ref().map(|p| only_nodes(p, nodes));
            if self.try_candidate(candidate)? {
                break;
            }
        }
        Ok(())
    }

    /// The fewest keys that still fail (the workload draws other operations).
    fn keys(&mut self) -> Result<(), RunError> {
        for keys in 1..keys(&self.base) {
            if self.spent() {
                break;
            }
            let mut candidate = self.base.clone();
            if let Some(w) = candidate.workload.as_mut() {
                w.keys = keys;
            }
            if self.try_candidate(candidate)? {
                break;
            }
        }
        Ok(())
    }

    /// Fewer operations: halve while it fails, then step down.
    fn ops(&mut self) -> Result<(), RunError> {
        let mut ops = self.base.workload.map_or(0, |w| w.ops);
        let mut step = ops / 2;
        while step > 0 && !self.spent() {
            let mut candidate = self.base.clone();
            if let Some(w) = candidate.workload.as_mut() {
                w.ops = ops - step;
            }
            if self.try_candidate(candidate)? {
                ops -= step;
            } else {
                step /= 2;
            }
        }
        Ok(())
    }
}

/// The entries of `tail` (the heals at the end of the window) that undo something
/// `faults` (the rest of the plan) did: a heal of a cut still made, a reset of links
/// or of a clock still changed, a restart or resume of a node still crashed or
/// paused. The others restore nothing.
fn needed_tail(faults: &[TimedFault], tail: &[TimedFault]) -> Vec<TimedFault> {
    let any = |pred: &dyn Fn(&Fault) -> bool| faults.iter().any(|f| pred(&f.fault));
    let heal_all = tail.iter().any(|f| f.fault == Fault::HealAll);
    tail.iter()
        .filter(|f| match &f.fault {
            Fault::HealAll => any(&|g| matches!(g, Fault::Partition(_))),
            Fault::Heal(p) => !heal_all && any(&|g| *g == Fault::Partition(p.clone())),
            Fault::AllLinks(_) => any(&|g| matches!(g, Fault::AllLinks(_) | Fault::Link { .. })),
            Fault::ClockDrift { node, .. } => {
                any(&|g| matches!(g, Fault::ClockDrift { node: n, .. } if n == node))
            }
            Fault::Restart { node } => any(&|g| *g == Fault::Crash { node: *node }),
            Fault::Resume { node } => any(&|g| *g == Fault::Pause { node: *node }),
            _ => true,
        })
        .cloned()
        .collect()
}

/// `plan` without the faults on nodes `nodes..` (and without their links in
/// partitions; a partition left with no link goes, with its heal).
fn only_nodes(plan: &FaultPlan, nodes: usize) -> FaultPlan {
    let keep = |n: NodeId| n.index() < nodes;
    let cut = |p: &Partition| Partition {
        cut: p
            .cut
            .iter()
            .copied()
            .filter(|&(a, b)| keep(a) && keep(b))
            .collect(),
    };
    let faults = plan
        .faults
        .iter()
        .filter_map(|f| {
            let fault = match &f.fault {
                Fault::Crash { node }
                | Fault::Restart { node }
                | Fault::Pause { node }
                | Fault::Resume { node }
                | Fault::ClockJump { node, .. }
                | Fault::ClockDrift { node, .. } => keep(*node).then(|| f.fault.clone())?,
                Fault::Link { source, target, .. } => {
                    (keep(*source) && keep(*target)).then(|| f.fault.clone())?
                }
                Fault::Partition(p) => Fault::Partition(Some(cut(p)).filter(|c| !c.is_empty())?),
                Fault::Heal(p) => Fault::Heal(Some(cut(p)).filter(|c| !c.is_empty())?),
                other => other.clone(),
            };
            Some(TimedFault { at: f.at, fault })
        })
        .collect();
    FaultPlan { faults }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::Duration;

    #[test]
    fn the_final_heals_that_restore_nothing_go() {
        let at = |ms| Time::ZERO + Duration::from_millis(ms);
        let timed = |ms, fault| TimedFault { at: at(ms), fault };
        let cut = Partition::halves(&[NodeId(0)], &[NodeId(1), NodeId(2)]);
        let other = Partition::halves(&[NodeId(1)], &[NodeId(0), NodeId(2)]);
        let faults = [
            timed(1, Fault::Crash { node: NodeId(1) }),
            timed(2, Fault::Partition(cut.clone())),
        ];
        let drift = |node| Fault::ClockDrift { node, drift_ppm: 0 };
        let tail = [
            timed(9, Fault::HealAll),
            timed(9, Fault::Heal(cut.clone())),
            timed(9, Fault::Heal(other)),
            timed(9, Fault::Restart { node: NodeId(1) }),
            timed(9, Fault::Restart { node: NodeId(2) }),
            timed(9, Fault::Resume { node: NodeId(0) }),
            timed(9, drift(NodeId(0))),
        ];
        // Heal-all undoes the cut (so its own heal is not needed); node 1 crashed.
        let kept = needed_tail(&faults, &tail);
        assert_eq!(kept, vec![tail[0].clone(), tail[3].clone()]);
        // With nothing left before them, none of them restores anything.
        assert_eq!(needed_tail(&[], &tail), vec![]);
        // Without heal-all, the cut's own heal is needed.
        assert_eq!(needed_tail(&faults, &tail[1..3]), vec![tail[1].clone()]);
    }

    #[test]
    fn dropping_clients_drops_their_faults_and_links() {
        let at = |ms| Time::ZERO + Duration::from_millis(ms);
        let mut plan = FaultPlan::default();
        let cut = Partition::halves(&[NodeId(0), NodeId(3)], &[NodeId(1), NodeId(2), NodeId(4)]);
        plan.push(at(1), Fault::Partition(cut.clone()));
        plan.push(at(2), Fault::Crash { node: NodeId(4) });
        plan.push(at(3), Fault::Crash { node: NodeId(1) });
        let only_clients = Partition::halves(&[NodeId(4)], &[NodeId(5)]);
        plan.push(at(4), Fault::Partition(only_clients.clone()));
        plan.push(at(5), Fault::Heal(only_clients));
        plan.push(at(6), Fault::Heal(cut.clone()));
        plan.push(at(7), Fault::HealAll);
        // Nodes 0..4 stay: node 4 and 5 (clients) go.
        let kept = only_nodes(&plan, 4);
        let smaller = Partition::halves(&[NodeId(0), NodeId(3)], &[NodeId(1), NodeId(2)]);
        let expected = vec![
            TimedFault {
                at: at(1),
                fault: Fault::Partition(smaller.clone()),
            },
            TimedFault {
                at: at(3),
                fault: Fault::Crash { node: NodeId(1) },
            },
            TimedFault {
                at: at(6),
                fault: Fault::Heal(smaller),
            },
            TimedFault {
                at: at(7),
                fault: Fault::HealAll,
            },
        ];
        assert_eq!(kept.faults, expected);
        assert!(kept.validate(4).is_ok());
        assert_eq!(only_nodes(&plan, 6).faults, plan.faults);
    }
}
