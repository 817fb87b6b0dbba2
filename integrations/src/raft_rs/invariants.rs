//! Raft's safety properties across the replicas, checked after every event of a run
//! ([`consim::models::Model::invariants`]):
//!
//! - **Election safety**: at most one replica leads each term.
//! - **State machine safety**: no two replicas apply different entries at one index:
//!   every replica's applied prefix agrees with the longest one seen so far.
//!
//! These see what the clients' histories may not: a double vote lost in a crash can
//! elect two leaders in one term long before any client reads the difference.

use std::collections::BTreeMap;

use consim::models::Invariants;
use consim::sim_core::{NodeId, Time};
use raft::eraftpb::Entry;

use crate::raft_rs::replica::RaftRsReplica;

/// What the checks remember: who led each term, and what was applied where.
#[derive(Debug, Default)]
pub struct RaftRsInvariants {
    /// The leader of each term.
    leaders: BTreeMap<u64, NodeId>,
    /// The longest applied log seen: entry `i` at position `i - 1`.
    applied: Vec<Entry>,
    /// Per replica: how much of its applied prefix was checked.
    verified: Vec<u64>,
}

impl RaftRsInvariants {
    /// Checks for a fresh run.
    pub fn new() -> RaftRsInvariants {
        RaftRsInvariants::default()
    }

    fn election_safety(&mut self, id: NodeId, r: &RaftRsReplica) -> Result<(), String> {
        if !consim::models::Replica::leads(r) {
            return Ok(());
        }
        let term = consim::models::Replica::term(r);
        let first = *self.leaders.entry(term).or_insert(id);
        if first == id {
            Ok(())
        } else {
            Err(format!(
                "election safety: two leaders in term {term}: {first} and {id}"
            ))
        }
    }

    fn state_machine_safety(&mut self, id: NodeId, r: &RaftRsReplica) -> Result<(), String> {
        let (applied, log) = (r.applied(), r.log());
        let verified = &mut self.verified[id.index()];
        // Applied state is volatile: after a restart the prefix is checked again. So
        // is it if the last checked entry changed: raft-rs changes a log only by
        // replacing a suffix, so an applied entry overwritten shows there.
        *verified = (*verified).min(applied);
        let last = (*verified as usize).checked_sub(1);
        if last.is_some_and(|i| !same(self.applied.get(i), log.get(i))) {
            *verified = 0;
        }
        for position in *verified as usize..applied as usize {
            let Some(entry) = log.get(position) else {
                return Err(format!(
                    "state machine safety: {id} applied index {} beyond its log of {} entries",
                    position + 1,
                    log.len()
                ));
            };
            match self.applied.get(position) {
                Some(known) if !same(Some(known), Some(entry)) => {
                    return Err(format!(
                        "state machine safety: {id} applied {} at index {}, where {} was applied",
                        describe(entry),
                        position + 1,
                        describe(known)
                    ));
                }
                Some(_) => {}
                None => self.applied.push(entry.clone()),
            }
        }
        *verified = applied;
        Ok(())
    }
}

/// Whether two entries are the same entry: the same term and the same command.
fn same(a: Option<&Entry>, b: Option<&Entry>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.term == b.term && a.data == b.data,
        (None, None) => true,
        _ => false,
    }
}

/// An entry in words: its term and its command.
fn describe(entry: &Entry) -> String {
    match crate::raft_rs::codec::decode(&entry.data) {
        Ok(command) => format!("{command:?} of term {}", entry.term),
        Err(_) => format!("an empty entry of term {}", entry.term),
    }
}

impl RaftRsInvariants {
    fn check_one(&mut self, id: NodeId, replica: Option<&RaftRsReplica>) -> Result<(), String> {
        if self.verified.len() <= id.index() {
            self.verified.resize(id.index() + 1, 0);
        }
        match replica {
            Some(r) => {
                self.election_safety(id, r)?;
                self.state_machine_safety(id, r)
            }
            None => {
                self.verified[id.index()] = 0; // Down: re-applies from scratch.
                Ok(())
            }
        }
    }
}

/// Both properties are about each replica's state against what every replica showed
/// before, so a run checks only the replicas an event changed.
impl Invariants<RaftRsReplica> for RaftRsInvariants {
    fn check(&mut self, _now: Time, replicas: &[Option<&RaftRsReplica>]) -> Result<(), String> {
        for (i, &replica) in replicas.iter().enumerate() {
            let id = NodeId(u32::try_from(i).expect("fewer than 2^32 replicas"));
            self.check_one(id, replica)?;
        }
        Ok(())
    }

    fn check_changed(
        &mut self,
        _now: Time,
        replicas: &[Option<&RaftRsReplica>],
        changed: &[NodeId],
    ) -> Result<(), String> {
        for &id in changed {
            self.check_one(id, replicas[id.index()])?;
        }
        Ok(())
    }

    fn after_every_event(&self) -> bool {
        false
    }
}
