//! Brooker's contention experiment (*Exponential Backoff and Jitter*, AWS Architecture
//! Blog, 2015): `N` clients each complete one compare-and-set on one key of a
//! single-copy store, retrying on conflict, and the retry policy decides how much
//! work that takes.
//!
//! Each client reads the key, then asks to swap what it read for a value of its own.
//! If another client's swap got there first, the compare fails: the client waits as
//! its [`Backoff`] says (consim's client defaults: 20 ms doubling per attempt, at most
//! 400 ms), reads again and tries again, until its swap succeeds. Every link takes
//! exactly [`LINK_LATENCY`] each way, so that only the backoff, not the network,
//! spreads the clients out; all clients begin their first read at the same moment,
//! [`START`], after one write has given the key its first value.
//!
//! The measures, per policy and `N`: **calls**, the compare-and-sets sent by all
//! clients (what Brooker plots as the work done), and **time to finish**, from
//! [`START`] to the last client's success.

use std::convert::Infallible;

use models::client::{Backoff, ClientMsg, NoPeers, RequestId, RetryPolicy, Wire};
use models::kv::{Reply, Request};
use models::single_copy::Server;
use sim_core::{Ctx, Duration, Latency, LinkConfig, Node, NodeId, Sim, Time};

/// The one-way latency of every link.
pub const LINK_LATENCY: Duration = Duration::from_millis(1);
/// When every client reads the key for the first time.
pub const START: Duration = Duration::from_millis(10);
/// The key contended for.
const KEY: u64 = 0;

/// What one run of the experiment came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Compare-and-sets sent by all clients.
    pub calls: u64,
    /// From [`START`] to the last success.
    pub finish: Duration,
}

/// One contending client.
#[derive(Debug)]
struct Contender {
    policy: RetryPolicy,
    /// Compare-and-sets sent so far.
    calls: u32,
    last_backoff: Duration,
    next_seq: u64,
    done: bool,
}

/// Why a contender's timer fired.
#[derive(Clone, Copy, Debug)]
enum Wake {
    /// Read the key (the first time, or after a backoff).
    Read,
}

impl Contender {
    fn send(&mut self, ctx: &mut Ctx<'_, Self>, request: Request) {
        let id = RequestId {
            client: ctx.id(),
            seq: self.next_seq,
        };
        self.next_seq += 1;
        let msg = ClientMsg::Request {
            id,
            request,
            token: 0,
            deadline: None,
        };
        ctx.send(NodeId(0), Wire::Client(msg));
    }
}

impl Node for Contender {
    type Config = RetryPolicy;
    type Msg = Wire<NoPeers>;
    type Timer = Wake;
    type Durable = ();
    type Input = Infallible;
    type Output = u32;

    fn start(policy: &RetryPolicy, ctx: &mut Ctx<'_, Self>) -> Self {
        let mut me = Contender {
            policy: *policy,
            calls: 0,
            last_backoff: Duration::ZERO,
            next_seq: 0,
            done: false,
        };
        if ctx.id() == NodeId(1) {
            // The key's first value, in place well before anyone reads.
            me.send(ctx, Request::Write { key: KEY, value: 0 });
        }
        ctx.set_timer(START, Wake::Read);
        me
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, _: Wake) {
        self.send(ctx, Request::Read { key: KEY });
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, _: NodeId, msg: Wire<NoPeers>) {
        let Wire::Client(ClientMsg::Reply { answer, .. }) = msg else {
            return;
        };
        let models::client::Answer::Done(reply) = answer else {
            unreachable!("a single-copy server without faults answers everything: {answer:?}");
        };
        match reply {
            Reply::Read(seen) => {
                let from = seen.expect("the key was written before anyone read it");
                self.calls += 1;
                // A value no one else swaps in: the client's id and its attempt.
                let to = u64::from(ctx.id().0) * 1_000_000 + u64::from(self.calls);
                self.send(ctx, Request::Cas { key: KEY, from, to });
            }
            Reply::CasMismatch(_) => {
                let policy = self.policy;
                let wait = policy
                    .backoff
                    .delay(&policy, self.calls, self.last_backoff, ctx.rng());
                self.last_backoff = wait;
                ctx.set_timer(wait, Wake::Read);
            }
            Reply::Swapped if !self.done => {
                self.done = true;
                ctx.output(self.calls);
            }
            _ => {}
        }
    }
}

/// Runs the experiment: `clients` clients retrying after `backoff` (with consim's
/// default base and cap), seed `seed`.
///
/// ```
/// use consim::contention::contend;
/// use models::client::Backoff;
/// let run = contend(10, Backoff::Exponential, 1);
/// // In lockstep, one client wins each round: 10 + 9 + … + 1 calls.
/// assert_eq!(run.calls, 55);
/// ```
pub fn contend(clients: u32, backoff: Backoff, seed: u64) -> Outcome {
    let policy = RetryPolicy {
        backoff,
        ..RetryPolicy::default()
    };
    let mut builder = Sim::<Server, Contender>::with_clients(seed)
        .links(LinkConfig {
            latency: Latency::constant(LINK_LATENCY),
            ..LinkConfig::default()
        })
        .replica(());
    for _ in 0..clients {
        builder = builder.client(policy);
    }
    let mut sim = builder.build().expect("a valid experiment");
    let mut calls = 0;
    let mut finished = 0;
    let mut last = Time::ZERO;
    while finished < clients {
        assert!(
            sim.step(),
            "the experiment stalled with {finished} of {clients} done"
        );
        for emitted in sim.drain_client_outputs() {
            calls += u64::from(emitted.output);
            finished += 1;
            last = emitted.time;
        }
    }
    Outcome {
        calls,
        finish: last.saturating_since(Time::ZERO + START),
    }
}

/// The experiment's table: for each policy, the calls and the time to finish with
/// each number of `clients`, each the mean over `seeds` seeds (1, 2, …), as Markdown.
pub fn table(clients: &[u32], seeds: u64) -> String {
    let mut header = "| retry policy |".to_owned();
    let mut rule = "|---|".to_owned();
    for n in clients {
        header += &format!(" calls, N={n} | time to finish, N={n} |");
        rule += "---:|---:|";
    }
    let mut out = format!("{header}\n{rule}\n");
    for (name, backoff) in Backoff::ALL {
        let mut row = format!("| {name} |");
        for &n in clients {
            let runs: Vec<Outcome> = (1..=seeds).map(|seed| contend(n, backoff, seed)).collect();
            let calls = runs.iter().map(|r| r.calls).sum::<u64>() as f64 / seeds as f64;
            let ms =
                runs.iter().map(|r| r.finish.as_nanos()).sum::<u64>() as f64 / seeds as f64 / 1e6;
            row += &format!(" {calls:.0} | {ms:.0} ms |");
        }
        out += &row;
        out.push('\n');
    }
    out
}
