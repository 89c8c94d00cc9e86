//! The console: commands that talk to a running node over JSON-RPC as a client would (`accord gov …`), signing
//! with a key file. Errors say what to do; exit codes let scripts tell a refusal from an unreachable node.

pub mod contract;
pub mod gov;
pub mod query;

use std::path::Path;
use std::time::Duration;

use accord_sdk::client::AccordClient;
use accord_sdk::keys::KeyPair;
use accord_sdk::wallet::{TxRequest, Wallet, WalletError};
use accord_sdk::{Address, Bytes};
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
    /// arguments), through the SDK's [`Wallet`] (estimate with a margin, nonce, EIP-155 signature, receipt).
    pub async fn send_tx(&self, to: TxKind, input: Vec<u8>) -> Result<TransactionReceipt, ConsoleError> {
        let key = self
            .key
            .as_ref()
            .ok_or_else(|| ConsoleError::Usage("this command sends a transaction: give --key FILE".into()))?;
        let wallet = Wallet::connect(self.client.clone(), key.clone()).await.map_err(|e| self.wallet_error(e))?;
        let request = TxRequest { to: to.to().copied(), input: Bytes::from(input), ..TxRequest::default() };
        match wallet.send_and_wait(request, RECEIPT_TIMEOUT).await {
            Ok(r) if r.status() => Ok(r),
            Ok(r) => Err(ConsoleError::Refused(format!(
                "transaction {} failed in block {} (the chain moved since it was simulated; try again)",
                r.transaction_hash,
                r.block_number.unwrap_or_default()
            ))),
            Err(e) => Err(self.wallet_error(e)),
        }
    }

    /// What a failed send means for the user: the chain said no, the node failed, or no receipt came.
    fn wallet_error(&self, e: WalletError) -> ConsoleError {
        match e {
            WalletError::Refused(reason) => ConsoleError::Refused(reason),
            WalletError::Timeout { hash, waited } => ConsoleError::Timeout(format!(
                "no receipt for {hash} after {}s; it may still be committed (eth_getTransactionReceipt {hash})",
                waited.as_secs()
            )),
            WalletError::Signing(e) => ConsoleError::Usage(format!("signing: {e}")),
            WalletError::Node(e) => self.node_error(e),
        }
    }
}
