//! Sequential specifications: what one object does when operations are applied to it
//! one at a time. A checker asks whether a concurrent history can be explained by some
//! order of operations that such a specification accepts.
//!
//! The built-in ones are named by [`SpecName`], in the words of `consim check --model`
//! (`register`, `cas-register`, `kv`, `list-append`): "model" is the command line's
//! word for a specification, as in Porcupine. Inside consim a `models::Model` is a
//! protocol, and `elle::models` are consistency models; neither is this.

use std::fmt::Debug;
use std::hash::Hash;

use serde::Serialize;

use crate::history::{Function, History, Operation, Value};
use crate::shared::describe_op;

/// A sequential specification. Implement it to check histories of your own objects.
///
/// Operations on different [`SequentialSpec::partition_key`]s are independent (each key is its
/// own object), so a history is linearizable exactly when each key's sub-history is
/// (Herlihy and Wing's locality; Horn and Kroening's P-compositionality), and each key
/// is checked alone.
///
/// # Example
///
/// A counter whose `write` adds its value and whose `read` returns the total:
///
/// ```
/// use checkers::history::{Function, Operation, Value};
/// use checkers::spec::SequentialSpec;
///
/// struct Counter;
/// impl SequentialSpec for Counter {
///     type State = i64;
///     fn name(&self) -> &'static str { "counter" }
///     fn init(&self) -> i64 { 0 }
///     fn validate(&self, op: &Operation) -> Result<(), String> {
///         match (op.f, &op.input) {
///             (Function::Read, _) | (Function::Write, Value::Int(_)) => Ok(()),
///             _ => Err(format!("a counter does not {}", op.f)),
///         }
///     }
///     fn step(&self, total: &i64, op: &Operation) -> Option<i64> {
///         match (op.f, &op.input, &op.output) {
///             (Function::Write, Value::Int(n), _) => Some(total + n),
///             (Function::Read, _, Some(Value::Int(seen))) => (seen == total).then_some(*total),
///             (Function::Read, _, None) => Some(*total),
///             _ => None,
///         }
///     }
///     fn is_read_only(&self, op: &Operation) -> bool { op.f == Function::Read }
///     fn describe_state(&self, total: &i64) -> String { format!("the counter is at {total}") }
/// }
/// ```
pub trait SequentialSpec: Sync {
    /// The object's state. Equal states must behave the same from then on.
    type State: Clone + Eq + Hash + Debug + Send + Sync;

    /// The specification's name (for the built-in ones, the `--model` word).
    fn name(&self) -> &'static str;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Whether `op` makes sense for this specification at all (its function and value shape).
    fn validate(&self, op: &Operation) -> Result<(), String>;

    /// The state after `op` is applied to `state`, or `None` if `op` could not have
    /// returned what it did there. An operation whose output is unknown (`op.output`
    /// is `None`) may have returned anything.
    fn step(&self, state: &Self::State, op: &Operation) -> Option<Self::State>;

    /// Whether `op` never changes the state wherever it is allowed (a read). The
    /// checker linearizes such an operation as soon as it is allowed, without
    /// branching; getting this wrong makes the checker miss linearizations.
    fn is_read_only(&self, op: &Operation) -> bool {
        let _ = op;
        false
    }

    /// Whether read-only `op` is allowed in `state` (the checker asks this instead of
    /// [`SequentialSpec::step`] for read-only operations, to spare a copy of the state).
    fn allows(&self, state: &Self::State, op: &Operation) -> bool {
        self.step(state, op).is_some()
    }

    /// Whether the state only ever grows (appends) or, like a register's, only changes
    /// by being reset, so that a state that cannot grow into what a pending read
    /// returned is a dead end unless some write resets it.
    /// Opting in lets the checker prune with [`SequentialSpec::grows_into`] and
    /// [`SequentialSpec::may_reset_to`]; both must then be conservative (answer `true` when in
    /// doubt), or the checker will miss linearizations.
    fn grows(&self) -> bool {
        false
    }

    /// Whether appends alone could turn `state` into `seen` (for specifications that
    /// [`SequentialSpec::grows`]; for a register, whether it is `seen`).
    fn grows_into(&self, state: &Self::State, seen: &Value) -> bool {
        let _ = (state, seen);
        true
    }

    /// Whether non-read `op`, in some state that does not grow into `seen`, could leave
    /// one that does, other than by appending (a write of a prefix of `seen`, a cas
    /// to it from something else).
    fn may_reset_to(&self, op: &Operation, seen: &Value) -> bool {
        let _ = (op, seen);
        true
    }

    /// The value the state must have grown into for `op` to take effect, for specs
    /// that [`SequentialSpec::grows`]: by default a read-only operation's result (a cas
    /// would name what it compares against). `None` if it has none.
    fn requires<'o>(&self, op: &'o Operation) -> Option<&'o Value> {
        if self.is_read_only(op) {
            op.output.as_ref()
        } else {
            None
        }
    }

    /// For specifications that [`SequentialSpec::grows`]: the value `op` requires
    /// ([`SequentialSpec::requires`]) if it also leaves a state that can no longer grow
    /// into that value (a register's `cas 4→1` needs 4 and leaves something else), so
    /// that two such operations need two resets to the value between them. `None` if
    /// it does not. Must be conservative (`None` when in doubt), or the checker will
    /// miss linearizations.
    fn consumes<'o>(&self, op: &'o Operation) -> Option<&'o Value> {
        let _ = op;
        None
    }

    /// Why a read that [`SequentialSpec::grows_into`] rules out can never happen,
    /// appended to the explanation of a violation.
    fn doomed_reason(&self) -> &'static str {
        "appends cannot change that, and no write that could reset it is left"
    }

    /// Whether `op`, whose outcome is unknown, can be left out: no read among `ops`
    /// observed its effect and nothing else could depend on it, so "it never happened"
    /// explains the history whenever "it happened" does. Must be conservative.
    fn droppable_unknown(&self, op: &Operation, ops: &[&Operation]) -> bool {
        let _ = (op, ops);
        false
    }

    /// The independent object `op` acts on; `None` puts it with the other `None`s.
    fn partition_key(&self, op: &Operation) -> Option<Value> {
        op.key.clone()
    }

    /// An order of `ops` (indices into it; operations of unknown outcome may be left
    /// out) that is likely a linearization, if the specification can tell one cheaply
    /// from the results. The checker believes it only once it has checked it against
    /// the definition ([`crate::linear::Options::try_proposed_order`]); `None` (the
    /// default) leaves the key to the search.
    fn propose_order(&self, ops: &[&Operation]) -> Option<Vec<usize>> {
        let _ = ops;
        None
    }

    /// The state, for people ("the register holds 4").
    fn describe_state(&self, state: &Self::State) -> String;

    /// Bytes a state holds beyond its own size (on the heap), for memory budgets.
    fn state_heap_bytes(&self, state: &Self::State) -> usize {
        let _ = state;
        0
    }

    /// Why `op` cannot take effect in `state`, for people.
    fn explain(&self, state: &Self::State, op: &Operation) -> String {
        format!(
            "{} does not fit: {}",
            describe_op(op),
            self.describe_state(state)
        )
    }
}

/// The value a register's read returned or its cas compares against: the state it
/// needs.
fn required(op: &Operation) -> Option<&Value> {
    match op.f {
        Function::Read => op.output.as_ref(),
        Function::Cas => cas_pair(&op.input).map(|(from, _)| from),
        Function::Write | Function::Append => None,
    }
}

/// Whether a read that returned `seen` could show the effect of writing or appending
/// `value`: the value itself, a substring of a string, a prefix or an element of a
/// list. In doubt, `true`.
fn mentions(seen: &Value, value: &Value) -> bool {
    if seen == value {
        return true;
    }
    match (seen, value) {
        (Value::Str(s), Value::Str(t)) => s.contains(t.as_str()),
        (Value::List(items), Value::List(prefix)) if items.starts_with(prefix) => true,
        (Value::List(items), x) => items.iter().any(|i| mentions(i, x)),
        (Value::Int(_), Value::Int(_)) | (Value::Nil, _) => false,
        _ => true,
    }
}

/// The shared rule of the built-in specifications: an unknown write or append that no read
/// mentions can be dropped — it may never have happened — provided nothing else could
/// depend on it: no cas could have compared against it, and, for a write, no append
/// could have needed the value it left (an append's legality depends on the state's
/// type). Dropping an append can only make later appends legal, never illegal.
fn unobserved(op: &Operation, ops: &[&Operation]) -> bool {
    let depends = |o: &&&Operation| {
        o.f == Function::Cas || (op.f == Function::Write && o.f == Function::Append)
    };
    matches!(op.f, Function::Write | Function::Append)
        && op.output.is_none()
        && !ops.iter().any(|o| depends(&o))
        && !ops.iter().any(|o| {
            o.f == Function::Read
                && o.output
                    .as_ref()
                    .is_some_and(|seen| mentions(seen, &op.input))
        })
}

/// A register of `read`, `write` and (if `cas`) compare-and-set, starting at `initial`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Register {
    /// Whether `cas` is allowed.
    pub cas: bool,
    /// The value before any write.
    pub initial: Value,
}

fn cas_pair(input: &Value) -> Option<(&Value, &Value)> {
    match input {
        Value::List(pair) if pair.len() == 2 => Some((&pair[0], &pair[1])),
        _ => None,
    }
}

fn validate_cas(op: &Operation) -> Result<(), String> {
    cas_pair(&op.input)
        .map(|_| ())
        .ok_or_else(|| format!("a cas takes [from to], got {}", op.input))
}

/// Whether a read could have returned what it did from `state` (anything, if its
/// result is unknown).
fn reads(state: &Value, op: &Operation) -> bool {
    op.output.as_ref().is_none_or(|seen| seen == state)
}

/// One value's semantics, shared by `register`, `cas-register` and `kv`: reads return
/// it, writes replace it, a cas replaces it if it matches, an append extends it.
fn value_step(state: &Value, op: &Operation) -> Option<Value> {
    match op.f {
        Function::Read => reads(state, op).then(|| state.clone()),
        Function::Write => Some(op.input.clone()),
        Function::Cas => {
            let (from, to) = cas_pair(&op.input)?;
            (from == state).then(|| to.clone())
        }
        Function::Append => appended(state, &op.input),
    }
}

/// "`what` holds 4", or "holds nothing (nil)".
fn holds(what: &str, state: &Value) -> String {
    match state {
        Value::Nil => format!("{what} holds nothing (nil)"),
        v => format!("{what} holds {v}"),
    }
}

impl SequentialSpec for Register {
    type State = Value;

    fn name(&self) -> &'static str {
        if self.cas { "cas-register" } else { "register" }
    }

    fn init(&self) -> Value {
        self.initial.clone()
    }

    fn validate(&self, op: &Operation) -> Result<(), String> {
        match op.f {
            Function::Read | Function::Write => Ok(()),
            Function::Cas if self.cas => validate_cas(op),
            f => Err(format!("the {} model has no {f}", self.name())),
        }
    }

    fn step(&self, state: &Value, op: &Operation) -> Option<Value> {
        match op.f {
            Function::Append => None,
            _ => value_step(state, op),
        }
    }

    fn is_read_only(&self, op: &Operation) -> bool {
        op.f == Function::Read
    }

    fn droppable_unknown(&self, op: &Operation, ops: &[&Operation]) -> bool {
        unobserved(op, ops)
    }

    fn allows(&self, state: &Value, op: &Operation) -> bool {
        op.f == Function::Read && reads(state, op)
    }

    /// A register "grows" into nothing but itself: a read of another value needs a
    /// write or cas that leaves that value, so a read is doomed once none is left.
    fn grows(&self) -> bool {
        true
    }

    fn grows_into(&self, state: &Value, seen: &Value) -> bool {
        state == seen
    }

    fn doomed_reason(&self) -> &'static str {
        "no write or cas that could leave that value is left"
    }

    fn requires<'o>(&self, op: &'o Operation) -> Option<&'o Value> {
        required(op)
    }

    fn consumes<'o>(&self, op: &'o Operation) -> Option<&'o Value> {
        match (op.f, cas_pair(&op.input)) {
            (Function::Cas, Some((from, to))) if from != to => Some(from),
            _ => None,
        }
    }

    fn may_reset_to(&self, op: &Operation, seen: &Value) -> bool {
        match op.f {
            Function::Write => op.input == *seen,
            // A cas from `seen` to `seen` needs the state to be `seen` already.
            Function::Cas => {
                cas_pair(&op.input).is_none_or(|(from, to)| to == seen && from != seen)
            }
            Function::Read | Function::Append => false,
        }
    }

    fn state_heap_bytes(&self, state: &Value) -> usize {
        state.heap_bytes()
    }

    fn describe_state(&self, state: &Value) -> String {
        holds("the register", state)
    }

    fn explain(&self, state: &Value, op: &Operation) -> String {
        match (op.f, cas_pair(&op.input)) {
            (Function::Cas, Some((from, _))) => format!(
                "{} needs {from}, but {}",
                describe_op(op),
                self.describe_state(state)
            ),
            _ => format!("{}, but {}", describe_op(op), self.describe_state(state)),
        }
    }
}

/// Independent keys, each a value that supports `read`, `write`, `cas` and `append`
/// (string concatenation onto strings, a push onto lists), starting at `initial`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kv {
    /// Every key's value before any write (`""` for Porcupine's kv histories).
    pub initial: Value,
}

/// Whether appends (string concatenation, list pushes) could turn `state` into `seen`:
/// `state` is a prefix of `seen`; `nil` grows into any string and any non-empty list.
/// In doubt, `true`.
fn value_grows_into(state: &Value, seen: &Value) -> bool {
    match (state, seen) {
        (Value::Str(s), Value::Str(t)) => t.starts_with(s.as_str()),
        (Value::List(s), Value::List(t)) => t.starts_with(s),
        // Appending a string to nil gives that string, even the empty one.
        (Value::Nil, Value::Str(_)) => true,
        // Appending to nil gives a list of at least one element.
        (Value::Nil, Value::List(t)) => !t.is_empty(),
        (Value::Nil, Value::Nil) => true,
        (Value::Str(_) | Value::List(_), Value::Nil) => false,
        (Value::Str(_), Value::List(_)) | (Value::List(_), Value::Str(_)) => false,
        _ => true,
    }
}

/// `state` with `item` appended: strings concatenate, lists push; `nil` becomes a
/// string or a one-element list.
fn appended(state: &Value, item: &Value) -> Option<Value> {
    Some(match (state, item) {
        (Value::Str(s), Value::Str(t)) => Value::Str(format!("{s}{t}")),
        (Value::Nil, Value::Str(t)) => Value::Str(t.clone()),
        (Value::List(items), x) => {
            let mut items = items.clone();
            items.push(x.clone());
            Value::List(items)
        }
        (Value::Nil, x) => Value::List(vec![x.clone()]),
        _ => return None,
    })
}

impl SequentialSpec for Kv {
    type State = Value;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn init(&self) -> Value {
        self.initial.clone()
    }

    fn validate(&self, op: &Operation) -> Result<(), String> {
        match op.f {
            Function::Cas => validate_cas(op),
            _ => Ok(()),
        }
    }

    fn step(&self, state: &Value, op: &Operation) -> Option<Value> {
        value_step(state, op)
    }

    fn is_read_only(&self, op: &Operation) -> bool {
        op.f == Function::Read
    }

    fn droppable_unknown(&self, op: &Operation, ops: &[&Operation]) -> bool {
        unobserved(op, ops)
    }

    fn allows(&self, state: &Value, op: &Operation) -> bool {
        op.f == Function::Read && reads(state, op)
    }

    fn grows(&self) -> bool {
        true
    }

    fn grows_into(&self, state: &Value, seen: &Value) -> bool {
        value_grows_into(state, seen)
    }

    fn may_reset_to(&self, op: &Operation, seen: &Value) -> bool {
        match op.f {
            Function::Append | Function::Read => false,
            Function::Write => value_grows_into(&op.input, seen),
            // A cas needs the state to be `from`: if that grows into `seen` already,
            // it resets nothing to it.
            Function::Cas => cas_pair(&op.input).is_none_or(|(from, to)| {
                value_grows_into(to, seen) && !value_grows_into(from, seen)
            }),
        }
    }

    fn requires<'o>(&self, op: &'o Operation) -> Option<&'o Value> {
        required(op)
    }

    fn consumes<'o>(&self, op: &'o Operation) -> Option<&'o Value> {
        match (op.f, cas_pair(&op.input)) {
            (Function::Cas, Some((from, to))) if !value_grows_into(to, from) => Some(from),
            _ => None,
        }
    }

    fn state_heap_bytes(&self, state: &Value) -> usize {
        state.heap_bytes()
    }

    fn describe_state(&self, state: &Value) -> String {
        holds("the key", state)
    }

    fn explain(&self, state: &Value, op: &Operation) -> String {
        match op.f {
            Function::Append => format!(
                "{} cannot be applied: {}",
                describe_op(op),
                self.describe_state(state)
            ),
            _ => format!("{}, but {}", describe_op(op), self.describe_state(state)),
        }
    }
}

/// Elle's list-append workload, one key at a time: `append` pushes a unique element,
/// `read` returns the whole list (`nil` for an empty one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListAppend;

impl SequentialSpec for ListAppend {
    type State = Vec<Value>;

    fn name(&self) -> &'static str {
        "list-append"
    }

    fn init(&self) -> Vec<Value> {
        Vec::new()
    }

    fn validate(&self, op: &Operation) -> Result<(), String> {
        match (op.f, &op.output) {
            (Function::Append, _) => Ok(()),
            (Function::Read, Some(Value::List(_) | Value::Nil) | None) => Ok(()),
            (Function::Read, Some(other)) => {
                Err(format!("a list-append read returns a list, got {other}"))
            }
            (f, _) => Err(format!("the list-append model has no {f}")),
        }
    }

    fn step(&self, state: &Vec<Value>, op: &Operation) -> Option<Vec<Value>> {
        match (op.f, &op.output) {
            (Function::Append, _) => {
                let mut list = state.clone();
                list.push(op.input.clone());
                Some(list)
            }
            (Function::Read, None) => Some(state.clone()),
            (Function::Read, Some(Value::Nil)) => state.is_empty().then(|| state.clone()),
            (Function::Read, Some(Value::List(seen))) => (seen == state).then(|| state.clone()),
            _ => None,
        }
    }

    fn is_read_only(&self, op: &Operation) -> bool {
        op.f == Function::Read
    }

    fn droppable_unknown(&self, op: &Operation, ops: &[&Operation]) -> bool {
        unobserved(op, ops)
    }

    fn grows(&self) -> bool {
        true
    }

    fn grows_into(&self, state: &Vec<Value>, seen: &Value) -> bool {
        match seen {
            Value::Nil => state.is_empty(),
            Value::List(t) => t.starts_with(state),
            _ => true,
        }
    }

    fn may_reset_to(&self, op: &Operation, _seen: &Value) -> bool {
        op.f != Function::Append && op.f != Function::Read
    }

    fn state_heap_bytes(&self, state: &Vec<Value>) -> usize {
        state.capacity() * std::mem::size_of::<Value>()
            + state.iter().map(Value::heap_bytes).sum::<usize>()
    }

    fn describe_state(&self, state: &Vec<Value>) -> String {
        format!("the list is {}", Value::List(state.clone()))
    }

    /// The appends in the order of the longest list read, each read where its list
    /// ends (after the append of its last element, in the order of invocation among
    /// reads that end there), then the acknowledged appends the longest read lacks (in
    /// the order of invocation). `None` if an element was appended twice, or a list holds
    /// one nobody appended.
    fn propose_order(&self, ops: &[&Operation]) -> Option<Vec<usize>> {
        fn read(op: &Operation) -> Option<&[Value]> {
            match (op.f, &op.output) {
                (Function::Read, Some(Value::List(items))) => Some(items),
                (Function::Read, Some(Value::Nil)) => Some(&[]),
                _ => None,
            }
        }
        let longest = ops.iter().filter_map(|op| read(op)).max_by_key(|l| l.len());
        let longest = longest.unwrap_or(&[]);
        let mut appends: Vec<(&Value, usize)> = (ops.iter().enumerate())
            .filter(|(_, op)| op.f == Function::Append)
            .map(|(i, op)| (&op.input, i))
            .collect();
        appends.sort();
        if appends.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return None;
        }
        let mut reads_ending = vec![Vec::new(); longest.len() + 1];
        for (i, op) in ops.iter().enumerate() {
            if let Some(items) = read(op) {
                reads_ending[items.len()].push(i);
            }
        }
        let mut placed = vec![false; ops.len()];
        let mut order = Vec::with_capacity(ops.len());
        for (k, reads) in reads_ending.iter().enumerate() {
            order.extend_from_slice(reads);
            if let Some(element) = longest.get(k) {
                let at = appends.binary_search_by_key(&element, |&(e, _)| e).ok()?;
                let append = appends[at].1;
                placed[append] = true;
                order.push(append);
            }
        }
        order.extend(
            (ops.iter().enumerate())
                .filter(|&(i, op)| op.f == Function::Append && op.ret.is_some() && !placed[i])
                .map(|(i, _)| i),
        );
        Some(order)
    }
}

/// The built-in specifications, by the names `consim check --model` takes.
///
/// ```
/// use checkers::spec::SpecName;
/// assert_eq!(SpecName::from_name("cas-register"), Some(SpecName::CasRegister));
/// assert_eq!(SpecName::ListAppend.name(), "list-append");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpecName {
    /// read, write ([`Register`] without cas).
    Register,
    /// read, write, cas ([`Register`] with cas).
    CasRegister,
    /// independent keys with read, write, cas, append ([`Kv`]).
    Kv,
    /// Elle's list-append, one key at a time ([`ListAppend`]).
    ListAppend,
}

impl SpecName {
    /// Every specification's name.
    pub const NAMES: [&'static str; 4] = ["register", "cas-register", "kv", "list-append"];

    /// The specification named `name`.
    pub fn from_name(name: &str) -> Option<SpecName> {
        Some(match name {
            "register" => SpecName::Register,
            "cas-register" => SpecName::CasRegister,
            "kv" => SpecName::Kv,
            "list-append" => SpecName::ListAppend,
            _ => return None,
        })
    }

    /// The specification's name.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// The specification a history most likely means: `list-append` if it only appends
    /// non-strings and reads (Elle's workload), `kv` if its events carry keys or
    /// appends, `cas-register` otherwise.
    pub fn guess(history: &History) -> SpecName {
        let keyed = history.events.iter().any(|e| e.key.is_some());
        let appends = history.events.iter().any(|e| e.f == Function::Append);
        let list_append = appends
            && history.events.iter().all(|e| match e.f {
                Function::Append => !matches!(e.value, Value::Str(_)),
                Function::Read => matches!(e.value, Value::Nil | Value::List(_)),
                _ => false,
            });
        if list_append {
            SpecName::ListAppend
        } else if keyed || appends {
            SpecName::Kv
        } else {
            SpecName::CasRegister
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(f: Function, input: Value, output: Option<Value>) -> Operation {
        Operation {
            process: 0,
            f,
            key: None,
            input,
            output,
            call: 0,
            ret: None,
        }
    }

    #[test]
    fn register_semantics() {
        let m = Register {
            cas: true,
            initial: Value::Nil,
        };
        let s = m.init();
        assert_eq!(
            m.step(&s, &op(Function::Read, Value::Nil, Some(Value::Nil))),
            Some(Value::Nil)
        );
        assert_eq!(
            m.step(&s, &op(Function::Read, Value::Nil, Some(Value::Int(1)))),
            None
        );
        assert_eq!(
            m.step(&s, &op(Function::Read, Value::Nil, None)),
            Some(Value::Nil)
        );
        let w = m
            .step(&s, &op(Function::Write, Value::Int(3), None))
            .unwrap();
        let cas = |a, b| {
            op(
                Function::Cas,
                Value::List(vec![Value::Int(a), Value::Int(b)]),
                None,
            )
        };
        assert_eq!(m.step(&w, &cas(3, 4)), Some(Value::Int(4)));
        assert_eq!(m.step(&w, &cas(2, 4)), None);
        assert!(
            m.explain(&w, &cas(2, 4))
                .contains("needs 2, but the register holds 3")
        );
        assert!(
            Register {
                cas: false,
                initial: Value::Nil
            }
            .validate(&cas(1, 2))
            .is_err()
        );
    }

    #[test]
    fn kv_appends_strings_and_lists() {
        let m = Kv {
            initial: Value::Str(String::new()),
        };
        let a = m
            .step(
                &m.init(),
                &op(Function::Append, Value::Str("x 1 y".into()), None),
            )
            .unwrap();
        let b = m
            .step(&a, &op(Function::Append, Value::Str("x 2 y".into()), None))
            .unwrap();
        assert_eq!(b, Value::Str("x 1 yx 2 y".into()));
        let l = Kv {
            initial: Value::Nil,
        };
        let one = l
            .step(&Value::Nil, &op(Function::Append, Value::Int(5), None))
            .unwrap();
        assert_eq!(one, Value::List(vec![Value::Int(5)]));
    }

    #[test]
    fn growth_is_prefix_extension() {
        let s = |t: &str| Value::Str(t.into());
        assert!(value_grows_into(&s("ab"), &s("abc")));
        assert!(value_grows_into(&s("ab"), &s("ab")));
        assert!(!value_grows_into(&s("ab"), &s("ac")));
        assert!(!value_grows_into(&s("abc"), &s("ab")));
        assert!(value_grows_into(&Value::Nil, &s("a")));
        assert!(
            value_grows_into(&Value::Nil, &s("")),
            "append \"\" to nil gives \"\""
        );
        assert!(!value_grows_into(&s(""), &Value::Nil));
        assert!(!value_grows_into(&Value::Nil, &Value::List(vec![])));
        // Every append of a string keeps the growth relation exact.
        let kv = Kv { initial: s("") };
        let state = kv
            .step(&s("ab"), &op(Function::Append, s("c"), None))
            .unwrap();
        assert!(value_grows_into(&state, &s("abcd")));
    }

    #[test]
    fn mentions_sees_values_prefixes_and_elements() {
        let l = |v: &[i64]| Value::List(v.iter().map(|&i| Value::Int(i)).collect());
        assert!(mentions(&Value::Nil, &Value::Nil));
        assert!(mentions(&l(&[1, 2]), &l(&[1, 2])));
        assert!(mentions(&l(&[2, 1]), &l(&[2])));
        assert!(mentions(&l(&[2, 1]), &Value::Int(1)));
        assert!(!mentions(&l(&[2, 1]), &Value::Int(3)));
        assert!(mentions(&Value::Str("ab".into()), &Value::Str("b".into())));
        assert!(!mentions(&Value::Int(4), &Value::Int(5)));
    }

    #[test]
    fn list_append_reads_nil_as_empty() {
        let m = ListAppend;
        assert!(
            m.step(&vec![], &op(Function::Read, Value::Nil, Some(Value::Nil)))
                .is_some()
        );
        assert!(
            m.step(
                &vec![Value::Int(1)],
                &op(Function::Read, Value::Nil, Some(Value::Nil))
            )
            .is_none()
        );
    }
}
