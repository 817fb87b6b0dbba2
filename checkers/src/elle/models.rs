//! Which consistency models the anomalies of a history rule out.
//!
//! Three tables, after Elle's `elle.consistency-model` (Kingsbury and Alvaro 2020),
//! whose sources are Adya 1999 ("Weak Consistency: A Generalized Theory and Optimistic
//! Implementations for Distributed Transactions"), Adya, Liskov and O'Neil 2000,
//! Bailis et al. 2013 ("Highly Available Transactions"), Cerone, Bernardi and Gotsman
//! 2015, Daudjee and Salem 2004/2006, and the map at <https://jepsen.io/consistency>:
//!
//! 1. **anomaly implications** ([`implied_anomalies`]): `G0` is also a `G1c` (a write
//!    cycle is a cycle of dependencies), a cycle without process edges is also one with
//!    them, a `-process` one is also `-realtime` (a process runs one operation at a
//!    time), `G1a`, `G1b` and `G1c` are each `G1`, `G-single-item` is `G-single` and
//!    `G-nonadjacent-item`, which is `G-nonadjacent` and `G2-item`, both `G2`;
//!    `incompatible-order` implies `G1a` and `lost-update` implies `G2-item`;
//! 2. **what each model directly forbids**:
//!
//!    | model | forbids |
//!    | --- | --- |
//!    | read-uncommitted (PL-1) | G0, duplicate-elements |
//!    | read-committed (PL-2), monotonic-view, monotonic-snapshot-read, forward-consistent-view, update-serializable | G1 |
//!    | cursor-stability | G1, lost-update |
//!    | consistent-view (PL-2+) | G1, G-single |
//!    | repeatable-read (PL-2.99) | G1, G2-item, lost-update |
//!    | snapshot-isolation | G1, G-nonadjacent |
//!    | serializable (PL-3) | G1, G2 |
//!    | read-atomic, causal-cerone, prefix, parallel-snapshot-isolation | G1a |
//!    | ROLA | lost-update |
//!    | strong-session-read-uncommitted / -read-committed | G0-process / G1c-process |
//!    | strong-read-uncommitted / strong-read-committed | G0-realtime / G1c-realtime |
//!    | strong-session-snapshot-isolation | G1-process, G-nonadjacent-process |
//!    | strong-snapshot-isolation | G1-realtime, G-nonadjacent-realtime |
//!    | strong-session-serializable | G1-process, G2-process |
//!    | strict-serializable (PL-SS) | G1, G1c-realtime, G2-realtime |
//!    | monotonic-reads, monotonic-writes, read-your-writes, writes-follow-reads | a broken guarantee of that name |
//!
//!    and each of the thirteen models of the cycle-exists inference
//!    ([`super::CycleExists`]) its own `<model>-cycle-exists`;
//!
//! 3. **the model hierarchy** ([`MODELS`]): a model that implies a ruled-out one is
//!    ruled out too (strict-serializable implies serializable, linearizable and
//!    strong-snapshot-isolation; linearizable implies sequential, which implies causal,
//!    which implies writes-follow-reads and PRAM, which implies monotonic reads,
//!    monotonic writes and read-your-writes; and so on).
//!
//! One addition of consim's, for **single-object histories** (every transaction one
//! micro-operation): an execution that is sequentially consistent orders all
//! operations in one total order respecting each process's order, and every edge the
//! graph infers (ww, wr, rw, process) points forward in that order; so any cycle of
//! data and process edges, and any read of a value no write could have left (`G1a`,
//! `garbage-read`, `duplicate-elements`, `incompatible-order`), rules out
//! `sequential`. A linearizable execution's order also respects real time, so a
//! `-realtime` cycle rules out `linearizable`. (Elle relates transactional and
//! single-object models only through strict-serializable ⇒ linearizable.)
//!
//! A garbage read otherwise rules out nothing: Adya's formalism assumes every version
//! read was installed by some transaction, and Elle maps it to no model.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::anomalies::Kind;

/// Anomalies each anomaly implies (Elle's `implied-anomalies`).
const IMPLIES: &[(&str, &[&str])] = &[
    ("G0", &["G1c", "G0-process"]),
    ("G0-process", &["G1c-process", "G0-realtime"]),
    ("G0-realtime", &["G1c-realtime"]),
    ("G1a", &["G1"]),
    ("G1b", &["G1"]),
    ("G1c", &["G1", "G1c-process"]),
    ("G1c-process", &["G1c-realtime", "G1-process"]),
    ("G1c-realtime", &["G1-realtime"]),
    ("G1", &["G1-process"]),
    ("G1-process", &["G1-realtime"]),
    (
        "G-single-item",
        &["G-single", "G-single-item-process", "G-nonadjacent-item"],
    ),
    (
        "G-single-item-process",
        &[
            "G-single-process",
            "G-single-item-realtime",
            "G-nonadjacent-item-process",
        ],
    ),
    (
        "G-single-item-realtime",
        &["G-single-realtime", "G-nonadjacent-item-realtime"],
    ),
    ("G-single", &["G-nonadjacent", "G-single-process"]),
    (
        "G-single-process",
        &["G-nonadjacent-process", "G-single-realtime"],
    ),
    ("G-single-realtime", &["G-nonadjacent-realtime"]),
    (
        "G-nonadjacent-item",
        &["G-nonadjacent", "G2-item", "G-nonadjacent-item-process"],
    ),
    (
        "G-nonadjacent-item-process",
        &[
            "G-nonadjacent-process",
            "G2-item-process",
            "G-nonadjacent-item-realtime",
        ],
    ),
    (
        "G-nonadjacent-item-realtime",
        &["G2-item-realtime", "G-nonadjacent-realtime"],
    ),
    ("G-nonadjacent", &["G2", "G-nonadjacent-process"]),
    (
        "G-nonadjacent-process",
        &["G2-process", "G-nonadjacent-realtime"],
    ),
    ("G-nonadjacent-realtime", &["G2-realtime"]),
    ("G2", &["G2-process"]),
    ("G2-item", &["G2", "G2-item-process"]),
    ("G2-item-process", &["G2-process", "G2-item-realtime"]),
    ("G2-item-realtime", &["G2-realtime"]),
    ("G2-process", &["G2-realtime"]),
    ("incompatible-order", &["G1a"]),
    ("lost-update", &["G2-item"]),
];

/// Every anomaly `anomaly` implies, itself included.
pub fn implied_anomalies(anomaly: &'static str) -> BTreeSet<&'static str> {
    let mut out: BTreeSet<&'static str> = BTreeSet::new();
    let mut todo: Vec<&'static str> = vec![anomaly];
    while let Some(a) = todo.pop() {
        if out.insert(a) {
            if let Some((_, implied)) = IMPLIES.iter().find(|(n, _)| *n == a) {
                todo.extend_from_slice(implied);
            }
        }
    }
    out
}

/// The consistency models and what each implies (Elle's `models`, with Jepsen's
/// single-object hierarchy), weakest first within no particular order.
pub const MODELS: &[(&str, &[&str])] = &[
    ("read-uncommitted", &[]),
    ("read-committed", &["read-uncommitted"]),
    ("cursor-stability", &["read-committed"]),
    ("monotonic-view", &["read-committed"]),
    ("monotonic-snapshot-read", &["read-committed"]),
    ("monotonic-atomic-view", &["read-committed"]),
    ("consistent-view", &["cursor-stability", "monotonic-view"]),
    ("forward-consistent-view", &["consistent-view"]),
    ("update-serializable", &["forward-consistent-view"]),
    (
        "repeatable-read",
        &["cursor-stability", "monotonic-atomic-view"],
    ),
    ("read-atomic", &["monotonic-atomic-view"]),
    ("causal-cerone", &["read-atomic"]),
    ("ROLA", &["read-atomic"]),
    ("prefix", &["causal-cerone"]),
    ("parallel-snapshot-isolation", &["causal-cerone", "ROLA"]),
    (
        "snapshot-isolation",
        &[
            "forward-consistent-view",
            "monotonic-atomic-view",
            "monotonic-snapshot-read",
            "parallel-snapshot-isolation",
            "prefix",
        ],
    ),
    (
        "serializable",
        &[
            "repeatable-read",
            "snapshot-isolation",
            "update-serializable",
        ],
    ),
    ("strong-session-read-uncommitted", &["read-uncommitted"]),
    (
        "strong-session-read-committed",
        &["read-committed", "strong-session-read-uncommitted"],
    ),
    (
        "strong-read-uncommitted",
        &["strong-session-read-uncommitted"],
    ),
    (
        "strong-read-committed",
        &["strong-session-read-committed", "strong-read-uncommitted"],
    ),
    (
        "strong-session-snapshot-isolation",
        &["snapshot-isolation", "strong-session-read-committed"],
    ),
    (
        "strong-snapshot-isolation",
        &["strong-session-snapshot-isolation", "strong-read-committed"],
    ),
    (
        "strong-session-serializable",
        &["serializable", "strong-session-snapshot-isolation"],
    ),
    (
        "strict-serializable",
        &[
            "serializable",
            "linearizable",
            "snapshot-isolation",
            "strong-snapshot-isolation",
            "strong-session-serializable",
        ],
    ),
    ("monotonic-reads", &[]),
    ("monotonic-writes", &[]),
    ("read-your-writes", &[]),
    ("writes-follow-reads", &[]),
    (
        "PRAM",
        &["monotonic-reads", "monotonic-writes", "read-your-writes"],
    ),
    ("causal", &["writes-follow-reads", "PRAM"]),
    ("sequential", &["causal"]),
    ("linearizable", &["sequential"]),
];

/// Anomalies each model directly forbids (Elle's `direct-proscribed-anomalies`, for
/// the anomalies consim detects).
///
/// Each model of Elle's cycle-exists inference ([`super::CycleExists`]) also forbids its
/// own `<model>-cycle-exists`, as Elle's table does (`:PL-SI-cycle-exists` and so on).
const PROSCRIBES: &[(&str, &[&str])] = &[
    (
        "read-uncommitted",
        &["G0", "duplicate-elements", "read-uncommitted-cycle-exists"],
    ),
    ("read-committed", &["G1", "read-committed-cycle-exists"]),
    ("cursor-stability", &["G1", "lost-update"]),
    ("monotonic-view", &["G1"]),
    ("monotonic-snapshot-read", &["G1"]),
    ("consistent-view", &["G1", "G-single"]),
    ("forward-consistent-view", &["G1"]),
    ("update-serializable", &["G1"]),
    (
        "repeatable-read",
        &[
            "G1",
            "G2-item",
            "lost-update",
            "repeatable-read-cycle-exists",
        ],
    ),
    (
        "snapshot-isolation",
        &["G1", "G-nonadjacent", "snapshot-isolation-cycle-exists"],
    ),
    ("serializable", &["G1", "G2", "serializable-cycle-exists"]),
    ("read-atomic", &["G1a"]),
    ("causal-cerone", &["G1a"]),
    ("prefix", &["G1a"]),
    ("parallel-snapshot-isolation", &["G1a"]),
    ("ROLA", &["lost-update"]),
    (
        "strong-session-read-uncommitted",
        &["G0-process", "strong-session-read-uncommitted-cycle-exists"],
    ),
    (
        "strong-session-read-committed",
        &["G1c-process", "strong-session-read-committed-cycle-exists"],
    ),
    (
        "strong-read-uncommitted",
        &["G0-realtime", "strong-read-uncommitted-cycle-exists"],
    ),
    (
        "strong-read-committed",
        &["G1c-realtime", "strong-read-committed-cycle-exists"],
    ),
    (
        "strong-session-snapshot-isolation",
        &[
            "G1-process",
            "G-nonadjacent-process",
            "strong-session-snapshot-isolation-cycle-exists",
        ],
    ),
    (
        "strong-snapshot-isolation",
        &[
            "G1-realtime",
            "G-nonadjacent-realtime",
            "strong-snapshot-isolation-cycle-exists",
        ],
    ),
    (
        "strong-session-serializable",
        &[
            "G1-process",
            "G2-process",
            "strong-session-serializable-cycle-exists",
        ],
    ),
    (
        "strict-serializable",
        &[
            "G1",
            "G1c-realtime",
            "G2-realtime",
            "strict-serializable-cycle-exists",
        ],
    ),
    ("monotonic-reads", &["monotonic-reads"]),
    ("monotonic-writes", &["monotonic-writes"]),
    ("read-your-writes", &["read-your-writes"]),
    ("writes-follow-reads", &["writes-follow-reads"]),
];

/// What single-object models forbid in single-object histories (see the module docs).
const SINGLE_OBJECT: &[(&str, &[&str])] = &[
    (
        "sequential",
        &[
            "G1",
            "G2-process",
            "G1c-process",
            "G0-process",
            "garbage-read",
            "duplicate-elements",
        ],
    ),
    (
        "linearizable",
        &["G1-realtime", "G2-realtime", "G0-realtime"],
    ),
];

/// The models a history's anomalies rule out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuledOut {
    /// The weakest models ruled out: every other one ruled out implies one of these.
    pub not: Vec<&'static str>,
    /// Every model ruled out, weakest first (by the length of the longest chain of
    /// models each implies, then by name).
    pub all: Vec<&'static str>,
}

/// The models that `anomalies` rule out. `single_object`: every transaction is one
/// micro-operation, so that the single-object rules of the module docs apply.
///
/// ```
/// use checkers::elle::models::ruled_out;
/// use checkers::anomalies::Kind;
/// use checkers::elle::{Base, CycleKind, Variant};
/// let g_single = Kind::Cycle(CycleKind { base: Base::GSingleItem, variant: Variant::Data });
/// let out = ruled_out([g_single], false);
/// assert_eq!(out.not, vec!["consistent-view", "repeatable-read"]);
/// assert!(out.all.contains(&"serializable"));
/// ```
pub fn ruled_out(anomalies: impl IntoIterator<Item = Kind>, single_object: bool) -> RuledOut {
    let mut present: BTreeSet<&'static str> = BTreeSet::new();
    for kind in anomalies {
        present.extend(implied_anomalies(kind.static_name()));
    }
    let mut direct: BTreeSet<&'static str> = BTreeSet::new();
    let tables: &[&[(&str, &[&str])]] = if single_object {
        &[PROSCRIBES, SINGLE_OBJECT]
    } else {
        &[PROSCRIBES]
    };
    for table in tables {
        for &(model, forbidden) in *table {
            if forbidden.iter().any(|a| present.contains(a)) {
                direct.insert(model);
            }
        }
    }
    // Every model implying a ruled-out one is ruled out.
    let mut all: BTreeSet<&'static str> = direct;
    loop {
        let before = all.len();
        for &(model, implies) in MODELS {
            if implies.iter().any(|m| all.contains(m)) {
                all.insert(model);
            }
        }
        if all.len() == before {
            break;
        }
    }
    let heights = heights();
    let mut all: Vec<&'static str> = all.into_iter().collect();
    all.sort_by_key(|m| (heights[m], *m));
    let not = all
        .iter()
        .copied()
        .filter(|m| !implies_any(m, &all))
        .collect();
    RuledOut { not, all }
}

/// A consistency model of [`MODELS`], by name: what [`super::Options::consistency_models`]
/// asks for.
///
/// ```
/// use checkers::elle::models::Model;
/// let si: Model = "snapshot-isolation".parse()?;
/// assert_eq!(si.name(), "snapshot-isolation");
/// assert!("snapshot-isolaton".parse::<Model>().is_err());
/// # Ok::<(), checkers::elle::models::UnknownModel>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Model(&'static str);

impl Model {
    /// Every model, in the order of [`MODELS`].
    pub fn all() -> impl Iterator<Item = Model> {
        MODELS.iter().map(|&(name, _)| Model(name))
    }

    /// Its name, as [`MODELS`] spells it.
    pub fn name(self) -> &'static str {
        self.0
    }

    /// Whether the model forbids anomalies of `kind`: `kind` alone rules it out
    /// (Elle's `anomalies-prohibited-by`, read the other way round). `single_object`
    /// as for [`ruled_out`].
    pub fn prohibits(self, kind: Kind, single_object: bool) -> bool {
        ruled_out([kind], single_object).all.contains(&self.0)
    }
}

impl std::str::FromStr for Model {
    type Err = UnknownModel;

    fn from_str(name: &str) -> Result<Model, UnknownModel> {
        Model::all()
            .find(|m| m.0 == name)
            .ok_or_else(|| UnknownModel {
                name: name.to_owned(),
            })
    }
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// A consistency model name that is not one of [`MODELS`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown consistency model `{name}`; the models are {}", Model::all().map(Model::name).collect::<Vec<_>>().join(", "))]
pub struct UnknownModel {
    /// The name given.
    pub name: String,
}

/// Whether a history that satisfies `model` always satisfies `other` (`model` is
/// `other` or implies it through [`MODELS`]).
///
/// ```
/// use checkers::elle::models::implies;
/// assert!(implies("strict-serializable", "snapshot-isolation"));
/// assert!(implies("read-committed", "read-committed"));
/// assert!(!implies("snapshot-isolation", "repeatable-read"));
/// ```
pub fn implies(model: &str, other: &str) -> bool {
    model == other || implies_any(model, &[other])
}

/// Whether `model` implies (strictly) one of `others`.
fn implies_any(model: &str, others: &[&str]) -> bool {
    let mut todo: Vec<&str> = implied(model).to_vec();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    while let Some(m) = todo.pop() {
        if !seen.insert(m) {
            continue;
        }
        if others.contains(&m) {
            return true;
        }
        todo.extend_from_slice(implied(m));
    }
    false
}

fn implied(model: &str) -> &'static [&'static str] {
    MODELS
        .iter()
        .find(|(m, _)| *m == model)
        .map_or(&[], |(_, implies)| implies)
}

/// The length of the longest chain of models each model implies.
fn heights() -> BTreeMap<&'static str, usize> {
    fn height(model: &'static str, memo: &mut BTreeMap<&'static str, usize>) -> usize {
        if let Some(&h) = memo.get(model) {
            return h;
        }
        let h = implied(model)
            .iter()
            .map(|m| height(m, memo) + 1)
            .max()
            .unwrap_or(0);
        memo.insert(model, h);
        h
    }
    let mut memo = BTreeMap::new();
    for &(model, _) in MODELS {
        height(model, &mut memo);
    }
    memo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elle::{Base, CycleKind, Variant};

    fn cycle(base: Base, variant: Variant) -> Kind {
        Kind::Cycle(CycleKind { base, variant })
    }

    /// The `:not` sets of Elle's own tests (`elle/list_append_test.clj`).
    #[test]
    fn elle_boundaries() {
        let not = |kinds: &[Kind]| ruled_out(kinds.iter().copied(), false).not;
        assert_eq!(not(&[cycle(Base::G0, Variant::Data)]), ["read-uncommitted"]);
        assert_eq!(not(&[cycle(Base::G1c, Variant::Data)]), ["read-committed"]);
        assert_eq!(not(&[Kind::AbortedRead]), ["read-committed"]);
        assert_eq!(not(&[Kind::IntermediateRead]), ["read-committed"]);
        assert_eq!(not(&[Kind::IncompatibleOrder]), ["read-committed"]);
        assert_eq!(not(&[Kind::DuplicateElements]), ["read-uncommitted"]);
        assert_eq!(
            not(&[cycle(Base::GSingleItem, Variant::Data)]),
            ["consistent-view", "repeatable-read"]
        );
        assert_eq!(
            not(&[cycle(Base::G2Item, Variant::Data)]),
            ["repeatable-read"]
        );
        assert_eq!(
            not(&[cycle(Base::GNonadjacentItem, Variant::Data)]),
            ["repeatable-read", "snapshot-isolation"]
        );
        assert_eq!(
            not(&[cycle(Base::GSingleItem, Variant::Realtime)]),
            ["strong-snapshot-isolation"]
        );
        assert_eq!(
            not(&[cycle(Base::GSingleItem, Variant::Process)]),
            ["strong-session-snapshot-isolation"]
        );
        assert_eq!(
            not(&[cycle(Base::GNonadjacentItem, Variant::Process)]),
            ["strong-session-snapshot-isolation"]
        );
        assert_eq!(
            not(&[cycle(Base::G1c, Variant::Process)]),
            ["strong-session-read-committed"]
        );
        assert_eq!(not(&[Kind::LostUpdate]), ["cursor-stability", "ROLA"]);
        assert_eq!(
            not(&[
                cycle(Base::G0, Variant::Data),
                cycle(Base::GSingleItem, Variant::Data)
            ]),
            ["read-uncommitted"]
        );
    }

    #[test]
    fn session_guarantees_rule_out_what_implies_them() {
        use crate::session::Guarantee;
        let out = ruled_out([Kind::Session(Guarantee::MonotonicReads)], false);
        assert_eq!(out.not, ["monotonic-reads"]);
        assert_eq!(
            out.all,
            [
                "monotonic-reads",
                "PRAM",
                "causal",
                "sequential",
                "linearizable",
                "strict-serializable"
            ]
        );
        assert!(ruled_out([], true).all.is_empty());
    }

    #[test]
    fn single_object_cycles_rule_out_sequential_or_linearizable() {
        let process = ruled_out([cycle(Base::GSingleItem, Variant::Process)], true);
        assert!(process.all.contains(&"sequential"));
        let realtime = ruled_out([cycle(Base::GSingleItem, Variant::Realtime)], true);
        assert!(realtime.all.contains(&"linearizable"));
        assert!(!realtime.all.contains(&"sequential"));
        let garbage = ruled_out([Kind::GarbageRead], false);
        assert!(garbage.all.is_empty());
        assert!(
            ruled_out([Kind::GarbageRead], true)
                .all
                .contains(&"sequential")
        );
    }

    #[test]
    fn each_model_forbids_its_own_cycle_exists() {
        use crate::elle::CycleExists;
        for c in CycleExists::ALL {
            let out = ruled_out([Kind::CycleExists(c)], false);
            assert_eq!(out.not, [c.model()], "{}", c.name());
        }
    }

    #[test]
    fn a_model_prohibits_what_rules_it_out() {
        let model = |name: &str| name.parse::<Model>().unwrap();
        let g2_item = cycle(Base::G2Item, Variant::Data);
        let g_single_realtime = cycle(Base::GSingleItem, Variant::Realtime);
        assert!(model("repeatable-read").prohibits(g2_item, false));
        assert!(model("serializable").prohibits(g2_item, false));
        assert!(!model("snapshot-isolation").prohibits(g2_item, false));
        assert!(model("strong-snapshot-isolation").prohibits(g_single_realtime, false));
        assert!(!model("snapshot-isolation").prohibits(g_single_realtime, false));
        assert!(!model("repeatable-read").prohibits(g_single_realtime, false));
        let unknown = "snapshot".parse::<Model>().unwrap_err();
        assert!(
            unknown
                .to_string()
                .contains("snapshot-isolation, serializable")
        );
    }

    #[test]
    fn every_named_model_and_anomaly_is_known() {
        let models: BTreeSet<&str> = MODELS.iter().map(|(m, _)| *m).collect();
        for (m, implies) in MODELS {
            assert!(implies.iter().all(|i| models.contains(i)), "{m}");
        }
        for (m, _) in PROSCRIBES.iter().chain(SINGLE_OBJECT) {
            assert!(models.contains(m), "{m}");
        }
    }
}
