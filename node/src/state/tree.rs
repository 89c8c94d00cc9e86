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
        let tree = JellyfishMerkleTree::<_, StateHasher>::new(&reader);
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
        for stale in &batch.stale_node_index_batch {
            let mut key = stale.stale_since_version.to_be_bytes().to_vec();
            key.extend(borsh::to_vec(&stale.node_key).map_err(tree_err)?);
            writes.stale.push(key);
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
