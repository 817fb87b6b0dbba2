//! Scripts: a workload written down. A script is each client's list of operations, in
//! the order the client performs them, with when each one starts: a think time after
//! the client's previous operation ended (a closed loop), or the moment it arrives at
//! its client (an open loop, where it then waits until the client is free).
//!
//! Every run records the script its clients followed ([`crate::report::RunReport::script`]),
//! each operation as arriving when it arrived (in a closed loop, when its client
//! invoked it), and a run given a script ([`crate::config::RunConfig::script`],
//! `--script FILE`) follows it instead of drawing operations from the seed. A run of a
//! seed with its own script is the same run, event for event; and because each
//! operation keeps its own start, removing one leaves the others where they were. That
//! is what lets the shrinker remove any operation of any client, not only cut the
//! workload short, and replay the result.
//!
//! On disk a script is JSON Lines (`script.jsonl` in a failing seed's artifacts), one
//! operation per line, in each client's order:
//!
//! ```text
//! {"client":0,"request":{"write":{"key":1,"value":1}},"think":0}
//! {"client":1,"request":{"read":{"key":1}},"think":2000000}
//! {"client":0,"request":{"cas":{"key":1,"from":1,"to":2}},"arrival":150000000}
//! ```
//!
//! `think` and `arrival` are nanoseconds of simulated time; an operation has one or the
//! other (neither: no think time). The final reads are not in it: after the quiet time
//! every client still reads every key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use models::kv::{Key, Request};
use serde::{Deserialize, Serialize};
use sim_core::{Duration, Time};

use crate::workload::Mix;

/// When a scripted operation starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// This long after the client's previous operation ended (or after the run
    /// started, for its first).
    Think(Duration),
    /// At this moment, or when the client's previous operation ends if that is later.
    Arrival(Time),
}

/// One operation of a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scripted {
    /// What the client asks for.
    pub request: Request,
    /// When.
    pub start: Start,
}

/// Each client's operations, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    clients: Vec<Vec<Scripted>>,
}

/// One line of a script file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    client: usize,
    request: Request,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    think: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    arrival: Option<Time>,
}

/// What a script must fit: the run's clients, keys and operation mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fit {
    /// Clients in the run.
    pub clients: usize,
    /// Keys are `0..keys`.
    pub keys: Key,
    /// The mix, which says which requests the checkers can judge.
    pub mix: Mix,
}

/// Why a script cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScriptError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not a scripted operation, or one the run cannot perform.
    #[error("{origin}:{line}: {message}")]
    Line {
        /// The file (or `<string>`).
        origin: String,
        /// The line, from 1.
        line: usize,
        /// What was expected.
        message: String,
    },
    /// An operation of a script built in code that the run cannot perform.
    #[error("the script's operation {index} of client {client}: {message}")]
    Op {
        /// The client.
        client: usize,
        /// Its position in the client's list, from 0.
        index: usize,
        /// What is wrong.
        message: String,
    },
}

impl Script {
    /// An empty script for `clients` clients.
    pub fn new(clients: usize) -> Script {
        Script {
            clients: vec![Vec::new(); clients],
        }
    }

    /// Appends `op` to `client`'s list (adding clients up to it).
    pub fn push(&mut self, client: usize, op: Scripted) {
        if self.clients.len() <= client {
            self.clients.resize(client + 1, Vec::new());
        }
        self.clients[client].push(op);
    }

    /// Each client's operations.
    pub fn clients(&self) -> &[Vec<Scripted>] {
        &self.clients
    }

    /// Each client's operations, to change.
    pub fn clients_mut(&mut self) -> &mut Vec<Vec<Scripted>> {
        &mut self.clients
    }

    /// Operations in all.
    pub fn len(&self) -> usize {
        self.clients.iter().map(Vec::len).sum()
    }

    /// Whether no client has an operation.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys the operations use, in order.
    pub fn keys(&self) -> BTreeSet<Key> {
        self.ops().map(|op| op.request.key()).collect()
    }

    fn ops(&self) -> impl Iterator<Item = &Scripted> {
        self.clients.iter().flatten()
    }

    /// The script as JSON Lines: each client's operations in order, client by client.
    ///
    /// ```
    /// use consim::script::{Script, Scripted, Start};
    /// use models::kv::Request;
    /// use sim_core::Duration;
    /// let mut script = Script::new(2);
    /// let think = Start::Think(Duration::ZERO);
    /// script.push(1, Scripted { request: Request::Read { key: 0 }, start: think });
    /// assert_eq!(script.to_jsonl(), "{\"client\":1,\"request\":{\"read\":{\"key\":0}},\"think\":0}\n");
    /// assert_eq!(Script::from_jsonl_str(&script.to_jsonl())?.clients()[1], script.clients()[1]);
    /// # Ok::<(), consim::script::ScriptError>(())
    /// ```
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for (client, ops) in self.clients.iter().enumerate() {
            for op in ops {
                let (think, arrival) = match op.start {
                    Start::Think(d) => (Some(d), None),
                    Start::Arrival(t) => (None, Some(t)),
                };
                let line = Line {
                    client,
                    request: op.request,
                    think,
                    arrival,
                };
                out.push_str(&serde_json::to_string(&line).expect("a script always serialises"));
                out.push('\n');
            }
        }
        out
    }

    /// Reads a script from JSON Lines text; errors name the line.
    pub fn from_jsonl_str(text: &str) -> Result<Script, ScriptError> {
        Self::parse(text, "<string>")
    }

    /// Reads a script file; errors name the file and line.
    pub fn load(path: &Path) -> Result<Script, ScriptError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScriptError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    fn parse(text: &str, origin: &str) -> Result<Script, ScriptError> {
        let mut script = Script::default();
        for (number, text) in text.lines().enumerate() {
            if text.trim().is_empty() {
                continue;
            }
            let error = |message: String| ScriptError::Line {
                origin: origin.to_owned(),
                line: number + 1,
                message,
            };
            let line: Line = serde_json::from_str(text).map_err(|e| {
                error(format!(
                    "expected an operation such as {{\"client\":0,\"request\":{{\"read\":{{\"key\":0}}}},\"think\":0}}: {}",
                    e.to_string().split(" at line ").next().unwrap_or("")
                ))
            })?;
            let start = match (line.think, line.arrival) {
                (Some(_), Some(_)) => {
                    return Err(error(
                        "an operation has a think time or an arrival, not both".into(),
                    ));
                }
                (_, Some(at)) => Start::Arrival(at),
                (think, None) => Start::Think(think.unwrap_or(Duration::ZERO)),
            };
            if line.client >= 100_000 {
                return Err(error(format!(
                    "client {} is not a client number",
                    line.client
                )));
            }
            script.push(
                line.client,
                Scripted {
                    request: line.request,
                    start,
                },
            );
        }
        Ok(script)
    }

    /// Checks that the run `fit` describes can perform every operation: its clients
    /// exist, its keys are in range, its requests belong to the mix, and no value is
    /// written twice (the checkers tell writes apart by their values).
    pub fn validate(&self, fit: Fit) -> Result<(), ScriptError> {
        if self.clients.len() > fit.clients
            && self.clients[fit.clients..].iter().any(|c| !c.is_empty())
        {
            let client = (fit.clients..self.clients.len())
                .find(|&c| !self.clients[c].is_empty())
                .expect("a client past the run's has operations");
            return Err(ScriptError::Op {
                client,
                index: 0,
                message: format!(
                    "the run has {} clients (0 to {})",
                    fit.clients,
                    fit.clients.saturating_sub(1)
                ),
            });
        }
        let mut written = BTreeSet::new();
        for (client, ops) in self.clients.iter().enumerate() {
            for (index, op) in ops.iter().enumerate() {
                check_op(op, fit, &mut written).map_err(|message| ScriptError::Op {
                    client,
                    index,
                    message,
                })?;
            }
        }
        Ok(())
    }
}

/// Whether a run that fits `fit` can perform `op`, given the values `written` before
/// it (to which it adds its own).
fn check_op(op: &Scripted, fit: Fit, written: &mut BTreeSet<u64>) -> Result<(), String> {
    let limit = crate::config::SIMULATED_TIME_LIMIT;
    let (start, late) = match op.start {
        Start::Think(d) => (format!("a think time of {d}"), d > limit),
        Start::Arrival(t) => (format!("an arrival at {t}"), t > Time::ZERO + limit),
    };
    if late {
        return Err(format!(
            "{start}, but a run stops after {limit} of simulated time"
        ));
    }
    let request = &op.request;
    let key = request.key();
    if key >= fit.keys {
        return Err(match fit.keys {
            0 => "the workload has no keys".to_owned(),
            keys => format!("key {key}, but the workload's keys are 0 to {}", keys - 1),
        });
    }
    let allowed = match request {
        Request::Read { .. } => true,
        Request::Write { .. } => fit.mix != Mix::ListAppend,
        Request::Cas { .. } => fit.mix == Mix::Kv,
        Request::Append { .. } => fit.mix == Mix::ListAppend,
    };
    if !allowed {
        return Err(format!("a {} workload has no {request:?}", fit.mix.name()));
    }
    if let Some(value) = request.written()
        && !written.insert(value)
    {
        return Err(format!(
            "value {value} is written twice; every write must write a value of its own"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit() -> Fit {
        Fit {
            clients: 2,
            keys: 3,
            mix: Mix::Kv,
        }
    }

    /// The law the shrinker stands on: a run of a seed with the script it recorded is
    /// the same run, for every model, closed loop and open.
    #[test]
    fn a_run_with_its_own_script_is_the_same_run() {
        use crate::config::RunConfig;
        use crate::nemesis::Nemesis;
        use crate::workload::{Rate, WorkloadConfig};
        for info in models::catalog() {
            for seed in 0..3 {
                let mut config = RunConfig::new(info.name, seed);
                config.nemesis = Nemesis::from_name(info.default_scenario).unwrap();
                if seed == 2 {
                    config.workload = Some(WorkloadConfig {
                        mix: info.workload,
                        rate: Some(Rate::new(40.0).unwrap()),
                        ops: u64::MAX,
                        ..WorkloadConfig::default()
                    });
                }
                let seeded = crate::run::run(&config).unwrap();
                assert!(
                    seeded.script.len() as u64 >= seeded.ops.total(),
                    "{}",
                    info.name
                );
                config.script = Some(seeded.script.clone());
                let scripted = crate::run::run(&config).unwrap();
                let what = format!("{} seed {seed}", info.name);
                assert_eq!(scripted.trace_hash, seeded.trace_hash, "{what}");
                assert_eq!(scripted.history, seeded.history, "{what}");
                assert_eq!(scripted.ops, seeded.ops, "{what}");
                assert_eq!(scripted.script, seeded.script, "{what}");
                assert_eq!(scripted.failed(), seeded.failed(), "{what}");
            }
        }
    }

    #[test]
    fn a_script_reads_back_as_written() {
        let mut script = Script::new(3);
        script.push(
            0,
            Scripted {
                request: Request::Cas {
                    key: 2,
                    from: 1,
                    to: 7,
                },
                start: Start::Arrival(Time::from_nanos(15)),
            },
        );
        script.push(
            2,
            Scripted {
                request: Request::Write { key: 0, value: 9 },
                start: Start::Think(Duration::from_millis(3)),
            },
        );
        let back = Script::from_jsonl_str(&script.to_jsonl()).unwrap();
        // Client 1 had nothing, and the file does not say a run has it: the run does.
        assert_eq!(back.clients()[0], script.clients()[0]);
        assert_eq!(back.clients()[2], script.clients()[2]);
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn bad_lines_name_the_line_and_what_was_expected() {
        let text = "{\"client\":0,\"request\":{\"read\":{\"key\":0}}}\n\n{\"client\":0,\"request\":{\"fly\":{}}}\n";
        let error = Script::parse(text, "s.jsonl").unwrap_err().to_string();
        assert!(
            error.starts_with("s.jsonl:3: expected an operation"),
            "{error}"
        );
        let both = "{\"client\":0,\"request\":{\"read\":{\"key\":0}},\"think\":1,\"arrival\":2}";
        let error = Script::parse(both, "s.jsonl").unwrap_err().to_string();
        assert_eq!(
            error,
            "s.jsonl:1: an operation has a think time or an arrival, not both"
        );
    }

    #[test]
    fn operations_the_run_cannot_perform_are_refused() {
        let think = Start::Think(Duration::ZERO);
        let one = |client, request| {
            let mut s = Script::new(2);
            s.push(
                client,
                Scripted {
                    request,
                    start: think,
                },
            );
            s.validate(fit()).map_err(|e| e.to_string())
        };
        assert!(one(1, Request::Read { key: 2 }).is_ok());
        assert!(
            one(2, Request::Read { key: 0 })
                .unwrap_err()
                .contains("the run has 2 clients")
        );
        assert!(
            one(0, Request::Read { key: 3 })
                .unwrap_err()
                .contains("keys are 0 to 2")
        );
        assert!(
            one(0, Request::Append { key: 0, value: 1 })
                .unwrap_err()
                .contains("a kv workload has no")
        );
        // A start past the run's time limit would overflow simulated time.
        let mut late = Script::new(1);
        let read = Request::Read { key: 0 };
        for start in [
            Start::Think(Duration::from_nanos(u64::MAX)),
            Start::Arrival(Time::from_nanos(u64::MAX)),
        ] {
            late.clients_mut()[0] = vec![Scripted {
                request: read,
                start,
            }];
            let error = late.validate(fit()).unwrap_err().to_string();
            assert!(error.contains("a run stops after"), "{error}");
        }
        let no_keys = Fit { keys: 0, ..fit() };
        let mut s = Script::new(1);
        s.push(
            0,
            Scripted {
                request: read,
                start: think,
            },
        );
        let error = s.validate(no_keys).unwrap_err().to_string();
        assert!(error.contains("the workload has no keys"), "{error}");
        let mut twice = Script::new(2);
        for client in 0..2 {
            twice.push(
                client,
                Scripted {
                    request: Request::Write { key: 0, value: 4 },
                    start: think,
                },
            );
        }
        let error = twice.validate(fit()).unwrap_err().to_string();
        assert_eq!(
            error,
            "the script's operation 0 of client 1: value 4 is written twice; every write must write a value of its own"
        );
    }
}
