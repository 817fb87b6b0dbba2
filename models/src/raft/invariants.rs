//! Raft's safety properties (the Raft paper, Figure 3), checked across replicas after
//! every event of a run: the runner does it in every run and sweep
//! ([`crate::Model::invariants`]), and so do the Raft model tests.
//!
//! - **Election safety**: at most one leader per term.
//! - **Log matching**: if two logs hold an entry with the same index and term, the logs
//!   are identical up to it. Checked as a property of one map, kept across replicas
//!   and time: an (index, term) names one command and one term before it, whoever holds
//!   it; each replica's log is checked as it grows.
//! - **Leader completeness**: a leader holds every entry committed in an earlier term;
//!   checked when a replica first leads in a term. An entry's term of commitment is
//!   that of the first replica seen to have it committed (its leader, which the
//!   check after every event sees first). A replica may win a term's election late,
//!   its votes held up until a later term has committed more: such a stale leader
//!   need not hold what was committed since, and cannot commit anything itself.
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
    /// Per committed entry, the term in which it was first seen committed.
    committed_in: Vec<Term>,
    /// Per replica: how much of its committed prefix was checked.
    verified: Vec<Index>,
    /// (index, term) → (command, the term of the entry before it).
    entries: BTreeMap<(Index, Term), (Command, Term)>,
    /// Per replica: how much of its log was checked, and the term of its last entry.
    matched: Vec<(usize, Term)>,
    /// The (replica, term)s checked for leader completeness.
    led: BTreeSet<(NodeId, Term)>,
    /// Per replica: the last term it was seen to lead (first and alone, its leader
    /// completeness checked), so that a leader's every event costs no map lookups.
    last_led: Vec<Option<Term>>,
}

impl RaftInvariants {
    /// Checks for a fresh run.
    pub fn new() -> RaftInvariants {
        RaftInvariants::default()
    }

    fn election_safety(&mut self, id: NodeId, r: &RaftReplica) -> Result<(), String> {
        if r.role() != Role::Leader || self.last_led[id.index()] == Some(r.term()) {
            return Ok(());
        }
        let first = *self.leaders.entry(r.term()).or_insert(id);
        if first != id {
            return Err(format!(
                "election safety: two leaders in term {}: {first} and {id}",
                r.term()
            ));
        }
        self.last_led[id.index()] = Some(r.term());
        if self.led.insert((id, r.term())) {
            return self.leader_completeness(id, r);
        }
        Ok(())
    }

    fn leader_completeness(&self, id: NodeId, r: &RaftReplica) -> Result<(), String> {
        let log = r.log();
        let earlier = self
            .committed_in
            .iter()
            .take_while(|&&term| term < r.term());
        for ((i, entry), _) in self.committed.iter().enumerate().zip(earlier) {
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
        if checked == log.len() && log.last().map_or(0, |e| e.term) == last_term {
            // The same length and last term as when last checked (most events).
            return Ok(());
        }
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
        let (commit, log) = (r.commit_index(), r.log());
        if commit as usize > log.len() {
            return Err(format!(
                "state machine safety: {id} committed up to index {commit}, past the end of its log ({} entries)",
                log.len()
            ));
        }
        let verified = &mut self.verified[id.index()];
        // A commit index that went back (a restart) means the prefix is checked again;
        // so does a last checked entry that changed: Raft changes a log only by
        // truncating a suffix and appending, so a committed entry overwritten shows
        // there.
        *verified = (*verified).min(commit);
        let last = (*verified as usize).checked_sub(1);
        if last.is_some_and(|i| self.committed.get(i) != log.get(i)) {
            *verified = 0;
        }
        for index in *verified..commit {
            let entry = log[index as usize];
            match self.committed.get(index as usize) {
                Some(known) if *known != entry => {
                    return Err(format!(
                        "state machine safety: {id} committed {entry:?} at index {}, where {known:?} was committed",
                        index + 1
                    ));
                }
                Some(_) => {}
                None => {
                    self.committed.push(entry);
                    self.committed_in.push(r.term());
                }
            }
        }
        *verified = commit;
        Ok(())
    }
}

impl RaftInvariants {
    /// Checks one replica against what the others showed so far.
    fn check_one(
        &mut self,
        now: Time,
        id: NodeId,
        replica: Option<&RaftReplica>,
    ) -> Result<(), String> {
        let Some(r) = replica else {
            // Down: its volatile state is gone; its log is checked again from what it
            // committed, when it is back.
            self.verified[id.index()] = 0;
            return Ok(());
        };
        self.state_machine_safety(id, r)
            .and_then(|()| self.log_matching(id, r))
            .and_then(|()| self.election_safety(id, r))
            .map_err(|e| format!("{e} (at {now})"))
    }

    fn fit(&mut self, replicas: usize) {
        if self.verified.len() < replicas {
            self.verified.resize(replicas, 0);
            self.matched.resize(replicas, (0, 0));
            self.last_led.resize(replicas, None);
        }
    }
}

/// Every property is about each replica's state against what every replica showed
/// before: a replica that did not change has nothing new to show, so a run checks
/// only the replicas an event changed (the same verdicts, at the same moments, as
/// checking all of them).
impl Invariants<RaftReplica> for RaftInvariants {
    fn check(&mut self, now: Time, replicas: &[Option<&RaftReplica>]) -> Result<(), String> {
        self.fit(replicas.len());
        for (i, &replica) in replicas.iter().enumerate() {
            self.check_one(now, NodeId(i as u32), replica)?;
        }
        Ok(())
    }

    fn check_changed(
        &mut self,
        now: Time,
        replicas: &[Option<&RaftReplica>],
        changed: &[NodeId],
    ) -> Result<(), String> {
        self.fit(replicas.len());
        for &id in changed {
            self.check_one(now, id, replicas[id.index()])?;
        }
        Ok(())
    }

    fn after_every_event(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    //! Each invariant, tripped by a violation planted in the replicas' state, and
    //! quiet on the same states without it.

    use std::collections::BTreeMap;

    use sim_core::{Duration, NodeId, Time};

    use super::RaftInvariants;
    use crate::Invariants;
    use crate::client::{Dedup, RequestId};
    use crate::kv::{Request, Store};
    use crate::raft::{Command, Config, Entry, Index, RaftReplica, Role, Term};

    /// A write of `value` to key 0, by client 9's request `value`.
    fn write(value: u64) -> Command {
        Command::Client {
            id: RequestId {
                client: NodeId(9),
                seq: value,
            },
            request: Request::Write { key: 0, value },
        }
    }

    /// A replica in `term` and `role` whose log holds `log` ((term, written value)
    /// per entry, from index 1) committed up to `commit`.
    fn replica(term: Term, role: Role, log: &[(Term, u64)], commit: Index) -> RaftReplica {
        RaftReplica {
            config: Config {
                replicas: 3,
                election: Duration::from_millis(300),
                heartbeat: Duration::from_millis(50),
                lease: None,
                check_quorum: false,
                pre_vote: false,
                bug: None,
            },
            me: NodeId(0),
            term,
            voted_for: None,
            log: log
                .iter()
                .map(|&(term, value)| Entry {
                    term,
                    command: write(value),
                })
                .collect(),
            role,
            leader_hint: None,
            commit,
            store: Store::default(),
            dedup: Dedup::default(),
            in_contact: false,
            epoch: 0,
            votes: Vec::new(),
            pre_votes: None,
            leader: None,
            waiting: BTreeMap::new(),
            unrouted: Vec::new(),
            holds: 0,
        }
    }

    /// Checks `states` in turn (each the replicas after one event) and returns the
    /// first broken invariant.
    fn check(states: &[Vec<RaftReplica>]) -> Result<(), String> {
        let mut invariants = RaftInvariants::new();
        for (i, replicas) in states.iter().enumerate() {
            let view: Vec<Option<&RaftReplica>> = replicas.iter().map(Some).collect();
            invariants.check(Time::ZERO + Duration::from_millis(i as u64), &view)?;
        }
        Ok(())
    }

    fn broken(states: &[Vec<RaftReplica>], invariant: &str) {
        match check(states) {
            Err(e) => assert!(e.starts_with(invariant), "{invariant}: tripped {e}"),
            Ok(()) => panic!("{invariant}: not tripped"),
        }
    }

    use Role::{Follower, Leader};

    #[test]
    fn election_safety_trips_on_two_leaders_in_one_term() {
        let one = vec![replica(2, Leader, &[], 0), replica(2, Follower, &[], 0)];
        assert_eq!(check(&[one]), Ok(()));
        let two = vec![replica(2, Leader, &[], 0), replica(2, Leader, &[], 0)];
        broken(&[two], "election safety");
        // Leaders of different terms at once are allowed (a deposed one lags).
        let lagging = vec![replica(2, Leader, &[], 0), replica(3, Leader, &[], 0)];
        assert_eq!(check(&[lagging]), Ok(()));
    }

    #[test]
    fn log_matching_trips_on_one_index_and_term_with_two_commands() {
        let agree = vec![
            replica(1, Follower, &[(1, 10)], 0),
            replica(1, Follower, &[(1, 10)], 0),
        ];
        assert_eq!(check(&[agree]), Ok(()));
        let differ = vec![
            replica(1, Follower, &[(1, 10)], 0),
            replica(1, Follower, &[(1, 11)], 0),
        ];
        broken(&[differ], "log matching");
        // The same entry after different histories breaks it too.
        let histories = vec![
            replica(2, Follower, &[(1, 10), (2, 20)], 0),
            replica(2, Follower, &[(2, 10), (2, 20)], 0),
        ];
        broken(&[histories], "log matching");
    }

    #[test]
    fn leader_completeness_trips_on_a_leader_without_a_committed_entry() {
        let committed = || {
            vec![
                replica(1, Follower, &[(1, 10)], 1),
                replica(1, Follower, &[], 0),
            ]
        };
        let complete = vec![
            replica(2, Leader, &[(1, 10)], 1),
            replica(2, Follower, &[], 0),
        ];
        assert_eq!(check(&[committed(), complete]), Ok(()));
        let incomplete = vec![
            replica(1, Follower, &[(1, 10)], 1),
            replica(2, Leader, &[], 0),
        ];
        broken(&[committed(), incomplete], "leader completeness");
    }

    /// A replica that wins term 2's election late, after term 3 committed an entry it
    /// lacks, breaks nothing: only what was committed before term 2 must be in its log.
    #[test]
    fn a_stale_leader_need_not_hold_what_a_later_term_committed() {
        let committed_in_3 = vec![
            replica(3, Leader, &[(3, 10)], 1),
            replica(2, Follower, &[], 0),
        ];
        let stale = vec![
            replica(3, Leader, &[(3, 10)], 1),
            replica(2, Leader, &[], 0),
        ];
        assert_eq!(check(&[committed_in_3, stale]), Ok(()));
        // The near miss: the entry committed in term 1, before the stale term.
        let committed_in_1 = vec![
            replica(1, Leader, &[(1, 10)], 1),
            replica(1, Follower, &[], 0),
        ];
        let stale = vec![
            replica(3, Follower, &[(1, 10)], 1),
            replica(2, Leader, &[], 0),
        ];
        broken(&[committed_in_1, stale], "leader completeness");
    }

    #[test]
    fn state_machine_safety_trips_on_two_commands_committed_at_one_index() {
        let first = || vec![replica(1, Follower, &[(1, 10)], 1)];
        let same = vec![replica(2, Follower, &[(1, 10), (2, 20)], 2)];
        assert_eq!(check(&[first(), same]), Ok(()));
        // The entry at index 1 replaced after it was committed (a log matching check
        // sees it as a new term's entry, so only the committed prefix catches it).
        let replaced = vec![replica(2, Follower, &[(2, 11)], 1)];
        broken(&[first(), replaced], "state machine safety");
        // A commit index past the end of the log is reported, not a panic.
        let beyond = vec![replica(1, Follower, &[(1, 10)], 2)];
        broken(&[beyond], "state machine safety");
    }
}
