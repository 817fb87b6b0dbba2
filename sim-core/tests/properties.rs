//! Property tests: random networks, fault plans and schedulers, each run checked
//! against a reference model of what the kernel promises.

use std::collections::VecDeque;

use proptest::prelude::*;
use sim_core::{
    Duration, EventKind, Fault, FaultPlan, Latency, LinkConfig, NodeId, Partition, Probability,
    SchedulerConfig, Sim, Time, TraceEvent,
};

use crate::probe::{Disk, Out, Probe, ProbeConfig};

const PROCESSES: u32 = 4;
const HORIZON_MS: u64 = 2_000;

pub fn build(
    seed: u64,
    link: LinkConfig,
    plan: FaultPlan,
    scheduler: SchedulerConfig,
    trace: bool,
) -> Sim<Probe> {
    let mut builder = Sim::<Probe>::builder(seed)
        .links(link)
        .plan(plan)
        .scheduler(scheduler)
        .trace(trace);
    for _ in 0..PROCESSES {
        builder = builder.replica(ProbeConfig {
            processes: PROCESSES,
            relay: true,
        });
    }
    builder.build().expect("generated configurations are valid")
}

fn ms(n: u64) -> Time {
    Time::ZERO + Duration::from_millis(n)
}

fn node() -> impl Strategy<Value = NodeId> {
    (0..PROCESSES).prop_map(NodeId)
}

fn duration(max_ms: u64) -> impl Strategy<Value = Duration> {
    (0..max_ms * 1_000_000).prop_map(Duration::from_nanos)
}

fn latency() -> impl Strategy<Value = Latency> {
    prop_oneof![
        duration(30).prop_map(Latency::constant),
        (duration(30), duration(30)).prop_map(|(a, b)| Latency::Uniform {
            min: a.min(b),
            max: a.max(b),
        }),
        (duration(10), duration(20), duration(60)).prop_map(|(min, mean, max)| {
            Latency::Exponential {
                min,
                mean,
                max: max.max(min),
            }
        }),
        (duration(10), duration(20), 0.0..2.0f64, duration(60)).prop_map(
            |(min, median, sigma, max)| Latency::LogNormal {
                min,
                median,
                sigma,
                max: max.max(min),
            }
        ),
    ]
}

fn probability() -> impl Strategy<Value = Probability> {
    prop_oneof![
        2 => Just(Probability::ZERO),
        1 => (0.0..0.5f64).prop_map(|p| Probability::new(p).unwrap()),
    ]
}

pub fn link() -> impl Strategy<Value = LinkConfig> {
    (latency(), probability(), probability()).prop_map(|(latency, loss, duplicate)| LinkConfig {
        latency,
        loss,
        duplicate,
    })
}

fn partition() -> impl Strategy<Value = Partition> {
    prop_oneof![
        node().prop_map(|n| Partition::isolate(n, &(0..PROCESSES).map(NodeId).collect::<Vec<_>>())),
        proptest::collection::btree_set((node(), node()), 1..6).prop_map(|cut| Partition {
            cut: cut.into_iter().filter(|(s, t)| s != t).collect(),
        }),
    ]
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        node().prop_map(|node| Fault::Crash { node }),
        node().prop_map(|node| Fault::Restart { node }),
        node().prop_map(|node| Fault::Pause { node }),
        node().prop_map(|node| Fault::Resume { node }),
        partition().prop_map(Fault::Partition),
        partition().prop_map(Fault::Heal),
        Just(Fault::HealAll),
        (node(), -1_000_000_000i64..1_000_000_000)
            .prop_map(|(node, delta_ns)| Fault::ClockJump { node, delta_ns }),
        (node(), -500_000i64..=500_000)
            .prop_map(|(node, drift_ppm)| Fault::ClockDrift { node, drift_ppm }),
        link().prop_map(Fault::AllLinks),
        (node(), node(), link()).prop_map(|(source, target, config)| Fault::Link {
            source,
            target,
            config
        }),
    ]
}

/// A fault, or a fault and the one that undoes it a little later: partitions that
/// heal mid-flight, short crashes and pauses are where kernels go wrong.
fn episode() -> impl Strategy<Value = (u64, Vec<(u64, Fault)>)> {
    let pair = prop_oneof![
        partition().prop_map(|p| (Fault::Partition(p.clone()), Fault::Heal(p))),
        node().prop_map(|node| (Fault::Crash { node }, Fault::Restart { node })),
        node().prop_map(|node| (Fault::Pause { node }, Fault::Resume { node })),
    ];
    prop_oneof![
        (0..HORIZON_MS, fault()).prop_map(|(at, f)| (at, vec![(0, f)])),
        (0..HORIZON_MS, pair, 0u64..60)
            .prop_map(|(at, (start, end), span)| { (at, vec![(0, start), (span, end)]) }),
    ]
}

pub fn plan() -> impl Strategy<Value = FaultPlan> {
    // Times on a 1ms grid make same-instant collisions with sends likely, which is
    // where ordering bugs hide.
    proptest::collection::vec(episode(), 0..12).prop_map(|episodes| {
        let mut plan = FaultPlan::default();
        for (at, faults) in episodes {
            for (offset, fault) in faults {
                plan.push(ms(at + offset), fault);
            }
        }
        plan
    })
}

fn scheduler() -> impl Strategy<Value = SchedulerConfig> {
    prop_oneof![
        3 => Just(SchedulerConfig::Random),
        1 => (1u32..4, 1u64..500).prop_map(|(depth, expected_sends)| SchedulerConfig::Pct {
            depth,
            expected_sends
        }),
    ]
}

/// What the reference model knows of one process.
#[derive(Default)]
struct Process {
    up: bool,
    paused: bool,
    restarting: bool,
    /// Events held during a pause: `(peer, sent)`, in arrival order.
    held: VecDeque<(Option<NodeId>, Option<Time>)>,
    resumed_at: Option<Time>,
    last_local: Option<Time>,
    last_synced: Disk,
}

/// Per-link history of configs, to know the bounds in force when a message was sent.
struct Links {
    changes: Vec<Vec<(Time, LinkConfig)>>,
    cut: Vec<u32>,
    last_cut: Vec<Option<Time>>,
}

impl Links {
    fn new(initial: LinkConfig) -> Links {
        let n = (PROCESSES * PROCESSES) as usize;
        Links {
            changes: vec![vec![(Time::ZERO, initial)]; n],
            cut: vec![0; n],
            last_cut: vec![None; n],
        }
    }

    fn slot(s: NodeId, t: NodeId) -> usize {
        s.index() * PROCESSES as usize + t.index()
    }

    /// The configs that may have applied to a send at `sent`: the last one changed
    /// before it and any changed at that very instant.
    fn candidates(&self, s: NodeId, t: NodeId, sent: Time) -> Vec<LinkConfig> {
        let changes = &self.changes[Self::slot(s, t)];
        let before = changes
            .iter()
            .rev()
            .find(|(at, _)| *at < sent)
            .or(changes.first());
        let mut out: Vec<LinkConfig> = before.map(|(_, c)| *c).into_iter().collect();
        out.extend(
            changes
                .iter()
                .filter(|(at, _)| *at == sent)
                .map(|(_, c)| *c),
        );
        out
    }

    fn passes(&self, s: NodeId, t: NodeId, sent: Time) -> bool {
        let slot = Self::slot(s, t);
        self.cut[slot] == 0 && self.last_cut[slot].is_none_or(|c| c < sent)
    }
}

/// Walks a traced run beside its sorted fault plan and checks every promise of the
/// kernel. Returns the first broken promise.
pub fn check_run(
    link: LinkConfig,
    plan: &FaultPlan,
    trace: &[TraceEvent],
    outputs: &[(NodeId, Out)],
) -> Result<(), String> {
    let mut faults = plan.faults.clone();
    faults.sort_by_key(|f| f.at); // stable: same-instant faults keep plan order
    let mut walk = Walk {
        faults: faults.into_iter(),
        outputs: outputs.iter(),
        procs: (0..PROCESSES).map(|_| Process::default()).collect(),
        links: Links::new(link),
    };
    for (i, ev) in trace.iter().enumerate() {
        walk.event(ev)
            .map_err(|e| format!("event #{i} {ev}: {e}"))?;
    }
    Ok(())
}

/// What the kernel's promises say about the run so far: the faults still to come,
/// the outputs still to see, each process and each link.
struct Walk<'a> {
    faults: std::vec::IntoIter<sim_core::TimedFault>,
    outputs: std::slice::Iter<'a, (NodeId, Out)>,
    procs: Vec<Process>,
    links: Links,
}

impl Walk<'_> {
    /// Checks one event of the trace against the promises, and takes it in.
    fn event(&mut self, ev: &TraceEvent) -> Result<(), String> {
        match ev.kind {
            EventKind::Fault => {
                let fault = self.faults.next().ok_or("more faults than planned")?;
                if fault.at != ev.time {
                    return Err(format!("planned for {}", fault.at));
                }
                apply(&mut self.procs, &mut self.links, ev.time, &fault.fault);
            }
            EventKind::Start => {
                let p = &mut self.procs[ev.node.unwrap().index()];
                if p.up && !p.restarting {
                    return Err("booted while up".into());
                }
                *p = Process {
                    up: true,
                    last_local: p.last_local,
                    last_synced: p.last_synced.clone(),
                    ..Process::default()
                };
            }
            EventKind::Deliver | EventKind::Timer | EventKind::Input => self.dispatch(ev)?,
            EventKind::Hold => {
                let p = &mut self.procs[ev.node.unwrap().index()];
                if !p.up || !p.paused {
                    return Err("held for a node that is not paused".into());
                }
                p.held.push_back((ev.peer, ev.sent));
                if ev.peer.is_some() {
                    check_flight(&self.links, ev, true)?;
                }
            }
            EventKind::DropCut | EventKind::DropDown | EventKind::DropLoss => self.dropped(ev)?,
            EventKind::Queue | EventKind::DropOverload | EventKind::Shed => {
                return Err("queued or overflowed, but no node here has a capacity".into());
            }
            EventKind::Output => {
                let (from, out) = self.outputs.next().ok_or("output missing")?;
                if Some(*from) != ev.node {
                    return Err(format!("output is from {from}"));
                }
                check_output(&mut self.procs[from.index()], out)?;
            }
        }
        Ok(())
    }

    /// A delivery, timer or input handed to a node: it is up and not paused, and what
    /// it held while paused comes first.
    fn dispatch(&mut self, ev: &TraceEvent) -> Result<(), String> {
        let p = &mut self.procs[ev.node.unwrap().index()];
        if !p.up || p.paused {
            return Err("dispatched to a node that is down or paused".into());
        }
        if let Some(front) = p.held.pop_front() {
            if front != (ev.peer, ev.sent) || Some(ev.time) != p.resumed_at {
                return Err(format!("held {front:?} should come first"));
            }
        } else if ev.kind == EventKind::Deliver {
            check_flight(&self.links, ev, true)?;
        }
        Ok(())
    }

    /// A dropped message: dropped for the reason the kernel gives.
    fn dropped(&self, ev: &TraceEvent) -> Result<(), String> {
        let node = ev.node.unwrap();
        match ev.kind {
            EventKind::DropCut if self.links.passes(ev.peer.unwrap(), node, ev.sent.unwrap()) => {
                Err("dropped, but the link was never cut".into())
            }
            EventKind::DropDown if self.procs[node.index()].up => {
                Err("dropped as down, but the node is up".into())
            }
            EventKind::DropLoss
                if self
                    .links
                    .candidates(ev.peer.unwrap(), node, ev.time)
                    .iter()
                    .all(|c| c.loss.get() == 0.0) =>
            {
                Err("lost on a link that loses nothing".into())
            }
            _ => Ok(()),
        }
    }
}

fn check_flight(links: &Links, ev: &TraceEvent, upper: bool) -> Result<(), String> {
    let (s, t, sent) = (ev.peer.unwrap(), ev.node.unwrap(), ev.sent.unwrap());
    if !links.passes(s, t, sent) {
        return Err("crossed a link that was cut during its flight".into());
    }
    let flight = ev.time - sent;
    let candidates = links.candidates(s, t, sent);
    let min = candidates.iter().map(|c| c.latency.min()).min().unwrap();
    let max = candidates.iter().map(|c| c.latency.max()).max().unwrap();
    if flight < min {
        return Err(format!("flew {flight}, under the minimum {min}"));
    }
    if upper && flight > max {
        return Err(format!("flew {flight}, over the maximum {max}"));
    }
    Ok(())
}

fn check_output(p: &mut Process, out: &Out) -> Result<(), String> {
    match out {
        Out::Booted(disk) if *disk != p.last_synced => Err(format!(
            "booted with {disk:?}, but the last sync before the crash left {:?}",
            p.last_synced
        )),
        Out::Booted(_) | Out::Got { .. } => Ok(()),
        Out::Synced(disk) => {
            p.last_synced = disk.clone();
            Ok(())
        }
        Out::Tick(local) => {
            if let Some(last) = p.last_local {
                if *local < last {
                    return Err(format!(
                        "clock went back from {last} to {local} without a jump"
                    ));
                }
            }
            p.last_local = Some(*local);
            Ok(())
        }
        Out::StaleTimer { .. } | Out::CancelledFired => Err(format!("{out:?}")),
    }
}

fn apply(procs: &mut [Process], links: &mut Links, now: Time, fault: &Fault) {
    let crash = |p: &mut Process| {
        p.up = false;
        p.paused = false;
        p.held.clear();
    };
    match fault {
        Fault::Crash { node } => crash(&mut procs[node.index()]),
        Fault::Restart { node } => {
            let p = &mut procs[node.index()];
            crash(p);
            p.restarting = true;
        }
        Fault::Pause { node } => {
            let p = &mut procs[node.index()];
            p.paused = p.up;
        }
        Fault::Resume { node } => {
            let p = &mut procs[node.index()];
            if p.paused {
                p.paused = false;
                p.resumed_at = Some(now);
            }
        }
        Fault::Partition(part) => {
            for &(s, t) in &part.cut {
                let slot = Links::slot(s, t);
                links.cut[slot] += 1;
                links.last_cut[slot] = Some(now);
            }
        }
        Fault::Heal(part) => {
            for &(s, t) in &part.cut {
                let slot = Links::slot(s, t);
                links.cut[slot] = links.cut[slot].saturating_sub(1);
            }
        }
        Fault::HealAll => links.cut.iter_mut().for_each(|c| *c = 0),
        Fault::ClockJump { node, .. } => procs[node.index()].last_local = None,
        Fault::ClockDrift { .. } | Fault::Slowdown { .. } | Fault::Surge { .. } => {}
        Fault::AllLinks(config) => links
            .changes
            .iter_mut()
            .for_each(|c| c.push((now, *config))),
        Fault::Link {
            source,
            target,
            config,
        } => links.changes[Links::slot(*source, *target)].push((now, *config)),
    }
}

pub fn run_checked(
    seed: u64,
    link: LinkConfig,
    plan: FaultPlan,
    scheduler: SchedulerConfig,
) -> (Sim<Probe>, Result<(), String>) {
    let mut sim = build(seed, link, plan.clone(), scheduler, true);
    sim.run_until(ms(HORIZON_MS + 500));
    let outputs: Vec<(NodeId, Out)> = sim
        .drain_replica_outputs()
        .map(|e| (e.node, e.output))
        .collect();
    let verdict = check_run(link, &plan, sim.trace().unwrap(), &outputs);
    (sim, verdict)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Cut links, minimum latency, crashes, durability, pauses and clocks, all at once.
    #[test]
    fn every_run_keeps_the_kernel_promises(
        seed: u64,
        link in link(),
        plan in plan(),
        scheduler in scheduler(),
    ) {
        let (sim, verdict) = run_checked(seed, link, plan, scheduler);
        prop_assert!(verdict.is_ok(), "{}", verdict.unwrap_err());
        prop_assert!(sim.stats().events > 0);
    }

    /// The trace hash depends on nothing but the seed and the configuration, and
    /// turning the full trace on does not change the run.
    #[test]
    fn same_seed_same_hash_whether_traced_or_not(
        seed: u64,
        link in link(),
        plan in plan(),
        scheduler in scheduler(),
    ) {
        let mut a = build(seed, link, plan.clone(), scheduler.clone(), false);
        let mut b = build(seed, link, plan, scheduler, true);
        a.run_until(ms(HORIZON_MS));
        b.run_until(ms(HORIZON_MS));
        prop_assert_eq!(a.trace_hash(), b.trace_hash());
        prop_assert_eq!(a.stats(), b.stats());
    }

    /// Two traced runs of one seed are identical event by event, payloads included.
    #[test]
    fn same_seed_identical_trace(seed: u64, link in link(), plan in plan()) {
        let run = || {
            let mut sim = build(seed, link, plan.clone(), SchedulerConfig::Random, true);
            sim.run_until(ms(HORIZON_MS));
            (sim.trace().unwrap().to_vec(), sim.trace_hash())
        };
        let (a, b) = (run(), run());
        prop_assert!(!a.0.is_empty());
        prop_assert_eq!(a, b);
    }

    /// An observer sees every message sent and every message delivered, the deliveries
    /// exactly as the trace lists them, and does not change the run.
    #[test]
    fn an_observer_sees_every_message_and_changes_nothing(
        seed: u64,
        link in link(),
        plan in plan(),
        scheduler in scheduler(),
    ) {
        use std::cell::RefCell;
        use std::rc::Rc;
        use sim_core::Observation;
        type Seen = Vec<(Observation, Time, NodeId, NodeId)>;
        let seen: Rc<RefCell<Seen>> = Rc::default();
        let log = Rc::clone(&seen);
        let mut builder = Sim::<Probe>::builder(seed)
            .links(link)
            .plan(plan.clone())
            .scheduler(scheduler.clone())
            .trace(true)
            .observer(move |o| log.borrow_mut().push((o.kind, o.time, o.source, o.target)));
        for _ in 0..PROCESSES {
            builder = builder.replica(ProbeConfig { processes: PROCESSES, relay: true });
        }
        let mut observed = builder.build().unwrap();
        let mut plain = build(seed, link, plan, scheduler, false);
        observed.run_until(ms(HORIZON_MS));
        plain.run_until(ms(HORIZON_MS));
        prop_assert_eq!(observed.trace_hash(), plain.trace_hash());
        let seen = seen.borrow();
        let sent = seen.iter().filter(|o| o.0 == Observation::Sent).count() as u64;
        prop_assert_eq!(sent, plain.stats().sends);
        let delivered: Vec<(Time, NodeId, NodeId)> = seen
            .iter()
            .filter(|o| o.0 == Observation::Delivered)
            .map(|o| (o.1, o.2, o.3))
            .collect();
        let traced: Vec<(Time, NodeId, NodeId)> = observed
            .trace()
            .unwrap()
            .iter()
            .filter(|e| e.kind == EventKind::Deliver)
            .map(|e| (e.time, e.peer.unwrap(), e.node.unwrap()))
            .collect();
        prop_assert_eq!(delivered.len() as u64, plain.stats().deliveries);
        prop_assert_eq!(delivered, traced);
    }

    #[test]
    fn different_seeds_different_hashes(a: u64, b: u64) {
        prop_assume!(a != b);
        let run = |seed| {
            let mut sim = build(seed, LinkConfig::default(), FaultPlan::default(), SchedulerConfig::Random, false);
            sim.run_until(ms(500));
            sim.trace_hash()
        };
        prop_assert_ne!(run(a), run(b));
    }

    /// A recorded decision log replays the same run even when the links would now
    /// decide differently.
    #[test]
    fn a_decision_log_replays_the_run(seed: u64, link in link(), other in link(), plan in plan()) {
        let mut builder = Sim::<Probe>::builder(seed).links(link).plan(plan.clone()).record_decisions(true);
        for _ in 0..PROCESSES {
            builder = builder.replica(ProbeConfig { processes: PROCESSES, relay: true });
        }
        let mut original = builder.build().unwrap();
        original.run_until(ms(HORIZON_MS));
        let log = original.decision_log().unwrap().clone();
        prop_assert_eq!(log.decisions.len() as u64, original.stats().sends);

        // Same links in the plan's link faults, but a different starting config: every
        // send before the first link fault would be decided differently by the links.
        let mut replay = build(seed, other, plan, SchedulerConfig::Replay(log), false);
        replay.run_until(ms(HORIZON_MS));
        prop_assert_eq!(replay.stats().replay_exhausted_at, None);
        prop_assert_eq!(replay.trace_hash(), original.trace_hash());
    }
}
