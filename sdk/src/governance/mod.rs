//! On-chain governance's committee and its decision rule, pure (no state access; the node's system contracts keep
//! the state and carry out passed proposals, and clients can use the same rule to explain a tally): who may propose and vote, when a proposal passes, is denied or expires.
//!
//! Governors hold weights. A proposal stays open while the weight that voted is below `participation %` of all
//! weight; once it reaches that, it passes if the weight that agreed is at least `win %` of the weight that voted,
//! and is denied otherwise (final either way). Votes are weighed with the committee as it is when counted, so a
//! change to the committee applies to open proposals (a removed governor's vote no longer counts). Proposing casts
//! the proposer's agreeing vote. Expiry is checked on every vote and before execution, never lazily.
//!
//! Governors may always send transactions, whatever the send policy: an allowlist can never lock the committee out
//! of the chain it governs.

use std::collections::BTreeMap;

use alloy_primitives::Address;
use alloy_rlp::{Decodable, RlpDecodable, RlpEncodable};
use serde::{Deserialize, Serialize};

pub mod action;
pub mod record;

pub use action::{Action, KINDS, Param, Policy};
pub use record::*;

/// The committee, as the genesis names it (`committee` in `genesis.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Committee {
    /// Governors and their weights.
    pub governors: BTreeMap<Address, u64>,
    /// Percentage of all weight that must vote before a proposal is decided (1–100).
    #[serde(rename = "participationThreshold")]
    pub participation_pct: u8,
    /// Percentage of the voted weight that must agree for a proposal to pass (1–100).
    #[serde(rename = "winThreshold")]
    pub win_pct: u8,
    /// Blocks a proposal stays open.
    #[serde(rename = "proposalLifetime")]
    pub lifetime_blocks: u64,
}

/// Why a committee or an action on a proposal is refused. The messages are the revert reasons callers see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GovernanceError {
    /// Only governors propose and vote.
    #[error("{0} is not a governor")]
    NotGovernor(Address),
    /// The proposal was decided, revoked or expired.
    #[error("proposal {id} is {status}, not open")]
    NotOpen {
        /// Proposal.
        id: u64,
        /// Its status.
        status: ProposalStatus,
    },
    /// Its lifetime ran out (it is now marked expired).
    #[error("proposal {0} expired")]
    Expired(u64),
    /// Each governor votes once.
    #[error("{voter} already voted on proposal {id}")]
    AlreadyVoted {
        /// Proposal.
        id: u64,
        /// Voter.
        voter: Address,
    },
    /// Only the proposer may revoke.
    #[error("only the proposer {0} may revoke this proposal")]
    NotProposer(Address),
    /// A committee rule is broken.
    #[error("invalid committee: {0}")]
    InvalidCommittee(String),
    /// The proposal is malformed, or what it proposes is not allowed now (the message says which rule).
    #[error("{0}")]
    Refused(String),
}

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProposalStatus {
    /// Collecting votes.
    Open,
    /// Passed (and executed in the deciding vote's transaction).
    Passed,
    /// Denied: enough weight voted, too little agreed.
    Denied,
    /// Withdrawn by its proposer.
    Revoked,
    /// Its lifetime ran out before a decision.
    Expired,
}

impl ProposalStatus {
    /// The word the CLI and RPC use.
    pub fn word(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Passed => "passed",
            Self::Denied => "denied",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

impl std::fmt::Display for ProposalStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// Weight that voted and weight that agreed, counted with the current committee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Weight of the governors that voted.
    pub voted: u64,
    /// Weight of those that agreed.
    pub agreed: u64,
    /// All governors' weight.
    pub total: u64,
}

impl Committee {
    /// Checks the rules every committee keeps: at least one governor, weights above zero, thresholds 1–100, a
    /// lifetime of at least one block.
    pub fn validate(&self) -> Result<(), GovernanceError> {
        let bad = |m: &str| Err(GovernanceError::InvalidCommittee(m.to_string()));
        if self.governors.is_empty() {
            return bad("at least one governor");
        }
        if self.governors.values().any(|w| *w == 0) {
            return bad("governor weights must be positive");
        }
        if self.governors.values().try_fold(0u64, |a, w| a.checked_add(*w)).is_none() {
            return bad("total weight overflows");
        }
        if !(1..=100).contains(&self.participation_pct) || !(1..=100).contains(&self.win_pct) {
            return bad("thresholds are percentages from 1 to 100");
        }
        if self.lifetime_blocks == 0 {
            return bad("proposals must live at least one block");
        }
        Ok(())
    }

    /// True when `a` is a governor.
    pub fn is_governor(&self, a: &Address) -> bool {
        self.governors.contains_key(a)
    }

    /// Counts `votes` (true = agree) with the current weights; votes of former governors count for nothing.
    pub fn tally(&self, votes: &BTreeMap<Address, bool>) -> Tally {
        let mut t = Tally { voted: 0, agreed: 0, total: self.governors.values().sum() };
        for (voter, agree) in votes {
            if let Some(w) = self.governors.get(voter) {
                t.voted += w;
                if *agree {
                    t.agreed += w;
                }
            }
        }
        t
    }

    /// What `votes` decide now: still open, passed or denied.
    pub fn decide(&self, votes: &BTreeMap<Address, bool>) -> ProposalStatus {
        let t = self.tally(votes);
        // In u128: weights are u64 and percentages up to 100.
        if u128::from(t.voted) * 100 < u128::from(t.total) * u128::from(self.participation_pct) || t.voted == 0 {
            ProposalStatus::Open
        } else if u128::from(t.agreed) * 100 >= u128::from(t.voted) * u128::from(self.win_pct) {
            ProposalStatus::Passed
        } else {
            ProposalStatus::Denied
        }
    }
}

/// A proposal's voting record (what it proposes is kept beside it by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ballot {
    /// Proposal id.
    pub id: u64,
    /// Who proposed it.
    pub proposer: Address,
    /// Height of the block that created it.
    pub created: u64,
    /// First height at which it can no longer be voted on or executed.
    pub expires: u64,
    /// Votes so far (true = agree).
    pub votes: BTreeMap<Address, bool>,
    /// Where it stands.
    pub status: ProposalStatus,
}

impl Ballot {
    /// A new proposal by `proposer` in the block at `height`, with the proposer's agreeing vote counted: it may be
    /// decided at once (a committee of one).
    pub fn open(committee: &Committee, id: u64, proposer: Address, height: u64) -> Result<Self, GovernanceError> {
        if !committee.is_governor(&proposer) {
            return Err(GovernanceError::NotGovernor(proposer));
        }
        let mut b = Self {
            id,
            proposer,
            created: height,
            expires: height.saturating_add(committee.lifetime_blocks),
            votes: BTreeMap::from([(proposer, true)]),
            status: ProposalStatus::Open,
        };
        b.status = committee.decide(&b.votes);
        Ok(b)
    }

    /// Marks the proposal expired if its lifetime ran out by `height`; true when it is (still) open.
    pub fn check_expiry(&mut self, height: u64) -> bool {
        if self.status == ProposalStatus::Open && height >= self.expires {
            self.status = ProposalStatus::Expired;
        }
        self.status == ProposalStatus::Open
    }

    /// `voter`'s vote in the block at `height`; returns the status after it (a pass is to be executed now).
    pub fn vote(
        &mut self,
        committee: &Committee,
        voter: Address,
        agree: bool,
        height: u64,
    ) -> Result<ProposalStatus, GovernanceError> {
        self.ensure_open(height)?;
        if !committee.is_governor(&voter) {
            return Err(GovernanceError::NotGovernor(voter));
        }
        if self.votes.contains_key(&voter) {
            return Err(GovernanceError::AlreadyVoted { id: self.id, voter });
        }
        self.votes.insert(voter, agree);
        self.status = committee.decide(&self.votes);
        Ok(self.status)
    }

    /// The proposer withdraws it while open.
    pub fn revoke(&mut self, by: Address, height: u64) -> Result<(), GovernanceError> {
        self.ensure_open(height)?;
        if by != self.proposer {
            return Err(GovernanceError::NotProposer(self.proposer));
        }
        self.status = ProposalStatus::Revoked;
        Ok(())
    }

    fn ensure_open(&mut self, height: u64) -> Result<(), GovernanceError> {
        let was_open = self.status == ProposalStatus::Open;
        if self.check_expiry(height) {
            return Ok(());
        }
        if was_open {
            return Err(GovernanceError::Expired(self.id));
        }
        Err(GovernanceError::NotOpen { id: self.id, status: self.status })
    }
}

#[derive(RlpEncodable, RlpDecodable)]
struct CommitteeRecord {
    governors: Vec<GovernorRecord>,
    participation_pct: u8,
    win_pct: u8,
    lifetime_blocks: u64,
}

#[derive(RlpEncodable, RlpDecodable)]
struct GovernorRecord {
    address: Address,
    weight: u64,
}

impl Committee {
    /// The committee's canonical bytes (RLP: governors by address, then the thresholds and the lifetime), as kept
    /// in state.
    pub fn encode(&self) -> Vec<u8> {
        let record = CommitteeRecord {
            governors: self.governors.iter().map(|(a, w)| GovernorRecord { address: *a, weight: *w }).collect(),
            participation_pct: self.participation_pct,
            win_pct: self.win_pct,
            lifetime_blocks: self.lifetime_blocks,
        };
        alloy_rlp::encode(&record)
    }

    /// Reads [`Self::encode`]'s bytes.
    pub fn decode(mut bytes: &[u8]) -> Option<Self> {
        let r = CommitteeRecord::decode(&mut bytes).ok()?;
        if !bytes.is_empty() {
            return None;
        }
        Some(Self {
            governors: r.governors.into_iter().map(|g| (g.address, g.weight)).collect(),
            participation_pct: r.participation_pct,
            win_pct: r.win_pct,
            lifetime_blocks: r.lifetime_blocks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{B256, U256};

    const A: Address = Address::repeat_byte(0xa);
    const B: Address = Address::repeat_byte(0xb);
    const C: Address = Address::repeat_byte(0xc);
    const OUTSIDER: Address = Address::repeat_byte(0xee);

    fn committee(weights: &[(Address, u64)], participation_pct: u8, win_pct: u8) -> Committee {
        Committee { governors: weights.iter().copied().collect(), participation_pct, win_pct, lifetime_blocks: 10 }
    }

    #[test]
    fn the_testnet_committee_passes_with_two_of_three_and_denies_with_two_against() {
        let c = committee(&[(A, 1), (B, 1), (C, 1)], 50, 50);
        c.validate().expect("valid");
        let mut p = Ballot::open(&c, 1, A, 5).expect("a governor proposes");
        assert_eq!(p.status, ProposalStatus::Open, "1 of 3 voted: below 50 % participation");
        assert_eq!(p.vote(&c, B, true, 6), Ok(ProposalStatus::Passed));

        let mut q = Ballot::open(&c, 2, A, 5).expect("proposes");
        assert_eq!(q.vote(&c, B, false, 6), Ok(ProposalStatus::Passed), "1 of 2 agreeing is 50 %: passes");
        let strict = committee(&[(A, 1), (B, 1), (C, 1)], 50, 51);
        let mut r = Ballot::open(&strict, 3, A, 5).expect("proposes");
        assert_eq!(r.vote(&strict, B, false, 6), Ok(ProposalStatus::Denied));
        assert_eq!(
            r.vote(&strict, C, true, 6),
            Err(GovernanceError::NotOpen { id: 3, status: ProposalStatus::Denied }),
            "denied is final"
        );
    }

    #[test]
    fn below_participation_nothing_is_decided_and_weights_count() {
        let c = committee(&[(A, 1), (B, 1), (C, 8)], 60, 50);
        let mut p = Ballot::open(&c, 1, A, 0).expect("proposes");
        assert_eq!(p.vote(&c, B, true, 1), Ok(ProposalStatus::Open), "2 of 10 weight voted");
        assert_eq!(p.vote(&c, C, false, 2), Ok(ProposalStatus::Denied), "C's 8 of 10 outweigh A and B");
        let lone = committee(&[(A, 1)], 100, 100);
        assert_eq!(Ballot::open(&lone, 1, A, 0).expect("proposes").status, ProposalStatus::Passed);
    }

    #[test]
    fn outsiders_second_votes_revocations_and_expiry_are_refused() {
        let c = committee(&[(A, 1), (B, 1), (C, 1)], 100, 50);
        assert_eq!(Ballot::open(&c, 1, OUTSIDER, 0), Err(GovernanceError::NotGovernor(OUTSIDER)));
        let mut p = Ballot::open(&c, 1, A, 0).expect("proposes");
        assert_eq!(p.vote(&c, OUTSIDER, true, 1), Err(GovernanceError::NotGovernor(OUTSIDER)));
        assert_eq!(p.vote(&c, A, true, 1), Err(GovernanceError::AlreadyVoted { id: 1, voter: A }));
        assert_eq!(p.revoke(B, 1), Err(GovernanceError::NotProposer(A)));
        p.revoke(A, 1).expect("the proposer revokes");
        assert_eq!(p.vote(&c, B, true, 2), Err(GovernanceError::NotOpen { id: 1, status: ProposalStatus::Revoked }));

        let mut q = Ballot::open(&c, 2, A, 0).expect("proposes");
        assert!(q.check_expiry(9), "open through height 9 (lifetime 10)");
        assert_eq!(q.vote(&c, B, true, 10), Err(GovernanceError::Expired(2)), "expiry is checked on the vote");
        assert_eq!(q.status, ProposalStatus::Expired);
        assert!(!q.check_expiry(11), "and stays expired");
    }

    #[test]
    fn committee_changes_apply_to_open_proposals() {
        let before = committee(&[(A, 1), (B, 1), (C, 1)], 100, 50);
        let mut p = Ballot::open(&before, 1, A, 0).expect("proposes");
        p.vote(&before, B, false, 1).expect("votes");
        // C is removed while the proposal is open: A's and B's votes now are all the participation there is.
        let after = committee(&[(A, 1), (B, 1)], 100, 50);
        assert_eq!(after.decide(&p.votes), ProposalStatus::Passed, "1 of 2 agreeing meets 50 %");
        // A former governor's vote counts for nothing.
        let without_a = committee(&[(B, 1), (C, 1)], 50, 50);
        assert_eq!(without_a.tally(&p.votes), Tally { voted: 1, agreed: 0, total: 2 });
    }

    #[test]
    fn committees_that_cannot_work_are_refused() {
        assert!(committee(&[], 50, 50).validate().is_err());
        assert!(committee(&[(A, 0)], 50, 50).validate().is_err());
        assert!(committee(&[(A, 1)], 0, 50).validate().is_err());
        assert!(committee(&[(A, 1)], 50, 101).validate().is_err());
        assert!(committee(&[(A, u64::MAX), (B, 1)], 50, 50).validate().is_err());
        let mut no_life = committee(&[(A, 1)], 50, 50);
        no_life.lifetime_blocks = 0;
        assert!(no_life.validate().is_err());
    }

    #[test]
    fn committees_round_trip_through_their_state_record() {
        let c = committee(&[(A, 1), (B, 7)], 60, 51);
        assert_eq!(Committee::decode(&c.encode()), Some(c.clone()));
        let mut trailing = c.encode();
        trailing.push(0);
        assert_eq!(Committee::decode(&trailing), None);
        let slots = record_slots(COMMITTEE_TAG, &c.encode());
        assert_eq!(slots[0], (record_length_slot(COMMITTEE_TAG), B256::from(U256::from(c.encode().len()))));
        assert_eq!(slots.len(), 1 + c.encode().len().div_ceil(32));
        assert_eq!(COMMITTEE_ADDRESS, "0x0000000000000000000000000000000000001000".parse::<Address>().expect("a"));
    }
}
