//! JSON-RPC error codes.
//!
//! Standard codes (-32700 … -32600) come from jsonrpsee for malformed requests, unknown methods and bad params.
//! Chain errors use -32000 … -32099; each transaction rejection has its own code, a geth-compatible message
//! (client libraries match on "nonce too low", "insufficient funds", "already known", …) and a machine-readable
//! `data.reason`. The full table is in `docs/rpc.md`.

use jsonrpsee::types::ErrorObjectOwned;
use serde_json::json;

use crate::txpool::SubmitError;

/// Internal error (-32603).
pub const INTERNAL: i32 = -32603;
/// Invalid params (-32602).
pub const INVALID_PARAMS: i32 = -32602;
/// Requested block or data does not exist.
pub const NOT_FOUND: i32 = -32001;
/// The block is before this node's history (it started from a snapshot): the code geth uses for expired history
/// (EIP-4444), so clients that handle it already know to ask another node.
pub const HISTORY_PRUNED: i32 = -4444;
/// A request exceeds a configured bound (block range, …).
pub const LIMIT_EXCEEDED: i32 = -32005;
/// Transaction bytes do not decode.
pub const TX_MALFORMED: i32 = -32010;
/// Transaction above the size limit.
pub const TX_OVERSIZED: i32 = -32011;
/// Missing or wrong chain id.
pub const TX_CHAIN_ID: i32 = -32012;
/// Bad or malleable signature.
pub const TX_SIGNATURE: i32 = -32013;
/// Nonce below the account nonce.
pub const TX_NONCE_TOO_LOW: i32 = -32014;
/// Nonce too far ahead.
pub const TX_NONCE_TOO_HIGH: i32 = -32015;
/// Already pooled, or a replacement that does not raise the fee enough.
pub const TX_KNOWN: i32 = -32016;
/// Balance cannot cover value + gas.
pub const TX_INSUFFICIENT_FUNDS: i32 = -32017;
/// Gas limit or fee out of bounds.
pub const TX_GAS: i32 = -32018;
/// Pool full.
pub const TX_POOL_FULL: i32 = -32019;
/// Transaction kind not supported.
pub const TX_UNSUPPORTED: i32 = -32020;
/// Governance does not permit the sender this transaction (frozen, not allowlisted, may not deploy).
pub const TX_NOT_PERMITTED: i32 = -32023;

/// Builds an error object.
pub fn rpc_error(code: i32, message: impl Into<String>, reason: Option<&str>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), reason.map(|r| json!({ "reason": r })))
}

/// Internal failure (storage, state): logged, and reported with its message so operators can act on it.
pub fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    tracing::error!(error = %e, "internal error serving RPC");
    rpc_error(INTERNAL, format!("internal error: {e}"), None)
}

/// A state read failed: pruned history is the client's question answered (with the block to ask instead), any
/// other failure is internal.
pub fn state_error(e: crate::state::StateError) -> ErrorObjectOwned {
    match e {
        crate::state::StateError::Pruned { .. } => rpc_error(NOT_FOUND, e.to_string(), Some("pruned")),
        other => internal(other),
    }
}

/// A chain read failed: a block before this node's history is the client's question answered (ask a node with the
/// whole chain), any other failure is internal.
pub fn chain_error(e: crate::chain::ChainError) -> ErrorObjectOwned {
    match e {
        crate::chain::ChainError::BeforeHistory { .. } => rpc_error(HISTORY_PRUNED, e.to_string(), Some("pruned")),
        other => internal(other),
    }
}

/// Invalid params.
pub fn invalid_params(msg: impl Into<String>) -> ErrorObjectOwned {
    rpc_error(INVALID_PARAMS, msg, None)
}

/// Maps a submission failure to its code, by its reason label (one classification, in `SubmitError::reason`).
pub fn submit_error(e: &SubmitError) -> ErrorObjectOwned {
    let reason = e.reason();
    let code = match reason {
        "malformed" => TX_MALFORMED,
        "oversized" => TX_OVERSIZED,
        "chain_id" => TX_CHAIN_ID,
        "signature" => TX_SIGNATURE,
        "nonce_too_low" => TX_NONCE_TOO_LOW,
        "nonce_too_high" => TX_NONCE_TOO_HIGH,
        "already_known" | "replacement" => TX_KNOWN,
        "insufficient_funds" => TX_INSUFFICIENT_FUNDS,
        "gas" => TX_GAS,
        "pool_full" => TX_POOL_FULL,
        "unsupported_type" => TX_UNSUPPORTED,
        "not_permitted" => TX_NOT_PERMITTED,
        _ => return internal(e),
    };
    rpc_error(code, e.to_string(), Some(reason))
}
