//! The client side every model shares: routing, timeouts, retries with backoff and
//! jitter, idempotency keys and a circuit breaker.
//!
//! These are the patterns that turn a working application into a reliable one, and
//! each is a knob of [`ClientConfig`] so that a scenario can turn it on or off and see
//! its effect in the numbers:
//!
//! - **Timeouts**: an attempt with no answer within [`ClientConfig::timeout`] (on the
//!   client's own clock) may or may not have taken effect.
//! - **Retries, only of what is safe** ([`RetryPolicy`]): an attempt that was refused
//!   (the replica said it did nothing) is always safe to retry; one that timed out is
//!   safe to retry only if it is a read or carries an idempotency key. How long to
//!   wait is a [`Backoff`]: immediate, fixed, exponential (doubling per attempt up to
//!   a cap), or exponential with full (the default), equal or decorrelated jitter
//!   drawn from the client's own random stream. A [`RetryBudget`] caps retries at a
//!   share of the operations begun, so that retries cannot multiply the load on a
//!   store that is already struggling.
//! - **Idempotency keys** ([`ClientConfig::idempotency`]): every attempt of one
//!   operation carries the same [`RequestId`]; replicas remember the ids they applied
//!   (in durable state, see [`Dedup`]) and answer a repeat with the first answer
//!   instead of applying it twice.
//! - **A circuit breaker** ([`BreakerConfig`]): after a run of failed operations the
//!   client fails fast, without sending, until a cool-down has passed; then it lets one
//!   probe through, and closes again if the probe succeeds.
//! - **Double submits** ([`DoubleSubmit`], off by default): not a pattern but what
//!   users do to one. A share of writes is submitted a second time a moment after the
//!   first (a double-click, a resent form), whatever became of the first: with the
//!   operation's idempotency key if the client uses them, so the replica answers it
//!   from its [`Dedup`] table; without, as a request of its own, which a replica
//!   applies again.
//!
//! Models plug in through the wire type [`Wire`]: a model's message type is
//! `Wire<P>`, where `P` is the model's own replica-to-replica message, and a replica
//! answers every [`ClientMsg::Request`] with a [`ClientMsg::Reply`] carrying an
//! [`Answer`].
//!
//! ## The contract between a replica and the clients
//!
//! What a replica of your own model may rely on, and must do:
//!
//! - **One operation at a time.** A client has at most one operation in flight; each
//!   attempt of it is one [`ClientMsg::Request`] to one replica, picked by the model's
//!   [`Routing`]. With idempotency keys (the default) every attempt of an operation
//!   carries the same [`RequestId`]; without them, each its own. A double submit
//!   ([`ClientConfig::double_submit`]) sends one more request for an operation, with
//!   the same id under idempotency keys, perhaps after the operation has ended.
//! - **Any replica may answer.** The client matches a [`ClientMsg::Reply`] by its
//!   request id alone, not by who sent it: the replica that got the request, the
//!   leader that committed it, or a replica that applied a forwarded copy may all
//!   answer, and the first answer counts. A `Done` for any attempt of the operation
//!   in flight is accepted (a refusal or redirect only for the latest attempt, unless
//!   attempts share an id); replies to operations already reported are ignored.
//! - **Every answer is a promise** ([`Answer`]): `Done` says the request took effect
//!   (or the read saw this); `Redirect` and `Refused` say this replica did nothing and
//!   never will with this message; `Indeterminate` says it may have. A client that is
//!   never answered times out, and reports the operation as `info` if it may have taken
//!   effect.
//! - **Where retries go.** Each routing keeps a *home* and a *leader* replica per
//!   client (both start at the client's home, spread by client number):
//!
//!   | routing | reads go to | writes go to | `Redirect { to: Some(r) }` | timeout, refusal, `Redirect { to: None }` |
//!   |---|---|---|---|---|
//!   | [`Routing::Home`] | home | home | home := r | home := next replica |
//!   | [`Routing::Leader`] | leader | leader | leader := r | leader := next replica |
//!   | [`Routing::ReadsHomeWritesLeader`] | home | leader | as `Home` for reads, `Leader` for writes | likewise |
//!   | [`Routing::Split`] | `reads` | `writes` | nothing moves | nothing moves |
//!
//!   A redirect to another replica is followed at once, up to three in a row without
//!   using up an attempt; after that, or after any other failure, the client backs off
//!   and retries if its [`RetryPolicy`] allows.
//!
//! **Session tokens.** Every request carries the highest token the client has seen,
//! and every reply may carry a new one ([`ClientMsg::Reply::token`]). What a token
//! means is the model's business (for `primary-async`, a log position); models that do
//! not use them send 0 and ignore them.

use std::convert::Infallible;
use std::fmt::Debug;

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, Duration, Node, NodeId, SimRng, Time, TimerId};

use crate::kv::{Op, Outcome, Reply, Request};

/// An idempotency key: the client and its own operation number. Without idempotency
/// keys every attempt gets a fresh number, so replicas cannot tell a retry from a new
/// request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId {
    /// The client that made the request.
    pub client: NodeId,
    /// The client's request number.
    pub seq: u64,
}

/// What a replica answers a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Answer {
    /// The request took effect (or, for a read, was served) with this reply.
    Done(Reply),
    /// This replica does not serve the request and did nothing; try `to` (the leader or
    /// primary it believes in) or, if `None`, another replica. A duplicate of the
    /// message may still reach the replica after it has become the leader, so a client
    /// counts a redirected write as one that may yet take effect.
    Redirect {
        /// Where to go instead, if the replica knows.
        to: Option<NodeId>,
    },
    /// The replica did nothing and cannot serve the request now (for example, no
    /// quorum is reachable before anything was written). A replica that refuses a
    /// request promises never to apply it, nor a duplicate of it: the client may then
    /// report the operation as failed.
    Refused {
        /// Why, for people.
        reason: &'static str,
    },
    /// The replica tried and does not know whether the request took effect (for
    /// example, it wrote locally but too few replicas acknowledged in time).
    Indeterminate {
        /// Why, for people.
        reason: &'static str,
    },
}

/// The client-facing messages of every model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ClientMsg {
    /// A client's request.
    Request {
        /// The request's id (the idempotency key, if the client uses them).
        id: RequestId,
        /// What to do.
        request: Request,
        /// The highest session token the client has seen.
        token: u64,
        /// How much longer the client waits for the answer, when it has a deadline
        /// ([`ClientConfig::deadline`]): a replica that sheds load drops the request
        /// unserved once it has waited longer than this in its queue.
        deadline: Option<Duration>,
    },
    /// A replica's answer to request `id`.
    Reply {
        /// The request answered.
        id: RequestId,
        /// The answer.
        answer: Answer,
        /// A session token the client should remember (the client keeps the highest).
        token: u64,
    },
}

/// A model's message type: client traffic, or the model's own peer messages `P`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Wire<P> {
    /// Between a client and a replica.
    Client(ClientMsg),
    /// Between replicas.
    Peer(P),
}

/// Where a client sends its requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Routing {
    /// Everything to the client's home replica; on a timeout or refusal, the next
    /// replica becomes home. Redirects are followed.
    Home,
    /// Everything to the replica believed to lead; redirects move the belief, and a
    /// timeout moves it to the next replica.
    Leader,
    /// Reads to the home replica (which stays fixed unless it times out), writes to
    /// the believed leader, as with a primary and read replicas.
    ReadsHomeWritesLeader,
    /// Every client's reads to one fixed replica and its writes to another (or the
    /// same), as with a chain's tail and head. Nothing moves them: a redirect, a
    /// timeout or a refusal is retried at the same replica.
    Split {
        /// Where every read goes.
        reads: NodeId,
        /// Where every write goes.
        writes: NodeId,
    },
}

/// How long a client waits before its next attempt, after attempt `n` failed. With
/// `exp = min(max_backoff, base_backoff × 2^(n−1))`, as in Brooker, *Exponential
/// Backoff and Jitter* (AWS Architecture Blog, 2015):
///
/// ```
/// use models::client::{Backoff, RetryPolicy};
/// use sim_core::{Duration, Purpose, SimRng};
/// let policy = RetryPolicy::default(); // 20 ms doubling, at most 400 ms
/// let mut rng = SimRng::new(1, Purpose::Custom(0));
/// let ms = Duration::from_millis;
/// assert_eq!(Backoff::Exponential.delay(&policy, 3, ms(0), &mut rng), ms(80));
/// assert_eq!(Backoff::Exponential.delay(&policy, 9, ms(0), &mut rng), ms(400));
/// assert_eq!(Backoff::Fixed.delay(&policy, 9, ms(0), &mut rng), ms(20));
/// let jittered = Backoff::EqualJitter.delay(&policy, 3, ms(0), &mut rng);
/// assert!(ms(40) <= jittered && jittered <= ms(80));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Backoff {
    /// No wait: the next attempt goes at once.
    Immediate,
    /// Always `base_backoff`.
    Fixed,
    /// `exp`, without jitter: clients that failed together retry together.
    Exponential,
    /// Uniform in `[0, exp]` (the default).
    #[default]
    FullJitter,
    /// `exp / 2` plus uniform in `[0, exp / 2]`.
    EqualJitter,
    /// `min(max_backoff, uniform in [base_backoff, 3 × the previous wait])` (the first
    /// previous wait is `base_backoff`), as Brooker defines it.
    DecorrelatedJitter,
}

impl Backoff {
    /// Every policy, by its command-line name.
    pub const ALL: [(&'static str, Backoff); 6] = [
        ("immediate", Backoff::Immediate),
        ("fixed", Backoff::Fixed),
        ("exponential", Backoff::Exponential),
        ("full-jitter", Backoff::FullJitter),
        ("equal-jitter", Backoff::EqualJitter),
        ("decorrelated-jitter", Backoff::DecorrelatedJitter),
    ];

    /// The wait after attempt `attempts` failed, the last wait having been `previous`
    /// (`Duration::ZERO` before the first retry), drawing jitter from `rng`.
    pub fn delay(
        self,
        policy: &RetryPolicy,
        attempts: u32,
        previous: Duration,
        rng: &mut SimRng,
    ) -> Duration {
        let base = policy.base_backoff.as_nanos();
        let most = policy.max_backoff.as_nanos();
        let exp = base
            .saturating_mul(1u64 << attempts.saturating_sub(1).min(20))
            .min(most);
        let nanos = match self {
            Backoff::Immediate => 0,
            Backoff::Fixed => base,
            Backoff::Exponential => exp,
            Backoff::FullJitter => rng.below(exp.max(1) + 1),
            Backoff::EqualJitter => {
                let half = exp / 2;
                half + rng.below(exp - half + 1)
            }
            Backoff::DecorrelatedJitter => {
                let last = if previous == Duration::ZERO {
                    base
                } else {
                    previous.as_nanos()
                };
                let high = last.saturating_mul(3).max(base);
                rng.between(base, high).min(most)
            }
        };
        Duration::from_nanos(nanos)
    }
}

/// A retry budget: over a long run, a client retries at most `per_mille` / 1000 of
/// the operations it begins, plus the ten retries its bucket starts with (the Google
/// SRE book's per-client retry budget, as a token bucket). Each operation begun adds `per_mille` milli-tokens, up to
/// [`RetryBudget::BUCKET`]; each retry takes 1,000; with less, the operation ends
/// without retrying. The bucket starts full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub struct RetryBudget {
    /// Retries allowed per thousand operations begun (1 to 1,000).
    pub per_mille: u32,
}

impl RetryBudget {
    /// The bucket's size, in milli-tokens: ten retries' worth, so that a quiet client
    /// may still retry a short burst of failures.
    pub const BUCKET: u32 = 10_000;
}

/// When and how to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub struct RetryPolicy {
    /// Attempts per operation in all (1: never retry).
    pub max_attempts: u32,
    /// The backoff's base: the first wait of the exponential policies, every wait of
    /// [`Backoff::Fixed`].
    pub base_backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
    /// How the wait grows and is jittered.
    pub backoff: Backoff,
    /// A retry budget, if any.
    pub budget: Option<RetryBudget>,
    /// Whether a timed-out write without an idempotency key is retried anyway (unsafe:
    /// it may apply twice; the `retry-without-idempotency` bug).
    pub retry_unsafe: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(400),
            backoff: Backoff::FullJitter,
            budget: None,
            retry_unsafe: false,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn never() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

/// The circuit breaker's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub struct BreakerConfig {
    /// Consecutive failed operations (timeouts, refusals) that open the breaker.
    pub threshold: u32,
    /// How long it stays open before letting a probe through.
    pub cooldown: Duration,
}

/// Client settings.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientConfig {
    /// The replicas, in the order the client tries them.
    pub replicas: Vec<NodeId>,
    /// Index into `replicas` of the first home (spread clients with their number).
    pub home: usize,
    /// Where requests go.
    pub routing: Routing,
    /// How long one attempt waits for an answer, on the client's own clock.
    pub timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// Whether attempts of one operation share an idempotency key.
    pub idempotency: bool,
    /// The circuit breaker, if any.
    pub breaker: Option<BreakerConfig>,
    /// How long an operation may take in all, from its arrival (the client is handed
    /// it [`Op::queued`](crate::kv::Op::queued) after that), on the client's own clock
    /// (`None`: no deadline). Each attempt carries what is left of it, waits at most
    /// that long, and no retry starts once it has passed.
    pub deadline: Option<Duration>,
    /// Whether some writes are submitted twice, and how (`None`: never).
    pub double_submit: Option<DoubleSubmit>,
}

/// A user who submits some writes twice: a double-click, or a form sent again. The
/// second submit follows the first after a delay drawn uniformly from zero to
/// `within`, whatever became of the first (it may have been answered already), and
/// carries the operation's idempotency key when the client uses them
/// ([`ClientConfig::idempotency`]), a request id of its own when not. It is not an
/// attempt: it waits for no answer and is never retried, but an answer to it ends the
/// operation if it is still in flight.
///
/// ```
/// use models::client::DoubleSubmit;
/// use sim_core::Duration;
/// let clicks = DoubleSubmit { per_mille: 200, within: Duration::from_millis(300) };
/// assert_eq!(clicks, DoubleSubmit::default());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DoubleSubmit {
    /// Writes submitted twice, per mille of the writes a client begins.
    pub per_mille: u32,
    /// The most the second submit lags the first.
    pub within: Duration,
}

impl Default for DoubleSubmit {
    /// One write in five, the second click within 300 ms.
    fn default() -> Self {
        DoubleSubmit {
            per_mille: 200,
            within: Duration::from_millis(300),
        }
    }
}

impl ClientConfig {
    /// A client of `replicas` with home `home`, routing `routing`, a 500 ms timeout,
    /// the default retry policy, idempotency keys, and no breaker.
    ///
    /// ```
    /// use models::client::{ClientConfig, Routing};
    /// use sim_core::NodeId;
    /// let config = ClientConfig::new(vec![NodeId(0), NodeId(1)], 1, Routing::Leader);
    /// assert!(config.idempotency);
    /// ```
    pub fn new(replicas: Vec<NodeId>, home: usize, routing: Routing) -> ClientConfig {
        ClientConfig {
            replicas,
            home,
            routing,
            timeout: Duration::from_millis(500),
            retry: RetryPolicy::default(),
            idempotency: true,
            breaker: None,
            deadline: None,
            double_submit: None,
        }
    }

    /// The same client, sending each write once: no idempotency keys, and no retry
    /// of a write that may have taken effect (a refused one is still retried). For a
    /// store whose replicas coordinate writes themselves, where a write retried at a
    /// second coordinator would be applied twice, under two stamps.
    ///
    /// ```
    /// use models::client::{ClientConfig, Routing};
    /// use sim_core::NodeId;
    /// let config = ClientConfig::new(vec![NodeId(0)], 0, Routing::Home).writes_sent_once();
    /// assert!(!config.idempotency && !config.retry.retry_unsafe);
    /// ```
    pub fn writes_sent_once(mut self) -> ClientConfig {
        self.idempotency = false;
        self.retry.retry_unsafe = false;
        self
    }
}

/// The client's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientTimer {
    /// Attempt `seq` of the current operation got no answer in time.
    Timeout {
        /// The attempt's request number.
        seq: u64,
    },
    /// The backoff before the next attempt is over.
    Retry,
    /// The second submit of operation `op` is due: `request`, with the request number
    /// `seq` (the operation's idempotency key), or a fresh one if `None`.
    Resubmit {
        /// The operation's id.
        op: u64,
        /// What it asks.
        request: Request,
        /// The idempotency key to send, if the client uses them.
        seq: Option<u64>,
    },
}

/// The operation in flight.
#[derive(Clone, Debug, Hash)]
struct Pending {
    op: Op,
    /// Attempts sent so far.
    attempts: u32,
    /// The request number of the current attempt.
    seq: u64,
    /// Request numbers of every attempt of this operation (a late reply to an earlier
    /// attempt also ends it).
    seqs: Vec<u64>,
    /// The timer of the current attempt or backoff.
    timer: Option<TimerId>,
    /// Whether some attempt may have taken effect.
    maybe_applied: bool,
    /// Redirects followed without waiting (bounded, so that two replicas pointing at
    /// each other cannot loop forever).
    redirects: u32,
    /// Where each message of a write was sent, and who refused one: a write is a
    /// definite failure only if every message sent was refused.
    sent_to: Vec<NodeId>,
    refused_by: Vec<NodeId>,
    /// Why the last attempt failed.
    last_failure: String,
    /// The last backoff waited (for [`Backoff::DecorrelatedJitter`]).
    last_backoff: Duration,
    /// When the operation's deadline passes, on the client's monotonic clock (`None`
    /// without a deadline).
    deadline_at: Option<Time>,
    /// How long the current attempt waits for an answer.
    wait: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Breaker {
    Closed { failures: u32 },
    Open { until: Time },
    HalfOpen,
}

/// The generic client: one operation at a time, reported once as `ok`, `fail` or
/// `info`, however many attempts it took.
///
/// `P` is the model's peer message type; the client never sees one.
#[derive(Clone, Debug, Hash)]
pub struct Client<P> {
    config: ClientConfig,
    home: usize,
    leader: usize,
    token: u64,
    next_seq: u64,
    pending: Option<Pending>,
    breaker: Breaker,
    /// The retry budget's bucket, in milli-tokens ([`RetryBudget`]).
    retry_tokens: u32,
    _peer: std::marker::PhantomData<P>,
}

/// Redirects followed in a row before the client backs off.
const MAX_FREE_REDIRECTS: u32 = 3;

impl<P> Client<P> {
    fn target(&self, request: &Request) -> NodeId {
        let index = match (self.config.routing, request.is_write()) {
            (Routing::Home, _) | (Routing::ReadsHomeWritesLeader, false) => self.home,
            (Routing::Leader, _) | (Routing::ReadsHomeWritesLeader, true) => self.leader,
            (Routing::Split { writes, .. }, true) => return writes,
            (Routing::Split { reads, .. }, false) => return reads,
        };
        self.config.replicas[index % self.config.replicas.len()]
    }

    /// Moves on from a replica that did not answer or refused.
    fn rotate(&mut self, request: &Request) {
        let n = self.config.replicas.len();
        match (self.config.routing, request.is_write()) {
            (Routing::Home, _) | (Routing::ReadsHomeWritesLeader, false) => {
                self.home = (self.home + 1) % n;
            }
            (Routing::Leader, _) | (Routing::ReadsHomeWritesLeader, true) => {
                self.leader = (self.leader + 1) % n;
            }
            (Routing::Split { .. }, _) => {}
        }
    }

    /// Whether the operation may be attempted again after a failure (the retry
    /// budget aside, see [`Client::retry_allowed`]).
    fn may_retry(&self, pending: &Pending) -> bool {
        if pending.attempts >= self.config.retry.max_attempts {
            return false;
        }
        !pending.maybe_applied
            || !pending.op.request.is_write()
            || self.config.idempotency
            || self.config.retry.retry_unsafe
    }

    /// What is left at `now` of a deadline that passes at `deadline_at` (`None`
    /// without a deadline).
    fn time_left(deadline_at: Option<Time>, now: Time) -> Option<Duration> {
        deadline_at.map(|at| at.saturating_since(now))
    }

    /// Whether the retry budget has a retry left.
    fn retry_allowed(&self) -> bool {
        self.config.retry.budget.is_none() || self.retry_tokens >= 1_000
    }

    /// Spends a retry of the budget, if there is one.
    fn spend_retry(&mut self) {
        if self.config.retry.budget.is_some() {
            self.retry_tokens -= 1_000;
        }
    }

    fn send_attempt(&mut self, ctx: &mut Ctx<'_, Self>)
    where
        P: Clone + Debug,
    {
        let fresh = self.next_seq;
        let deadline_at = self
            .pending
            .as_ref()
            .expect("an attempt needs an operation")
            .deadline_at;
        let left = Self::time_left(deadline_at, ctx.monotonic());
        let pending = self
            .pending
            .as_mut()
            .expect("an attempt needs an operation");
        let seq = if self.config.idempotency && !pending.seqs.is_empty() {
            pending.seqs[0]
        } else {
            self.next_seq += 1;
            fresh
        };
        pending.attempts += 1;
        pending.seq = seq;
        if !pending.seqs.contains(&seq) {
            pending.seqs.push(seq);
        }
        let request = pending.op.request;
        let target = self.target(&request);
        if request.is_write() {
            self.pending
                .as_mut()
                .expect("still pending")
                .sent_to
                .push(target);
        }
        ctx.send(
            target,
            Wire::Client(ClientMsg::Request {
                id: RequestId {
                    client: ctx.id(),
                    seq,
                },
                request,
                token: self.token,
                deadline: left,
            }),
        );
        let wait = left.map_or(self.config.timeout, |left| left.min(self.config.timeout));
        let timer = ctx.set_timer(wait, ClientTimer::Timeout { seq });
        let pending = self.pending.as_mut().expect("still pending");
        (pending.timer, pending.wait) = (Some(timer), wait);
    }

    /// Draws whether the user submits `op` (just sent) a second time, and when.
    fn maybe_submit_twice(&mut self, ctx: &mut Ctx<'_, Self>, op: Op)
    where
        P: Clone + Debug,
    {
        let Some(clicks) = self.config.double_submit else {
            return;
        };
        if !op.request.is_write() || ctx.rng().below(1_000) >= u64::from(clicks.per_mille) {
            return;
        }
        let lag = Duration::from_nanos(ctx.rng().below(clicks.within.as_nanos() + 1));
        let seq = self
            .pending
            .as_ref()
            .filter(|_| self.config.idempotency)
            .map(|pending| pending.seqs[0]);
        ctx.set_timer(
            lag,
            ClientTimer::Resubmit {
                op: op.id,
                request: op.request,
                seq,
            },
        );
    }

    /// Sends operation `op`'s second submit, whether or not it is still in flight;
    /// if it is, an answer to this request ends it too.
    fn resubmit(&mut self, ctx: &mut Ctx<'_, Self>, op: u64, request: Request, seq: Option<u64>)
    where
        P: Clone + Debug,
    {
        let seq = seq.unwrap_or_else(|| {
            self.next_seq += 1;
            self.next_seq - 1
        });
        let target = self.target(&request);
        // Still in flight, the second submit carries what is left of the operation's
        // deadline; after it ended, nobody waits for an answer, and it carries none.
        let mut deadline = None;
        if let Some(pending) = self.pending.as_mut().filter(|p| p.op.id == op) {
            if !pending.seqs.contains(&seq) {
                pending.seqs.push(seq);
            }
            pending.sent_to.push(target);
            deadline = Self::time_left(pending.deadline_at, ctx.monotonic());
        }
        let id = RequestId {
            client: ctx.id(),
            seq,
        };
        let token = self.token;
        let msg = ClientMsg::Request {
            id,
            request,
            token,
            deadline,
        };
        ctx.send(target, Wire::Client(msg));
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, Self>, outcome: Outcome, success: bool)
    where
        P: Clone + Debug,
    {
        if let Some(pending) = self.pending.take()
            && let Some(timer) = pending.timer
        {
            ctx.cancel_timer(timer);
        }
        if let Some(breaker) = self.config.breaker {
            self.breaker = match (self.breaker, success) {
                (_, true) => Breaker::Closed { failures: 0 },
                (Breaker::Closed { failures }, false) if failures + 1 < breaker.threshold => {
                    Breaker::Closed {
                        failures: failures + 1,
                    }
                }
                (_, false) => Breaker::Open {
                    until: ctx.monotonic() + breaker.cooldown,
                },
            };
        }
        ctx.output(outcome);
    }

    /// How long to wait before retrying an operation with `left` of its deadline, or
    /// why it may not be retried: the retry budget is spent, or the wait would use up
    /// the rest of the deadline (then the operation gives up now, spending nothing).
    fn retry_delay(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        left: Option<Duration>,
    ) -> Result<Duration, &'static str>
    where
        P: Clone + Debug,
    {
        if !self.retry_allowed() {
            return Err("the retry budget is spent");
        }
        let policy = self.config.retry;
        let pending = self.pending.as_ref().expect("a retry needs an operation");
        let delay =
            policy
                .backoff
                .delay(&policy, pending.attempts, pending.last_backoff, ctx.rng());
        if left.is_some_and(|left| delay >= left) {
            return Err("the deadline would pass before the next attempt");
        }
        self.spend_retry();
        Ok(delay)
    }

    /// The current attempt failed; retry after a backoff or give up.
    fn failed(&mut self, ctx: &mut Ctx<'_, Self>, reason: String, maybe_applied: bool)
    where
        P: Clone + Debug,
    {
        let request = {
            let pending = self.pending.as_mut().expect("a failure needs an operation");
            pending.maybe_applied |= maybe_applied;
            pending.last_failure = reason;
            if let Some(timer) = pending.timer.take() {
                ctx.cancel_timer(timer);
            }
            pending.op.request
        };
        self.rotate(&request);
        let pending = self.pending.as_ref().expect("still pending");
        let left = Self::time_left(pending.deadline_at, ctx.monotonic());
        let why_not = if left == Some(Duration::ZERO) {
            Some("the deadline has passed")
        } else if self.may_retry(pending) {
            match self.retry_delay(ctx, left) {
                Ok(delay) => {
                    let pending = self.pending.as_mut().expect("still pending");
                    pending.last_backoff = delay;
                    pending.timer = Some(ctx.set_timer(delay, ClientTimer::Retry));
                    return;
                }
                Err(why) => Some(why),
            }
        } else {
            None
        };
        let pending = self.pending.as_ref().expect("still pending");
        let (id, attempts) = (pending.op.id, pending.attempts);
        let reason = match why_not {
            Some(why) => format!("{}; {why}", pending.last_failure),
            None => pending.last_failure.clone(),
        };
        // A write is a definite failure only if no message of it can still take effect:
        // every one sent was refused (a refusal is a promise that the replica never
        // applies that request, duplicates included).
        let all_refused = pending.sent_to.iter().all(|t| {
            let sent = pending.sent_to.iter().filter(|x| *x == t).count();
            let refused = pending.refused_by.iter().filter(|x| *x == t).count();
            refused >= sent
        });
        let outcome = if pending.maybe_applied || !all_refused {
            Outcome::Info {
                id,
                reason: format!("{reason} (after {attempts} attempts)"),
            }
        } else {
            Outcome::Fail {
                id,
                reason: format!("{reason} (after {attempts} attempts)"),
            }
        };
        self.finish(ctx, outcome, false);
    }
}

impl<P: Clone + Debug> Node for Client<P> {
    type Config = ClientConfig;
    type Msg = Wire<P>;
    type Timer = ClientTimer;
    type Durable = ();
    type Input = Op;
    type Output = Outcome;

    fn start(config: &ClientConfig, _ctx: &mut Ctx<'_, Self>) -> Self {
        assert!(
            !config.replicas.is_empty(),
            "a client needs replicas: {config:?}"
        );
        assert!(
            config.retry.max_attempts >= 1,
            "a client needs at least one attempt: {config:?}"
        );
        Client {
            home: config.home % config.replicas.len(),
            leader: config.home % config.replicas.len(),
            config: config.clone(),
            token: 0,
            next_seq: 0,
            pending: None,
            breaker: Breaker::Closed { failures: 0 },
            retry_tokens: RetryBudget::BUCKET,
            _peer: std::marker::PhantomData,
        }
    }

    fn on_input(&mut self, ctx: &mut Ctx<'_, Self>, op: Op) {
        assert!(
            self.pending.is_none(),
            "{}: got {op:?} while {:?} is in flight",
            ctx.id(),
            self.pending
        );
        if let Breaker::Open { until } = self.breaker {
            if ctx.monotonic() < until {
                // Failing fast: nothing was sent, so it certainly did not happen.
                ctx.output(Outcome::Fail {
                    id: op.id,
                    reason: "circuit breaker open".to_owned(),
                });
                return;
            }
            self.breaker = Breaker::HalfOpen;
        }
        self.pending = Some(Pending {
            op,
            attempts: 0,
            seq: 0,
            seqs: Vec::new(),
            timer: None,
            maybe_applied: false,
            redirects: 0,
            sent_to: Vec::new(),
            refused_by: Vec::new(),
            last_failure: String::new(),
            last_backoff: Duration::ZERO,
            // What waiting at the client took of the deadline is gone already.
            deadline_at: self.config.deadline.map(|deadline| {
                let left = deadline.as_nanos().saturating_sub(op.queued.as_nanos());
                Time::from_nanos(ctx.monotonic().as_nanos().saturating_add(left))
            }),
            wait: Duration::ZERO,
        });
        if let Some(budget) = self.config.retry.budget {
            self.retry_tokens = (self.retry_tokens + budget.per_mille).min(RetryBudget::BUCKET);
        }
        self.send_attempt(ctx);
        self.maybe_submit_twice(ctx, op);
    }

    /// A reply to an operation already reported (its request number belongs to none
    /// of the pending operation's attempts, and request numbers are never reused) whose
    /// session token is no news, and anything that is not a reply. Clients are never
    /// crashed (a restarted one would number its requests from 0 again).
    fn ignores(&self, _from: NodeId, msg: &Wire<P>) -> bool {
        let Wire::Client(ClientMsg::Reply { id, token, .. }) = msg else {
            return true;
        };
        *token <= self.token
            && self
                .pending
                .as_ref()
                .is_none_or(|p| !p.seqs.contains(&id.seq))
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Wire<P>) {
        let Wire::Client(ClientMsg::Reply { id, answer, token }) = msg else {
            return;
        };
        self.token = self.token.max(token);
        let Some(pending) = &self.pending else {
            return; // A late or duplicated reply to an operation already reported.
        };
        if !pending.seqs.contains(&id.seq) {
            return;
        }
        let op_id = pending.op.id;
        match answer {
            Answer::Done(Reply::CasMismatch(current)) => self.finish(
                ctx,
                Outcome::Fail {
                    id: op_id,
                    reason: format!("cas mismatch: the key holds {current:?}"),
                },
                true,
            ),
            Answer::Done(reply) => self.finish(ctx, Outcome::Ok { id: op_id, reply }, true),
            // Only the current attempt's refusals count: an earlier attempt's refusal
            // says nothing about the attempt now in flight.
            _ if id.seq != pending.seq && !self.config.idempotency => {}
            Answer::Redirect { to } => {
                let request = pending.op.request;
                if let Some(to) = to
                    && let Some(index) = self.config.replicas.iter().position(|&r| r == to)
                {
                    match (self.config.routing, request.is_write()) {
                        (Routing::Home, _) | (Routing::ReadsHomeWritesLeader, false) => {
                            self.home = index;
                        }
                        (Routing::Split { .. }, _) => {}
                        _ => self.leader = index,
                    }
                } else {
                    self.rotate(&request);
                }
                let pending = self.pending.as_mut().expect("still pending");
                // The replica did nothing with this message, but a duplicate of it may
                // reach the same replica after it has become the leader: a redirected
                // write may still take effect.
                pending.maybe_applied |= request.is_write();
                if pending.redirects < MAX_FREE_REDIRECTS && to.is_some_and(|to| to != from) {
                    // Nothing happened; go straight to the replica named, without using
                    // up an attempt.
                    pending.redirects += 1;
                    pending.attempts -= 1;
                    if let Some(timer) = pending.timer.take() {
                        ctx.cancel_timer(timer);
                    }
                    self.send_attempt(ctx);
                } else {
                    pending.redirects = 0;
                    // `failed` rotates again; undo that so the redirect target stays.
                    let saved = (self.home, self.leader);
                    self.failed(ctx, format!("redirected by {from}"), false);
                    (self.home, self.leader) = saved;
                }
            }
            Answer::Refused { reason } => {
                if let Some(pending) = self.pending.as_mut() {
                    pending.refused_by.push(from);
                }
                self.failed(ctx, format!("{from} refused: {reason}"), false)
            }
            Answer::Indeterminate { reason } => self.failed(ctx, format!("{from}: {reason}"), true),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: ClientTimer) {
        match (timer, &self.pending) {
            // The second click comes whatever became of the first, idle client or not.
            (ClientTimer::Resubmit { op, request, seq }, _) => {
                self.resubmit(ctx, op, request, seq);
            }
            (ClientTimer::Timeout { seq }, Some(pending)) => {
                assert_eq!(seq, pending.seq, "a stale timeout timer was not cancelled");
                let reason = format!("no answer within {}", pending.wait);
                self.failed(ctx, reason, true);
            }
            (ClientTimer::Retry, Some(_)) => self.send_attempt(ctx),
            (ClientTimer::Timeout { .. } | ClientTimer::Retry, None) => {}
        }
    }
}

/// The idempotency table a replica keeps: for each client, the last request number it
/// applied and the answer it gave. Clients have one operation in flight, so one entry
/// per client is enough; keep it in durable state so a restart does not forget it.
///
/// ```
/// use models::client::{Dedup, RequestId};
/// use models::kv::Reply;
/// use sim_core::NodeId;
/// let mut dedup = Dedup::default();
/// let id = RequestId { client: NodeId(4), seq: 7 };
/// assert_eq!(dedup.seen(id), None);
/// dedup.record(id, Reply::Appended);
/// assert_eq!(dedup.seen(id), Some(&Reply::Appended));
/// // An older request of the same client is not applied either.
/// assert!(dedup.seen(RequestId { client: NodeId(4), seq: 3 }).is_some());
/// assert_eq!(dedup.seen(RequestId { client: NodeId(4), seq: 8 }), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Dedup {
    last: imbl::OrdMap<NodeId, (u64, Reply)>,
}

impl Dedup {
    /// The answer already given to `id` if it was applied; and for a request older
    /// than the client's last applied one (a network duplicate or a late retry
    /// arriving after the client moved on), that last answer: such a request must not
    /// be applied, and the client ignores the answer, since it is not waiting for it.
    pub fn seen(&self, id: RequestId) -> Option<&Reply> {
        self.last
            .get(&id.client)
            .filter(|(seq, _)| *seq >= id.seq)
            .map(|(_, reply)| reply)
    }

    /// Whether `id` is older than the last request applied for its client: a late
    /// duplicate of an operation the client has moved past, which must not be applied
    /// (applying it now would reorder the client's writes).
    ///
    /// ```
    /// use models::client::{Dedup, RequestId};
    /// use models::kv::Reply;
    /// use sim_core::NodeId;
    /// let mut dedup = Dedup::default();
    /// let id = |seq| RequestId { client: NodeId(4), seq };
    /// dedup.record(id(7), Reply::Written);
    /// assert!(dedup.stale(id(6)));
    /// assert!(!dedup.stale(id(7)) && !dedup.stale(id(8)));
    /// ```
    pub fn stale(&self, id: RequestId) -> bool {
        self.last
            .get(&id.client)
            .is_some_and(|(seq, _)| *seq > id.seq)
    }

    /// Remembers that `id` was applied with `reply`.
    pub fn record(&mut self, id: RequestId, reply: Reply) {
        let newer = self
            .last
            .get(&id.client)
            .is_none_or(|(seq, _)| *seq <= id.seq);
        if newer {
            self.last.insert(id.client, (id.seq, reply));
        }
    }
}

/// How much longer the client that sent `msg` waits for the answer, if it is a request
/// with a deadline: what a model's [`Node::deadline`] returns so that a replica with a
/// capacity that sheds load drops requests nobody waits for.
pub fn request_deadline<P>(msg: &Wire<P>) -> Option<Duration> {
    match msg {
        Wire::Client(ClientMsg::Request { deadline, .. }) => *deadline,
        _ => None,
    }
}

/// The bulkhead a message queues in, on a replica with bulkheads (see
/// [`sim_core::Capacity::bulkheads`]): what a model's [`Node::class`] returns.
///
/// | class | messages |
/// |---|---|
/// | 0 | between replicas (replication, elections, heartbeats), and replies |
/// | 1 | clients' reads |
/// | 2 | clients' writes, appends and compare-and-sets |
///
/// ```
/// use models::client::{ClientMsg, NoPeers, RequestId, Wire, request_class};
/// use models::kv::Request;
/// use sim_core::NodeId;
/// let request = |request| Wire::<NoPeers>::Client(ClientMsg::Request {
///     id: RequestId { client: NodeId(3), seq: 0 }, request, token: 0, deadline: None,
/// });
/// assert_eq!(request_class(&request(Request::Read { key: 0 })), 1);
/// assert_eq!(request_class(&request(Request::Write { key: 0, value: 7 })), 2);
/// ```
pub fn request_class<P>(msg: &Wire<P>) -> usize {
    match msg {
        Wire::Client(ClientMsg::Request { request, .. }) if request.is_write() => 2,
        Wire::Client(ClientMsg::Request { .. }) => 1,
        _ => 0,
    }
}

/// The reply a replica sends for `id`.
pub fn reply<P>(id: RequestId, answer: Answer, token: u64) -> Wire<P> {
    Wire::Client(ClientMsg::Reply { id, answer, token })
}

/// A peer message type for models whose replicas never talk to each other.
pub type NoPeers = Infallible;
