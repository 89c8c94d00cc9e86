//! Vote keeping for one view: the proposal, the prepares and the commits, one per validator, with equivocation
//! evidence kept when a validator signs two different blocks in the same view and phase.

use std::collections::BTreeMap;

use crate::types::*;

/// Two signed votes of one validator for different blocks in one (height, view, phase): proof of a byzantine
/// validator that anyone can check with its public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equivocation {
    /// "prepare" or "commit".
    pub phase: &'static str,
    /// The vote kept.
    pub first: Signed<Vote>,
    /// The conflicting vote.
    pub second: Signed<Vote>,
}

/// What one view has seen.
#[derive(Debug, Default, Clone)]
pub(crate) struct ViewVotes {
    /// The leader's block and its bytes.
    pub proposal: Option<(BlockId, Vec<u8>)>,
    /// Outcome of executing the proposal.
    pub validated: Option<bool>,
    prepares: BTreeMap<NodeIndex, Signed<Vote>>,
    commits: BTreeMap<NodeIndex, Signed<Vote>>,
}

impl ViewVotes {
    /// Adds a verified vote; the first vote of a signer counts, a conflicting later one is returned as evidence.
    pub fn add(&mut self, vote: Signed<Vote>, commit: bool) -> Option<Equivocation> {
        let book = if commit { &mut self.commits } else { &mut self.prepares };
        match book.get(&vote.signer) {
            None => {
                book.insert(vote.signer, vote);
                None
            }
            Some(first) if first.body.block == vote.body.block => None,
            Some(first) => Some(Equivocation {
                phase: if commit { "commit" } else { "prepare" },
                first: first.clone(),
                second: vote,
            }),
        }
    }

    /// Prepares for `block`.
    pub fn prepares_for(&self, block: BlockId) -> Vec<Signed<Vote>> {
        self.prepares.values().filter(|v| v.body.block == block).cloned().collect()
    }

    /// A block with at least `quorum` commits, and those commits.
    pub fn committed(&self, quorum: usize) -> Option<(BlockId, Vec<Signed<Vote>>)> {
        let mut by_block: BTreeMap<BlockId, Vec<Signed<Vote>>> = BTreeMap::new();
        for c in self.commits.values() {
            by_block.entry(c.body.block).or_default().push(c.clone());
        }
        by_block.into_iter().find(|(_, c)| c.len() >= quorum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(signer: NodeIndex, block: u8) -> Signed<Vote> {
        Signed { signer, body: Vote { height: 1, view: 0, block: BlockId([block; 32]) }, signature: vec![block] }
    }

    #[test]
    fn the_first_vote_counts_and_a_conflicting_one_is_evidence() {
        let mut v = ViewVotes::default();
        assert_eq!(v.add(vote(1, 0xa), false), None);
        assert_eq!(v.add(vote(1, 0xa), false), None, "a duplicate is no equivocation");
        let e = v.add(vote(1, 0xb), false).expect("evidence");
        assert_eq!((e.first.body.block, e.second.body.block), (BlockId([0xa; 32]), BlockId([0xb; 32])));
        assert_eq!(v.prepares_for(BlockId([0xb; 32])).len(), 0, "the conflicting vote does not count");
        assert_eq!(v.add(vote(1, 0xb), true), None, "phases are kept apart");
        assert_eq!(v.committed(1).map(|(b, c)| (b, c.len())), Some((BlockId([0xb; 32]), 1)));
    }
}
