//! The model: raft-rs replicas as consim knows them, their settings, and the
//! declaration [`RAFT_RS`].
//!
//! ```
//! use consim::models::{Model, Params};
//! use integrations::raft_rs::RAFT_RS;
//! let model = RAFT_RS.model(&Params::default())?;
//! assert_eq!(model.replicas().len(), 3);
//! let bad = RAFT_RS.model(&Params::default().with("heartbeat-ticks", 15));
//! assert!(bad.unwrap_err().to_string().contains("heartbeat-ticks"));
//! # Ok::<(), consim::models::ModelError>(())
//! ```

use consim::models::client::Routing;
use consim::models::{Declaration, Guarantee, Invariants, Model, ModelError, ModelInfo};
use consim::sim_core::{Duration, NodeId};

use crate::raft_rs::invariants::RaftRsInvariants;
use crate::raft_rs::replica::{Config, Misuse, RaftRsReplica, raft_config};

consim::models::settings! {
    /// raft-rs's settings: the cluster, raft-rs's options, and the misuses.
    pub struct RaftRsSettings {
        /// Replicas.
        "replicas" replicas: usize = 3, in 1..=9, explore 1..=5;
        /// How often each replica ticks raft-rs, in ms of its own clock.
        "tick-ms" tick_ms: u64 = 10, in 1..=1_000, explore 5..=20;
        /// raft-rs's election_tick: a follower that hears no leader for a timeout
        /// drawn (once per boot, from the replica's seeded stream) between this and
        /// twice this many ticks stands for election.
        "election-ticks" election_ticks: usize = 15, in 2..=1_000, explore 10..=30;
        /// raft-rs's heartbeat_tick: below election-ticks.
        "heartbeat-ticks" heartbeat_ticks: usize = 5, in 1..=999, explore 1..=5;
        /// raft-rs's PreVote.
        "pre-vote" pre_vote: bool = true;
        /// raft-rs's CheckQuorum.
        "check-quorum" check_quorum: bool = false;
        /// Leave raft-rs's election timeout to rand::thread_rng(): runs no longer
        /// replay (consim's determinism check shows where they part).
        bug "library-randomness" library_randomness: bool = false;
        /// Misuse: send persisted_messages() at once and sync the writes they promise
        /// a little later (an asynchronous write path).
        bug "send-before-persist" send_before_persist: bool = false;
        /// Misuse: answer a write once the leader has appended it, not once it is
        /// committed and applied.
        bug "ack-on-append" ack_on_append: bool = false;
        /// Misuse: serve reads from the leader's state without ReadIndex.
        bug "local-reads" local_reads: bool = false;
    }
}

/// raft-rs in consim: what it promises, and how to build it from its settings.
pub const RAFT_RS: Declaration<RaftRsSettings, RaftRs> = Declaration {
    info: ModelInfo::new(
        "raft-rs",
        "tikv's raft-rs (RawNode) as replicas of a key-value store: \
         ReadIndex reads, writes answered once applied",
    )
    .promises(&Guarantee::ALL),
    build: RaftRs::new,
};

/// The model the runner builds: every replica gets the same [`Config`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RaftRs {
    config: Config,
}

impl RaftRs {
    /// Builds the model from its settings, refusing what raft-rs would refuse (an
    /// election timeout not above the heartbeat) as a [`ModelError::BadParam`].
    pub fn new(s: RaftRsSettings) -> Result<RaftRs, ModelError> {
        let config = Config {
            replicas: s.replicas,
            tick: Duration::from_millis(s.tick_ms),
            election_ticks: s.election_ticks,
            heartbeat_ticks: s.heartbeat_ticks,
            pre_vote: s.pre_vote,
            check_quorum: s.check_quorum,
            library_randomness: s.library_randomness,
            misuse: Misuse {
                send_before_persist: s.send_before_persist,
                ack_on_append: s.ack_on_append,
                local_reads: s.local_reads,
            },
        };
        // Every election timeout a replica can draw must be one raft-rs accepts.
        for election in [s.election_ticks, 2 * s.election_ticks - 1] {
            raft_config(&config, NodeId(0), election)
                .validate()
                .map_err(|e| {
                    ModelError::setting(RAFT_RS.info.name, "heartbeat-ticks", e.to_string())
                })?;
        }
        Ok(RaftRs { config })
    }

    /// The configuration every replica gets.
    pub fn config(&self) -> Config {
        self.config
    }
}

impl Model for RaftRs {
    type Replica = RaftRsReplica;

    fn replicas(&self) -> Vec<Config> {
        vec![self.config; self.config.replicas]
    }

    fn routing(&self) -> Routing {
        Routing::Leader
    }

    /// Election safety and state machine safety, after every event
    /// ([`RaftRsInvariants`]).
    fn invariants(&self) -> Option<Box<dyn Invariants<RaftRsReplica>>> {
        Some(Box::new(RaftRsInvariants::new()))
    }
}
