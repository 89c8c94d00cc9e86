//! The Jellyfish Merkle tree over all state, stored in RocksDB.
//!
//! The tree does no I/O of its own: it reads nodes through [`jmt::storage::TreeReader`] (implemented here over
//! [`ChainStore`]) and returns the new nodes and values as a batch, which goes into the block's single WriteBatch.
//! Tree version = block number.

use std::collections::BTreeMap;

use accord_sdk::account::StateKey;
use accord_sdk::proof::{StateHasher, StateProof, state_key_hash};
use accord_sdk::{B256, Bytes};
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, Version};

use super::{StateError, StateView};
use crate::storage::{ChainStore, StateWrites, schema};

/// State access over the node's store.
#[derive(Debug, Clone)]
pub struct StateDb {
    store: ChainStore,
}

struct Reader<'a>(&'a ChainStore);

impl TreeReader for Reader<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let key = borsh::to_vec(node_key)?;
        match self.0.state_node(&key)? {
            None => Ok(None),
            Some(v) => Ok(Some(borsh::from_slice(&v)?)),
        }
    }

    fn get_value_option(&self, max_version: Version, key_hash: KeyHash) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self.0.state_value_at(&key_hash.0, max_version)?.flatten())
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only used by jmt's state-sync restore, which Accord does not use (it syncs blocks).
        anyhow::bail!("rightmost-leaf lookup is not supported by this store")
    }
}

/// The tree store as seen by a snapshot restore: the root before the snapshot's version is the empty tree, so the
/// snapshot's entries build the whole tree at its version, whatever else the store holds.
struct FreshReader<'a> {
    inner: Reader<'a>,
    /// The version whose root reads as empty.
    before: Version,
}

impl TreeReader for FreshReader<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        if node_key.version() == self.before && node_key.nibble_path().num_nibbles() == 0 {
            return Ok(Some(Node::Null));
        }
        self.inner.get_node_option(node_key)
    }

    fn get_value_option(&self, max_version: Version, key_hash: KeyHash) -> anyhow::Result<Option<OwnedValue>> {
        self.inner.get_value_option(max_version, key_hash)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        self.inner.get_rightmost_leaf()
    }
}

/// The latest state, read from the flat column family. Owns a handle to the store, so it can outlive the borrow.
#[derive(Debug, Clone)]
pub struct LatestState(ChainStore);

impl StateView for LatestState {
    fn get(&self, key: &StateKey) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.0.latest_state(&key.to_bytes())?)
    }
}

/// State as of a past block, read from the versioned values.
#[derive(Debug, Clone)]
pub struct HistoricState {
    store: ChainStore,
    version: u64,
}

/// Refuses `version` when its state was pruned: a read there would find the older versions gone and answer wrongly.
fn check_kept(store: &ChainStore, version: u64) -> Result<(), StateError> {
    let kept_from = store.pruned_below();
    if version < kept_from {
        return Err(StateError::Pruned { block: version, kept_from });
    }
    Ok(())
}

impl StateView for HistoricState {
    fn get(&self, key: &StateKey) -> Result<Option<Vec<u8>>, StateError> {
        check_kept(&self.store, self.version)?;
        let kh = state_key_hash(key);
        Ok(self.store.state_value_at(&kh.0, self.version)?.flatten())
    }
}

fn tree_err(e: impl std::fmt::Display) -> StateError {
    StateError::Tree(e.to_string())
}

impl StateDb {
    /// State over `store`.
    pub fn new(store: ChainStore) -> Self {
        Self { store }
    }

    /// Reads at the committed head.
    pub fn latest(&self) -> LatestState {
        LatestState(self.store.clone())
    }

    /// Reads as of block `number`.
    pub fn at(&self, number: u64) -> HistoricState {
        HistoricState { store: self.store.clone(), version: number }
    }

    /// Applies `changes` as tree version `version` (on top of `version - 1`) and returns the new root with the
    /// writes to commit. Nothing is written here.
    pub fn apply(
        &self,
        version: u64,
        changes: &BTreeMap<StateKey, Option<Vec<u8>>>,
    ) -> Result<(B256, StateWrites), StateError> {
        let reader = Reader(&self.store);
        Self::put(&reader, version, changes, true)
    }

    /// The tree at `version` holding exactly `entries` (a snapshot's state), built from the empty tree rather than
    /// on `version - 1`, with the writes that store it (no stale nodes: nothing is replaced). Nothing is written here.
    fn apply_fresh(
        &self,
        version: u64,
        entries: &BTreeMap<StateKey, Option<Vec<u8>>>,
    ) -> Result<(B256, StateWrites), StateError> {
        let before = version.checked_sub(1).ok_or_else(|| tree_err("a fresh tree needs a version above 0"))?;
        let reader = FreshReader { inner: Reader(&self.store), before };
        Self::put(&reader, version, entries, false)
    }

    /// The tree of `entries` at `version`, built in bounded memory and written to the store as it goes: in chunks of
    /// at most `chunk` entries at successive versions ending at `version`, the first on the empty tree, each written
    /// before the next is built (which reads it back). Versions below `version` hold partial trees, so only a store
    /// that never reads below `version` may be built this way (a snapshot restore, a scratch root). Returns the root,
    /// which depends on the entries alone, not on how they were chunked.
    pub fn build_chunked(
        &self,
        version: u64,
        entries: &BTreeMap<StateKey, Option<Vec<u8>>>,
        chunk: usize,
    ) -> Result<B256, StateError> {
        let chunks = (entries.len().div_ceil(chunk.max(1)) as u64).clamp(1, version.max(1));
        let per = entries.len().div_ceil(chunks as usize).max(1);
        let first = version + 1 - chunks;
        let mut iter = entries.iter();
        let mut root = B256::ZERO;
        for v in first..=version {
            let part: BTreeMap<StateKey, Option<Vec<u8>>> =
                iter.by_ref().take(per).map(|(k, value)| (*k, value.clone())).collect();
            let (r, writes) = if v == first { self.apply_fresh(v, &part)? } else { self.apply(v, &part)? };
            self.store.write_tree_chunk(&writes)?;
            root = r;
        }
        Ok(root)
    }

    fn put<R: TreeReader>(
        reader: &R,
        version: u64,
        changes: &BTreeMap<StateKey, Option<Vec<u8>>>,
        record_stale: bool,
    ) -> Result<(B256, StateWrites), StateError> {
        let tree = JellyfishMerkleTree::<_, StateHasher>::new(reader);
        let set = changes.iter().map(|(k, v)| (state_key_hash(k), v.clone()));
        let (root, batch) = tree.put_value_set(set, version).map_err(tree_err)?;
        let mut writes = StateWrites::default();
        for (k, node) in batch.node_batch.nodes() {
            writes.nodes.push((borsh::to_vec(k).map_err(tree_err)?, borsh::to_vec(node).map_err(tree_err)?));
        }
        for ((v, kh), value) in batch.node_batch.values() {
            writes.values.push((schema::state_value_key(&kh.0, *v).to_vec(), borsh::to_vec(value).map_err(tree_err)?));
        }
        for (k, v) in changes {
            writes.latest.push((k.to_bytes(), v.clone()));
        }
        if record_stale {
            for stale in &batch.stale_node_index_batch {
                let mut key = stale.stale_since_version.to_be_bytes().to_vec();
                key.extend(borsh::to_vec(&stale.node_key).map_err(tree_err)?);
                writes.stale.push(key);
            }
        }
        Ok((B256::from(root.0), writes))
    }

    /// Root of the tree at `version`.
    pub fn root(&self, version: u64) -> Result<B256, StateError> {
        check_kept(&self.store, version)?;
        let reader = Reader(&self.store);
        let tree = JellyfishMerkleTree::<_, StateHasher>::new(&reader);
        Ok(B256::from(tree.get_root_hash(version).map_err(tree_err)?.0))
    }

    /// A value with its proof at `version`.
    pub fn prove(&self, key: &StateKey, version: u64) -> Result<StateProof, StateError> {
        check_kept(&self.store, version)?;
        let reader = Reader(&self.store);
        let tree = JellyfishMerkleTree::<_, StateHasher>::new(&reader);
        let (value, proof) = tree.get_with_proof(state_key_hash(key), version).map_err(tree_err)?;
        Ok(StateProof {
            key: Bytes::from(key.to_bytes()),
            value: value.map(Bytes::from),
            proof: Bytes::from(borsh::to_vec(&proof).map_err(tree_err)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_sdk::Address;

    fn key(i: u8) -> StateKey {
        StateKey::Account(Address::repeat_byte(i))
    }

    /// A snapshot's tree, built from nothing at its version, has the root the chain reached block by block, so a
    /// restore can check its entries against a certified header.
    #[test]
    fn a_tree_built_fresh_has_the_root_of_the_same_state_built_block_by_block() {
        let (a, b) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
        let chain = StateDb::new(ChainStore::open(a.path()).expect("open"));
        let mut latest: BTreeMap<StateKey, Option<Vec<u8>>> = BTreeMap::new();
        for version in 0..4u8 {
            let changes: BTreeMap<_, _> = (0..6u8)
                .map(|i| (key(i * 3 + version), Some(vec![version, i])))
                .chain([(key(1), (version % 2 == 0).then(|| vec![version]))])
                .collect();
            let (_, writes) = chain.apply(u64::from(version), &changes).expect("apply");
            let block = crate::storage::CommittedBlock {
                header: crate::storage::tests::header(u64::from(version)),
                transactions: vec![],
                receipts: vec![],
                certificate: None,
            };
            chain.store.commit_block(&block, &writes, version == 0).expect("commit");
            latest.extend(changes);
        }
        let live: BTreeMap<_, _> = latest.into_iter().filter(|(_, v)| v.is_some()).collect();
        let fresh = StateDb::new(ChainStore::open(b.path()).expect("open"));
        let (root, writes) = fresh.apply_fresh(3, &live).expect("fresh");
        assert_eq!(root, chain.root(3).expect("root"));
        assert!(writes.stale.is_empty());
        // Built in bounded chunks (here of 2 entries, over versions 1..=3), the same root; state at version 3 reads
        // every entry.
        let c = tempfile::tempdir().expect("dir");
        let chunked = StateDb::new(ChainStore::open(c.path()).expect("open"));
        assert_eq!(chunked.build_chunked(3, &live, 2).expect("chunked"), root);
        for (k, v) in &live {
            assert_eq!(chunked.at(3).get(k).expect("read"), v.clone(), "{k:?}");
        }
        assert!(fresh.apply_fresh(0, &live).is_err(), "a snapshot is never of the genesis");
    }
}
