//! Contracts implemented in Rust at fixed addresses: the chain's system contracts (governance, permissions, node
//! management, chain parameters; DESIGN.md §5).
//!
//! A call to a native address, from a transaction or from a contract, runs [`NativeContracts::call`] instead of wasm,
//! under the same rules as any call: the value moves first, the call sees the journaled state through the node's
//! [`Host`], and everything it did is rolled back unless it succeeds. The implementation charges its own gas (a fixed
//! price per function, documented with it) and reports it in the [`Outcome`]; a call cannot use more than it was
//! given (the VM caps it). Nothing can be deployed at a native address.

use alloy_primitives::{Address, U256};

use crate::host::{BlockInfo, Host, HostError};
use crate::runtime::Outcome;

/// One call of a native contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeCall<'a> {
    /// Immediate caller.
    pub caller: Address,
    /// Transaction signer.
    pub origin: Address,
    /// The native contract called.
    pub address: Address,
    /// Wei sent (already moved to `address`).
    pub value: U256,
    /// Calldata.
    pub input: &'a [u8],
    /// Gas available.
    pub gas_limit: u64,
    /// Block values.
    pub block: BlockInfo,
}

/// The node's native contracts.
pub trait NativeContracts<H: Host>: Send + Sync + 'static {
    /// True when `address` is a native contract's.
    fn is_native(&self, address: Address) -> bool;
    /// Runs a call. A `HostError` aborts the block, as for wasm calls; anything the contract decides (success,
    /// revert, failure) is the `Outcome`.
    fn call(&self, host: &mut H, call: NativeCall<'_>) -> Result<Outcome, HostError>;

    /// Why `caller`'s call into `callee` with `input` in the block at `height` must not run (a frozen contract, a
    /// method closed to the caller), if it must not: the call then reverts with this reason before any value
    /// moves. Asked for every call, from a transaction or a contract, so no path around the chain's permissions
    /// exists.
    fn refuse_call(
        &self,
        host: &mut H,
        caller: Address,
        callee: Address,
        input: &[u8],
        height: u64,
    ) -> Result<Option<String>, HostError> {
        let _ = (host, caller, callee, input, height);
        Ok(None)
    }
}
