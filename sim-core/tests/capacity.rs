//! Work and capacity: exact timings of a server with a capacity, on a network whose
//! every message takes 1 ms, worked out by hand for each case.

use sim_core::{
    BuildError, Capacity, Ctx, Duration, Fault, FaultPlan, Latency, LinkConfig, Node, NodeId, Sim,
    Time,
};

#[derive(Clone, Debug)]
enum Msg {
    Req(u32),
    Resp(u32),
    Busy(u32),
    Tick,
}

#[derive(Clone, Copy, Debug, Default)]
struct Cfg {
    /// Answer a full queue with `Busy`.
    refuse: bool,
    /// Declare this much work per request instead of drawing it.
    declared: Option<Duration>,
    /// n1 only: a timer after this long whose handler declares this much work and
    /// tells n0.
    tick: Option<(Duration, Duration)>,
}

/// n0 sends the requests it is given to n1; n1 answers each; n0 reports the answers.
#[derive(Debug)]
struct Peer(Cfg);

impl Node for Peer {
    type Config = Cfg;
    type Msg = Msg;
    type Timer = Duration;
    type Durable = ();
    type Input = Vec<u32>;
    type Output = (char, u32);

    fn start(config: &Cfg, ctx: &mut Ctx<'_, Self>) -> Self {
        if let (Some((after, work)), NodeId(1)) = (config.tick, ctx.id()) {
            ctx.set_timer(after, work);
        }
        Peer(*config)
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, work: Duration) {
        ctx.work(work);
        ctx.send(NodeId(0), Msg::Tick);
    }

    fn on_input(&mut self, ctx: &mut Ctx<'_, Self>, ids: Vec<u32>) {
        for id in ids {
            ctx.send(NodeId(1), Msg::Req(id));
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Req(id) => {
                if let Some(work) = self.0.declared {
                    ctx.work(work);
                }
                ctx.send(from, Msg::Resp(id));
            }
            Msg::Resp(id) => ctx.output(('r', id)),
            Msg::Busy(id) => ctx.output(('b', id)),
            Msg::Tick => ctx.output(('t', 0)),
        }
    }

    /// Requests numbered from 100 are worth doing for 25 ms after they reach the
    /// queue.
    fn deadline(msg: &Msg) -> Option<Duration> {
        matches!(msg, Msg::Req(id) if *id >= 100).then_some(ms(25))
    }

    /// Odd requests are of class 1, the rest of class 0.
    fn class(msg: &Msg) -> usize {
        match msg {
            Msg::Req(id) => (*id % 2) as usize,
            _ => 0,
        }
    }

    fn refusal(&self, _from: NodeId, msg: &Msg) -> Option<Msg> {
        match (self.0.refuse, msg) {
            (true, Msg::Req(id)) => Some(Msg::Busy(*id)),
            _ => None,
        }
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn at(n: u64) -> Time {
    Time::ZERO + ms(n)
}

fn capacity(service_ms: u64, queue_bound: u32) -> Capacity {
    Capacity {
        service: Latency::constant(ms(service_ms)),
        queue_bound,
        shed: false,
        bulkheads: 1,
    }
}

/// Runs n0 and n1 (n1 with `capacity`), gives n0 `ids` at time 0 and `later` at 20 ms,
/// and returns every answer n0 got, with the millisecond it arrived, and the sim.
fn run(
    cfg: Cfg,
    capacity: Capacity,
    plan: FaultPlan,
    ids: Vec<u32>,
    later: Vec<u32>,
) -> (Vec<(u64, char, u32)>, Sim<Peer>) {
    let mut sim = Sim::<Peer>::builder(1)
        .replica(cfg)
        .replica(cfg)
        .links(LinkConfig {
            latency: Latency::constant(ms(1)),
            ..LinkConfig::default()
        })
        .capacity(NodeId(1), capacity)
        .plan(plan)
        .build()
        .unwrap();
    sim.input_replica(NodeId(0), Time::ZERO, ids);
    sim.input_replica(NodeId(0), at(20), later);
    sim.run_until(at(1_000));
    let answers = sim
        .drain_replica_outputs()
        .map(|e| (e.time.as_nanos() / 1_000_000, e.output.0, e.output.1))
        .collect();
    (answers, sim)
}

#[test]
fn requests_wait_their_turn_and_answers_leave_when_the_work_is_done() {
    let (answers, sim) = run(
        Cfg::default(),
        capacity(10, 100),
        FaultPlan::default(),
        vec![0, 1, 2, 3, 4],
        vec![],
    );
    // All five arrive at 1 ms; each takes 10 ms; each answer takes 1 ms back.
    let expected: Vec<(u64, char, u32)> =
        (0..5).map(|i| (12 + 10 * u64::from(i), 'r', i)).collect();
    assert_eq!(answers, expected);
    assert_eq!(sim.stats().queued, 4);
    assert_eq!(sim.longest_queue(NodeId(1)), 4);
    assert_eq!(sim.queue_len(NodeId(1)), 0);
    // n0 has no capacity: its five sends cost nothing.
    assert_eq!(sim.longest_queue(NodeId(0)), 0);
}

#[test]
fn a_node_that_sheds_load_drops_unserved_what_waited_past_its_deadline() {
    let ids = vec![100, 101, 102, 103, 104];
    let shedding = Capacity {
        shed: true,
        ..capacity(10, 100)
    };
    let (answers, sim) = run(
        Cfg::default(),
        shedding,
        FaultPlan::default(),
        ids.clone(),
        vec![],
    );
    // All arrive at 1 ms. 100 starts at once; 101 and 102 waited 10 and 20 ms, within
    // their 25; 103 and 104 would have waited 30 ms: dropped, costing nothing.
    assert_eq!(
        answers,
        vec![(12, 'r', 100), (22, 'r', 101), (32, 'r', 102)]
    );
    assert_eq!((sim.stats().shed, sim.stats().queued), (2, 4));
    // Without shedding, deadlines change nothing; nor does shedding for requests
    // without one.
    let (answers, sim) = run(
        Cfg::default(),
        capacity(10, 100),
        FaultPlan::default(),
        ids,
        vec![],
    );
    let all: Vec<u64> = answers.iter().map(|a| a.0).collect();
    assert_eq!((all, sim.stats().shed), (vec![12, 22, 32, 42, 52], 0));
    let shedding = Capacity {
        shed: true,
        ..capacity(10, 100)
    };
    let (answers, _) = run(
        Cfg::default(),
        shedding,
        FaultPlan::default(),
        vec![0, 1, 2, 3, 4],
        vec![],
    );
    assert_eq!(answers.len(), 5);
}

#[test]
fn what_a_pause_held_is_shed_by_how_long_it_has_waited_since_it_arrived() {
    let shedding = Capacity {
        shed: true,
        ..capacity(10, 100)
    };
    let mut plan = FaultPlan::default();
    plan.push(Time::ZERO, Fault::Pause { node: NodeId(1) });
    plan.push(at(100), Fault::Resume { node: NodeId(1) });
    let ids = vec![100, 101, 102, 0];
    let (answers, sim) = run(Cfg::default(), shedding, plan, ids, vec![]);
    // Held from 1 ms to 100 ms: 99 ms of waiting is past the 25 ms of each deadline,
    // the first one's included; request 0 has none and is served.
    assert_eq!(answers, vec![(111, 'r', 0)]);
    assert_eq!(sim.stats().shed, 3);
}

#[test]
fn what_a_pause_held_past_its_deadline_takes_no_place_in_a_busy_nodes_queue() {
    let shedding = Capacity {
        shed: true,
        ..capacity(50, 2)
    };
    // 0 starts at 1 ms (and would end at 51); paused from 10 ms to 60 ms, the node
    // holds 100 and 101 (25 ms deadlines) and 1 and 2 (none), arrived at 21 ms.
    let mut plan = FaultPlan::default();
    plan.push(at(10), Fault::Pause { node: NodeId(1) });
    plan.push(at(60), Fault::Resume { node: NodeId(1) });
    let (answers, sim) = run(
        Cfg::default(),
        shedding,
        plan,
        vec![0],
        vec![100, 101, 1, 2],
    );
    // On resume 100 and 101 have waited 39 ms: shed at once, so 1 and 2 fit in the
    // queue of two behind 0 (whose work, paused for 50 ms, ends at 101 ms).
    assert_eq!(answers, vec![(102, 'r', 0), (152, 'r', 1), (202, 'r', 2)]);
    assert_eq!((sim.stats().shed, sim.stats().dropped_overload), (2, 0));
}

#[test]
fn a_shed_message_does_not_use_up_its_classs_turn() {
    let both = Capacity {
        shed: true,
        bulkheads: 2,
        ..capacity(30, 10)
    };
    // 0 starts at 1 ms; then class 0 holds 100 (25 ms deadline) and 2, class 1 holds
    // 1 and 3. At 31 ms 100 is shed, and class 0's turn goes to 2.
    let (answers, sim) = run(
        Cfg::default(),
        both,
        FaultPlan::default(),
        vec![0, 100, 2, 1, 3],
        vec![],
    );
    assert_eq!(
        answers,
        vec![(32, 'r', 0), (62, 'r', 2), (92, 'r', 1), (122, 'r', 3)]
    );
    assert_eq!(sim.stats().shed, 1);
}

#[test]
fn bulkheads_keep_a_flood_of_one_class_from_starving_another() {
    // Four even requests (class 0), then one odd (class 1), all at 1 ms.
    let ids = vec![0, 2, 4, 6, 1];
    let (answers, sim) = run(
        Cfg::default(),
        capacity(10, 2),
        FaultPlan::default(),
        ids.clone(),
        vec![],
    );
    // One queue of two: 0 starts, 2 and 4 wait, 6 and the odd 1 are dropped.
    assert_eq!(answers, vec![(12, 'r', 0), (22, 'r', 2), (32, 'r', 4)]);
    assert_eq!(sim.stats().dropped_overload, 2);
    let bulkheads = Capacity {
        bulkheads: 2,
        ..capacity(10, 2)
    };
    let (answers, sim) = run(Cfg::default(), bulkheads, FaultPlan::default(), ids, vec![]);
    // A queue of two per class: only 6 overflows, and the classes take turns.
    assert_eq!(
        answers,
        vec![(12, 'r', 0), (22, 'r', 2), (32, 'r', 1), (42, 'r', 4)]
    );
    assert_eq!(sim.stats().dropped_overload, 1);
    assert_eq!(sim.longest_queue(NodeId(1)), 3);
}

#[test]
fn a_capacity_needs_a_queue() {
    let none = Capacity {
        bulkheads: 0,
        ..capacity(10, 2)
    };
    assert!(none.validate().unwrap_err().contains("bulkheads"));
}

#[test]
fn a_full_queue_drops_or_refuses() {
    let (answers, sim) = run(
        Cfg::default(),
        capacity(10, 2),
        FaultPlan::default(),
        vec![0, 1, 2, 3, 4],
        vec![],
    );
    // One in service, two waiting, two dropped.
    assert_eq!(answers, vec![(12, 'r', 0), (22, 'r', 1), (32, 'r', 2)]);
    assert_eq!((sim.stats().dropped_overload, sim.stats().refused), (2, 0));
    let refusing = Cfg {
        refuse: true,
        ..Cfg::default()
    };
    let (answers, sim) = run(
        refusing,
        capacity(10, 2),
        FaultPlan::default(),
        vec![0, 1, 2, 3, 4],
        vec![],
    );
    // The refusals cost no work: they leave at once.
    assert_eq!(
        answers,
        vec![
            (2, 'b', 3),
            (2, 'b', 4),
            (12, 'r', 0),
            (22, 'r', 1),
            (32, 'r', 2)
        ]
    );
    assert_eq!((sim.stats().dropped_overload, sim.stats().refused), (2, 2));
}

#[test]
fn declared_work_replaces_the_draw_and_a_slowdown_multiplies_it() {
    let declared = Cfg {
        declared: Some(ms(3)),
        ..Cfg::default()
    };
    let (answers, _) = run(
        declared,
        capacity(10, 100),
        FaultPlan::default(),
        vec![0, 1, 2],
        vec![],
    );
    assert_eq!(answers, vec![(5, 'r', 0), (8, 'r', 1), (11, 'r', 2)]);
    let mut plan = FaultPlan::default();
    let slow = |factor| Fault::Slowdown {
        node: NodeId(1),
        factor,
    };
    plan.push(Time::ZERO, slow(2.0));
    plan.push(at(4), slow(1.0));
    let (answers, _) = run(declared, capacity(10, 100), plan, vec![0, 1, 2], vec![]);
    // Request 0 starts at 1 ms under the slowdown (6 ms of work); 1 and 2 after it.
    assert_eq!(answers, vec![(8, 'r', 0), (11, 'r', 1), (14, 'r', 2)]);
}

#[test]
fn a_crash_loses_the_queue_and_the_answers_not_yet_sent() {
    let mut plan = FaultPlan::default();
    plan.push(at(15), Fault::Crash { node: NodeId(1) });
    plan.push(at(16), Fault::Restart { node: NodeId(1) });
    let (answers, sim) = run(
        Cfg::default(),
        capacity(10, 100),
        plan,
        vec![0, 1, 2, 3, 4],
        vec![9],
    );
    // 0's answer left at 11 ms; 1 was in service at the crash, 2–4 waiting. After the
    // restart n1 is idle: 9 arrives at 21 ms and is answered at 31 ms.
    assert_eq!(answers, vec![(12, 'r', 0), (32, 'r', 9)]);
    assert_eq!(sim.queue_len(NodeId(1)), 0);
    // 1's answer, not yet sent, and 2–4, waiting.
    assert_eq!(sim.stats().dropped_crash, 4);
}

#[test]
fn a_pause_holds_the_work_and_what_would_have_left() {
    let mut plan = FaultPlan::default();
    plan.push(at(5), Fault::Pause { node: NodeId(1) });
    plan.push(at(30), Fault::Resume { node: NodeId(1) });
    let (answers, _) = run(
        Cfg::default(),
        capacity(10, 100),
        plan,
        vec![0, 1, 2],
        vec![],
    );
    // 0's work (from 1 ms) was 4 ms along when the 25 ms pause struck: it ends, and
    // its answer leaves, at 36 ms instead of 11; 1 and 2, which arrived at 1 ms and
    // waited, are served from then on.
    assert_eq!(answers, vec![(37, 'r', 0), (47, 'r', 1), (57, 'r', 2)]);
}

#[test]
fn a_pause_stops_the_work_in_hand() {
    let mut plan = FaultPlan::default();
    plan.push(at(2), Fault::Pause { node: NodeId(1) });
    plan.push(at(9), Fault::Resume { node: NodeId(1) });
    let (answers, _) = run(Cfg::default(), capacity(10, 100), plan, vec![0, 1], vec![]);
    // 0's work (from 1 ms) was 1 ms along when the 7 ms pause struck: it ends at
    // 18 ms, not 11; then 1's work runs from 18 to 28 ms.
    assert_eq!(answers, vec![(19, 'r', 0), (29, 'r', 1)]);
}

#[test]
fn a_timers_declared_work_waits_for_the_request_in_service() {
    let ticking = Cfg {
        tick: Some((ms(2), ms(5))),
        ..Cfg::default()
    };
    let (answers, _) = run(
        ticking,
        capacity(10, 100),
        FaultPlan::default(),
        vec![0, 1],
        vec![],
    );
    // 0 is served from 1 to 11 ms; the timer fires at 2 ms, and its 5 ms of work runs
    // from 11 to 16 ms (its message leaves then); 1, waiting, is served from 16 to 26.
    assert_eq!(answers, vec![(12, 'r', 0), (17, 't', 0), (27, 'r', 1)]);
    let idle = Cfg {
        tick: Some((ms(30), Duration::ZERO)),
        ..Cfg::default()
    };
    let (answers, _) = run(
        idle,
        capacity(10, 100),
        FaultPlan::default(),
        vec![0],
        vec![],
    );
    // A timer that declares nothing on an idle node sends at once.
    assert_eq!(answers, vec![(12, 'r', 0), (31, 't', 0)]);
}

#[test]
fn drawn_service_times_come_from_the_seed() {
    let exponential = Capacity {
        service: Latency::Exponential {
            min: Duration::ZERO,
            mean: ms(5),
            max: ms(50),
        },
        queue_bound: 8,
        shed: false,
        bulkheads: 1,
    };
    let run = |seed, everyone: bool| {
        let builder = Sim::<Peer>::builder(seed)
            .replica(Cfg::default())
            .replica(Cfg::default())
            .links(LinkConfig {
                latency: Latency::constant(ms(1)),
                ..LinkConfig::default()
            });
        let builder = if everyone {
            builder.replica_capacity(exponential)
        } else {
            builder.capacity(NodeId(1), exponential)
        };
        let mut sim = builder.build().unwrap();
        sim.input_replica(NodeId(0), Time::ZERO, (0..40).collect());
        sim.run_until(at(5_000));
        sim
    };
    let summary = |sim: &Sim<Peer>| {
        let stats = sim.stats();
        (sim.trace_hash(), stats.queued, stats.dropped_overload)
    };
    assert_eq!(summary(&run(3, false)), summary(&run(3, false)));
    // All 40 arrive at once: one is served, 8 wait, 31 overflow, whatever the seed;
    // when each is answered depends on the draws.
    let (hash3, queued, dropped) = summary(&run(3, false));
    assert_eq!((queued, dropped), (8, 31));
    assert_ne!(hash3, summary(&run(4, false)).0);
    // With every replica given the capacity, n0 works too: the answers queue there.
    let everyone = run(3, true);
    assert!(everyone.longest_queue(NodeId(0)) > 0);
    assert_eq!(run(3, false).longest_queue(NodeId(0)), 0);
}

#[test]
fn capacities_are_checked_when_built() {
    let build = |node: NodeId, capacity: Capacity| {
        Sim::<Peer>::builder(1)
            .replica(Cfg::default())
            .capacity(node, capacity)
            .build()
            .map(|_| ())
    };
    let err = build(NodeId(3), capacity(1, 1)).unwrap_err();
    assert!(
        matches!(&err, BuildError::Invalid(m) if m.contains("n3")),
        "{err}"
    );
    let err = build(NodeId(0), capacity(0, 1)).unwrap_err();
    assert!(err.to_string().contains("service time"), "{err}");
}
