//! Signing and sending from one account: [`Wallet`] builds EIP-155 transactions, hands out nonces locally so many
//! transactions from the account can be in flight at once, and waits for receipts with a deadline.

use std::time::Duration;

use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U64, U256};
use alloy_rpc_types_eth::TransactionReceipt;
use jsonrpsee::rpc_params;

use crate::client::{AccordClient, ClientError};
use crate::keys::KeyPair;

/// Why a transaction was not sent or not confirmed.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The node could not be reached or failed.
    #[error("node: {0}")]
    Node(ClientError),
    /// The node or the chain refused it: a revert found by the gas estimate, or a rejection at submission (the
    /// message is the node's, e.g. `nonce too low`).
    #[error("refused: {0}")]
    Refused(String),
    /// No receipt within the time allowed; the transaction may still be committed later.
    #[error("no receipt for {hash} within {waited:?}; it may still be committed")]
    Timeout {
        /// The transaction.
        hash: B256,
        /// How long was waited.
        waited: Duration,
    },
    /// Signing failed.
    #[error("signing: {0}")]
    Signing(String),
}

impl From<ClientError> for WalletError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Call(obj) => Self::Refused(obj.message().to_string()),
            other => Self::Node(other),
        }
    }
}

/// What to send: a call (or a creation when `to` is `None`) with a value and input; gas is estimated (with a
/// margin) when not given.
#[derive(Debug, Clone, Default)]
pub struct TxRequest {
    /// Recipient; `None` deploys `input` as a contract.
    pub to: Option<Address>,
    /// Wei to transfer.
    pub value: U256,
    /// Call data or deploy code.
    pub input: Bytes,
    /// Gas limit; `None`: `eth_estimateGas` plus a quarter and 10,000.
    pub gas: Option<u64>,
}

impl TxRequest {
    /// A plain transfer of `value` wei.
    pub fn transfer(to: Address, value: U256) -> Self {
        Self { to: Some(to), value, gas: Some(21_000), ..Self::default() }
    }

    /// A contract call with `input`.
    pub fn call(to: Address, input: impl Into<Bytes>) -> Self {
        Self { to: Some(to), input: input.into(), ..Self::default() }
    }

    /// A deployment of `code` (bytecode and encoded constructor arguments).
    pub fn deploy(code: impl Into<Bytes>) -> Self {
        Self { input: code.into(), ..Self::default() }
    }
}

/// A transaction the node accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingTransaction {
    /// Its hash.
    pub hash: B256,
    /// The nonce it used.
    pub nonce: u64,
}

impl PendingTransaction {
    /// Waits until it is committed (its receipt, successful or reverted) or `timeout` passes.
    pub async fn wait(&self, client: &AccordClient, timeout: Duration) -> Result<TransactionReceipt, WalletError> {
        client
            .wait_for_receipt(self.hash, timeout)
            .await?
            .ok_or(WalletError::Timeout { hash: self.hash, waited: timeout })
    }
}

/// One account's signer on one chain.
#[derive(Debug)]
pub struct Wallet {
    client: AccordClient,
    key: KeyPair,
    chain_id: u64,
    /// The next nonce to hand out, once learned from the node.
    next_nonce: tokio::sync::Mutex<Option<u64>>,
}

impl Wallet {
    /// A wallet for `key` on the chain `client` is connected to.
    pub async fn connect(client: AccordClient, key: KeyPair) -> Result<Self, WalletError> {
        let chain_id = client.chain_id().await?;
        Ok(Self { client, key, chain_id, next_nonce: tokio::sync::Mutex::new(None) })
    }

    /// The account's address.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// The client it sends through.
    pub fn client(&self) -> &AccordClient {
        &self.client
    }

    /// Takes the next nonce: the node's pending count the first time (and after [`Wallet::resync`]), then one more
    /// each call, so concurrent sends never reuse a nonce or wait for each other's receipts.
    async fn take_nonce(&self) -> Result<u64, WalletError> {
        let mut next = self.next_nonce.lock().await;
        let nonce = match *next {
            Some(n) => n,
            None => self.client.transaction_count(self.address(), "pending").await?,
        };
        *next = Some(nonce + 1);
        Ok(nonce)
    }

    /// Forgets the local nonce count: the next send asks the node again. Call it after a send failed (a refused
    /// transaction leaves a gap the node will not fill).
    pub async fn resync(&self) {
        *self.next_nonce.lock().await = None;
    }

    /// Signs and submits `request`; returns once the node accepted it (see [`PendingTransaction::wait`]).
    pub async fn send(&self, request: TxRequest) -> Result<PendingTransaction, WalletError> {
        let gas_limit = match request.gas {
            Some(g) => g,
            None => {
                let mut call =
                    serde_json::json!({ "from": self.address(), "value": request.value, "data": request.input });
                if let Some(to) = request.to {
                    call["to"] = serde_json::json!(to);
                }
                let estimate: U64 = self.client.request("eth_estimateGas", rpc_params![call]).await?;
                // A margin: the state may move between the estimate and execution.
                estimate.to::<u64>().saturating_mul(5) / 4 + 10_000
            }
        };
        let gas_price = self.client.gas_price().await?;
        let nonce = self.take_nonce().await?;
        let tx = TxLegacy {
            chain_id: Some(self.chain_id),
            nonce,
            gas_price,
            gas_limit,
            to: request.to.map_or(TxKind::Create, TxKind::Call),
            value: request.value,
            input: request.input,
        };
        let signature = self.key.sign_prehash(&tx.signature_hash()).map_err(|e| WalletError::Signing(e.to_string()))?;
        let raw = TxEnvelope::from(tx.into_signed(signature)).encoded_2718();
        match self.client.send_raw_transaction(&raw).await {
            Ok(hash) => Ok(PendingTransaction { hash, nonce }),
            Err(e) => {
                self.resync().await;
                Err(e.into())
            }
        }
    }

    /// [`Wallet::send`], then waits for the receipt up to `timeout`; a reverted transaction is returned as its
    /// receipt (status 0), for the caller to judge.
    pub async fn send_and_wait(
        &self,
        request: TxRequest,
        timeout: Duration,
    ) -> Result<TransactionReceipt, WalletError> {
        self.send(request).await?.wait(&self.client, timeout).await
    }
}
