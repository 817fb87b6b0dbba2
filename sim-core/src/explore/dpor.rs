//! Dynamic partial-order reduction with source sets and sleep sets (Abdulla, Aronis,
//! Jonsson and Sagonas, *Optimal dynamic partial order reduction*, POPL 2014, their
//! Algorithm 1, "source-DPOR"): a stateless depth-first search that explores at least
//! one schedule of every Mazurkiewicz trace, and so reaches every state with no move
//! out, and every history, of the unreduced search.
//!
//! # Events, dependence and happens-before
//!
//! Each step of a schedule is an event: a client's input, or the delivery of one
//! message. Every message is a thread of its own with one event (its delivery), enabled
//! by the event that sent it; a client's input is enabled by the event that reported
//! the client's previous outcome. Two events are *dependent* when their
//! [`Footprint`]s are not independent (the sleep sets' relation: the same node, or two
//! client events of which one is an input), except two events at one node that both
//! left its state as it was and reported nothing (two reads at a replica: either order
//! leaves the node alike and sends the same messages). An event happens before a later
//! one if they are dependent or the later is enabled by it, and transitively.
//!
//! # The search
//!
//! After each event `e` the search looks for its *races*: an earlier event `d`,
//! dependent on `e`, that happens before `e` with nothing in between and did not enable
//! it. Then `e` could have come first, and some first step of the events after `d` that
//! do not happen after it, then `e`, is put in the backtrack set of the state before
//! `d`, unless one already is. Sleep sets (by footprints, which is coarser than the
//! relation above and so only wakes more) keep it from taking two schedules of one
//! trace from one state.
//!
//! Two reads at one node are independent only where both leave it unchanged, which
//! depends on the schedule; it is sound because it is the same in every equivalent
//! schedule: what a node holds before an event is made by the writing events at that
//! node before it, and those are ordered by happens-before, so every equivalent
//! schedule has the same ones before it.
//!
//! # What it does not do
//!
//! Dependence by node is coarse: two stores at a replica that keeps the higher stamp,
//! or two acknowledgements that change different parts of a coordinator, count as
//! racing, and their orders multiply the schedules (on abd `w/w`, 422,373 schedules to
//! 8 terminal states). Testing a race in its context instead (Albert et al.,
//! *Context-sensitive DPOR*, CAV 2017: skip a race whose reversed order reaches the
//! same state) cut that to 1,687 schedules, but as this crate applied it (skipping
//! the backtrack, or also dropping the happens-before edge) it loses schedules: two
//! client inputs at the start reach the same state in either order, yet only the
//! reversal lets the first move past the other client's completion; and a race found
//! independent in a context that includes a third event (a store of a lower stamp,
//! a no-op only after a higher one) is not independent without it. So it is not used,
//! and on the models consim ships the sleep-set search, which remembers states and
//! takes late messages out of flight (which DPOR cannot, below), is the faster one: on
//! abd `w/w` DPOR takes 2,610,122 transitions to the sleep-set search's 9,980. Nor does `max_states` bound DPOR's work, only the distinct
//! states it has seen; a timeout (the caller's `stop`) does.
//!
//! # What it needs
//!
//! Every enabled event stays enabled until it happens: true of deliveries and inputs,
//! not of faults (a loss disables a delivery) nor of timers (they move the clock every
//! node reads). So the fault budget must be empty; [`super::explore`] asserts it, and
//! the command line refuses the combination with a message. For the same reason DPOR
//! keeps in flight the messages their receivers ignore for good (the module docs'
//! *Messages ignored for good*): a move that makes a node ignore a pending message
//! would take its delivery away, and DPOR, which sees races only between events that
//! happen, would never try that message before the move (an answer that would have
//! completed a quorum in place of another).
//!
//! A terminal state, and every history, of the unreduced search is reached by a
//! schedule equivalent to one this search takes, and equivalent schedules end in the
//! same state with the same history (client events are pairwise dependent unless both
//! are deliveries, whose completions commute in real time): so the judge sees every
//! history a complete schedule ends with, up to real-time equivalence. Histories of
//! partial schedules are prefixes of those, and a violation of linearizability or of
//! a session guarantee in a prefix is a violation in every extension. The test
//! `dpor_reaches_every_complete_history_the_full_search_does` (in the `consim` crate)
//! checks both, histories and terminal states, against the unreduced search on every
//! model that offers exploration; it fails if the races of client events, or of
//! replica events, are not reversed.

#![allow(
    clippy::disallowed_types,
    reason = "the sets and maps below are looked up by fingerprint and never iterated, so their order cannot reach a result"
)]

use std::collections::HashSet;

use super::fingerprint::Fp;
use super::search::{Exploration, Outcome, Stats, Verdicts};
use super::world::{Env, Footprint, Move, Tid, World};
use super::{Explorable, Happened, Judgement, Schedule, Step};

/// The longest schedule DPOR follows: its sets of events are bitsets of this many
/// bits, kept inline (a configuration with longer schedules is far beyond what an
/// exhaustive search finishes).
pub(crate) const MAX_STEPS: usize = 256;

/// A set of event positions along the current schedule.
#[derive(Clone, Copy, Debug, Default)]
struct Bits([u64; MAX_STEPS / 64]);

impl Bits {
    fn contains(self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 == 1
    }

    fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn union(&mut self, other: Bits) {
        for (w, o) in self.0.iter_mut().zip(other.0) {
            *w |= o;
        }
    }

    fn meets(self, other: Bits) -> bool {
        self.0.iter().zip(other.0).any(|(a, b)| a & b != 0)
    }
}

/// One step of the current schedule.
struct Event {
    tid: Tid,
    footprint: Footprint,
    /// Left its node's state as it was and reported nothing.
    read_only: bool,
    /// The event that enabled it (sent its message, or reported the client's previous
    /// outcome); `None` if it was enabled from the start.
    enabler: Option<usize>,
    /// Every earlier event that happens before it.
    before: Bits,
    /// Messages sent along the schedule up to and including this event.
    sends_end: u64,
    /// The client whose outcome this event reported, if any.
    reported: Option<usize>,
    step: Step,
}

impl Event {
    fn dependent(&self, other: &Event) -> bool {
        if self.footprint.independent(other.footprint) {
            return false;
        }
        let reads = self.read_only
            && other.read_only
            && self.footprint.node == other.footprint.node
            && !self.footprint.global
            && !other.footprint.global;
        !reads
    }
}

/// A state on the current schedule and what is (to be) taken out of it.
struct Frame<R: crate::Node, C: crate::Node<Msg = R::Msg>> {
    world: World<R, C>,
    moves: Vec<(Move, Tid, Footprint)>,
    backtrack: Vec<Tid>,
    /// Asleep: explored from here already, or from an ancestor in an order that
    /// covers them.
    sleep: Vec<(Tid, Footprint)>,
}

struct Dpor<'a, 'j, R: crate::Node, C: crate::Node<Msg = R::Msg>> {
    env: Env<'a, R, C>,
    verdicts: Verdicts<'j, C>,
    seen: HashSet<Fp>,
    /// The distinct states with no move out.
    terminal: HashSet<Fp>,
    frames: Vec<Frame<R, C>>,
    events: Vec<Event>,
    /// Messages the nodes sent as they booted (enabled from the start).
    boot_sends: u64,
    stats: Stats,
}

/// Explores with source-DPOR (see the module docs).
pub(super) fn explore<R, C>(
    env: Env<'_, R, C>,
    judge: &mut dyn FnMut(&[Happened<C>]) -> Judgement,
    stop: &mut dyn FnMut() -> Option<String>,
) -> Exploration
where
    R: Explorable,
    C: Explorable<Msg = R::Msg>,
{
    let b = env.setup.budget;
    assert!(
        b == super::Budget::default(),
        "DPOR explores without faults or timer firings; the budget was {b:?}"
    );
    let start = World::start(&env);
    let mut dpor = Dpor {
        boot_sends: start.sends(),
        env,
        verdicts: Verdicts::new(judge),
        seen: HashSet::new(),
        terminal: HashSet::new(),
        frames: Vec::new(),
        events: Vec::new(),
        stats: Stats::default(),
    };
    let outcome = dpor.run(start, stop);
    Exploration {
        outcome,
        stats: dpor.stats,
    }
}

impl<R: Explorable, C: Explorable<Msg = R::Msg>> Dpor<'_, '_, R, C> {
    fn run(&mut self, start: World<R, C>, stop: &mut dyn FnMut() -> Option<String>) -> Outcome {
        let fp = start.fingerprint();
        self.seen.insert(fp);
        self.stats.states = 1;
        self.push(start, fp, Vec::new());
        while let Some(top) = self.frames.last() {
            let next = top
                .backtrack
                .iter()
                .copied()
                .find(|t| !top.sleep.iter().any(|(s, _)| s == t));
            let Some(tid) = next else {
                self.frames.pop();
                self.events.pop();
                continue;
            };
            if self.stats.transitions % 4096 == 0
                && let Some(why) = stop()
            {
                return Outcome::unknown(&format!("{why} before every trace was explored"));
            }
            if self.events.len() >= MAX_STEPS {
                return Outcome::unknown(&format!(
                    "a schedule longer than {MAX_STEPS} steps, the most DPOR follows (--reduction sleep-sets has no such bound)"
                ));
            }
            if self.stats.states > self.env.setup.max_states {
                let max = self.env.setup.max_states;
                return Outcome::unknown(&format!(
                    "more than {max} states (--max-states) before every trace was explored"
                ));
            }
            if let Some(found) = self.take(tid) {
                return found;
            }
        }
        self.verdicts.finish()
    }

    /// Puts `world` on top of the schedule with `sleep` asleep, and one move that is
    /// not asleep in its backtrack set.
    fn push(&mut self, world: World<R, C>, fp: Fp, sleep: Vec<(Tid, Footprint)>) {
        let mut moves = Vec::new();
        world.moves(&self.env, &mut moves);
        let moves: Vec<(Move, Tid, Footprint)> = moves
            .into_iter()
            .map(|mv| (mv, world.identity(mv), world.footprint(mv)))
            .collect();
        let awake = moves
            .iter()
            .find(|(_, t, _)| !sleep.iter().any(|(s, _)| s == t));
        let asleep = moves
            .iter()
            .filter(|(_, t, _)| sleep.iter().any(|(s, _)| s == t))
            .count();
        self.stats.slept += asleep as u64;
        if moves.is_empty() {
            self.stats.schedules += 1;
            if self.terminal.insert(fp) {
                self.stats.terminal += 1;
            }
        } else if awake.is_none() {
            self.stats.blocked += 1;
        }
        let depth = u32::try_from(self.frames.len()).expect("a schedule of fewer than 2³² steps");
        self.stats.max_depth = self.stats.max_depth.max(depth);
        self.frames.push(Frame {
            backtrack: awake.map(|&(_, t, _)| t).into_iter().collect(),
            world,
            moves,
            sleep,
        });
    }

    /// Takes the move named `tid` out of the top state: records the event, adds what
    /// its races call for to earlier backtrack sets, judges the history if it grew by
    /// an outcome, and pushes the successor.
    fn take(&mut self, tid: Tid) -> Option<Outcome> {
        let top = self.frames.last_mut().expect("a state to take a move from");
        let &(mv, _, footprint) =
            top.moves
                .iter()
                .find(|(_, t, _)| *t == tid)
                .unwrap_or_else(|| {
                    panic!("DPOR backtracked to move {tid:#x}, which is not enabled there")
                });
        let sleep: Vec<(Tid, Footprint)> = top
            .sleep
            .iter()
            .filter(|(_, f)| f.independent(footprint))
            .copied()
            .collect();
        top.sleep.push((tid, footprint));
        let world = &self.frames.last().expect("the top state").world;
        let step = world.step(mv);
        let node_before = world.node_fingerprint(footprint.node);
        let history_before = world.history.len();
        let enabler = self.enabler(mv, step);
        let mut child = world.clone();
        let outcome = child.apply(&self.env, mv);
        self.stats.transitions += 1;
        let read_only = child.node_fingerprint(footprint.node) == node_before
            && child.history.len() == history_before;
        let reported = outcome.then(|| footprint.node.index() - child.replica_count());
        let event = Event {
            tid,
            footprint,
            read_only,
            enabler,
            before: Bits::default(),
            sends_end: child.sends(),
            reported,
            step,
        };
        let fp = child.fingerprint();
        self.record(event);
        if outcome && let Some(found) = self.judge_history(&child) {
            return Some(found);
        }
        if self.seen.insert(fp) {
            self.stats.states += 1;
        } else {
            self.stats.revisits += 1;
        }
        self.push(child, fp, sleep);
        None
    }

    /// The event that enabled `mv`: for a delivery, the one that sent the message; for
    /// an input, the one that reported the client's last outcome.
    fn enabler(&self, mv: Move, step: Step) -> Option<usize> {
        match (mv, step) {
            (Move::Deliver(_), Step::Deliver { send, .. }) => {
                if send < self.boot_sends {
                    return None;
                }
                let k = self.events.partition_point(|e| e.sends_end <= send);
                assert!(
                    k < self.events.len(),
                    "message {send} was sent by no event of the schedule"
                );
                Some(k)
            }
            (Move::Input(c), _) => self.events.iter().rposition(|e| e.reported == Some(c)),
            _ => unreachable!("DPOR takes only deliveries and inputs, not {mv:?}"),
        }
    }

    /// Appends `event` to the schedule with what happens before it, and adds to the
    /// backtrack sets what its races call for.
    fn record(&mut self, mut event: Event) {
        let j = self.events.len();
        if let Some(e) = event.enabler {
            event.before.insert(e);
            event.before.union(self.events[e].before);
        }
        // Going back from the latest event, an earlier dependent one not yet known to
        // happen before this one has nothing in between: a race.
        let mut races = Vec::new();
        for i in (0..j).rev() {
            if event.before.contains(i) || !self.events[i].dependent(&event) {
                continue;
            }
            event.before.insert(i);
            event.before.union(self.events[i].before);
            races.push(i);
        }
        for i in races {
            self.reverse(i, &event);
        }
        self.events.push(event);
    }

    /// The race between event `i` and `event` (which comes next): makes sure the state
    /// before `i` will take a first step of a schedule where `event` comes before `i`.
    fn reverse(&mut self, i: usize, event: &Event) {
        let j = self.events.len();
        let v = self.not_after(i);
        let initial = |before: Bits| !before.meets(v);
        let mut initials: Vec<Tid> = Vec::new();
        if initial(event.before) {
            initials.push(event.tid);
        }
        for k in i + 1..j {
            if v.contains(k) && initial(self.events[k].before) {
                initials.push(self.events[k].tid);
            }
        }
        assert!(
            !initials.is_empty(),
            "a race between events {i} and {j} with no first step to reverse it"
        );
        if initials
            .iter()
            .any(|t| self.frames[i].backtrack.contains(t))
        {
            return;
        }
        self.frames[i].backtrack.push(initials[0]);
    }

    /// The events after `i` that do not happen after it.
    fn not_after(&self, i: usize) -> Bits {
        let mut v = Bits::default();
        for k in i + 1..self.events.len() {
            if !self.events[k].before.contains(i) {
                v.insert(k);
            }
        }
        v
    }

    /// Asks the judge about `world`'s history; a violation comes back with the
    /// schedule taken.
    fn judge_history(&mut self, world: &World<R, C>) -> Option<Outcome> {
        let explanation = self.verdicts.violation(world, &mut self.stats)?;
        Some(Outcome::Violation {
            explanation,
            schedule: Schedule {
                steps: self.events.iter().map(|e| e.step).collect(),
            },
        })
    }
}
