//! Generated histories of known verdict, in the shapes Jepsen's tests produce: for
//! benchmarks, and for tests that need histories too big for the brute-force checker.
//!
//! [`cas_register`] simulates Jepsen's cas-register workload on one register: a fixed
//! number of concurrent client processes each read, write or compare-and-set values
//! 0–4, one operation at a time; every operation takes effect at one instant inside its
//! interval, and reads and cas see the register at that instant. A share of operations
//! *crash*: their process gives up and records `info` (the operation may or may not
//! have taken effect, possibly long after), and a fresh process takes the slot, as
//! Jepsen numbers them (`p + processes`). Such a history is linearizable by
//! construction: the instants are a linearization.
//!
//! With [`Shape::violation`], one late read is made to return a value that no
//! linearization allows, for a reason anyone can check without a search (see
//! [`stale_read`]): the register was overwritten with another value by a write that
//! completed before the read began, and nothing that could write the read's value back
//! was running after that write began.
//!
//! ```
//! use checkers::synth::{cas_register, stale_read, Shape};
//! let shape = Shape { processes: 10, ops: 500, crashed_per_mille: 30, seed: 7, violation: true };
//! let history = cas_register(&shape);
//! let ops = history.operations("generated")?;
//! assert!(stale_read(&ops).is_some(), "the planted read is provably stale");
//! # Ok::<(), checkers::history::HistoryError>(())
//! ```

use crate::history::{Event, EventType, Function, History, Operation, Value};

/// The shape of a generated cas-register history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Concurrent client processes (slots; a crashed process is replaced).
    pub processes: u64,
    /// Operations invoked in all.
    pub ops: usize,
    /// Operations that crash (complete with `info`), per thousand.
    pub crashed_per_mille: u32,
    /// The generator's seed: same shape, same history.
    pub seed: u64,
    /// Plant one late read that no linearization allows. (In a history too short for
    /// the quiet stretch it needs, none may qualify; [`stale_read`] says whether one
    /// was planted.)
    pub violation: bool,
}

impl Shape {
    /// Jepsen's cas-register shape: `processes` clients, `ops` operations, 3 % of them
    /// crashed, linearizable (set `violation` to plant a stale read).
    ///
    /// ```
    /// use checkers::synth::Shape;
    /// let planted = Shape { violation: true, ..Shape::jepsen(30, 2_000, 1) };
    /// assert_eq!(planted.crashed_per_mille, 30);
    /// ```
    pub fn jepsen(processes: u64, ops: usize, seed: u64) -> Shape {
        Shape {
            processes,
            ops,
            crashed_per_mille: 30,
            seed,
            violation: false,
        }
    }
}

/// The value no crashed operation writes, so that a read of it can be proved stale.
const PLANTED: i64 = 4;

/// A small deterministic generator (SplitMix64), for generated test data: the same
/// seed gives the same numbers on every machine.
///
/// ```
/// use checkers::synth::SplitMix64;
/// let (mut a, mut b) = (SplitMix64::new(7), SplitMix64::new(7));
/// assert_eq!(a.below(10), b.below(10));
/// ```
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 if `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// One simulated operation.
#[derive(Clone, Debug)]
struct Sim {
    process: u64,
    f: Function,
    input: Value,
    call: u64,
    ret: u64,
    /// The instant it takes effect, if it does.
    point: Option<u64>,
    crashed: bool,
    /// What it returned or whether it applied, filled in by [`apply`].
    output: Value,
    failed: bool,
}

/// Generates a history of `shape` (see the module docs).
pub fn cas_register(shape: &Shape) -> History {
    let mut rng = SplitMix64::new(shape.seed ^ 0x5EED_CA5E);
    let mut sims = schedule(shape, &mut rng);
    apply(&mut sims);
    if shape.violation {
        plant(&mut sims);
    }
    events(&sims)
}

/// The operations (by invocation order) that write no [`PLANTED`] value in a history
/// with a violation: a window late in the history where a stale read can be planted,
/// long enough for every writer of it still running to finish, then an overwrite and a
/// read to run.
fn quiet(shape: &Shape) -> std::ops::Range<usize> {
    let start = shape.ops * 85 / 100;
    let len = (shape.ops / 20).max(shape.processes as usize * 6);
    start..(start + len).min(shape.ops)
}

/// Invocations, intervals and effect instants for every operation.
fn schedule(shape: &Shape, rng: &mut SplitMix64) -> Vec<Sim> {
    let slots = shape.processes.max(1);
    let mut process: Vec<u64> = (0..slots).collect();
    // Each slot's next free instant (time in ticks; every instant is distinct because
    // each is 4·k + slot-dependent offset, see below).
    let mut free: Vec<u64> = (0..slots).map(|s| rng.below(50) * 4 + s % 4).collect();
    let mut sims = Vec::with_capacity(shape.ops);
    for _ in 0..shape.ops {
        let slot = (0..slots as usize)
            .min_by_key(|&s| (free[s], s))
            .expect("at least one slot");
        let call = free[slot];
        let f = match rng.below(3) {
            0 => Function::Read,
            1 => Function::Write,
            _ => Function::Cas,
        };
        // In the quiet window nothing writes the planted value (see `plant`).
        let quiet = shape.violation && quiet(shape).contains(&sims.len());
        let values = if quiet { PLANTED } else { PLANTED + 1 };
        let value = |rng: &mut SplitMix64| Value::Int(rng.below(values as u64) as i64);
        let input = match f {
            Function::Read => Value::Nil,
            Function::Write => value(rng),
            _ => Value::List(vec![Value::Int(rng.below(5) as i64), value(rng)]),
        };
        let writes_planted = writes(f, &input) == Some(&Value::Int(PLANTED));
        let crashed = !writes_planted
            && f != Function::Read
            && rng.below(1000) < u64::from(shape.crashed_per_mille) * 3 / 2;
        let span = 8 + rng.below(40) * 4;
        let ret = call + span * 4 + 2;
        let point = if crashed {
            // It may take effect long after the client gave up, or never.
            (rng.below(2) == 0).then(|| call + 1 + rng.below(span * 16) * 4)
        } else {
            Some(call + 1 + rng.below(span) * 4)
        };
        sims.push(Sim {
            process: process[slot],
            f,
            input,
            call: call * 4,
            ret: ret * 4,
            point: point.map(|p| p * 4 + 1),
            crashed,
            output: Value::Nil,
            failed: false,
        });
        free[slot] = ret + 1 + rng.below(20) * 4;
        if crashed {
            process[slot] += slots;
        }
    }
    sims
}

/// The value an operation writes, if it writes one.
fn writes(f: Function, input: &Value) -> Option<&Value> {
    match (f, input) {
        (Function::Write, v) => Some(v),
        (Function::Cas, Value::List(pair)) => pair.get(1),
        _ => None,
    }
}

/// Runs the register through the effect instants: reads return what it holds, a cas
/// whose expected value is not there fails (and has no effect).
fn apply(sims: &mut [Sim]) {
    let mut order: Vec<usize> = (0..sims.len())
        .filter(|&i| sims[i].point.is_some())
        .collect();
    order.sort_by_key(|&i| sims[i].point);
    let mut register = Value::Nil;
    for i in order {
        let sim = &mut sims[i];
        match sim.f {
            Function::Read => sim.output = register.clone(),
            Function::Write => register = sim.input.clone(),
            _ => {
                let Value::List(pair) = &sim.input else {
                    unreachable!("a cas's input is a pair")
                };
                if pair[0] == register {
                    register = pair[1].clone();
                } else {
                    sim.failed = true;
                }
            }
        }
    }
    for sim in sims.iter_mut().filter(|s| s.point.is_none()) {
        sim.failed = false; // crashed and never took effect: recorded as info anyway
    }
}

/// Makes the last provably stale candidate read return [`PLANTED`] (see [`stale_read`]).
fn plant(sims: &mut [Sim]) {
    let (ops, from) = operations(sims);
    if let Some(&read) = stale_candidates(&ops).last() {
        sims[from[read]].output = Value::Int(PLANTED);
    }
}

/// The ok reads that would be provably stale if they returned [`PLANTED`]: reads that
/// did not see it, and after an overwrite as [`stale_read`] requires.
fn stale_candidates(ops: &[Operation]) -> Vec<usize> {
    (0..ops.len())
        .filter(|&r| {
            ops[r].f == Function::Read
                && ops[r]
                    .output
                    .as_ref()
                    .is_some_and(|v| *v != Value::Int(PLANTED))
                && overwritten(ops, r, &Value::Int(PLANTED)).is_some()
        })
        .collect()
}

/// Sims as operations, with times as `call`/`ret` (for [`plant`]'s search only), and
/// the sim each came from.
fn operations(sims: &[Sim]) -> (Vec<Operation>, Vec<usize>) {
    let mut from: Vec<usize> = (0..sims.len())
        .filter(|&i| !sims[i].failed || sims[i].crashed)
        .collect();
    from.sort_by_key(|&i| sims[i].call);
    let ops = from
        .iter()
        .map(|&i| {
            let s = &sims[i];
            Operation {
                process: s.process,
                f: s.f,
                key: None,
                input: s.input.clone(),
                output: (!s.crashed).then(|| s.output.clone()),
                call: s.call as usize,
                ret: (!s.crashed).then_some(s.ret as usize),
            }
        })
        .collect();
    (ops, from)
}

/// The events, in time order.
fn events(sims: &[Sim]) -> History {
    let mut timed: Vec<(u64, Event)> = Vec::with_capacity(sims.len() * 2);
    for s in sims {
        let call = Event {
            process: s.process,
            kind: EventType::Invoke,
            f: s.f,
            key: None,
            value: s.input.clone(),
            time: Some(s.call),
        };
        let (kind, value) = if s.crashed {
            (EventType::Info, s.input.clone())
        } else if s.failed {
            (EventType::Fail, s.input.clone())
        } else if s.f == Function::Read {
            (EventType::Ok, s.output.clone())
        } else {
            (EventType::Ok, s.input.clone())
        };
        let done = Event {
            kind,
            value,
            time: Some(s.ret),
            ..call.clone()
        };
        timed.push((s.call, call));
        timed.push((s.ret, done));
    }
    timed.sort_by_key(|(t, _)| *t);
    let mut history = History::default();
    for (i, (_, event)) in timed.into_iter().enumerate() {
        history.push(event, i + 1);
    }
    history
}

/// An operation that may write `value` (an ok or unknown write or cas to it).
fn may_write(op: &Operation, value: &Value) -> bool {
    writes(op.f, &op.input) == Some(value)
}

/// The index of an ok operation `w` that proves read `r` cannot return `value`: `w`
/// certainly left another value (an ok write of something else, or an ok cas to
/// something else), returned before `r` was invoked, and every operation that may write
/// `value` and was invoked before `r` returned had returned before `w` was invoked. Any
/// linearization puts `w` after every such writer and before `r`, with no writer of
/// `value` in between.
fn overwritten(ops: &[Operation], r: usize, value: &Value) -> Option<usize> {
    let read = &ops[r];
    let read_ret = read.ret?;
    let writers: Vec<&Operation> = ops
        .iter()
        .filter(|o| may_write(o, value) && o.call < read_ret)
        .collect();
    if writers.iter().any(|o| o.ret.is_none()) {
        return None; // an unknown writer may take effect any time
    }
    let latest = writers.iter().filter_map(|o| o.ret).max();
    ops.iter().position(|w| {
        let other = writes(w.f, &w.input).is_some_and(|v| v != value);
        other && w.ret.is_some_and(|ret| ret < read.call) && latest.is_none_or(|l| l < w.call)
    })
}

/// A read that no linearization allows, found without a search: an ok read `r` of a
/// value `v` and an ok operation `w` as [`overwritten`] describes (`w` wrote another
/// value after every possible writer of `v` had returned, and returned before `r` was
/// invoked). Returns the first such `(r, w)`, indices into `ops`. Only ok writes and
/// successful cas count as `w` (a failed cas is not among the operations).
pub fn stale_read(ops: &[Operation]) -> Option<(usize, usize)> {
    (0..ops.len()).find_map(|r| stale(ops, r).map(|w| (r, w)))
}

/// Every read [`stale_read`] would name, in order: the simple definition, by brute
/// force over pairs of operations, against which faster detections are tested.
pub fn stale_reads(ops: &[Operation]) -> Vec<usize> {
    (0..ops.len())
        .filter(|&r| stale(ops, r).is_some())
        .collect()
}

fn stale(ops: &[Operation], r: usize) -> Option<usize> {
    let seen = ops[r].output.as_ref()?;
    if ops[r].f != Function::Read {
        return None;
    }
    overwritten(ops, r, seen)
}
