//! A model of your own, run through consim's nemeses, workloads and checkers.
//!
//! `primary-backup` is not in consim's catalog: it lives in this file, as a model of
//! yours would live in your crate. A primary (`n0`) applies each write, syncs it, and
//! answers only once the backup (`n1`) has it too; it serves every read. With
//! `--bug read-from-backup` clients also read from the backup, which is a bug: a read
//! at the backup can miss a write that a read at the primary has already shown.
//!
//! Its `main` is one line, and gives it the whole `consim` command line:
//!
//! ```sh
//! cargo run --release -p consim --example primary_backup -- sweep --seeds 0..500
//! cargo run --release -p consim --example primary_backup -- sweep --seeds 0..500 --bug read-from-backup
//! ```
//!
//! The second sweep finds a linearizability violation, writes its artifacts under
//! `consim-out/` and prints the command that replays it; `shrink` with that seed
//! shrinks it. `cargo test` runs this file's tests.

// ANCHOR: declaration
use std::collections::BTreeMap;

use consim::prelude::*;

settings! {
    /// primary-backup's settings.
    struct PbSettings {
        /// Clients read from the backup too (a bug: it can miss an answered write).
        bug "read-from-backup" read_from_backup: bool = false;
    }
}

/// The model, as `--model primary-backup` (the default: the only one) names it. Its
/// settings are all the runner needs to build it, so they are the model.
const PRIMARY_BACKUP: Declaration<PbSettings, PbSettings> = Declaration {
    info: ModelInfo::new("primary-backup", "a primary, and a backup it waits for")
        .promises(&[Guarantee::Linearizable, Guarantee::NoLostWrites]),
    build: Ok,
};

fn main() -> std::process::ExitCode {
    consim::main(PRIMARY_BACKUP)
}
// ANCHOR_END: declaration

// ANCHOR: node
/// The primary, always.
const PRIMARY: NodeId = NodeId(0);
/// The backup, always.
const BACKUP: NodeId = NodeId(1);
/// How often the primary resends what the backup has not acknowledged.
const RESEND: Duration = Duration::from_millis(20);

/// Replica-to-replica messages.
#[derive(Clone, Debug, Hash)]
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
#[derive(Clone, Debug, Default, Hash)]
struct Data {
    store: Store,
    log: imbl::Vector<Request>,
    dedup: Dedup,
}

// Clone and Hash let `consim explore` copy and fingerprint its states.
#[derive(Clone, Debug, Hash)]
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

    fn deadline(msg: &Self::Msg) -> Option<sim_core::Duration> {
        models::client::request_deadline(msg)
    }

    fn class(msg: &Self::Msg) -> usize {
        models::client::request_class(msg)
    }

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
impl Model for PbSettings {
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

    /// Its safety rests on the primary waiting for the backup, not on timing, so
    /// `consim explore` may try every order of its events.
    fn exploration(&self) -> Option<Box<dyn Explore + '_>> {
        Some(Box::new(Explorer(self)))
    }
}
// ANCHOR_END: model

#[cfg(test)]
mod tests {
    use super::*;

    use consim::shrink::Shrunk;

    /// The model's runs, on two threads, leaving artifacts in the test's own folder.
    fn harness() -> Harness<Declaration<PbSettings, PbSettings>> {
        let out = std::env::temp_dir().join("consim-primary-backup-tests");
        Harness::new(PRIMARY_BACKUP).jobs(2).out(out)
    }

    fn config(nemesis: Nemesis, seed: u64, read_from_backup: bool) -> RunConfig {
        let mut config = RunConfig::new(PRIMARY_BACKUP.info.name, seed);
        config.nemesis = nemesis;
        if read_from_backup {
            config.params = config.params.with("read-from-backup", true);
        }
        config
    }

    /// Every schedule of three clients (an append, a read at the backup, a read at
    /// the primary): the model passes, the bug is found, as `consim explore` says.
    #[test]
    fn exploration_passes_the_model_and_finds_the_bug() {
        let mut explore = ExploreConfig {
            model: PRIMARY_BACKUP.info.name.to_owned(),
            params: Vec::new(),
            pattern: "a/r/r".parse().unwrap(),
            budget: Default::default(),
            reduction: Default::default(),
            keep_ignored: false,
            order: Default::default(),
            max_states: 1_000_000,
            seed: 0,
            timeout_ms: 500,
            attempts: 1,
        };
        let fine = consim::explore::explore(&PRIMARY_BACKUP, &explore, &mut || None).unwrap();
        assert!(
            matches!(fine.outcome, ExploreOutcome::Ok),
            "{:?}",
            fine.outcome
        );
        explore
            .params
            .push(("read-from-backup".to_owned(), "true".to_owned()));
        let bug = consim::explore::explore(&PRIMARY_BACKUP, &explore, &mut || None).unwrap();
        assert!(
            matches!(bug.outcome, ExploreOutcome::Violation { .. }),
            "{:?}",
            bug.outcome
        );
    }

    /// The first failing seed of `seeds` under `nemesis`.
    fn first_failure(nemesis: Nemesis, seeds: std::ops::Range<u64>, bug: bool) -> Option<u64> {
        let seeds: Vec<u64> = seeds.collect();
        let base = config(nemesis, 0, bug);
        let totals = harness().sweep(&base, &seeds, Until::FirstFailure, |_| {});
        totals.expect("runs").first_failure
    }

    #[test]
    fn the_model_keeps_its_promises_under_every_nemesis() {
        for nemesis in Nemesis::ALL {
            assert_eq!(
                first_failure(nemesis, 0..20, false),
                None,
                "{}",
                nemesis.name()
            );
        }
    }

    #[test]
    fn reading_from_the_backup_is_caught_and_shrinks() {
        let seed = first_failure(Nemesis::Swarm, 0..20, true).expect("a violation in 20 seeds");
        let failing = config(Nemesis::Swarm, seed, true);
        let shrunk: Shrunk = harness()
            .shrink(&failing, 100)
            .expect("runs")
            .expect("fails");
        assert!(shrunk.report.failed());
        assert!(
            shrunk.size.ops < shrunk.original.ops && shrunk.size.faults < shrunk.original.faults,
            "{shrunk:?}"
        );
    }

    #[test]
    fn a_seed_repeats_exactly_and_does_work() {
        let config = config(Nemesis::Swarm, 11, false);
        let (report, divergence) = harness().check_determinism(&config).expect("runs");
        assert_eq!(divergence, None);
        assert!(report.ops.ok > 100, "{:?}", report.ops);
    }

    /// The book's *Writing a model* chapter shows what this program prints.
    #[test]
    fn the_book_shows_what_the_commands_print() {
        let page = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../book/src/writing-a-model.md"
        );
        let dir = std::env::temp_dir().join(format!("consim-pb-book-{}", std::process::id()));
        let command = "cargo run --release -p consim --example primary_backup --";
        let harness = harness().command(command).out(dir);
        let shown = consim::shown::check_page(&harness, page.as_ref(), "primary_backup");
        assert_eq!(shown.unwrap_or_else(|e| panic!("{e}")), 4);
    }

    /// Seed 428's history proves four anomalies: a chain of three operations
    /// (G-single-item-process), a cycle of two that real time closes (process 3 read
    /// key 2 without the append of 9 it had completed before; G-single-item-realtime,
    /// implied by the first and reported because it is shorter) and two session
    /// violations of two operations each; the violation shown is a smallest one, the
    /// first found among equals.
    #[test]
    fn the_smallest_witness_is_shown() {
        let report = harness()
            .run(&config(Nemesis::Swarm, 428, true))
            .expect("runs");
        let shown = report.verdicts.iter().find_map(|v| match &v.judgement {
            consim::report::Judgement::Violation { explanation } => Some(explanation),
            _ => None,
        });
        let shown = shown.expect("a violation");
        assert!(
            shown.starts_with("G-single-item-realtime: Let T1 = process 3 append 9 to 2"),
            "{shown}"
        );
    }

    #[test]
    fn the_replay_line_names_the_bug() {
        let harness =
            harness().command("cargo run --release -p consim --example primary_backup --");
        assert_eq!(
            harness
                .replay(
                    &config(Nemesis::Swarm, 3, true),
                    consim::config::ReplayFiles::NONE
                )
                .expect("on the command line"),
            "cargo run --release -p consim --example primary_backup -- run \
             --model primary-backup --scenario swarm --seed 3 --bug read-from-backup"
        );
    }
}
