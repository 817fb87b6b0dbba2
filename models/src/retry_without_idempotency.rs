//! `retry-without-idempotency`: `single-copy` whose clients retry timed-out writes
//! without idempotency keys.
//!
//! The server is [`crate::single_copy::Server`], unchanged; only the clients differ
//! ([`crate::Model::client`]): every attempt gets a fresh request number, and a write that
//! timed out is retried anyway (up to three attempts in all). When the first attempt
//! took effect and only its answer was lost or late, the retry applies it a second
//! time: an append shows up twice in the list, a write comes back after a newer one.
//! Either way the history is not linearizable, which `single-copy` promises; the
//! doubled append is a duplicate effect too (`no-duplicate-effects`).
//! `double-submit` is the same mistake made by the user, with no fault needed.
//!
//! Compare `single-copy` itself: its clients send one idempotency key for every
//! attempt of an operation, and the server answers a retry from its
//! [`crate::client::Dedup`] table instead of applying it again.

use crate::client::ClientConfig;
use crate::kv::Mix;
use crate::single_copy::{SingleCopySettings, WithClients};
use crate::{Declaration, Guarantee, ModelInfo};

/// retry-without-idempotency in the catalog: single-copy's settings, its server, and
/// clients of its own.
///
/// ```
/// use models::retry_without_idempotency::RETRY_WITHOUT_IDEMPOTENCY;
/// use models::client::{ClientConfig, Routing};
/// use models::{Model, Params};
/// use sim_core::NodeId;
/// let model = RETRY_WITHOUT_IDEMPOTENCY.model(&Params::default())?;
/// let client = model.client(ClientConfig::new(vec![NodeId(0)], 0, Routing::Home));
/// assert!(!client.idempotency && client.retry.retry_unsafe);
/// # Ok::<(), models::ModelError>(())
/// ```
pub const RETRY_WITHOUT_IDEMPOTENCY: Declaration<SingleCopySettings, WithClients> = Declaration {
    info: ModelInfo {
        name: "retry-without-idempotency",
        summary: "single-copy whose clients retry timed-out writes without idempotency keys, so a write can apply twice",
        promises: &[],
        variant_of: Some("single-copy"),
        breaks: &[Guarantee::Linearizable, Guarantee::NoDuplicateEffects],
        // Seed 0, in 188 of seeds 0..200: the paused server applies the held first
        // attempt and its retry (flaky-network: seed 0, 192; isolate-leader: seed 4,
        // 83; partition-halves: seed 0, 126; never under crash-restart, clock-skew,
        // one-way, none; pinned by scenarios' `the_bug_zoos_seed_statistics`).
        default_scenario: "pause",
        workload: Mix::ListAppend,
        settings: &[],
    },
    build: |_| Ok(WithClients(clients)),
};

/// The bug: no idempotency keys, and timed-out writes retried regardless.
pub fn clients(mut base: ClientConfig) -> ClientConfig {
    base.idempotency = false;
    base.retry.retry_unsafe = true;
    base.retry.max_attempts = base.retry.max_attempts.max(3);
    base
}
