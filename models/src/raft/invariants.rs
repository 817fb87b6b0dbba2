//! Raft's safety properties (the Raft paper, Figure 3), checked across replicas after
//! every event of a run: the runner does it in every run and sweep
//! ([`crate::Model::invariants`]), and so do the Raft model tests.
//!
//! - **Election safety**: at most one leader per term.
//! - **Log matching**: if two logs hold an entry with the same index and term, the logs
//!   are identical up to it. Checked as a property of one map, kept across replicas
//!   and time: an (index, term) names one command and one term before it, whoever holds
//!   it; each replica's log is checked as it grows.
//! - **Leader completeness**: a leader holds every entry committed before its term;
//!   checked when a replica first leads in a term.
//! - **State machine safety**: no two replicas commit different entries at one index:
//!   every committed prefix agrees with the longest one seen so far.
//!
//! Each check costs the entries that changed since the last event plus a constant per
//! replica, so it stays on in every run.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{NodeId, Time};

use super::{Command, Entry, Index, RaftReplica, Role, Term};
use crate::Invariants;

/// The state of the checks: what was committed, who led each term, and which
/// (index, term) holds what.
#[derive(Debug, Default)]
pub struct RaftInvariants {
    /// The leader of each term.
    leaders: BTreeMap<Term, NodeId>,
    /// The longest committed log seen.
    committed: Vec<Entry>,
    /// Per replica: how much of its committed prefix was checked.
    verified: Vec<Index>,
    /// (index, term) → (command, the term of the entry before it).
    entries: BTreeMap<(Index, Term), (Command, Term)>,
    /// Per replica: how much of its log was checked, and the term of its last entry.
    matched: Vec<(usize, Term)>,
    /// The (replica, term)s checked for leader completeness.
    led: BTreeSet<(NodeId, Term)>,
}

impl RaftInvariants {
    /// Checks for a fresh run.
    pub fn new() -> RaftInvariants {
        RaftInvariants::default()
    }

    fn election_safety(&mut self, id: NodeId, r: &RaftReplica) -> Result<(), String> {
        if r.role() != Role::Leader {
            return Ok(());
        }
        let first = *self.leaders.entry(r.term()).or_insert(id);
        if first != id {
            return Err(format!(
                "election safety: two leaders in term {}: {first} and {id}",
                r.term()
            ));
        }
        if self.led.insert((id, r.term())) {
            return self.leader_completeness(id, r);
        }
        Ok(())
    }

    fn leader_completeness(&self, id: NodeId, r: &RaftReplica) -> Result<(), String> {
        let log = r.log();
        for (i, entry) in self.committed.iter().enumerate() {
            if log.get(i) != Some(entry) {
                return Err(format!(
                    "leader completeness: {id} leads term {} without the entry committed at index {} ({entry:?}); it holds {:?}",
                    r.term(),
                    i + 1,
                    log.get(i)
                ));
            }
        }
        Ok(())
    }

    fn log_matching(&mut self, id: NodeId, r: &RaftReplica) -> Result<(), String> {
        let log = r.log();
        let (mut checked, last_term) = self.matched[id.index()];
        let changed = checked > log.len() || (checked > 0 && log[checked - 1].term != last_term);
        if changed {
            // Entries past the commit index may have been replaced: check them again.
            checked = checked.min(log.len()).min(r.commit_index() as usize);
        }
        for i in checked..log.len() {
            let entry = log[i];
            let before = if i == 0 { 0 } else { log[i - 1].term };
            let key = (i as Index + 1, entry.term);
            let held = *self.entries.entry(key).or_insert((entry.command, before));
            if held != (entry.command, before) {
                return Err(format!(
                    "log matching: {id} holds {:?} after term {before} at index {} of term {}, where another replica held {:?} after term {}",
                    entry.command, key.0, key.1, held.0, held.1
                ));
            }
        }
        self.matched[id.index()] = (log.len(), log.last().map_or(0, |e| e.term));
        Ok(())
    }

    fn state_machine_safety(&mut self, id: NodeId, r: &RaftReplica) -> Result<(), String> {
        let commit = r.commit_index();
        let verified = &mut self.verified[id.index()];
        // A commit index that went back (a restart) means the prefix is checked again.
        *verified = (*verified).min(commit);
        for index in *verified..commit {
            let entry = r.log()[index as usize];
            match self.committed.get(index as usize) {
                Some(known) if *known != entry => {
                    return Err(format!(
                        "state machine safety: {id} committed {entry:?} at index {}, where {known:?} was committed",
                        index + 1
                    ));
                }
                Some(_) => {}
                None => self.committed.push(entry),
            }
        }
        *verified = commit;
        Ok(())
    }
}

impl Invariants<RaftReplica> for RaftInvariants {
    fn check(&mut self, now: Time, replicas: &[Option<&RaftReplica>]) -> Result<(), String> {
        if self.verified.len() < replicas.len() {
            self.verified.resize(replicas.len(), 0);
            self.matched.resize(replicas.len(), (0, 0));
        }
        for (i, replica) in replicas.iter().enumerate() {
            let id = NodeId(i as u32);
            let Some(r) = replica else {
                // Down: its volatile state is gone; its log is checked again from
                // what it committed, when it is back.
                self.verified[i] = 0;
                continue;
            };
            self.state_machine_safety(id, r)
                .and_then(|()| self.log_matching(id, r))
                .and_then(|()| self.election_safety(id, r))
                .map_err(|e| format!("{e} (at {now})"))?;
        }
        Ok(())
    }
}
