//! Following a schedule move for move.

use super::world::{Env, World};
use super::{Explorable, Happened, Schedule, Setup, Step};
use crate::Clock;

/// What following a schedule produced.
#[derive(Debug)]
pub struct Replayed<C: crate::Node> {
    /// The clients' history, in order.
    pub history: Vec<Happened<C>>,
    /// One line per step, for people: who did what, with the message or timer.
    pub narrative: Vec<String>,
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
    let env = Env {
        setup,
        clock: Clock::default(),
    };
    let mut world = World::start(&env);
    let mut narrative = Vec::with_capacity(schedule.steps.len());
    for (index, step) in schedule.steps.iter().enumerate() {
        let mv = world
            .find(&env, step)
            .ok_or(ReplayError::NotEnabled { index, step: *step })?;
        narrative.push(world.describe(mv, &env));
        world.apply(&env, mv);
    }
    Ok(Replayed {
        history: std::rc::Rc::unwrap_or_clone(world.history),
        narrative,
    })
}
