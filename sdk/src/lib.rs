//! The one definition of Accord's wire format, shared by the node and by every client.
//!
//! Transactions are Ethereum's (decoded and hashed with alloy's types), so existing wallets and libraries sign for
//! Accord unchanged. Blocks, receipts and proofs are Accord's own, but are built from the same primitives so that a
//! client holding a header can check a transaction, a receipt or a piece of state without trusting the node that
//! served it.

pub mod account;
pub mod block;
pub mod crypto;
pub mod genesis;
pub mod governance;
pub mod keys;
pub mod merkle;
pub mod proof;
pub mod receipt;
pub mod rpc_types;
pub mod tx;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod contract;
#[cfg(feature = "client")]
pub mod logs;
#[cfg(feature = "client")]
pub mod verify;
#[cfg(feature = "client")]
pub mod wallet;

pub use alloy_primitives::{Address, B256, Bytes, U256, keccak256};

/// Version of the binary encoding of blocks, receipts and state values. Stored in every header so that a node can
/// refuse data it does not understand instead of misreading it.
pub const FORMAT_VERSION: u64 = 1;
