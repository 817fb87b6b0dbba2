//! Shrinking a failing run: the fewest faults and operations that still fail it.
//!
//! A failing seed's fault plan (as applied, leaders resolved) and workload are cut down
//! while the run still fails the same way — the same guarantee violated, or a panic
//! again. Faults are removed by delta debugging (Zeller and Hildebrandt, "Simplifying
//! and Isolating Failure-Inducing Input", TSE 2002): first in large chunks, then in
//! smaller ones, down to single faults, until no single fault can go. The faults that
//! heal everything at the end of the window stay, so that the shrunk run still ends
//! healed and quiet. Then the fewest clients that still fail it (the faults that
//! concerned the clients dropped go too) and the fewest keys. Then the workload is cut:
//! a shorter run of the same seed issues a prefix of the same operations, so the
//! operation count is halved while the failure remains, then trimmed.
//!
//! Every candidate is a whole deterministic run, so the result replays exactly with
//! `consim run --plan`, `--clients`, `--keys` and `--ops`.

use sim_core::{Fault, FaultPlan, NodeId, Partition, Time, TimedFault};

use crate::run::{Judgement, Role, RunConfig, RunError, RunReport, run};

/// What a shrink found.
#[derive(Debug)]
pub struct Shrunk {
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
}

/// How a run failed: the guarantees violated (promised or broken ones), or a panic.
fn failure(report: &RunReport) -> Option<Vec<models::Guarantee>> {
    if report.panic.is_some() {
        return Some(Vec::new());
    }
    let violated: Vec<models::Guarantee> = report
        .verdicts
        .iter()
        .filter(|v| v.role != Role::Measured && matches!(v.judgement, Judgement::Violation { .. }))
        .map(|v| v.guarantee)
        .collect();
    (!violated.is_empty()).then_some(violated)
}

/// Shrinks the failing run `config`; `None` if it does not fail. At most `budget`
/// runs are tried.
///
/// ```
/// use scenarios::run::RunConfig;
/// use scenarios::shrink::shrink;
/// // single-copy keeps its promises: nothing to shrink.
/// assert!(shrink(&RunConfig::new("single-copy", 1), 100)?.is_none());
/// # Ok::<(), scenarios::run::RunError>(())
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
    let mut runs = 1;
    let original_faults = first.plan.faults.len();
    // The operations the run made: its budget, or, in an open loop, its arrivals
    // (whose cap then shrinks like a budget).
    let original_ops = first.ops.total();
    let mut base = config.clone();
    base.plan = Some(first.plan.clone());
    base.workload = Some(crate::workload::WorkloadConfig {
        ops: original_ops,
        ..config.workload.unwrap_or(crate::workload::WorkloadConfig {
            mix: crate::run::default_mix(&config.model),
            ..crate::workload::WorkloadConfig::default()
        })
    });
    // Same failure: a panic again, or one of the same guarantees violated.
    let still_fails =
        |candidate: &RunConfig, runs: &mut u64| -> Result<Option<RunReport>, RunError> {
            *runs += 1;
            let report = run(candidate)?;
            let same = match failure(&report) {
                None => false,
                Some(v) if target.is_empty() => v.is_empty(),
                Some(v) => v.iter().any(|g| target.contains(g)),
            };
            Ok(same.then_some(report))
        };

    let healed_at = first
        .plan
        .faults
        .iter()
        .map(|f| f.at)
        .max()
        .unwrap_or(Time::ZERO);
    let (mut units, tail): (Vec<TimedFault>, Vec<TimedFault>) = first
        .plan
        .faults
        .iter()
        .cloned()
        .partition(|f| f.at < healed_at);
    let plan_of = |units: &[TimedFault]| {
        let mut faults = units.to_vec();
        faults.extend(tail.iter().cloned());
        FaultPlan { faults }
    };
    let mut best = first;
    // Delta debugging over the faults before the final heal.
    let mut chunk = units.len().div_ceil(2).max(1);
    while !units.is_empty() && runs < budget {
        let mut removed_any = false;
        let mut start = 0;
        while start < units.len() && runs < budget {
            let end = (start + chunk).min(units.len());
            let mut candidate_units = units.clone();
            candidate_units.drain(start..end);
            let mut candidate = base.clone();
            candidate.plan = Some(plan_of(&candidate_units));
            if let Some(report) = still_fails(&candidate, &mut runs)? {
                units = candidate_units;
                best = report;
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
    base.plan = Some(plan_of(&units));
    // Fewer clients: the fewest that still fail, with the faults that named the
    // clients dropped removed (node ids past the replicas are clients).
    let original_clients = base.clients;
    for clients in 1..original_clients {
        if runs >= budget {
            break;
        }
        let mut candidate = base.clone();
        candidate.clients = clients;
        let nodes = best.replicas + clients as usize;
        candidate.plan = base.plan.as_ref().map(|p| only_nodes(p, nodes));
        if let Some(report) = still_fails(&candidate, &mut runs)? {
            base = candidate;
            best = report;
            break;
        }
    }
    // Fewer keys: the fewest that still fail (the workload draws other operations).
    let original_keys = base.workload.map_or(0, |w| w.keys);
    for keys in 1..original_keys {
        if runs >= budget {
            break;
        }
        let mut candidate = base.clone();
        if let Some(w) = candidate.workload.as_mut() {
            w.keys = keys;
        }
        if let Some(report) = still_fails(&candidate, &mut runs)? {
            base = candidate;
            best = report;
            break;
        }
    }
    // Fewer operations: halve while it fails, then step down.
    let mut ops = base.workload.map_or(original_ops, |w| w.ops);
    let mut step = ops / 2;
    while step > 0 && runs < budget {
        let mut candidate = base.clone();
        let try_ops = ops - step;
        if let Some(w) = candidate.workload.as_mut() {
            w.ops = try_ops;
        }
        if let Some(report) = still_fails(&candidate, &mut runs)? {
            ops = try_ops;
            best = report;
        } else {
            step /= 2;
        }
    }
    Ok(Some(Shrunk {
        plan: base.plan.clone().unwrap_or_default(),
        ops,
        clients: base.clients,
        keys: base.workload.map_or(0, |w| w.keys),
        report: best,
        original_faults,
        original_ops,
        original_clients,
        original_keys,
        runs,
    }))
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
