//! `relay`: the kernel benchmark's workload, as a protocol.
//!
//! Every node sends one message to a random other node when it starts, and every
//! delivery makes the receiver send one more to a random other node. The number of
//! messages in flight stays equal to the number of nodes (minus what faults destroy),
//! so the run measures the kernel's per-delivery cost and nothing else.

use std::convert::Infallible;

use sim_core::{Ctx, Node, NodeId};

/// The relay's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayConfig {
    /// How many relay nodes there are (ids `0..nodes`).
    pub nodes: u32,
}

/// A node that passes every message it receives on to a random other node.
///
/// ```
/// use models::relay::{Relay, RelayConfig};
/// use sim_core::Sim;
///
/// let mut builder = Sim::<Relay>::builder(1);
/// for _ in 0..5 {
///     builder = builder.replica(RelayConfig { nodes: 5 });
/// }
/// let mut sim = builder.build()?;
/// sim.run_deliveries(1_000);
/// assert_eq!(sim.stats().deliveries, 1_000);
/// # Ok::<(), sim_core::BuildError>(())
/// ```
#[derive(Debug)]
pub struct Relay {
    nodes: u32,
}

impl Relay {
    #[inline]
    fn pass_on(&self, ctx: &mut Ctx<'_, Self>) {
        let me = ctx.id().0;
        let pick = ctx.rng().below(u64::from(self.nodes - 1)) as u32;
        let to = if pick >= me { pick + 1 } else { pick };
        ctx.send(NodeId(to), ());
    }
}

impl Node for Relay {
    type Config = RelayConfig;
    type Msg = ();
    type Timer = Infallible;
    type Durable = ();
    type Input = Infallible;
    type Output = Infallible;

    fn start(config: &RelayConfig, ctx: &mut Ctx<'_, Self>) -> Self {
        assert!(
            config.nodes >= 2,
            "a relay needs at least 2 nodes, got {}",
            config.nodes
        );
        let relay = Relay {
            nodes: config.nodes,
        };
        relay.pass_on(ctx);
        relay
    }

    #[inline]
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, _from: NodeId, _msg: ()) {
        self.pass_on(ctx);
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<'_, Self>, timer: Infallible) {
        match timer {}
    }
}
