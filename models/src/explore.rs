//! Exploring every schedule of a model's small configuration (see
//! [`sim_core::explore`] for the semantics and the reduction).
//!
//! A model offers exploration through [`Model::exploration`]: its replica type, and
//! the shared [`Client`] over its peer messages, must be [`Explorable`] (clone and
//! hash), and its safety must not rest on timing, because exploration lets any
//! pending timer fire next. A model that offers it writes one line:
//!
//! ```ignore
//! fn exploration(&self) -> Option<Box<dyn Explore + '_>> {
//!     Some(Box::new(Explorer(self)))
//! }
//! ```
//!
//! The runner ([`consim explore`](../../consim/index.html)) then builds the clients,
//! hands each its operations, and judges every history with the model's checkers.

use sim_core::explore::{
    Budget, Explorable, Exploration, Happened, Judgement, Order, Reduction, ReplayError, Schedule,
    Setup,
};

use crate::Model;
use crate::client::{Client, ClientConfig};
use crate::kv::{Op, Outcome};

/// A client event of an explored history, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// Client `client` (index among the clients) invoked `op`.
    Invoke {
        /// Index among the clients.
        client: usize,
        /// The operation.
        op: Op,
    },
    /// Client `client` reported `outcome`.
    Complete {
        /// Index among the clients.
        client: usize,
        /// The outcome.
        outcome: Outcome,
    },
}

/// What to explore: the clients and their operations, the fault budget and limits.
#[derive(Clone, Debug)]
pub struct Exploring {
    /// One config per client (from [`Model::client`]).
    pub clients: Vec<ClientConfig>,
    /// Each client's operations, in order.
    pub inputs: Vec<Vec<Op>>,
    /// Seeds the nodes' random streams.
    pub seed: u64,
    /// Faults and timer firings allowed along one schedule.
    pub budget: Budget,
    /// Whether to skip reorderings of independent events.
    pub reduction: Reduction,
    /// Keep in flight the messages their receivers ignore for good (see
    /// [`sim_core::Node::ignores`]).
    pub keep_ignored: bool,
    /// Breadth or depth first.
    pub order: Order,
    /// Stop (unknown) beyond this many distinct states.
    pub max_states: u64,
}

/// What following a schedule produced.
#[derive(Clone, Debug)]
pub struct Replayed {
    /// The clients' history, in order.
    pub history: Vec<ClientEvent>,
    /// When each history event happened, on the replay's clock
    /// ([`sim_core::explore::STEP`] per step).
    pub times: Vec<sim_core::Time>,
    /// One line per step.
    pub narrative: Vec<String>,
    /// The steps as a trace, with the outputs they caused.
    pub trace: Vec<sim_core::TraceEvent>,
    /// The trace's hash.
    pub trace_hash: u64,
}

/// A model's exploration, with its types hidden: what [`Model::exploration`] returns.
pub trait Explore {
    /// Explores every schedule; `judge` decides each history, `stop` is asked now and
    /// then whether to give up, and why.
    fn explore(
        &self,
        what: &Exploring,
        judge: &mut dyn FnMut(&[ClientEvent]) -> Judgement,
        stop: &mut dyn FnMut() -> Option<String>,
    ) -> Exploration;

    /// Follows `schedule` step by step.
    ///
    /// # Errors
    ///
    /// When a step names a move that is not possible where the schedule has got to.
    fn replay(&self, what: &Exploring, schedule: &Schedule) -> Result<Replayed, ReplayError>;
}

/// The [`Explore`] of a model whose replicas and clients are [`Explorable`].
#[derive(Debug)]
pub struct Explorer<'a, M>(pub &'a M);

impl<M: Model> Explorer<'_, M>
where
    M::Replica: Explorable,
    <M::Replica as crate::Replica>::Peer: std::hash::Hash,
{
    fn setup(
        &self,
        what: &Exploring,
    ) -> Setup<M::Replica, Client<<M::Replica as crate::Replica>::Peer>> {
        Setup {
            replicas: self.0.replicas(),
            clients: what.clients.clone(),
            inputs: what.inputs.clone(),
            seed: what.seed,
            budget: what.budget,
            reduction: what.reduction,
            keep_ignored: what.keep_ignored,
            order: what.order,
            max_states: what.max_states,
        }
    }
}

fn events<C>(history: &[Happened<C>]) -> Vec<ClientEvent>
where
    C: sim_core::Node<Input = Op, Output = Outcome>,
{
    history
        .iter()
        .map(|h| match h {
            Happened::Invoke { client, input } => ClientEvent::Invoke {
                client: *client,
                op: *input,
            },
            Happened::Complete { client, output } => ClientEvent::Complete {
                client: *client,
                outcome: output.clone(),
            },
        })
        .collect()
}

impl<M: Model> Explore for Explorer<'_, M>
where
    M::Replica: Explorable,
    <M::Replica as crate::Replica>::Peer: std::hash::Hash,
{
    fn explore(
        &self,
        what: &Exploring,
        judge: &mut dyn FnMut(&[ClientEvent]) -> Judgement,
        stop: &mut dyn FnMut() -> Option<String>,
    ) -> Exploration {
        let setup = self.setup(what);
        let mut judge = |history: &[Happened<_>]| judge(&events(history));
        sim_core::explore::explore(&setup, &mut judge, stop)
    }

    fn replay(&self, what: &Exploring, schedule: &Schedule) -> Result<Replayed, ReplayError> {
        let setup = self.setup(what);
        let replayed = sim_core::explore::replay(&setup, schedule)?;
        Ok(Replayed {
            history: events(&replayed.history),
            times: replayed.times,
            narrative: replayed.narrative,
            trace: replayed.trace,
            trace_hash: replayed.trace_hash,
        })
    }
}
