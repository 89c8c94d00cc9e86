//! What the VM needs from the node: state access with checkpoints.

use std::sync::Arc;

use alloy_primitives::{Address, B256, U256};

/// A failure of the node's state (a database error), never of the contract. It aborts execution of the whole
/// block instead of producing a receipt: a receipt must not depend on one node's disk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state access failed: {0}")]
pub struct HostError(pub String);

/// Block values a contract can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockInfo {
    /// Height.
    pub number: u64,
    /// Header timestamp (seconds).
    pub timestamp: u64,
    /// The chain's contract memory cap at this height, when governance set one (0: the VM's configured
    /// `max_memory_bytes`). Nested calls share four times it, as with the configured cap.
    pub max_memory_bytes: u64,
}

/// Journaled world state as the VM sees it. `'static` because wasmtime stores own their data: the VM takes the host
/// for the duration of a call and returns it.
pub trait Host: Send + 'static {
    /// A 32-byte storage slot of `address` (zero when unset).
    fn storage_read(&mut self, address: Address, key: B256) -> Result<B256, HostError>;
    /// Sets a slot; zero deletes it. Returns the previous value (it decides the gas).
    fn storage_write(&mut self, address: Address, key: B256, value: B256) -> Result<B256, HostError>;
    /// The code hash of `address`, if it holds code.
    fn code_hash(&mut self, address: Address) -> Result<Option<B256>, HostError>;
    /// Module bytes by code hash (asked for only when the compiled module is not cached).
    fn code(&mut self, hash: B256) -> Result<Option<Arc<[u8]>>, HostError>;
    /// True when `address` has a nonce or code (a creation there must fail).
    fn account_exists(&mut self, address: Address) -> Result<bool, HostError>;
    /// Stores `code` (whose Keccak-256 is `hash`, computed once by the VM) as the code of `address`.
    fn set_code(&mut self, address: Address, hash: B256, code: &[u8]) -> Result<(), HostError>;
    /// Moves `value` from `from` to `to`; `Ok(false)` when `from` cannot afford it (nothing changes then).
    fn transfer(&mut self, from: Address, to: Address, value: U256) -> Result<bool, HostError>;
    /// Marks the current point of the journal.
    fn checkpoint(&mut self) -> usize;
    /// Undoes everything after `checkpoint`.
    fn revert_to(&mut self, checkpoint: usize);
}
