//! Availability, measured four ways, each named for what it counts.
//!
//! "How available was the store?" has several honest answers, and the one a table
//! shows decides the lesson it teaches. A client that retries for long enough gets an
//! answer from almost any store once a partition heals; a store that answers
//! immediately on both sides of a partition is a different kind of store. So every run
//! reports all four, and each is defined here once:
//!
//! - **`cap`**: the CAP theorem's availability (Gilbert & Lynch 2002: "every request
//!   received by a non-failing node in the system must result in a response"). Of the
//!   client requests that reached a running replica, the share that replica answered
//!   with a response that serves them — a result, including a compare-and-set that did
//!   not match. A redirect, a refusal or "I do not know whether it happened" does not
//!   answer a request. Counted per request and replica: each attempt an operation makes
//!   at a replica counts once, however many copies of it the network delivers. A
//!   request whose replica crashed before answering it is left out (a crashed node
//!   owes nobody an answer).
//! - **`during_faults`**: the *yield* of Fox & Brewer (1999) while something is broken.
//!   Of the operations that arrived while a fault was active, the share that succeeded
//!   within one client timeout of arriving — what a user who gives up after one timeout
//!   sees. A partition, crash, pause, degraded link or drifting clock is active from its
//!   start to its heal; a clock jump from the jump to the end of the fault window (the
//!   offset stays, but it is no longer news).
//! - **`minority`**: the same, for operations whose client was on the minority side of
//!   a partition — able to reach fewer than half of the replicas in both directions —
//!   from its arrival for a whole timeout. For a store with one server, a client cut off
//!   from it. This is the measure that separates CP stores (near 0) from AP ones (near
//!   1) under `partition-majority`.
//! - **`after_retries`**: of the operations that ended, the share that succeeded, after
//!   however many attempts the client made. It rewards retrying until a partition
//!   heals, and says little about CAP.
//!
//! A measure with nothing to count (`minority` without a partition, `during_faults`
//! without faults) is `None`, and null in JSON: never a made-up 1.0, never NaN.
//!
//! Operations are timed from their **arrival**: with an open-loop workload
//! (`--rate`), an operation may wait at its client behind the one in flight, and that
//! wait counts against it.

use std::collections::{BTreeMap, BTreeSet};

use models::client::{Answer, ClientMsg, RequestId, Wire};
use serde::Serialize;
use sim_core::{Duration, Fault, FaultPlan, LinkConfig, NodeId, Observation, Observed, Time};

/// Successes out of trials: one measure of one run, before it is a share.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ratio {
    /// Trials that succeeded.
    pub hits: u64,
    /// Trials.
    pub trials: u64,
}

impl Ratio {
    /// `hits / trials`, or `None` with no trials.
    ///
    /// ```
    /// use consim::availability::Ratio;
    /// assert_eq!(Ratio { hits: 1, trials: 4 }.share(), Some(0.25));
    /// assert_eq!(Ratio::default().share(), None);
    /// ```
    pub fn share(&self) -> Option<f64> {
        (self.trials > 0).then(|| self.hits as f64 / self.trials as f64)
    }

    /// Counts one trial.
    pub fn count(&mut self, hit: bool) {
        assert!(self.hits <= self.trials, "{self:?}");
        self.trials += 1;
        self.hits += u64::from(hit);
    }

    /// These counts and `other`'s together.
    pub fn add(&mut self, other: Ratio) {
        self.hits += other.hits;
        self.trials += other.trials;
    }
}

/// The four measures of one run (or, added up, of many), as counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Availability {
    /// Requests a running replica received, and how many it answered.
    pub cap: Ratio,
    /// Operations that arrived during a fault, and how many succeeded within a timeout.
    pub during_faults: Ratio,
    /// Operations of clients on a partition's minority side, and how many succeeded
    /// within a timeout.
    pub minority: Ratio,
    /// Operations that ended, and how many succeeded.
    pub after_retries: Ratio,
}

/// The measures' names, in the order tables and JSON show them.
pub const MEASURES: [&str; 4] = ["cap", "during_faults", "minority", "after_retries"];

/// Each measure in a sentence, in [`MEASURES`] order (`consim list` prints them).
pub const DEFINITIONS: [&str; 4] = [
    "of the client requests a running replica received, the share it answered with a \
     result (a redirect, a refusal or \"unknown\" is no answer); per attempt (Gilbert & \
     Lynch's availability)",
    "of the operations that arrived while a fault was active, the share that succeeded \
     within one client timeout of arriving (Fox & Brewer's yield)",
    "the same, for operations whose client could reach fewer than half of the replicas \
     for that whole timeout (the minority side of a partition)",
    "of the operations that ended, the share that succeeded, after however many \
     attempts",
];

impl Availability {
    /// The measures in [`MEASURES`] order.
    pub fn ratios(&self) -> [Ratio; 4] {
        [
            self.cap,
            self.during_faults,
            self.minority,
            self.after_retries,
        ]
    }

    /// These counts and `other`'s together.
    pub fn add(&mut self, other: &Availability) {
        self.cap.add(other.cap);
        self.during_faults.add(other.during_faults);
        self.minority.add(other.minority);
        self.after_retries.add(other.after_retries);
    }
}

/// Serialized as the four shares, null where there was nothing to count.
impl Serialize for Availability {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(MEASURES.len()))?;
        for (name, ratio) in MEASURES.iter().zip(self.ratios()) {
            map.serialize_entry(name, &ratio.share())?;
        }
        map.end()
    }
}

/// How one workload operation went, timed from its arrival.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpRecord {
    /// The client (0-based, in client order).
    pub client: usize,
    /// When the operation arrived at its client (with a closed loop: when it was
    /// invoked).
    pub arrival: Time,
    /// When it ended, if it did.
    pub ended: Option<Time>,
    /// Whether it succeeded.
    pub ok: bool,
}

impl OpRecord {
    /// Whether it succeeded within `timeout` of arriving.
    pub fn ok_within(&self, timeout: Duration) -> bool {
        self.ok
            && self
                .ended
                .is_some_and(|end| end.saturating_since(self.arrival) <= timeout)
    }
}

/// What the fault plan did to the network and the replicas over time, as a step
/// function: which faults were active, and how many replicas each client could reach.
#[derive(Clone, Debug)]
pub struct Timeline {
    replicas: usize,
    /// In time order; each holds from its start to the next one's.
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Segment {
    from: Time,
    faulty: bool,
    /// Per client: the replicas it reaches in both directions.
    reach: Vec<u32>,
}

/// Directed links and how many partitions cut each, as a square table over the nodes
/// `0..nodes` (a swarm plan cuts and heals dozens of links at each of its partitions).
#[derive(Debug)]
struct Cuts {
    nodes: usize,
    counts: Vec<u32>,
    /// How many links are cut at all.
    cut_links: usize,
}

impl Cuts {
    fn new(nodes: usize) -> Cuts {
        Cuts {
            nodes,
            counts: vec![0; nodes * nodes],
            cut_links: 0,
        }
    }

    fn count(&mut self, (a, b): (NodeId, NodeId)) -> &mut u32 {
        assert!(
            a.index() < self.nodes && b.index() < self.nodes,
            "link {a} -> {b} outside the timeline's {} nodes",
            self.nodes
        );
        &mut self.counts[a.index() * self.nodes + b.index()]
    }

    fn cut(&mut self, link: (NodeId, NodeId)) {
        let count = self.count(link);
        *count += 1;
        if *count == 1 {
            self.cut_links += 1;
        }
    }

    fn heal(&mut self, link: (NodeId, NodeId)) {
        let count = self.count(link);
        if *count > 0 {
            *count -= 1;
            if *count == 0 {
                self.cut_links -= 1;
            }
        }
    }

    fn heal_all(&mut self) {
        self.counts.fill(0);
        self.cut_links = 0;
    }

    fn is_cut(&self, a: NodeId, b: NodeId) -> bool {
        self.counts[a.index() * self.nodes + b.index()] > 0
    }
}

/// The faults in force at one moment, replayed from a plan.
#[derive(Debug)]
struct FaultState {
    /// Directed links, and how many partitions cut each.
    cut: Cuts,
    /// The nodes that are down (`true`) or paused (`false`), as the kernel has them.
    stopped: BTreeMap<NodeId, bool>,
    drifting: BTreeSet<NodeId>,
    /// Links set to something other than the default (all of them, or some).
    all_links_degraded: bool,
    /// Operations arrive faster than usual.
    surging: bool,
    degraded_links: BTreeSet<(NodeId, NodeId)>,
    /// A clock was jumped, and the fault window is not over.
    jumped: bool,
    /// Nodes whose service times are multiplied (a slowdown).
    slowed: BTreeSet<NodeId>,
}

impl FaultState {
    /// No faults, over the nodes `0..nodes`.
    fn new(nodes: usize) -> FaultState {
        FaultState {
            cut: Cuts::new(nodes),
            stopped: BTreeMap::new(),
            drifting: BTreeSet::new(),
            all_links_degraded: false,
            surging: false,
            degraded_links: BTreeSet::new(),
            jumped: false,
            slowed: BTreeSet::new(),
        }
    }

    fn apply(&mut self, fault: &Fault) {
        match fault {
            // As the kernel does: a crash ends a pause; a restart (a reboot, if the
            // node was up) leaves it running; only a running node pauses, and only a
            // paused one resumes.
            Fault::Crash { node } => {
                self.stopped.insert(*node, true);
            }
            Fault::Restart { node } => {
                self.stopped.remove(node);
            }
            Fault::Pause { node } => {
                self.stopped.entry(*node).or_insert(false);
            }
            Fault::Resume { node } => {
                if self.stopped.get(node) == Some(&false) {
                    self.stopped.remove(node);
                }
            }
            Fault::Partition(p) => p.cut.iter().for_each(|&link| self.cut.cut(link)),
            Fault::Heal(p) => p.cut.iter().for_each(|&link| self.cut.heal(link)),
            Fault::HealAll => self.cut.heal_all(),
            Fault::ClockJump { .. } => self.jumped = true,
            Fault::ClockDrift { node, drift_ppm } => {
                if *drift_ppm == 0 {
                    self.drifting.remove(node);
                } else {
                    self.drifting.insert(*node);
                }
            }
            Fault::AllLinks(config) => {
                self.all_links_degraded = *config != LinkConfig::default();
                self.degraded_links.clear();
            }
            Fault::Link {
                source,
                target,
                config,
            } => {
                if *config == LinkConfig::default() {
                    self.degraded_links.remove(&(*source, *target));
                } else {
                    self.degraded_links.insert((*source, *target));
                }
            }
            Fault::Slowdown { node, factor } => {
                if *factor == 1.0 {
                    self.slowed.remove(node);
                } else {
                    self.slowed.insert(*node);
                }
            }
            Fault::Surge { factor } => self.surging = *factor != 1.0,
        }
    }

    fn faulty(&self) -> bool {
        self.cut.cut_links > 0
            || !self.stopped.is_empty()
            || !self.drifting.is_empty()
            || self.all_links_degraded
            || self.surging
            || !self.degraded_links.is_empty()
            || self.jumped
            || !self.slowed.is_empty()
    }

    fn connected(&self, a: NodeId, b: NodeId) -> bool {
        !self.cut.is_cut(a, b) && !self.cut.is_cut(b, a)
    }

    fn segment(&self, from: Time, replicas: usize, clients: usize) -> Segment {
        let reach = (0..clients)
            .map(|c| {
                let client = NodeId((replicas + c) as u32);
                (0..replicas)
                    .filter(|&r| self.connected(client, NodeId(r as u32)))
                    .count() as u32
            })
            .collect();
        Segment {
            from,
            faulty: self.faulty(),
            reach,
        }
    }
}

impl Timeline {
    /// The timeline of `plan` for `replicas` replicas and `clients` clients (numbered
    /// after the replicas); clock jumps count as active faults until `window_end`.
    ///
    /// ```
    /// use consim::availability::Timeline;
    /// use sim_core::{Duration, Fault, FaultPlan, NodeId, Partition, Time};
    /// let ms = |m| Time::ZERO + Duration::from_millis(m);
    /// // Replicas 0-2; client 3 is cut off with replica 0 from 100 ms to 300 ms.
    /// let p = Partition::halves(&[NodeId(0), NodeId(3)], &[NodeId(1), NodeId(2)]);
    /// let mut plan = FaultPlan::default();
    /// plan.push(ms(100), Fault::Partition(p.clone()));
    /// plan.push(ms(300), Fault::Heal(p));
    /// let t = Timeline::new(&plan, 3, 1, ms(400));
    /// assert!(!t.faulty_at(ms(50)) && t.faulty_at(ms(100)) && !t.faulty_at(ms(300)));
    /// assert!(t.minority_throughout(0, ms(100), ms(299)));
    /// assert!(!t.minority_throughout(0, ms(100), ms(301)));
    /// ```
    pub fn new(plan: &FaultPlan, replicas: usize, clients: usize, window_end: Time) -> Timeline {
        let mut faults: Vec<(Time, Option<&Fault>)> =
            plan.faults.iter().map(|f| (f.at, Some(&f.fault))).collect();
        // The end of the window: clock jumps stop counting (sorted after the faults of
        // that moment, which is stable).
        faults.push((window_end, None));
        faults.sort_by_key(|(at, _)| *at);
        let mut state = FaultState::new(nodes_named(plan).max(replicas + clients));
        let mut segments = vec![state.segment(Time::ZERO, replicas, clients)];
        let mut i = 0;
        while i < faults.len() {
            let at = faults[i].0;
            while i < faults.len() && faults[i].0 == at {
                match faults[i].1 {
                    Some(fault) => state.apply(fault),
                    None => state.jumped = false,
                }
                i += 1;
            }
            let segment = state.segment(at, replicas, clients);
            match segments.last_mut() {
                Some(last) if last.from == at => *last = segment,
                _ => segments.push(segment),
            }
        }
        Timeline { replicas, segments }
    }

    fn index(&self, at: Time) -> usize {
        self.segments.partition_point(|s| s.from <= at) - 1
    }

    /// Whether some fault was active at some moment.
    pub fn ever_faulty(&self) -> bool {
        self.segments.iter().any(|s| s.faulty)
    }

    /// Whether some fault was active at `at`.
    pub fn faulty_at(&self, at: Time) -> bool {
        self.segments[self.index(at)].faulty
    }

    /// Whether `client` reached fewer than half of the replicas (in both directions)
    /// at every moment from `from` to `to`.
    pub fn minority_throughout(&self, client: usize, from: Time, to: Time) -> bool {
        let first = self.index(from);
        self.segments[first..]
            .iter()
            .take_while(|s| s.from <= to)
            .all(|s| 2 * s.reach[client] < self.replicas as u32)
    }
}

/// One past the highest node a partition of `plan` names (0 if none does).
fn nodes_named(plan: &FaultPlan) -> usize {
    plan.faults
        .iter()
        .filter_map(|f| match &f.fault {
            Fault::Partition(p) | Fault::Heal(p) => p.cut.iter().map(|(a, b)| a.max(b)).max(),
            _ => None,
        })
        .max()
        .map_or(0, |node| node.index() + 1)
}

/// Which requests running replicas received and answered, from the messages of a run
/// (see [`sim_core::SimBuilder::observer`]).
///
/// A request is one send of a client's request message (copies that link duplication
/// delivers are one request). Each reply a replica sends is the reply to the most
/// recent request of that id it received and has not replied to yet; the request is
/// answered if that reply is a result. A request whose replica crashed before
/// replying to it is excused; one never replied to is not answered.
#[derive(Debug)]
pub struct RequestTally {
    replicas: usize,
    /// Receipts are recorded while this is on (the workload, not the final reads).
    counting: bool,
    /// Receipts and replies, in the order they happened. A receipt carries its send's
    /// time: the copies of one send that link duplication delivers are one receipt
    /// (the first), told apart when the tally is taken.
    events: Vec<TallyEvent>,
    /// Requests the clients sent while counting: attempts, retries included.
    pub attempts: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TallyEvent {
    Received {
        at: Time,
        replica: NodeId,
        id: RequestId,
        sent: Time,
    },
    Replied {
        at: Time,
        replica: NodeId,
        id: RequestId,
        answers: bool,
    },
}

impl TallyEvent {
    fn at(&self) -> Time {
        match *self {
            TallyEvent::Received { at, .. } | TallyEvent::Replied { at, .. } => at,
        }
    }
}

impl RequestTally {
    /// A tally for a run with `replicas` replicas (nodes `0..replicas`).
    pub fn new(replicas: usize) -> RequestTally {
        RequestTally {
            replicas,
            counting: true,
            events: Vec::new(),
            attempts: 0,
        }
    }

    /// Stops recording new requests (replies are still seen).
    pub fn stop_counting(&mut self) {
        self.counting = false;
    }

    /// Takes in one message.
    pub fn observe<P>(&mut self, o: &Observed<'_, Wire<P>>) {
        let Wire::Client(msg) = o.msg else {
            return;
        };
        match (o.kind, msg) {
            (Observation::Sent, ClientMsg::Request { .. })
                if self.counting && o.source.index() >= self.replicas =>
            {
                self.attempts += 1;
            }
            (Observation::Delivered, ClientMsg::Request { id, .. })
                if self.counting && o.target.index() < self.replicas =>
            {
                self.events.push(TallyEvent::Received {
                    at: o.time,
                    replica: o.target,
                    id: *id,
                    sent: o.sent,
                });
            }
            (Observation::Sent, ClientMsg::Reply { id, answer, .. })
                if o.source.index() < self.replicas =>
            {
                self.events.push(TallyEvent::Replied {
                    at: o.time,
                    replica: o.source,
                    id: *id,
                    answers: matches!(answer, Answer::Done(_)),
                });
            }
            _ => {}
        }
    }

    /// The `cap` measure: requests received, and how many were answered. `crashes`
    /// says when each replica went down: the requests it had not replied to then are
    /// excused.
    pub fn cap(&self, crashes: &[(NodeId, Time)]) -> Ratio {
        let mut crashes = crashes.to_vec();
        crashes.sort_by_key(|&(_, at)| at);
        let mut crashes = crashes.into_iter().peekable();
        let (copy, requests) = self.receipts();
        // Per (replica, id) of `requests`: how many receipts are not replied to yet.
        let mut pending = vec![0u64; requests.len()];
        let mut ratio = Ratio::default();
        for (event, _) in self.events.iter().zip(&copy).filter(|(_, copy)| !**copy) {
            while let Some((node, _)) = crashes.next_if(|&(_, at)| at < event.at()) {
                // The requests are sorted by replica: its own are one run of them.
                let from = requests.partition_point(|&(replica, _)| replica < node);
                let to = requests.partition_point(|&(replica, _)| replica <= node);
                pending[from..to].fill(0);
            }
            match *event {
                TallyEvent::Received { replica, id, .. } => {
                    let at = requests
                        .binary_search(&(replica, id))
                        .expect("every receipt's request is listed");
                    pending[at] += 1;
                }
                TallyEvent::Replied {
                    replica,
                    id,
                    answers,
                    ..
                } => {
                    if let Ok(at) = requests.binary_search(&(replica, id))
                        && pending[at] > 0
                    {
                        pending[at] -= 1;
                        ratio.count(answers);
                    }
                }
            }
        }
        for &waiting in &pending {
            for _ in 0..waiting {
                ratio.count(false);
            }
        }
        ratio
    }

    /// Which events are copies of a receipt (a later delivery of the same send), and
    /// the (replica, request id)s received, sorted.
    fn receipts(&self) -> (Vec<bool>, Vec<(NodeId, RequestId)>) {
        let mut receipts: Vec<((NodeId, RequestId, Time), usize)> = (self.events.iter())
            .enumerate()
            .filter_map(|(at, event)| match *event {
                TallyEvent::Received {
                    replica, id, sent, ..
                } => Some(((replica, id, sent), at)),
                TallyEvent::Replied { .. } => None,
            })
            .collect();
        receipts.sort_unstable();
        let mut copy = vec![false; self.events.len()];
        for pair in receipts.windows(2).filter(|pair| pair[0].0 == pair[1].0) {
            copy[pair[1].1] = true;
        }
        let mut requests: Vec<(NodeId, RequestId)> = (receipts.iter())
            .map(|&((replica, id, _), _)| (replica, id))
            .collect();
        requests.dedup();
        (copy, requests)
    }
}

/// When each node went down in `plan`: its crashes, and its restarts (a restart of a
/// running node reboots it).
pub fn crashes(plan: &FaultPlan) -> Vec<(NodeId, Time)> {
    plan.faults
        .iter()
        .filter_map(|f| match f.fault {
            Fault::Crash { node } | Fault::Restart { node } => Some((node, f.at)),
            _ => None,
        })
        .collect()
}

/// The three operation measures of a run from its operations, with `timeout` as the
/// time a user waits.
pub fn measure_ops(
    ops: &[OpRecord],
    timeline: &Timeline,
    timeout: Duration,
) -> (Ratio, Ratio, Ratio) {
    let (mut during, mut minority, mut after) = Default::default();
    for op in ops {
        let fast = op.ok_within(timeout);
        if timeline.faulty_at(op.arrival) {
            Ratio::count(&mut during, fast);
        }
        if timeline.minority_throughout(op.client, op.arrival, op.arrival + timeout) {
            Ratio::count(&mut minority, fast);
        }
        if op.ended.is_some() {
            Ratio::count(&mut after, op.ok);
        }
    }
    (during, minority, after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sim_core::Partition;

    /// The `cap` measure as first written, obviously right: receipts deduplicated by a
    /// set as they arrive, pending receipts kept per (replica, id) in a map, a crash
    /// dropping its replica's entries.
    fn cap_by_maps(events: &[TallyEvent], crashes: &[(NodeId, Time)]) -> Ratio {
        let mut crashes = crashes.to_vec();
        crashes.sort_by_key(|&(_, at)| at);
        let mut crashes = crashes.into_iter().peekable();
        let mut seen = BTreeSet::new();
        let mut pending: BTreeMap<(NodeId, RequestId), Vec<Time>> = BTreeMap::new();
        let mut ratio = Ratio::default();
        for event in events {
            if let TallyEvent::Received {
                replica, id, sent, ..
            } = *event
                && !seen.insert((replica, id, sent))
            {
                continue;
            }
            while let Some((node, _)) = crashes.next_if(|&(_, at)| at < event.at()) {
                pending.retain(|&(replica, _), _| replica != node);
            }
            match *event {
                TallyEvent::Received {
                    at, replica, id, ..
                } => {
                    pending.entry((replica, id)).or_default().push(at);
                }
                TallyEvent::Replied {
                    replica,
                    id,
                    answers,
                    ..
                } => {
                    if let Some(waiting) = pending.get_mut(&(replica, id))
                        && waiting.pop().is_some()
                    {
                        ratio.count(answers);
                    }
                }
            }
        }
        pending.values().flatten().for_each(|_| ratio.count(false));
        ratio
    }

    proptest! {
        /// Random receipts (copies of a send among them), replies and crashes of three
        /// replicas: the tally agrees with the maps.
        #[test]
        fn the_cap_tally_agrees_with_the_maps(
            steps in prop::collection::vec((0u8..3, 0u32..3, 0u64..4, 0u64..3, any::<bool>()), 0..40),
            crashes in prop::collection::vec((0u32..3, 0u64..40), 0..4),
        ) {
            let events: Vec<TallyEvent> = steps
                .iter()
                .enumerate()
                .map(|(t, &(kind, replica, seq, sent, answers))| {
                    let (at, replica) = (Time::from_nanos(t as u64), NodeId(replica));
                    let id = RequestId { client: NodeId(5), seq };
                    match kind {
                        0 | 1 => TallyEvent::Received { at, replica, id, sent: Time::from_nanos(sent) },
                        _ => TallyEvent::Replied { at, replica, id, answers },
                    }
                })
                .collect();
            let crashes: Vec<(NodeId, Time)> = crashes
                .iter()
                .map(|&(node, at)| (NodeId(node), Time::from_nanos(at)))
                .collect();
            let tally = RequestTally { replicas: 3, counting: true, events: events.clone(), attempts: 0 };
            prop_assert_eq!(tally.cap(&crashes), cap_by_maps(&events, &crashes));
        }
    }

    fn ms(m: u64) -> Time {
        Time::ZERO + Duration::from_millis(m)
    }

    #[test]
    fn a_crash_is_active_until_the_restart_and_a_jump_until_the_window_ends() {
        let mut plan = FaultPlan::default();
        plan.push(ms(100), Fault::Crash { node: NodeId(1) });
        plan.push(ms(200), Fault::Restart { node: NodeId(1) });
        plan.push(
            ms(500),
            Fault::ClockJump {
                node: NodeId(0),
                delta_ns: 5,
            },
        );
        let t = Timeline::new(&plan, 3, 1, ms(800));
        let faulty: Vec<bool> = [0, 99, 100, 199, 200, 499, 500, 799, 800, 5_000]
            .map(|m| t.faulty_at(ms(m)))
            .to_vec();
        assert_eq!(
            faulty,
            [
                false, false, true, true, false, false, true, true, false, false
            ]
        );
        // Nobody was partitioned.
        assert!(!t.minority_throughout(0, ms(0), ms(5_000)));
    }

    #[test]
    fn pauses_and_crashes_are_followed_as_the_kernel_follows_them() {
        let node = NodeId(2);
        let mut plan = FaultPlan::default();
        // A pause of a crashed node does nothing; a crash ends a pause.
        plan.push(ms(100), Fault::Crash { node });
        plan.push(ms(150), Fault::Pause { node });
        plan.push(ms(200), Fault::Restart { node });
        plan.push(ms(300), Fault::Pause { node });
        plan.push(ms(400), Fault::Crash { node });
        plan.push(ms(450), Fault::Resume { node });
        plan.push(ms(500), Fault::Restart { node });
        let t = Timeline::new(&plan, 3, 0, ms(1_000));
        let faulty: Vec<bool> = [99, 160, 250, 350, 420, 460, 510]
            .map(|m| t.faulty_at(ms(m)))
            .to_vec();
        assert_eq!(faulty, [false, true, false, true, true, true, false]);
    }

    #[test]
    fn overlapping_partitions_heal_link_by_link() {
        let (c, r0, r1, r2) = (NodeId(3), NodeId(0), NodeId(1), NodeId(2));
        let p = Partition::halves(&[c, r0], &[r1, r2]);
        let q = Partition::halves(&[c], &[r0]);
        let mut plan = FaultPlan::default();
        plan.push(ms(100), Fault::Partition(p.clone()));
        plan.push(ms(150), Fault::Partition(q.clone()));
        plan.push(ms(200), Fault::Heal(p));
        plan.push(ms(300), Fault::Heal(q.clone()));
        plan.push(ms(400), Fault::Partition(q));
        plan.push(ms(500), Fault::HealAll);
        let t = Timeline::new(&plan, 3, 1, ms(1_000));
        // 100-150: reaches r0 only (1 of 3); 150-200: none; 200-300: r1, r2 (2 of 3).
        assert!(t.minority_throughout(0, ms(100), ms(199)));
        assert!(!t.minority_throughout(0, ms(100), ms(200)));
        assert!(!t.minority_throughout(0, ms(250), ms(260)));
        // 400-500: cut from r0 only, reaching 2 of 3: the majority side.
        assert!(!t.minority_throughout(0, ms(400), ms(450)));
        assert!(t.faulty_at(ms(450)) && !t.faulty_at(ms(500)));
    }

    #[test]
    fn with_one_replica_a_client_cut_off_from_it_is_the_minority() {
        let p = Partition::halves(&[NodeId(0), NodeId(1)], &[NodeId(2)]);
        let mut plan = FaultPlan::default();
        plan.push(Time::ZERO, Fault::Partition(p));
        let t = Timeline::new(&plan, 1, 2, ms(1_000));
        assert!(!t.minority_throughout(0, ms(0), ms(900)));
        assert!(t.minority_throughout(1, ms(0), ms(900)));
        assert!(t.faulty_at(Time::ZERO));
    }

    #[test]
    fn operations_count_from_arrival_and_unfinished_ones_are_not_after_retries() {
        let mut plan = FaultPlan::default();
        let p = Partition::halves(&[NodeId(3)], &[NodeId(0), NodeId(1), NodeId(2)]);
        plan.push(ms(0), Fault::Partition(p.clone()));
        plan.push(ms(1_000), Fault::Heal(p));
        let t = Timeline::new(&plan, 3, 2, ms(2_000));
        let op = |client, arrival, ended: Option<u64>, ok| OpRecord {
            client,
            arrival: ms(arrival),
            ended: ended.map(ms),
            ok,
        };
        let ops = [
            // Client 0 is cut off: its first operation waits out the partition.
            op(0, 10, Some(1_100), true),
            op(0, 400, Some(1_150), true),
            // Arrives too late in the partition for a whole timeout of it.
            op(0, 600, Some(1_200), true),
            // Client 1 is on the majority side, fast.
            op(1, 10, Some(60), true),
            op(1, 100, Some(700), false),
            // After the heal.
            op(1, 1_500, Some(1_550), true),
            op(1, 1_600, None, false),
        ];
        let (during, minority, after) = measure_ops(&ops, &t, Duration::from_millis(500));
        assert_eq!(during, Ratio { hits: 1, trials: 5 });
        assert_eq!(minority, Ratio { hits: 0, trials: 2 });
        assert_eq!(after, Ratio { hits: 5, trials: 6 });
    }

    /// Sees one message at `time` (sent at `sent`) from `source` to `target`.
    fn see(
        tally: &mut RequestTally,
        kind: Observation,
        (time, sent): (u64, u64),
        (source, target): (u32, u32),
        msg: &Wire<()>,
    ) {
        tally.observe(&Observed {
            kind,
            time: ms(time),
            sent: ms(sent),
            source: NodeId(source),
            target: NodeId(target),
            msg,
        });
    }

    fn request(seq: u64) -> Wire<()> {
        Wire::Client(ClientMsg::Request {
            id: id(seq),
            request: models::kv::Request::Read { key: 0 },
            token: 0,
            deadline: None,
        })
    }

    fn id(seq: u64) -> RequestId {
        RequestId {
            client: NodeId(3),
            seq,
        }
    }

    fn answer(seq: u64, answer: Answer) -> Wire<()> {
        models::client::reply(id(seq), answer, 0)
    }

    fn done(seq: u64) -> Wire<()> {
        answer(seq, Answer::Done(models::kv::Reply::Read(None)))
    }

    #[test]
    fn each_request_is_answered_by_its_own_reply_and_only_by_a_result() {
        let (sent, delivered) = (Observation::Sent, Observation::Delivered);
        let mut tally = RequestTally::new(3);
        let t = &mut tally;
        // Request 0 reaches replica 0 twice (a duplicate of one send) and is answered.
        see(t, delivered, (10, 5), (3, 0), &request(0));
        see(t, delivered, (12, 5), (3, 0), &request(0));
        see(t, sent, (20, 20), (0, 3), &done(0));
        // Request 1: redirected by replica 1, answered by replica 2, then sent to
        // replica 1 again (the redirect pointed back) and answered there: three
        // requests, two answered; the redirect answers only the first.
        see(t, delivered, (30, 25), (3, 1), &request(1));
        let back = Answer::Redirect {
            to: Some(NodeId(2)),
        };
        see(t, sent, (31, 31), (1, 3), &answer(1, back));
        see(t, delivered, (40, 35), (3, 2), &request(1));
        see(t, sent, (45, 45), (2, 3), &done(1));
        see(t, delivered, (50, 46), (3, 1), &request(1));
        see(t, sent, (52, 52), (1, 3), &done(1));
        // Request 2: replica 0 receives it and crashes before replying.
        see(t, delivered, (60, 55), (3, 0), &request(2));
        // Request 3: refused.
        see(t, delivered, (70, 65), (3, 1), &request(3));
        see(
            t,
            sent,
            (71, 71),
            (1, 3),
            &answer(3, Answer::Refused { reason: "no" }),
        );
        // Request 4: two attempts at replica 2 (two sends); one late result answers
        // the newer one, and the older one waits for nothing.
        see(t, delivered, (80, 75), (3, 2), &request(4));
        see(t, delivered, (90, 85), (3, 2), &request(4));
        see(t, sent, (95, 95), (2, 3), &done(4));
        // A request sent but never delivered (cut) is not counted.
        see(t, sent, (100, 100), (3, 2), &request(5));
        // Received: 0 (answered); 1 at r1 (redirected), r2 (answered), r1 (answered);
        // 2 at r0 (excused by the crash); 3 (refused); 4 twice (one answered).
        assert_eq!(
            tally.cap(&[(NodeId(0), ms(65))]),
            Ratio { hits: 4, trials: 7 }
        );
        // Without the crash, request 2 counts against replica 0.
        assert_eq!(tally.cap(&[]), Ratio { hits: 4, trials: 8 });
        // A crash before the receipt excuses nothing; one after a refusal, nothing.
        assert_eq!(
            tally.cap(&[(NodeId(0), ms(5))]),
            Ratio { hits: 4, trials: 8 }
        );
        assert_eq!(
            tally.cap(&[(NodeId(0), ms(5)), (NodeId(1), ms(75))]),
            Ratio { hits: 4, trials: 8 }
        );
        // Once counting stops, new requests are not recorded, but replies still pair.
        tally.stop_counting();
        see(&mut tally, delivered, (110, 105), (3, 0), &request(6));
        assert_eq!(tally.cap(&[]), Ratio { hits: 4, trials: 8 });
    }

    #[test]
    fn shares_serialize_as_null_when_nothing_was_counted() {
        let a = Availability {
            cap: Ratio { hits: 3, trials: 4 },
            after_retries: Ratio { hits: 1, trials: 1 },
            ..Availability::default()
        };
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(
            json,
            r#"{"cap":0.75,"during_faults":null,"minority":null,"after_retries":1.0}"#
        );
    }
}
