//! A model of your own, run through consim's nemeses, workloads and checkers.
//!
//! `primary-backup` is not in consim's catalog: it lives in this file, as a model of
//! yours would live in your crate. A primary (`n0`) applies each write, syncs it, and
//! answers only once the backup (`n1`) has it too; it serves every read. With
//! `--read-from-backup` clients also read from the backup, which is a bug: a read at
//! the backup can miss a write that a read at the primary has already shown.
//!
//! ```sh
//! cargo run --release -p scenarios --example primary_backup -- --seeds 0..500
//! cargo run --release -p scenarios --example primary_backup -- --seeds 0..500 --read-from-backup
//! ```
//!
//! The second sweep finds a linearizability violation, prints the command that replays
//! it, and shrinks its fault plan. `cargo test` runs this file's tests.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::convert::Infallible;

use models::client::{Answer, ClientMsg, Dedup, RequestId, Routing, Wire, reply};
use models::kv::{Mix, Reply, Request, Store};
use models::{Guarantee, Model, ModelInfo, Replica};
use scenarios::config::RunConfig;
use scenarios::nemesis::Nemesis;
use scenarios::report::{Judgement, RunError, RunReport};
use scenarios::run::{check_determinism_with, run_with};
use scenarios::shrink::shrink_with;
use scenarios::sweep::{parse_seeds, sweep_with};
use sim_core::{Ctx, Duration, Node, NodeId};

// ANCHOR: node
/// The primary, always.
const PRIMARY: NodeId = NodeId(0);
/// The backup, always.
const BACKUP: NodeId = NodeId(1);
/// How often the primary resends what the backup has not acknowledged.
const RESEND: Duration = Duration::from_millis(20);

/// Replica-to-replica messages.
#[derive(Clone, Debug)]
enum Peer {
    /// Log entries `from + 1 ..= from + entries.len()`.
    Append {
        from: u64,
        entries: imbl::Vector<Request>,
    },
    /// The backup holds the first `len` entries.
    Ack { len: u64 },
}

/// What survives a crash: the data, the log that made it, and the idempotency table.
#[derive(Clone, Debug, Default)]
struct Data {
    store: Store,
    log: imbl::Vector<Request>,
    dedup: Dedup,
}

#[derive(Debug)]
struct PbReplica {
    me: NodeId,
    read_from_backup: bool,
    /// On the primary: how much of the log the backup acknowledged (volatile: after
    /// a restart the primary resends from the start, and the backup skips what it has).
    acked: u64,
    /// On the primary: writes waiting for the backup, by log position.
    waiting: BTreeMap<u64, (NodeId, RequestId, Reply)>,
}

impl PbReplica {
    fn len(ctx: &Ctx<'_, Self>) -> u64 {
        ctx.durable().log.len() as u64
    }

    fn send_unacked(&self, ctx: &mut Ctx<'_, Self>) {
        let log = &ctx.durable().log;
        if self.acked < log.len() as u64 {
            let entries = log.skip(self.acked as usize);
            let from = self.acked;
            ctx.send(BACKUP, Wire::Peer(Peer::Append { from, entries }));
        }
    }

    fn on_request(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        client: NodeId,
        id: RequestId,
        request: Request,
    ) {
        let me = self.me;
        if !request.is_write() && (me == PRIMARY || self.read_from_backup) {
            let done = ctx.durable().store.read(request.key());
            ctx.send(client, reply(id, Answer::Done(done), 0));
        } else if me != PRIMARY {
            ctx.send(client, reply(id, Answer::Redirect { to: Some(PRIMARY) }, 0));
        } else if self.waiting.values().any(|w| w.1 == id) {
            // A retry of a write still waiting for the backup: it is answered then.
        } else if let Some(done) = ctx.durable().dedup.seen(id) {
            let done = done.clone(); // Applied and replicated before: answer again.
            ctx.send(client, reply(id, Answer::Done(done), 0));
        } else {
            let data = ctx.durable_mut();
            let done = data.store.apply(&request);
            data.log.push_back(request);
            data.dedup.record(id, done.clone());
            ctx.sync(); // Durable before anyone hears of it.
            self.waiting.insert(Self::len(ctx), (client, id, done));
            self.send_unacked(ctx);
        }
    }

    /// The backup applies what it does not have yet, syncs, and says how far it got.
    fn on_append(&mut self, ctx: &mut Ctx<'_, Self>, from: u64, entries: imbl::Vector<Request>) {
        let len = Self::len(ctx);
        if from <= len && len < from + entries.len() as u64 {
            let data = ctx.durable_mut();
            for request in entries.skip((len - from) as usize) {
                data.store.apply(&request);
                data.log.push_back(request);
            }
            ctx.sync();
        }
        let len = Self::len(ctx);
        ctx.send(PRIMARY, Wire::Peer(Peer::Ack { len }));
    }

    /// The primary answers the writes the backup now holds.
    fn on_ack(&mut self, ctx: &mut Ctx<'_, Self>, len: u64) {
        self.acked = self.acked.max(len.min(Self::len(ctx)));
        while let Some(entry) = self.waiting.first_entry() {
            if *entry.key() > self.acked {
                break;
            }
            let (client, id, done) = entry.remove();
            ctx.send(client, reply(id, Answer::Done(done), 0));
        }
    }
}

impl Node for PbReplica {
    type Config = bool; // read_from_backup
    type Msg = Wire<Peer>;
    type Timer = ();
    type Durable = Data;
    type Input = Infallible;
    type Output = Infallible;

    fn start(read_from_backup: &bool, ctx: &mut Ctx<'_, Self>) -> Self {
        if ctx.id() == PRIMARY {
            ctx.set_timer(RESEND, ());
        }
        PbReplica {
            me: ctx.id(),
            read_from_backup: *read_from_backup,
            acked: 0,
            waiting: BTreeMap::new(),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Wire<Peer>) {
        match msg {
            Wire::Client(ClientMsg::Request { id, request, .. }) => {
                self.on_request(ctx, from, id, request);
            }
            Wire::Client(ClientMsg::Reply { .. }) => {}
            Wire::Peer(Peer::Append {
                from: start,
                entries,
            }) if ctx.id() == BACKUP => {
                self.on_append(ctx, start, entries);
            }
            Wire::Peer(Peer::Ack { len }) if ctx.id() == PRIMARY => self.on_ack(ctx, len),
            Wire::Peer(_) => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, (): ()) {
        self.send_unacked(ctx); // Lost appends and acks are repaired here.
        ctx.set_timer(RESEND, ());
    }
}

impl Replica for PbReplica {
    type Peer = Peer;

    fn leads(&self) -> bool {
        // `isolate-leader` cuts off whoever says yes: the primary.
        self.me == PRIMARY
    }
}
// ANCHOR_END: node

// ANCHOR: model
/// The model: two replicas, and where clients send what.
struct PrimaryBackup {
    read_from_backup: bool,
}

impl Model for PrimaryBackup {
    type Replica = PbReplica;

    fn replicas(&self) -> Vec<bool> {
        vec![self.read_from_backup; 2]
    }

    fn routing(&self) -> Routing {
        if self.read_from_backup {
            Routing::ReadsHomeWritesLeader // Reads to the client's home: either replica.
        } else {
            Routing::Leader
        }
    }
}

/// What it promises, for the runner to check.
const INFO: ModelInfo = ModelInfo {
    name: "primary-backup",
    summary: "a primary that answers a write once its backup has it, and serves reads",
    promises: &[Guarantee::Linearizable, Guarantee::NoLostWrites],
    variant_of: None,
    breaks: &[],
    default_scenario: "swarm",
    workload: Mix::ListAppend,
    settings: &[],
};
// ANCHOR_END: model

// ANCHOR: run
/// Runs one configuration of the model: what `sweep_with` and `shrink_with` call.
fn run(config: &RunConfig, read_from_backup: bool) -> Result<RunReport, RunError> {
    run_with(config, &PrimaryBackup { read_from_backup }, &INFO)
}
// ANCHOR_END: run

/// The example's command line: `--seeds A..B`, `--scenario NEMESIS`,
/// `--read-from-backup`.
struct Args {
    seeds: Vec<u64>,
    nemesis: Nemesis,
    read_from_backup: bool,
}

fn parse_args() -> Result<Args, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seeds = parse_seeds(&value("--seeds").unwrap_or_else(|| "0..200".to_owned()))?;
    let scenario = value("--scenario").unwrap_or_else(|| "swarm".to_owned());
    let nemesis = Nemesis::from_name(&scenario).ok_or_else(|| {
        format!(
            "unknown nemesis `{scenario}`: {}",
            Nemesis::names().join(", ")
        )
    })?;
    Ok(Args {
        seeds: seeds.collect(),
        nemesis,
        read_from_backup: args.iter().any(|a| a == "--read-from-backup"),
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let read_from_backup = args.read_from_backup;
    let runner = |config: &RunConfig| run(config, read_from_backup);
    let mut base = RunConfig::new(INFO.name, 0);
    base.nemesis = args.nemesis;
    // A model must be deterministic (no hash-map order, wall clock or unseeded
    // randomness): run the first seed twice and compare the traces.
    base.seed = args.seeds.first().copied().unwrap_or(0);
    let (_, divergence) = check_determinism_with(&base, &runner)?;
    if let Some(d) = divergence {
        return Err(format!("seed {} is not deterministic: {d:?}", base.seed).into());
    }
    let mut first_failure = None;
    let totals = sweep_with(&base, &args.seeds, 2, true, &runner, |report| {
        if report.failed() {
            first_failure = Some(report.clone());
        }
    })?;
    let variant = if read_from_backup {
        " (reads from the backup)"
    } else {
        ""
    };
    println!(
        "primary-backup{variant} under {}: {} seeds, {} failed",
        args.nemesis.name(),
        totals.runs,
        totals.failures
    );
    match first_failure {
        Some(report) => explain(&args, base, &report),
        None => Ok(()),
    }
}

/// What a failing seed violated, its replay line, and how far it shrinks.
fn explain(
    args: &Args,
    mut base: RunConfig,
    report: &RunReport,
) -> Result<(), Box<dyn std::error::Error>> {
    for verdict in &report.verdicts {
        if let Judgement::Violation { explanation } = &verdict.judgement {
            println!(
                "seed {}: {:?} violated: {explanation}",
                report.seed, verdict.guarantee
            );
        }
    }
    let flag = if args.read_from_backup {
        " --read-from-backup"
    } else {
        ""
    };
    println!(
        "replay: cargo run --release -p scenarios --example primary_backup -- --seeds {}..{} --scenario {}{flag}",
        report.seed,
        report.seed + 1,
        args.nemesis.name(),
    );
    base.seed = report.seed;
    let read_from_backup = args.read_from_backup;
    if let Some(shrunk) = shrink_with(&base, 200, &|config: &RunConfig| {
        run(config, read_from_backup)
    })? {
        println!(
            "shrunk: {} faults to {}, {} clients to {}, {} keys to {}, {} operations to {}, in {} runs",
            shrunk.original_faults,
            shrunk.plan.faults.len(),
            shrunk.original_clients,
            shrunk.clients,
            shrunk.original_keys,
            shrunk.keys,
            shrunk.original_ops,
            shrunk.ops,
            shrunk.runs
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(nemesis: Nemesis, seeds: std::ops::Range<u64>, read_from_backup: bool) -> Option<u64> {
        let mut base = RunConfig::new(INFO.name, 0);
        base.nemesis = nemesis;
        let seeds: Vec<u64> = seeds.collect();
        let runner = |config: &RunConfig| run(config, read_from_backup);
        let totals = sweep_with(&base, &seeds, 2, true, &runner, |_| {}).expect("runs");
        totals.first_failure
    }

    #[test]
    fn the_model_keeps_its_promises_under_every_nemesis() {
        for nemesis in Nemesis::ALL {
            assert_eq!(sweep(nemesis, 0..20, false), None, "{}", nemesis.name());
        }
    }

    #[test]
    fn reading_from_the_backup_is_caught() {
        let found = sweep(Nemesis::Swarm, 0..20, true);
        assert!(found.is_some(), "no violation in 20 seeds");
    }

    #[test]
    fn a_seed_repeats_exactly() {
        let config = RunConfig::new(INFO.name, 11);
        let a = run(&config, false).expect("runs");
        let b = run(&config, false).expect("runs");
        assert_eq!(a.trace_hash, b.trace_hash);
        assert_eq!(a.history, b.history);
        assert!(a.ops.ok > 0, "{:?}", a.ops);
    }
}
