//! # benches: what consim's benchmarks measure on
//!
//! The criterion benchmarks live in `benches/`; this library holds what more than one
//! of them, or a benchmark and a test, need: generators of large Jepsen-style
//! histories, deterministic for a seed, so that a reader can be measured on a history
//! of any size without one on disk.
//!
//! - [`list_append_edn`]: a transactional list-append `history.edn`, as Jepsen's
//!   `append` workload writes it.
//! - [`cas_register_edn`]: a single-register `history.edn` of reads, writes and
//!   compare-and-sets.

use std::collections::BTreeMap;
use std::fmt::Write;

/// A generated history and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    /// The history, as EDN op maps one a line.
    pub text: String,
    /// Client invocations.
    pub invocations: usize,
    /// Of them, completed `:ok`.
    pub ok: usize,
    /// Completed `:fail`.
    pub failed: usize,
    /// Completed `:info` (outcome unknown).
    pub unknown: usize,
}

/// Client threads: each runs one process at a time, as Jepsen's workers do.
const THREADS: u64 = 40;

/// A deterministic stream of pseudo-random numbers.
type Draws = checkers::synth::SplitMix64;

/// What a completion says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Fail,
    Info,
}

impl Outcome {
    fn draw(draws: &mut Draws) -> Outcome {
        match draws.below(100) {
            0..=84 => Outcome::Ok,
            85..=94 => Outcome::Fail,
            _ => Outcome::Info,
        }
    }

    fn keyword(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        }
    }
}

/// The bookkeeping every generated history shares: threads, their processes, time,
/// the event index, and the counts.
#[derive(Debug)]
struct Run<Op> {
    draws: Draws,
    /// Per thread: its current process and its pending operation.
    threads: Vec<(u64, Option<Op>)>,
    time_ns: u64,
    index: u64,
    out: Generated,
}

impl<Op> Run<Op> {
    fn new(seed: u64, capacity: usize) -> Run<Op> {
        Run {
            draws: Draws::new(seed),
            threads: (0..THREADS).map(|t| (t, None)).collect(),
            time_ns: 0,
            index: 0,
            out: Generated {
                text: String::with_capacity(capacity + 1024),
                invocations: 0,
                ok: 0,
                failed: 0,
                unknown: 0,
            },
        }
    }

    /// Writes one op map: `{:type …, :f …, :value …, :time …, :process …, :index …}`.
    fn write(&mut self, kind: &str, f: &str, value: &str, process: u64) {
        self.time_ns += 1 + self.draws.below(200_000);
        let (time, index) = (self.time_ns, self.index);
        writeln!(
            self.out.text,
            "{{:type :{kind}, :f :{f}, :value {value}, :time {time}, :process {process}, :index {index}}}"
        )
        .expect("writing to a String never fails");
        self.index += 1;
    }

    /// Counts a completion; after an `:info` the thread goes on as a new process.
    fn complete(&mut self, thread: usize, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.out.ok += 1,
            Outcome::Fail => self.out.failed += 1,
            Outcome::Info => {
                self.out.unknown += 1;
                self.threads[thread].0 += THREADS;
            }
        }
    }
}

/// One micro-operation: a read (`None` until it completes) or an append.
#[derive(Clone, Debug)]
enum Mop {
    Read(u64, Option<Vec<u64>>),
    Append(u64, u64),
}

/// A transactional list-append history of about `bytes` bytes, as Jepsen's `append`
/// workload writes it: transactions of one to four reads and appends over a sliding
/// window of keys, by 40 threads, some failing, some of unknown outcome; reads return
/// the lists as they are when the transaction completes.
///
/// ```
/// let history = benches::list_append_edn(10_000, 7);
/// assert!(history.text.len() >= 10_000);
/// assert!(history.text.starts_with("{:type :invoke, :f :txn, :value [["));
/// assert_eq!(history, benches::list_append_edn(10_000, 7), "deterministic");
/// ```
pub fn list_append_edn(bytes: usize, seed: u64) -> Generated {
    let mut run: Run<Vec<Mop>> = Run::new(seed, bytes);
    let mut lists: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut next_element: BTreeMap<u64, u64> = BTreeMap::new();
    while run.out.text.len() < bytes {
        let thread = run.draws.below(THREADS) as usize;
        let process = run.threads[thread].0;
        match run.threads[thread].1.take() {
            None => {
                // Eight keys in use at a time; each is retired after 600 invocations.
                let base = run.out.invocations as u64 / 75;
                let mops = draw_mops(&mut run.draws, base, &mut next_element);
                run.write("invoke", "txn", &mops_text(&mops), process);
                run.out.invocations += 1;
                run.threads[thread].1 = Some(mops);
                lists.retain(|&k, _| k + 16 >= base);
                next_element.retain(|&k, _| k + 16 >= base);
            }
            Some(mut mops) => {
                let outcome = Outcome::draw(&mut run.draws);
                if outcome == Outcome::Ok {
                    apply(&mut mops, &mut lists);
                }
                run.write(outcome.keyword(), "txn", &mops_text(&mops), process);
                run.complete(thread, outcome);
            }
        }
    }
    run.out
}

fn draw_mops(draws: &mut Draws, base: u64, next_element: &mut BTreeMap<u64, u64>) -> Vec<Mop> {
    let count = 1 + draws.below(4);
    (0..count)
        .map(|_| {
            let key = base + draws.below(8);
            if draws.below(2) == 0 {
                Mop::Read(key, None)
            } else {
                let element = next_element.entry(key).or_insert(1);
                *element += 1;
                Mop::Append(key, *element - 1)
            }
        })
        .collect()
}

/// Commits a transaction: its appends take effect and its reads see them.
fn apply(mops: &mut [Mop], lists: &mut BTreeMap<u64, Vec<u64>>) {
    for mop in mops {
        match mop {
            Mop::Read(key, seen) => *seen = Some(lists.get(key).cloned().unwrap_or_default()),
            Mop::Append(key, element) => lists.entry(*key).or_default().push(*element),
        }
    }
}

fn mops_text(mops: &[Mop]) -> String {
    let mut text = String::from("[");
    for (i, mop) in mops.iter().enumerate() {
        let separator = if i == 0 { "" } else { " " };
        match mop {
            Mop::Read(key, None) => write!(text, "{separator}[:r {key} nil]"),
            Mop::Read(key, Some(list)) => {
                let list: Vec<String> = list.iter().map(u64::to_string).collect();
                write!(text, "{separator}[:r {key} [{}]]", list.join(" "))
            }
            Mop::Append(key, element) => write!(text, "{separator}[:append {key} {element}]"),
        }
        .expect("writing to a String never fails");
    }
    text.push(']');
    text
}

/// A register operation.
#[derive(Clone, Copy, Debug)]
enum RegisterOp {
    Read,
    Write(u64),
    Cas(u64, u64),
}

/// A single-register history of about `bytes` bytes, as Jepsen's `cas-register`
/// workload writes it: reads, writes and compare-and-sets of values 0–4 by 40
/// threads; a cas whose expected value is not the register's fails.
///
/// ```
/// let history = benches::cas_register_edn(10_000, 7);
/// assert!(history.text.len() >= 10_000);
/// assert!(history.text.lines().all(|l| l.starts_with("{:type :")));
/// ```
pub fn cas_register_edn(bytes: usize, seed: u64) -> Generated {
    let mut run: Run<RegisterOp> = Run::new(seed, bytes);
    let mut register: Option<u64> = None;
    while run.out.text.len() < bytes {
        let thread = run.draws.below(THREADS) as usize;
        let process = run.threads[thread].0;
        match run.threads[thread].1.take() {
            None => {
                let op = match run.draws.below(3) {
                    0 => RegisterOp::Read,
                    1 => RegisterOp::Write(run.draws.below(5)),
                    _ => RegisterOp::Cas(run.draws.below(5), run.draws.below(5)),
                };
                let (f, value) = register_text(op, None);
                run.write("invoke", f, &value, process);
                run.out.invocations += 1;
                run.threads[thread].1 = Some(op);
            }
            Some(op) => {
                let mut outcome = Outcome::draw(&mut run.draws);
                if matches!(op, RegisterOp::Cas(from, _) if register != Some(from)) {
                    outcome = Outcome::Fail;
                }
                let read = match (op, outcome) {
                    (RegisterOp::Read, Outcome::Ok) => Some(register),
                    (RegisterOp::Write(v) | RegisterOp::Cas(_, v), Outcome::Ok) => {
                        register = Some(v);
                        None
                    }
                    _ => None,
                };
                let (f, value) = register_text(op, read);
                run.write(outcome.keyword(), f, &value, process);
                run.complete(thread, outcome);
            }
        }
    }
    run.out
}

/// An op's `:f` and `:value`; `read` is what an `:ok` read returned.
fn register_text(op: RegisterOp, read: Option<Option<u64>>) -> (&'static str, String) {
    let show = |v: Option<u64>| v.map_or_else(|| "nil".to_owned(), |v| v.to_string());
    match op {
        RegisterOp::Read => ("read", show(read.flatten())),
        RegisterOp::Write(v) => ("write", v.to_string()),
        RegisterOp::Cas(from, to) => ("cas", format!("[{from} {to}]")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkers::elle::read::{Source, read_str};
    use checkers::formats::{self, Format};
    use checkers::history::EventType;

    #[test]
    fn the_list_append_history_reads_as_its_transactions() {
        let generated = list_append_edn(2_000_000, 1);
        let Source::Transactions(h) = read_str(&generated.text, Format::Auto, "g").unwrap() else {
            panic!("transactions")
        };
        // Every invocation is a transaction, failed ones aside; those still pending
        // at the end are of unknown outcome.
        assert_eq!(h.txns.len() + h.aborted.len(), generated.invocations);
        assert_eq!(h.aborted.len(), generated.failed);
        let ok = h
            .txns
            .iter()
            .filter(|t| t.status == checkers::elle::Status::Ok);
        assert_eq!(ok.count(), generated.ok);
        assert!(generated.unknown > 0 && generated.failed > 0);
        assert!(h.txns.iter().any(|t| t.mops.len() == 4));
        // Reads see the appends committed before them: the history is serializable.
        let report = checkers::elle::check(&h, &checkers::elle::Options::default()).unwrap();
        assert!(report.ok(), "{:?}", report.anomalies.first());
    }

    #[test]
    fn the_cas_history_reads_as_its_events() {
        let generated = cas_register_edn(1_000_000, 1);
        let h = formats::read_str(&generated.text, Format::Auto, "g").unwrap();
        let invocations = h.events.iter().filter(|e| e.kind == EventType::Invoke);
        assert_eq!(invocations.count(), generated.invocations);
        let info = h.events.iter().filter(|e| e.kind == EventType::Info);
        assert_eq!(info.count(), generated.unknown);
        let Source::Operations { ops, .. } = read_str(&generated.text, Format::Edn, "g").unwrap()
        else {
            panic!("single operations")
        };
        assert_eq!(ops.len(), generated.invocations - generated.failed);
    }
}
