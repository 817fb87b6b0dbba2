//! The one detection of what the reads of a list-append key show outright: elements
//! nobody appended (garbage, or aborted reads when the append failed), an element
//! twice in one read (duplicate elements), and reads no single order of the list
//! explains (incompatible orders). [`super::list_append_anomalies`] reports every read
//! that shows one; the dependency graph ([`crate::elle`]) reports each once per key and
//! takes no version order from such a key.
//!
//! Every read should be a prefix of the longest read (the first of equal length); those
//! that are not are incompatible. A read that extends the read before it (its list
//! starts with that one) is judged on its new elements only, since the shared ones
//! were judged, and reported, with the read before.

use crate::history::Value;
use crate::shared::{FxMap, is_prefix};

use super::Kind;

/// An element a read shows that no committed or unknown append wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Unwritten<'v, A> {
    /// The read (index into the lists given).
    pub read: usize,
    /// The element.
    pub element: &'v Value,
    /// The failed append of it, if one failed: then it is an aborted read.
    pub aborted: Option<A>,
}

impl<A> Unwritten<'_, A> {
    /// An aborted read (G1a) if its append failed, else a garbage read.
    pub fn kind(&self) -> Kind {
        Kind::unwritten(self.aborted.is_some())
    }
}

/// What the reads of one key show outright.
#[derive(Debug)]
pub(crate) struct ListReads<'v, A> {
    lists: Vec<&'v [Value]>,
    longest: Option<usize>,
    /// Reads that are not prefixes of the longest, ascending.
    incompatible: Vec<usize>,
    /// Each read whose new elements repeat an element, with the first one repeated.
    duplicates: Vec<(usize, &'v Value)>,
    /// Each new element of each read that nobody appended, by read and position.
    unwritten: Vec<Unwritten<'v, A>>,
}

impl<'v, A: Copy> ListReads<'v, A> {
    /// Judges `lists`, a key's reads in history order. `written` says whether a
    /// committed or unknown append wrote an element; `aborted` finds its failed
    /// append.
    pub fn new(
        lists: Vec<&'v [Value]>,
        written: impl Fn(&Value) -> bool,
        aborted: impl Fn(&Value) -> Option<A>,
    ) -> Self {
        let longest = (0..lists.len()).fold(None, |best: Option<usize>, i| match best {
            Some(b) if lists[b].len() >= lists[i].len() => Some(b),
            _ => Some(i),
        });
        let order: &[Value] = longest.map_or(&[], |l| lists[l]);
        let incompatible = (0..lists.len())
            .filter(|&i| !is_prefix(lists[i], order))
            .collect();
        let mut reads = ListReads {
            lists,
            longest,
            incompatible,
            duplicates: Vec::new(),
            unwritten: Vec::new(),
        };
        reads.judge_each(&written, &aborted);
        reads
    }

    /// Each read's new elements: against the longest read's positions for a read that
    /// is a prefix of it, element by element for one that is not.
    fn judge_each(
        &mut self,
        written: &dyn Fn(&Value) -> bool,
        aborted: &dyn Fn(&Value) -> Option<A>,
    ) {
        let order = self.order();
        let mut seen: FxMap<&Value, ()> = FxMap::default();
        let repeats: Vec<usize> = (0..order.len())
            .filter(|&q| seen.insert(&order[q], ()).is_some())
            .collect();
        let unwritten: Vec<usize> = (0..order.len()).filter(|&q| !written(&order[q])).collect();
        for i in 0..self.lists.len() {
            let start = i
                .checked_sub(1)
                .filter(|&p| self.extends(i, p))
                .map_or(0, |p| self.lists[p].len());
            if self.is_compatible(i) {
                self.compatible_read(i, start, &repeats, &unwritten, aborted);
            } else {
                self.incompatible_read(i, start, written, aborted);
            }
        }
    }

    /// Whether read `i` extends read `p`. Two prefixes of the longest read are
    /// compared by length alone.
    fn extends(&self, i: usize, p: usize) -> bool {
        if self.is_compatible(i) && self.is_compatible(p) {
            self.lists[i].len() >= self.lists[p].len()
        } else {
            is_prefix(self.lists[p], self.lists[i])
        }
    }

    /// A read that is a prefix of the longest: its positions from `start` on, among the
    /// longest read's repeated and unwritten positions.
    fn compatible_read(
        &mut self,
        i: usize,
        start: usize,
        repeats: &[usize],
        unwritten: &[usize],
        aborted: &dyn Fn(&Value) -> Option<A>,
    ) {
        let order = self.order();
        let end = self.lists[i].len();
        let within = |positions: &[usize]| {
            let from = positions.partition_point(|&q| q < start);
            let to = positions.partition_point(|&q| q < end);
            positions[from..to.max(from)].to_vec()
        };
        if let Some(&q) = within(repeats).first() {
            self.duplicates.push((i, &order[q]));
        }
        for q in within(unwritten) {
            self.push_unwritten(i, &order[q], aborted);
        }
    }

    /// A read that is not a prefix of the longest, element by element.
    fn incompatible_read(
        &mut self,
        i: usize,
        start: usize,
        written: &dyn Fn(&Value) -> bool,
        aborted: &dyn Fn(&Value) -> Option<A>,
    ) {
        let list = self.lists[i];
        let mut seen: FxMap<&Value, ()> = FxMap::default();
        let repeated = (0..list.len()).find(|&q| seen.insert(&list[q], ()).is_some() && q >= start);
        if let Some(q) = repeated {
            self.duplicates.push((i, &list[q]));
        }
        for element in list[start..].iter().filter(|x| !written(x)) {
            self.push_unwritten(i, element, aborted);
        }
    }

    fn push_unwritten(
        &mut self,
        read: usize,
        element: &'v Value,
        aborted: &dyn Fn(&Value) -> Option<A>,
    ) {
        self.unwritten.push(Unwritten {
            read,
            element,
            aborted: aborted(element),
        });
    }

    /// The longest read's list: the key's version order, if the key shows no anomaly.
    pub fn order(&self) -> &'v [Value] {
        self.longest.map_or(&[], |l| self.lists[l])
    }

    /// The longest read (the first of equal length).
    pub fn longest(&self) -> Option<usize> {
        self.longest
    }

    /// Whether read `i` is a prefix of the longest.
    pub fn is_compatible(&self, i: usize) -> bool {
        self.incompatible.binary_search(&i).is_err()
    }

    /// The reads that are not prefixes of the longest, ascending.
    pub fn incompatible(&self) -> &[usize] {
        &self.incompatible
    }

    /// Each read whose new elements repeat one, and the first repeated, in read order.
    /// The first is the first read that shows an element twice at all.
    pub fn duplicates(&self) -> &[(usize, &'v Value)] {
        &self.duplicates
    }

    /// Each new element of each read that nobody appended, by read and position.
    pub fn unwritten(&self) -> &[Unwritten<'v, A>] {
        &self.unwritten
    }

    /// Each element nobody appended once, with the first read that shows it: the reads
    /// that are prefixes of the longest first (so in the order of the longest read),
    /// then the others.
    pub fn unwritten_once(&self) -> Vec<Unwritten<'v, A>> {
        let (compatible, others): (Vec<&Unwritten<'v, A>>, Vec<_>) = self
            .unwritten
            .iter()
            .partition(|u| self.is_compatible(u.read));
        let mut reported: FxMap<&Value, ()> = FxMap::default();
        compatible
            .into_iter()
            .chain(others)
            .filter(|u| reported.insert(u.element, ()).is_none())
            .copied()
            .collect()
    }

    /// Whether the reads agree on one order of the list and repeat no element: only
    /// then is the longest read the key's version order.
    pub fn order_known(&self) -> bool {
        self.incompatible.is_empty() && self.duplicates.is_empty()
    }
}
