//! Following a schedule move for move.

use super::world::{Env, World};
use super::{Explorable, Happened, Schedule, Setup, Step};
use crate::{Duration, EventKind, Time, TraceEvent};

/// How far apart a replay's trace puts its steps: step `i` (from 0) happens at
/// `(i + 1) × STEP` of simulated time. An explored schedule has no latencies, only an
/// order; the trace's times say that order and nothing more.
pub const STEP: Duration = Duration::from_millis(1);

/// What following a schedule produced.
#[derive(Debug)]
pub struct Replayed<C: crate::Node> {
    /// The clients' history, in order.
    pub history: Vec<Happened<C>>,
    /// When each history event happened, on the trace's clock ([`STEP`]).
    pub times: Vec<Time>,
    /// One line per step, for people: who did what, with the message or timer.
    pub narrative: Vec<String>,
    /// The steps as a trace, on the clock [`STEP`] describes, with the outputs they
    /// caused: what a run's picture is drawn from.
    pub trace: Vec<TraceEvent>,
    /// The trace's hash, as a run's (same schedule and build, same hash).
    pub trace_hash: u64,
}

/// Why a schedule cannot be followed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A step names a move that is not possible where the schedule has got to.
    #[error(
        "step {index} of the schedule ({step:?}) is not possible there: no such message in flight, timer pending, idle client or fault left in the budget"
    )]
    NotEnabled {
        /// The step's index, from 0.
        index: usize,
        /// The step.
        step: Step,
    },
}

/// Follows `schedule` from the start of `setup`, step by step.
///
/// # Errors
///
/// [`ReplayError::NotEnabled`] at the first step that names no enabled move.
pub fn replay<R, C>(setup: &Setup<R, C>, schedule: &Schedule) -> Result<Replayed<C>, ReplayError>
where
    R: Explorable,
    C: Explorable<Msg = R::Msg>,
{
    let env = Env::new(setup);
    let mut world = World::start(&env);
    let mut narrative = Vec::with_capacity(schedule.steps.len());
    let mut trace = Vec::with_capacity(schedule.steps.len());
    // When each message was sent: the boot's sends at time 0.
    let mut sent_at = vec![Time::ZERO; world.sends() as usize];
    let mut times = vec![Time::ZERO; world.history.len()];
    for (index, step) in schedule.steps.iter().enumerate() {
        let mv = world
            .find(&env, step)
            .ok_or(ReplayError::NotEnabled { index, step: *step })?;
        let now = Time::ZERO + Duration::from_nanos(STEP.as_nanos() * (index as u64 + 1));
        narrative.push(world.describe(mv, &env));
        let traced = world.traced(mv, &env);
        let before = world.history.len();
        let mut ignored = Vec::new();
        world.apply_absorbing(&env, mv, |f| ignored.push(f.traced()));
        sent_at.resize(world.sends() as usize, now);
        if traced.kind != EventKind::Input {
            trace.push(TraceEvent {
                time: now,
                kind: traced.kind,
                node: traced.node,
                peer: traced.peer,
                sent: traced.send.map(|s| sent_at[s as usize]),
                detail: traced.detail,
            });
        }
        for happened in &world.history[before..] {
            trace.push(client_event::<C>(now, setup.replicas.len(), happened));
            times.push(now);
        }
        // Messages their receivers ignore for good arrive, and change nothing, at once.
        for f in ignored {
            trace.push(TraceEvent {
                time: now,
                kind: f.kind,
                node: f.node,
                peer: f.peer,
                sent: f.send.map(|s| sent_at[s as usize]),
                detail: f.detail,
            });
        }
    }
    let mut hash = crate::trace::TraceHash::new(setup.seed);
    for e in &trace {
        let id = |n: Option<crate::NodeId>| n.map_or(u64::from(u32::MAX), |n| u64::from(n.0));
        hash.event(e.time, e.kind, id(e.node), id(e.peer));
    }
    Ok(Replayed {
        history: std::rc::Rc::unwrap_or_clone(world.history),
        times,
        narrative,
        trace,
        trace_hash: hash.finish(),
    })
}

/// A client's input or output as a trace event.
fn client_event<C: crate::Node>(now: Time, replicas: usize, happened: &Happened<C>) -> TraceEvent {
    let (kind, client, detail) = match happened {
        Happened::Invoke { client, input } => (EventKind::Input, client, format!("{input:?}")),
        Happened::Complete { client, output } => (EventKind::Output, client, format!("{output:?}")),
    };
    TraceEvent {
        time: now,
        kind,
        node: Some(crate::NodeId((replicas + client) as u32)),
        peer: None,
        sent: None,
        detail,
    }
}
