//! Shrinking a failing run: the fewest faults and operations that still fail it.
//!
//! A failing seed's fault plan (as applied, leaders resolved) and its script (each
//! client's operations, [`crate::script`]) are cut down while the run still fails the
//! same way — the same guarantee violated, the same invariant broken, or a panic again.
//! Every candidate is a whole deterministic run of the plan and script, so the result
//! replays exactly with `consim run --plan plan.json --script script.jsonl`. The phases
//! of a round:
//!
//! 1. **faults**: delta debugging (Zeller and Hildebrandt, "Simplifying and Isolating
//!    Failure-Inducing Input", TSE 2002) over the fault spells (a cut with its heal, a
//!    crash with its restart), in large chunks and then smaller ones down to single
//!    spells; then over the plan's single entries. The heals at the end of the window stay, so
//!    that the run still ends healed and quiet — only those that undo a fault still in
//!    the plan (healing a cut that is gone restores nothing).
//! 2. **clients**: each client in turn goes, with its operations and the faults that
//!    concern it (the clients after it are renumbered).
//! 3. **replicas**: one replica fewer, while the model accepts it and the run still
//!    fails (the faults on the replica that went are dropped).
//! 4. **keys**: the keys still used are renumbered `0..n`, so the final reads read
//!    only those; then every operation moves to one key.
//! 5. **ops**: delta debugging over each client's operations, one client at a time:
//!    any operation can go, not only a suffix.
//! 6. **spells**: each fault spell (a cut until its heal, a crash until its restart, a
//!    pause, a drift, a link change) starts as late and ends as early as it can.
//! 7. **time**: the quiet gaps between the moments something is due (a fault, an
//!    operation's arrival) close up as far as they can: everything after a gap moves
//!    earlier.
//!
//! Rounds of phases 1–5 repeat until one changes nothing (a fixpoint): fewer
//! operations often let more faults go, and fewer faults fewer clients. Then a round of
//! phases 6 and 7, which only move things in time (moving a fault that a later round
//! removes would waste runs), and if it moved anything, rounds of 1–5 again; until a
//! round of 6 and 7 changes nothing too, or the budget of runs is spent.
//! [`Shrunk::rounds`] says what each phase of each round left.

use sim_core::{Duration, Fault, FaultPlan, NodeId, Partition, Time, TimedFault};

use crate::config::RunConfig;
use crate::report::{Judgement, Role, RunError, RunReport};
use crate::run::run;
use crate::script::{Script, Start};

/// What a shrink found.
#[derive(Debug)]
pub struct Shrunk {
    /// The shrunk run's whole configuration: its plan, script, clients, replicas and
    /// keys; [`RunConfig::replay_args`] turns it into a command line.
    pub config: RunConfig,
    /// The smallest failing plan found.
    pub plan: FaultPlan,
    /// The smallest failing script found.
    pub script: Script,
    /// The failing run with them.
    pub report: RunReport,
    /// The original run's size: faults, clients, replicas, keys and operations.
    pub original: Size,
    /// The shrunk run's.
    pub size: Size,
    /// Runs tried.
    pub runs: u64,
    /// What each phase of each round left, in order.
    pub rounds: Vec<Step>,
}

/// How big a run is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Size {
    /// Timed entries of the fault plan (a cut and its heal are two).
    pub faults: usize,
    /// Clients.
    pub clients: u32,
    /// Replicas.
    pub replicas: usize,
    /// Keys.
    pub keys: u64,
    /// Operations in the script (the final reads not counted).
    pub ops: usize,
}

/// What one phase of a shrink left: the run's size after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// The round (from 1).
    pub round: u32,
    /// The phase: `faults`, `clients`, `replicas`, `keys`, `ops`, `spells` or `time`.
    pub phase: &'static str,
    /// The run's size after it.
    #[serde(flatten)]
    pub size: Size,
    /// Candidates this phase kept (each a smaller or earlier run that still failed).
    pub kept: u64,
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
    // From here on the run replays what the seed drew: its faults as applied and its
    // operations as handed out.
    let mut base = config.clone();
    base.plan = Some(first.plan.clone());
    base.script = Some(first.script.clone());
    let mix = first
        .workload
        .expect("a run reports the workload mix it ran");
    base.workload = Some(config.workload_or(mix));
    let replayed = run(&base)?;
    if !failure(&replayed).is_some_and(|f| target.same(&f)) {
        return Err(RunError::Irreproducible {
            seed: config.seed,
            first: first.trace_hash,
            replayed: replayed.trace_hash,
        });
    }
    let mut shrinker = Shrinker {
        run,
        target,
        budget,
        runs: 2,
        kept: 0,
        base,
        best: replayed,
        rounds: Vec::new(),
    };
    let original = shrinker.size();
    shrinker.until_fixpoint()?;
    let size = shrinker.size();
    let Shrinker {
        base,
        best,
        runs,
        rounds,
        ..
    } = shrinker;
    Ok(Some(Shrunk {
        plan: base.plan.clone().unwrap_or_default(),
        script: base.script.clone().unwrap_or_default(),
        config: base,
        report: best,
        original,
        size,
        runs,
        rounds,
    }))
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
    /// Candidates kept so far.
    kept: u64,
    base: RunConfig,
    best: RunReport,
    rounds: Vec<Step>,
}

impl<'a> Shrinker<'a> {
    fn spent(&self) -> bool {
        self.runs >= self.budget
    }

    /// Rounds until one keeps nothing or the budget is spent: rounds of the phases
    /// that make the run smaller until they reach a fixpoint, then a round of those
    /// that only move faults and operations in time (which might let more go), and
    /// so on. Moving faults that a later round removes would waste the budget.
    fn until_fixpoint(&mut self) -> Result<(), RunError> {
        let smaller: [(&'static str, Phase<'a>); 5] = [
            ("faults", Self::faults),
            ("clients", Self::clients),
            ("replicas", Self::replicas),
            ("keys", Self::keys),
            ("ops", Self::ops),
        ];
        let earlier: [(&'static str, Phase<'a>); 2] =
            [("spells", Self::spells), ("time", Self::time)];
        let mut round = 0;
        loop {
            while !self.spent() {
                round += 1;
                if self.round(round, &smaller)? == 0 {
                    break;
                }
            }
            round += 1;
            if self.spent() || self.round(round, &earlier)? == 0 {
                break;
            }
        }
        Ok(())
    }

    /// Runs `phases` once each as round `round`, recording each one's effect; returns
    /// how many candidates they kept.
    fn round(&mut self, round: u32, phases: &[(&'static str, Phase<'a>)]) -> Result<u64, RunError> {
        let before = self.kept;
        for &(phase, shrink) in phases {
            let kept = self.kept;
            shrink(self)?;
            self.rounds.push(Step {
                round,
                phase,
                size: self.size(),
                kept: self.kept - kept,
                runs: self.runs,
            });
        }
        Ok(self.kept - before)
    }

    fn plan(&self) -> &[TimedFault] {
        self.base.plan.as_ref().map_or(&[], |p| &p.faults)
    }

    fn script(&self) -> &Script {
        self.base
            .script
            .as_ref()
            .expect("a shrink runs from a script")
    }

    /// The configuration to beat's size.
    fn size(&self) -> Size {
        Size {
            faults: self.plan().len(),
            clients: self.base.clients,
            replicas: self.best.replicas,
            keys: self.base.workload.map_or(0, |w| w.keys),
            ops: self.script().len(),
        }
    }

    /// Runs `candidate`; if it fails the same way, it becomes the one to beat.
    fn try_candidate(&mut self, candidate: RunConfig) -> Result<bool, RunError> {
        self.runs += 1;
        let report = (self.run)(&candidate)?;
        let same = failure(&report).is_some_and(|f| self.target.same(&f));
        if same {
            self.base = candidate;
            self.best = report;
            self.kept += 1;
        }
        Ok(same)
    }

    /// The base with `plan` as its plan.
    fn with_plan(&self, faults: Vec<TimedFault>) -> RunConfig {
        let mut candidate = self.base.clone();
        candidate.plan = Some(FaultPlan { faults });
        candidate
    }

    /// Delta debugging over the faults before the final heal (which stays, so that
    /// the run still ends healed and quiet).
    fn faults(&mut self) -> Result<(), RunError> {
        let healed_at = self.plan().iter().map(|f| f.at).max().unwrap_or(Time::ZERO);
        let (units, tail): (Vec<TimedFault>, Vec<TimedFault>) =
            self.plan().iter().cloned().partition(|f| f.at < healed_at);
        // Whole spells first (a crash with its restart: removing the crash alone
        // would leave a reboot), then single entries.
        let spells = self.ddmin(spells_of(&units), &|shrinker, spells| {
            let mut faults: Vec<TimedFault> = spells.concat();
            faults.extend(tail.iter().cloned());
            shrinker.with_plan(faults)
        })?;
        let units = self.ddmin(spells.concat(), &|shrinker, units| {
            let mut faults = units.to_vec();
            faults.extend(tail.iter().cloned());
            shrinker.with_plan(faults)
        })?;
        let needed = needed_tail(&units, &tail);
        if needed.len() < tail.len() && !self.spent() {
            let mut faults = units;
            faults.extend(needed);
            self.try_candidate(self.with_plan(faults))?;
        }
        Ok(())
    }

    /// Delta debugging over `units`: removes chunks, halving their size down to
    /// single units, while the run `candidate` makes of what is left still fails.
    /// Returns what is left.
    fn ddmin<T: Clone>(
        &mut self,
        mut units: Vec<T>,
        candidate: &dyn Fn(&Self, &[T]) -> RunConfig,
    ) -> Result<Vec<T>, RunError> {
        let mut chunk = units.len().div_ceil(2).max(1);
        while !units.is_empty() && !self.spent() {
            let mut removed_any = false;
            let mut start = 0;
            while start < units.len() && !self.spent() {
                let end = (start + chunk).min(units.len());
                let mut fewer = units.clone();
                fewer.drain(start..end);
                if self.try_candidate(candidate(self, &fewer))? {
                    units = fewer;
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
        Ok(units)
    }

    /// Each client in turn goes, last first, with its operations and the faults that
    /// concern it.
    fn clients(&mut self) -> Result<(), RunError> {
        for client in (0..self.base.clients as usize).rev() {
            if self.spent() || self.base.clients == 1 {
                break;
            }
            let node = NodeId((self.best.replicas + client) as u32);
            let mut candidate = self.base.clone();
            candidate.clients -= 1;
            candidate.plan = self.base.plan.as_ref().map(|p| without_node(p, node));
            let mut script = self.script().clone();
            if client < script.clients().len() {
                script.clients_mut().remove(client);
            }
            candidate.script = Some(script);
            self.try_candidate(candidate)?;
        }
        Ok(())
    }

    /// One replica fewer, while the model takes it and the run still fails.
    fn replicas(&mut self) -> Result<(), RunError> {
        while self.best.replicas > 1 && !self.spent() {
            let last = NodeId(self.best.replicas as u32 - 1);
            let mut candidate = self.base.clone();
            candidate.params = candidate.params.with("replicas", last.index());
            candidate.plan = self.base.plan.as_ref().map(|p| without_node(p, last));
            match self.try_candidate(candidate) {
                Ok(true) => {}
                // The model does not take that many replicas (or has no such setting).
                Ok(false) | Err(RunError::Model(_)) => break,
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }

    /// The keys still used, renumbered `0..n` in order; then, if that is more than
    /// one, every operation on one key.
    fn keys(&mut self) -> Result<(), RunError> {
        let used: Vec<u64> = self.script().keys().into_iter().collect();
        let compact = |key: u64| used.binary_search(&key).expect("a used key") as u64;
        for (keys, map) in [
            (used.len() as u64, &compact as &dyn Fn(u64) -> u64),
            (1, &|_| 0),
        ] {
            let keys = keys.max(1);
            if keys >= self.base.workload.map_or(0, |w| w.keys) || self.spent() {
                continue;
            }
            let mut script = self.script().clone();
            for op in script.clients_mut().iter_mut().flatten() {
                op.request = op.request.with_key(map(op.request.key()));
            }
            let mut candidate = self.base.clone();
            candidate.script = Some(script);
            if let Some(w) = candidate.workload.as_mut() {
                w.keys = keys;
            }
            self.try_candidate(candidate)?;
        }
        Ok(())
    }

    /// Delta debugging over each client's operations, one client at a time.
    fn ops(&mut self) -> Result<(), RunError> {
        for client in 0..self.script().clients().len() {
            let ops = self.script().clients()[client].clone();
            self.ddmin(ops, &|shrinker, ops| {
                let mut script = shrinker.script().clone();
                script.clients_mut()[client] = ops.to_vec();
                let mut candidate = shrinker.base.clone();
                candidate.script = Some(script);
                candidate
            })?;
        }
        Ok(())
    }

    /// Each fault spell starts as late, and ends as early, as it can.
    fn spells(&mut self) -> Result<(), RunError> {
        for index in 0..self.plan().len() {
            let Some(undo) = undoing(self.plan(), index) else {
                continue;
            };
            // Later starts: halve the distance to the undo while it still fails.
            self.squeeze(|plan| (plan[undo].at, index), 1)?;
            // Earlier ends: halve the distance back to the start.
            self.squeeze(|plan| (plan[index].at, undo), -1)?;
        }
        self.sort_plan();
        Ok(())
    }

    /// Puts the plan in time order. Faults at one instant keep their order (the
    /// sort is stable), so the run is the same.
    fn sort_plan(&mut self) {
        if let Some(plan) = self.base.plan.as_mut() {
            plan.faults.sort_by_key(|f| f.at);
        }
    }

    /// Moves fault `moved` towards `toward` (which `bound` reads off the plan) by
    /// halving steps, keeping each move that still fails; `sign` is +1 to move it
    /// later, -1 earlier.
    fn squeeze(
        &mut self,
        bound: impl Fn(&[TimedFault]) -> (Time, usize),
        sign: i8,
    ) -> Result<(), RunError> {
        let (toward, moved) = bound(self.plan());
        let gap = |shrinker: &Self| {
            let at = shrinker.plan()[moved].at;
            if sign > 0 {
                toward.saturating_since(at)
            } else {
                at.saturating_since(toward)
            }
        };
        let mut step = gap(self).as_nanos() / 2;
        while step >= MIN_MOVE.as_nanos() && !self.spent() {
            let mut faults = self.plan().to_vec();
            let at = faults[moved].at.as_nanos();
            let to = if sign > 0 { at + step } else { at - step };
            faults[moved].at = Time::from_nanos(to);
            if !self.try_candidate(self.with_plan(faults))? {
                step /= 2;
            } else {
                step = step.min(gap(self).as_nanos() / 2);
            }
        }
        Ok(())
    }

    /// The quiet gaps close up. (The script a shrink starts from has every operation
    /// as an arrival: the run recorded it so.)
    fn time(&mut self) -> Result<(), RunError> {
        // Quiet gaps between the moments something is due (a fault, an arrival),
        // latest first: everything after a gap moves earlier by halving steps.
        let mut moments: Vec<Time> = self.plan().iter().map(|f| f.at).collect();
        moments.extend(self.arrivals());
        moments.push(Time::ZERO);
        moments.sort_unstable();
        moments.dedup();
        for pair in moments.windows(2).rev() {
            let (before, mut after) = (pair[0], pair[1]);
            let mut step = after.saturating_since(before).as_nanos() / 2;
            while step >= MIN_MOVE.as_nanos() && !self.spent() {
                let by = Duration::from_nanos(step);
                if self.try_candidate(self.earlier(after, by))? {
                    after = Time::from_nanos(after.as_nanos() - step);
                    step = step.min(after.saturating_since(before).as_nanos() / 2);
                } else {
                    step /= 2;
                }
            }
        }
        self.sort_plan();
        Ok(())
    }

    /// When the script's operations arrive (those that have an arrival time).
    fn arrivals(&self) -> Vec<Time> {
        self.script()
            .clients()
            .iter()
            .flatten()
            .filter_map(|op| match op.start {
                Start::Arrival(at) => Some(at),
                Start::Think(_) => None,
            })
            .collect()
    }

    /// The base with every fault and arrival from `from` on moved `by` earlier.
    fn earlier(&self, from: Time, by: Duration) -> RunConfig {
        let back = |t: Time| {
            if t >= from {
                Time::from_nanos(t.as_nanos() - by.as_nanos())
            } else {
                t
            }
        };
        let mut candidate = self.base.clone();
        if let Some(plan) = candidate.plan.as_mut() {
            for f in &mut plan.faults {
                f.at = back(f.at);
            }
        }
        if let Some(script) = candidate.script.as_mut() {
            for op in script.clients_mut().iter_mut().flatten() {
                if let Start::Arrival(at) = op.start {
                    op.start = Start::Arrival(back(at));
                }
            }
        }
        candidate
    }
}

/// `faults` as spells: each fault that starts one with the entry that ends it (see
/// [`undoing`]), and every other entry alone; in the order of their first entries.
fn spells_of(faults: &[TimedFault]) -> Vec<Vec<TimedFault>> {
    let mut used = vec![false; faults.len()];
    let mut spells = Vec::new();
    for start in 0..faults.len() {
        if used[start] {
            continue;
        }
        used[start] = true;
        let mut spell = vec![faults[start].clone()];
        if let Some(end) = undoing(faults, start).filter(|&end| !used[end]) {
            used[end] = true;
            spell.push(faults[end].clone());
        }
        spells.push(spell);
    }
    spells
}

/// The smallest move of a fault in time the shrinker tries.
const MIN_MOVE: Duration = Duration::from_millis(1);

/// The entry of `plan` after `index` that undoes fault `index`, if it is the start of
/// a spell: the heal of a cut, the restart of a crash, the resume of a pause, the
/// reset of a drift or of a link.
fn undoing(plan: &[TimedFault], index: usize) -> Option<usize> {
    let start = &plan[index];
    let undoes = |f: &Fault| match (&start.fault, f) {
        (Fault::Partition(p), Fault::Heal(q)) => p == q,
        (Fault::Partition(_), Fault::HealAll) => true,
        (Fault::Crash { node }, Fault::Restart { node: n }) => node == n,
        (Fault::Pause { node }, Fault::Resume { node: n }) => node == n,
        (Fault::ClockDrift { node, drift_ppm }, Fault::ClockDrift { node: n, .. }) => {
            *drift_ppm != 0 && node == n
        }
        (Fault::AllLinks(_), Fault::AllLinks(_)) => true,
        (
            Fault::Link { source, target, .. },
            Fault::Link {
                source: s,
                target: t,
                ..
            },
        ) => (source, target) == (s, t),
        _ => false,
    };
    plan.iter()
        .enumerate()
        .filter(|(i, f)| *i != index && f.at >= start.at && undoes(&f.fault))
        .min_by_key(|(i, f)| (f.at, *i))
        .map(|(i, _)| i)
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

/// `plan` without node `gone`: the faults on it go, its links leave the partitions (a
/// partition left with no link goes, with its heal), and the nodes after it are
/// renumbered one down.
fn without_node(plan: &FaultPlan, gone: NodeId) -> FaultPlan {
    renumber(plan, &|n: NodeId| match n.index().cmp(&gone.index()) {
        std::cmp::Ordering::Less => Some(n),
        std::cmp::Ordering::Equal => None,
        std::cmp::Ordering::Greater => Some(NodeId(n.0 - 1)),
    })
}

/// `plan` with every node `n` renamed `map(n)`, and the faults and links on nodes
/// it maps to `None` removed.
fn renumber(plan: &FaultPlan, map: &dyn Fn(NodeId) -> Option<NodeId>) -> FaultPlan {
    let cut = |p: &Partition| Partition {
        cut: p
            .cut
            .iter()
            .filter_map(|&(a, b)| Some((map(a)?, map(b)?)))
            .collect(),
    };
    let faults = plan
        .faults
        .iter()
        .filter_map(|f| {
            let fault = match &f.fault {
                Fault::Crash { node } => Fault::Crash { node: map(*node)? },
                Fault::Restart { node } => Fault::Restart { node: map(*node)? },
                Fault::Pause { node } => Fault::Pause { node: map(*node)? },
                Fault::Resume { node } => Fault::Resume { node: map(*node)? },
                Fault::ClockJump { node, delta_ns } => Fault::ClockJump {
                    node: map(*node)?,
                    delta_ns: *delta_ns,
                },
                Fault::ClockDrift { node, drift_ppm } => Fault::ClockDrift {
                    node: map(*node)?,
                    drift_ppm: *drift_ppm,
                },
                Fault::Link {
                    source,
                    target,
                    config,
                } => Fault::Link {
                    source: map(*source)?,
                    target: map(*target)?,
                    config: *config,
                },
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
    fn a_spell_is_its_start_with_the_entry_that_ends_it() {
        let at = |ms| Time::ZERO + Duration::from_millis(ms);
        let timed = |ms, fault| TimedFault { at: at(ms), fault };
        let cut = Partition::halves(&[NodeId(0)], &[NodeId(1)]);
        let faults = [
            timed(1, Fault::Crash { node: NodeId(2) }),
            timed(2, Fault::Partition(cut.clone())),
            timed(
                3,
                Fault::ClockJump {
                    node: NodeId(1),
                    delta_ns: 5,
                },
            ),
            timed(4, Fault::Restart { node: NodeId(2) }),
            timed(5, Fault::Restart { node: NodeId(2) }),
            timed(6, Fault::Heal(cut)),
        ];
        let spells = spells_of(&faults);
        let starts: Vec<Vec<Time>> = spells
            .iter()
            .map(|s| s.iter().map(|f| f.at).collect())
            .collect();
        // The crash ends at the first restart; the second restart (a reboot) and the
        // jump stand alone.
        assert_eq!(
            starts,
            vec![
                vec![at(1), at(4)],
                vec![at(2), at(6)],
                vec![at(3)],
                vec![at(5)]
            ]
        );
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
        let kept = without_node(&without_node(&plan, NodeId(5)), NodeId(4));
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
        // Without node 3, node 4 is node 3 and node 5 is node 4.
        let renumbered = without_node(&plan, NodeId(3));
        assert_eq!(
            renumbered.faults[0].fault,
            Fault::Partition(Partition::halves(
                &[NodeId(0)],
                &[NodeId(1), NodeId(2), NodeId(3)]
            ))
        );
        assert_eq!(renumbered.faults[1].fault, Fault::Crash { node: NodeId(3) });
        assert_eq!(
            renumbered.faults[3].fault,
            Fault::Partition(Partition::halves(&[NodeId(3)], &[NodeId(4)]))
        );
        assert_eq!(renumbered.faults.len(), plan.faults.len());
    }
}
