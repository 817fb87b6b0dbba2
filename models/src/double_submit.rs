//! `double-submit`: `single-copy` whose users submit one write in five twice (a
//! double-click, a form sent again) without an idempotency key.
//!
//! The server is [`crate::single_copy::Server`], unchanged; only the clients differ
//! ([`crate::Model::client`]): a share of writes is sent a second time within 300 ms of the
//! first ([`crate::client::DoubleSubmit`]), and since the client sends no idempotency key, the second
//! submit is a request of its own, which the server applies again. The user meant one
//! payment and was charged twice: an append shows up twice in the list, which the
//! effects-per-intent check (`checkers::effects`, judging
//! [`Guarantee::NoDuplicateEffects`]) reports with both positions.
//!
//! The fix is the endpoint's idempotency key: run `single-copy` with the same double
//! submits (`consim run --model single-copy --double-submit 0.2`) and the second submit
//! carries the first's key; the server answers it from its [`crate::client::Dedup`]
//! table instead of applying it. Unlike `retry-without-idempotency`, this needs no
//! fault at all: the user does it.

use crate::client::ClientConfig;
use crate::kv::Mix;
use crate::single_copy::{SingleCopySettings, WithClients};
use crate::{Declaration, Guarantee, ModelInfo};

/// double-submit in the catalog: single-copy's settings, its server, and clients of
/// its own.
///
/// ```
/// use models::double_submit::DOUBLE_SUBMIT;
/// use models::client::{ClientConfig, DoubleSubmit, Routing};
/// use models::{Model, Params};
/// use sim_core::NodeId;
/// let model = DOUBLE_SUBMIT.model(&Params::default())?;
/// let client = model.client(ClientConfig::new(vec![NodeId(0)], 0, Routing::Home));
/// assert!(!client.idempotency);
/// assert_eq!(client.double_submit, Some(DoubleSubmit::default()));
/// # Ok::<(), models::ModelError>(())
/// ```
pub const DOUBLE_SUBMIT: Declaration<SingleCopySettings, WithClients> = Declaration {
    info: ModelInfo {
        name: "double-submit",
        summary: "single-copy whose users submit one write in five twice (a double-click) without an idempotency key, so the second submit applies again",
        promises: &[],
        variant_of: Some("single-copy"),
        breaks: &[Guarantee::NoDuplicateEffects],
        // Seed 0, in every one of seeds 0..200 (swarm too; pinned by scenarios'
        // `the_bug_zoos_seed_statistics`).
        default_scenario: "none",
        workload: Mix::ListAppend,
        settings: &[],
    },
    build: |_| Ok(WithClients(clients)),
};

/// The bug: users submit writes twice, and the client sends no idempotency keys.
pub fn clients(mut base: ClientConfig) -> ClientConfig {
    base.idempotency = false;
    base.double_submit = Some(base.double_submit.unwrap_or_default());
    base
}
