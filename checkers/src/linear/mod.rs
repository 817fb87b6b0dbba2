//! The linearizability checker.
//!
//! Wing and Gong's search (1993) with Lowe's memoisation of (linearized set, state)
//! (2017), in the linked-list form Porcupine uses, plus what makes it fast:
//!
//! - **P-compositionality**: each key is checked alone, on both cores.
//! - **A proposed order, checked** ([`Options::try_proposed_order`], which the runner
//!   turns on): a specification may propose a linearization read off the results
//!   ([`SequentialSpec::propose_order`]: for list-append, the longest read's order);
//!   if it satisfies the definition, it is the proof and no search runs. A correct
//!   store's list-append history passes; anything else is searched as usual.
//! - **Two orders, taking turns** (`Search::run`): the search tries the operations
//!   that returned either earliest return first (the one that has to be linearized
//!   soonest) or earliest invocation first (Porcupine's order). Each search is
//!   complete, so the order changes only how soon it decides (and, for a violation,
//!   which deepest prefix explains it), not what it decides; but at 30–60 concurrent
//!   clients one order can commit early to a mistake that costs millions of
//!   configurations, and which order does depends on the history (a generated
//!   60-process, 10,000-operation cas history: 22 M configurations and the 60 s budget
//!   by invocation, 7,277 configurations by return; other seeds the other way round).
//!   So the two take turns, each from scratch for a slice of configurations that
//!   doubles every round, which costs at most about four times the better order's
//!   effort.
//! - **Greedy reads**: an operation that never changes the state (a read) and is
//!   allowed now can be linearized now without losing any solution — if a
//!   linearization exists, moving such a read to the front of what remains keeps it
//!   valid. So reads never branch, and a read that leads to an explored dead end proves
//!   the present configuration dead too. `info` reads constrain nothing and are dropped.
//! - **Identical operations are tried once** ([`twins`]): of several operations with
//!   the same function, key, input and output that could all come next, only the one
//!   that returns first (of unknown ones, the one invoked first) is tried. Jepsen's
//!   cas-register histories draw values from 0–4, so at 30–60 concurrent clients most
//!   candidates have a twin.
//! - **`info` operations only where they matter**: an operation of unknown outcome may
//!   take effect any time after its call, or never, so a search that tries each one at
//!   every point multiplies its configurations by every subset of them. The search
//!   keeps to a normal form instead. Call a maximal stretch of consecutive `info`
//!   operations in a linearization a *run*, and the operation after it *X*. If X could
//!   take effect without the run and leave the same state (a write always can; a read
//!   or cas of the state before the run can), dropping the run leaves a linearization,
//!   because operations of unknown outcome need not happen; a run at the very end can
//!   be dropped too; and a run that comes back to the state it started from is a
//!   detour. So some linearization exists if and only if one exists in which every
//!   run ends in an operation that needs it, and never revisits its start; the search
//!   enters only those (`Search::needed`). The state a run started from is part of the
//!   configuration the memo keys on, since it restricts what may follow.
//! - **Doomed reads and cas** (for specifications that [`SequentialSpec::grows`],
//!   through [`SequentialSpec::requires`],
//!   which a register does: it only changes by being reset): a pending read or cas
//!   needs some value; once the state is another and no operation that could leave
//!   that value is left to linearize before it returns, the configuration is dead.
//! - **Resets counted** (`Search::starved`, for specifications that say what
//!   [`SequentialSpec::consumes`] a value): a cas 4→1 needs the register to hold 4 and
//!   leaves something else, so two of them need two separate resets to 4 (a write of 4,
//!   a cas to 4 from something else), each invoked before the cas it serves returns,
//!   and a read of 4 invoked after a cas 4→1 returned needs one more. When the
//!   operations left that could make those resets are too few by some return (Hall's
//!   condition, which for these nested choices is a count), the configuration is dead,
//!   long before the doomed-read check would see it: at 30–60 clients a search that
//!   used up a scarce value's writes too early otherwise explores every order of the
//!   dozens of operations between the mistake and the return that shows it (a
//!   generated 60-process, 10,000-operation history: 18 M configurations and the
//!   60 s budget before, 7,274 after).
//! - **Compact configurations** (`memo`): states are interned to `u32`s, spec steps
//!   are cached per (state, operation), and what is linearized is stored as the first
//!   `ok` operation (by return) not yet linearized, the few returning later that are,
//!   and a bitset of the `info` ones; a configuration that used up a superset of the
//!   `info` operations of one seen with the same rest is subsumed by it.
//!
//! `info` operations (and invocations that never completed) may take effect at any time
//! after their call, or never: they have no return entry and need not be linearized.
//! Budgets (time, memory) end in [`Outcome::Unknown`], never in a guess.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::history::{History, Operation, Value};
use crate::shared::{Fx, FxMap, call_line, describe_op, when};
use crate::spec::SequentialSpec;

mod memo;
mod proposed;

use memo::{Layout, Memo};

/// Limits on one check.
#[derive(Clone, Debug)]
pub struct Options {
    /// Give up (verdict `unknown`) after this long.
    pub timeout: Option<Duration>,
    /// Give up (verdict `unknown`) when the search's memory passes this many bytes.
    pub max_memory_bytes: u64,
    /// Keys checked at once.
    pub threads: usize,
    /// Stop at the first violated key, as Porcupine does (the keys not finished are
    /// reported `unknown`). Off by default: consim reports every violated key.
    pub first_violation_only: bool,
    /// Configurations the first, whole-key search may enter before the checker turns
    /// to prefixes of the key's history (see [`check`]).
    pub first_attempt_configs: u64,
    /// Operations in the first prefix tried; each next prefix doubles it.
    pub first_prefix_ops: usize,
    /// Keys already proved not linearizable without a search (by real time alone, see
    /// [`crate::anomalies::register_anomalies`]), with the proof. Such a key is still
    /// searched, for the search's own explanation, but each of its searches (the whole
    /// key's first attempt, then each prefix's) only up to
    /// [`Options::proven_search_configs`]; when one is cut short, or a budget runs out,
    /// the proof is the verdict.
    pub proven: BTreeMap<Option<Value>, crate::anomalies::Found>,
    /// Configurations each search of a proven key may enter.
    pub proven_search_configs: u64,
    /// Describe the state after each operation of a linearizable key's order
    /// ([`Outcome::Linearizable`]'s `states`, which pictures show). On by default; a
    /// caller that needs only the verdict turns it off and gets no states (describing
    /// a list's state after every append is most of a small history's check).
    pub describe_states: bool,
    /// Before searching a key, check the order its specification proposes
    /// ([`SequentialSpec::propose_order`]) against the definition of a linearization,
    /// and take it as the proof if it is one (the key's `explored` is then 0). Off by
    /// default; the runner turns it on (a correct store's history passes at once).
    pub try_proposed_order: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: None,
            max_memory_bytes: 2 << 30,
            threads: 2,
            first_violation_only: false,
            first_attempt_configs: 200_000,
            first_prefix_ops: 32,
            proven: BTreeMap::new(),
            proven_search_configs: 1_000_000,
            describe_states: true,
            try_proposed_order: false,
        }
    }
}

/// What the check concluded about one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Linearizable; `order` is a linearization (indices into the checked operations;
    /// `info` operations that need not have happened are left out).
    Linearizable {
        /// The operations in linearization order.
        order: Vec<usize>,
        /// The state after each of them, for people (empty unless
        /// [`Options::describe_states`]).
        states: Vec<String>,
    },
    /// Not linearizable.
    Violation(Box<Violation>),
    /// The budget ran out first.
    Unknown {
        /// Which budget.
        reason: String,
    },
}

/// Why a key's history is not linearizable: the longest linearizable prefix found, and
/// what could come next but cannot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The longest linearizable prefix found (indices into the checked operations).
    pub prefix: Vec<usize>,
    /// The state after each operation of the prefix, for people.
    pub prefix_states: Vec<String>,
    /// The state after that prefix, for people.
    pub state: String,
    /// The operations that could come next; none of them leads to a linearization.
    pub candidates: Vec<Candidate>,
    /// The operation that has to come next at the latest (the earliest to return of
    /// those left), if any.
    pub blocking: Option<usize>,
    /// One sentence on why the history cannot go on.
    pub sentence: String,
    /// The search did not get to the end: the violation is the proof given in
    /// [`Options::proven`], and `prefix`, `state` and `candidates` are empty.
    pub without_search: bool,
}

impl Violation {
    /// The violation `found` proves, for a search that did not get to the end.
    fn proved(found: &crate::anomalies::Found) -> Violation {
        Violation {
            prefix: Vec::new(),
            prefix_states: Vec::new(),
            state: String::new(),
            candidates: Vec::new(),
            blocking: found.ops.first().copied(),
            sentence: format!(
                "the search ran out of its budget, but real time alone proves it: {}",
                found.sentence()
            ),
            without_search: true,
        }
    }
}

/// An operation that could come next after the longest prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Index into the checked operations.
    pub op: usize,
    /// Why it cannot take effect right there, if it cannot; `None` if it can (but every
    /// way on from it fails later).
    pub impossible: Option<String>,
}

/// One key's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyResult {
    /// The key (`None` for a single-object history).
    pub key: Option<Value>,
    /// How many operations it has.
    pub ops: usize,
    /// The conclusion.
    pub outcome: Outcome,
    /// Configurations the search entered.
    pub explored: u64,
    /// The most memory one of the key's searches held (bytes, as the memory budget
    /// counts it: memo, interned states and cached steps, sampled every 1,024
    /// configurations).
    pub peak_bytes: u64,
}

/// The result of checking a history: every key's result, in key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Operations checked (after dropping `fail`s).
    pub ops: usize,
    /// Per key.
    pub keys: Vec<KeyResult>,
}

/// The overall verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every key is linearizable.
    Ok,
    /// Some key is not.
    Violation,
    /// No key is known to be violated, and some key is undecided.
    Unknown,
}

impl Report {
    /// `violation` if any key is violated, else `unknown` if any is undecided, else `ok`.
    pub fn verdict(&self) -> Verdict {
        let mut verdict = Verdict::Ok;
        for key in &self.keys {
            match key.outcome {
                Outcome::Violation(_) => return Verdict::Violation,
                Outcome::Unknown { .. } => verdict = Verdict::Unknown,
                Outcome::Linearizable { .. } => {}
            }
        }
        verdict
    }

    /// The keys that are not linearizable.
    pub fn keys_violated(&self) -> Vec<Option<Value>> {
        self.keys
            .iter()
            .filter(|k| matches!(k.outcome, Outcome::Violation(_)))
            .map(|k| k.key.clone())
            .collect()
    }
}

/// An operation the specification rejects outright.
#[derive(Debug, thiserror::Error)]
#[error("{line}: {message}")]
pub struct InvalidOperation {
    /// Source line of the operation's invocation.
    pub line: usize,
    /// What the specification said.
    pub message: String,
}

/// Checks `operations` (from [`History::operations`]) of `history` against the
/// sequential specification `spec`.
///
/// ```
/// use checkers::history::History;
/// use checkers::linear::{check, Options, Verdict};
/// use checkers::spec::Register;
/// use checkers::history::Value;
///
/// // p0 writes 1; p1 reads 1 after the write returned, then p1 reads nil: stale.
/// let text = r#"{"process":0,"type":"invoke","f":"write","value":1}
/// {"process":0,"type":"ok","f":"write","value":1}
/// {"process":1,"type":"invoke","f":"read","value":null}
/// {"process":1,"type":"ok","f":"read","value":1}
/// {"process":1,"type":"invoke","f":"read","value":null}
/// {"process":1,"type":"ok","f":"read","value":null}"#;
/// let history = History::from_jsonl(text, "h")?;
/// let ops = history.operations("h")?;
/// let spec = Register { cas: false, initial: Value::Nil };
/// let report = check(&spec, &history, &ops, &Options::default())?;
/// assert_eq!(report.verdict(), Verdict::Violation);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check<M: SequentialSpec>(
    spec: &M,
    history: &History,
    operations: &[Operation],
    options: &Options,
) -> Result<Report, InvalidOperation> {
    for op in operations {
        spec.validate(op).map_err(|message| InvalidOperation {
            line: call_line(history, op),
            message,
        })?;
    }
    let mut partitions: BTreeMap<Option<Value>, Vec<usize>> = BTreeMap::new();
    for (i, op) in operations.iter().enumerate() {
        partitions
            .entry(spec.partition_key(op))
            .or_default()
            .push(i);
    }
    let partitions: Vec<(Option<Value>, Vec<usize>)> = partitions.into_iter().collect();
    let budget = Budget {
        deadline: options.timeout.map(|t| Instant::now() + t),
        max_memory_bytes: options.max_memory_bytes,
        used_bytes: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    };
    let results: Mutex<Vec<Option<KeyResult>>> = Mutex::new(vec![None; partitions.len()]);
    let next = AtomicUsize::new(0);
    let threads = options.threads.clamp(1, partitions.len().max(1));
    // Each worker takes the next key until none is left.
    let work = || {
        loop {
            let job = next.fetch_add(1, Ordering::Relaxed);
            let Some((key, indices)) = partitions.get(job) else {
                break;
            };
            let result = if budget.stop.load(Ordering::Relaxed) {
                stopped(key, indices, options)
            } else {
                check_key(spec, history, operations, key, indices, &budget, options)
            };
            if options.first_violation_only && matches!(result.outcome, Outcome::Violation(_)) {
                budget.stop.store(true, Ordering::Relaxed);
            }
            results.lock().expect("no worker panics while holding it")[job] = Some(result);
        }
    };
    if threads == 1 {
        // One worker: this thread (a thread's spawn and join cost more than most
        // histories' whole check).
        work();
    } else {
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(work);
            }
        });
    }
    let keys = results
        .into_inner()
        .expect("workers are done")
        .into_iter()
        .map(|r| r.expect("every key was checked"))
        .collect();
    Ok(Report {
        ops: operations.len(),
        keys,
    })
}

/// A key left unsearched because another key was found violated first: the proof
/// real time gives, if any, or unknown.
fn stopped(key: &Option<Value>, indices: &[usize], options: &Options) -> KeyResult {
    let outcome = match options.proven.get(key) {
        Some(found) => Outcome::Violation(Box::new(Violation::proved(found))),
        None => Outcome::Unknown {
            reason: STOPPED.to_owned(),
        },
    };
    KeyResult {
        key: key.clone(),
        ops: indices.len(),
        outcome,
        explored: 0,
        peak_bytes: 0,
    }
}

struct Budget {
    deadline: Option<Instant>,
    max_memory_bytes: u64,
    used_bytes: AtomicU64,
    /// Set when another key was found violated and only the first one is wanted.
    stop: AtomicBool,
}

const STOPPED: &str = "not finished: another key was already found violated";

/// Checks one key. A first search of the whole key, with a modest effort cap, decides
/// most keys. If it does not, the checker searches growing prefixes of the key's
/// history (the operations invoked first, those still running at the cut treated as
/// `info`): a prefix that is not linearizable proves the whole history is not (every
/// prefix of a linearizable history is linearizable), and violations usually show early,
/// where the search is small. The last "prefix" is the whole history, without a cap.
fn check_key<M: SequentialSpec>(
    spec: &M,
    history: &History,
    operations: &[Operation],
    key: &Option<Value>,
    indices: &[usize],
    budget: &Budget,
    options: &Options,
) -> KeyResult {
    let kept = constraining(spec, operations, indices);
    if let Some(proved) = proposed_result(spec, operations, key, indices, &kept, options) {
        return proved;
    }
    let proven = options.proven.get(key);
    let mut explored = 0;
    let mut peak_bytes = 0;
    let mut cap = Some(options.first_attempt_configs);
    let mut size = kept.len();
    loop {
        let prefix = prefix_of(spec, operations, &kept, size);
        let ops: Vec<&Operation> = prefix.iter().map(|(_, op)| op.as_ref()).collect();
        let mut search = Search::new(spec, ops);
        let limit = cap.or(proven.map(|_| options.proven_search_configs));
        let (local, steps) = search.run(budget, limit);
        explored += steps;
        peak_bytes = peak_bytes.max(search.peak_bytes);
        search.release(budget);
        let original = |i: usize| prefix[i].0;
        let outcome = match local {
            Local::Capped if cap.is_none() && proven.is_some() => {
                let found = proven.expect("matched a proven key");
                Outcome::Violation(Box::new(Violation::proved(found)))
            }
            Local::Unknown(_) if proven.is_some() => {
                let found = proven.expect("matched a proven key");
                Outcome::Violation(Box::new(Violation::proved(found)))
            }
            Local::Capped => {
                // Too big to decide at once: look for the violation in prefixes.
                cap = None;
                size = options.first_prefix_ops.clamp(1, kept.len().max(1));
                continue;
            }
            Local::Linearizable(_) if size < kept.len() => {
                size = (size * 2).min(kept.len());
                continue;
            }
            Local::Linearizable(order) => {
                assert!(
                    proven.is_none(),
                    "key {key:?}: the search found a linearization of a history real time proves not linearizable ({}): one of the two is wrong",
                    proven
                        .map(crate::anomalies::Found::sentence)
                        .unwrap_or_default()
                );
                let states = if options.describe_states {
                    states_along(spec, &search.ops, &order)
                } else {
                    Vec::new()
                };
                let order = order.into_iter().map(original).collect();
                Outcome::Linearizable { order, states }
            }
            Local::Unknown(reason) => Outcome::Unknown { reason },
            Local::Violation(best) => {
                Outcome::Violation(search.explain_in(&best, history, original))
            }
        };
        return KeyResult {
            key: key.clone(),
            ops: indices.len(),
            outcome,
            explored,
            peak_bytes,
        };
    }
}

/// The operations of `indices` that constrain a linearization, by invocation: all but
/// the reads whose result is unknown.
fn constraining<M: SequentialSpec>(
    spec: &M,
    operations: &[Operation],
    indices: &[usize],
) -> Vec<usize> {
    let mut kept: Vec<usize> = indices
        .iter()
        .copied()
        .filter(|&i| !(operations[i].output.is_none() && spec.is_read_only(&operations[i])))
        .collect();
    kept.sort_by_key(|&i| operations[i].call);
    kept
}

/// The key's result if the order its specification proposes for the `kept` operations
/// (the key's `indices` that constrain) is a linearization ([`Options::try_proposed_order`];
/// not tried on a key proved not linearizable).
fn proposed_result<M: SequentialSpec>(
    spec: &M,
    operations: &[Operation],
    key: &Option<Value>,
    indices: &[usize],
    kept: &[usize],
    options: &Options,
) -> Option<KeyResult> {
    if !options.try_proposed_order || options.proven.contains_key(key) {
        return None;
    }
    let ops: Vec<&Operation> = kept.iter().map(|&i| &operations[i]).collect();
    let order = proposed::proposed_linearization(spec, &ops)?;
    let states = if options.describe_states {
        states_along(spec, &ops, &order)
    } else {
        Vec::new()
    };
    let order = order.into_iter().map(|i| kept[i]).collect();
    Some(KeyResult {
        key: key.clone(),
        ops: indices.len(),
        outcome: Outcome::Linearizable { order, states },
        explored: 0,
        peak_bytes: 0,
    })
}

/// The first `size` of the `kept` operations (by invocation), each with its index: those
/// invoked before the cut; those that return after it become pending (unknown outcome).
/// Reads of unknown outcome, and unknown writes nobody observed, are left out: they
/// need not have happened.
fn prefix_of<'o, M: SequentialSpec>(
    spec: &M,
    operations: &'o [Operation],
    kept: &[usize],
    size: usize,
) -> Vec<(usize, Cow<'o, Operation>)> {
    let cut = kept.get(size).map_or(usize::MAX, |&i| operations[i].call);
    // Copied only where the cut changes an operation (most of them it does not).
    let prefix: Vec<(usize, Cow<'o, Operation>)> = kept[..size]
        .iter()
        .map(|&i| {
            let op = &operations[i];
            if op.ret.is_some_and(|r| r >= cut) {
                let pending = Operation {
                    ret: None,
                    output: None,
                    ..op.clone()
                };
                (i, Cow::Owned(pending))
            } else {
                (i, Cow::Borrowed(op))
            }
        })
        .filter(|(_, op)| !(op.output.is_none() && spec.is_read_only(op)))
        .collect();
    let all: Vec<&Operation> = prefix.iter().map(|(_, op)| op.as_ref()).collect();
    let droppable: Vec<bool> = all
        .iter()
        .map(|op| op.output.is_none() && spec.droppable_unknown(op, &all))
        .collect();
    prefix
        .into_iter()
        .zip(droppable)
        .filter(|(_, drop)| !drop)
        .map(|(kept, _)| kept)
        .collect()
}

const NIL: u32 = u32::MAX;
const NO_STATE: u32 = u32::MAX;

struct Frame {
    op: u32,
    previous: u32,
    /// The run start before this step (see [`Cursor::run_start`]).
    run_start: u32,
    forced: bool,
}

/// Where the search stands: what is linearized (as a bitset and its hash), the state
/// reached, and how to go back.
struct Cursor {
    bits: Vec<u64>,
    /// The same, as the memo's keys are read from it.
    linearized: memo::Linearized,
    state: u32,
    stack: Vec<Frame>,
    remaining_ok: usize,
    /// While the last operations linearized are `info` ones (a *run*), the state
    /// before the run; `NO_STATE` otherwise. Part of the configuration (see
    /// [`Search::needed`]).
    run_start: u32,
}

enum Local {
    /// The effort cap was reached first.
    Capped,
    Linearizable(Vec<usize>),
    Violation(Best),
    Unknown(String),
}

/// The deepest configuration reached: its linearized prefix and state.
struct Best {
    prefix: Vec<u32>,
    state: u32,
}

/// The order in which a search tries the operations with a return that could come
/// next (`info` ones always come after them, in invocation order). Neither is better
/// on every history: [`Search::run`] takes turns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// Earliest return first: the one that has to be linearized soonest.
    Return,
    /// Earliest invocation first (Porcupine's order).
    Call,
}

/// Configurations the first turn of each [`Order`] may enter (see [`Search::run`]).
const FIRST_SLICE: u64 = 250_000;

struct Search<'a, M: SequentialSpec> {
    spec: &'a M,
    ops: Vec<&'a Operation>,
    has_return: Vec<bool>,
    /// Per operation, the event position of its return (`usize::MAX` for none).
    return_at: Vec<usize>,
    read_only: Vec<bool>,
    /// Per operation, the identical operations that come first among equals (see
    /// [`twins`]).
    twins: Vec<Vec<u32>>,
    next: Vec<u32>,
    prev: Vec<u32>,
    head: u32,
    layout: Layout,
    /// Scratch space for a configuration's key.
    key: Vec<u64>,
    /// Scratch space for the operations with a return that could come next.
    candidates: Vec<u32>,
    /// The order the present search tries them in.
    order: Order,
    /// For specs that grow: per `ok` read or cas, how many unlinearized ops could reset
    /// the state to the value it requires ([`SequentialSpec::requires`]).
    resetters: Vec<u32>,
    /// The pending reads and cas with no resetter left.
    doubt: Doubt,
    /// Per operation: an `ok` one that requires a value, for a spec that grows.
    watched: Vec<bool>,
    /// Per operation, the reads and cas it counts as a resetter for.
    resets_for: Vec<Vec<u32>>,
    /// What consumes and what produces each value, for [`Search::starved`].
    episodes: Episodes,
    grows: bool,
    states: Vec<M::State>,
    /// State hash → first state id with that hash; `same_hash` chains the others.
    state_ids: FxMap<u64, u32>,
    same_hash: Vec<u32>,
    steps: FxMap<u64, u32>,
    /// Heap bytes held by interned states.
    state_bytes: u64,
    counted_bytes: u64,
    /// The most bytes counted at once.
    peak_bytes: u64,
}

impl<'a, M: SequentialSpec> Search<'a, M> {
    fn new(spec: &'a M, ops: Vec<&'a Operation>) -> Search<'a, M> {
        let n = ops.len();
        let has_return: Vec<bool> = ops.iter().map(|o| o.ret.is_some()).collect();
        let return_at: Vec<usize> = ops.iter().map(|o| o.ret.unwrap_or(usize::MAX)).collect();
        let read_only: Vec<bool> = ops.iter().map(|o| spec.is_read_only(o)).collect();
        let twins = twins(&ops);
        // Entries: 2i is op i's call, 2i+1 its return; ordered by event position.
        let mut entries: Vec<(usize, u32)> = Vec::with_capacity(2 * n);
        for (i, op) in ops.iter().enumerate() {
            entries.push((op.call, 2 * i as u32));
            if let Some(ret) = op.ret {
                entries.push((ret, 2 * i as u32 + 1));
            }
        }
        entries.sort_unstable();
        let head = 2 * n as u32;
        let mut next = vec![NIL; 2 * n + 1];
        let mut prev = vec![NIL; 2 * n + 1];
        let mut last = head;
        for &(_, e) in &entries {
            next[last as usize] = e;
            prev[e as usize] = last;
            last = e;
        }
        let grows = spec.grows();
        let (resetters, resets_for) = resetters(spec, &ops, &read_only);
        let watched: Vec<bool> = ops
            .iter()
            .map(|op| grows && op.ret.is_some() && spec.requires(op).is_some())
            .collect();
        let layout = Layout::new(&ops);
        let episodes = Episodes::new(spec, &ops, &read_only);
        let mut search = Search {
            spec,
            ops,
            has_return,
            return_at,
            read_only,
            twins,
            next,
            prev,
            head,
            layout,
            key: Vec::new(),
            candidates: Vec::new(),
            order: Order::Return,
            doubt: Doubt::new(&resetters, &watched),
            watched,
            resetters,
            resets_for,
            episodes,
            grows,
            states: Vec::new(),
            state_ids: FxMap::default(),
            same_hash: Vec::new(),
            steps: FxMap::default(),
            state_bytes: 0,
            counted_bytes: 0,
            peak_bytes: 0,
        };
        search.intern(spec.init());
        search
    }

    fn intern(&mut self, state: M::State) -> u32 {
        let mut hasher = Fx::default();
        std::hash::Hash::hash(&state, &mut hasher);
        let hash = hasher.finish();
        let first = self.state_ids.get(&hash).copied().unwrap_or(NIL);
        let mut id = first;
        while id != NIL {
            if self.states[id as usize] == state {
                return id;
            }
            id = self.same_hash[id as usize];
        }
        let id = u32::try_from(self.states.len()).expect("fewer than 2^32 states");
        self.state_bytes += self.spec.state_heap_bytes(&state) as u64;
        self.states.push(state);
        self.same_hash.push(first);
        self.state_ids.insert(hash, id);
        id
    }

    /// The state after op `op` in state `state`, or `NO_STATE`; cached.
    fn step(&mut self, state: u32, op: u32) -> u32 {
        let key = (u64::from(state) << 32) | u64::from(op);
        if let Some(&next) = self.steps.get(&key) {
            return next;
        }
        let current = &self.states[state as usize];
        let operation = self.ops[op as usize];
        let next = if self.read_only[op as usize] {
            if self.spec.allows(current, operation) {
                state
            } else {
                NO_STATE
            }
        } else {
            match self.spec.step(current, operation) {
                Some(s) => self.intern(s),
                None => NO_STATE,
            }
        };
        self.steps.insert(key, next);
        next
    }

    fn lift(&mut self, op: u32) {
        for e in self.entries_of(op) {
            let (p, n) = (self.prev[e as usize], self.next[e as usize]);
            self.next[p as usize] = n;
            if n != NIL {
                self.prev[n as usize] = p;
            }
        }
    }

    fn unlift(&mut self, op: u32) {
        for e in self.entries_of(op).into_iter().rev() {
            let (p, n) = (self.prev[e as usize], self.next[e as usize]);
            if n != NIL {
                self.prev[n as usize] = e;
            }
            self.next[p as usize] = e;
        }
    }

    /// Linearizes `op`: out of the list, and no longer a possible reset.
    fn take(&mut self, op: u32) {
        self.lift(op);
        self.doubt.take(op);
        for &r in &self.resets_for[op as usize] {
            self.resetters[r as usize] -= 1;
            if self.resetters[r as usize] == 0 {
                self.doubt.enter(r);
            }
        }
    }

    /// Undoes [`Search::take`].
    fn give_back(&mut self, op: u32) {
        self.unlift(op);
        for &r in self.resets_for[op as usize].iter().rev() {
            if self.resetters[r as usize] == 0 {
                self.doubt.leave(r);
            }
            self.resetters[r as usize] += 1;
        }
        self.doubt
            .give_back(op, self.resetters[op as usize], self.watched[op as usize]);
    }

    /// For specs that grow: whether some pending read can no longer return what it did,
    /// because the state cannot grow into its result and nothing left can reset it.
    fn doomed(&self, state: u32) -> bool {
        self.doomed_read(state).is_some()
    }

    /// The pending read returning first that [`Search::doomed`] finds can no
    /// longer happen. Only reads with no resetter left are looked at ([`Doubt`]).
    fn doomed_read(&self, state: u32) -> Option<u32> {
        if !self.grows {
            return None;
        }
        let current = &self.states[state as usize];
        self.doubt
            .members
            .iter()
            .copied()
            .filter(|&r| {
                let seen = self
                    .spec
                    .requires(self.ops[r as usize])
                    .expect("watched operations require a value");
                !self.spec.grows_into(current, seen)
            })
            .min_by_key(|&r| self.ops[r as usize].ret)
    }

    /// For specs that grow: a pending `ok` operation that needs a value the state
    /// cannot come to hold in time. A *consumer* of a value ([`SequentialSpec::consumes`]:
    /// a cas 4→1) ends a stretch of time in which the state holds it, so each pending
    /// consumer needs a stretch of its own, and each stretch but the present one (if
    /// the state holds the value now) starts with its own producer, an operation not
    /// yet linearized that may reset the state to the value
    /// ([`SequentialSpec::may_reset_to`]) and so was invoked before the stretch's
    /// consumer returns. A read (or any operation that requires the value) needs a
    /// stretch after those of the consumers that returned before it was invoked. The
    /// operations a demand may use are those invoked before it returns, so the sets
    /// are nested, and Hall's condition for them is a count: by each demand's return,
    /// as many producers invoked (plus the present stretch) as stretches needed.
    /// Checked, in one pass over the pending events, for the demands that return
    /// before the last operation that could come next does.
    fn starved(&mut self, state: u32) -> Option<Starved> {
        if self.episodes.values.is_empty() {
            return None;
        }
        let mut found = None;
        // Whether the pass is past the first pending return.
        let mut past_horizon = false;
        let mut reach = 0usize;
        let mut entry = self.next[self.head as usize];
        while entry != NIL {
            let op = (entry / 2) as usize;
            if entry % 2 == 0 {
                if !past_horizon && self.has_return[op] {
                    reach = reach.max(self.return_at[op]);
                }
                self.episodes.called(op);
            } else {
                past_horizon = true;
                if self.return_at[op] > reach {
                    break;
                }
                if let Some((value, needed, producers)) = self.episodes.returned(op) {
                    if needed > producers + u32::from(self.holds(state, value)) {
                        found = Some(Starved {
                            op: op as u32,
                            needed,
                            producers,
                        });
                        break;
                    }
                }
            }
            entry = self.next[entry as usize];
        }
        self.episodes.clear();
        found
    }

    /// Whether `state` grows into consumed value `value` (an id).
    fn holds(&self, state: u32, value: u32) -> bool {
        self.spec.grows_into(
            &self.states[state as usize],
            &self.episodes.values[value as usize],
        )
    }

    fn entries_of(&self, op: u32) -> Vec<u32> {
        if self.has_return[op as usize] {
            vec![2 * op, 2 * op + 1]
        } else {
            vec![2 * op]
        }
    }

    fn memory(&self, memo: &Memo) -> u64 {
        let states = self.states.len() as u64 * (std::mem::size_of::<M::State>() as u64 + 64);
        memo.bytes() + states + self.state_bytes + self.steps.capacity() as u64 * 24
    }

    fn release(&mut self, budget: &Budget) {
        budget
            .used_bytes
            .fetch_sub(self.counted_bytes, Ordering::Relaxed);
        self.counted_bytes = 0;
    }

    /// Searches in both orders of trying (see [`Order`]) in turn, each from scratch and
    /// for a slice of configurations that doubles every round, until one decides, the
    /// effort `cap` is spent (`Capped`) or a budget runs out. Each search is complete on
    /// its own, so either one's verdict is the verdict; taking turns costs at most about
    /// four times the better order's effort, where a single order can be off by
    /// orders of magnitude on a history that suits the other.
    fn run(&mut self, budget: &Budget, cap: Option<u64>) -> (Local, u64) {
        let mut total = 0u64;
        let mut slice = cap.map_or(FIRST_SLICE, |c| (c / 2).clamp(1, FIRST_SLICE));
        loop {
            for order in [Order::Return, Order::Call] {
                let left = cap.map(|c| c.saturating_sub(total));
                let limit = left.map_or(slice, |l| l.min(slice));
                self.order = order;
                let mut memo = Memo::new(self.layout.info_words());
                let (local, steps) = self.search(&mut memo, budget, Some(limit));
                total += steps;
                self.peak_bytes = self.peak_bytes.max(self.memory(&memo));
                match local {
                    Local::Capped if left.is_none_or(|l| l > limit) => {}
                    other => return (other, total),
                }
            }
            slice = slice.saturating_mul(2);
        }
    }

    fn search(&mut self, memo: &mut Memo, budget: &Budget, cap: Option<u64>) -> (Local, u64) {
        let words = self.ops.len().div_ceil(64).max(1);
        let mut at = Cursor {
            bits: vec![0u64; words],
            linearized: self.layout.empty(),
            state: 0,
            stack: Vec::new(),
            remaining_ok: self.has_return.iter().filter(|&&r| r).count(),
            run_start: NO_STATE,
        };
        let mut best = Best {
            prefix: Vec::new(),
            state: 0,
        };
        let mut explored = 0u64;
        loop {
            if at.remaining_ok == 0 {
                let order = at.stack.iter().map(|f| f.op as usize).collect();
                return (Local::Linearizable(order), explored);
            }
            explored += 1;
            if cap.is_some_and(|c| explored > c) {
                // Back to the empty configuration, for the next search.
                while self.leave(&mut at).is_some() {}
                return (Local::Capped, explored);
            }
            if explored % 1024 == 0 {
                if let Some(reason) = self.over_budget(memo, budget) {
                    return (Local::Unknown(reason), explored);
                }
            }
            if at.stack.len() > best.prefix.len() {
                best.prefix = at.stack.iter().map(|f| f.op).collect();
                best.state = at.state;
            }
            // A forced read changes neither the state nor any resetter count, so only a
            // configuration reached by a state change can newly be doomed. (One that was
            // the first pending return moves `starved`'s reach later, which could show a
            // shortfall; leaving it to the next state change only prunes later.)
            let changed = at.stack.last().is_none_or(|f| !f.forced);
            let mut dead = changed && (self.doomed(at.state) || self.starved(at.state).is_some());
            if !dead {
                match self.greedy(&mut at, memo) {
                    Some(true) => continue,
                    Some(false) => dead = true,
                    None => {}
                }
            }
            if !self.branch(&mut at, memo, dead) {
                return (Local::Violation(best), explored);
            }
        }
    }

    /// The greedy pass: a read allowed now is linearized now, without branching.
    /// `Some(true)` if it entered a new configuration; `Some(false)` if where it leads
    /// was explored already, so that this configuration is dead too; `None` if no read
    /// is allowed now.
    fn greedy(&mut self, at: &mut Cursor, memo: &mut Memo) -> Option<bool> {
        let mut entry = self.next[self.head as usize];
        while entry != NIL && entry % 2 == 0 {
            let op = entry / 2;
            if self.read_only[op as usize] && self.step(at.state, op) != NO_STATE {
                let unchanged = at.state;
                // A run never returns to its start, so a read allowed now could not
                // have come before the run with the same result: it is needed.
                debug_assert!(self.needed(at, op, unchanged));
                return Some(self.enter(at, memo, op, unchanged, true));
            }
            entry = self.next[entry as usize];
        }
        None
    }

    /// Two passes over what could come next (none if the configuration is `dead`):
    /// operations that returned, in the search's [`Order`], then `info` ones (in the
    /// order they were invoked), which need not have happened at all and so are tried
    /// only when nothing else works; when nothing is left to try, back to the last free
    /// choice, and on from the choice after it. Whether a new configuration was entered
    /// (`false`: every choice is exhausted). Every choice is tried in the end, whatever
    /// the order.
    fn branch(&mut self, at: &mut Cursor, memo: &mut Memo, dead: bool) -> bool {
        let mut after: Option<u32> = None;
        let mut skip = dead;
        loop {
            if !skip {
                let horizon = self.horizon();
                let in_info = after.is_some_and(|op| !self.has_return[op as usize]);
                if !in_info && self.try_returned(at, memo, horizon, after) {
                    return true;
                }
                let from = match after {
                    Some(op) if in_info => self.next[2 * op as usize],
                    _ => self.next[self.head as usize],
                };
                if self.try_unknown(at, memo, horizon, from) {
                    return true;
                }
            }
            let Some(frame) = self.backtrack(at) else {
                return false;
            };
            after = Some(frame.op);
            skip = false;
        }
    }

    /// Tries the operations with a return that could come next, earliest return first,
    /// starting after `after` in that order (from the first if `None`); whether one
    /// entered a new configuration.
    fn try_returned(
        &mut self,
        at: &mut Cursor,
        memo: &mut Memo,
        horizon: usize,
        after: Option<u32>,
    ) -> bool {
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        let mut entry = self.next[self.head as usize];
        while entry != NIL && entry % 2 == 0 {
            let op = entry / 2;
            if !self.read_only[op as usize] && self.has_return[op as usize] {
                candidates.push(op);
            }
            entry = self.next[entry as usize];
        }
        if self.order == Order::Return {
            candidates.sort_unstable_by_key(|&op| self.return_at[op as usize]);
        }
        let start = after.map_or(0, |last| {
            1 + candidates
                .iter()
                .position(|&c| c == last)
                .expect("a backtracked choice is a candidate again once undone")
        });
        let entered = candidates[start..]
            .iter()
            .any(|&op| self.try_op(at, memo, op, horizon));
        self.candidates = candidates;
        entered
    }

    /// Tries the `info` operations that could come next, from list entry `entry` on, in
    /// the order they were invoked; whether one entered a new configuration.
    fn try_unknown(
        &mut self,
        at: &mut Cursor,
        memo: &mut Memo,
        horizon: usize,
        mut entry: u32,
    ) -> bool {
        while entry != NIL && entry % 2 == 0 {
            let op = entry / 2;
            if !self.read_only[op as usize]
                && !self.has_return[op as usize]
                && self.try_op(at, memo, op, horizon)
            {
                return true;
            }
            entry = self.next[entry as usize];
        }
        false
    }

    /// Linearizes `op` next if it is not redundant (a twin comes first), the state allows
    /// it, it keeps the normal form and the configuration is new; whether it did.
    fn try_op(&mut self, at: &mut Cursor, memo: &mut Memo, op: u32, horizon: usize) -> bool {
        if self.twin_first(at, op, horizon) {
            return false;
        }
        let after = self.step(at.state, op);
        after != NO_STATE && self.needed(at, op, after) && self.enter(at, memo, op, after, false)
    }

    /// The event position of the first return still ahead: operations invoked before
    /// it are the ones that could come next.
    fn horizon(&self) -> usize {
        let mut entry = self.next[self.head as usize];
        while entry != NIL {
            if entry % 2 == 1 {
                return self.ops[(entry / 2) as usize]
                    .ret
                    .expect("a return entry belongs to an operation that returned");
            }
            entry = self.next[entry as usize];
        }
        usize::MAX
    }

    /// Whether an operation identical to `op` that comes first among equals (see
    /// [`twins`]) could come next instead: then trying `op` here is redundant.
    fn twin_first(&self, at: &Cursor, op: u32, horizon: usize) -> bool {
        self.twins[op as usize]
            .iter()
            .any(|&y| !is_set(&at.bits, y) && self.ops[y as usize].call < horizon)
    }

    /// Whether linearizing `op` (reaching `after`) keeps the search in normal form (see
    /// the module docs): a run of `info` operations never returns to the state it started
    /// from, and the operation that ends it depends on it (it could not take effect,
    /// or would leave another state, without the run).
    fn needed(&mut self, at: &Cursor, op: u32, after: u32) -> bool {
        if at.run_start == NO_STATE {
            // An `info` operation that leaves the state as it is would start a run
            // that is back at its start already.
            return self.has_return[op as usize] || after != at.state;
        }
        if !self.has_return[op as usize] {
            return after != at.run_start;
        }
        let without = self.step(at.run_start, op);
        without != after
    }

    /// Undoes linearizations back to and including the last free (not forced) one.
    fn backtrack(&mut self, at: &mut Cursor) -> Option<Frame> {
        loop {
            let frame = self.leave(at)?;
            if !frame.forced {
                return Some(frame);
            }
        }
    }

    /// Linearizes `op` (reaching state `after`) unless that configuration was entered
    /// before; returns whether it was new.
    fn enter(
        &mut self,
        at: &mut Cursor,
        memo: &mut Memo,
        op: u32,
        after: u32,
        forced: bool,
    ) -> bool {
        let run_start = match (self.has_return[op as usize], at.run_start) {
            (true, _) => NO_STATE,
            (false, NO_STATE) => at.state,
            (false, start) => start,
        };
        set(&mut at.bits, op);
        at.linearized.set(&self.layout, op);
        at.linearized
            .key(&self.layout, after, run_start, &mut self.key);
        if !memo.insert(&self.key, at.linearized.infos()) {
            clear(&mut at.bits, op);
            at.linearized.clear(&self.layout, op);
            return false;
        }
        at.stack.push(Frame {
            op,
            previous: at.state,
            run_start: at.run_start,
            forced,
        });
        at.state = after;
        at.run_start = run_start;
        self.take(op);
        at.remaining_ok -= usize::from(self.has_return[op as usize]);
        true
    }

    /// Undoes the last [`Search::enter`]; `None` when nothing is linearized.
    fn leave(&mut self, at: &mut Cursor) -> Option<Frame> {
        let frame = at.stack.pop()?;
        self.give_back(frame.op);
        clear(&mut at.bits, frame.op);
        at.linearized.clear(&self.layout, frame.op);
        at.state = frame.previous;
        at.run_start = frame.run_start;
        at.remaining_ok += usize::from(self.has_return[frame.op as usize]);
        Some(frame)
    }

    fn over_budget(&mut self, memo: &Memo, budget: &Budget) -> Option<String> {
        let now_bytes = self.memory(memo);
        let total = if now_bytes >= self.counted_bytes {
            budget
                .used_bytes
                .fetch_add(now_bytes - self.counted_bytes, Ordering::Relaxed)
                + (now_bytes - self.counted_bytes)
        } else {
            budget
                .used_bytes
                .fetch_sub(self.counted_bytes - now_bytes, Ordering::Relaxed)
                - (self.counted_bytes - now_bytes)
        };
        self.counted_bytes = now_bytes;
        self.peak_bytes = self.peak_bytes.max(now_bytes);
        if total > budget.max_memory_bytes {
            let cap = budget.max_memory_bytes;
            return Some(if cap >= 1 << 20 {
                format!("the memory budget of {} MB ran out", cap >> 20)
            } else {
                format!("the memory budget of {cap} bytes ran out")
            });
        }
        if budget.deadline.is_some_and(|d| Instant::now() >= d) {
            return Some("the time budget ran out".to_owned());
        }
        if budget.stop.load(Ordering::Relaxed) {
            return Some(STOPPED.to_owned());
        }
        None
    }

    /// [`Search::explain`], with the prefix's states, and every index turned into the
    /// checked operations' by `original`.
    fn explain_in(
        &mut self,
        best: &Best,
        history: &History,
        original: impl Fn(usize) -> usize,
    ) -> Box<Violation> {
        let mut violation = self.explain(best, history);
        violation.prefix_states = states_along(self.spec, &self.ops, &violation.prefix);
        violation.prefix = violation.prefix.iter().map(|&i| original(i)).collect();
        violation.blocking = violation.blocking.map(&original);
        for c in &mut violation.candidates {
            c.op = original(c.op);
        }
        Box::new(violation)
    }

    /// Describes the deepest configuration: what could come next and why nothing can.
    fn explain(&mut self, best: &Best, history: &History) -> Violation {
        for &op in &best.prefix {
            self.take(op);
        }
        let doomed = self.doomed_read(best.state);
        let starved = self.starved(best.state);
        let (candidates, blocking) = self.candidates(best.state);
        for &op in best.prefix.iter().rev() {
            self.give_back(op);
        }
        let blocking_impossible = blocking.is_some_and(|b| self.step(best.state, b) == NO_STATE);
        let after = self.last_change(best).map(|op| {
            format!(
                " after {} by process {} {}",
                describe_op(self.ops[op as usize]),
                self.ops[op as usize].process,
                when(history, self.ops[op as usize])
            )
        });
        let focus = blocking.filter(|_| blocking_impossible).or_else(|| {
            candidates
                .iter()
                .find(|c| c.impossible.is_some())
                .map(|c| c.op as u32)
        });
        let state = &self.states[best.state as usize];
        let starved = starved.filter(|_| doomed.is_none());
        let sentence = match doomed.or(starved.as_ref().map(|s| s.op)).or(focus) {
            Some(_) if starved.is_some() => {
                let starved = starved.as_ref().expect("matched");
                self.starved_sentence(starved, best.state, history, after.as_deref())
            }
            Some(op) => {
                let o = self.ops[op as usize];
                let reset = if doomed.is_some() {
                    format!("; {}", self.spec.doomed_reason())
                } else {
                    String::new()
                };
                format!(
                    "process {} {}: {}{}{reset}",
                    o.process,
                    when(history, o),
                    self.spec.explain(state, o),
                    after.unwrap_or_default()
                )
            }
            None => format!(
                "every order of the {} operations that could come next leads to a contradiction later ({}{})",
                candidates.len(),
                self.spec.describe_state(state),
                after.unwrap_or_default()
            ),
        };
        Violation {
            prefix: best.prefix.iter().map(|&o| o as usize).collect(),
            prefix_states: Vec::new(),
            state: self.spec.describe_state(state),
            candidates,
            blocking: doomed
                .or(starved.map(|s| s.op))
                .or(blocking)
                .map(|b| b as usize),
            sentence,
            without_search: false,
        }
    }

    /// Why `starved` cannot happen in `state`, for people.
    fn starved_sentence(
        &self,
        starved: &Starved,
        state: u32,
        history: &History,
        after: Option<&str>,
    ) -> String {
        let o = self.ops[starved.op as usize];
        let value = self.episodes.value_of(starved.op as usize);
        let resets = match starved.needed - u32::from(self.holds(state, value)) {
            1 => "one more reset".to_owned(),
            n => format!("{n} more resets"),
        };
        let left = match starved.producers {
            0 => "no operation left that was invoked before it returns".to_owned(),
            1 => "only one operation left that was invoked before it returns".to_owned(),
            n => format!("only {n} operations left that were invoked before it returns"),
        };
        format!(
            "process {} {}: {} needs {} before it returns, which takes {resets} to it (a cas that needs it ends what one made), and {left} could make one ({}{})",
            o.process,
            when(history, o),
            describe_op(o),
            self.episodes.values[value as usize],
            self.spec.describe_state(&self.states[state as usize]),
            after.unwrap_or_default()
        )
    }

    /// What could come next in `state` (with the prefix taken): each candidate, with
    /// why it cannot if it cannot, up to the first return, whose operation is blocking.
    fn candidates(&mut self, state: u32) -> (Vec<Candidate>, Option<u32>) {
        let mut candidates = Vec::new();
        let mut entry = self.next[self.head as usize];
        while entry != NIL {
            let op = entry / 2;
            if entry % 2 == 1 {
                return (candidates, Some(op));
            }
            let impossible = (self.step(state, op) == NO_STATE).then(|| {
                self.spec
                    .explain(&self.states[state as usize], self.ops[op as usize])
            });
            candidates.push(Candidate {
                op: op as usize,
                impossible,
            });
            entry = self.next[entry as usize];
        }
        (candidates, None)
    }

    /// The last operation of the prefix that changed the state.
    fn last_change(&mut self, best: &Best) -> Option<u32> {
        let mut state = 0u32;
        let mut last = None;
        for &op in &best.prefix {
            let after = self.step(state, op);
            if after != state {
                last = Some(op);
            }
            state = after;
        }
        last
    }
}

/// A pending operation that [`Search::starved`] finds cannot have the value it needs:
/// by its return, `needed` stretches holding the value must have started, with only
/// `producers` operations left that could reset the state to it.
struct Starved {
    op: u32,
    needed: u32,
    producers: u32,
}

/// Consumed values beyond which [`Search::starved`] is not checked (the tally is per
/// value, and every operation is asked about every value once).
const MAX_CONSUMED_VALUES: usize = 64;

/// For specs that grow: which `ok` operations consume or require which value, and
/// which operations may produce it ([`Search::starved`]).
#[derive(Default)]
struct Episodes {
    /// Per operation: the id of the value it consumes (`ok` ones only), or `NIL`.
    consumes: Vec<u32>,
    /// Per operation: the id of the consumed value it requires without consuming it
    /// (`ok` ones only), or `NIL`.
    requires: Vec<u32>,
    /// Per operation: the ids of the consumed values it may reset the state to.
    produces: Vec<Vec<u32>>,
    /// The consumed values, by id. None, and every other field empty, if there are
    /// none or more than [`MAX_CONSUMED_VALUES`].
    values: Vec<Value>,
    /// Scratch for one pass, per value id: producers invoked, consumers returned.
    counts: Vec<(u32, u32)>,
    /// The ids whose counts the pass touched.
    touched: Vec<u32>,
    /// Scratch for one pass, per operation that requires a value: the consumers of it
    /// that had returned when it was invoked.
    before: Vec<u32>,
}

impl Episodes {
    fn new<M: SequentialSpec>(spec: &M, ops: &[&Operation], read_only: &[bool]) -> Episodes {
        let mut ids: BTreeMap<&Value, u32> = BTreeMap::new();
        let mut consumes = vec![NIL; ops.len()];
        if spec.grows() {
            for (i, op) in ops.iter().enumerate() {
                if let (Some(value), Some(_)) = (spec.consumes(op), op.ret) {
                    let next = ids.len() as u32;
                    consumes[i] = *ids.entry(value).or_insert(next);
                }
            }
        }
        if ids.is_empty() || ids.len() > MAX_CONSUMED_VALUES {
            return Episodes::default();
        }
        let requires = ops
            .iter()
            .zip(&consumes)
            .map(|(op, &consumed)| match (spec.requires(op), op.ret) {
                (Some(value), Some(_)) if consumed == NIL && spec.grows() => {
                    ids.get(value).copied().unwrap_or(NIL)
                }
                _ => NIL,
            })
            .collect();
        let mut values = vec![Value::Nil; ids.len()];
        for (value, &id) in &ids {
            values[id as usize] = (*value).clone();
        }
        let produces = ops
            .iter()
            .zip(read_only)
            .map(|(op, &read)| {
                (0..values.len() as u32)
                    .filter(|&v| !read && spec.may_reset_to(op, &values[v as usize]))
                    .collect()
            })
            .collect();
        Episodes {
            consumes,
            requires,
            produces,
            counts: vec![(0, 0); values.len()],
            values,
            touched: Vec::new(),
            before: vec![0; ops.len()],
        }
    }

    /// The counts of value `v`, marked to be cleared.
    fn tally(&mut self, v: u32) -> &mut (u32, u32) {
        let counts = &mut self.counts[v as usize];
        if *counts == (0, 0) {
            self.touched.push(v);
        }
        counts
    }

    /// The pass meets the call of `op`.
    fn called(&mut self, op: usize) {
        for i in 0..self.produces[op].len() {
            let v = self.produces[op][i];
            self.tally(v).0 += 1;
        }
        let v = self.requires[op];
        if v != NIL {
            self.before[op] = self.counts[v as usize].1;
        }
    }

    /// The pass meets the return of `op`: if it needs a value, which, how many
    /// stretches holding it must have started by now, and how many producers were
    /// invoked.
    fn returned(&mut self, op: usize) -> Option<(u32, u32, u32)> {
        let (consumed, required) = (self.consumes[op], self.requires[op]);
        if consumed != NIL {
            let counts = self.tally(consumed);
            counts.1 += 1;
            Some((consumed, counts.1, counts.0))
        } else if required != NIL {
            let producers = self.counts[required as usize].0;
            Some((required, self.before[op] + 1, producers))
        } else {
            None
        }
    }

    /// The id of the value `op` consumes or requires (one of them is not `NIL`).
    fn value_of(&self, op: usize) -> u32 {
        self.consumes[op].min(self.requires[op])
    }

    fn clear(&mut self) {
        for v in self.touched.drain(..) {
            self.counts[v as usize] = (0, 0);
        }
    }
}

/// For specs that grow: per operation that requires a value ([`SequentialSpec::requires`]),
/// how many operations invoked before it returned could reset the state to that value;
/// and per operation, the ones it counts for.
fn resetters<M: SequentialSpec>(
    spec: &M,
    ops: &[&Operation],
    read_only: &[bool],
) -> (Vec<u32>, Vec<Vec<u32>>) {
    let n = ops.len();
    let grows = spec.grows();
    let mut resetters = vec![0u32; n];
    let mut resets_for = vec![Vec::new(); n];
    if grows {
        for (r, op) in ops.iter().enumerate() {
            let (Some(seen), Some(returned)) = (spec.requires(op), op.ret) else {
                continue;
            };
            // Only an op invoked before `op` returned can come before it.
            for (w, other) in ops.iter().enumerate() {
                if other.call >= returned {
                    break;
                }
                if w != r && !read_only[w] && spec.may_reset_to(other, seen) {
                    resetters[r] += 1;
                    resets_for[w].push(r as u32);
                }
            }
        }
    }
    (resetters, resets_for)
}

/// The `ok` reads and cas not yet linearized whose resetters are all linearized: the
/// only ones that can be doomed (for specs that grow), kept as a set with O(1) entry
/// and exit so that the doom check does not walk every pending operation.
struct Doubt {
    /// Per operation: an `ok` one that requires a value, not linearized.
    pending: Vec<bool>,
    members: Vec<u32>,
    /// Per operation, its place in `members` (`NIL` if absent).
    at: Vec<u32>,
}

impl Doubt {
    fn new(resetters: &[u32], watched: &[bool]) -> Doubt {
        let mut doubt = Doubt {
            pending: watched.to_vec(),
            members: Vec::new(),
            at: vec![NIL; watched.len()],
        };
        for (r, &count) in resetters.iter().enumerate() {
            if count == 0 {
                doubt.enter(r as u32);
            }
        }
        doubt
    }

    /// Adds `op` if it is a pending read and not in already.
    fn enter(&mut self, op: u32) {
        if self.pending[op as usize] && self.at[op as usize] == NIL {
            self.at[op as usize] = self.members.len() as u32;
            self.members.push(op);
        }
    }

    /// Removes `op` if it is in.
    fn leave(&mut self, op: u32) {
        let at = self.at[op as usize];
        if at == NIL {
            return;
        }
        self.members.swap_remove(at as usize);
        if let Some(&moved) = self.members.get(at as usize) {
            self.at[moved as usize] = at;
        }
        self.at[op as usize] = NIL;
    }

    /// `op` is linearized.
    fn take(&mut self, op: u32) {
        self.leave(op);
        self.pending[op as usize] = false;
    }

    /// Undoes [`Doubt::take`] for `op`, which has `resetters` left.
    fn give_back(&mut self, op: u32, resetters: u32, watched: bool) {
        self.pending[op as usize] = watched;
        if resetters == 0 {
            self.enter(op);
        }
    }
}

/// The state after each operation of `order` (indices into the searched `ops`, as the
/// search saw them), described for people.
fn states_along<M: SequentialSpec>(spec: &M, ops: &[&Operation], order: &[usize]) -> Vec<String> {
    let mut state = spec.init();
    order
        .iter()
        .map(|&i| {
            state = spec
                .step(&state, ops[i])
                .expect("a linearization found by the search replays step by step");
            spec.describe_state(&state)
        })
        .collect()
}

fn set(bits: &mut [u64], op: u32) {
    bits[op as usize / 64] |= 1 << (op % 64);
}

fn is_set(bits: &[u64], op: u32) -> bool {
    bits[op as usize / 64] & (1 << (op % 64)) != 0
}

fn clear(bits: &mut [u64], op: u32) {
    bits[op as usize / 64] &= !(1 << (op % 64));
}

/// Identical operations are interchangeable: same function, key, input and output, and
/// both `ok` or both of unknown outcome (a [`SequentialSpec`] looks at nothing else).
/// Of identical operations that could all come next, the search tries only the first
/// among equals: of `ok` ones, the one that returns first; of unknown ones, the one
/// invoked first. Any linearization that puts another one here and the first later
/// stays a linearization with the two swapped: the first could come here (it could
/// come next), and the other can go where the first was (before the first's return,
/// hence before its own; after its own call, which was before here).
///
/// Returns, per operation, the identical operations that come first among equals
/// whenever both could come next: `ok` ones that return while it runs, unknown ones
/// invoked before it.
fn twins(ops: &[&Operation]) -> Vec<Vec<u32>> {
    // Identical operations, found by a hash of each one's class and then compared
    // (comparing whole values in a tree costs a list read's length per comparison).
    type Class<'o> = (
        crate::history::Function,
        &'o Option<Value>,
        &'o Value,
        &'o Option<Value>,
    );
    fn class<'o>(op: &'o Operation) -> Class<'o> {
        (op.f, &op.key, &op.input, &op.output)
    }
    let mut by_hash: Vec<(u64, u32)> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let mut hasher = Fx::default();
            class(op).hash(&mut hasher);
            (hasher.finish(), i as u32)
        })
        .collect();
    by_hash.sort_unstable();
    let mut twins = vec![Vec::new(); ops.len()];
    let mut members = Vec::new();
    for same_hash in by_hash.chunk_by(|a, b| a.0 == b.0) {
        if same_hash.len() == 1 {
            continue;
        }
        for &(_, x) in same_hash {
            let op = ops[x as usize];
            // The class's members, in index order (the hash ties sort by index).
            members.clear();
            members.extend(
                same_hash
                    .iter()
                    .map(|&(_, y)| y)
                    .filter(|&y| class(ops[y as usize]) == class(op)),
            );
            twins[x as usize] = members
                .iter()
                .copied()
                .filter(|&y| {
                    let other = ops[y as usize];
                    match (op.ret, other.ret) {
                        (Some(ret), Some(first)) => op.call < first && first < ret,
                        (None, None) => other.call < op.call,
                        _ => false,
                    }
                })
                .collect();
        }
    }
    twins
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::twins;
    use crate::history::{Function, Operation, Value};

    /// An operation of a small alphabet (so that many are identical), with its call at
    /// `call` and, if `lasts` is some, its return that much later.
    fn op(f: bool, value: i64, call: usize, lasts: Option<usize>) -> Operation {
        Operation {
            process: call as u64,
            f: if f { Function::Write } else { Function::Read },
            key: None,
            input: Value::Int(value),
            output: lasts.map(|_| Value::List(vec![Value::Int(value)])),
            call,
            ret: lasts.map(|d| call + 1 + d),
        }
    }

    proptest! {
        /// Against the definition, pair by pair: `y` is a twin of `x` when the two are
        /// identical and `y` comes first whenever both could come next.
        #[test]
        fn twins_are_the_identical_operations_that_come_first(
            spec in proptest::collection::vec((any::<bool>(), 0i64..3, proptest::option::of(0usize..6)), 0..40)
        ) {
            let ops: Vec<Operation> = spec
                .iter()
                .enumerate()
                .map(|(i, &(f, v, lasts))| op(f, v, 2 * i, lasts))
                .collect();
            let refs: Vec<&Operation> = ops.iter().collect();
            let found = twins(&refs);
            for (x, a) in ops.iter().enumerate() {
                let expected: Vec<u32> = (0..ops.len())
                    .filter(|&y| {
                        let b = &ops[y];
                        let same = (a.f, &a.key, &a.input, &a.output) == (b.f, &b.key, &b.input, &b.output);
                        same && match (a.ret, b.ret) {
                            (Some(ret), Some(first)) => a.call < first && first < ret,
                            (None, None) => b.call < a.call,
                            _ => false,
                        }
                    })
                    .map(|y| y as u32)
                    .collect();
                prop_assert_eq!(&found[x], &expected, "operation {}", x);
            }
        }
    }
}
