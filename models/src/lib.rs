//! # models: protocols written against sim-core
//!
//! Each model is a set of [`sim_core::Node`] implementations (replicas, and the
//! client-side logic that talks to them) and a [`Declaration`]: its name, what it
//! promises (so that the runner checks exactly those promises and reports the rest as
//! measurements rather than failures), its workload, its settings and how to build it.
//! A model's module holds all of it; the `catalog!` line below lists the
//! declarations, so adding a model is one new module and one line there.
//!
//! **The design decision: models are plain state machines with no I/O.** Everything a
//! model does goes through [`sim_core::Ctx`], so the same code runs under every fault,
//! scheduler and seed, and the rustdoc of each model doubles as a walk-through of how
//! to write one's own.
//!
//! ## Where to start reading
//!
//! - [`single_copy`]: the smallest correct store, one server and timing-out clients;
//!   the template for a new model.
//! - [`kv`]: the requests every store serves and the outcomes clients report.
//! - [`settings`]: a model's settings, declared once.
//! - [`raft`]: a replicated store on Raft, and its bug zoo.
//! - [`catalog`]: every model with its promises; [`visit`] builds one by name;
//!   [`Catalog`] is what the runner and the command line take: [`Builtin`] (these),
//!   a user's own [`Declaration`], or a tuple of catalogs.
//! - [`relay`]: the kernel benchmark's workload (no keys, no clients; not a model of
//!   the catalog).
//!
//! ## Ground truth beside the history
//!
//! Some bugs leave a history every checker passes: a stale cache entry whose value was
//! written concurrently with the store's, an event lost between a database and its
//! consumer. A model judges those through its [`Invariants`] (from
//! [`Model::invariants`]), which look at every replica's state after every event
//! ([`Invariants::check`]), once more when the run is quiet ([`Invariants::finish`]),
//! and report what they measured over the run ([`Invariants::measures`], a
//! [`Measure`] each). What they read is node state the model keeps for them (a copy of
//! the store's keys, the hits a cache served, the consumer's effects), never a new kind
//! of operation in the history: the history stays one every checker reads.
//! [`cache_aside::CacheWatch`], [`event_sourcing::ProjectionWatch`] and
//! [`outbox::EventWatch`] are the examples.

pub mod abd;
pub mod cache_aside;
pub mod client;
pub mod double_submit;
pub mod dynamo;
pub mod event_sourcing;
pub mod explore;
pub mod kv;
pub mod outbox;
pub mod primary_async;
pub mod raft;
pub mod relay;
pub mod retry_without_idempotency;
pub mod settings;
pub mod single_copy;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Debug;

use serde::Serialize;
use sim_core::{Node, NodeId};

use crate::client::{ClientConfig, Routing, Wire};
use crate::kv::Mix;
use crate::settings::{SettingInfo, Settings};

/// A guarantee a model may promise; checkers decide whether a history keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guarantee {
    /// Every history is linearizable.
    Linearizable,
    /// A session reads its own writes.
    ReadYourWrites,
    /// A session's reads never go back in time.
    MonotonicReads,
    /// A session's writes are seen in the order it made them.
    MonotonicWrites,
    /// A write is seen after the writes its session had read.
    WritesFollowReads,
    /// After healing and quiet, all replicas agree.
    Convergence,
    /// No acknowledged write is lost.
    NoLostWrites,
    /// No intent takes effect twice: no read holds an append's element more than once,
    /// however many times a client sent it (retries, a double-click). With no lost
    /// writes, exactly once in effect. Judged on list-append histories.
    NoDuplicateEffects,
}

impl Guarantee {
    /// Every guarantee, in the order reports show them.
    pub const ALL: [Guarantee; 8] = [
        Guarantee::Linearizable,
        Guarantee::ReadYourWrites,
        Guarantee::MonotonicReads,
        Guarantee::MonotonicWrites,
        Guarantee::WritesFollowReads,
        Guarantee::Convergence,
        Guarantee::NoLostWrites,
        Guarantee::NoDuplicateEffects,
    ];

    /// Every guarantee but convergence (which a store of one copy, or one that
    /// repairs only what it reads, does not promise).
    pub const ALL_BUT_CONVERGENCE: &'static [Guarantee] = &[
        Guarantee::Linearizable,
        Guarantee::ReadYourWrites,
        Guarantee::MonotonicReads,
        Guarantee::MonotonicWrites,
        Guarantee::WritesFollowReads,
        Guarantee::NoLostWrites,
        Guarantee::NoDuplicateEffects,
    ];

    /// Every guarantee but linearizability: the session guarantees, convergence, no
    /// lost writes and no duplicate effects.
    pub const ALL_BUT_LINEARIZABLE: &'static [Guarantee] = &[
        Guarantee::ReadYourWrites,
        Guarantee::MonotonicReads,
        Guarantee::MonotonicWrites,
        Guarantee::WritesFollowReads,
        Guarantee::Convergence,
        Guarantee::NoLostWrites,
        Guarantee::NoDuplicateEffects,
    ];

    /// The name reports and `consim list` use.
    ///
    /// ```
    /// assert_eq!(models::Guarantee::NoLostWrites.name(), "no-lost-writes");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::Linearizable => "linearizable",
            Guarantee::ReadYourWrites => "read-your-writes",
            Guarantee::MonotonicReads => "monotonic-reads",
            Guarantee::MonotonicWrites => "monotonic-writes",
            Guarantee::WritesFollowReads => "writes-follow-reads",
            Guarantee::Convergence => "convergence",
            Guarantee::NoLostWrites => "no-lost-writes",
            Guarantee::NoDuplicateEffects => "no-duplicate-effects",
        }
    }
}

/// What the catalog says about one model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ModelInfo {
    /// The model's name: what `--model` takes and what runs, reports and artifacts
    /// are named by (for a model of your own too; it need not be in consim's catalog,
    /// only unique in the catalog you hand the runner).
    pub name: &'static str,
    /// One line on what it is.
    pub summary: &'static str,
    /// What it promises.
    pub promises: &'static [Guarantee],
    /// For a bug-zoo variant: the correct model it breaks.
    pub variant_of: Option<&'static str>,
    /// For a bug-zoo variant: the guarantees it breaks (promised by `variant_of`,
    /// not by the variant; the runner checks them and expects a violation).
    pub breaks: &'static [Guarantee],
    /// The nemesis under which the variant's bug shows, or the model's usual one.
    pub default_scenario: &'static str,
    /// The operations it serves, and so the workload it runs by default.
    pub workload: Mix,
    /// Its settings (filled in from the settings type by [`Declaration::info`]).
    pub settings: &'static [SettingInfo],
}

impl ModelInfo {
    /// A model named `name`, described by `summary`, that promises nothing yet, runs
    /// the list-append workload and is usually run under `swarm`; the methods below
    /// say the rest. Every method is `const`, for a declaration's `const`.
    ///
    /// ```
    /// use models::{Guarantee, ModelInfo};
    /// use models::kv::Mix;
    /// const INFO: ModelInfo = ModelInfo::new("my-store", "one server")
    ///     .promises(&[Guarantee::Linearizable])
    ///     .scenario("crash-restart")
    ///     .workload(Mix::Register);
    /// assert_eq!(INFO.default_scenario, "crash-restart");
    /// assert_eq!(INFO.variant_of, None);
    /// ```
    pub const fn new(name: &'static str, summary: &'static str) -> ModelInfo {
        ModelInfo {
            name,
            summary,
            promises: &[],
            variant_of: None,
            breaks: &[],
            default_scenario: "swarm",
            workload: Mix::ListAppend,
            settings: &[],
        }
    }

    /// What the model promises: the runner checks these, and a broken one fails a run.
    #[must_use]
    pub const fn promises(mut self, promises: &'static [Guarantee]) -> ModelInfo {
        self.promises = promises;
        self
    }

    /// The nemesis the model is usually run under, or under which a bug variant's bug
    /// shows (`consim list` says so, and the bug zoo uses it); the command line's
    /// `--scenario` still defaults to `swarm`.
    #[must_use]
    pub const fn scenario(mut self, nemesis: &'static str) -> ModelInfo {
        self.default_scenario = nemesis;
        self
    }

    /// The operations the model serves, and so its default workload.
    #[must_use]
    pub const fn workload(mut self, workload: Mix) -> ModelInfo {
        self.workload = workload;
        self
    }

    /// A bug-zoo variant of `correct`, expected to break `breaks`.
    #[must_use]
    pub const fn variant_of(
        mut self,
        correct: &'static str,
        breaks: &'static [Guarantee],
    ) -> ModelInfo {
        self.variant_of = Some(correct);
        self.breaks = breaks;
        self
    }
}

/// A model as the runner and the command line know it: what the catalog says, and
/// how to build the model from its settings. A catalog model is a `const` of this
/// type in its own module; so is a user's own.
///
/// ```
/// use models::{Declaration, Guarantee, ModelInfo};
/// use models::kv::Mix;
/// use models::single_copy::{SingleCopy, SingleCopySettings};
/// // single-copy declared again under another name, as a model of one's own would be.
/// const MINE: Declaration<SingleCopySettings, SingleCopy> = Declaration {
///     info: ModelInfo {
///         name: "my-store",
///         summary: "one server",
///         promises: &[Guarantee::Linearizable],
///         variant_of: None,
///         breaks: &[],
///         default_scenario: "crash-restart",
///         workload: Mix::ListAppend,
///         settings: &[],
///     },
///     build: |_| Ok(SingleCopy),
/// };
/// assert_eq!(MINE.info().settings[0].name, "replicas");
/// ```
#[derive(Debug)]
pub struct Declaration<S, M> {
    /// What the catalog says (its `settings` are taken from `S`).
    pub info: ModelInfo,
    /// Builds the model from settings already in their declared ranges, refusing
    /// combinations that make no sense.
    pub build: fn(S) -> Result<M, ModelError>,
}

// A declaration is a name, some text and a function pointer, whatever its model.
impl<S, M> Clone for Declaration<S, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, M> Copy for Declaration<S, M> {}

impl<S: Settings, M: Model> Declaration<S, M> {
    /// What the catalog says, with the settings `S` declares.
    ///
    /// # Panics
    ///
    /// If a setting marked `bug` is not a flag that is off by default (in a `const`,
    /// that is a compile error).
    pub const fn info(&self) -> ModelInfo {
        let mut info = self.info;
        info.settings = S::DECLARED;
        let mut i = 0;
        while i < S::DECLARED.len() {
            let setting = &S::DECLARED[i];
            assert!(
                !setting.bug
                    || (matches!(setting.kind, settings::Kind::Flag)
                        && same_text(setting.default, "false")),
                "a bug setting is a flag, false by default"
            );
            i += 1;
        }
        info
    }

    /// The model `params` describe.
    pub fn model(&self, params: &Params) -> Result<M, ModelError> {
        (self.build)(S::from_params(self.info.name, params)?)
    }
}

/// Whether two strings are the same, in a `const fn`.
const fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Models by name: consim's own ([`Builtin`]), or a user's — a [`Declaration`] is a
/// catalog of one model, and a tuple of catalogs is the catalog of all their models.
/// The runner, sweeps, shrinking, the CAP matrix, the proptest strategies and the
/// command line all take one.
///
/// ```
/// use models::{Builtin, Catalog};
/// use models::single_copy::SINGLE_COPY;
/// assert!(Builtin.find("raft").is_some());
/// assert_eq!(SINGLE_COPY.names(), ["single-copy"]);
/// let both = (SINGLE_COPY, models::abd::ABD);
/// assert_eq!(both.names(), ["single-copy", "abd"]);
/// ```
pub trait Catalog: Sync {
    /// Every model, in the order `consim list` shows them.
    fn models(&self) -> Vec<ModelInfo>;

    /// Builds the model `name` with `params` and hands it, with what the catalog says
    /// of it, to `visitor`.
    fn visit<V: ModelVisitor>(
        &self,
        name: &str,
        params: &Params,
        visitor: V,
    ) -> Result<V::Output, ModelError>;

    /// What the catalog says of `name`, if it has such a model.
    fn find(&self, name: &str) -> Option<ModelInfo> {
        self.models().into_iter().find(|m| m.name == name)
    }

    /// Every model's name, in order.
    fn names(&self) -> Vec<&'static str> {
        self.models().iter().map(|m| m.name).collect()
    }

    /// The error for a name the catalog does not have.
    fn unknown(&self, name: &str) -> ModelError {
        ModelError::UnknownModel {
            name: name.to_owned(),
            valid: self.names(),
        }
    }
}

impl<S: Settings, M: Model> Catalog for Declaration<S, M> {
    fn models(&self) -> Vec<ModelInfo> {
        vec![self.info()]
    }

    fn visit<V: ModelVisitor>(
        &self,
        name: &str,
        params: &Params,
        visitor: V,
    ) -> Result<V::Output, ModelError> {
        if name != self.info.name {
            return Err(self.unknown(name));
        }
        Ok(visitor.visit(self.model(params)?, &self.info()))
    }
}

/// The catalog of all the models of a tuple of catalogs, in order (a name the first
/// has is the first's).
macro_rules! catalog_tuple {
    ($($c:ident),+) => {
        impl<$($c: Catalog),+> Catalog for ($($c,)+) {
            fn models(&self) -> Vec<ModelInfo> {
                #[allow(non_snake_case)]
                let ($($c,)+) = self;
                let mut all = Vec::new();
                $(all.extend($c.models());)+
                all
            }

            fn visit<V: ModelVisitor>(
                &self,
                name: &str,
                params: &Params,
                visitor: V,
            ) -> Result<V::Output, ModelError> {
                #[allow(non_snake_case)]
                let ($($c,)+) = self;
                $(
                    if $c.find(name).is_some() {
                        return $c.visit(name, params, visitor);
                    }
                )+
                Err(self.unknown(name))
            }
        }
    };
}

catalog_tuple!(A, B);
catalog_tuple!(A, B, C);
catalog_tuple!(A, B, C, D);

/// Declares consim's catalog: [`catalog`] lists the declarations' infos in order,
/// [`visit`] builds a model by name, and [`Builtin`] is the two as a [`Catalog`].
macro_rules! catalog {
    ($($declaration:path),* $(,)?) => {
        /// Every model, in the order `consim list` shows them.
        ///
        /// ```
        /// let names: Vec<&str> = models::catalog().iter().map(|m| m.name).collect();
        /// assert!(names.contains(&"single-copy"));
        /// ```
        pub fn catalog() -> &'static [ModelInfo] {
            const ALL: &[ModelInfo] = &[$($declaration.info()),*];
            ALL
        }

        /// Builds the model `name` with `params` and hands it to `visitor`.
        pub fn visit<V: ModelVisitor>(
            name: &str,
            params: &Params,
            visitor: V,
        ) -> Result<V::Output, ModelError> {
            $(
                if name == $declaration.info.name {
                    return Catalog::visit(&$declaration, name, params, visitor);
                }
            )*
            Err(Builtin.unknown(name))
        }
    };
}

/// consim's own models ([`catalog`]) as a [`Catalog`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Builtin;

impl Catalog for Builtin {
    fn models(&self) -> Vec<ModelInfo> {
        catalog().to_vec()
    }

    fn visit<V: ModelVisitor>(
        &self,
        name: &str,
        params: &Params,
        visitor: V,
    ) -> Result<V::Output, ModelError> {
        visit(name, params, visitor)
    }
}

catalog![
    single_copy::SINGLE_COPY,
    retry_without_idempotency::RETRY_WITHOUT_IDEMPOTENCY,
    double_submit::DOUBLE_SUBMIT,
    raft::RAFT,
    raft::COMMIT_OLD_TERM,
    raft::STALE_READ,
    raft::LEASE_DRIFT,
    raft::ACK_BEFORE_SYNC,
    abd::ABD,
    abd::NO_WRITE_BACK,
    abd::QUORUM_OVERLAP,
    primary_async::PRIMARY_ASYNC,
    primary_async::SESSION_TOKEN_IGNORED,
    dynamo::DYNAMO,
    dynamo::DYNAMO_CRDT,
    cache_aside::CACHE_ASIDE,
    cache_aside::CACHE_FILL_RACE,
    event_sourcing::EVENT_SOURCED,
    event_sourcing::NON_IDEMPOTENT_CONSUMER,
    event_sourcing::PROJECTION_READ_YOUR_WRITES,
    outbox::OUTBOX,
    outbox::DUAL_WRITE,
];

/// The catalog's correct models (not bug variants), in catalog order.
///
/// ```
/// assert!(models::correct_models().any(|m| m.name == "raft"));
/// assert!(models::correct_models().all(|m| m.variant_of.is_none()));
/// ```
pub fn correct_models() -> impl Iterator<Item = &'static ModelInfo> {
    catalog().iter().filter(|m| m.variant_of.is_none())
}

/// The catalog entry for `name`, if there is one.
pub fn find(name: &str) -> Option<&'static ModelInfo> {
    catalog().iter().find(|m| m.name == name)
}

/// A replica of a model that serves key-value clients.
pub trait Replica: Node<Msg = Wire<Self::Peer>, Input = Infallible, Output = Infallible> {
    /// The model's replica-to-replica messages.
    type Peer: Clone + Debug;

    /// Whether this replica believes it is the leader (or primary) now; the
    /// `isolate-leader` nemesis cuts off whoever does. Leaderless models keep the
    /// default, `false`.
    fn leads(&self) -> bool {
        false
    }

    /// The leader's term (or epoch) this replica is in: when several replicas believe
    /// they lead — a deposed leader that has not heard of its successor — the nemesis
    /// cuts off the one with the highest term, the real leader. The default, 0, suits
    /// models with at most one leader.
    fn term(&self) -> u64 {
        0
    }
}

/// Whoever leads in the highest term among `sim`'s replicas (a deposed leader may
/// still think it leads); the lowest-numbered one among equals; `None` if nobody
/// leads. The replica `isolate-leader` cuts off.
pub fn leader<R: Replica, C: Node<Msg = R::Msg>>(
    sim: &sim_core::Sim<R, C>,
) -> Option<sim_core::NodeId> {
    let mut leader: Option<(u64, sim_core::NodeId)> = None;
    for id in sim.replica_ids() {
        if let Some(r) = sim.replica(id)
            && r.leads()
            && leader.is_none_or(|(term, _)| r.term() > term)
        {
            leader = Some((r.term(), id));
        }
    }
    leader.map(|(_, id)| id)
}

/// Strikes a fault of a nemesis schedule that depends on the run so far, at this
/// moment of `sim`, as the runner does: an isolation cuts off whoever leads now
/// ([`leader`]), or the replica it names as its fallback when nobody does, from the
/// other replicas and the `clients` clients; a deafening cuts the other replicas'
/// messages to it. Returns the replica cut off and the
/// faults it scheduled.
pub fn strike<R: Replica, C: Node<Msg = R::Msg>>(
    sim: &mut sim_core::Sim<R, C>,
    dynamic: sim_core::nemesis::Dynamic,
    clients: usize,
) -> (sim_core::NodeId, Vec<sim_core::TimedFault>) {
    let target = leader(sim).unwrap_or(dynamic.fallback());
    let replicas = sim.replica_ids().count();
    let faults = dynamic.faults(target, replicas, clients);
    for fault in &faults {
        sim.schedule_fault(fault.at, fault.fault.clone())
            .expect("an isolation of an existing replica is a valid fault");
    }
    (target, faults)
}

/// A model the runner can build: its replicas' configurations and how its clients
/// route. Bug variants are the same type with a flag set.
pub trait Model {
    /// The replica node.
    type Replica: Replica;

    /// The configuration of each replica, in node-id order starting at `NodeId(0)`.
    fn replicas(&self) -> Vec<<Self::Replica as Node>::Config>;

    /// How clients route their requests.
    fn routing(&self) -> Routing;

    /// Adjusts the scenario's client settings (a bug variant may, for example, turn
    /// off idempotency keys). The default keeps them.
    fn client(&self, base: ClientConfig) -> ClientConfig {
        base
    }

    /// Exhaustive exploration of this model's small configurations
    /// ([`explore`]), if it offers it: its replica state must be cloneable and
    /// hashable, and its safety must not rest on timing. The default offers none;
    /// a model that does returns `Some(Box::new(explore::Explorer(self)))`.
    fn exploration(&self) -> Option<Box<dyn explore::Explore + '_>> {
        None
    }

    /// Properties that span replicas, checked after every event of every run: a
    /// broken one fails the run. The default checks nothing.
    fn invariants(&self) -> Option<Box<dyn Invariants<Self::Replica>>> {
        None
    }
}

/// Properties of a model that span its replicas (at most one leader per term, no two
/// replicas committing different entries at one index…), checked after every event.
pub trait Invariants<R> {
    /// Looks at every replica at `now` (`None`: down), remembering what it needs; the
    /// first broken property, in words.
    fn check(&mut self, now: sim_core::Time, replicas: &[Option<&R>]) -> Result<(), String>;

    /// [`Invariants::check`], told which replicas may have changed since the last
    /// check (`changed`, in id order; every one the first time): the others are as
    /// they were then, so checks that look at each replica alone can skip them. This
    /// is what runs call; the default checks every replica.
    fn check_changed(
        &mut self,
        now: sim_core::Time,
        replicas: &[Option<&R>],
        changed: &[NodeId],
    ) -> Result<(), String> {
        let _ = changed;
        self.check(now, replicas)
    }

    /// Whether [`Invariants::check`] must run after events that changed no replica
    /// (a client's event, a fault that cut links): `true`, the default, for checks
    /// that depend on time as well as on the replicas (how long a cache has been
    /// stale); `false` for properties of the replicas' states alone, which are then
    /// checked only when some replica changed.
    fn after_every_event(&self) -> bool {
        true
    }

    /// Looks at every replica once more at the end of the run, after the faults have
    /// healed, the quiet period and the final reads: a property that must hold once the
    /// system is quiet (a cache agrees with its store), broken, in words. The default
    /// checks nothing more.
    fn finish(&mut self, now: sim_core::Time, replicas: &[Option<&R>]) -> Result<(), String> {
        let _ = (now, replicas);
        Ok(())
    }

    /// What the invariants measured over the run, up to `now` (the run's end), beside
    /// the history's verdicts: how stale a cache was and for how long, say. Called once
    /// the run has ended, however it ended. The default measures nothing.
    fn measures(&self, now: sim_core::Time) -> Vec<Measure> {
        let _ = now;
        Vec::new()
    }
}

/// A figure a model's [`Invariants`] measured over a run, from ground truth no client
/// history holds; reported beside the verdicts (`consim run` prints it, `--json` has
/// it under `measures`). It judges nothing: a broken property is a broken invariant.
///
/// ```
/// let m = models::Measure {
///     name: "stale cache hits",
///     definition: "hits served while the entry differed from the store",
///     value: 3,
///     unit: "hits",
///     shown: "3 of 120 hits (2.5%)".to_owned(),
/// };
/// assert_eq!(m.to_string(), "stale cache hits: 3 of 120 hits (2.5%) (hits served while the entry differed from the store)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Measure {
    /// What is measured, in a few words.
    pub name: &'static str,
    /// What exactly it counts, in a sentence, shown beside it.
    pub definition: &'static str,
    /// The figure, in `unit`s.
    pub value: u64,
    /// The unit of `value` (`ns` for a duration).
    pub unit: &'static str,
    /// The figure for a reader, with whatever context it needs (of how many, where).
    pub shown: String,
}

impl std::fmt::Display for Measure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.name, self.shown, self.definition)
    }
}

/// Something that runs a model of any type; [`Catalog::visit`] calls it with the
/// model a name stands for, and what the catalog says of it.
pub trait ModelVisitor {
    /// What the visit gives back.
    type Output;
    /// Runs with `model`, described by `info`.
    fn visit<M: Model>(self, model: M, info: &ModelInfo) -> Self::Output;
}

/// Model settings as text, from the command line (`--param KEY=VALUE`, `--replicas N`)
/// or a matrix spec (`raft:KEY=VALUE`): each model reads its own through its
/// [`Settings`], refusing what it does not know.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    /// Setting name → value, as typed.
    pub settings: BTreeMap<String, String>,
}

impl Params {
    /// `params` with `name` set to `value`.
    ///
    /// ```
    /// let p = models::Params::default().with("r", 2);
    /// assert_eq!(p.settings["r"], "2");
    /// ```
    #[must_use]
    pub fn with(mut self, name: &str, value: impl ToString) -> Params {
        self.settings.insert(name.to_owned(), value.to_string());
        self
    }
}

/// Why a model could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// No model has that name.
    #[error("unknown model `{name}`; the models are: {}", valid.join(", "))]
    UnknownModel {
        /// The name given.
        name: String,
        /// The names that exist.
        valid: Vec<&'static str>,
    },
    /// A setting makes no sense for the model.
    #[error("model `{model}`: setting `{param}` {problem}")]
    BadParam {
        /// The model.
        model: &'static str,
        /// The setting, as named.
        param: String,
        /// What is wrong with it, and what it accepts.
        problem: String,
    },
}

impl ModelError {
    /// A setting that makes no sense together with the others.
    pub fn setting(model: &'static str, param: &str, problem: String) -> ModelError {
        ModelError::BadParam {
            model,
            param: param.to_owned(),
            problem,
        }
    }
}
