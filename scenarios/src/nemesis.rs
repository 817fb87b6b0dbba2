//! Nemeses: fault plans generated from the seed, as data.
//!
//! A nemesis turns `(seed, replicas, window)` into a [`Schedule`]: timed faults, plus
//! the one kind of fault that must be decided as the run goes — isolating whoever
//! leads at that moment. Every fault strikes inside the window; at its end the schedule
//! heals everything (links, crashed and paused nodes, link configs, clock drift), so
//! that the run's final reads see a healed, quiet system. The faults actually applied
//! (with the leader resolved) are recorded as a plain [`FaultPlan`] that
//! `consim run --plan` replays.
//!
//! `swarm` follows Groce et al., "Swarm Testing" (ISSTA 2012): each seed enables a
//! random subset of the other nemeses, each with its own random intensity, because one
//! fixed mix of everything finds fewer bugs than many different partial mixes.

use serde::Serialize;
use sim_core::{
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
    /// Each replica sees a majority, but no two majorities are the same (a ring: node
    /// i hears i-1, i+1, ...): the partition that breaks leader-based protocols which
    /// assume a majority view is a shared view.
    PartitionMajoritiesRing,
    /// Cuts off whoever leads at that moment from the other replicas (models expose
    /// their leader); clients still reach it, as in Jepsen, so a leader that does not
    /// know it was deposed keeps taking requests.
    IsolateLeader,
    /// Leaders cut off from the other replicas in quick succession, briefly each time:
    /// elections pile up orphaned entries of many terms (the raw material of the Raft
    /// paper's Figure 8).
    LeaderChurn,
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
}

impl Nemesis {
    /// Every nemesis, in the order `consim list` shows them.
    pub const ALL: [Nemesis; 12] = [
        Nemesis::None,
        Nemesis::PartitionHalves,
        Nemesis::PartitionMajoritiesRing,
        Nemesis::IsolateLeader,
        Nemesis::LeaderChurn,
        Nemesis::Bridge,
        Nemesis::OneWay,
        Nemesis::CrashRestart,
        Nemesis::Pause,
        Nemesis::ClockSkew,
        Nemesis::FlakyNetwork,
        Nemesis::Swarm,
    ];

    /// The nemeses swarm picks from.
    const SWARM_PARTS: [Nemesis; 10] = [
        Nemesis::PartitionHalves,
        Nemesis::PartitionMajoritiesRing,
        Nemesis::IsolateLeader,
        Nemesis::LeaderChurn,
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
            Nemesis::PartitionMajoritiesRing => "partition-majorities-ring",
            Nemesis::IsolateLeader => "isolate-leader",
            Nemesis::LeaderChurn => "leader-churn",
            Nemesis::Bridge => "bridge",
            Nemesis::OneWay => "one-way",
            Nemesis::CrashRestart => "crash-restart",
            Nemesis::Pause => "pause",
            Nemesis::ClockSkew => "clock-skew",
            Nemesis::FlakyNetwork => "flaky-network",
            Nemesis::Swarm => "swarm",
        }
    }

    /// One line on what it does.
    pub fn summary(self) -> &'static str {
        match self {
            Nemesis::None => "no faults",
            Nemesis::PartitionHalves => "the replicas split into two random halves, repeatedly",
            Nemesis::PartitionMajoritiesRing => {
                "every replica sees a majority, no two the same majority"
            }
            Nemesis::IsolateLeader => {
                "whoever leads is cut off from the other replicas (its clients still reach it)"
            }
            Nemesis::LeaderChurn => "leaders cut off in quick succession, briefly each time",
            Nemesis::Bridge => "two halves joined by one node that sees both",
            Nemesis::OneWay => "some links drop messages in one direction only",
            Nemesis::CrashRestart => "replicas crash (losing unsynced writes) and restart",
            Nemesis::Pause => "replicas pause and resume, losing nothing",
            Nemesis::ClockSkew => "clocks jump by up to seconds and drift by up to 20%",
            Nemesis::FlakyNetwork => "bursts of loss, duplication and slow links",
            Nemesis::Swarm => "a random subset of the others per seed, random intensities",
        }
    }

    /// The nemesis called `name`.
    pub fn from_name(name: &str) -> Option<Nemesis> {
        Nemesis::ALL.into_iter().find(|n| n.name() == name)
    }

    /// Every name, for error messages and `--help`.
    pub fn names() -> Vec<&'static str> {
        Nemesis::ALL.iter().map(|n| n.name()).collect()
    }
}

/// A fault decided when it strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dynamic {
    /// Cut off the replica that leads at `at` (if any does) from the other replicas
    /// until `until`.
    IsolateLeader {
        /// When to look for the leader and cut it off.
        at: Time,
        /// When to heal that cut.
        until: Time,
        /// A client (by number) cut off along with the leader, as if it ran on the
        /// leader's host: it keeps talking to the deposed leader, and only to it.
        with_client: Option<usize>,
        /// Also set the leader's clock back by the isolation's length and slow it by
        /// this many ppm: a leader whose clock runs slow while it is cut off (what a
        /// lease that trusts its clock cannot survive).
        skew_ppm: Option<i64>,
    },
}

impl Dynamic {
    /// When it strikes.
    pub fn at(&self) -> Time {
        match *self {
            Dynamic::IsolateLeader { at, .. } => at,
        }
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

/// How long faults last, at intensity 1.
const MIN_SPELL: Duration = Duration::from_millis(100);
const MAX_SPELL: Duration = Duration::from_millis(1_200);

/// Generates the schedule of `nemesis` for run `seed` with `replicas` replicas and
/// `clients` clients (numbered after the replicas), its faults inside `window` from
/// the start.
///
/// Partitions split clients too: each client lands on one side, as a client in one
/// data center does, so that a store that needs a majority is unavailable to the
/// clients cut off from one. Crashes, pauses and clock faults strike replicas only.
///
/// ```
/// use scenarios::nemesis::{Nemesis, generate};
/// use sim_core::Duration;
/// let a = generate(Nemesis::Swarm, 9, 5, 3, Duration::from_secs(4));
/// let b = generate(Nemesis::Swarm, 9, 5, 3, Duration::from_secs(4));
/// assert_eq!(a, b);
/// assert!(a.plan.faults.iter().all(|f| f.at <= a.healed_at));
/// a.plan.validate(8)?;
/// # Ok::<(), sim_core::PlanError>(())
/// ```
pub fn generate(
    nemesis: Nemesis,
    seed: u64,
    replicas: usize,
    clients: usize,
    window: Duration,
) -> Schedule {
    let mut rng = SimRng::new(seed, Purpose::Faults);
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
            chosen
        }
        other => vec![(other, 1.0)],
    };
    let both = |a, b| parts.iter().any(|p| p.0 == a) && parts.iter().any(|p| p.0 == b);
    let skewed_isolations = both(Nemesis::IsolateLeader, Nemesis::ClockSkew)
        || both(Nemesis::LeaderChurn, Nemesis::ClockSkew);
    for &(part, intensity) in &parts {
        add(
            &mut schedule,
            part,
            intensity,
            &mut rng,
            &nodes,
            &client_ids,
            end,
        );
    }
    if skewed_isolations {
        // Swarm mixed leader isolation with clock skew: let some isolated leaders'
        // clocks run slow too, so the two faults meet where they hurt most.
        for dynamic in &mut schedule.dynamic {
            let Dynamic::IsolateLeader {
                until,
                with_client,
                skew_ppm,
                ..
            } = dynamic;
            *skew_ppm = Some(-(rng.between(100_000, 400_000) as i64));
            // Long enough for the others to elect a new leader and write.
            *until = (*until + Duration::from_millis(rng.between(500, 1_500))).min(end);
            if with_client.is_none() && clients > 0 && rng.below(2) == 0 {
                *with_client = Some(rng.below(clients as u64) as usize);
            }
        }
    }
    heal_everything(&mut schedule.plan, &nodes, end);
    schedule.plan.faults.sort_by_key(|f| f.at.as_nanos());
    schedule.dynamic.sort_by_key(|d| d.at().as_nanos());
    schedule
}

/// Spells of one nemesis: `(start, end)` pairs that do not overlap, inside `end`.
fn spells(rng: &mut SimRng, intensity: f64, end: Time) -> Vec<(Time, Time)> {
    let mut out = Vec::new();
    let mut t = Time::ZERO + Duration::from_millis(rng.between(50, 400));
    let gap_max = (1_000.0 / intensity) as u64;
    loop {
        let length = Duration::from_nanos(rng.between(MIN_SPELL.as_nanos(), MAX_SPELL.as_nanos()));
        let stop = t + Duration::from_nanos((length.as_nanos() as f64 * intensity) as u64);
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

fn add(
    schedule: &mut Schedule,
    nemesis: Nemesis,
    intensity: f64,
    rng: &mut SimRng,
    nodes: &[NodeId],
    clients: &[NodeId],
    end: Time,
) {
    let n = nodes.len();
    let plan = &mut schedule.plan;
    match nemesis {
        Nemesis::None | Nemesis::Swarm => {}
        Nemesis::PartitionHalves => {
            if n + clients.len() < 2 {
                return;
            }
            for (start, stop) in spells(rng, intensity, end) {
                let mut shuffled = nodes.to_vec();
                rng.shuffle(&mut shuffled);
                // With one replica, the halves are its side and the clients cut off.
                let split = if n >= 2 {
                    1 + rng.below(n as u64 - 1) as usize
                } else {
                    n
                };
                let (a, b) = with_clients(rng, clients, &shuffled[..split], &shuffled[split..]);
                if a.is_empty() || b.is_empty() {
                    continue;
                }
                let p = Partition::halves(&a, &b);
                cut_then_heal(plan, start, stop, p);
            }
        }
        Nemesis::PartitionMajoritiesRing => {
            if n < 3 {
                return;
            }
            for (start, stop) in spells(rng, intensity, end) {
                let mut ring = nodes.to_vec();
                rng.shuffle(&mut ring);
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
                for &c in clients {
                    let twin = ring[rng.below(n as u64) as usize];
                    for &x in &ring {
                        if x != twin && cut.contains(&(twin, x)) {
                            cut.insert((c, x));
                            cut.insert((x, c));
                        }
                    }
                }
                let p = Partition { cut };
                cut_then_heal(plan, start, stop, p);
            }
        }
        Nemesis::IsolateLeader => {
            for (start, stop) in spells(rng, intensity, end) {
                let with_client = (!clients.is_empty() && rng.below(2) == 0)
                    .then(|| rng.below(clients.len() as u64) as usize);
                schedule.dynamic.push(Dynamic::IsolateLeader {
                    at: start,
                    until: stop,
                    with_client,
                    skew_ppm: None,
                });
            }
        }
        Nemesis::LeaderChurn => {
            let mut t = Time::ZERO + Duration::from_millis(rng.between(100, 300));
            let gap_max = (100.0 / intensity) as u64;
            loop {
                let stop = t + Duration::from_millis(rng.between(100, 400));
                if stop >= end {
                    break;
                }
                schedule.dynamic.push(Dynamic::IsolateLeader {
                    at: t,
                    until: stop,
                    with_client: None,
                    skew_ppm: None,
                });
                t = stop + Duration::from_millis(rng.between(0, gap_max));
            }
        }
        Nemesis::Bridge => {
            if n < 3 {
                return;
            }
            for (start, stop) in spells(rng, intensity, end) {
                let mut shuffled = nodes.to_vec();
                rng.shuffle(&mut shuffled);
                let bridge = shuffled[0];
                let rest = &shuffled[1..];
                let split = rest.len() / 2;
                let (a, b) = with_clients(rng, clients, &rest[..split], &rest[split..]);
                let p = Partition::bridge(&a, bridge, &b);
                cut_then_heal(plan, start, stop, p);
            }
        }
        Nemesis::OneWay => {
            if n < 2 {
                return;
            }
            for (start, stop) in spells(rng, intensity, end) {
                let mut shuffled = nodes.to_vec();
                rng.shuffle(&mut shuffled);
                let split = 1 + rng.below(n as u64 - 1) as usize;
                let p = Partition::one_way(&shuffled[..split], &shuffled[split..]);
                cut_then_heal(plan, start, stop, p);
            }
        }
        Nemesis::CrashRestart => {
            for (start, stop) in spells(rng, intensity, end) {
                // A minority at a time, so that quorum protocols can go on.
                let count = 1 + rng.below((n as u64).div_ceil(2).max(1)) as usize;
                let mut shuffled = nodes.to_vec();
                rng.shuffle(&mut shuffled);
                for &node in &shuffled[..count.min(n)] {
                    push(plan, start, Fault::Crash { node });
                    push(plan, stop, Fault::Restart { node });
                }
            }
        }
        Nemesis::Pause => {
            for (start, stop) in spells(rng, intensity, end) {
                let node = nodes[rng.below(n as u64) as usize];
                push(plan, start, Fault::Pause { node });
                push(plan, stop, Fault::Resume { node });
            }
        }
        Nemesis::ClockSkew => {
            for (start, _) in spells(rng, intensity, end) {
                let node = nodes[rng.below(n as u64) as usize];
                if rng.below(2) == 0 {
                    let reach = (2_000_000_000.0 * intensity) as u64;
                    let delta = rng.between(1_000_000, reach.max(1_000_001)) as i64;
                    let delta = if rng.below(2) == 0 { delta } else { -delta };
                    push(
                        plan,
                        start,
                        Fault::ClockJump {
                            node,
                            delta_ns: delta,
                        },
                    );
                } else {
                    let reach = (200_000.0 * intensity) as u64;
                    let drift = rng.between(1_000, reach.max(1_001)) as i64;
                    let drift = if rng.below(2) == 0 { drift } else { -drift };
                    push(
                        plan,
                        start,
                        Fault::ClockDrift {
                            node,
                            drift_ppm: drift,
                        },
                    );
                }
            }
        }
        Nemesis::FlakyNetwork => {
            for (start, stop) in spells(rng, intensity, end) {
                let loss = 0.05 + 0.3 * intensity * rng.unit_f64();
                let duplicate = 0.2 * intensity * rng.unit_f64();
                let slow = rng.below(2) == 0;
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
                push(plan, start, Fault::AllLinks(config));
                push(plan, stop, Fault::AllLinks(LinkConfig::default()));
            }
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
                    let s = generate(nemesis, seed, replicas, 3, Duration::from_secs(4));
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

    #[test]
    fn majorities_ring_gives_every_node_a_majority_but_no_shared_one() {
        let nodes: Vec<NodeId> = (0..5).map(NodeId).collect();
        let s = generate(
            Nemesis::PartitionMajoritiesRing,
            3,
            5,
            0,
            Duration::from_secs(4),
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
            let s = generate(Nemesis::Swarm, seed, 5, 2, Duration::from_secs(4));
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
}
