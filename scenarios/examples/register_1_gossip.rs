//! Build and break, step 1 of 4: a replicated register, written the obvious way. The
//! book's chapter *Build and break* starts here; step 2 (`register_2_quorums.rs`)
//! fixes what this one gets wrong.
//!
//! Every replica keeps its own copy of every key. A client sends everything to its
//! home replica, which answers a read from its copy, and applies a write to its copy,
//! answers, and tells the other replicas. Under a partition the others do not hear:
//!
//! ```sh
//! cargo run --release -p consim --example register_1_gossip -- sweep --scenario partition-halves --stop-on-failure
//! ```

// ANCHOR: declaration
use consim::prelude::*;

settings! {
    /// The register's settings.
    struct Settings {
        /// Replicas.
        "replicas" replicas: usize = 3, in 1..=9, explore 1..=5;
    }
}

/// The model: its name, what it claims (consim checks the claim), the workload to
/// run it with (reads and writes of registers), and how to build it from its settings.
const REGISTER: Declaration<Settings, Settings> = Declaration {
    info: ModelInfo::new(
        "register-gossip",
        "step 1: a copy per replica, writes told to the others",
    )
    .promises(&[Guarantee::Linearizable])
    .workload(Mix::Register)
    .scenario("partition-halves"),
    build: Ok,
};

/// The whole `consim` command line, for this model.
fn main() -> std::process::ExitCode {
    consim::main(REGISTER)
}
// ANCHOR_END: declaration

// ANCHOR: replica
/// Replica-to-replica messages: a write another replica took.
#[derive(Clone, Debug, Hash)]
enum Peer {
    Write(Request),
}

#[derive(Clone, Debug, Hash)]
struct Register {
    replicas: usize,
    /// This replica's copy of every key (`Store` applies requests to registers).
    copy: Store,
}

impl Node for Register {
    type Config = usize; // How many replicas there are.
    type Msg = Wire<Peer>;
    type Timer = ();
    type Durable = ();
    type Input = Infallible;
    type Output = Infallible;

    fn start(replicas: &usize, _ctx: &mut Ctx<'_, Self>) -> Self {
        Register {
            replicas: *replicas,
            copy: Store::default(),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Wire<Peer>) {
        match msg {
            Wire::Client(ClientMsg::Request { id, request, .. }) => match request {
                Request::Read { .. } | Request::Write { .. } => {
                    let done = self.copy.apply(&request);
                    ctx.send(from, reply(id, Answer::Done(done), 0));
                    if request.is_write() {
                        let me = ctx.id();
                        for to in (0..self.replicas as u32).map(NodeId).filter(|&to| to != me) {
                            ctx.send(to, Wire::Peer(Peer::Write(request)));
                        }
                    }
                }
                Request::Cas { .. } | Request::Append { .. } => {
                    let reason = "a register serves read and write only";
                    ctx.send(from, reply(id, Answer::Refused { reason }, 0));
                }
            },
            Wire::Client(ClientMsg::Reply { .. }) => {}
            Wire::Peer(Peer::Write(request)) => {
                self.copy.apply(&request);
            }
        }
    }
}

impl Replica for Register {
    type Peer = Peer;
}
// ANCHOR_END: replica

// ANCHOR: model
impl Model for Settings {
    type Replica = Register;

    /// One replica per `--replicas`, each told how many there are.
    fn replicas(&self) -> Vec<usize> {
        vec![self.replicas; self.replicas]
    }

    /// Each client sends everything to its home replica.
    fn routing(&self) -> Routing {
        Routing::Home
    }

    /// A write is sent once, never retried elsewhere.
    fn client(&self, base: ClientConfig) -> ClientConfig {
        base.writes_sent_once()
    }
}
// ANCHOR_END: model

#[cfg(test)]
mod tests {
    use super::*;

    /// The book's *Build and break* chapter shows what this step prints.
    #[test]
    fn the_book_shows_what_the_commands_print() {
        let shown = consim::shown::check_book_example(
            REGISTER,
            "build-and-break.md",
            "register_1_gossip",
            &["register-gossip.html"],
        );
        assert_eq!(shown.unwrap_or_else(|e| panic!("{e}")), 3);
    }
}
