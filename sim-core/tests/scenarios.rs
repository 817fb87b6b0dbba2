//! Scripted runs, one named case per test, that read like a fault script.

use std::convert::Infallible;

use sim_core::{
    Clock, Ctx, Duration, Emitted, Fault, FaultPlan, Latency, LinkConfig, Node, NodeId, Partition,
    Probability, SchedulerConfig, Sim, Time,
};

use crate::probe::{Probe, ProbeConfig};

/// A node that does exactly what its inputs say and reports what happens to it.
#[derive(Debug)]
struct Scripted;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Cmd {
    Send(NodeId, u32),
    Write(u32),
    Sync,
    Timer(Duration, u32),
    ReadClock,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Booted(Vec<u32>),
    Got(NodeId, u32),
    Fired(u32),
    Clock(Time),
}

impl Node for Scripted {
    type Config = ();
    type Msg = u32;
    type Timer = u32;
    type Durable = Vec<u32>;
    type Input = Cmd;
    type Output = Seen;

    fn start(_: &(), ctx: &mut Ctx<'_, Self>) -> Self {
        ctx.output(Seen::Booted(ctx.durable().clone()));
        Scripted
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: u32) {
        ctx.output(Seen::Got(from, msg));
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, tag: u32) {
        ctx.output(Seen::Fired(tag));
    }
    fn on_input(&mut self, ctx: &mut Ctx<'_, Self>, cmd: Cmd) {
        match cmd {
            Cmd::Send(to, tag) => ctx.send(to, tag),
            Cmd::Write(v) => ctx.durable_mut().push(v),
            Cmd::Sync => ctx.sync(),
            Cmd::Timer(after, tag) => {
                ctx.set_timer(after, tag);
            }
            Cmd::ReadClock => ctx.output(Seen::Clock(ctx.now())),
        }
    }
}

fn ms(n: u64) -> Time {
    Time::ZERO + Duration::from_millis(n)
}

fn constant(latency_ms: u64) -> LinkConfig {
    LinkConfig {
        latency: Latency::constant(Duration::from_millis(latency_ms)),
        ..LinkConfig::default()
    }
}

fn three(plan: FaultPlan, link: LinkConfig) -> Sim<Scripted> {
    Sim::<Scripted>::builder(1)
        .replica(())
        .replica(())
        .replica(())
        .links(link)
        .plan(plan)
        .trace(true)
        .build()
        .unwrap()
}

fn seen(sim: &mut Sim<Scripted>, node: u32) -> Vec<(Time, Seen)> {
    sim.drain_replica_outputs()
        .filter(|e| e.node == NodeId(node))
        .map(|Emitted { time, output, .. }| (time, output))
        .filter(|(_, s)| !matches!(s, Seen::Booted(v) if v.is_empty()))
        .collect()
}

#[test]
fn partition_isolate_n2_symmetric_then_heal() {
    let all = [NodeId(0), NodeId(1), NodeId(2)];
    let cut = Partition::isolate(NodeId(2), &all);
    let mut plan = FaultPlan::default();
    plan.push(ms(10), Fault::Partition(cut.clone()));
    plan.push(ms(50), Fault::Heal(cut));
    let mut sim = three(plan, constant(5));
    sim.input_replica(NodeId(0), ms(20), Cmd::Send(NodeId(2), 1)); // during the cut
    sim.input_replica(NodeId(2), ms(20), Cmd::Send(NodeId(1), 2)); // during the cut
    sim.input_replica(NodeId(0), ms(20), Cmd::Send(NodeId(1), 3)); // inside the majority
    sim.input_replica(NodeId(0), ms(8), Cmd::Send(NodeId(2), 4)); // lands inside the cut
    sim.input_replica(NodeId(0), ms(60), Cmd::Send(NodeId(2), 5)); // after the heal
    sim.run_until(ms(100));
    assert!(!sim.link_is_cut(NodeId(0), NodeId(2)));
    let everything = sim.drain_replica_outputs().collect::<Vec<_>>();
    let got: Vec<(NodeId, Seen)> = everything
        .into_iter()
        .filter(|e| matches!(e.output, Seen::Got(..)))
        .map(|e| (e.node, e.output))
        .collect();
    assert_eq!(
        got,
        vec![
            (NodeId(1), Seen::Got(NodeId(0), 3)),
            (NodeId(2), Seen::Got(NodeId(0), 5)),
        ]
    );
    assert_eq!(sim.stats().dropped_cut, 3);
}

#[test]
fn partition_one_way_cuts_one_direction_only() {
    let mut plan = FaultPlan::default();
    plan.push(
        ms(0),
        Fault::Partition(Partition::one_way(&[NodeId(0)], &[NodeId(1)])),
    );
    let mut sim = three(plan, constant(5));
    sim.input_replica(NodeId(0), ms(1), Cmd::Send(NodeId(1), 1));
    sim.input_replica(NodeId(1), ms(1), Cmd::Send(NodeId(0), 2));
    sim.run_until(ms(20));
    assert_eq!(seen(&mut sim, 0), vec![(ms(6), Seen::Got(NodeId(1), 2))]);
}

#[test]
fn crash_restart_keeps_synced_writes_and_loses_the_rest() {
    let mut plan = FaultPlan::default();
    plan.push(ms(10), Fault::Crash { node: NodeId(1) });
    plan.push(ms(20), Fault::Restart { node: NodeId(1) });
    let mut sim = three(plan, constant(1));
    sim.input_replica(NodeId(1), ms(1), Cmd::Write(7));
    sim.input_replica(NodeId(1), ms(2), Cmd::Sync);
    sim.input_replica(NodeId(1), ms(3), Cmd::Write(8)); // never synced
    sim.run_until(ms(30));
    assert_eq!(seen(&mut sim, 1), vec![(ms(20), Seen::Booted(vec![7]))]);
}

#[test]
fn crash_stop_receives_nothing_and_its_timers_never_fire() {
    let mut plan = FaultPlan::default();
    plan.push(ms(10), Fault::Crash { node: NodeId(1) });
    let mut sim = three(plan, constant(5));
    sim.input_replica(NodeId(1), ms(1), Cmd::Timer(Duration::from_millis(15), 9));
    sim.input_replica(NodeId(1), ms(2), Cmd::Timer(Duration::from_millis(5), 8));
    sim.input_replica(NodeId(0), ms(8), Cmd::Send(NodeId(1), 1)); // arrives at 13ms
    sim.input_replica(NodeId(1), ms(12), Cmd::ReadClock); // input to a dead node
    sim.run_until(ms(100));
    assert_eq!(seen(&mut sim, 1), vec![(ms(7), Seen::Fired(8))]);
    assert_eq!(sim.stats().dropped_down, 2);
    assert!(!sim.is_up(NodeId(1)));
    assert!(sim.replica(NodeId(1)).is_none());
}

#[test]
fn timers_set_before_a_crash_do_not_fire_after_the_restart() {
    let mut plan = FaultPlan::default();
    plan.push(ms(10), Fault::Restart { node: NodeId(1) });
    let mut sim = three(plan, constant(5));
    sim.input_replica(NodeId(1), ms(1), Cmd::Timer(Duration::from_millis(50), 9));
    sim.input_replica(NodeId(1), ms(11), Cmd::Timer(Duration::from_millis(50), 10));
    sim.run_until(ms(100));
    assert_eq!(seen(&mut sim, 1), vec![(ms(61), Seen::Fired(10))]);
}

#[test]
fn pause_holds_events_and_resume_handles_them_in_arrival_order() {
    let mut plan = FaultPlan::default();
    plan.push(ms(10), Fault::Pause { node: NodeId(2) });
    plan.push(ms(40), Fault::Resume { node: NodeId(2) });
    let mut sim = three(plan, constant(5));
    sim.input_replica(NodeId(2), ms(1), Cmd::Timer(Duration::from_millis(20), 99)); // due at 21ms
    sim.input_replica(NodeId(0), ms(10), Cmd::Send(NodeId(2), 1)); // arrives 15ms
    sim.input_replica(NodeId(1), ms(12), Cmd::Send(NodeId(2), 2)); // arrives 17ms
    sim.input_replica(NodeId(0), ms(25), Cmd::Send(NodeId(2), 3)); // arrives 30ms
    sim.input_replica(NodeId(0), ms(45), Cmd::Send(NodeId(2), 4)); // arrives 50ms
    sim.run_until(ms(100));
    assert_eq!(
        seen(&mut sim, 2),
        vec![
            (ms(40), Seen::Got(NodeId(0), 1)),
            (ms(40), Seen::Got(NodeId(1), 2)),
            (ms(40), Seen::Fired(99)),
            (ms(40), Seen::Got(NodeId(0), 3)),
            (ms(50), Seen::Got(NodeId(0), 4)),
        ]
    );
}

#[test]
fn a_paused_node_that_crashes_forgets_what_was_held() {
    let mut plan = FaultPlan::default();
    plan.push(ms(10), Fault::Pause { node: NodeId(2) });
    plan.push(ms(20), Fault::Crash { node: NodeId(2) });
    plan.push(ms(30), Fault::Restart { node: NodeId(2) });
    plan.push(ms(31), Fault::Resume { node: NodeId(2) }); // moot: it is up, not paused
    let mut sim = three(plan, constant(5));
    sim.input_replica(NodeId(0), ms(10), Cmd::Send(NodeId(2), 1));
    sim.run_until(ms(100));
    assert_eq!(seen(&mut sim, 2), vec![]);
    assert!(sim.is_up(NodeId(2)));
}

#[test]
fn clock_offset_drift_and_jump() {
    let mut plan = FaultPlan::default();
    plan.push(
        ms(100),
        Fault::ClockJump {
            node: NodeId(0),
            delta_ns: -50_000_000,
        },
    );
    plan.push(
        ms(100),
        Fault::ClockDrift {
            node: NodeId(1),
            drift_ppm: 0,
        },
    );
    let mut sim = Sim::<Scripted>::builder(1)
        .replica(())
        .replica(())
        .clock(NodeId(0), Clock::new(1_000_000, 0))
        .clock(NodeId(1), Clock::new(0, 100_000)) // 10% fast
        .plan(plan)
        .build()
        .unwrap();
    for t in [50, 100, 150] {
        sim.input_replica(NodeId(0), ms(t), Cmd::ReadClock);
        sim.input_replica(NodeId(1), ms(t), Cmd::ReadClock);
    }
    sim.run_until(ms(200));
    let clocks = |sim: &mut Sim<Scripted>, n| -> Vec<Time> {
        seen(sim, n)
            .into_iter()
            .filter_map(|(_, s)| match s {
                Seen::Clock(t) => Some(t),
                _ => None,
            })
            .collect()
    };
    let outputs: Vec<_> = sim.drain_replica_outputs().collect();
    let pick = |n: u32| -> Vec<Time> {
        outputs
            .iter()
            .filter(|e| e.node == NodeId(n))
            .filter_map(|e| match e.output {
                Seen::Clock(t) => Some(t),
                _ => None,
            })
            .collect()
    };
    // The jump (at 100ms, before the read at 100ms) moves n0 back by 50ms.
    assert_eq!(pick(0), vec![ms(51), ms(51), ms(101)]);
    // n1 runs 10% fast until 100ms, then at true rate.
    assert_eq!(pick(1), vec![ms(55), ms(110), ms(160)]);
    assert!(clocks(&mut sim, 0).is_empty(), "already drained");
}

#[test]
fn a_fast_clock_fires_timers_early_in_true_time() {
    let mut sim = Sim::<Scripted>::builder(1)
        .replica(())
        .clock(NodeId(0), Clock::new(0, 250_000)) // 25% fast
        .build()
        .unwrap();
    sim.input_replica(NodeId(0), ms(0), Cmd::Timer(Duration::from_millis(100), 1));
    sim.run_until(ms(200));
    let fired: Vec<Time> = sim
        .drain_replica_outputs()
        .filter(|e| e.output == Seen::Fired(1))
        .map(|e| e.time)
        .collect();
    assert_eq!(fired, vec![ms(80)]);
}

#[test]
fn a_link_that_loses_everything_delivers_nothing() {
    let link = LinkConfig {
        loss: Probability::ONE,
        ..constant(1)
    };
    let mut sim = three(FaultPlan::default(), link);
    for i in 0..10 {
        sim.input_replica(NodeId(0), ms(i), Cmd::Send(NodeId(1), i as u32));
    }
    sim.run_until(ms(50));
    assert_eq!(sim.stats().lost, 10);
    assert_eq!(sim.stats().deliveries, 0);
}

#[test]
fn a_link_that_duplicates_everything_delivers_twice() {
    let link = LinkConfig {
        duplicate: Probability::ONE,
        ..constant(1)
    };
    let mut sim = three(FaultPlan::default(), link);
    for i in 0..10 {
        sim.input_replica(NodeId(0), ms(i), Cmd::Send(NodeId(1), i as u32));
    }
    sim.run_until(ms(50));
    assert_eq!(sim.stats().deliveries, 20);
    assert_eq!(sim.stats().duplicated, 10);
}

#[test]
fn a_loss_burst_ends_when_the_links_are_set_back() {
    let mut plan = FaultPlan::default();
    plan.push(
        ms(10),
        Fault::AllLinks(LinkConfig {
            loss: Probability::ONE,
            ..constant(1)
        }),
    );
    plan.push(ms(20), Fault::AllLinks(constant(1)));
    let mut sim = three(plan, constant(1));
    for i in 0..30 {
        sim.input_replica(
            NodeId(0),
            ms(i) + Duration::from_micros(500),
            Cmd::Send(NodeId(1), i as u32),
        );
    }
    sim.run_until(ms(50));
    assert_eq!(sim.stats().lost, 10);
    assert_eq!(sim.stats().deliveries, 20);
}

fn probes(seed: u64, scheduler: SchedulerConfig) -> Sim<Probe> {
    let mut builder = Sim::<Probe>::builder(seed).scheduler(scheduler);
    for _ in 0..5 {
        builder = builder.replica(ProbeConfig {
            processes: 5,
            relay: true,
        });
    }
    builder.build().unwrap()
}

/// If this fails, a change altered what a seed means: every recorded seed, plan and
/// regression replays differently. Change the pin only on purpose, and say so.
#[test]
fn pinned_trace_hash_for_seed_42() {
    let mut sim = probes(42, SchedulerConfig::Random);
    sim.run_until(ms(1_000));
    assert_eq!(
        (sim.stats().deliveries, sim.trace_hash()),
        (PINNED_DELIVERIES, PINNED_HASH),
        "the run of seed 42 changed"
    );
}
// Re-pinned when each link got its own random stream (`Purpose::Link`).
const PINNED_DELIVERIES: u64 = 246;
const PINNED_HASH: u64 = 11_583_608_172_909_394_290;

#[test]
fn pct_is_deterministic_and_schedules_differently_from_random() {
    let pct = SchedulerConfig::Pct {
        depth: 3,
        expected_sends: 200,
    };
    let run = |scheduler: SchedulerConfig| {
        let mut sim = probes(3, scheduler);
        sim.run_until(ms(1_000));
        sim.trace_hash()
    };
    assert_eq!(run(pct.clone()), run(pct.clone()));
    assert_ne!(run(pct), run(SchedulerConfig::Random));
}

#[test]
fn idle_clients_are_allowed_and_inputs_reach_clients() {
    // A simulation with probe replicas and probe clients: clients are processes too.
    let mut sim = Sim::<Probe, Probe>::with_clients(5)
        .replica(ProbeConfig {
            processes: 2,
            relay: false,
        })
        .client(ProbeConfig {
            processes: 2,
            relay: true,
        })
        .build()
        .unwrap();
    assert_eq!(sim.client_ids().collect::<Vec<_>>(), vec![NodeId(1)]);
    sim.input_client(NodeId(1), ms(1), 0);
    sim.run_until(ms(500));
    assert!(sim.client(NodeId(1)).is_some());
    let outputs: Vec<_> = sim.drain_client_outputs().collect();
    assert!(outputs.iter().all(|e| e.node == NodeId(1)));
    assert!(!outputs.is_empty());
    // The replica does not relay, so every message the client sends is delivered once.
    assert_eq!(sim.stats().deliveries, sim.stats().sends);
}

#[test]
fn bad_configurations_are_errors_not_panics() {
    assert!(Sim::<Scripted>::builder(1).build().is_err());
    let mut plan = FaultPlan::default();
    plan.push(ms(1), Fault::Crash { node: NodeId(9) });
    let err = Sim::<Scripted>::builder(1)
        .replica(())
        .plan(plan)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("n9 does not exist"), "{err}");
    let err = Sim::<Scripted>::builder(1)
        .replica(())
        .scheduler(SchedulerConfig::Pct {
            depth: 0,
            expected_sends: 1,
        })
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("depth"), "{err}");
}

#[allow(dead_code)]
fn _idle_is_a_valid_client_type(_: Sim<Scripted, sim_core::Idle<u32>>, _: Infallible) {}
