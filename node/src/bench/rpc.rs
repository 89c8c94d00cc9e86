//! The JSON-RPC calls a benchmark makes, through the SDK's client: one per node, batches of up to [`BATCH`] calls.

use std::time::Duration;

use accord_sdk::client::AccordClient;
use accord_sdk::{Address, B256, Bytes};
use anyhow::Context as _;
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::rpc_params;
use serde_json::Value;

/// Calls per JSON-RPC batch.
pub const BATCH: usize = 100;

/// A node's JSON-RPC endpoint.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its URL.
    pub url: String,
    client: AccordClient,
}

/// One transaction's answer from the node.
pub type Submitted = Result<B256, String>;

impl Node {
    /// A client of `url`, with room for large batches and blocks.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let client = AccordClient::with_limits(url, Duration::from_secs(60), 64 * 1024 * 1024)
            .with_context(|| format!("bad JSON-RPC URL {url}"))?;
        Ok(Self { url: url.to_string(), client })
    }

    /// A single call.
    pub async fn call<R: serde::de::DeserializeOwned>(&self, method: &str, params: ArrayParams) -> anyhow::Result<R> {
        self.client.request(method, params).await.with_context(|| format!("{method} at {}", self.url))
    }

    /// `method` once per parameter list, `per_request` calls to a JSON-RPC batch; one answer per call, in order.
    pub async fn batched<R: serde::de::DeserializeOwned + std::fmt::Debug>(
        &self,
        method: &str,
        params: Vec<ArrayParams>,
        per_request: usize,
    ) -> anyhow::Result<Vec<Result<R, String>>> {
        let mut out = Vec::with_capacity(params.len());
        let mut params = params.into_iter().peekable();
        while params.peek().is_some() {
            let chunk: Vec<ArrayParams> = params.by_ref().take(per_request.max(1)).collect();
            let answers =
                self.client.batch(method, chunk).await.with_context(|| format!("{method} batch at {}", self.url))?;
            out.extend(answers);
        }
        Ok(out)
    }

    /// Sends raw transactions, in batches; one answer per transaction, or an error for the whole request.
    pub async fn send_raw(&self, raws: &[Bytes]) -> anyhow::Result<Vec<Submitted>> {
        self.batched("eth_sendRawTransaction", raws.iter().map(|r| rpc_params![r]).collect(), BATCH).await
    }

    /// Nonce of `address` counting pending transactions.
    pub async fn nonce(&self, address: Address) -> anyhow::Result<u64> {
        self.client.transaction_count(address, "pending").await.with_context(|| format!("nonce at {}", self.url))
    }

    /// Committed nonces of many accounts.
    pub async fn committed_nonces(&self, addresses: &[Address]) -> anyhow::Result<Vec<u64>> {
        let params = addresses.iter().map(|a| rpc_params![a, "latest"]).collect();
        self.batched::<alloy_primitives::U64>("eth_getTransactionCount", params, BATCH)
            .await?
            .into_iter()
            .zip(addresses)
            .map(|(n, a)| n.map(|n| n.to::<u64>()).map_err(|e| anyhow::anyhow!("no nonce for {a}: {e}")))
            .collect()
    }

    /// The chain id.
    pub async fn chain_id(&self) -> anyhow::Result<u64> {
        self.client.chain_id().await.with_context(|| format!("eth_chainId at {}", self.url))
    }

    /// The gas price the node asks.
    pub async fn gas_price(&self) -> anyhow::Result<u128> {
        self.client.gas_price().await.with_context(|| format!("eth_gasPrice at {}", self.url))
    }

    /// Transactions waiting in the node's pool.
    pub async fn pool_size(&self) -> anyhow::Result<u64> {
        let status: Value = self.call("accord_nodeStatus", rpc_params![]).await?;
        status["mempoolSize"].as_u64().context("accord_nodeStatus has no mempoolSize")
    }

    /// The committed head's number.
    pub async fn head(&self) -> anyhow::Result<u64> {
        self.client.block_number().await.with_context(|| format!("eth_blockNumber at {}", self.url))
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
