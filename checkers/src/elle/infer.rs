//! Inferring data dependencies (ww, wr, rw) from what reads observed, and the anomalies
//! a history shows outright. See the module docs of [`super`] for what is inferred.

use std::collections::BTreeMap;

use crate::anomalies::{Kind, ListReads};
use crate::history::Value;
use crate::shared::FxMap;
use crate::traceable::{Analysis, NotTraceable, Workload};

use super::txn::{MopKind, Status, TxnHistory};
use super::{Anomaly, Rel};

/// A micro-operation: transaction index and position in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct MopRef {
    pub txn: u32,
    pub mop: u32,
}

impl MopRef {
    /// No micro-operation (the end of an edge into a hub).
    pub const NONE: MopRef = MopRef {
        txn: u32::MAX,
        mop: u32::MAX,
    };
}

/// A data dependency. `to` is a transaction, or a hub (`txns + hub index`) that stands
/// for every append of a key no read shows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DataEdge {
    pub rel: Rel,
    pub from: u32,
    pub to: u32,
    /// The micro-operation of `from` the dependency comes from.
    pub from_mop: MopRef,
    /// The micro-operation of `to` it goes to (`NONE` into a hub).
    pub to_mop: MopRef,
    /// Whether `to_mop` is an append or write no read placed (after every known one).
    pub unplaced: bool,
}

/// A hub's edge on to one of the appends it stands for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HubLink {
    pub hub: u32,
    pub to_mop: MopRef,
}

/// The inferred dependencies and the anomalies shown outright.
#[derive(Debug)]
pub(crate) struct Inferred {
    pub workload: Workload,
    pub edges: Vec<DataEdge>,
    pub hub_links: Vec<HubLink>,
    pub hubs: u32,
    pub found: Vec<Anomaly>,
}

/// Per key: its reads (of committed transactions) and its appends or writes (of
/// committed and unknown ones), in transaction order.
#[derive(Debug, Default)]
struct KeyMops {
    reads: Vec<MopRef>,
    writes: Vec<MopRef>,
}

/// The empty list, which a list-append read of `nil` means.
static EMPTY: Value = Value::List(Vec::new());

struct Index<'a> {
    history: &'a TxnHistory<'a>,
    workload: Workload,
    keys: Vec<&'a Option<Value>>,
    by_key: Vec<KeyMops>,
    /// Who wrote (appended) each value of each key.
    writer: FxMap<(u32, &'a Value), MopRef>,
    /// Values of each key a failed transaction wrote: the index of the failure.
    aborted: FxMap<(u32, &'a Value), usize>,
    /// Values a transaction wrote and then overwrote (or appended to) itself.
    intermediate: FxMap<(u32, &'a Value), MopRef>,
}

impl<'a> Index<'a> {
    fn mop(&self, at: MopRef) -> &'a super::txn::Mop<'a> {
        &self.history.txns[at.txn as usize].mops[at.mop as usize]
    }

    fn line(&self, at: MopRef) -> usize {
        self.history.txns[at.txn as usize].call_line
    }
}

pub(crate) fn infer(history: &TxnHistory<'_>) -> Result<Inferred, NotTraceable> {
    let workload = workload(history)?;
    let index = index(history, workload)?;
    let mut out = Inferred {
        workload,
        edges: Vec::new(),
        hub_links: Vec::new(),
        hubs: 0,
        found: Vec::new(),
    };
    for key in 0..index.keys.len() as u32 {
        match workload {
            Workload::ListAppend => list_append_key(&index, key, &mut out),
            Workload::Register => register_key(&index, key, &mut out),
        }
    }
    lost_updates(&index, &mut out);
    Ok(out)
}

fn workload(history: &TxnHistory<'_>) -> Result<Workload, NotTraceable> {
    let all = history
        .txns
        .iter()
        .map(|t| (t.call_line, &t.mops))
        .chain(history.aborted.iter().map(|a| (a.line, &a.mops)));
    let mut appends = None;
    let mut writes = None;
    let mut lists = false;
    for (line, mops) in all {
        for mop in mops {
            match mop.f {
                MopKind::Append => appends = appends.or(Some(line)),
                MopKind::Write => writes = writes.or(Some(line)),
                MopKind::Read => lists |= matches!(&*mop.value, Value::List(_)),
            }
        }
    }
    match (appends, writes) {
        // Reads alone: lists are list-append reads.
        (None, None) if lists => Ok(Workload::ListAppend),
        (Some(a), Some(w)) => Err(NotTraceable::Unsupported {
            line: a.max(w),
            message: format!(
                "the history both appends (line {a}) and writes (line {w}); dependency inference needs one workload, list-append or registers"
            ),
        }),
        (Some(_), None) => Ok(Workload::ListAppend),
        _ => Ok(Workload::Register),
    }
}

fn index<'a>(history: &'a TxnHistory<'a>, workload: Workload) -> Result<Index<'a>, NotTraceable> {
    let mut ids: FxMap<&Option<Value>, u32> = FxMap::default();
    let mut index = Index {
        history,
        workload,
        keys: Vec::new(),
        by_key: Vec::new(),
        writer: FxMap::default(),
        aborted: FxMap::default(),
        intermediate: FxMap::default(),
    };
    for (t, txn) in history.txns.iter().enumerate() {
        // Keys this transaction wrote so far: its later reads of them are internal.
        let mut written: Vec<u32> = Vec::new();
        for (m, mop) in txn.mops.iter().enumerate() {
            let next = ids.len() as u32;
            let key = *ids.entry(&*mop.key).or_insert(next);
            if key == next {
                index.keys.push(&*mop.key);
                index.by_key.push(KeyMops::default());
            }
            let at = MopRef {
                txn: t as u32,
                mop: m as u32,
            };
            match mop.f {
                MopKind::Read => index.add_read(at, key, &written)?,
                MopKind::Append | MopKind::Write => index.add_write(at, key, &mut written)?,
            }
        }
    }
    for (a, aborted) in history.aborted.iter().enumerate() {
        for mop in aborted.mops.iter().filter(|m| m.f != MopKind::Read) {
            if let Some(&key) = ids.get(&*mop.key) {
                index.aborted.entry((key, &*mop.value)).or_insert(a);
            }
        }
    }
    Ok(index)
}

impl<'a> Index<'a> {
    /// A read of a committed transaction, unless it reads what the transaction itself
    /// wrote to a register (`written`: the keys it wrote so far).
    fn add_read(&mut self, at: MopRef, key: u32, written: &[u32]) -> Result<(), NotTraceable> {
        let txn = &self.history.txns[at.txn as usize];
        let internal = written.contains(&key);
        let external = !internal || self.workload == Workload::ListAppend;
        if txn.status == Status::Ok && external {
            check_read(self.history, at, self.workload)?;
            self.by_key[key as usize].reads.push(at);
        }
        Ok(())
    }

    /// An append or write: its value must be new to the key (and, for a register, not
    /// the initial value). A transaction's earlier write of the key becomes
    /// intermediate.
    fn add_write(
        &mut self,
        at: MopRef,
        key: u32,
        written: &mut Vec<u32>,
    ) -> Result<(), NotTraceable> {
        let history = self.history;
        let txn = &history.txns[at.txn as usize];
        let mop = self.mop(at);
        let not_unique = |other: usize| NotTraceable::NotUnique {
            line: txn.call_line,
            other,
            value: mop.value.clone().into_owned(),
            key: key_text(&mop.key),
            analysis: Analysis::Dependencies,
        };
        if self.workload == Workload::Register && *mop.value == history.initial {
            return Err(not_unique(0));
        }
        if let Some(first) = self.writer.insert((key, &*mop.value), at) {
            return Err(not_unique(self.line(first)));
        }
        self.by_key[key as usize].writes.push(at);
        if !written.contains(&key) {
            written.push(key);
            return Ok(());
        }
        let writes = &self.by_key[key as usize].writes;
        if let Some(&earlier) = writes.iter().rev().nth(1).filter(|w| w.txn == at.txn) {
            let value = &self.mop(earlier).value;
            self.intermediate.insert((key, value), earlier);
        }
        Ok(())
    }
}

fn check_read(
    history: &TxnHistory<'_>,
    at: MopRef,
    workload: Workload,
) -> Result<(), NotTraceable> {
    let txn = &history.txns[at.txn as usize];
    let value: &Value = &txn.mops[at.mop as usize].value;
    if workload == Workload::ListAppend && !matches!(value, Value::List(_) | Value::Nil) {
        return Err(NotTraceable::Unsupported {
            line: txn.ret_line.unwrap_or(txn.call_line),
            message: format!("a read in a list-append history returned {value}, not a list"),
        });
    }
    Ok(())
}

fn key_text(key: &Option<Value>) -> String {
    key.as_ref()
        .map_or_else(|| "-".to_owned(), super::txn::key_text)
}

/// The list a list-append read returned (`nil` is the empty list).
fn list(value: &Value) -> &[Value] {
    match value {
        Value::List(items) => items,
        _ => &[],
    }
}

fn anomaly(index: &Index<'_>, kind: Kind, txns: Vec<u32>, explanation: String) -> Anomaly {
    let txns: Vec<usize> = txns.into_iter().map(|t| t as usize).collect();
    Anomaly {
        kind,
        lines: txns
            .iter()
            .map(|&t| index.history.txns[t].call_line)
            .collect(),
        txns,
        steps: Vec::new(),
        explanation,
    }
}

fn describe(index: &Index<'_>, txn: u32) -> String {
    index.history.txns[txn as usize].describe()
}

fn list_append_key(index: &Index<'_>, key: u32, out: &mut Inferred) {
    let mops = &index.by_key[key as usize];
    let lists: Vec<&[Value]> = mops
        .reads
        .iter()
        .map(|&r| list(&index.mop(r).value))
        .collect();
    let judged = ListReads::new(
        lists.clone(),
        |x| index.writer.contains_key(&(key, x)),
        |x| index.aborted.get(&(key, x)).copied(),
    );
    shown_outright(index, key, &judged, out);
    intermediate_reads(index, key, &lists, out);
    if judged.order_known() {
        list_append_edges(index, key, &lists, judged.order(), out);
    }
    // Otherwise the key's version order is not known: infer nothing from it.
}

/// What the reads of a list-append key show outright, each once per key: the first
/// read that disagrees with the longest, the first that shows an element twice, and
/// each element nobody appended.
fn shown_outright(index: &Index<'_>, key: u32, judged: &ListReads<'_, usize>, out: &mut Inferred) {
    let reads = &index.by_key[key as usize].reads;
    let key_name = key_text(index.keys[key as usize]);
    if let (Some(&first), Some(l)) = (judged.incompatible().first(), judged.longest()) {
        let others = judged.incompatible().len() - 1;
        let why = format!(
            "{} and {} cannot both be prefixes of one order of key {key_name}'s list{}",
            describe(index, reads[first].txn),
            describe(index, reads[l].txn),
            match others {
                0 => String::new(),
                n => format!("; {n} more reads disagree with the longest"),
            }
        );
        let txns = vec![reads[first].txn, reads[l].txn];
        out.found
            .push(anomaly(index, Kind::IncompatibleOrder, txns, why));
    }
    if let Some(&(i, _)) = judged.duplicates().first() {
        let why = format!(
            "{} shows an element of key {key_name} more than once",
            describe(index, reads[i].txn)
        );
        let txns = vec![reads[i].txn];
        out.found
            .push(anomaly(index, Kind::DuplicateElements, txns, why));
    }
    for unwritten in judged.unwritten_once() {
        let read = reads[unwritten.read];
        let why = format!(
            "{} shows {} in key {key_name}, {}",
            describe(index, read.txn),
            unwritten.element,
            unwritten_why(index, unwritten.aborted, "append", "appended")
        );
        out.found
            .push(anomaly(index, unwritten.kind(), vec![read.txn], why));
    }
}

/// Why nobody wrote a value a read shows: its failed transaction `aborted`, if it has
/// one (the `verb` it failed at), else nobody `wrote` it.
fn unwritten_why(index: &Index<'_>, aborted: Option<usize>, verb: &str, wrote: &str) -> String {
    match aborted {
        Some(a) => format!(
            "whose {verb} failed ({}, line {})",
            super::txn::process_text(index.history.aborted[a].process),
            index.history.aborted[a].line
        ),
        None => format!("which nobody {wrote}"),
    }
}

/// Reads whose last element a transaction appended and then appended after (G1b).
fn intermediate_reads(index: &Index<'_>, key: u32, lists: &[&[Value]], out: &mut Inferred) {
    if index.intermediate.is_empty() {
        return;
    }
    for (i, read) in index.by_key[key as usize].reads.iter().enumerate() {
        let Some(last) = lists[i].last() else {
            continue;
        };
        if let Some(&writer) = index.intermediate.get(&(key, last)) {
            if writer.txn != read.txn {
                out.found.push(anomaly(
                    index,
                    Kind::IntermediateRead,
                    vec![read.txn, writer.txn],
                    format!(
                        "{} read key {} ending in {last}, an intermediate state of {}, which appended again to it",
                        describe(index, read.txn),
                        key_text(index.keys[key as usize]),
                        describe(index, writer.txn)
                    ),
                ));
            }
        }
    }
}

fn list_append_edges(
    index: &Index<'_>,
    key: u32,
    lists: &[&[Value]],
    order: &[Value],
    out: &mut Inferred,
) {
    let mops = &index.by_key[key as usize];
    let writers: Vec<Option<MopRef>> = order
        .iter()
        .map(|x| index.writer.get(&(key, x)).copied())
        .collect();
    let push = |rel: Rel, from: MopRef, to: MopRef, unplaced: bool, out: &mut Inferred| {
        if from.txn != to.txn {
            out.edges.push(DataEdge {
                rel,
                from: from.txn,
                to: to.txn,
                from_mop: from,
                to_mop: to,
                unplaced,
            });
        }
    };
    for pair in writers.windows(2) {
        if let [Some(a), Some(b)] = pair {
            push(Rel::Ww, *a, *b, false, out);
        }
    }
    let mut last_readers = Vec::new();
    for (i, &read) in mops.reads.iter().enumerate() {
        let len = lists[i].len();
        if let Some(Some(w)) = len.checked_sub(1).map(|p| writers[p]) {
            push(Rel::Wr, w, read, false, out);
        }
        match writers.get(len) {
            Some(Some(next)) => push(Rel::Rw, read, *next, false, out),
            Some(None) => {}
            None => last_readers.push(read),
        }
    }
    // Appends no read shows came after every element the longest read shows.
    let placed: FxMap<&Value, ()> = order.iter().map(|x| (x, ())).collect();
    let unplaced: Vec<MopRef> = mops
        .writes
        .iter()
        .copied()
        .filter(|&w| !placed.contains_key(&*index.mop(w).value))
        .collect();
    if unplaced.is_empty() {
        return;
    }
    if let Some(Some(last)) = writers.last() {
        for &w in &unplaced {
            push(Rel::Ww, *last, w, true, out);
        }
    }
    anti_dependencies(index, &last_readers, &unplaced, out);
}

/// rw edges from every reader of a state to every write after it: through one hub
/// node when there are several writes, so that the edges stay linear in number.
fn anti_dependencies(index: &Index<'_>, readers: &[MopRef], writes: &[MopRef], out: &mut Inferred) {
    if readers.is_empty() || writes.is_empty() {
        return;
    }
    let direct = |out: &mut Inferred, read: MopRef| {
        for &w in writes.iter().filter(|w| w.txn != read.txn) {
            out.edges.push(DataEdge {
                rel: Rel::Rw,
                from: read.txn,
                to: w.txn,
                from_mop: read,
                to_mop: w,
                unplaced: true,
            });
        }
    };
    if writes.len() == 1 {
        for &read in readers {
            direct(out, read);
        }
        return;
    }
    let hub = out.hubs;
    out.hubs += 1;
    for &w in writes {
        out.hub_links.push(HubLink { hub, to_mop: w });
    }
    for &read in readers {
        if writes.iter().any(|w| w.txn == read.txn) {
            // A transaction that read the state and wrote after it: through the hub
            // it would reach its own write.
            direct(out, read);
        } else {
            out.edges.push(DataEdge {
                rel: Rel::Rw,
                from: read.txn,
                to: index.history.txns.len() as u32 + hub,
                from_mop: read,
                to_mop: MopRef::NONE,
                unplaced: true,
            });
        }
    }
}

fn register_key(index: &Index<'_>, key: u32, out: &mut Inferred) {
    let mops = &index.by_key[key as usize];
    let mut initial_readers = Vec::new();
    let mut reported: BTreeMap<&Value, ()> = BTreeMap::new();
    for &read in &mops.reads {
        let value: &Value = &index.mop(read).value;
        if *value == index.history.initial {
            initial_readers.push(read);
        } else if let Some(&w) = index.writer.get(&(key, value)) {
            read_of_write(index, key, read, w, out);
        } else if reported.insert(value, ()).is_none() {
            let aborted = index.aborted.get(&(key, value)).copied();
            let why = format!(
                "{} read {value} from key {}, {}",
                describe(index, read.txn),
                key_text(index.keys[key as usize]),
                unwritten_why(index, aborted, "write", "wrote")
            );
            let kind = Kind::unwritten(aborted.is_some());
            out.found.push(anomaly(index, kind, vec![read.txn], why));
        }
    }
    anti_dependencies(index, &initial_readers, &mops.writes, out);
}

/// A register read of the value write `w` wrote: a wr edge, and a G1b if the writer
/// overwrote it itself.
fn read_of_write(index: &Index<'_>, key: u32, read: MopRef, w: MopRef, out: &mut Inferred) {
    if w.txn != read.txn {
        out.edges.push(DataEdge {
            rel: Rel::Wr,
            from: w.txn,
            to: read.txn,
            from_mop: w,
            to_mop: read,
            unplaced: false,
        });
    }
    let value: &Value = &index.mop(read).value;
    let Some(&im) = index.intermediate.get(&(key, value)) else {
        return;
    };
    if im.txn != read.txn {
        let why = format!(
            "{} read {value}, an intermediate value of {}, which wrote key {} again",
            describe(index, read.txn),
            describe(index, im.txn),
            key_text(index.keys[key as usize])
        );
        let txns = vec![read.txn, im.txn];
        out.found
            .push(anomaly(index, Kind::IntermediateRead, txns, why));
    }
}

/// Two committed transactions that read one version of a key (their first access to
/// it) and both wrote it (Elle's lost update; only transactions of several
/// micro-operations can).
fn lost_updates(index: &Index<'_>, out: &mut Inferred) {
    let mut by_read: BTreeMap<(u32, &Value), Vec<u32>> = BTreeMap::new();
    let mut ids: FxMap<&Option<Value>, u32> = FxMap::default();
    for (k, key) in index.keys.iter().enumerate() {
        ids.insert(*key, k as u32);
    }
    for (t, txn) in index.history.txns.iter().enumerate() {
        if txn.status != Status::Ok || txn.mops.len() < 2 {
            continue;
        }
        let mut first: Vec<(u32, Option<&Value>)> = Vec::new();
        let mut counted: Vec<u32> = Vec::new();
        for mop in &txn.mops {
            let key = ids[&*mop.key];
            let entry = match first.iter().find(|(k, _)| *k == key) {
                Some(&(_, read)) => read,
                None => {
                    let read = (mop.f == MopKind::Read).then_some(match &*mop.value {
                        Value::Nil if index.workload == Workload::ListAppend => &EMPTY,
                        value => value,
                    });
                    first.push((key, read));
                    read
                }
            };
            if let (Some(read), true) = (entry, mop.f != MopKind::Read) {
                if !counted.contains(&key) {
                    counted.push(key);
                    by_read.entry((key, read)).or_default().push(t as u32);
                }
            }
        }
    }
    for ((key, value), txns) in by_read {
        if txns.len() < 2 {
            continue;
        }
        let names: Vec<String> = txns.iter().map(|&t| describe(index, t)).collect();
        out.found.push(anomaly(
            index,
            Kind::LostUpdate,
            txns,
            format!(
                "{} all read key {} = {value} and then wrote it: each update is lost to the others",
                names.join("; "),
                key_text(index.keys[key as usize])
            ),
        ));
    }
}
