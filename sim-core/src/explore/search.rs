//! The breadth-first search, with visited states and sleep sets.

#![allow(
    clippy::disallowed_types,
    reason = "the maps below are looked up by fingerprint and never iterated, so their order cannot reach a result"
)]

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use super::fingerprint::Fp;
use super::world::{Env, Footprint, Move, Tid, World};
use super::{Explorable, Happened, Judgement, Order, Reduction, Schedule, Setup, Step};

/// How an exploration ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every reachable state was expanded and the judge found every history fine.
    Ok,
    /// A history the judge found broken, and the schedule that produces it.
    Violation {
        /// The judge's explanation.
        explanation: String,
        /// How to get there.
        schedule: Schedule,
    },
    /// Stopped before the space was exhausted, or a history the judge could not
    /// decide: nothing is claimed.
    Unknown {
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// Stopped, with why.
    pub(super) fn unknown(reason: &str) -> Outcome {
        Outcome::Unknown {
            reason: reason.to_owned(),
        }
    }
}

/// Counters of an exploration, all deterministic for one build.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Distinct states seen (by fingerprint), the start included.
    pub states: u64,
    /// Transitions taken: handler runs, each producing a successor state.
    pub transitions: u64,
    /// Transitions skipped because they were asleep (they only reorder independent
    /// events already explored in the other order).
    pub slept: u64,
    /// Successors that were states seen before, with nothing new to expand.
    pub revisits: u64,
    /// States expanded again because they were reached with a smaller sleep set.
    pub reexpanded: u64,
    /// Distinct states with no move out (every client done or stuck, nothing in
    /// flight).
    pub terminal: u64,
    /// Schedules taken to a state with no move out (DPOR only: it keeps no table of
    /// states, so one terminal state may end several).
    pub schedules: u64,
    /// Paths cut short because every move out was asleep (DPOR only: a schedule whose
    /// every continuation is equivalent to one taken elsewhere).
    pub blocked: u64,
    /// Steps on the longest path the search expanded.
    pub max_depth: u32,
    /// Distinct histories (up to real-time equivalence) the judge was asked about.
    pub histories: u64,
}

/// The result of [`explore`].
#[derive(Clone, Debug)]
pub struct Exploration {
    /// How it ended.
    pub outcome: Outcome,
    /// What it did.
    pub stats: Stats,
}

/// A state waiting to be expanded.
struct Queued<R: crate::Node, C: crate::Node<Msg = R::Msg>> {
    world: World<R, C>,
    fp: Fp,
    /// For a re-expansion: only these transitions (they slept before).
    only: Option<Vec<Tid>>,
    depth: u32,
    /// Where its path ends in the arena.
    at: u32,
}

/// What the search keeps per visited state: the sleep set it is (to be) expanded
/// with, by transition name (a transition asleep at a state is enabled there, so its
/// footprint is found again among the state's moves), and whether it was.
struct Seen {
    sleep: Box<[Tid]>,
    expanded: bool,
}

struct Search<'a, 'j, R: crate::Node, C: crate::Node<Msg = R::Msg>> {
    env: Env<'a, R, C>,
    verdicts: Verdicts<'j, C>,
    seen: HashMap<Fp, Seen>,
    queue: VecDeque<Queued<R, C>>,
    /// Every path as (parent, step): index 0 is the start.
    arena: Vec<(u32, Option<Step>)>,
    stats: Stats,
}

/// The judge and what it said: it is asked once per history (up to real-time
/// equivalence), and the first history it could not decide is kept.
pub(super) struct Verdicts<'j, C: crate::Node> {
    judge: &'j mut dyn FnMut(&[Happened<C>]) -> Judgement,
    known: HashMap<Fp, Judgement>,
    undecided: Option<String>,
}

impl<'j, C: crate::Node> Verdicts<'j, C> {
    pub(super) fn new(judge: &'j mut dyn FnMut(&[Happened<C>]) -> Judgement) -> Self {
        Verdicts {
            judge,
            known: HashMap::new(),
            undecided: None,
        }
    }

    /// Judges `world`'s history; a violation comes back with the judge's explanation.
    pub(super) fn violation<R>(&mut self, world: &World<R, C>, stats: &mut Stats) -> Option<String>
    where
        C: Explorable,
        R: Explorable<Msg = C::Msg>,
    {
        let key = world.history_fingerprint();
        let judgement = match self.known.get(&key) {
            Some(j) => j.clone(),
            None => {
                stats.histories += 1;
                let j = (self.judge)(&world.history);
                self.known.insert(key, j.clone());
                j
            }
        };
        match judgement {
            Judgement::Ok => None,
            Judgement::Unknown(reason) => {
                self.undecided
                    .get_or_insert(format!("the judge could not decide a history: {reason}"));
                None
            }
            Judgement::Violation(explanation) => Some(explanation),
        }
    }

    /// How a search that took every schedule it had to ends: ok, or unknown if the
    /// judge could not decide a history.
    pub(super) fn finish(&mut self) -> Outcome {
        match self.undecided.take() {
            Some(reason) => Outcome::Unknown { reason },
            None => Outcome::Ok,
        }
    }
}

/// Explores every schedule of `setup`, judging each history that grows by an outcome
/// with `judge`; `stop` is asked now and then whether to give up, and why (a
/// wall-clock timeout, a memory cap: the result is then [`Outcome::Unknown`]).
pub fn explore<R, C>(
    setup: &Setup<R, C>,
    judge: &mut dyn FnMut(&[Happened<C>]) -> Judgement,
    stop: &mut dyn FnMut() -> Option<String>,
) -> Exploration
where
    R: Explorable,
    C: Explorable<Msg = R::Msg>,
{
    let env = Env::new(setup);
    if setup.reduction == Reduction::Dpor {
        return super::dpor::explore(env, judge, stop);
    }
    let start = World::start(&env);
    let mut search = Search {
        env,
        verdicts: Verdicts::new(judge),
        seen: HashMap::new(),
        queue: VecDeque::new(),
        arena: vec![(0, None)],
        stats: Stats::default(),
    };
    let outcome = search.run(start, stop);
    Exploration {
        outcome,
        stats: search.stats,
    }
}

impl<R: Explorable, C: Explorable<Msg = R::Msg>> Search<'_, '_, R, C> {
    fn run(&mut self, start: World<R, C>, stop: &mut dyn FnMut() -> Option<String>) -> Outcome {
        let fp = start.fingerprint();
        self.seen.insert(
            fp,
            Seen {
                sleep: Box::new([]),
                expanded: false,
            },
        );
        self.stats.states = 1;
        self.queue.push_back(Queued {
            world: start,
            fp,
            only: None,
            depth: 0,
            at: 0,
        });
        let mut moves = Vec::new();
        let mut popped = 0u64;
        let depth_first = self.env.setup.order == Order::DepthFirst;
        while let Some(item) = if depth_first {
            self.queue.pop_back()
        } else {
            self.queue.pop_front()
        } {
            popped += 1;
            if popped % 4096 == 0
                && let Some(why) = stop()
            {
                return Outcome::unknown(&format!("{why} before every state was expanded"));
            }
            if self.stats.states > self.env.setup.max_states {
                let max = self.env.setup.max_states;
                return Outcome::unknown(&format!(
                    "more than {max} states (--max-states) before every state was expanded"
                ));
            }
            if let Some(found) = self.expand(item, &mut moves) {
                return found;
            }
        }
        self.verdicts.finish()
    }

    /// Takes every move out of `item` that is not asleep; a violation ends the search.
    fn expand(&mut self, item: Queued<R, C>, moves: &mut Vec<Move>) -> Option<Outcome> {
        let seen = self
            .seen
            .get_mut(&item.fp)
            .expect("a queued state was seen");
        seen.expanded = true;
        let sleep = seen.sleep.clone();
        self.stats.max_depth = self.stats.max_depth.max(item.depth);
        item.world.moves(&self.env, moves);
        if moves.is_empty() && item.only.is_none() {
            self.stats.terminal += 1;
        }
        let reduce = self.env.setup.reduction != Reduction::None;
        let named: Vec<(Tid, Footprint)> = moves
            .iter()
            .map(|&mv| (item.world.identity(mv), item.world.footprint(mv)))
            .collect();
        let asleep: Vec<(Tid, Footprint)> = named
            .iter()
            .filter(|(id, _)| sleep.contains(id))
            .copied()
            .collect();
        let mut done: Vec<(Tid, Footprint)> = Vec::new();
        let first_child = self.queue.len();
        for (&mv, &(id, footprint)) in moves.iter().zip(&named) {
            if sleep.contains(&id) {
                self.stats.slept += 1;
                continue;
            }
            if item.only.as_ref().is_some_and(|only| !only.contains(&id)) {
                // Taken when this state was first expanded.
                done.push((id, footprint));
                continue;
            }
            let mut child_sleep: Vec<Tid> = if reduce {
                asleep
                    .iter()
                    .chain(done.iter())
                    .filter(|(_, f)| f.independent(footprint))
                    .map(|&(t, _)| t)
                    .collect()
            } else {
                Vec::new()
            };
            child_sleep.sort_unstable();
            done.push((id, footprint));
            if let Some(found) = self.take(&item, mv, child_sleep) {
                return Some(found);
            }
        }
        if self.env.setup.order == Order::DepthFirst {
            // The stack pops the first child first: it has the fewest moves asleep, so
            // the states below it are stored with small sleep sets, and the later
            // siblings, reaching them with more asleep, find them done instead of
            // expanding them again.
            self.queue.make_contiguous()[first_child..].reverse();
        }
        None
    }

    /// Takes one move out of `item`: judges the history if it grew by an outcome, and
    /// queues the successor unless it was seen with a sleep set it does not extend.
    fn take(&mut self, item: &Queued<R, C>, mv: Move, sleep: Vec<Tid>) -> Option<Outcome> {
        let step = item.world.step(mv);
        let mut child = item.world.clone();
        let outcome = child.apply(&self.env, mv);
        self.stats.transitions += 1;
        self.arena.push((item.at, Some(step)));
        let at = u32::try_from(self.arena.len() - 1).expect("fewer than 2³² paths");
        if outcome && let Some(found) = self.judge_history(&child, at) {
            return Some(found);
        }
        let fp = child.fingerprint();
        let depth = item.depth + 1;
        let only = match self.seen.get_mut(&fp) {
            None => {
                self.seen.insert(
                    fp,
                    Seen {
                        sleep: sleep.into_boxed_slice(),
                        expanded: false,
                    },
                );
                self.stats.states += 1;
                None
            }
            Some(seen) => {
                // Most revisits wake nothing: tell that without building the two sets.
                if seen.sleep.iter().all(|t| sleep.binary_search(t).is_ok()) {
                    self.stats.revisits += 1;
                    self.arena.pop();
                    return None;
                }
                let (kept, woken): (Vec<Tid>, Vec<Tid>) = seen
                    .sleep
                    .iter()
                    .partition(|t| sleep.binary_search(t).is_ok());
                seen.sleep = kept.into_boxed_slice();
                if !seen.expanded {
                    // Still queued: it will be expanded with the smaller sleep set.
                    self.arena.pop();
                    return None;
                }
                self.stats.reexpanded += 1;
                Some(woken)
            }
        };
        self.queue.push_back(Queued {
            world: child,
            fp,
            only,
            depth,
            at,
        });
        None
    }

    /// Asks the judge about `world`'s history; a violation comes back with the
    /// schedule that ends at arena index `at`.
    fn judge_history(&mut self, world: &World<R, C>, at: u32) -> Option<Outcome> {
        let explanation = self.verdicts.violation(world, &mut self.stats)?;
        Some(Outcome::Violation {
            explanation,
            schedule: self.schedule(at),
        })
    }

    fn schedule(&self, mut at: u32) -> Schedule {
        let mut steps = Vec::new();
        while let (parent, Some(step)) = self.arena[at as usize] {
            steps.push(step);
            at = parent;
        }
        steps.reverse();
        Schedule { steps }
    }
}
