//! The JSON-RPC calls a benchmark makes, batched: one HTTP client per node, requests of up to [`BATCH`] calls.

use std::time::Duration;

use accord_sdk::{Address, B256, Bytes, U256};
use anyhow::Context as _;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::params::BatchRequestBuilder;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use serde_json::Value;

/// Calls per JSON-RPC batch.
pub const BATCH: usize = 100;

/// A node's JSON-RPC endpoint.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its URL.
    pub url: String,
    client: HttpClient,
}

/// One transaction's answer from the node.
pub type Submitted = Result<B256, String>;

impl Node {
    /// A client of `url`.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let client = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(60))
            .max_request_size(64 * 1024 * 1024)
            .max_response_size(64 * 1024 * 1024)
            .build(url)
            .with_context(|| format!("bad JSON-RPC URL {url}"))?;
        Ok(Self { url: url.to_string(), client })
    }

    /// A single call.
    pub async fn call<R: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: jsonrpsee::core::params::ArrayParams,
    ) -> anyhow::Result<R> {
        self.client.request(method, params).await.with_context(|| format!("{method} at {}", self.url))
    }

    /// Sends raw transactions, in batches; one answer per transaction, or an error for the whole request.
    pub async fn send_raw(&self, raws: &[Bytes]) -> anyhow::Result<Vec<Submitted>> {
        let mut out = Vec::with_capacity(raws.len());
        for chunk in raws.chunks(BATCH) {
            let mut batch = BatchRequestBuilder::new();
            for raw in chunk {
                batch.insert("eth_sendRawTransaction", rpc_params![raw])?;
            }
            let answers = self
                .client
                .batch_request::<B256>(batch)
                .await
                .with_context(|| format!("eth_sendRawTransaction batch at {}", self.url))?;
            out.extend(answers.into_iter().map(|a| a.map_err(|e| e.message().to_string())));
        }
        Ok(out)
    }

    /// Calls of one method with one parameter list each, `per_request` to a JSON-RPC batch; `None` for a call that
    /// failed.
    pub async fn batch(
        &self,
        method: &str,
        params: Vec<Value>,
        per_request: usize,
    ) -> anyhow::Result<Vec<Option<Value>>> {
        let mut out = Vec::with_capacity(params.len());
        for chunk in params.chunks(per_request.max(1)) {
            let mut batch = BatchRequestBuilder::new();
            for p in chunk {
                let mut list = jsonrpsee::core::params::ArrayParams::new();
                for v in p.as_array().cloned().unwrap_or_default() {
                    list.insert(v)?;
                }
                batch.insert(method, list)?;
            }
            let answers = self
                .client
                .batch_request::<Value>(batch)
                .await
                .with_context(|| format!("{method} batch at {}", self.url))?;
            out.extend(answers.into_iter().map(Result::ok));
        }
        Ok(out)
    }

    /// Nonce of `address` counting pending transactions.
    pub async fn nonce(&self, address: Address) -> anyhow::Result<u64> {
        let n: alloy_primitives::U64 = self.call("eth_getTransactionCount", rpc_params![address, "pending"]).await?;
        Ok(n.to())
    }

    /// Committed nonces of many accounts.
    pub async fn committed_nonces(&self, addresses: &[Address]) -> anyhow::Result<Vec<u64>> {
        let params = addresses.iter().map(|a| serde_json::json!([a, "latest"])).collect();
        self.batch("eth_getTransactionCount", params, BATCH)
            .await?
            .into_iter()
            .zip(addresses)
            .map(|(v, a)| {
                v.and_then(|v| serde_json::from_value::<alloy_primitives::U64>(v).ok())
                    .map(|n| n.to::<u64>())
                    .with_context(|| format!("no nonce for {a}"))
            })
            .collect()
    }

    /// The chain id.
    pub async fn chain_id(&self) -> anyhow::Result<u64> {
        let id: alloy_primitives::U64 = self.call("eth_chainId", rpc_params![]).await?;
        Ok(id.to())
    }

    /// The gas price the node asks.
    pub async fn gas_price(&self) -> anyhow::Result<u128> {
        let p: U256 = self.call("eth_gasPrice", rpc_params![]).await?;
        Ok(p.to())
    }

    /// Transactions waiting in the node's pool.
    pub async fn pool_size(&self) -> anyhow::Result<u64> {
        let status: Value = self.call("accord_nodeStatus", rpc_params![]).await?;
        status["mempoolSize"].as_u64().context("accord_nodeStatus has no mempoolSize")
    }

    /// The committed head's number.
    pub async fn head(&self) -> anyhow::Result<u64> {
        let n: alloy_primitives::U64 = self.call("eth_blockNumber", rpc_params![]).await?;
        Ok(n.to())
    }

    /// Transaction hashes of the block at `number` (empty when it does not exist yet).
    pub async fn block_hashes(&self, number: u64) -> anyhow::Result<Vec<B256>> {
        let block: Value = self.call("eth_getBlockByNumber", rpc_params![format!("{number:#x}"), false]).await?;
        Ok(block["transactions"]
            .as_array()
            .map(|txs| txs.iter().filter_map(|t| t.as_str()?.parse().ok()).collect())
            .unwrap_or_default())
    }
}
