//! Judging a run's history: one function per guarantee, each calling the checker for
//! it. A model's promises fail the run when violated; the other guarantees are
//! measured.

use std::cell::OnceCell;

use checkers::check::check_operations;
use checkers::convergence::{ConvergenceReport, Fate, KeyConvergence, check_convergence};
use checkers::effects::check_effects;
use checkers::history::{History, Operation};
use checkers::linear::{Options, Outcome as LinOutcome, Verdict};
use checkers::session::{Guarantee as SessionGuarantee, SessionReport, check_sessions};
use checkers::spec::SpecName;
use checkers::traceable::NotTraceable;
use models::{Guarantee, ModelInfo};

use crate::config::Checks;
use crate::report::{GuaranteeVerdict, Judgement, Role};
use crate::workload::Mix;

/// Judges the guarantees `checks` asks for on `history` (convergence and lost writes
/// from the reads it marks final).
pub fn judge(
    info: &ModelInfo,
    mix: Mix,
    history: &History,
    checks: Checks,
) -> Vec<GuaranteeVerdict> {
    judge_requiring(info, mix, history, checks, &[])
}

/// [`judge`], with the guarantees `required` judged too and failing the run if
/// violated ([`Role::Required`], from `--require`).
pub fn judge_requiring(
    info: &ModelInfo,
    mix: Mix,
    history: &History,
    checks: Checks,
    required: &[Guarantee],
) -> Vec<GuaranteeVerdict> {
    let wanted: Vec<Guarantee> = Guarantee::ALL
        .into_iter()
        .filter(|&g| {
            required.contains(&g)
                || match checks {
                    Checks::All => true,
                    Checks::Promised => role(info, g) != Role::Measured,
                    Checks::None => false,
                }
        })
        .collect();
    let mut verdicts = judge_only(info, mix, history, &wanted);
    for verdict in &mut verdicts {
        if verdict.role == Role::Measured && required.contains(&verdict.guarantee) {
            verdict.role = Role::Required;
        }
    }
    verdicts
}

/// Judges the guarantees `wanted` on `history`, in that order (each checker runs once,
/// however many of its guarantees are wanted: the four session guarantees share one
/// pass, convergence and lost writes another). [`judge`] is this for the guarantees a
/// [`Checks`] names; the breakdown benchmark times each checker with it.
pub fn judge_only(
    info: &ModelInfo,
    mix: Mix,
    history: &History,
    wanted: &[Guarantee],
) -> Vec<GuaranteeVerdict> {
    if wanted.is_empty() {
        return Vec::new();
    }
    let ops = match history.operations("history") {
        Ok(ops) => ops,
        Err(e) => panic!("the runner recorded a malformed history: {e}"),
    };
    let evidence = Evidence {
        history,
        mix,
        ops,
        sessions: OnceCell::new(),
        convergence: OnceCell::new(),
    };
    wanted
        .iter()
        .map(|&g| GuaranteeVerdict {
            guarantee: g,
            role: role(info, g),
            judgement: evidence.judge(g),
        })
        .collect()
}

/// Why `g` is judged for a model described by `info`.
fn role(info: &ModelInfo, g: Guarantee) -> Role {
    if info.promises.contains(&g) {
        Role::Promised
    } else if info.breaks.contains(&g) {
        Role::Broken
    } else {
        Role::Measured
    }
}

/// A history and what the checkers found in it, each check run once, when a guarantee
/// first needs it.
struct Evidence<'a> {
    history: &'a History,
    mix: Mix,
    ops: Vec<Operation>,
    sessions: OnceCell<Result<SessionReport, NotTraceable>>,
    convergence: OnceCell<ConvergenceReport>,
}

impl Evidence<'_> {
    fn judge(&self, g: Guarantee) -> Judgement {
        match g {
            Guarantee::Linearizable => linearizable(self.history, &self.ops, self.mix),
            Guarantee::Convergence => converged(self.convergence()),
            Guarantee::NoLostWrites => nothing_lost(self.convergence()),
            Guarantee::NoDuplicateEffects => once_each(self.history, &self.ops),
            Guarantee::ReadYourWrites => self.session(SessionGuarantee::ReadYourWrites),
            Guarantee::MonotonicReads => self.session(SessionGuarantee::MonotonicReads),
            Guarantee::MonotonicWrites => self.session(SessionGuarantee::MonotonicWrites),
            Guarantee::WritesFollowReads => self.session(SessionGuarantee::WritesFollowReads),
        }
    }

    fn convergence(&self) -> &ConvergenceReport {
        self.convergence
            .get_or_init(|| check_convergence(self.history, &self.ops))
    }

    /// A session guarantee: its first anomaly, if the history shows one.
    fn session(&self, g: SessionGuarantee) -> Judgement {
        let sessions = self
            .sessions
            .get_or_init(|| check_sessions(self.history, &self.ops));
        let report = match sessions {
            Err(e) => {
                return Judgement::NotApplicable {
                    reason: e.to_string(),
                };
            }
            Ok(report) => report,
        };
        let first = report
            .results
            .iter()
            .find(|(found, _)| *found == g)
            .and_then(|(_, anomalies)| anomalies.first());
        match first {
            None => Judgement::Ok,
            Some(a) => Judgement::Violation {
                explanation: a.explanation.clone(),
            },
        }
    }
}

/// Convergence: the final reads of every key agree.
fn converged(report: &ConvergenceReport) -> Judgement {
    if report.keys.iter().all(|k| k.final_reads.is_empty()) {
        return Judgement::NotApplicable {
            reason: "no final reads completed".to_owned(),
        };
    }
    problems_of(report, |k| !k.converged)
}

/// No duplicate effects: no read holds an append's element twice.
fn once_each(history: &History, ops: &[Operation]) -> Judgement {
    match check_effects(history, ops) {
        Err(why) => Judgement::NotApplicable {
            reason: why.to_string(),
        },
        Ok(report) if report.ok() => Judgement::Ok,
        Ok(report) => Judgement::Violation {
            explanation: format!("{}; {}", report.duplicated[0].explanation, report.summary()),
        },
    }
}

/// No lost writes: every acknowledged write is in the final state.
fn nothing_lost(report: &ConvergenceReport) -> Judgement {
    problems_of(report, |k| {
        k.elements.get(&Fate::Lost).is_some_and(|l| !l.is_empty()) || !k.lost_updates.is_empty()
    })
}

/// A violation explained by the problems of the keys `violates` picks, or ok if it
/// picks none.
fn problems_of(
    report: &ConvergenceReport,
    violates: impl Fn(&KeyConvergence) -> bool,
) -> Judgement {
    let problems: Vec<String> = report
        .keys
        .iter()
        .filter(|k| violates(k))
        .flat_map(|k| k.problems.iter().cloned())
        .collect();
    if problems.is_empty() {
        Judgement::Ok
    } else {
        Judgement::Violation {
            explanation: problems.join(" "),
        }
    }
}

/// The linearizability budget per run: no wall clock (a run's verdict must not depend
/// on the machine), only the search's memory.
fn linearizable(history: &History, ops: &[Operation], mix: Mix) -> Judgement {
    let options = Options {
        timeout: None,
        max_memory_bytes: 256 << 20,
        threads: 1,
        // The verdict is all a run keeps (a failing run's picture checks again).
        describe_states: false,
        // A correct store's history is proved by the order its results propose.
        try_proposed_order: true,
        ..Options::default()
    };
    let model = match mix {
        Mix::ListAppend => SpecName::ListAppend,
        Mix::Register | Mix::Kv => SpecName::Kv,
    };
    let report = match check_operations(model, history, ops, &options) {
        Ok(report) => report,
        Err(e) => panic!("the runner recorded a history the checker refuses: {e}"),
    };
    let search = match report.verdict() {
        Verdict::Ok => return Judgement::Ok,
        Verdict::Unknown => Judgement::Unknown {
            reason: report
                .keys
                .iter()
                .find_map(|k| match &k.outcome {
                    LinOutcome::Unknown { reason } => Some(reason.clone()),
                    _ => None,
                })
                .unwrap_or_default(),
        },
        Verdict::Violation => Judgement::Violation {
            explanation: report
                .keys
                .iter()
                .find_map(|k| match &k.outcome {
                    LinOutcome::Violation(v) => Some(format!(
                        "key {}: {}",
                        k.key.as_ref().map_or("-".to_owned(), ToString::to_string),
                        v.sentence
                    )),
                    _ => None,
                })
                .unwrap_or_default(),
        },
    };
    match witness(history, mix) {
        Some(witness) => Judgement::Violation {
            explanation: match search {
                Judgement::Violation { explanation } => {
                    format!("{witness} (the linearizability search: {explanation})")
                }
                _ => witness,
            },
        },
        None => search,
    }
}

/// For a history the linearizability search rejects (or gives up on): the smallest
/// anomaly it proves outright ([`checkers::proof::proofs`]) — the one with the fewest
/// operations, so a two-operation stale read or session violation comes before a long
/// chain; the first found among equals — in sentences. Every one
/// rules linearizability out, and a stale read or a cycle through real-time order
/// ("T2 completed before T3 was invoked; T3 read the list without T1's append") is a
/// witness a person can follow, where the search can only say where it got stuck.
/// `None` if the history proves nothing outright (the search's verdict then stands
/// alone).
fn witness(history: &History, mix: Mix) -> Option<String> {
    let ops = history.operations("history").ok()?;
    let smallest = checkers::proof::proofs(history, &ops, mix == Mix::ListAppend)
        .into_iter()
        .min_by_key(|proof| proof.ops.len())?;
    Some(smallest.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stale read: process 1 reads key 0 without the append process 0 finished
    /// before the read began.
    const STALE_APPEND: &str = r#"{"process":0,"type":"invoke","f":"append","key":0,"value":1,"time":0}
{"process":0,"type":"ok","f":"append","key":0,"value":1,"time":10}
{"process":1,"type":"invoke","f":"read","key":0,"value":null,"time":20}
{"process":1,"type":"ok","f":"read","key":0,"value":[],"time":30}
"#;

    #[test]
    fn a_list_append_violation_is_explained_by_the_dependency_cycle() {
        let history = History::from_jsonl(STALE_APPEND, "stale").unwrap();
        let ops = history.operations("stale").unwrap();
        let Judgement::Violation { explanation } = linearizable(&history, &ops, Mix::ListAppend)
        else {
            panic!("a stale read judged linearizable");
        };
        assert!(
            explanation.starts_with("G-single-item-realtime: "),
            "{explanation}"
        );
        assert!(explanation.contains("completed"), "{explanation}");
        assert!(
            explanation.contains("(the linearizability search: key 0: "),
            "{explanation}"
        );
        // The same history without the stale read is fine, and gets no witness.
        let fine: String = STALE_APPEND
            .lines()
            .take(2)
            .map(|l| format!("{l}\n"))
            .collect();
        let fine = History::from_jsonl(&fine, "fine").unwrap();
        let ops = fine.operations("fine").unwrap();
        assert_eq!(linearizable(&fine, &ops, Mix::ListAppend), Judgement::Ok);
    }
}
