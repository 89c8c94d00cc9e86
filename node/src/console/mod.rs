//! The console: commands that talk to a running node over JSON-RPC as a client would (`accord gov …`), signing
//! with a key file. Errors say what to do; exit codes let scripts tell a refusal from an unreachable node.

pub mod contract;
pub mod gov;
pub mod query;

use std::path::Path;
use std::time::Duration;

use accord_sdk::client::AccordClient;
use accord_sdk::keys::KeyPair;
use accord_sdk::{Address, B256, Bytes, U256};
use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::TxKind;
use alloy_rpc_types_eth::TransactionReceipt;
use jsonrpsee::rpc_params;

/// How a console command failed; each kind has its own exit code.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The arguments or the key file are wrong (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The node could not be reached or answered with an RPC error (exit code 3).
    #[error("{0}")]
    Node(String),
    /// The chain refused the request: a revert, a refused transaction (exit code 4).
    #[error("{0}")]
    Refused(String),
    /// No receipt arrived in time (exit code 5): the transaction may still be committed.
    #[error("{0}")]
    Timeout(String),
}

impl ConsoleError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Node(_) => 3,
            Self::Refused(_) => 4,
            Self::Timeout(_) => 5,
        }
    }
}

/// Reads a hex secret key file as `accord keygen --out` writes it.
pub fn read_key(path: &Path) -> Result<KeyPair, ConsoleError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConsoleError::Usage(format!("cannot read key file {}: {e}", path.display())))?;
    KeyPair::from_hex(&text).map_err(|e| {
        ConsoleError::Usage(format!(
            "{} does not hold a hex secret key (as `accord keygen --out` writes): {e}",
            path.display()
        ))
    })
}

/// An address argument, or a usage error naming it.
pub fn parse_address(s: &str) -> Result<Address, ConsoleError> {
    s.parse().map_err(|_| ConsoleError::Usage(format!("{s:?} is not an address (0x and 40 hex digits)")))
}

/// A JSON-RPC connection, with an optional signing key.
pub struct Console {
    rpc: String,
    pub(crate) client: AccordClient,
    key: Option<KeyPair>,
}

/// How long a sent transaction's receipt is waited for.
pub const RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);

impl Console {
    /// Connects to `rpc`, signing with the key in `key` when given.
    pub fn new(rpc: &str, key: Option<&Path>) -> Result<Self, ConsoleError> {
        let client = AccordClient::new(rpc).map_err(|e| ConsoleError::Usage(format!("bad --rpc URL {rpc}: {e}")))?;
        let key = key.map(read_key).transpose()?;
        Ok(Self { rpc: rpc.to_string(), client, key })
    }

    pub(crate) fn node_error(&self, e: impl std::fmt::Display) -> ConsoleError {
        ConsoleError::Node(format!("node at {}: {e}", self.rpc))
    }

    /// Any JSON-RPC method.
    pub async fn request<R: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: jsonrpsee::core::params::ArrayParams,
    ) -> Result<R, ConsoleError> {
        self.client.request(method, params).await.map_err(|e| self.node_error(e))
    }

    /// `eth_call` of `input` on `to` from the signer (or the zero address): the output, or the revert reason as
    /// [`ConsoleError::Refused`].
    pub async fn call(&self, to: Address, input: Vec<u8>) -> Result<Bytes, ConsoleError> {
        let from = self.key.as_ref().map(|k| k.address()).unwrap_or_default();
        let req = serde_json::json!({ "from": from, "to": to, "data": Bytes::from(input) });
        self.client.request("eth_call", rpc_params![req, "latest"]).await.map_err(|e| self.refusal(e))
    }

    /// An RPC error that is the chain saying no (a revert, a refused transaction) is a refusal; anything else
    /// is the node's.
    fn refusal(&self, e: jsonrpsee::core::client::Error) -> ConsoleError {
        match &e {
            jsonrpsee::core::client::Error::Call(obj) => ConsoleError::Refused(obj.message().to_string()),
            _ => self.node_error(e),
        }
    }

    /// Signs and sends a call of `input` to `to`, and waits for its receipt. The call is simulated first
    /// (`eth_estimateGas`), so a revert is reported with its reason before anything is sent.
    pub async fn send(&self, to: Address, input: Vec<u8>) -> Result<TransactionReceipt, ConsoleError> {
        self.send_tx(TxKind::Call(to), input).await
    }

    /// [`Console::send`] of a call or a creation (`TxKind::Create`, `input` the deploy bytecode and constructor
    /// arguments).
    pub async fn send_tx(&self, to: TxKind, input: Vec<u8>) -> Result<TransactionReceipt, ConsoleError> {
        let key = self
            .key
            .as_ref()
            .ok_or_else(|| ConsoleError::Usage("this command sends a transaction: give --key FILE".into()))?;
        let from = key.address();
        let data = Bytes::from(input);
        let mut req = serde_json::json!({ "from": from, "data": data });
        if let TxKind::Call(to) = to {
            req["to"] = serde_json::json!(to);
        }
        let estimate: alloy_primitives::U64 =
            self.client.request("eth_estimateGas", rpc_params![req]).await.map_err(|e| self.refusal(e))?;
        let chain_id = self.client.chain_id().await.map_err(|e| self.node_error(e))?;
        let nonce = self.client.transaction_count(from, "pending").await.map_err(|e| self.node_error(e))?;
        let gas_price: U256 = self.request("eth_gasPrice", rpc_params![]).await?;
        // A margin over the estimate: the state may move between estimate and execution.
        let gas_limit = estimate.to::<u64>().saturating_mul(5) / 4 + 10_000;
        let tx = TxLegacy {
            chain_id: Some(chain_id),
            nonce,
            gas_price: gas_price.to::<u128>(),
            gas_limit,
            to,
            value: U256::ZERO,
            input: data,
        };
        let sig = key.sign_prehash(&tx.signature_hash()).map_err(|e| ConsoleError::Usage(format!("signing: {e}")))?;
        let raw = TxEnvelope::from(tx.into_signed(sig)).encoded_2718();
        let hash: B256 = self.client.send_raw_transaction(&raw).await.map_err(|e| self.refusal(e))?;
        match self.client.wait_for_receipt(hash, RECEIPT_TIMEOUT).await.map_err(|e| self.node_error(e))? {
            Some(r) if r.status() => Ok(r),
            Some(r) => Err(ConsoleError::Refused(format!(
                "transaction {hash} failed in block {} (the chain moved since it was simulated; try again)",
                r.block_number.unwrap_or_default()
            ))),
            None => Err(ConsoleError::Timeout(format!(
                "no receipt for {hash} after {}s; it may still be committed (eth_getTransactionReceipt {hash})",
                RECEIPT_TIMEOUT.as_secs()
            ))),
        }
    }
}
