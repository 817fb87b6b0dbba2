//! Exhaustive exploration of a model's small configuration: every order of events
//! ([`sim_core::explore`] has the semantics and the reduction), every history judged
//! by the checkers of what the model promises (or, for a bug variant, breaks).
//!
//! Judged are the guarantees a history shows on its own: linearizability and the
//! four session guarantees. Convergence and no-lost-writes need a quiet period and
//! final reads, which a schedule of a few operations does not have; exploration does
//! not judge them.
//!
//! # The workload
//!
//! Each client performs a fixed list of operations, written as a *pattern*: one word
//! per client, one letter per operation (`w` write, `r` read, `c` cas, `a` append),
//! words separated by `/`. `w/rr` is two clients: the first writes, the second reads
//! twice. Every operation is on key 0. Writes and appends write distinct values (1, 2,
//! … in pattern order), so checkers can tell them apart; a cas swaps from the value the
//! previous write of the pattern wrote (or from nothing's 0) to a new one.

use std::collections::VecDeque;

use checkers::history::{Event, EventType, History};
use models::explore::{ClientEvent, Exploring, Replayed};
use models::kv::{Op, Outcome, Request};
use models::{Catalog, Guarantee, Model, ModelInfo, ModelVisitor, Params};
use serde::{Deserialize, Serialize};
use sim_core::explore::{Budget, Exploration, Judgement as Verdict, Order, Reduction, Schedule};
use sim_core::{Duration, NodeId, nemesis};

use crate::config::{Checks, ClientSettings};
use crate::driver::{completed_value, describe};
use crate::report::{GuaranteeVerdict, Judgement, OpCounts, Role, RunReport};
use crate::workload::Mix;

/// Everything one exploration is: the model, its settings, the clients' pattern, the
/// budget and the limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExploreConfig {
    /// The model, by name.
    pub model: String,
    /// Its settings (`--param`, `--replicas`, `--bug`), as typed.
    pub params: Vec<(String, String)>,
    /// The clients' operations (see the module docs).
    pub pattern: Pattern,
    /// Faults and timer firings allowed along one schedule.
    pub budget: Budget,
    /// Whether to skip reorderings of independent events.
    pub reduction: Reduction,
    /// Keep in flight the messages their receivers ignore for good instead of taking
    /// them out ([`sim_core::Node::ignores`]): the same histories, more states. A
    /// schedule file without it was written before messages were taken out, so it
    /// reads as `true` there, and its steps replay as they were found.
    #[serde(default = "kept_before_it_existed")]
    pub keep_ignored: bool,
    /// Breadth first (the default: fewest steps to a violation) or depth first (less
    /// memory).
    #[serde(default)]
    pub order: Order,
    /// Stop (unknown) beyond this many distinct states.
    pub max_states: u64,
    /// Seeds the nodes' random streams.
    pub seed: u64,
    /// The client's timeout, in milliseconds (matters only when timers may fire).
    pub timeout_ms: u64,
    /// Attempts per operation.
    pub attempts: u32,
}

fn kept_before_it_existed() -> bool {
    true
}

impl ExploreConfig {
    /// Checks what the command line bounds but a schedule file could hold anyway.
    ///
    /// # Errors
    ///
    /// The first setting out of its range, and the range.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=100).contains(&self.attempts) {
            return Err(format!(
                "attempts is {}; a client makes 1 to 100 attempts",
                self.attempts
            ));
        }
        if !(1..=86_400_000).contains(&self.timeout_ms) {
            return Err(format!(
                "timeout_ms is {}; a client's timeout is 1 ms to a day",
                self.timeout_ms
            ));
        }
        if self.reduction == Reduction::Dpor && self.budget != Budget::default() {
            return Err(format!(
                "the dpor reduction explores without faults or timer firings (every enabled event must stay enabled until it happens); the budget is {:?}: use --reduction sleep-sets",
                self.budget
            ));
        }
        Ok(())
    }
}

/// Each client's operations, by letter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pattern {
    clients: Vec<Vec<Letter>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Letter {
    Write,
    Read,
    Cas,
    Append,
}

impl Pattern {
    /// Every client does `ops` operations: writes (appends, for a list-append mix) and
    /// reads by turns, starting with a write.
    pub fn alternating(clients: usize, ops: usize, mix: Mix) -> Pattern {
        let write = match mix {
            Mix::ListAppend => Letter::Append,
            Mix::Register | Mix::Kv => Letter::Write,
        };
        let word: Vec<Letter> = (0..ops)
            .map(|j| if j % 2 == 0 { write } else { Letter::Read })
            .collect();
        Pattern {
            clients: vec![word; clients],
        }
    }

    /// Whether every letter is an operation of `mix`; if not, what to write instead.
    ///
    /// # Errors
    ///
    /// The first letter `mix` does not have, and the letters it has.
    pub fn fits(&self, mix: Mix) -> Result<(), String> {
        let (allowed, letters): (&[Letter], &str) = match mix {
            Mix::Register => (&[Letter::Write, Letter::Read], "w and r"),
            Mix::Kv => (&[Letter::Write, Letter::Read, Letter::Cas], "w, r and c"),
            Mix::ListAppend => (&[Letter::Append, Letter::Read], "a and r"),
        };
        match self.clients.iter().flatten().find(|l| !allowed.contains(l)) {
            None => Ok(()),
            Some(l) => Err(format!(
                "the pattern {self} has {}, which the {} workload does not: use {letters}",
                letter(*l),
                mix.name()
            )),
        }
    }

    /// Clients in the pattern.
    pub fn clients(&self) -> usize {
        self.clients.len()
    }

    /// Operations in all.
    pub fn operations(&self) -> usize {
        self.clients.iter().map(Vec::len).sum()
    }

    /// Each client's operations, with distinct values and ids.
    pub fn ops(&self) -> Vec<Vec<Op>> {
        let mut next = 0u64;
        let mut last_written = 0u64;
        let mut out = Vec::with_capacity(self.clients.len());
        for word in &self.clients {
            let mut ops = Vec::with_capacity(word.len());
            for letter in word {
                next += 1;
                let request = match letter {
                    Letter::Read => Request::Read { key: 0 },
                    Letter::Write => Request::Write {
                        key: 0,
                        value: next,
                    },
                    Letter::Append => Request::Append {
                        key: 0,
                        value: next,
                    },
                    Letter::Cas => Request::Cas {
                        key: 0,
                        from: last_written,
                        to: next,
                    },
                };
                if !matches!(letter, Letter::Read) {
                    last_written = next;
                }
                ops.push(Op {
                    id: next,
                    request,
                    queued: sim_core::Duration::ZERO,
                });
            }
            out.push(ops);
        }
        out
    }
}

impl std::str::FromStr for Pattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Pattern, String> {
        let mut clients = Vec::new();
        for word in text.split('/') {
            let mut ops = Vec::new();
            for ch in word.trim().chars() {
                ops.push(match ch {
                    'w' => Letter::Write,
                    'r' => Letter::Read,
                    'c' => Letter::Cas,
                    'a' => Letter::Append,
                    other => {
                        return Err(format!(
                            "expected a pattern such as `w/rr` (letters w, r, c, a; one word per client, separated by /), found {other:?} in {text:?}"
                        ));
                    }
                });
            }
            clients.push(ops);
        }
        if clients.iter().all(Vec::is_empty) {
            return Err(format!("the pattern {text:?} has no operations"));
        }
        Ok(Pattern { clients })
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let words: Vec<String> = self
            .clients
            .iter()
            .map(|w| w.iter().map(|l| letter(*l)).collect())
            .collect();
        f.write_str(&words.join("/"))
    }
}

fn letter(l: Letter) -> char {
    match l {
        Letter::Write => 'w',
        Letter::Read => 'r',
        Letter::Cas => 'c',
        Letter::Append => 'a',
    }
}

impl TryFrom<String> for Pattern {
    type Error = String;
    fn try_from(text: String) -> Result<Pattern, String> {
        text.parse()
    }
}

impl From<Pattern> for String {
    fn from(p: Pattern) -> String {
        p.to_string()
    }
}

/// How an exploration ended, for people and tools.
#[derive(Clone, Debug)]
pub enum ExploreOutcome {
    /// Every reachable state expanded; no history broke a judged guarantee.
    Ok,
    /// A guarantee broke along `schedule`.
    Violation {
        /// The guarantee and the checker's explanation.
        explanation: String,
        /// The schedule, replayable with [`replay`].
        schedule: Schedule,
        /// The schedule followed again: one line per step and the history.
        replayed: Replayed,
    },
    /// Stopped early, or a history left undecided.
    Unknown {
        /// Why.
        reason: String,
    },
}

/// What [`explore`] found.
#[derive(Clone, Debug)]
pub struct ExploreReport {
    /// The model's catalog entry.
    pub info: ModelInfo,
    /// Replicas the model ran with.
    pub replicas: usize,
    /// The guarantees judged.
    pub judged: Vec<Guarantee>,
    /// The result.
    pub outcome: ExploreOutcome,
    /// The search's counters.
    pub stats: sim_core::explore::Stats,
}

/// Why an exploration could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExploreError {
    /// The model or its settings.
    #[error(transparent)]
    Model(#[from] models::ModelError),
    /// The configuration does not fit: the pattern has operations the model's
    /// workload does not, or a setting (from a schedule file) is out of range.
    #[error("{problem}")]
    Config {
        /// The model.
        model: String,
        /// What is wrong.
        problem: String,
    },
    /// The model does not offer exploration.
    #[error(
        "{0} does not offer exploration: its state is not hashable, or its safety rests on timing (see `Model::exploration`)"
    )]
    NotExplorable(String),
    /// A schedule that cannot be followed.
    #[error(transparent)]
    Replay(#[from] sim_core::explore::ReplayError),
}

/// Explores `config` for a model of `catalog`; `stop` is asked now and then whether to
/// give up.
///
/// # Errors
///
/// An unknown model or setting, or a model that does not offer exploration.
pub fn explore<C: Catalog>(
    catalog: &C,
    config: &ExploreConfig,
    stop: &mut dyn FnMut() -> Option<String>,
) -> Result<ExploreReport, ExploreError> {
    catalog
        .visit(
            &config.model,
            &params(config),
            Visit::Explore { config, stop },
        )?
        .map(ReplayOrReport::report)
}

/// A schedule followed again: what it did and how the checkers judge its history.
#[derive(Clone, Debug)]
pub struct Followed {
    /// The model's catalog entry.
    pub info: ModelInfo,
    /// Replicas the model ran with.
    pub replicas: usize,
    /// The steps, the history and the trace.
    pub replayed: Replayed,
    /// The history, one line per event, timed on the replay's clock
    /// ([`sim_core::explore::STEP`] per step).
    pub history: History,
    /// The first violation of a judged guarantee, if any.
    pub violation: Option<String>,
    /// The verdict on every guarantee judged.
    pub verdicts: Vec<GuaranteeVerdict>,
}

/// Follows `schedule` for `config` and judges the history it ends with.
///
/// # Errors
///
/// As [`explore`], and a step that is not possible where the schedule has got to.
pub fn replay<C: Catalog>(
    catalog: &C,
    config: &ExploreConfig,
    schedule: &Schedule,
) -> Result<Followed, ExploreError> {
    let out = catalog.visit(
        &config.model,
        &params(config),
        Visit::Replay { config, schedule },
    )?;
    match out? {
        ReplayOrReport::Replay(followed) => Ok(*followed),
        ReplayOrReport::Report(_) => unreachable!("a replay visit replays"),
    }
}

impl Followed {
    /// The replay as a run's report, for `consim run --schedule` and its picture: the
    /// trace on the replay's clock, the history and the verdicts.
    pub fn report(&self, config: &ExploreConfig) -> RunReport {
        let steps = self.replayed.narrative.len() as u64;
        let mut ops = OpCounts::default();
        for e in &self.replayed.history {
            match e {
                ClientEvent::Invoke { .. } => ops.unfinished += 1,
                ClientEvent::Complete { outcome, .. } => {
                    ops.unfinished -= 1;
                    match outcome {
                        Outcome::Ok { .. } => ops.ok += 1,
                        Outcome::Fail { .. } => ops.fail += 1,
                        Outcome::Info { .. } => ops.info += 1,
                    }
                }
            }
        }
        let trace = &self.replayed.trace;
        let count =
            |kind: sim_core::EventKind| trace.iter().filter(|e| e.kind == kind).count() as u64;
        let stats = sim_core::Stats {
            events: steps,
            deliveries: count(sim_core::EventKind::Deliver),
            lost: count(sim_core::EventKind::DropLoss),
            timers_fired: count(sim_core::EventKind::Timer),
            outputs: count(sim_core::EventKind::Output),
            faults: count(sim_core::EventKind::Fault),
            ..sim_core::Stats::default()
        };
        RunReport {
            model: self.info.name.to_owned(),
            scenario: "schedule".to_owned(),
            workload: Some(self.info.workload),
            seed: config.seed,
            replicas: self.replicas,
            clients: config.pattern.clients() as u32,
            simulated: sim_core::Time::ZERO
                + sim_core::Duration::from_nanos(steps * sim_core::explore::STEP.as_nanos()),
            trace_hash: self.replayed.trace_hash,
            stats,
            ops,
            availability: crate::availability::Availability::default(),
            faulted: any_fault(trace),
            latency: None,
            verdicts: self.verdicts.clone(),
            panic: None,
            broken_invariant: None,
            measures: Vec::new(),
            plan: sim_core::FaultPlan::default(),
            history: self.history.clone(),
            script: crate::script::Script::new(config.pattern.clients()),
            trace: Some(trace.clone()),
            latency_samples: Vec::new(),
            load: None,
        }
    }
}

/// Whether a fault struck or a message was lost along the trace.
fn any_fault(trace: &[sim_core::TraceEvent]) -> bool {
    trace.iter().any(|e| {
        matches!(
            e.kind,
            sim_core::EventKind::Fault | sim_core::EventKind::DropLoss
        )
    })
}

fn params(config: &ExploreConfig) -> Params {
    let mut params = Params::default();
    params.settings = config.params.iter().cloned().collect();
    params
}

enum Visit<'a, 's> {
    Explore {
        config: &'a ExploreConfig,
        stop: &'s mut dyn FnMut() -> Option<String>,
    },
    Replay {
        config: &'a ExploreConfig,
        schedule: &'a Schedule,
    },
}

enum ReplayOrReport {
    Replay(Box<Followed>),
    Report(Box<ExploreReport>),
}

impl ModelVisitor for Visit<'_, '_> {
    type Output = Result<ReplayOrReport, ExploreError>;

    fn visit<M: Model>(self, model: M, info: &ModelInfo) -> Self::Output {
        let explorer = model
            .exploration()
            .ok_or_else(|| ExploreError::NotExplorable(info.name.to_owned()))?;
        let config = match &self {
            Visit::Explore { config, .. } | Visit::Replay { config, .. } => *config,
        };
        config.validate().map_err(|problem| ExploreError::Config {
            model: info.name.to_owned(),
            problem,
        })?;
        config
            .pattern
            .fits(info.workload)
            .map_err(|problem| ExploreError::Config {
                model: info.name.to_owned(),
                problem,
            })?;
        let what = exploring(&model, config);
        let judged = judged(info);
        let mut judge = |history: &[ClientEvent]| judge_events(info, &judged, history);
        match self {
            Visit::Explore { stop, .. } => {
                let Exploration { outcome, stats } = explorer.explore(&what, &mut judge, stop);
                let outcome = match outcome {
                    sim_core::explore::Outcome::Ok => ExploreOutcome::Ok,
                    sim_core::explore::Outcome::Unknown { reason } => {
                        ExploreOutcome::Unknown { reason }
                    }
                    sim_core::explore::Outcome::Violation {
                        explanation,
                        schedule,
                    } => {
                        let replayed = explorer.replay(&what, &schedule)?;
                        ExploreOutcome::Violation {
                            explanation,
                            schedule,
                            replayed,
                        }
                    }
                };
                Ok(ReplayOrReport::Report(Box::new(ExploreReport {
                    info: *info,
                    replicas: model.replicas().len(),
                    judged,
                    outcome,
                    stats,
                })))
            }
            Visit::Replay { schedule, .. } => {
                let replayed = explorer.replay(&what, schedule)?;
                let history = history_of(&replayed.history, Some(&replayed.times), info.workload);
                let mut verdicts =
                    crate::judge::judge(info, info.workload, &history, Checks::Promised);
                // What exploration judges, and nothing else: a run of a schedule has no
                // quiet time nor final reads for convergence or lost writes.
                verdicts.retain(|v| judged.contains(&v.guarantee));
                let violation = first_violation(&judged, &verdicts);
                Ok(ReplayOrReport::Replay(Box::new(Followed {
                    info: *info,
                    replicas: model.replicas().len(),
                    replayed,
                    history,
                    violation,
                    verdicts,
                })))
            }
        }
    }
}

impl ReplayOrReport {
    fn report(self) -> ExploreReport {
        match self {
            ReplayOrReport::Report(r) => *r,
            ReplayOrReport::Replay(..) => unreachable!("an explore visit reports"),
        }
    }
}

/// The clients (as a run builds them, from the model's own client settings) and their
/// operations.
fn exploring<M: Model>(model: &M, config: &ExploreConfig) -> Exploring {
    let replicas = model.replicas().len();
    let ids: Vec<NodeId> = (0..replicas as u32).map(NodeId).collect();
    let mut settings = ClientSettings {
        timeout: Duration::from_millis(config.timeout_ms),
        ..ClientSettings::default()
    };
    settings.retry.max_attempts = config.attempts;
    let clients = (0..config.pattern.clients())
        .map(|i| {
            let mut client = models::client::ClientConfig::new(
                ids.clone(),
                nemesis::home(i, replicas),
                model.routing(),
            );
            client.timeout = settings.timeout;
            client.retry = settings.retry;
            client.idempotency = settings.idempotency;
            model.client(client)
        })
        .collect();
    Exploring {
        clients,
        inputs: config.pattern.ops(),
        seed: config.seed,
        budget: config.budget,
        reduction: config.reduction,
        keep_ignored: config.keep_ignored,
        order: config.order,
        max_states: config.max_states,
    }
}

/// What exploration judges for a model: what it promises or breaks, among the
/// guarantees a history shows on its own (duplicate effects only where its workload
/// appends: a register's writes leave no count).
fn judged(info: &ModelInfo) -> Vec<Guarantee> {
    Guarantee::ALL
        .into_iter()
        .filter(|g| info.promises.contains(g) || info.breaks.contains(g))
        .filter(|g| !matches!(g, Guarantee::Convergence | Guarantee::NoLostWrites))
        .filter(|g| {
            *g != Guarantee::NoDuplicateEffects || info.workload == models::kv::Mix::ListAppend
        })
        .collect()
}

/// The checkers' verdict on one explored history.
fn judge_events(info: &ModelInfo, judged: &[Guarantee], events: &[ClientEvent]) -> Verdict {
    let history = history_of(events, None, info.workload);
    let verdicts = crate::judge::judge(info, info.workload, &history, Checks::Promised);
    if let Some(violation) = first_violation(judged, &verdicts) {
        return Verdict::Violation(violation);
    }
    verdicts
        .iter()
        .filter(|v| judged.contains(&v.guarantee))
        .find_map(|v| match &v.judgement {
            Judgement::Unknown { reason } => Some(format!("{}: {reason}", v.guarantee.name())),
            _ => None,
        })
        .map_or(Verdict::Ok, Verdict::Unknown)
}

/// The first judged guarantee the verdicts say is violated, with the explanation.
fn first_violation(judged: &[Guarantee], verdicts: &[GuaranteeVerdict]) -> Option<String> {
    verdicts
        .iter()
        .filter(|v| judged.contains(&v.guarantee))
        .find_map(|v| match &v.judgement {
            Judgement::Violation { explanation } => {
                debug_assert_ne!(v.role, Role::Measured);
                Some(format!("{}: {explanation}", v.guarantee.name()))
            }
            _ => None,
        })
}

/// The history of an explored schedule, as a run records one: a process per client
/// (a new one after an `info`, as Jepsen does), one line per event, in order, timed
/// if `times` gives each event's time.
pub fn history_of(events: &[ClientEvent], times: Option<&[sim_core::Time]>, mix: Mix) -> History {
    let time = |line: usize| times.map(|t| t[line].as_nanos());
    let list = mix == Mix::ListAppend;
    let clients = events
        .iter()
        .map(|e| match e {
            ClientEvent::Invoke { client, .. } | ClientEvent::Complete { client, .. } => client + 1,
        })
        .max()
        .unwrap_or(0);
    let mut process: Vec<u64> = (0..clients as u64).collect();
    let mut in_flight: Vec<VecDeque<Op>> = vec![VecDeque::new(); clients];
    let mut history = History::default();
    for (line, event) in events.iter().enumerate() {
        let event = match event {
            ClientEvent::Invoke { client, op } => {
                in_flight[*client].push_back(*op);
                let (f, key, value) = describe(&op.request);
                Event {
                    process: process[*client],
                    kind: EventType::Invoke,
                    f,
                    key: Some(key),
                    value,
                    time: time(line),
                }
            }
            ClientEvent::Complete { client, outcome } => {
                let op = in_flight[*client]
                    .pop_front()
                    .expect("a client completes only what it invoked");
                let (f, key, invoked) = describe(&op.request);
                let (kind, value) = match outcome {
                    Outcome::Ok { reply, .. } => {
                        (EventType::Ok, completed_value(reply, invoked, list))
                    }
                    Outcome::Fail { .. } => (EventType::Fail, invoked),
                    Outcome::Info { .. } => (EventType::Info, invoked),
                };
                let event = Event {
                    process: process[*client],
                    kind,
                    f,
                    key: Some(key),
                    value,
                    time: time(line),
                };
                if kind == EventType::Info {
                    process[*client] += clients as u64;
                }
                event
            }
        };
        history.push(event, line + 1);
    }
    history
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(model: &str, pattern: &str) -> ExploreConfig {
        ExploreConfig {
            model: model.to_owned(),
            params: Vec::new(),
            pattern: pattern.parse().unwrap(),
            budget: Budget::default(),
            reduction: Reduction::SleepSets,
            keep_ignored: false,
            order: Order::BreadthFirst,
            max_states: 5_000_000,
            seed: 0,
            timeout_ms: 500,
            attempts: 1,
        }
    }

    fn run(config: &ExploreConfig) -> ExploreReport {
        explore(&models::Builtin, config, &mut || None).unwrap()
    }

    /// Pinned, as stateright pins its examples' state counts: a change to the explorer
    /// or to abd that alters the space fails here, and says by how much.
    #[test]
    fn abd_with_two_writers_has_a_pinned_space() {
        let reduced = run(&config("abd", "w/w"));
        assert!(
            matches!(reduced.outcome, ExploreOutcome::Ok),
            "{:?}",
            reduced.outcome
        );
        let s = &reduced.stats;
        assert_eq!((s.states, s.transitions, s.slept), (5_658, 9_980, 13_004));
        assert_eq!((s.terminal, s.max_depth, s.histories), (8, 18, 7));
        let unslept = run(&ExploreConfig {
            reduction: Reduction::None,
            ..config("abd", "w/w")
        });
        assert!(matches!(unslept.outcome, ExploreOutcome::Ok));
        assert_eq!(
            (unslept.stats.states, unslept.stats.transitions),
            (5_658, 22_984)
        );
        // Nothing reduced: every transition, and the late answers kept in flight.
        let full = run(&ExploreConfig {
            reduction: Reduction::None,
            keep_ignored: true,
            ..config("abd", "w/w")
        });
        assert!(matches!(full.outcome, ExploreOutcome::Ok));
        let s = &full.stats;
        assert_eq!((s.states, s.transitions), (76_780, 348_114));
        assert_eq!((s.terminal, s.max_depth, s.histories), (8, 22, 7));
    }

    /// Sleep sets skip transitions, never states: the reduced search, breadth or depth
    /// first, sees exactly the states, terminal states and histories of the full one,
    /// with faults, partitions and timers in the budget too.
    #[test]
    fn the_reduction_reaches_every_state_the_full_search_does() {
        let budget = |drops, duplicates, crashes, timer_firings| Budget {
            drops,
            duplicates,
            crashes,
            timer_firings,
            partitions: 0,
        };
        let cases = [
            ("w/r", budget(0, 0, 0, 0)),
            ("w/r", budget(1, 0, 0, 0)),
            ("w/r", budget(0, 0, 1, 0)),
            ("w", budget(0, 0, 0, 2)),
            ("w", budget(1, 1, 0, 1)),
            (
                "w/r",
                Budget {
                    partitions: 1,
                    ..Budget::default()
                },
            ),
        ];
        let mut reexpanded = 0;
        for (pattern, budget) in cases {
            let reduced = run(&ExploreConfig {
                budget,
                ..config("abd", pattern)
            });
            let full = run(&ExploreConfig {
                budget,
                reduction: Reduction::None,
                ..config("abd", pattern)
            });
            let what = format!("abd {pattern} {budget:?}");
            assert!(
                matches!(reduced.outcome, ExploreOutcome::Ok),
                "{what}: {:?}",
                reduced.outcome
            );
            assert!(
                matches!(full.outcome, ExploreOutcome::Ok),
                "{what}: {:?}",
                full.outcome
            );
            let key = |s: &sim_core::explore::Stats| (s.states, s.terminal, s.histories);
            assert_eq!(key(&reduced.stats), key(&full.stats), "{what}");
            assert!(reduced.stats.transitions < full.stats.transitions, "{what}");
            // Depth first, where revisits with other sleep sets are far more common.
            let deep = run(&ExploreConfig {
                budget,
                order: Order::DepthFirst,
                ..config("abd", pattern)
            });
            assert!(matches!(deep.outcome, ExploreOutcome::Ok), "{what}");
            assert_eq!(key(&deep.stats), key(&full.stats), "{what} depth first");
            reexpanded += deep.stats.reexpanded;
            reexpanded += reduced.stats.reexpanded;
        }
        assert!(
            reexpanded > 0,
            "the cases reach states again with smaller sleep sets"
        );
    }

    /// DPOR's space, pinned as the others are; a change to the explorer, the
    /// fingerprint or abd that alters it fails here.
    #[test]
    fn dpor_on_abd_with_two_writers_has_a_pinned_space() {
        let report = run(&ExploreConfig {
            reduction: Reduction::Dpor,
            ..config("abd", "w/w")
        });
        assert!(matches!(report.outcome, ExploreOutcome::Ok));
        let s = &report.stats;
        assert_eq!(
            (s.states, s.transitions, s.terminal, s.histories),
            (24_049, 2_610_122, 8, 7)
        );
        assert_eq!(s.schedules, 422_373);
        assert_eq!((s.blocked, s.max_depth), (2_228, 22));
    }

    /// DPOR finds each bug too, depth first, with a schedule that replays to a history
    /// the checkers reject the same way; it refuses a fault budget.
    #[test]
    fn dpor_finds_the_bugs_and_refuses_faults() {
        for (model, pattern, broken) in [
            ("abd-no-write-back", "w/rr", "linearizable"),
            ("quorum-overlap", "w/r", "linearizable"),
            ("session-token-ignored", "/ar", "read-your-writes"),
        ] {
            let config = ExploreConfig {
                reduction: Reduction::Dpor,
                ..config(model, pattern)
            };
            let report = run(&config);
            let ExploreOutcome::Violation {
                explanation,
                schedule,
                ..
            } = report.outcome
            else {
                panic!("{model}: {:?}", report.outcome);
            };
            assert!(
                explanation.starts_with(&format!("{broken}: ")),
                "{explanation}"
            );
            let again = replay(&models::Builtin, &config, &schedule).unwrap();
            let violation = again.violation.expect("the replay breaks it too");
            assert!(violation.starts_with(&format!("{broken}: ")), "{violation}");
        }
        let faulty = ExploreConfig {
            reduction: Reduction::Dpor,
            budget: Budget {
                drops: 1,
                ..Budget::default()
            },
            ..config("abd", "w/r")
        };
        let err = explore(&models::Builtin, &faulty, &mut || None).unwrap_err();
        assert!(
            err.to_string()
                .contains("the dpor reduction explores without faults or timer firings"),
            "{err}"
        );
    }

    /// Each bug of the issue is found with at most four client operations, and its
    /// schedule, followed again, ends in a history the checkers reject the same way.
    #[test]
    fn the_bugs_are_found_with_few_operations_and_their_schedules_replay() {
        for (model, pattern, steps, broken) in [
            ("abd-no-write-back", "w/rr", 14, "linearizable"),
            ("quorum-overlap", "w/r", 6, "linearizable"),
            ("session-token-ignored", "/ar", 8, "read-your-writes"),
        ] {
            let config = config(model, pattern);
            assert!(config.pattern.operations() <= 4);
            let report = run(&config);
            let ExploreOutcome::Violation {
                explanation,
                schedule,
                replayed,
            } = report.outcome
            else {
                panic!("{model}: {:?}", report.outcome);
            };
            assert!(
                explanation.starts_with(&format!("{broken}: ")),
                "{explanation}"
            );
            assert_eq!(schedule.steps.len(), steps, "{model}: {schedule:?}");
            assert_eq!(replayed.narrative.len(), steps);
            let again = replay(&models::Builtin, &config, &schedule).unwrap();
            assert_eq!(again.replayed.history, replayed.history);
            // The same guarantee broken; the replay's history has times, so its
            // explanation says when as well.
            let kind = |text: &str| text.split(':').next().map(str::to_owned);
            let violation = again
                .violation
                .as_deref()
                .expect("the replay breaks it too");
            assert_eq!(kind(violation), kind(&explanation), "{violation}");
            assert_eq!(
                again.history.events.len(),
                replayed.history.len(),
                "{model}"
            );
            let report = again.report(&config);
            assert!(report.failed(), "{model}");
            assert_eq!(
                report.trace_hash,
                replay(&models::Builtin, &config, &schedule)
                    .unwrap()
                    .replayed
                    .trace_hash
            );
        }
    }

    /// The seeds of `0..seeds` whose run of `pattern` (as a script, no faults, one
    /// key) fails for `model`.
    fn failing_seeds(model: &str, pattern: &Pattern, seeds: u64) -> Vec<u64> {
        let mut script = crate::script::Script::new(pattern.clients());
        for (client, ops) in pattern.ops().into_iter().enumerate() {
            for op in ops {
                let start = crate::script::Start::Think(Duration::ZERO);
                script.push(
                    client,
                    crate::script::Scripted {
                        request: op.request,
                        start,
                    },
                );
            }
        }
        (0..seeds)
            .filter(|&seed| {
                let mut run = crate::config::RunConfig::new(model, seed);
                run.clients = pattern.clients() as u32;
                run.script = Some(script.clone());
                run.workload = Some(crate::workload::WorkloadConfig {
                    mix: Mix::Register,
                    keys: 1,
                    ..crate::workload::WorkloadConfig::default()
                });
                crate::run::run(&run).unwrap().failed()
            })
            .collect()
    }

    /// Differential, against seeded runs of the same clients and operations: every
    /// violation a sweep finds, exploration finds too. A run's history ends with every
    /// client's final read, so the explored pattern has one more read per client. For
    /// `abd-no-write-back`, and `quorum-overlap` with one read, the sweep finds nothing
    /// in these seeds; exploration does.
    #[test]
    fn every_violation_a_sweep_finds_exploration_finds_too() {
        for (model, pattern, failing) in [
            ("quorum-overlap", "w/rr", true),
            ("quorum-overlap", "w/r", false),
            ("abd-no-write-back", "w/rr", false),
            ("abd", "w", false),
        ] {
            let run_pattern: Pattern = pattern.parse().unwrap();
            let failed = failing_seeds(model, &run_pattern, 200);
            assert_eq!(
                !failed.is_empty(),
                failing,
                "{model} {pattern}: seeds {failed:?}"
            );
            let with_finals: Pattern = format!("{}r", pattern.replace('/', "r/")).parse().unwrap();
            let explored = run(&config(model, &with_finals.to_string()));
            let found = matches!(explored.outcome, ExploreOutcome::Violation { .. });
            assert!(
                found || failed.is_empty(),
                "{model} {with_finals}: a sweep fails seeds {failed:?}, exploration says {:?}",
                explored.outcome
            );
            assert_eq!(
                found,
                model != "abd",
                "{model} {with_finals}: {:?}",
                explored.outcome
            );
        }
    }

    #[test]
    fn a_schedule_that_does_not_fit_is_refused_at_its_first_bad_step() {
        let config = config("quorum-overlap", "w/r");
        let report = run(&config);
        let ExploreOutcome::Violation { mut schedule, .. } = report.outcome else {
            panic!("quorum-overlap w/r breaks");
        };
        schedule.steps.swap(0, 1);
        let err = replay(&models::Builtin, &config, &schedule).unwrap_err();
        assert!(
            err.to_string().starts_with("step 0 of the schedule"),
            "{err}"
        );
    }

    #[test]
    fn models_that_do_not_offer_exploration_say_so() {
        let err = explore(&models::Builtin, &config("raft", "w/r"), &mut || None).unwrap_err();
        assert!(
            err.to_string().contains("raft does not offer exploration"),
            "{err}"
        );
    }

    #[test]
    fn patterns_read_back_as_written_and_refuse_other_letters() {
        let p: Pattern = "wr/rr/c".parse().unwrap();
        assert_eq!(p.to_string(), "wr/rr/c");
        assert_eq!((p.clients(), p.operations()), (3, 5));
        let ops = p.ops();
        assert_eq!(ops[0][0].request, Request::Write { key: 0, value: 1 });
        assert_eq!(
            ops[2][0].request,
            Request::Cas {
                key: 0,
                from: 1,
                to: 5
            }
        );
        assert!("wx".parse::<Pattern>().unwrap_err().contains("'x'"));
        assert!("/".parse::<Pattern>().is_err());
        assert_eq!(
            Pattern::alternating(2, 3, Mix::Register).to_string(),
            "wrw/wrw"
        );
        assert_eq!(
            Pattern::alternating(1, 2, Mix::ListAppend).to_string(),
            "ar"
        );
        assert!(p.fits(Mix::Kv).is_ok());
        let err = p.fits(Mix::ListAppend).unwrap_err();
        assert!(
            err.contains("has w, which the list-append workload does not: use a and r"),
            "{err}"
        );
    }

    /// Every complete history a search of `config` judged, each up to real-time
    /// equivalence: per client, its operations with their outcomes and, for each
    /// invocation, how many operations of every client had completed.
    /// With it, the number of distinct states with no move out the search reached.
    fn complete_histories(config: &ExploreConfig) -> (std::collections::BTreeSet<String>, u64) {
        struct Collect<'c>(&'c ExploreConfig);
        impl ModelVisitor for Collect<'_> {
            type Output = (std::collections::BTreeSet<String>, u64);
            fn visit<M: Model>(self, model: M, _: &ModelInfo) -> Self::Output {
                let what = exploring(&model, self.0);
                let operations: Vec<usize> = what.inputs.iter().map(Vec::len).collect();
                let mut seen = std::collections::BTreeSet::new();
                let mut judge = |history: &[ClientEvent]| {
                    let mut done = vec![0usize; operations.len()];
                    let mut per_client = vec![String::new(); operations.len()];
                    for event in history {
                        match event {
                            ClientEvent::Invoke { client, op } => {
                                per_client[*client] += &format!("{op:?} after {done:?}; ");
                            }
                            ClientEvent::Complete { client, outcome } => {
                                per_client[*client] += &format!("-> {outcome:?}; ");
                                done[*client] += 1;
                            }
                        }
                    }
                    if done == operations {
                        seen.insert(per_client.join(" | "));
                    }
                    Verdict::Ok
                };
                let explorer = model.exploration().expect("an explorable model");
                let exploration = explorer.explore(&what, &mut judge, &mut || None);
                assert_eq!(
                    exploration.outcome,
                    sim_core::explore::Outcome::Ok,
                    "{} {}",
                    self.0.model,
                    self.0.pattern
                );
                (seen, exploration.stats.terminal)
            }
        }
        models::Builtin
            .visit(&config.model, &params(config), Collect(config))
            .unwrap()
    }

    /// Taking out of flight the messages their receivers ignore for good loses no
    /// history and no final state: with and without it, every model that offers
    /// exploration, correct and buggy, reaches the same complete histories (up to
    /// real-time equivalence) and as many states with no move out, under drops,
    /// duplicates, crashes, a partition and timer firings too. It is what tests the
    /// models' `ignores`: one that answered `true` for a message it would act on
    /// later loses the histories that act.
    #[test]
    fn taking_out_ignored_messages_keeps_every_history() {
        let budget = |drops, duplicates, crashes, timer_firings, partitions| Budget {
            drops,
            duplicates,
            crashes,
            timer_firings,
            partitions,
        };
        let none = Budget::default();
        let cases = [
            ("abd", "w/w", none),
            ("abd", "wr/r", none),
            ("abd", "w/r", budget(1, 0, 0, 0, 0)),
            ("abd", "w/r", budget(0, 0, 1, 0, 0)),
            ("abd", "w/r", budget(0, 0, 0, 0, 1)),
            ("abd", "w", budget(0, 1, 0, 2, 0)),
            ("abd-no-write-back", "w/rr", none),
            ("quorum-overlap", "w/rr", none),
            ("primary-async", "ar/r", none),
            ("primary-async", "a/r", budget(0, 1, 0, 1, 0)),
            ("session-token-ignored", "a/ar", none),
        ];
        let mut smaller = Vec::new();
        for (model, pattern, budget) in cases {
            let base = ExploreConfig {
                budget,
                ..config(model, pattern)
            };
            let kept = complete_histories(&ExploreConfig {
                keep_ignored: true,
                ..base.clone()
            });
            let taken = complete_histories(&base);
            let what = format!("{model} {pattern} {budget:?}");
            assert!(!kept.0.is_empty(), "{what}");
            assert_eq!(taken.0, kept.0, "{what}");
            assert_eq!(taken.1, kept.1, "{what}: terminal states");
            let states = |keep_ignored| {
                run(&ExploreConfig {
                    keep_ignored,
                    ..base.clone()
                })
                .stats
                .states
            };
            if states(false) < states(true) {
                smaller.push(model);
            }
        }
        // Every abd space shrinks: a phase's late answers are ignored for good.
        assert_eq!(
            smaller.iter().filter(|&&m| m == "abd").count(),
            6,
            "{smaller:?}"
        );
    }

    /// A schedule file written before late messages were taken out of flight has no
    /// `keep_ignored`, and its steps deliver them: it reads as keeping them.
    #[test]
    fn a_schedule_file_from_before_keeps_ignored_messages() {
        let mut json = serde_json::to_value(config("abd", "w/r")).unwrap();
        assert_eq!(json["keep_ignored"], false);
        json.as_object_mut().unwrap().remove("keep_ignored");
        let old: ExploreConfig = serde_json::from_value(json).unwrap();
        assert!(old.keep_ignored);
    }

    /// A replayed schedule shows the late messages exploration took out of flight
    /// arriving, ignored, right after the step that made them late: its trace has
    /// deliveries the schedule does not name, and no message arrives twice.
    #[test]
    fn a_replay_shows_the_ignored_messages_arriving() {
        // Depth first: a long schedule, with phases whose last answers come late.
        let report = run(&ExploreConfig {
            order: Order::DepthFirst,
            ..config("abd-no-write-back", "w/rr")
        });
        let ExploreOutcome::Violation {
            schedule, replayed, ..
        } = &report.outcome
        else {
            panic!("{:?}", report.outcome)
        };
        let named = schedule
            .steps
            .iter()
            .filter(|s| matches!(s, sim_core::explore::Step::Deliver { .. }))
            .count();
        // A message is its receiver, sender and payload (coordination ids and request
        // numbers make each one different here).
        let arrivals: Vec<_> = replayed
            .trace
            .iter()
            .filter(|e| e.kind == sim_core::EventKind::Deliver)
            .map(|e| (e.node, e.peer, e.detail.clone()))
            .collect();
        assert!(
            arrivals.len() > named,
            "{} arrivals, {named} deliveries in the schedule",
            arrivals.len()
        );
        let distinct: std::collections::BTreeSet<_> = arrivals.iter().collect();
        assert_eq!(distinct.len(), arrivals.len(), "{arrivals:#?}");
    }

    /// DPOR takes one schedule per class of equivalent ones, not every state, so it is
    /// checked where it matters: it reaches every complete history (up to real-time
    /// equivalence) and every state with no move out (node states included, so the
    /// stamps a write chose count too) that the unreduced search reaches, on every
    /// model that offers exploration, correct and buggy, and on two writers and a
    /// reader.
    #[test]
    fn dpor_reaches_every_complete_history_the_full_search_does() {
        let cases = [
            ("abd", "w/w"),
            ("abd", "w/r"),
            ("abd-no-write-back", "w/rr"),
            ("quorum-overlap", "w/r"),
            ("quorum-overlap", "w/rr"),
            ("primary-async", "a/r"),
            ("primary-async", "ar/r"),
            ("session-token-ignored", "a/ar"),
        ];
        // Two writers and a reader, small enough for the unreduced search on two
        // replicas: stores of different stamps racing with a query at one replica.
        let two = |model: &str, pattern: &str| ExploreConfig {
            params: vec![("replicas".to_owned(), "2".to_owned())],
            ..config(model, pattern)
        };
        let configs = cases
            .iter()
            .map(|&(model, pattern)| config(model, pattern))
            .chain(["w/wr", "wr/w", "w/w/r"].map(|p| two("abd", p)));
        for base in configs {
            let (model, pattern) = (base.model.clone(), base.pattern.to_string());
            let full = complete_histories(&ExploreConfig {
                reduction: Reduction::None,
                ..base.clone()
            });
            let dpor = complete_histories(&ExploreConfig {
                reduction: Reduction::Dpor,
                ..base
            });
            assert!(full.0.len() > 1, "{model} {pattern}: {full:?}");
            assert_eq!(dpor.0, full.0, "{model} {pattern}");
            // DPOR's terminal states are reachable ones, so as many means the same.
            assert_eq!(dpor.1, full.1, "{model} {pattern}: terminal states");
        }
    }
}
