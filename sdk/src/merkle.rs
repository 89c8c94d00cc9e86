//! A binary Merkle tree over an ordered list (RFC 6962 shape) with inclusion proofs.
//!
//! Used for the transactions and receipts roots of a header. Leaves and inner nodes are hashed with distinct
//! prefixes, so an inner node can never be passed off as a leaf (second-preimage safety), and the split rule (largest
//! power of two below the size) makes the tree shape depend only on the number of leaves.

use alloy_primitives::{B256, keccak256};
use serde::{Deserialize, Serialize};

/// Most leaves a proof may claim (far above any block's transaction count).
pub const MAX_LEAVES: u64 = 1 << 32;

/// Root of an empty list.
pub fn empty_root() -> B256 {
    keccak256([])
}

/// Hash of one leaf's bytes.
pub fn leaf_hash(data: &[u8]) -> B256 {
    let mut buf = Vec::with_capacity(data.len() + 1);
    buf.push(0x00);
    buf.extend_from_slice(data);
    keccak256(buf)
}

fn node_hash(left: &B256, right: &B256) -> B256 {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left.as_slice());
    buf[33..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

fn split(n: usize) -> usize {
    // Largest power of two strictly smaller than n (n >= 2).
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn root_of(leaves: &[B256]) -> B256 {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// Root over already-hashed leaves (see [`leaf_hash`]).
pub fn root_from_leaf_hashes(leaves: &[B256]) -> B256 {
    root_of(leaves)
}

/// Root over raw leaf bytes.
pub fn root<T: AsRef<[u8]>>(items: &[T]) -> B256 {
    let leaves: Vec<B256> = items.iter().map(|i| leaf_hash(i.as_ref())).collect();
    root_of(&leaves)
}

/// Proof that one leaf sits at `index` in a list of `leaf_count` leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerkleProof {
    /// Position of the leaf.
    pub index: u64,
    /// Number of leaves in the list.
    pub leaf_count: u64,
    /// Sibling hashes from the leaf up to the root.
    pub siblings: Vec<B256>,
}

fn path(leaves: &[B256], index: usize, out: &mut Vec<B256>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if index < k {
        path(&leaves[..k], index, out);
        out.push(root_of(&leaves[k..]));
    } else {
        path(&leaves[k..], index - k, out);
        out.push(root_of(&leaves[..k]));
    }
}

impl MerkleProof {
    /// Builds the proof for `index` over raw leaf bytes; `None` if out of range.
    pub fn build<T: AsRef<[u8]>>(items: &[T], index: usize) -> Option<Self> {
        if index >= items.len() {
            return None;
        }
        let leaves: Vec<B256> = items.iter().map(|i| leaf_hash(i.as_ref())).collect();
        let mut siblings = Vec::new();
        path(&leaves, index, &mut siblings);
        Some(Self { index: index as u64, leaf_count: items.len() as u64, siblings })
    }

    /// Recomputes the root from `leaf` bytes and the siblings; `None` if the proof's shape is impossible.
    pub fn compute_root(&self, leaf: &[u8]) -> Option<B256> {
        // Bound the shape before walking it: a hostile node may send any numbers.
        if self.index >= self.leaf_count || self.leaf_count > MAX_LEAVES || self.siblings.len() > 32 {
            return None;
        }
        let mut it = self.siblings.iter().rev();
        let h = Self::fold(leaf_hash(leaf), self.index, self.leaf_count, &mut it)?;
        if it.next().is_some() {
            return None;
        }
        Some(h)
    }

    // Walks from the root down to the leaf's subtree, consuming siblings in root-to-leaf order.
    fn fold<'a>(leaf: B256, index: u64, n: u64, siblings: &mut impl Iterator<Item = &'a B256>) -> Option<B256> {
        if n == 1 {
            return Some(leaf);
        }
        let k = split(n as usize) as u64;
        let sibling = *siblings.next()?;
        if index < k {
            Some(node_hash(&Self::fold(leaf, index, k, siblings)?, &sibling))
        } else {
            Some(node_hash(&sibling, &Self::fold(leaf, index - k, n - k, siblings)?))
        }
    }

    /// True when `leaf` is at this proof's index under `root`.
    pub fn verify(&self, root: &B256, leaf: &[u8]) -> bool {
        self.compute_root(leaf).as_ref() == Some(root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn single_and_empty() {
        assert_eq!(root::<&[u8]>(&[]), empty_root());
        assert_eq!(root(&[b"a"]), leaf_hash(b"a"));
    }

    proptest! {
        #[test]
        fn every_leaf_proves_and_no_other_does(n in 1usize..40, idx in 0usize..40) {
            let items: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; 3]).collect();
            let r = root(&items);
            let idx = idx % n;
            let p = MerkleProof::build(&items, idx).expect("in range");
            prop_assert!(p.verify(&r, &items[idx]));
            prop_assert!(!p.verify(&r, b"forged"));
            let mut wrong = p.clone();
            wrong.index = ((idx + 1) % n) as u64;
            if n > 1 { prop_assert!(!wrong.verify(&r, &items[idx])); }
        }
    }

    #[test]
    fn hostile_shapes_are_refused_not_looped_on() {
        let p = MerkleProof { index: 0, leaf_count: u64::MAX, siblings: vec![B256::ZERO; 64] };
        assert_eq!(p.compute_root(b"x"), None);
        let p = MerkleProof { index: 5, leaf_count: 5, siblings: vec![] };
        assert_eq!(p.compute_root(b"x"), None);
        let p = MerkleProof { index: 0, leaf_count: 4, siblings: vec![B256::ZERO; 3] };
        assert_eq!(p.compute_root(b"x"), None, "too many siblings");
    }

    proptest! {
        #[test]
        fn random_proofs_never_panic(index in any::<u64>(), count in any::<u64>(), n in 0usize..70) {
            let p = MerkleProof { index, leaf_count: count, siblings: vec![B256::repeat_byte(1); n] };
            let _ = p.compute_root(b"leaf");
        }
    }
}
