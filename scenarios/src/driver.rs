//! The driver: feeds the clients their operations (closed or open loop), records the
//! history, applies the faults decided as the run goes, and walks a run through its
//! phases — active, quiet, final reads.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use checkers::history::{Event, EventType, Function, History, Value as HValue};
use models::Replica;
use models::client::Client;
use models::kv::{Outcome, Reply, Request};
use sim_core::nemesis::{Dynamic, Schedule};
use sim_core::{Duration, FaultPlan, Node, NodeId, Sim, Time, TimedFault};

use crate::availability::{OpRecord, RequestTally};
use crate::config::SIMULATED_TIME_LIMIT;
use crate::report::OpCounts;
use crate::script::{Script, Scripted, Start};
use crate::workload::{Mix, Workload};

/// Where the clients' operations come from.
#[derive(Debug)]
pub(crate) enum Source {
    /// Drawn from the seed as the run goes: in a closed loop, or (with arrivals, each
    /// client's still to come) an open one.
    Seeded {
        workload: Box<Workload>,
        arrivals: Option<Vec<VecDeque<Time>>>,
    },
    /// Each client's operations still to perform, from a script.
    Scripted(Vec<VecDeque<Scripted>>),
}

/// An operation in flight.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    client: usize,
    process: u64,
    /// When it arrived at its client (with a closed loop, when it was invoked).
    arrival: Time,
    invoked: Time,
    request: Request,
    final_read: bool,
}

/// What the runner does after every event: check the model's invariants.
pub(crate) type AfterEvent<'a, R> = dyn FnMut(&Sim<R, Client<<R as Replica>::Peer>>) + 'a;

/// Feeds the clients, records the history, applies dynamic faults.
pub(crate) struct Driver {
    clients: Vec<NodeId>,
    /// Each client's current history process (a new one after an `info`, as Jepsen
    /// does: the old process might still be running the operation).
    process: Vec<u64>,
    source: Source,
    /// The workload's mix and keys (the final reads read every key).
    mix: Mix,
    keys: u64,
    /// The next operation's id.
    next_id: u64,
    /// What each client was handed, as the run went.
    script: Script,
    schedule: Schedule,
    next_dynamic: usize,
    applied: Vec<TimedFault>,
    /// Indexed by op id.
    in_flight: std::collections::BTreeMap<u64, InFlight>,
    /// `(time, order, event, whether it is a final read's)`.
    events: Vec<(Time, u64, Event, bool)>,
    order: u64,
    pub(crate) counts: OpCounts,
    pub(crate) latencies: Vec<u64>,
    /// How each workload operation went, for the availability measures.
    pub(crate) records: Vec<OpRecord>,
    /// Each client's final reads still to make.
    finals: Vec<VecDeque<models::kv::Op>>,
    tally: Rc<RefCell<RequestTally>>,
    /// How long an open-loop operation may wait at its client before it is
    /// abandoned (the clients' deadline).
    patience: Option<Duration>,
    /// Workload operations handed to their clients.
    pub(crate) begun: u64,
    /// Each replica's queue length at the start of each [`crate::load::BUCKET`]
    /// (sampled only if `sample_queues`).
    pub(crate) queues: Vec<Vec<u32>>,
    sample_queues: bool,
}

impl Driver {
    pub(crate) fn new(
        clients: u32,
        (source, mix, keys): (Source, Mix, u64),
        schedule: Schedule,
        tally: Rc<RefCell<RequestTally>>,
    ) -> Driver {
        Driver {
            clients: Vec::new(),
            process: (0..u64::from(clients)).collect(),
            source,
            mix,
            keys,
            next_id: 0,
            script: Script::new(clients as usize),
            applied: schedule.plan.faults.clone(),
            schedule,
            next_dynamic: 0,
            in_flight: std::collections::BTreeMap::new(),
            events: Vec::new(),
            order: 0,
            counts: OpCounts::default(),
            latencies: Vec::new(),
            records: Vec::new(),
            finals: Vec::new(),
            tally,
            patience: None,
            begun: 0,
            queues: Vec::new(),
            sample_queues: false,
        }
    }

    /// Samples the replicas' queue lengths every [`crate::load::BUCKET`] (for runs
    /// with capacities).
    pub(crate) fn sample_queues(&mut self) {
        self.sample_queues = true;
    }

    /// Records the replicas' queue lengths at every step boundary up to `until` not
    /// sampled yet: the state now is the state then, as nothing happens before the
    /// next event, at `until`.
    fn sample<R, C>(&mut self, sim: &Sim<R, C>, until: Time)
    where
        R: sim_core::Node,
        C: sim_core::Node<Msg = R::Msg>,
    {
        if !self.sample_queues {
            return;
        }
        let step = crate::load::BUCKET.as_nanos();
        while self.queues.len() as u64 * step <= until.as_nanos() {
            let lengths = sim
                .replica_ids()
                .map(|id| sim.queue_len(id) as u32)
                .collect();
            self.queues.push(lengths);
        }
    }

    /// Abandons open-loop operations that waited at their client longer than
    /// `patience` (the clients' deadline) before they could be sent.
    pub(crate) fn abandon_after(&mut self, patience: Option<Duration>) {
        self.patience = patience;
    }

    fn record(&mut self, time: Time, event: Event, final_read: bool) {
        self.events.push((time, self.order, event, final_read));
        self.order += 1;
    }

    /// Hands `client` its next workload operation, if it has one: in a closed loop
    /// after its think time, in an open loop at its next arrival (now, if that is
    /// past).
    fn next_op<R, C>(&mut self, sim: &mut Sim<R, C>, client: usize)
    where
        R: sim_core::Node,
        C: sim_core::Node<Msg = R::Msg, Input = models::kv::Op>,
    {
        let now = sim.now();
        let Some(scripted) = self.take_live(client, now) else {
            return;
        };
        let (arrival, at) = match scripted.start {
            Start::Think(think) => (now + think, now + think),
            Start::Arrival(arrival) => (arrival, arrival.max(now)),
        };
        // Recorded as arriving when it did: a run of the script is the same run, and
        // one without some earlier operation still starts this one when it started.
        self.script.push(
            client,
            Scripted {
                request: scripted.request,
                start: Start::Arrival(arrival),
            },
        );
        let op = models::kv::Op {
            id: self.fresh_id(),
            request: scripted.request,
            queued: at.saturating_since(arrival),
        };
        self.invoke(sim, client, (arrival, at), op, false);
    }

    /// `client`'s next operation that its user still waits for at `now`: those that
    /// arrived longer than the patience ago are abandoned (recorded in the script,
    /// so a replay abandons them too, and counted).
    fn take_live(&mut self, client: usize, now: Time) -> Option<Scripted> {
        loop {
            let scripted = self.take(client)?;
            let Start::Arrival(arrival) = scripted.start else {
                return Some(scripted);
            };
            let waited = now.saturating_since(arrival);
            if self.patience.is_none_or(|patience| waited < patience) {
                return Some(scripted);
            }
            self.script.push(client, scripted);
            self.counts.abandoned += 1;
            self.records.push(OpRecord {
                client,
                arrival,
                ended: None,
                ok: false,
            });
        }
    }

    /// `client`'s next operation, drawn from the seed or taken from the script.
    fn take(&mut self, client: usize) -> Option<Scripted> {
        match &mut self.source {
            Source::Seeded {
                workload,
                arrivals: None,
            } => {
                let request = workload.next_op()?.request;
                let think = workload.think();
                Some(Scripted {
                    request,
                    start: Start::Think(think),
                })
            }
            Source::Seeded {
                workload,
                arrivals: Some(queues),
            } => {
                let arrival = queues[client].pop_front()?;
                let request = workload.next_op()?.request;
                Some(Scripted {
                    request,
                    start: Start::Arrival(arrival),
                })
            }
            Source::Scripted(queues) => queues.get_mut(client)?.pop_front(),
        }
    }

    fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Invokes `op` at `client` at `times.1`; it arrived at `times.0`.
    fn invoke<R, C>(
        &mut self,
        sim: &mut Sim<R, C>,
        client: usize,
        times: (Time, Time),
        op: models::kv::Op,
        final_read: bool,
    ) where
        R: sim_core::Node,
        C: sim_core::Node<Msg = R::Msg, Input = models::kv::Op>,
    {
        let (arrival, at) = times;
        if !final_read {
            self.begun += 1;
        }
        let process = self.process[client];
        let (f, key, value) = describe(&op.request);
        self.record(
            at,
            Event {
                process,
                kind: EventType::Invoke,
                f,
                key: Some(key),
                value,
                time: Some(at.as_nanos()),
            },
            final_read,
        );
        self.in_flight.insert(
            op.id,
            InFlight {
                client,
                process,
                arrival,
                invoked: at,
                request: op.request,
                final_read,
            },
        );
        sim.input_client(self.clients[client], at, op);
    }

    /// Runs the whole run, calling `after_event` after every event the simulation
    /// handles; whether it got to the end (the final reads all ended), rather than
    /// stopping at the time limit or with nothing left to happen.
    pub(crate) fn drive<R>(
        &mut self,
        sim: &mut Sim<R, Client<R::Peer>>,
        quiet: Duration,
        after_event: &mut AfterEvent<'_, R>,
    ) -> bool
    where
        R: Replica,
    {
        self.clients = sim.client_ids().collect();
        for client in 0..self.clients.len() {
            self.next_op(sim, client);
        }
        let mut phase = Phase::Active;
        loop {
            match self.next_phase(sim, phase, quiet) {
                None => return true,
                Some(next) if next != phase => phase = next,
                Some(_) if self.advance(sim, phase, after_event) => {}
                Some(_) => return false,
            }
        }
    }

    /// The phase the run is in now, given the one it was in: `None` once the final
    /// reads have all ended.
    fn next_phase<R>(
        &mut self,
        sim: &mut Sim<R, Client<R::Peer>>,
        phase: Phase,
        quiet: Duration,
    ) -> Option<Phase>
    where
        R: Replica,
    {
        match phase {
            Phase::Active if self.in_flight.is_empty() && sim.now() >= self.schedule.healed_at => {
                Some(Phase::Quiet {
                    until: sim.now() + quiet,
                })
            }
            Phase::Quiet { until } if sim.now() >= until => {
                self.tally.borrow_mut().stop_counting();
                for client in 0..self.clients.len() {
                    let reads = (0..self.keys)
                        .map(|key| models::kv::Op {
                            id: self.fresh_id(),
                            request: Request::Read { key },
                            queued: Duration::ZERO,
                        })
                        .collect();
                    self.finals.push(reads);
                    self.next_final(sim, client);
                }
                Some(Phase::FinalReads)
            }
            Phase::FinalReads if self.in_flight.is_empty() => None,
            _ => Some(phase),
        }
    }

    /// Runs the simulation on to the next thing the driver must see (a time the phase
    /// waits for, a dynamic fault, an event and the outcomes it reported); `false` when
    /// the run cannot go on (nothing left to happen, or the time limit).
    fn advance<R>(
        &mut self,
        sim: &mut Sim<R, Client<R::Peer>>,
        phase: Phase,
        after_event: &mut AfterEvent<'_, R>,
    ) -> bool
    where
        R: Replica,
    {
        let wake = match phase {
            Phase::Active if self.in_flight.is_empty() => Some(self.schedule.healed_at),
            Phase::Quiet { until } => Some(until),
            _ => None,
        };
        let next = sim.next_event_time();
        if let Some(wake) = wake
            && next.is_none_or(|next| next > wake)
        {
            self.sample(sim, next.unwrap_or(wake).min(wake));
            sim.run_until(wake);
            return true;
        }
        let Some(next) = next.filter(|&next| next <= Time::ZERO + SIMULATED_TIME_LIMIT) else {
            return false;
        };
        // A fault decided as the run goes strikes once the events before its moment
        // (and at it) are handled, each one seen by `after_event`.
        if let Some(&dynamic) = self.schedule.dynamic.get(self.next_dynamic)
            && dynamic.at() < next
        {
            self.next_dynamic += 1;
            sim.run_until(dynamic.at());
            self.apply_dynamic(sim, dynamic);
            return true;
        }
        self.sample(sim, next);
        sim.step();
        after_event(sim);
        let replicas = sim.replica_ids().count();
        let outputs = sim.drain_client_outputs();
        if outputs.len() == 0 {
            return true; // Most events complete no operation.
        }
        let outputs: Vec<_> = outputs.collect();
        for emitted in outputs {
            self.complete(emitted.time, &emitted.output);
            let client = emitted.node.index() - replicas;
            if phase == Phase::FinalReads {
                self.next_final(sim, client);
            } else {
                self.next_op(sim, client);
            }
        }
        true
    }

    /// Counts what never ended, however the run stopped (the time limit, or a panic):
    /// the workload operations in flight, and in an open loop those still waiting at
    /// their clients, which the script then records too.
    pub(crate) fn finish(&mut self) {
        let mut unfinished: Vec<OpRecord> = self
            .in_flight
            .values()
            .filter(|f| !f.final_read)
            .map(|f| OpRecord {
                client: f.client,
                arrival: f.arrival,
                ended: None,
                ok: false,
            })
            .collect();
        for client in 0..self.process.len() {
            while let Some(waiting) = self.take_waiting(client) {
                self.script.push(client, waiting);
                if let Start::Arrival(arrival) = waiting.start {
                    unfinished.push(OpRecord {
                        client,
                        arrival,
                        ended: None,
                        ok: false,
                    });
                }
            }
        }
        self.counts.unfinished = unfinished.len() as u64;
        self.records.extend(unfinished);
    }

    /// An operation `client` had still to perform when the run stopped: one that had
    /// arrived or was to arrive (open loop), or any left in its script.
    fn take_waiting(&mut self, client: usize) -> Option<Scripted> {
        match &self.source {
            Source::Seeded { arrivals: None, .. } => None,
            _ => self.take(client),
        }
    }

    /// What each client was handed (and, in an open loop, what was still to come when
    /// the run stopped): run again with this script, the run is the same.
    pub(crate) fn script(&self) -> &Script {
        &self.script
    }

    fn next_final<R, C>(&mut self, sim: &mut Sim<R, C>, client: usize)
    where
        R: sim_core::Node,
        C: sim_core::Node<Msg = R::Msg, Input = models::kv::Op>,
    {
        if let Some(op) = self.finals.get_mut(client).and_then(|q| q.pop_front()) {
            let at = sim.now();
            self.invoke(sim, client, (at, at), op, true);
        }
    }

    /// Applies a fault decided as the run goes: isolating whoever leads now (or the
    /// replica the nemesis named, if nobody does).
    fn apply_dynamic<R, C>(&mut self, sim: &mut Sim<R, C>, dynamic: Dynamic)
    where
        R: Replica,
        C: Node<Msg = R::Msg>,
    {
        let (_, faults) = models::strike(sim, dynamic, self.clients.len());
        self.applied.extend(faults);
    }

    fn complete(&mut self, time: Time, outcome: &Outcome) {
        let id = outcome.id();
        let flight = self
            .in_flight
            .remove(&id)
            .unwrap_or_else(|| panic!("an outcome for operation {id}, which is not in flight"));
        let (f, key, invoked_value) = describe(&flight.request);
        let list = self.mix == Mix::ListAppend;
        let (kind, value) = match outcome {
            Outcome::Ok { reply, .. } => {
                (EventType::Ok, completed_value(reply, invoked_value, list))
            }
            Outcome::Fail { .. } => (EventType::Fail, invoked_value),
            Outcome::Info { .. } => (EventType::Info, invoked_value),
        };
        if !flight.final_read {
            self.records.push(OpRecord {
                client: flight.client,
                arrival: flight.arrival,
                ended: Some(time),
                ok: kind == EventType::Ok,
            });
            match kind {
                EventType::Ok => {
                    self.counts.ok += 1;
                    self.latencies
                        .push(time.saturating_since(flight.invoked).as_nanos());
                }
                EventType::Fail => self.counts.fail += 1,
                EventType::Info | EventType::Invoke => self.counts.info += 1,
            }
        }
        if kind == EventType::Info {
            // Jepsen: the process might still be running the operation, so the
            // client goes on as a new process.
            let count = self.process_count();
            if let Some(slot) = self.process.iter_mut().find(|p| **p == flight.process) {
                *slot += count;
            }
        }
        self.record(
            time,
            Event {
                process: flight.process,
                kind,
                f,
                key: Some(key),
                value,
                time: Some(time.as_nanos()),
            },
            flight.final_read,
        );
    }

    fn process_count(&self) -> u64 {
        self.process.len() as u64
    }

    /// The history, in time order (ties in the order things happened).
    /// The history of the run, in time order; the driver keeps no events after.
    pub(crate) fn take_history(&mut self) -> History {
        let mut events = std::mem::take(&mut self.events);
        events.sort_by_key(|(time, order, _, _)| (time.as_nanos(), *order));
        let mut history = History::default();
        for (line, (_, _, event, final_read)) in events.into_iter().enumerate() {
            if final_read {
                history.finals.push(line);
            }
            history.push(event, line + 1);
        }
        history
    }

    pub(crate) fn applied_plan(&self) -> FaultPlan {
        let mut faults = self.applied.clone();
        faults.sort_by_key(|f| f.at.as_nanos());
        FaultPlan { faults }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Active,
    Quiet { until: Time },
    FinalReads,
}

/// A request as a history event's function, key and invocation value.
pub(crate) fn describe(request: &Request) -> (Function, HValue, HValue) {
    let int = |v: u64| HValue::Int(v as i64);
    match *request {
        Request::Read { key } => (Function::Read, int(key), HValue::Nil),
        Request::Write { key, value } => (Function::Write, int(key), int(value)),
        Request::Cas { key, from, to } => (
            Function::Cas,
            int(key),
            HValue::List(vec![int(from), int(to)]),
        ),
        Request::Append { key, value } => (Function::Append, int(key), int(value)),
    }
}

/// The value an `ok` event carries: what was read, or the invocation's value.
pub(crate) fn completed_value(reply: &Reply, invoked: HValue, list: bool) -> HValue {
    let int = |v: u64| HValue::Int(v as i64);
    match reply {
        Reply::Read(None) if list => HValue::List(Vec::new()),
        Reply::Read(None) => HValue::Nil,
        Reply::Read(Some(v)) => int(*v),
        Reply::ReadList(items) => HValue::List(items.iter().copied().map(int).collect()),
        Reply::Written | Reply::Swapped | Reply::Appended | Reply::CasMismatch(_) => invoked,
    }
}
