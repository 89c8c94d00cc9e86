//! A small typed JSON-RPC client for Accord nodes (and any Ethereum node for the `eth_` part).

use alloy_primitives::{Address, B256, Bytes, U64, U256};
use alloy_rpc_types_eth::{Block, Transaction, TransactionReceipt};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;

pub use crate::rpc_types::{AccountProofResponse, CertifiedHeader};

pub use jsonrpsee::core::client::Error as ClientError;

/// HTTP JSON-RPC client.
#[derive(Debug, Clone)]
pub struct AccordClient {
    inner: HttpClient,
}

impl AccordClient {
    /// Connects to `url` (e.g. `http://127.0.0.1:8545`).
    pub fn new(url: &str) -> Result<Self, ClientError> {
        let inner = HttpClientBuilder::default().request_timeout(std::time::Duration::from_secs(30)).build(url)?;
        Ok(Self { inner })
    }

    /// Connects with a request timeout and a bound on request and response bytes (batches and large blocks need
    /// more than the defaults).
    pub fn with_limits(url: &str, timeout: std::time::Duration, max_bytes: u32) -> Result<Self, ClientError> {
        let inner = HttpClientBuilder::default()
            .request_timeout(timeout)
            .max_request_size(max_bytes)
            .max_response_size(max_bytes)
            .build(url)?;
        Ok(Self { inner })
    }

    /// One JSON-RPC batch: `method` once per parameter list, answered in order, each call's error as its message.
    /// The whole batch fails only when the request does.
    pub async fn batch<R: serde::de::DeserializeOwned + std::fmt::Debug>(
        &self,
        method: &str,
        params: Vec<jsonrpsee::core::params::ArrayParams>,
    ) -> Result<Vec<Result<R, String>>, ClientError> {
        let mut batch = jsonrpsee::core::params::BatchRequestBuilder::new();
        for p in params {
            batch.insert(method, p)?;
        }
        let answers = self.inner.batch_request::<R>(batch).await?;
        Ok(answers.into_iter().map(|a| a.map_err(|e| e.message().to_string())).collect())
    }

    /// Any method, for calls this client has no typed wrapper for.
    pub async fn request<R: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: jsonrpsee::core::params::ArrayParams,
    ) -> Result<R, ClientError> {
        self.inner.request(method, params).await
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64, ClientError> {
        let v: U64 = self.inner.request("eth_chainId", rpc_params![]).await?;
        Ok(v.to())
    }

    /// `eth_blockNumber`.
    pub async fn block_number(&self) -> Result<u64, ClientError> {
        let v: U64 = self.inner.request("eth_blockNumber", rpc_params![]).await?;
        Ok(v.to())
    }

    /// `eth_sendRawTransaction`.
    pub async fn send_raw_transaction(&self, raw: &[u8]) -> Result<B256, ClientError> {
        self.inner.request("eth_sendRawTransaction", rpc_params![Bytes::copy_from_slice(raw)]).await
    }

    /// `eth_getTransactionReceipt`.
    pub async fn transaction_receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>, ClientError> {
        self.inner.request("eth_getTransactionReceipt", rpc_params![hash]).await
    }

    /// `eth_getTransactionByHash`.
    pub async fn transaction_by_hash(&self, hash: B256) -> Result<Option<Transaction>, ClientError> {
        self.inner.request("eth_getTransactionByHash", rpc_params![hash]).await
    }

    /// `eth_getBlockByNumber` with full transactions.
    pub async fn block_by_number(&self, number: u64) -> Result<Option<Block>, ClientError> {
        self.inner.request("eth_getBlockByNumber", rpc_params![U64::from(number), true]).await
    }

    /// `eth_gasPrice`.
    pub async fn gas_price(&self) -> Result<u128, ClientError> {
        let v: U256 = self.inner.request("eth_gasPrice", rpc_params![]).await?;
        Ok(v.saturating_to())
    }

    /// `eth_getBalance` at the latest block.
    pub async fn balance(&self, address: Address) -> Result<U256, ClientError> {
        self.inner.request("eth_getBalance", rpc_params![address, "latest"]).await
    }

    /// `eth_getTransactionCount` at `tag` ("latest" or "pending").
    pub async fn transaction_count(&self, address: Address, tag: &str) -> Result<u64, ClientError> {
        let v: U64 = self.inner.request("eth_getTransactionCount", rpc_params![address, tag]).await?;
        Ok(v.to())
    }

    /// `accord_getProof` for an account (and storage slots) at `block` ("latest" or a number).
    pub async fn account_proof(
        &self,
        address: Address,
        slots: Vec<B256>,
        block: &str,
    ) -> Result<AccountProofResponse, ClientError> {
        self.inner.request("accord_getProof", rpc_params![address, slots, block]).await
    }

    /// `accord_getBlockCertificate`: a header and its commit certificate.
    pub async fn certified_header(&self, number: u64) -> Result<Option<CertifiedHeader>, ClientError> {
        self.inner.request("accord_getBlockCertificate", rpc_params![U64::from(number)]).await
    }

    /// Polls until the receipt of `hash` exists or `timeout` passes.
    pub async fn wait_for_receipt(
        &self,
        hash: B256,
        timeout: std::time::Duration,
    ) -> Result<Option<TransactionReceipt>, ClientError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(r) = self.transaction_receipt(hash).await? {
                return Ok(Some(r));
            }
            if std::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio_sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

async fn tokio_sleep(d: std::time::Duration) {
    // The client runs under tokio (jsonrpsee requires it).
    tokio::time::sleep(d).await
}
