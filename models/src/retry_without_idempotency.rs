//! `retry-without-idempotency`: `single-copy` whose clients retry timed-out writes
//! without idempotency keys.
//!
//! The server is [`single_copy::Server`], unchanged; only the clients differ
//! ([`Model::client`]): every attempt gets a fresh request number, and a write that
//! timed out is retried anyway (up to three attempts in all). When the first attempt
//! took effect and only its answer was lost or late, the retry applies it a second
//! time: an append shows up twice in the list, a write comes back after a newer one.
//! Either way the history is not linearizable, which `single-copy` promises.
//!
//! Compare `single-copy` itself: its clients send one idempotency key for every
//! attempt of an operation, and the server answers a retry from its
//! [`crate::client::Dedup`] table instead of applying it again.

use crate::client::{ClientConfig, Routing};
use crate::single_copy::{self, Server};
use crate::{Model, ModelError, Params};

/// The model the runner builds.
///
/// ```
/// use models::retry_without_idempotency::RetryWithoutIdempotency;
/// use models::client::{ClientConfig, Routing};
/// use models::{Model, Params};
/// use sim_core::NodeId;
/// let model = RetryWithoutIdempotency::new(Params::default())?;
/// let client = model.client(ClientConfig::new(vec![NodeId(0)], 0, Routing::Home));
/// assert!(!client.idempotency && client.retry.retry_unsafe);
/// # Ok::<(), models::ModelError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RetryWithoutIdempotency;

const NAME: &str = "retry-without-idempotency";

impl RetryWithoutIdempotency {
    /// Builds the model; like `single-copy`, it takes no settings and one replica.
    pub fn new(params: Params) -> Result<RetryWithoutIdempotency, ModelError> {
        single_copy::SingleCopy::checked(NAME, params)?;
        Ok(RetryWithoutIdempotency)
    }
}

impl Model for RetryWithoutIdempotency {
    type Replica = Server;

    fn replicas(&self) -> Vec<()> {
        single_copy::SingleCopy.replicas()
    }

    fn routing(&self) -> Routing {
        Routing::Home
    }

    /// The bug: no idempotency keys, and timed-out writes retried regardless.
    fn client(&self, mut base: ClientConfig) -> ClientConfig {
        base.idempotency = false;
        base.retry.retry_unsafe = true;
        base.retry.max_attempts = base.retry.max_attempts.max(3);
        base
    }
}
