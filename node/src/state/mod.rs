//! World state: reads at the head or at any past block, a write overlay for execution, and the Jellyfish Merkle
//! tree that commits to it.

pub mod overlay;
pub mod tree;
mod vm_host;

pub use overlay::{SharedView, StateOverlay};
pub use tree::StateDb;

use accord_sdk::account::{Account, StateKey};
use accord_sdk::{Address, B256};

use crate::storage::StorageError;

/// Why state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The state tree failed (a missing node means the database is corrupt).
    #[error("state tree error: {0}")]
    Tree(String),
    /// An account record did not decode.
    #[error("corrupt account record for {0}")]
    CorruptAccount(Address),
    /// State of a block below what `accord prune` kept.
    #[error(
        "state at block {block} was pruned: this node keeps state from block {kept_from} on (a node that was never pruned keeps all of it)"
    )]
    Pruned {
        /// The block asked for.
        block: u64,
        /// The lowest block whose state is kept.
        kept_from: u64,
    },
}

/// Read access to state at one point in the chain.
pub trait StateView {
    /// The raw value of a state entry.
    fn get(&self, key: &StateKey) -> Result<Option<Vec<u8>>, StateError>;

    /// An account, empty if absent.
    fn account(&self, address: Address) -> Result<Account, StateError> {
        match self.get(&StateKey::Account(address))? {
            None => Ok(Account::default()),
            Some(v) => Account::decode(&v).map_err(|_| StateError::CorruptAccount(address)),
        }
    }

    /// A storage slot, zero if absent.
    fn storage(&self, address: Address, slot: B256) -> Result<B256, StateError> {
        Ok(self.get(&StateKey::Storage(address, slot))?.map(|v| B256::left_padding_from(&v)).unwrap_or_default())
    }
}

/// A state with a block's changes laid over it, before they are committed: what the block leaves behind (the
/// header commits to the validator set this state names for the next block).
#[derive(Debug)]
pub struct ChangedView<'a, V> {
    /// The state the block executed on.
    pub base: V,
    /// The block's changes (`None` deletes).
    pub changes: &'a std::collections::BTreeMap<StateKey, Option<Vec<u8>>>,
}

impl<V: StateView> StateView for ChangedView<'_, V> {
    fn get(&self, key: &StateKey) -> Result<Option<Vec<u8>>, StateError> {
        match self.changes.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.base.get(key),
        }
    }
}

/// A state with nothing in it: the base that unit tests put overlays and recorders on.
#[cfg(test)]
pub(crate) struct EmptyState;

#[cfg(test)]
impl StateView for EmptyState {
    fn get(&self, _: &StateKey) -> Result<Option<Vec<u8>>, StateError> {
        Ok(None)
    }
}
