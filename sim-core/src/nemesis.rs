//! Nemeses: fault plans generated from the seed, as data.
//!
//! A nemesis turns a seed and a [`Setup`] (replicas, clients, fault window, spell
//! length) into a [`Schedule`]: timed faults, plus the one kind of fault that must be
//! decided as the run goes — isolating whoever leads at that moment. Every fault strikes inside the window; at its end the schedule
//! heals everything (links, crashed and paused nodes, link configs, clock drift), so
//! that the run's final reads see a healed, quiet system. The faults actually applied
//! (with the leader resolved) are recorded as a plain [`FaultPlan`] that
//! `consim run --plan` replays.
//!
//! `swarm` follows Groce et al., "Swarm Testing" (ISSTA 2012): each seed enables a
//! random subset of the other nemeses, each with its own random intensity, because one
//! fixed mix of everything finds fewer bugs than many different partial mixes.

use serde::Serialize;

use crate::{
    Duration, Fault, FaultPlan, Latency, LinkConfig, NodeId, Partition, Probability, Purpose,
    SimRng, Time, TimedFault,
};

/// The nemeses, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Nemesis {
    /// No faults.
    None,
    /// The replicas split in two halves, again and again (a different split each time).
    PartitionHalves,
    /// One split for the whole fault window: a majority and a minority of ⌊(n−1)/2⌋
    /// replicas, with clients on both sides, each talking first to a replica on its
    /// own side: the partition of the CAP theorem.
    PartitionMajority,
    /// Each replica sees a majority, but no two majorities are the same (a ring: node
    /// i hears i-1, i+1, ...): the partition that breaks leader-based protocols which
    /// assume a majority view is a shared view.
    PartitionMajoritiesRing,
    /// Cuts off whoever leads at that moment from the other replicas (models expose
    /// their leader); clients still reach it, as in Jepsen, so a leader that does not
    /// know it was deposed keeps taking requests. When nobody leads (a leaderless
    /// store, or an election under way), it cuts off a replica the seed picked.
    IsolateLeader,
    /// Leaders cut off from the other replicas in quick succession, briefly each time:
    /// elections pile up orphaned entries of many terms (the raw material of the Raft
    /// paper's Figure 8). When nobody leads, a replica the seed picked.
    LeaderChurn,
    /// Whoever leads at that moment (when nobody does, a replica the seed picked)
    /// hears nobody while everyone hears it: the other replicas' messages to it are
    /// dropped, its own still arrive. Its heartbeats hold off an election that its
    /// deafness makes necessary (a leader that checks it still hears a quorum steps
    /// down; one that does not, stalls everyone).
    DeafLeader,
    /// Two halves joined by one bridge node that sees both.
    Bridge,
    /// Messages from some nodes to others are dropped, but not the replies.
    OneWay,
    /// Replicas crash and restart, losing volatile state and unsynced writes.
    CrashRestart,
    /// Replicas pause (a GC pause, SIGSTOP) and resume, losing nothing.
    Pause,
    /// Clocks jump and drift.
    ClockSkew,
    /// Loss, duplication and latency bursts on every link.
    FlakyNetwork,
    /// A random subset of the above per seed, each with a random intensity.
    Swarm,
    /// An overload trigger: one replica's service times multiplied by
    /// [`SLOWDOWN_FACTOR`] for one spell (see [`overload_spell`]); it matters only to
    /// replicas with a [`crate::Capacity`].
    Slowdown,
    /// An overload trigger: the open-loop arrival rate multiplied by [`SURGE_FACTOR`]
    /// for one spell (see [`overload_spell`]); it matters only to a workload with a
    /// rate.
    Surge,
}

/// How much slower the replica a `slowdown` picks works during the spell.
pub const SLOWDOWN_FACTOR: f64 = 4.0;
/// How much faster operations arrive during a `surge`.
pub const SURGE_FACTOR: f64 = 3.0;
/// How long an overload trigger's spell lasts unless `--spell-ms` says.
pub const OVERLOAD_SPELL: Duration = Duration::from_secs(3);
/// How much of the fault window an overload trigger leaves after its spell, at
/// least: the time in which to see whether the system recovers.
pub const RECOVERY_WINDOW: Duration = Duration::from_secs(10);

/// The spell of an overload trigger (`slowdown`, `surge`) in `setup`: from a quarter
/// of the way into the fault window, for `setup.spell` or [`OVERLOAD_SPELL`]. One
/// spell only, at a fixed place, so that goodput before, during and after it can be
/// compared; [`Setup::check`] refuses a window that leaves less than
/// [`RECOVERY_WINDOW`] after it.
///
/// ```
/// use sim_core::nemesis::{Setup, overload_spell};
/// use sim_core::{Duration, Time};
/// let (start, stop) = overload_spell(&Setup::new(1, 100, Duration::from_secs(20)));
/// assert_eq!((start, stop), (Time::ZERO + Duration::from_secs(5), Time::ZERO + Duration::from_secs(8)));
/// ```
pub fn overload_spell(setup: &Setup) -> (Time, Time) {
    let start = Time::ZERO + Duration::from_nanos(setup.window.as_nanos() / 4);
    (start, start + setup.spell.unwrap_or(OVERLOAD_SPELL))
}

impl Nemesis {
    /// Every nemesis, in the order `consim list` shows them.
    pub const ALL: [Nemesis; 14] = [
        Nemesis::None,
        Nemesis::PartitionHalves,
        Nemesis::PartitionMajority,
        Nemesis::PartitionMajoritiesRing,
        Nemesis::IsolateLeader,
        Nemesis::LeaderChurn,
        Nemesis::DeafLeader,
        Nemesis::Bridge,
        Nemesis::OneWay,
        Nemesis::CrashRestart,
        Nemesis::Pause,
        Nemesis::ClockSkew,
        Nemesis::FlakyNetwork,
        Nemesis::Swarm,
    ];

    /// The overload triggers: not in [`Nemesis::ALL`] (nor in the CAP matrix, nor in
    /// swarm unless asked for, [`SwarmWith`]), because they need a capacity or a rate
    /// to do anything, and a longer window to see the system recover.
    pub const OVERLOAD: [Nemesis; 2] = [Nemesis::Slowdown, Nemesis::Surge];

    /// The nemeses swarm picks from: all but `partition-majority`, which lasts the
    /// whole window and would leave the others nothing to do.
    const SWARM_PARTS: [Nemesis; 11] = [
        Nemesis::PartitionHalves,
        Nemesis::PartitionMajoritiesRing,
        Nemesis::IsolateLeader,
        Nemesis::LeaderChurn,
        Nemesis::DeafLeader,
        Nemesis::Bridge,
        Nemesis::OneWay,
        Nemesis::CrashRestart,
        Nemesis::Pause,
        Nemesis::ClockSkew,
        Nemesis::FlakyNetwork,
    ];

    /// The name `--scenario` takes.
    pub fn name(self) -> &'static str {
        match self {
            Nemesis::None => "none",
            Nemesis::PartitionHalves => "partition-halves",
            Nemesis::PartitionMajority => "partition-majority",
            Nemesis::PartitionMajoritiesRing => "partition-majorities-ring",
            Nemesis::IsolateLeader => "isolate-leader",
            Nemesis::LeaderChurn => "leader-churn",
            Nemesis::DeafLeader => "deaf-leader",
            Nemesis::Bridge => "bridge",
            Nemesis::OneWay => "one-way",
            Nemesis::CrashRestart => "crash-restart",
            Nemesis::Pause => "pause",
            Nemesis::ClockSkew => "clock-skew",
            Nemesis::FlakyNetwork => "flaky-network",
            Nemesis::Swarm => "swarm",
            Nemesis::Slowdown => "slowdown",
            Nemesis::Surge => "surge",
        }
    }

    /// One line on what it does.
    pub fn summary(self) -> &'static str {
        match self {
            Nemesis::None => "no faults",
            Nemesis::PartitionHalves => "the replicas split into two random halves, repeatedly",
            Nemesis::PartitionMajority => {
                "a majority and a minority, clients on both sides, for the whole fault window"
            }
            Nemesis::PartitionMajoritiesRing => {
                "every replica sees a majority, no two the same majority"
            }
            Nemesis::IsolateLeader => {
                "whoever leads (if nobody does, a replica) is cut off from the other replicas; clients still reach it"
            }
            Nemesis::LeaderChurn => {
                "leaders (if nobody leads, replicas) cut off in quick succession, briefly each time"
            }
            Nemesis::DeafLeader => {
                "whoever leads (if nobody does, a replica) hears no replica while they all hear it"
            }
            Nemesis::Bridge => "two halves joined by one node that sees both",
            Nemesis::OneWay => "some links drop messages in one direction only",
            Nemesis::CrashRestart => {
                "replicas crash (losing unsynced writes) and restart, up to half of them (rounded up) at once"
            }
            Nemesis::Pause => "replicas pause and resume, losing nothing",
            Nemesis::ClockSkew => "clocks jump by up to seconds and drift by up to 20%",
            Nemesis::FlakyNetwork => "bursts of loss, duplication and slow links",
            Nemesis::Swarm => "a random subset of the others per seed, random intensities",
            Nemesis::Slowdown => {
                "one replica's service times ×4 for one spell (3 s unless --spell-ms), at a quarter of the window"
            }
            Nemesis::Surge => {
                "operations arrive ×3 as fast for one spell (3 s unless --spell-ms), at a quarter of the window"
            }
        }
    }

    /// The nemesis called `name`.
    pub fn from_name(name: &str) -> Option<Nemesis> {
        Nemesis::ALL
            .into_iter()
            .chain(Nemesis::OVERLOAD)
            .find(|n| n.name() == name)
    }

    /// Every name (the overload triggers last), for error messages and `--help`.
    pub fn names() -> Vec<&'static str> {
        Nemesis::ALL
            .iter()
            .chain(&Nemesis::OVERLOAD)
            .map(|n| n.name())
            .collect()
    }

    /// Whether it is an overload trigger ([`Nemesis::OVERLOAD`]).
    pub fn is_overload(self) -> bool {
        Nemesis::OVERLOAD.contains(&self)
    }
}

/// A fault decided when it strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dynamic {
    /// Cut off the replica that leads at `at` (or, if none does, `fallback`) from the
    /// other replicas until `until`.
    IsolateLeader {
        /// When to look for the leader and cut it off.
        at: Time,
        /// When to heal that cut.
        until: Time,
        /// The replica cut off if nobody leads at `at`.
        fallback: NodeId,
        /// A client (by number) cut off along with the leader, as if it ran on the
        /// leader's host: it keeps talking to the deposed leader, and only to it.
        with_client: Option<usize>,
        /// Also set the leader's clock back by the isolation's length and slow it by
        /// this many ppm: a leader whose clock runs slow while it is cut off (what a
        /// lease that trusts its clock cannot survive).
        skew_ppm: Option<i64>,
    },
    /// Cut the replica that leads at `at` (or, if none does, `fallback`) off from
    /// hearing the other replicas until `until`; they still hear it.
    DeafLeader {
        /// When to look for the leader and deafen it.
        at: Time,
        /// When it hears again.
        until: Time,
        /// The replica deafened if nobody leads at `at`.
        fallback: NodeId,
    },
}

impl Dynamic {
    /// When it strikes.
    pub fn at(&self) -> Time {
        match *self {
            Dynamic::IsolateLeader { at, .. } | Dynamic::DeafLeader { at, .. } => at,
        }
    }

    /// The replica it strikes if nobody leads when it strikes.
    pub fn fallback(&self) -> NodeId {
        match *self {
            Dynamic::IsolateLeader { fallback, .. } | Dynamic::DeafLeader { fallback, .. } => {
                fallback
            }
        }
    }

    /// The faults it applies once the replica to isolate is known (`target`: the
    /// leader at `at`, or `fallback` if nobody led), in a run of `replicas` replicas
    /// and `clients` clients: the target cut off from the other replicas (and, with a
    /// client beside it, that client from everyone else) until `until`, and with
    /// `skew_ppm`, its clock set back by the isolation's length and slowed meanwhile.
    ///
    /// ```
    /// use sim_core::nemesis::Dynamic;
    /// use sim_core::{Fault, NodeId, Time, Duration};
    /// let isolate = Dynamic::IsolateLeader {
    ///     at: Time::ZERO,
    ///     until: Time::ZERO + Duration::from_millis(500),
    ///     fallback: NodeId(0),
    ///     with_client: None,
    ///     skew_ppm: None,
    /// };
    /// let faults = isolate.faults(NodeId(2), 3, 2);
    /// let Fault::Partition(cut) = &faults[0].fault else { panic!() };
    /// assert!(cut.cuts(NodeId(2), NodeId(0)) && !cut.cuts(NodeId(2), NodeId(3)));
    /// ```
    pub fn faults(&self, target: NodeId, replicas: usize, clients: usize) -> Vec<TimedFault> {
        let (at, until, with_client, skew_ppm) = match *self {
            Dynamic::IsolateLeader {
                at,
                until,
                with_client,
                skew_ppm,
                ..
            } => (at, until, with_client, skew_ppm),
            Dynamic::DeafLeader { at, until, .. } => {
                let others: Vec<NodeId> = (0..replicas as u32)
                    .map(NodeId)
                    .filter(|&id| id != target)
                    .collect();
                let deaf = Partition::one_way(&others, &[target]);
                return vec![
                    TimedFault {
                        at,
                        fault: Fault::Partition(deaf.clone()),
                    },
                    TimedFault {
                        at: until,
                        fault: Fault::Heal(deaf),
                    },
                ];
            }
        };
        let mut side = vec![target];
        if let Some(c) = with_client.filter(|&c| c < clients) {
            side.push(NodeId((replicas + c) as u32));
        }
        // The other replicas; with a client on the target's side, the other clients
        // too (that client talks only to the target).
        let rest: Vec<NodeId> = (0..(replicas + clients) as u32)
            .map(NodeId)
            .filter(|id| !side.contains(id))
            .filter(|id| with_client.is_some() || id.index() < replicas)
            .collect();
        let cut = Partition::halves(&side, &rest);
        let mut faults = vec![
            TimedFault {
                at,
                fault: Fault::Partition(cut.clone()),
            },
            TimedFault {
                at: until,
                fault: Fault::Heal(cut),
            },
        ];
        if let Some(drift_ppm) = skew_ppm {
            let back = until.saturating_since(at).as_nanos() as i64;
            let node = target;
            for (when, fault) in [
                (
                    at,
                    Fault::ClockJump {
                        node,
                        delta_ns: -back,
                    },
                ),
                (at, Fault::ClockDrift { node, drift_ppm }),
                (until, Fault::ClockDrift { node, drift_ppm: 0 }),
            ] {
                faults.push(TimedFault { at: when, fault });
            }
        }
        faults
    }
}

/// What a nemesis decided for one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schedule {
    /// Faults known in advance.
    pub plan: FaultPlan,
    /// Faults decided as the run goes, in time order.
    pub dynamic: Vec<Dynamic>,
    /// When everything is healed (no fault strikes after it).
    pub healed_at: Time,
}

/// The replica client `client` (0-based) talks to first, of `replicas`: the runner
/// spreads clients round the replicas, and `partition-majority` puts each client on
/// its home's side.
///
/// ```
/// assert_eq!(sim_core::nemesis::home(6, 5), 1);
/// ```
pub fn home(client: usize, replicas: usize) -> usize {
    client % replicas.max(1)
}

/// The random stream of the replicas isolated when nobody leads.
const FALLBACKS_STREAM: Purpose = Purpose::Custom(0x4641_4C4C);

/// How long faults last, at intensity 1, unless `--spell-ms` says.
pub const MIN_SPELL: Duration = Duration::from_millis(100);
/// The longest default spell.
pub const MAX_SPELL: Duration = Duration::from_millis(1_200);

/// The run a nemesis plans faults for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setup {
    /// Replicas (nodes `0..replicas`).
    pub replicas: usize,
    /// Clients (numbered after the replicas).
    pub clients: usize,
    /// Faults strike inside this window from the start.
    pub window: Duration,
    /// How long each spell of a nemesis that works in spells lasts (`None`: drawn
    /// between [`MIN_SPELL`] and [`MAX_SPELL`], scaled by swarm's intensity).
    pub spell: Option<Duration>,
    /// The overload triggers swarm may add to its mix (none unless asked for).
    pub swarm_with: SwarmWith,
}

/// The overload triggers swarm may add to a seed's mix, each with probability ½ and
/// its own intensity, drawn from a stream of their own: asking for them leaves the
/// seed's other faults as they were (`--swarm-with slowdown,surge`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SwarmWith {
    /// May add a `slowdown`.
    pub slowdown: bool,
    /// May add a `surge`.
    pub surge: bool,
}

impl SwarmWith {
    /// Whether any trigger is asked for.
    pub fn any(self) -> bool {
        self.slowdown || self.surge
    }
}

impl Setup {
    /// `replicas` and `clients` in a `window`, with the default spells.
    pub fn new(replicas: usize, clients: usize, window: Duration) -> Setup {
        Setup {
            replicas,
            clients,
            window,
            spell: None,
            swarm_with: SwarmWith::default(),
        }
    }

    /// Refuses a setup in which `nemesis` (or swarm with overload triggers) cannot
    /// show what it is for: an overload trigger needs [`RECOVERY_WINDOW`] of the
    /// window after its spell.
    ///
    /// ```
    /// use sim_core::nemesis::{Nemesis, Setup};
    /// use sim_core::Duration;
    /// assert!(Setup::new(1, 5, Duration::from_secs(4)).check(Nemesis::Slowdown).is_err());
    /// assert!(Setup::new(1, 5, Duration::from_secs(20)).check(Nemesis::Slowdown).is_ok());
    /// assert!(Setup::new(1, 5, Duration::from_secs(4)).check(Nemesis::Swarm).is_ok());
    /// ```
    pub fn check(&self, nemesis: Nemesis) -> Result<(), String> {
        if !(nemesis.is_overload() || (nemesis == Nemesis::Swarm && self.swarm_with.any())) {
            return Ok(());
        }
        let (start, stop) = overload_spell(self);
        let after = self.window.as_nanos().saturating_sub(stop.as_nanos());
        if after < RECOVERY_WINDOW.as_nanos() {
            return Err(format!(
                "an overload trigger's spell runs from {start} to {stop}, which leaves {} of the \
                 {} window after it; it needs at least {RECOVERY_WINDOW} to see the recovery \
                 (a longer --window-ms, or a shorter --spell-ms)",
                Duration::from_nanos(after),
                self.window
            ));
        }
        Ok(())
    }
}

/// Generates the schedule of `nemesis` for run `seed` in `setup`.
///
/// Partitions split clients too: each client lands on one side, as a client in one
/// data center does, so that a store that needs a majority is unavailable to the
/// clients cut off from one. Crashes, pauses and clock faults strike replicas only.
///
/// ```
/// use sim_core::nemesis::{Nemesis, Setup, generate};
/// use sim_core::Duration;
/// let setup = Setup::new(5, 3, Duration::from_secs(4));
/// let a = generate(Nemesis::Swarm, 9, &setup);
/// let b = generate(Nemesis::Swarm, 9, &setup);
/// assert_eq!(a, b);
/// assert!(a.plan.faults.iter().all(|f| f.at <= a.healed_at));
/// a.plan.validate(8)?;
/// # Ok::<(), sim_core::PlanError>(())
/// ```
pub fn generate(nemesis: Nemesis, seed: u64, setup: &Setup) -> Schedule {
    let (replicas, clients, window) = (setup.replicas, setup.clients, setup.window);
    let mut rng = SimRng::new(seed, Purpose::Faults);
    let mut fallbacks = SimRng::new(seed, FALLBACKS_STREAM);
    let mut overload_nodes = SimRng::new(seed, OVERLOAD_NODES_STREAM);
    let nodes: Vec<NodeId> = (0..replicas as u32).map(NodeId).collect();
    let client_ids: Vec<NodeId> = (replicas as u32..(replicas + clients) as u32)
        .map(NodeId)
        .collect();
    let end = Time::ZERO + window;
    let mut schedule = Schedule {
        healed_at: end,
        ..Schedule::default()
    };
    let parts: Vec<(Nemesis, f64)> = match nemesis {
        Nemesis::None => Vec::new(),
        Nemesis::Swarm => {
            let mut chosen = Vec::new();
            while chosen.is_empty() {
                for part in Nemesis::SWARM_PARTS {
                    if rng.below(2) == 0 {
                        // Intensity: how often, and how hard, in 0.25..=1.
                        chosen.push((part, 0.25 + 0.75 * rng.unit_f64()));
                    }
                }
            }
            chosen.extend(overloads(seed, setup.swarm_with));
            chosen
        }
        other => vec![(other, 1.0)],
    };
    let both = |a, b| parts.iter().any(|p| p.0 == a) && parts.iter().any(|p| p.0 == b);
    let skewed_isolations = both(Nemesis::IsolateLeader, Nemesis::ClockSkew);
    // The isolations isolate-leader adds (not leader-churn's, whose point is that
    // they are brief).
    let mut isolate_leader = 0..0;
    for &(part, intensity) in &parts {
        let first = schedule.dynamic.len();
        let mut plan = Plan {
            schedule: &mut schedule,
            rng: &mut rng,
            fallbacks: &mut fallbacks,
            overload_nodes: &mut overload_nodes,
            nodes: &nodes,
            clients: &client_ids,
            end,
            spell: setup.spell,
            overload: {
                let (start, stop) = overload_spell(setup);
                (start.min(end), stop.min(end))
            },
        };
        plan.add(part, intensity);
        if part == Nemesis::IsolateLeader {
            isolate_leader = first..schedule.dynamic.len();
        }
    }
    if skewed_isolations {
        skew(
            &mut schedule.dynamic[isolate_leader.clone()],
            &mut rng,
            clients,
            end,
        );
    }
    heal_everything(&mut schedule.plan, &nodes, end);
    schedule.plan.faults.sort_by_key(|f| f.at.as_nanos());
    schedule.dynamic.sort_by_key(|d| d.at().as_nanos());
    schedule
}

/// The random stream of the overload triggers swarm adds when asked.
const OVERLOAD_STREAM: Purpose = Purpose::Custom(0x4F56_4C44);
/// The random stream of the replicas slowdowns strike.
const OVERLOAD_NODES_STREAM: Purpose = Purpose::Custom(0x4F56_4E44);

/// The overload triggers swarm adds to seed `seed`'s mix, of those `with` allows:
/// each with probability ½ and an intensity in 0.25..=1, from their own stream.
fn overloads(seed: u64, with: SwarmWith) -> Vec<(Nemesis, f64)> {
    let mut rng = SimRng::new(seed, OVERLOAD_STREAM);
    let mut chosen = Vec::new();
    for (nemesis, asked) in [
        (Nemesis::Slowdown, with.slowdown),
        (Nemesis::Surge, with.surge),
    ] {
        let (pick, intensity) = (rng.below(2) == 0, 0.25 + 0.75 * rng.unit_f64());
        if asked && pick {
            chosen.push((nemesis, intensity));
        }
    }
    chosen
}

/// Swarm mixed leader isolation with clock skew: the `isolations`' leaders' clocks run
/// slow too, and each isolation lasts long enough for the others to elect a new
/// leader and write (ending by `end`), sometimes with one of the `clients` cut off
/// beside it; so the two faults meet where they hurt most.
fn skew(isolations: &mut [Dynamic], rng: &mut SimRng, clients: usize, end: Time) {
    for isolation in isolations {
        let Dynamic::IsolateLeader {
            until,
            with_client,
            skew_ppm,
            ..
        } = isolation
        else {
            unreachable!("isolate-leader adds isolations only");
        };
        *skew_ppm = Some(-(rng.between(100_000, 400_000) as i64));
        *until = (*until + Duration::from_millis(rng.between(500, 1_500))).min(end);
        if with_client.is_none() && clients > 0 && rng.below(2) == 0 {
            *with_client = Some(rng.below(clients as u64) as usize);
        }
    }
}

/// Spells of one nemesis: `(start, end)` pairs that do not overlap, inside `end`,
/// each `spell` long if that is set.
fn spells(
    rng: &mut SimRng,
    intensity: f64,
    end: Time,
    spell: Option<Duration>,
) -> Vec<(Time, Time)> {
    let mut out = Vec::new();
    let mut t = Time::ZERO + Duration::from_millis(rng.between(50, 400));
    let gap_max = (1_000.0 / intensity) as u64;
    loop {
        // Drawn even when `spell` overrides it, so the seed's other choices stay put.
        let drawn = Duration::from_nanos(rng.between(MIN_SPELL.as_nanos(), MAX_SPELL.as_nanos()));
        let length = spell
            .unwrap_or_else(|| Duration::from_nanos((drawn.as_nanos() as f64 * intensity) as u64));
        let stop = t + length;
        if stop >= end {
            break;
        }
        out.push((t, stop));
        t = stop + Duration::from_millis(rng.between(0, gap_max));
    }
    out
}

fn push(plan: &mut FaultPlan, at: Time, fault: Fault) {
    plan.faults.push(TimedFault { at, fault });
}

/// Cuts `partition` at `start` and heals it at `stop`.
fn cut_then_heal(plan: &mut FaultPlan, start: Time, stop: Time, partition: Partition) {
    push(plan, start, Fault::Partition(partition.clone()));
    push(plan, stop, Fault::Heal(partition));
}

/// One run's schedule being planned: each nemesis adds its faults with a method of
/// its own.
struct Plan<'a> {
    schedule: &'a mut Schedule,
    rng: &'a mut SimRng,
    /// The replicas isolated when nobody leads come from a stream of their own, so
    /// that drawing them moves none of the seed's other choices.
    fallbacks: &'a mut SimRng,
    /// The replica a slowdown strikes comes from a stream of its own too, so that
    /// adding one to swarm's mix moves none of the other faults.
    overload_nodes: &'a mut SimRng,
    nodes: &'a [NodeId],
    clients: &'a [NodeId],
    end: Time,
    spell: Option<Duration>,
    /// The spell of an overload trigger.
    overload: (Time, Time),
}

impl Plan<'_> {
    fn add(&mut self, nemesis: Nemesis, intensity: f64) {
        match nemesis {
            Nemesis::None | Nemesis::Swarm => {}
            Nemesis::Slowdown => self.slowdown(intensity),
            Nemesis::Surge => self.surge(intensity),
            Nemesis::PartitionHalves => self.partition_halves(intensity),
            Nemesis::PartitionMajority => self.partition_majority(),
            Nemesis::PartitionMajoritiesRing => self.majorities_ring(intensity),
            Nemesis::IsolateLeader => self.isolate_leader(intensity),
            Nemesis::LeaderChurn => self.leader_churn(intensity),
            Nemesis::DeafLeader => self.deaf_leader(intensity),
            Nemesis::Bridge => self.bridge(intensity),
            Nemesis::OneWay => self.one_way(intensity),
            Nemesis::CrashRestart => self.crash_restart(intensity),
            Nemesis::Pause => self.pause(intensity),
            Nemesis::ClockSkew => self.clock_skew(intensity),
            Nemesis::FlakyNetwork => self.flaky_network(intensity),
        }
    }

    fn spells(&mut self, intensity: f64) -> Vec<(Time, Time)> {
        spells(self.rng, intensity, self.end, self.spell)
    }

    fn shuffled_nodes(&mut self) -> Vec<NodeId> {
        let mut shuffled = self.nodes.to_vec();
        self.rng.shuffle(&mut shuffled);
        shuffled
    }

    fn random_node(&mut self) -> NodeId {
        self.nodes[self.rng.below(self.nodes.len() as u64) as usize]
    }

    /// The replica to isolate if nobody leads when an isolation strikes.
    fn fallback(&mut self) -> NodeId {
        self.nodes[self.fallbacks.below(self.nodes.len() as u64) as usize]
    }

    fn partition_halves(&mut self, intensity: f64) {
        let n = self.nodes.len();
        if n + self.clients.len() < 2 {
            return;
        }
        for (start, stop) in self.spells(intensity) {
            let shuffled = self.shuffled_nodes();
            // With one replica, the halves are its side and the clients cut off.
            let split = if n >= 2 {
                1 + self.rng.below(n as u64 - 1) as usize
            } else {
                n
            };
            let (a, b) = with_clients(
                self.rng,
                self.clients,
                &shuffled[..split],
                &shuffled[split..],
            );
            if a.is_empty() || b.is_empty() {
                continue;
            }
            cut_then_heal(
                &mut self.schedule.plan,
                start,
                stop,
                Partition::halves(&a, &b),
            );
        }
    }

    /// One split from the start to the end of the window: ⌊(n−1)/2⌋ replicas on the
    /// minority side, and each client on the side of its home replica ([`home`]), so
    /// that it talks first to a replica on its own side. The minority holds the home
    /// of at least one client and the majority of another, when the homes allow it.
    /// With one or two replicas the minority side has none: clients are split at
    /// random (at least one on each side, when there are two or more), and those on
    /// the minority side are cut off from every replica.
    fn partition_majority(&mut self) {
        let n = self.nodes.len();
        let clients = self.clients.len();
        let size = n.saturating_sub(1) / 2;
        let mut minority: Vec<NodeId> = Vec::new();
        let mut cut_off: Vec<NodeId> = Vec::new();
        if size == 0 {
            let mut order: Vec<NodeId> = self.clients.to_vec();
            self.rng.shuffle(&mut order);
            for (i, &c) in order.iter().enumerate() {
                let minority_side = if clients >= 2 && i < 2 {
                    i == 0
                } else {
                    self.rng.below(2) == 0
                };
                if minority_side {
                    cut_off.push(c);
                }
            }
        } else {
            minority = self.minority_replicas(size);
            cut_off = (0..clients)
                .filter(|&c| minority.contains(&NodeId(home(c, n) as u32)))
                .map(|c| self.clients[c])
                .collect();
        }
        let a: Vec<NodeId> = minority.iter().chain(&cut_off).copied().collect();
        let b: Vec<NodeId> = self
            .nodes
            .iter()
            .chain(self.clients)
            .copied()
            .filter(|x| !a.contains(x))
            .collect();
        if a.is_empty() || b.is_empty() {
            return;
        }
        cut_then_heal(
            &mut self.schedule.plan,
            Time::ZERO,
            self.end,
            Partition::halves(&a, &b),
        );
    }

    /// `size` replicas for the minority side: the home of one client drawn at random,
    /// then others, none of them the home of a second client drawn at random (when
    /// the clients have two homes or more).
    fn minority_replicas(&mut self, size: usize) -> Vec<NodeId> {
        let n = self.nodes.len();
        let mut homes: Vec<usize> = (0..self.clients.len()).map(|c| home(c, n)).collect();
        homes.sort_unstable();
        homes.dedup();
        let (inside, outside) = if homes.len() >= 2 {
            self.rng.shuffle(&mut homes);
            (Some(homes[0]), Some(homes[1]))
        } else {
            (None, None)
        };
        let mut rest: Vec<usize> = (0..n)
            .filter(|&r| Some(r) != inside && Some(r) != outside)
            .collect();
        self.rng.shuffle(&mut rest);
        inside
            .into_iter()
            .chain(rest)
            .take(size)
            .map(|r| self.nodes[r])
            .collect()
    }

    fn majorities_ring(&mut self, intensity: f64) {
        let n = self.nodes.len();
        if n < 3 {
            return;
        }
        for (start, stop) in self.spells(intensity) {
            let ring = self.shuffled_nodes();
            // Node at ring position i hears the majority of positions nearest it.
            let majority = n / 2 + 1;
            let mut cut = std::collections::BTreeSet::new();
            for (i, &a) in ring.iter().enumerate() {
                for (j, &b) in ring.iter().enumerate() {
                    let distance = (i + n - j) % n;
                    let distance = distance.min(n - distance);
                    if a != b && distance > (majority - 1) / 2 + (majority - 1) % 2 {
                        cut.insert((a, b));
                    }
                }
            }
            // Each client shares the view of one replica.
            for &c in self.clients {
                let twin = ring[self.rng.below(n as u64) as usize];
                for &x in &ring {
                    if x != twin && cut.contains(&(twin, x)) {
                        cut.insert((c, x));
                        cut.insert((x, c));
                    }
                }
            }
            cut_then_heal(&mut self.schedule.plan, start, stop, Partition { cut });
        }
    }

    fn isolate_leader(&mut self, intensity: f64) {
        for (start, stop) in self.spells(intensity) {
            let with_client = (!self.clients.is_empty() && self.rng.below(2) == 0)
                .then(|| self.rng.below(self.clients.len() as u64) as usize);
            let fallback = self.fallback();
            self.schedule.dynamic.push(Dynamic::IsolateLeader {
                at: start,
                until: stop,
                fallback,
                with_client,
                skew_ppm: None,
            });
        }
    }

    fn leader_churn(&mut self, intensity: f64) {
        let mut t = Time::ZERO + Duration::from_millis(self.rng.between(100, 300));
        let gap_max = (100.0 / intensity) as u64;
        loop {
            let stop = t + Duration::from_millis(self.rng.between(100, 400));
            if stop >= self.end {
                break;
            }
            let fallback = self.fallback();
            self.schedule.dynamic.push(Dynamic::IsolateLeader {
                at: t,
                until: stop,
                fallback,
                with_client: None,
                skew_ppm: None,
            });
            t = stop + Duration::from_millis(self.rng.between(0, gap_max));
        }
    }

    fn deaf_leader(&mut self, intensity: f64) {
        for (start, stop) in self.spells(intensity) {
            let fallback = self.fallback();
            self.schedule.dynamic.push(Dynamic::DeafLeader {
                at: start,
                until: stop,
                fallback,
            });
        }
    }

    fn bridge(&mut self, intensity: f64) {
        if self.nodes.len() < 3 {
            return;
        }
        for (start, stop) in self.spells(intensity) {
            let shuffled = self.shuffled_nodes();
            let bridge = shuffled[0];
            let rest = &shuffled[1..];
            let split = rest.len() / 2;
            let (a, b) = with_clients(self.rng, self.clients, &rest[..split], &rest[split..]);
            let p = Partition::bridge(&a, bridge, &b);
            cut_then_heal(&mut self.schedule.plan, start, stop, p);
        }
    }

    fn one_way(&mut self, intensity: f64) {
        let n = self.nodes.len();
        if n < 2 {
            return;
        }
        for (start, stop) in self.spells(intensity) {
            let shuffled = self.shuffled_nodes();
            let split = 1 + self.rng.below(n as u64 - 1) as usize;
            let p = Partition::one_way(&shuffled[..split], &shuffled[split..]);
            cut_then_heal(&mut self.schedule.plan, start, stop, p);
        }
    }

    fn crash_restart(&mut self, intensity: f64) {
        let n = self.nodes.len();
        for (start, stop) in self.spells(intensity) {
            // Up to half the replicas, rounded up (2 of 3, 3 of 5): sometimes a
            // majority, which stalls a quorum until they restart, and which is what
            // loses a write acknowledged before a majority synced it.
            let count = 1 + self.rng.below((n as u64).div_ceil(2).max(1)) as usize;
            let shuffled = self.shuffled_nodes();
            for &node in &shuffled[..count.min(n)] {
                push(&mut self.schedule.plan, start, Fault::Crash { node });
                push(&mut self.schedule.plan, stop, Fault::Restart { node });
            }
        }
    }

    /// One replica, from a stream of its own, works `1 + 3 × intensity` times slower
    /// (×[`SLOWDOWN_FACTOR`] at intensity 1) for the overload spell.
    fn slowdown(&mut self, intensity: f64) {
        let (start, stop) = self.overload;
        let node = self.nodes[self.overload_nodes.below(self.nodes.len() as u64) as usize];
        let factor = 1.0 + (SLOWDOWN_FACTOR - 1.0) * intensity;
        push(
            &mut self.schedule.plan,
            start,
            Fault::Slowdown { node, factor },
        );
        let factor = 1.0;
        push(
            &mut self.schedule.plan,
            stop,
            Fault::Slowdown { node, factor },
        );
    }

    /// Operations arrive `1 + 2 × intensity` times as fast (×[`SURGE_FACTOR`] at
    /// intensity 1) for the overload spell.
    fn surge(&mut self, intensity: f64) {
        let (start, stop) = self.overload;
        let factor = 1.0 + (SURGE_FACTOR - 1.0) * intensity;
        push(&mut self.schedule.plan, start, Fault::Surge { factor });
        push(&mut self.schedule.plan, stop, Fault::Surge { factor: 1.0 });
    }

    fn pause(&mut self, intensity: f64) {
        for (start, stop) in self.spells(intensity) {
            let node = self.random_node();
            push(&mut self.schedule.plan, start, Fault::Pause { node });
            push(&mut self.schedule.plan, stop, Fault::Resume { node });
        }
    }

    /// Clock faults are moments, not spells: `--spell-ms` does not apply.
    fn clock_skew(&mut self, intensity: f64) {
        for (start, _) in spells(self.rng, intensity, self.end, None) {
            let node = self.random_node();
            let fault = if self.rng.below(2) == 0 {
                let reach = (2_000_000_000.0 * intensity) as u64;
                let delta = self.rng.between(1_000_000, reach.max(1_000_001)) as i64;
                let delta_ns = if self.rng.below(2) == 0 {
                    delta
                } else {
                    -delta
                };
                Fault::ClockJump { node, delta_ns }
            } else {
                let reach = (200_000.0 * intensity) as u64;
                let drift = self.rng.between(1_000, reach.max(1_001)) as i64;
                let drift_ppm = if self.rng.below(2) == 0 {
                    drift
                } else {
                    -drift
                };
                Fault::ClockDrift { node, drift_ppm }
            };
            push(&mut self.schedule.plan, start, fault);
        }
    }

    fn flaky_network(&mut self, intensity: f64) {
        for (start, stop) in self.spells(intensity) {
            let loss = 0.05 + 0.3 * intensity * self.rng.unit_f64();
            let duplicate = 0.2 * intensity * self.rng.unit_f64();
            let slow = self.rng.below(2) == 0;
            let latency = if slow {
                Latency::Exponential {
                    min: Duration::from_millis(5),
                    mean: Duration::from_millis(60),
                    max: Duration::from_millis(400),
                }
            } else {
                LinkConfig::default().latency
            };
            let config = LinkConfig {
                latency,
                loss: Probability::new(loss).expect("loss is within 0..=0.35"),
                duplicate: Probability::new(duplicate).expect("duplication is within 0..=0.2"),
            };
            push(&mut self.schedule.plan, start, Fault::AllLinks(config));
            push(
                &mut self.schedule.plan,
                stop,
                Fault::AllLinks(LinkConfig::default()),
            );
        }
    }
}

/// Sides `a` and `b` of a partition, each client added to one of them at random.
fn with_clients(
    rng: &mut SimRng,
    clients: &[NodeId],
    a: &[NodeId],
    b: &[NodeId],
) -> (Vec<NodeId>, Vec<NodeId>) {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    for &c in clients {
        if rng.below(2) == 0 {
            a.push(c);
        } else {
            b.push(c);
        }
    }
    (a, b)
}

/// At `end`: heal every cut, restore links, restart crashed nodes, resume paused ones
/// and stop clock drift (offsets stay: a clock that jumped is not put back).
fn heal_everything(plan: &mut FaultPlan, nodes: &[NodeId], end: Time) {
    let mut crashed = std::collections::BTreeSet::new();
    let mut paused = std::collections::BTreeSet::new();
    let mut drifted = std::collections::BTreeSet::new();
    let mut links = false;
    let mut sorted = plan.faults.clone();
    sorted.sort_by_key(|f| f.at.as_nanos());
    for f in &sorted {
        match &f.fault {
            Fault::Crash { node } => {
                crashed.insert(*node);
            }
            Fault::Restart { node } => {
                crashed.remove(node);
            }
            Fault::Pause { node } => {
                paused.insert(*node);
            }
            Fault::Resume { node } => {
                paused.remove(node);
            }
            Fault::ClockDrift { node, .. } => {
                drifted.insert(*node);
            }
            Fault::AllLinks(_) | Fault::Link { .. } => links = true,
            _ => {}
        }
    }
    push(plan, end, Fault::HealAll);
    if links {
        push(plan, end, Fault::AllLinks(LinkConfig::default()));
    }
    for &node in nodes {
        if crashed.contains(&node) {
            push(plan, end, Fault::Restart { node });
        }
        if paused.contains(&node) {
            push(plan, end, Fault::Resume { node });
        }
        if drifted.contains(&node) {
            push(plan, end, Fault::ClockDrift { node, drift_ppm: 0 });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nemesis_makes_valid_plans_that_end_healed() {
        for nemesis in Nemesis::ALL {
            for seed in 0..50 {
                for replicas in [1, 2, 3, 5] {
                    let s = generate(
                        nemesis,
                        seed,
                        &Setup::new(replicas, 3, Duration::from_secs(4)),
                    );
                    s.plan.validate(replicas + 3).unwrap_or_else(|e| {
                        panic!("{} seed {seed} n={replicas}: {e}", nemesis.name())
                    });
                    let last = s.plan.faults.last().map(|f| f.at);
                    assert!(last.is_none_or(|t| t <= s.healed_at));
                    if nemesis != Nemesis::None {
                        assert!(
                            s.plan.faults.iter().any(|f| f.fault == Fault::HealAll),
                            "{}",
                            nemesis.name()
                        );
                    }
                }
            }
        }
    }

    /// The one partition of `partition-majority`: its sides, replicas and clients.
    fn majority_split(
        seed: u64,
        replicas: usize,
        clients: usize,
    ) -> Option<(Time, Time, Partition)> {
        let s = generate(
            Nemesis::PartitionMajority,
            seed,
            &Setup::new(replicas, clients, Duration::from_secs(4)),
        );
        let cuts: Vec<&TimedFault> = s
            .plan
            .faults
            .iter()
            .filter(|f| matches!(f.fault, Fault::Partition(_)))
            .collect();
        assert!(cuts.len() <= 1, "{:?}", s.plan);
        let cut = cuts.first()?;
        let Fault::Partition(p) = &cut.fault else {
            unreachable!()
        };
        let heal = s
            .plan
            .faults
            .iter()
            .find(|f| f.fault == Fault::Heal(p.clone()))
            .expect("healed");
        Some((cut.at, heal.at, p.clone()))
    }

    #[test]
    fn partition_majority_splits_once_with_clients_beside_their_homes() {
        for replicas in 1..=7 {
            for clients in 1..=6 {
                for seed in 0..30 {
                    let context = format!("n={replicas} clients={clients} seed {seed}");
                    let Some((start, end, p)) = majority_split(seed, replicas, clients) else {
                        // Nobody to cut off: one replica or two, and one client that
                        // landed beside them.
                        assert!(replicas <= 2 && clients == 1, "{context}: no partition");
                        continue;
                    };
                    assert_eq!(start, Time::ZERO, "{context}");
                    assert_eq!(end, Time::ZERO + Duration::from_secs(4), "{context}");
                    let ids = |from: usize, count: usize| -> Vec<NodeId> {
                        (from..from + count).map(|i| NodeId(i as u32)).collect()
                    };
                    let all = ids(0, replicas + clients);
                    // The side of node 0's... every node's side: the nodes it is not cut from.
                    let side = |x: NodeId| -> Vec<NodeId> {
                        all.iter().copied().filter(|&y| !p.cuts(x, y)).collect()
                    };
                    let sides: std::collections::BTreeSet<Vec<NodeId>> =
                        all.iter().map(|&x| side(x)).collect();
                    assert_eq!(sides.len(), 2, "{context}: {sides:?}");
                    let replica_count =
                        |s: &Vec<NodeId>| s.iter().filter(|x| x.index() < replicas).count();
                    let mut counts: Vec<usize> = sides.iter().map(replica_count).collect();
                    counts.sort_unstable();
                    assert_eq!(
                        counts,
                        vec![(replicas - 1) / 2, replicas - (replicas - 1) / 2],
                        "{context}"
                    );
                    for c in 0..clients {
                        let client = NodeId((replicas + c) as u32);
                        assert!(
                            side(client).iter().any(|x| x.index() >= replicas),
                            "{context}"
                        );
                        if replicas >= 3 {
                            let home = NodeId(home(c, replicas) as u32);
                            assert!(
                                !p.cuts(client, home) && !p.cuts(home, client),
                                "{context}: client {c}"
                            );
                        }
                    }
                    // Clients on both sides, when their homes (or their number) allow.
                    let distinct_homes = (0..clients)
                        .map(|c| home(c, replicas))
                        .collect::<std::collections::BTreeSet<_>>()
                        .len();
                    let both_possible = if replicas >= 3 {
                        distinct_homes >= 2
                    } else {
                        clients >= 2
                    };
                    if both_possible {
                        for s in &sides {
                            assert!(
                                s.iter().any(|x| x.index() >= replicas),
                                "{context}: a side without clients: {s:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn spell_ms_sets_every_spell_of_the_nemeses_that_work_in_spells() {
        for nemesis in [
            Nemesis::PartitionHalves,
            Nemesis::Bridge,
            Nemesis::OneWay,
            Nemesis::CrashRestart,
            Nemesis::Pause,
        ] {
            for seed in 0..20 {
                let setup = Setup {
                    spell: Some(Duration::from_millis(777)),
                    ..Setup::new(5, 3, Duration::from_secs(4))
                };
                let s = generate(nemesis, seed, &setup);
                let starts: Vec<&TimedFault> = s
                    .plan
                    .faults
                    .iter()
                    .filter(|f| {
                        matches!(
                            f.fault,
                            Fault::Partition(_) | Fault::Crash { .. } | Fault::Pause { .. }
                        )
                    })
                    .collect();
                assert!(!starts.is_empty(), "{} seed {seed}", nemesis.name());
                for start in starts {
                    let end = s
                        .plan
                        .faults
                        .iter()
                        .find(|f| match (&start.fault, &f.fault) {
                            (Fault::Partition(p), Fault::Heal(q)) => p == q && f.at > start.at,
                            (Fault::Crash { node }, Fault::Restart { node: m }) => {
                                node == m && f.at > start.at
                            }
                            (Fault::Pause { node }, Fault::Resume { node: m }) => {
                                node == m && f.at > start.at
                            }
                            _ => false,
                        })
                        .expect("each spell ends");
                    assert_eq!(
                        end.at.saturating_since(start.at),
                        Duration::from_millis(777),
                        "{} seed {seed}",
                        nemesis.name()
                    );
                }
            }
        }
    }

    #[test]
    fn isolate_leader_names_a_replica_for_when_nobody_leads() {
        for seed in 0..20 {
            let s = generate(
                Nemesis::IsolateLeader,
                seed,
                &Setup::new(3, 2, Duration::from_secs(4)),
            );
            assert!(!s.dynamic.is_empty());
            for d in &s.dynamic {
                assert!(d.fallback().index() < 3, "{d:?}");
            }
        }
    }

    #[test]
    fn majorities_ring_gives_every_node_a_majority_but_no_shared_one() {
        let nodes: Vec<NodeId> = (0..5).map(NodeId).collect();
        let s = generate(
            Nemesis::PartitionMajoritiesRing,
            3,
            &Setup::new(5, 0, Duration::from_secs(4)),
        );
        let Some(TimedFault {
            fault: Fault::Partition(p),
            ..
        }) = s.plan.faults.first()
        else {
            panic!("no partition: {:?}", s.plan);
        };
        let mut views = Vec::new();
        for &a in &nodes {
            let view: Vec<NodeId> = nodes
                .iter()
                .copied()
                .filter(|&b| a == b || !p.cuts(a, b))
                .collect();
            assert_eq!(view.len(), 3, "{a} sees {view:?}");
            views.push(view);
        }
        views.sort();
        views.dedup();
        assert_eq!(views.len(), 5, "every node has its own majority: {views:?}");
    }

    #[test]
    fn swarm_varies_its_mix_by_seed() {
        let kinds = |seed| {
            let s = generate(
                Nemesis::Swarm,
                seed,
                &Setup::new(5, 2, Duration::from_secs(4)),
            );
            let mut k: Vec<&'static str> = s
                .plan
                .faults
                .iter()
                .map(|f| match f.fault {
                    Fault::Crash { .. } | Fault::Restart { .. } => "crash",
                    Fault::Pause { .. } | Fault::Resume { .. } => "pause",
                    Fault::Partition(_) | Fault::Heal(_) | Fault::HealAll => "partition",
                    Fault::ClockJump { .. } | Fault::ClockDrift { .. } => "clock",
                    Fault::AllLinks(_) | Fault::Link { .. } => "links",
                    Fault::Slowdown { .. } => "slowdown",
                    Fault::Surge { .. } => "surge",
                })
                .collect();
            k.dedup();
            k.sort();
            k.dedup();
            k
        };
        let mixes: std::collections::BTreeSet<Vec<&str>> = (0..40).map(kinds).collect();
        assert!(mixes.len() > 5, "{mixes:?}");
    }

    #[test]
    fn overload_triggers_strike_once_at_a_quarter_of_the_window() {
        let setup = Setup::new(3, 10, Duration::from_secs(20));
        let at = |ms: u64| Time::ZERO + Duration::from_millis(ms);
        let slowdown = generate(Nemesis::Slowdown, 4, &setup);
        let slowed: Vec<(Time, f64)> = slowdown
            .plan
            .faults
            .iter()
            .filter_map(|f| match f.fault {
                Fault::Slowdown { factor, .. } => Some((f.at, factor)),
                _ => None,
            })
            .collect();
        assert_eq!(slowed, vec![(at(5_000), SLOWDOWN_FACTOR), (at(8_000), 1.0)]);
        let surge = generate(Nemesis::Surge, 4, &setup);
        let surged: Vec<(Time, f64)> = surge
            .plan
            .faults
            .iter()
            .filter_map(|f| match f.fault {
                Fault::Surge { factor } => Some((f.at, factor)),
                _ => None,
            })
            .collect();
        assert_eq!(surged, vec![(at(5_000), SURGE_FACTOR), (at(8_000), 1.0)]);
    }

    #[test]
    fn swarm_with_overload_triggers_keeps_every_other_fault() {
        let plain = Setup::new(5, 3, Duration::from_secs(20));
        let with = Setup {
            swarm_with: SwarmWith {
                slowdown: true,
                surge: true,
            },
            ..plain
        };
        let overload =
            |f: &TimedFault| matches!(f.fault, Fault::Slowdown { .. } | Fault::Surge { .. });
        let mut added = [0, 0];
        for seed in 0..40 {
            let a = generate(Nemesis::Swarm, seed, &plain);
            let b = generate(Nemesis::Swarm, seed, &with);
            let others: Vec<&TimedFault> = b.plan.faults.iter().filter(|f| !overload(f)).collect();
            assert_eq!(
                others,
                a.plan.faults.iter().collect::<Vec<_>>(),
                "seed {seed}"
            );
            assert_eq!(a.dynamic, b.dynamic);
            for f in b.plan.faults.iter().filter(|f| overload(f)) {
                match f.fault {
                    Fault::Slowdown { factor, .. } if factor != 1.0 => added[0] += 1,
                    Fault::Surge { factor } if factor != 1.0 => added[1] += 1,
                    _ => {}
                }
            }
        }
        // Each trigger joins about half the seeds' mixes.
        assert!(added.iter().all(|&n| (10..=30).contains(&n)), "{added:?}");
    }
}
