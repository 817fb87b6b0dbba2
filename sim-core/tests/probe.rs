//! A node built to be checked: it relays a message forever, keeps timers going, writes
//! durable state and reports everything it sees as outputs.

use std::collections::BTreeSet;

use sim_core::{Ctx, Duration, Node, NodeId, Time};

/// Durable state of a probe.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Disk {
    pub boots: u64,
    pub writes: u64,
}

/// What a probe reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    /// Booted; what survived on disk.
    Booted(Disk),
    /// Synced; what is now safe.
    Synced(Disk),
    /// The local clock at an event.
    Tick(Time),
    /// A message arrived.
    Got { from: NodeId, msg: Hop },
    /// A timer set in boot `set_in` fired in boot `now_in` (a kernel bug if they differ).
    StaleTimer { set_in: u64, now_in: u64 },
    /// A cancelled timer fired (a kernel bug).
    CancelledFired,
}

#[derive(Clone, Debug)]
pub struct ProbeConfig {
    pub processes: u32,
    /// Whether to start a relay chain on boot.
    pub relay: bool,
}

#[derive(Debug)]
pub struct Probe {
    processes: u32,
    relay: bool,
    boot: u64,
    /// Messages already forwarded, so that duplicated messages do not multiply the
    /// traffic.
    forwarded: BTreeSet<Hop>,
}

/// A relayed message: the chain it belongs to (who started it, in which boot) and how
/// many hops it has made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hop {
    pub origin: NodeId,
    pub boot: u64,
    pub hop: u64,
}

/// Timer payload: the boot it was set in, and whether it is one the probe cancels.
pub type Alarm = (u64, bool);

impl Probe {
    fn forward(&self, ctx: &mut Ctx<'_, Self>, msg: Hop) {
        if !self.relay || self.processes < 2 {
            return;
        }
        let me = ctx.id().0;
        let pick = ctx.rng().below(u64::from(self.processes - 1)) as u32;
        let to = if pick >= me { pick + 1 } else { pick };
        ctx.send(NodeId(to), msg);
    }

    fn arm(&self, ctx: &mut Ctx<'_, Self>) {
        let after = Duration::from_millis(ctx.rng().between(1, 50));
        ctx.set_timer(after, (self.boot, false));
        // A decoy, cancelled at once: it must never fire.
        let decoy = ctx.set_timer(after, (self.boot, true));
        assert!(ctx.cancel_timer(decoy));
        assert!(
            !ctx.cancel_timer(decoy),
            "cancelling twice reports the second as moot"
        );
    }
}

impl Node for Probe {
    type Config = ProbeConfig;
    type Msg = Hop;
    type Timer = Alarm;
    type Durable = Disk;
    type Input = u64;
    type Output = Out;

    fn start(config: &ProbeConfig, ctx: &mut Ctx<'_, Self>) -> Self {
        ctx.output(Out::Booted(ctx.durable().clone()));
        ctx.durable_mut().boots += 1;
        ctx.sync();
        ctx.output(Out::Synced(ctx.durable().clone()));
        let probe = Probe {
            processes: config.processes,
            relay: config.relay,
            boot: ctx.durable().boots,
            forwarded: BTreeSet::new(),
        };
        ctx.output(Out::Tick(ctx.now()));
        probe.arm(ctx);
        let chain = Hop {
            origin: ctx.id(),
            boot: probe.boot,
            hop: 0,
        };
        probe.forward(ctx, chain);
        probe
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Hop) {
        ctx.output(Out::Tick(ctx.now()));
        ctx.output(Out::Got { from, msg });
        ctx.durable_mut().writes += 1;
        if msg.hop % 2 == 0 {
            ctx.sync();
            ctx.output(Out::Synced(ctx.durable().clone()));
        }
        if self.forwarded.insert(msg) {
            self.forward(
                ctx,
                Hop {
                    hop: msg.hop + 1,
                    ..msg
                },
            );
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, (set_in, cancelled): Alarm) {
        ctx.output(Out::Tick(ctx.now()));
        if cancelled {
            ctx.output(Out::CancelledFired);
        }
        if set_in != self.boot {
            ctx.output(Out::StaleTimer {
                set_in,
                now_in: self.boot,
            });
        }
        self.arm(ctx);
    }

    fn on_input(&mut self, ctx: &mut Ctx<'_, Self>, hop: u64) {
        ctx.output(Out::Tick(ctx.now()));
        let msg = Hop {
            origin: ctx.id(),
            boot: self.boot,
            hop,
        };
        self.forward(ctx, msg);
    }
}
