//! Ethereum JSON-RPC 2.0 (HTTP and WebSocket on one port) plus Accord's `accord_` namespace.

mod access;
pub mod contracts;
mod convert;
pub mod error;
pub mod explorer;
pub mod filters;
pub mod governance;
pub mod limits;
pub mod observe;

use std::net::SocketAddr;
use std::sync::Arc;

use accord_sdk::account::StateKey;
use accord_sdk::block::Header;
use accord_sdk::merkle::MerkleProof;
use accord_sdk::proof::InclusionProof;
use accord_sdk::receipt::Receipt;
use accord_sdk::{Address, B256, Bytes, U256};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::U64;
use jsonrpsee::server::middleware::rpc::RpcServiceBuilder;
use jsonrpsee::server::{BatchRequestConfig, RpcModule, Server, ServerConfig, ServerHandle};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use jsonrpsee::{PendingSubscriptionSink, SubscriptionMessage};
use serde_json::{Value, json};

use crate::chain::{Chain, StoredBlock};
use crate::config::RpcSection;
use crate::state::StateView;
use crate::status::NodeStatus;
use crate::txpool::TxPool;
use convert::TxPosition;
use error::{NOT_FOUND, internal, invalid_params, rpc_error};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Most storage slots one `accord_getProof` call may ask for (a proof per slot: bounded by the request body too).
pub const MAX_PROOF_SLOTS: usize = 256;

/// What the RPC server reads and writes: the chain, the pool, the node's shared status, and its own limits.
#[derive(Debug)]
pub struct RpcContext {
    /// The chain.
    pub chain: Arc<Chain>,
    /// The transaction pool (submissions, pending lookups).
    pub pool: Arc<TxPool>,
    /// Peers, sync progress, consensus position.
    pub status: Arc<NodeStatus>,
    /// Node's name from config.
    pub name: String,
    /// Node key's address.
    pub node_address: Address,
    /// The `[rpc]` section: endpoint and bounds.
    pub limits: RpcSection,
    /// Simulations running at once (`eth_call`, `eth_estimateGas`, `eth_createAccessList`): each can burn up to the
    /// gas cap of CPU.
    pub simulations: tokio::sync::Semaphore,
    /// Log queries and fee-history reward scans running at once: each can read `max_block_range` blocks.
    pub queries: tokio::sync::Semaphore,
    /// Installed polling filters.
    pub filters: filters::Filters,
    /// `eth_subscribe` subscriptions held.
    pub subscriptions: Arc<limits::Quota>,
}

impl RpcContext {
    /// The context of a node's RPC server, bounded by `limits`.
    pub fn new(
        chain: Arc<Chain>,
        pool: Arc<TxPool>,
        status: Arc<NodeStatus>,
        name: String,
        node_address: Address,
        limits: RpcSection,
    ) -> Self {
        Self {
            chain,
            pool,
            status,
            name,
            node_address,
            simulations: tokio::sync::Semaphore::new(limits.max_concurrent_simulations as usize),
            queries: tokio::sync::Semaphore::new(limits.max_concurrent_queries as usize),
            filters: filters::Filters::new(
                limits.max_filters_per_connection,
                limits.max_filters,
                std::time::Duration::from_secs(limits.filter_timeout_secs),
            ),
            subscriptions: limits::Quota::new(
                "subscriptions",
                ("max_subscriptions_per_connection", limits.max_subscriptions_per_connection),
                ("max_subscriptions", limits.max_subscriptions),
            ),
            limits,
        }
    }
}

/// Binds the JSON-RPC server at `rpc.listen` and starts serving, timing every call into `metrics`.
pub async fn start(
    ctx: Arc<RpcContext>,
    metrics: crate::metrics::Metrics,
) -> anyhow::Result<(SocketAddr, ServerHandle)> {
    let l = &ctx.limits;
    let config = ServerConfig::builder()
        .max_connections(l.max_connections)
        .max_request_body_size(4 * 1024 * 1024)
        // A full block with full transactions can be large; a block is bounded by its gas limit.
        .max_response_body_size(128 * 1024 * 1024)
        // Accord's own checks (BatchLimit, the subscription quota) refuse first and name the setting; these stay as
        // a backstop.
        .set_batch_request_config(BatchRequestConfig::Limit(l.max_batch_size.saturating_add(1)))
        .max_subscriptions_per_connection(l.max_subscriptions_per_connection.saturating_add(1))
        .build();
    let max_batch = l.max_batch_size as usize;
    let module = module(ctx.clone())?;
    let served: Arc<std::collections::HashSet<&'static str>> = Arc::new(module.method_names().collect());
    let middleware = RpcServiceBuilder::new()
        .layer_fn(move |service| observe::RpcMetrics::new(service, metrics.clone(), served.clone()))
        .layer_fn(move |service| limits::BatchLimit::new(service, max_batch));
    let server = Server::builder()
        .set_config(config)
        .set_rpc_middleware(middleware)
        .set_http_middleware(tower::ServiceBuilder::new().layer(explorer::ExplorerLayer))
        .build(l.listen)
        .await?;
    let local = server.local_addr()?;
    Ok((local, server.start(module)))
}

/// Client version string (`web3_clientVersion`).
pub fn client_version() -> String {
    format!("accord/v{}/{}-{}/rust", env!("CARGO_PKG_VERSION"), std::env::consts::OS, std::env::consts::ARCH)
}

fn resolve_block(ctx: &RpcContext, id: Option<BlockId>) -> RpcResult<u64> {
    let head = ctx.chain.head().number;
    match id.unwrap_or(BlockId::Number(BlockNumberOrTag::Latest)) {
        BlockId::Number(tag) => match tag {
            BlockNumberOrTag::Latest
            | BlockNumberOrTag::Pending
            | BlockNumberOrTag::Safe
            | BlockNumberOrTag::Finalized => Ok(head),
            BlockNumberOrTag::Earliest => Ok(0),
            BlockNumberOrTag::Number(n) if n > 0 && n < ctx.chain.history_base() => {
                Err(error::chain_error(crate::chain::ChainError::BeforeHistory {
                    number: n,
                    base: ctx.chain.history_base(),
                }))
            }
            BlockNumberOrTag::Number(n) if n <= head => Ok(n),
            BlockNumberOrTag::Number(n) => {
                Err(rpc_error(NOT_FOUND, format!("header not found: block {n} is above head {head}"), None))
            }
        },
        BlockId::Hash(h) => ctx.chain.store().block_number(&h.block_hash).map_err(internal)?.ok_or_else(|| {
            rpc_error(NOT_FOUND, format!("header not found: no block with hash {}", h.block_hash), None)
        }),
    }
}

fn read_state<T>(
    ctx: &RpcContext,
    number: u64,
    f: impl FnOnce(&dyn StateView) -> Result<T, crate::state::StateError>,
) -> RpcResult<T> {
    // Always read the versioned values at the resolved block: the head pointer moves just after a commit's write, so
    // reading the live table for "latest" could show a block whose number eth_blockNumber does not report yet.
    f(&ctx.chain.state().at(number)).map_err(error::state_error)
}

fn two_params<A: serde::de::DeserializeOwned, B: serde::de::DeserializeOwned>(
    p: &Params<'_>,
) -> RpcResult<(A, Option<B>)> {
    let mut seq = p.sequence();
    let a: A = seq.next()?;
    let b: Option<B> = seq.optional_next()?;
    Ok((a, b))
}

fn locate(ctx: &RpcContext, hash: &B256) -> RpcResult<Option<(StoredBlock, u32)>> {
    let Some((number, index)) = ctx.chain.store().transaction_location(hash).map_err(internal)? else {
        return Ok(None);
    };
    let Some(block) = ctx.chain.block(number).map_err(error::chain_error)? else { return Ok(None) };
    Ok(Some((block, index)))
}

fn position(h: &Header, index: u32) -> TxPosition {
    TxPosition { block_hash: h.hash(), block_number: h.number, timestamp: h.timestamp, index: u64::from(index) }
}

/// The number of block `id`, or `None` when there is no such block (the methods that answer `null` for it).
fn block_number_or_none(ctx: &RpcContext, id: BlockId) -> RpcResult<Option<u64>> {
    match resolve_block(ctx, Some(id)) {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.code() == NOT_FOUND => Ok(None),
        Err(e) => Err(e),
    }
}

/// The transaction at `index` of block `id`, `null` when either does not exist.
fn transaction_at(ctx: &RpcContext, id: BlockId, index: U64) -> RpcResult<Option<alloy_rpc_types_eth::Transaction>> {
    let Some(n) = block_number_or_none(ctx, id)? else { return Ok(None) };
    let Some(StoredBlock { header: h, transactions: txs, .. }) = ctx.chain.block(n).map_err(error::chain_error)? else {
        return Ok(None);
    };
    let Ok(i) = u32::try_from(index.to::<u64>()) else { return Ok(None) };
    Ok(txs.get(i as usize).map(|tx| convert::transaction(tx, Some(position(&h, i)), h.base_fee)))
}

/// A storage slot key: hex of at most 32 bytes (the specification's `bytesMax32`); anything longer is invalid
/// params rather than silently truncated or reduced.
fn storage_key(text: &str) -> RpcResult<B256> {
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or(text);
    if digits.len() > 64 {
        return Err(invalid_params(format!("storage key {text} is longer than 32 bytes")));
    }
    let value = U256::from_str_radix(if digits.is_empty() { "0" } else { digits }, 16)
        .map_err(|e| invalid_params(format!("storage key {text} is not hex: {e}")))?;
    Ok(B256::from(value))
}

/// A block's rewards at the given percentiles, by the specification's rule (geth's): the effective tips of its
/// transactions, sorted, each weighted by the gas it used; the reward at percentile p is the tip of the transaction
/// in which the running gas total reaches p % of the block's gas. A block without transactions rewards 0.
fn block_rewards(receipts: &[Receipt], base_fee: u64, percentiles: &[f64]) -> Vec<U256> {
    let mut tips: Vec<(u128, u64)> =
        receipts.iter().map(|r| (r.effective_gas_price.saturating_sub(u128::from(base_fee)), r.gas_used)).collect();
    if tips.is_empty() {
        return vec![U256::ZERO; percentiles.len()];
    }
    tips.sort_unstable();
    let total: u64 = tips.iter().map(|(_, g)| g).sum();
    let mut out = Vec::with_capacity(percentiles.len());
    let (mut i, mut sum) = (0usize, tips[0].1);
    for p in percentiles {
        let threshold = (total as f64 * p / 100.0) as u64;
        while sum < threshold && i + 1 < tips.len() {
            i += 1;
            sum += tips[i].1;
        }
        out.push(U256::from(tips[i].0));
    }
    out
}

/// Builds the RPC module with every method.
pub fn module(ctx: Arc<RpcContext>) -> anyhow::Result<RpcModule<Arc<RpcContext>>> {
    let mut m = RpcModule::new(ctx);

    m.register_method("web3_clientVersion", |_, _, _| client_version())?;
    m.register_method("web3_sha3", |p, _, _| -> RpcResult<B256> {
        let (data,): (Bytes,) = p.parse()?;
        Ok(alloy_primitives::keccak256(&data))
    })?;
    m.register_method("net_version", |_, c, _| c.chain.genesis().chain_id.to_string())?;
    m.register_method("net_listening", |_, _, _| true)?;
    m.register_method("net_peerCount", |_, c, _| -> RpcResult<_> { Ok(U64::from(c.status.peers.count() as u64)) })?;
    m.register_method("eth_chainId", |_, c, _| -> RpcResult<_> { Ok(U64::from(c.chain.genesis().chain_id)) })?;
    m.register_method("eth_blockNumber", |_, c, _| -> RpcResult<_> { Ok(U64::from(c.chain.head().number)) })?;
    // While block sync is catching up: geth's object; otherwise false.
    m.register_method("eth_syncing", |_, c, _| {
        if let Some((start, target)) = c.status.sync.progress() {
            json!({
                "startingBlock": U64::from(start),
                "currentBlock": U64::from(c.chain.head().number),
                "highestBlock": U64::from(target),
            })
        } else {
            json!(false)
        }
    })?;
    m.register_method("eth_accounts", |_, _, _| Vec::<Address>::new())?;
    m.register_method("eth_gasPrice", |_, c, _| -> RpcResult<_> { Ok(U256::from(c.chain.genesis().params.base_fee)) })?;
    m.register_method("eth_maxPriorityFeePerGas", |_, _, _| -> RpcResult<_> { Ok(U256::ZERO) })?;

    m.register_blocking_method("eth_feeHistory", |p, c, _| -> RpcResult<Value> {
        let mut seq = p.sequence();
        let count: U64 = seq.next()?;
        let newest: BlockNumberOrTag = seq.next()?;
        let percentiles: Option<Vec<f64>> = seq.optional_next()?;
        if let Some(ps) = &percentiles {
            if ps.len() > 100 {
                return Err(invalid_params("at most 100 reward percentiles"));
            }
            if ps.iter().any(|p| !(0.0..=100.0).contains(p)) || ps.windows(2).any(|w| w[0] > w[1]) {
                return Err(invalid_params("reward percentiles must be ascending values in 0..=100"));
            }
        }
        let newest = resolve_block(&c, Some(BlockId::Number(newest)))?;
        let count = count.to::<u64>().min(c.limits.max_block_range).min(newest + 1);
        // Rewards read every receipt of every block in the span.
        let _permit = match &percentiles {
            Some(ps) if !ps.is_empty() => {
                Some(limits::permit(&c.queries, "fee-history reward scans", "max_concurrent_queries")?)
            }
            _ => None,
        };
        if count == 0 {
            return Ok(json!({ "oldestBlock": U64::from(newest), "baseFeePerGas": [], "gasUsedRatio": [] }));
        }
        let oldest = newest + 1 - count;
        let mut base = Vec::new();
        let mut ratio = Vec::new();
        let mut reward = Vec::new();
        for n in oldest..=newest {
            let h =
                c.chain.store().header(n).map_err(internal)?.ok_or_else(|| internal(format!("missing header {n}")))?;
            base.push(U256::from(h.base_fee));
            ratio.push(if h.gas_limit == 0 { 0.0 } else { h.gas_used as f64 / h.gas_limit as f64 });
            if let Some(ps) = &percentiles {
                let receipts = if ps.is_empty() {
                    Vec::new()
                } else {
                    c.chain.store().receipts(n).map_err(internal)?.unwrap_or_default()
                };
                reward.push(block_rewards(&receipts, h.base_fee, ps));
            }
        }
        base.push(U256::from(c.chain.genesis().params.base_fee));
        let mut out = json!({ "oldestBlock": U64::from(oldest), "baseFeePerGas": base, "gasUsedRatio": ratio });
        if percentiles.is_some() {
            out["reward"] = json!(reward);
        }
        Ok(out)
    })?;

    m.register_blocking_method("eth_getBalance", |p, c, _| -> RpcResult<U256> {
        let (addr, block): (Address, Option<BlockId>) = two_params(&p)?;
        let n = resolve_block(&c, block)?;
        read_state(&c, n, |s| s.account(addr).map(|a| a.balance))
    })?;

    m.register_blocking_method("eth_getTransactionCount", |p, c, _| -> RpcResult<U64> {
        let (addr, block): (Address, Option<BlockId>) = two_params(&p)?;
        if matches!(block, Some(BlockId::Number(BlockNumberOrTag::Pending))) {
            return c.pool.pending_nonce(addr).map(U64::from).map_err(internal);
        }
        let n = resolve_block(&c, block)?;
        read_state(&c, n, |s| s.account(addr).map(|a| U64::from(a.nonce)))
    })?;

    m.register_blocking_method("eth_getCode", |p, c, _| -> RpcResult<Bytes> {
        let (addr, block): (Address, Option<BlockId>) = two_params(&p)?;
        let n = resolve_block(&c, block)?;
        read_state(&c, n, |s| {
            let acct = s.account(addr)?;
            if acct.code_hash == accord_sdk::account::EMPTY_CODE_HASH {
                return Ok(Bytes::new());
            }
            Ok(s.get(&StateKey::Code(acct.code_hash))?.map(Bytes::from).unwrap_or_default())
        })
    })?;

    m.register_blocking_method("eth_getStorageAt", |p, c, _| -> RpcResult<B256> {
        let mut seq = p.sequence();
        let addr: Address = seq.next()?;
        let slot: String = seq.next()?;
        let slot = storage_key(&slot)?;
        let block: Option<BlockId> = seq.optional_next()?;
        let n = resolve_block(&c, block)?;
        read_state(&c, n, |s| s.storage(addr, slot))
    })?;

    contracts::register(&mut m)?;
    filters::register(&mut m)?;
    governance::register(&mut m)?;

    m.register_blocking_method("eth_getBlockTransactionCountByNumber", |p, c, _| -> RpcResult<Option<U64>> {
        let (tag,): (BlockNumberOrTag,) = p.parse()?;
        let Some(n) = block_number_or_none(&c, BlockId::Number(tag))? else { return Ok(None) };
        Ok(c.chain.store().transactions(n).map_err(internal)?.map(|txs| U64::from(txs.len())))
    })?;
    m.register_blocking_method("eth_getBlockTransactionCountByHash", |p, c, _| -> RpcResult<Option<U64>> {
        let (hash,): (B256,) = p.parse()?;
        let Some(n) = block_number_or_none(&c, BlockId::hash(hash))? else { return Ok(None) };
        Ok(c.chain.store().transactions(n).map_err(internal)?.map(|txs| U64::from(txs.len())))
    })?;
    m.register_blocking_method(
        "eth_getTransactionByBlockNumberAndIndex",
        |p, c, _| -> RpcResult<Option<alloy_rpc_types_eth::Transaction>> {
            let (tag, index): (BlockNumberOrTag, U64) = p.parse()?;
            transaction_at(&c, BlockId::Number(tag), index)
        },
    )?;
    m.register_blocking_method(
        "eth_getTransactionByBlockHashAndIndex",
        |p, c, _| -> RpcResult<Option<alloy_rpc_types_eth::Transaction>> {
            let (hash, index): (B256, U64) = p.parse()?;
            transaction_at(&c, BlockId::hash(hash), index)
        },
    )?;
    // No uncles on a chain with single-round finality; clients still ask.
    m.register_blocking_method("eth_getUncleCountByBlockNumber", |p, c, _| -> RpcResult<Option<U64>> {
        let (tag,): (BlockNumberOrTag,) = p.parse()?;
        Ok(block_number_or_none(&c, BlockId::Number(tag))?.map(|_| U64::ZERO))
    })?;
    m.register_blocking_method("eth_getUncleCountByBlockHash", |p, c, _| -> RpcResult<Option<U64>> {
        let (hash,): (B256,) = p.parse()?;
        Ok(block_number_or_none(&c, BlockId::hash(hash))?.map(|_| U64::ZERO))
    })?;

    m.register_blocking_method("eth_getBlockByNumber", |p, c, _| -> RpcResult<Option<alloy_rpc_types_eth::Block>> {
        let (tag, full): (BlockNumberOrTag, Option<bool>) = two_params(&p)?;
        let head = c.chain.head().number;
        let n = match tag {
            BlockNumberOrTag::Number(n) => n,
            BlockNumberOrTag::Earliest => 0,
            _ => head,
        };
        let Some(StoredBlock { header: h, transactions: txs, .. }) = c.chain.block(n).map_err(error::chain_error)?
        else {
            return Ok(None);
        };
        Ok(Some(convert::block(&h, &txs, full.unwrap_or(false))))
    })?;

    m.register_blocking_method("eth_getBlockByHash", |p, c, _| -> RpcResult<Option<alloy_rpc_types_eth::Block>> {
        let (hash, full): (B256, Option<bool>) = two_params(&p)?;
        let Some(n) = c.chain.store().block_number(&hash).map_err(internal)? else { return Ok(None) };
        let Some(StoredBlock { header: h, transactions: txs, .. }) = c.chain.block(n).map_err(error::chain_error)?
        else {
            return Ok(None);
        };
        Ok(Some(convert::block(&h, &txs, full.unwrap_or(false))))
    })?;

    m.register_blocking_method(
        "eth_getTransactionByHash",
        |p, c, _| -> RpcResult<Option<alloy_rpc_types_eth::Transaction>> {
            let (hash,): (B256,) = p.parse()?;
            if let Some((StoredBlock { header: h, transactions: txs, .. }, i)) = locate(&c, &hash)? {
                let tx = txs.get(i as usize).ok_or_else(|| internal("transaction index out of range"))?;
                return Ok(Some(convert::transaction(tx, Some(position(&h, i)), h.base_fee)));
            }
            let pending = c.pool.get(&hash);
            Ok(pending.map(|tx| convert::transaction(&tx, None, c.chain.genesis().params.base_fee)))
        },
    )?;

    m.register_blocking_method(
        "eth_getTransactionReceipt",
        |p, c, _| -> RpcResult<Option<alloy_rpc_types_eth::TransactionReceipt>> {
            let (hash,): (B256,) = p.parse()?;
            let Some((StoredBlock { header: h, transactions: txs, receipts }, i)) = locate(&c, &hash)? else {
                return Ok(None);
            };
            let idx = i as usize;
            let (Some(tx), Some(r)) = (txs.get(idx), receipts.get(idx)) else {
                return Err(internal("transaction index out of range"));
            };
            let first_log = receipts[..idx].iter().map(|r| r.logs.len() as u64).sum();
            Ok(Some(convert::receipt(tx, r, position(&h, i), first_log)))
        },
    )?;

    // All receipts of one block from one read of it: a client confirming a block's transactions one receipt at a
    // time makes the node read and decode the whole block once per transaction.
    m.register_blocking_method(
        "eth_getBlockReceipts",
        |p, c, _| -> RpcResult<Option<Vec<alloy_rpc_types_eth::TransactionReceipt>>> {
            let (id,): (BlockId,) = p.parse()?;
            let n = match resolve_block(&c, Some(id)) {
                Ok(n) => n,
                // The specification answers null for a block that does not exist.
                Err(e) if e.code() == NOT_FOUND => return Ok(None),
                Err(e) => return Err(e),
            };
            let Some(StoredBlock { header: h, transactions: txs, receipts }) =
                c.chain.block(n).map_err(error::chain_error)?
            else {
                return Ok(None);
            };
            let mut first_log = 0u64;
            let mut out = Vec::with_capacity(txs.len());
            for (i, (tx, r)) in txs.iter().zip(&receipts).enumerate() {
                out.push(convert::receipt(tx, r, position(&h, i as u32), first_log));
                first_log += r.logs.len() as u64;
            }
            Ok(Some(out))
        },
    )?;

    m.register_blocking_method("eth_sendRawTransaction", |p, c, _| -> RpcResult<B256> {
        let (raw,): (Bytes,) = p.parse()?;
        c.pool.submit_raw(&raw).map_err(|e| error::submit_error(&e))
    })?;

    m.register_subscription("eth_subscribe", "eth_subscription", "eth_unsubscribe", |p, pending, c, _| async move {
        subscribe(p, pending, Arc::clone(&*c)).await;
        Ok(())
    })?;

    m.register_blocking_method(
        "accord_getProof",
        |p, c, _| -> RpcResult<accord_sdk::rpc_types::AccountProofResponse> {
            let mut seq = p.sequence();
            let addr: Address = seq.next()?;
            let slots: Option<Vec<B256>> = seq.optional_next()?;
            if slots.as_ref().is_some_and(|s| s.len() > MAX_PROOF_SLOTS) {
                return Err(invalid_params(format!("at most {MAX_PROOF_SLOTS} storage slots per proof request")));
            }
            let block: Option<BlockId> = seq.optional_next()?;
            let n = resolve_block(&c, block)?;
            let header =
                c.chain.store().header(n).map_err(internal)?.ok_or_else(|| internal(format!("missing header {n}")))?;
            let account_proof = c.chain.state().prove(&StateKey::Account(addr), n).map_err(error::state_error)?;
            let storage_proof = slots
                .unwrap_or_default()
                .iter()
                .map(|s| c.chain.state().prove(&StateKey::Storage(addr, *s), n).map_err(error::state_error))
                .collect::<RpcResult<Vec<_>>>()?;
            Ok(accord_sdk::rpc_types::AccountProofResponse {
                block_number: U64::from(n),
                block_hash: header.hash(),
                header,
                account_proof,
                storage_proof,
            })
        },
    )?;

    m.register_blocking_method(
        "accord_getBlockCertificate",
        |p, c, _| -> RpcResult<Option<accord_sdk::rpc_types::CertifiedHeader>> {
            let (tag,): (BlockNumberOrTag,) = p.parse()?;
            let n = match tag {
                BlockNumberOrTag::Number(n) => n,
                BlockNumberOrTag::Earliest => 0,
                _ => c.chain.head().number,
            };
            if n > c.chain.head().number {
                return Ok(None);
            }
            let Some(header) = c.chain.store().header(n).map_err(internal)? else { return Ok(None) };
            let certificate = c.chain.store().certificate(n).map_err(internal)?;
            Ok(Some(accord_sdk::rpc_types::CertifiedHeader { header, certificate }))
        },
    )?;

    m.register_blocking_method("accord_getTransactionProof", |p, c, _| -> RpcResult<Option<Value>> {
        let (hash,): (B256,) = p.parse()?;
        let Some((StoredBlock { header: h, transactions: txs, receipts }, i)) = locate(&c, &hash)? else {
            return Ok(None);
        };
        let tx_bytes: Vec<&[u8]> = txs.iter().map(|t| t.encoded().as_ref()).collect();
        let receipt_bytes: Vec<Vec<u8>> = receipts.iter().map(Receipt::encode).collect();
        let idx = i as usize;
        let (Some(tp), Some(rp)) = (MerkleProof::build(&tx_bytes, idx), MerkleProof::build(&receipt_bytes, idx)) else {
            return Err(internal("transaction index out of range"));
        };
        let tx = InclusionProof { item: Bytes::copy_from_slice(tx_bytes[idx]), proof: tp };
        let receipt = InclusionProof { item: receipt_bytes[idx].clone().into(), proof: rp };
        Ok(Some(json!({ "header": h, "blockHash": h.hash(), "transaction": tx, "receipt": receipt })))
    })?;

    m.register_method("accord_validators", |_, c, _| -> RpcResult<_> {
        // The set certifying the next block, each validator with the height it became one, and the observers.
        let next = c.chain.head().number + 1;
        let set = c.chain.validators_at(next).map_err(internal)?;
        let lists = c.chain.nodes_at(next).map_err(internal)?;
        let since = |a: &Address, entries: &[accord_sdk::governance::NodeEntry]| {
            entries.iter().find(|e| e.address == *a).map(|e| e.since).unwrap_or_default()
        };
        let mut out = serde_json::to_value(&set).map_err(internal)?;
        if let Some(vs) = out.get_mut("validators").and_then(|v| v.as_array_mut()) {
            for (v, entry) in vs.iter_mut().zip(&set.validators) {
                v["since"] = json!(since(&entry.address, &lists.validators));
            }
        }
        out["height"] = json!(U64::from(next));
        out["observers"] = json!(
            lists.observers.iter().map(|o| json!({ "address": o.address, "since": o.since })).collect::<Vec<_>>()
        );
        Ok(out)
    })?;

    m.register_method("accord_peers", |_, c, _| -> RpcResult<_> {
        // The members connected now, each with its node address and its role for the next block.
        let next = c.chain.head().number + 1;
        let set = c.chain.validators_at(next).map_err(internal)?;
        let lists = c.chain.nodes_at(next).map_err(internal)?;
        let peers: Vec<Value> = c
            .status
            .peers
            .list()
            .iter()
            .map(|peer| {
                let address = crate::network::node_address_of(peer);
                let role = match address {
                    Some(a) if set.index_of(&a).is_some() => "validator",
                    Some(a) if lists.observers.iter().any(|o| o.address == a) => "observer",
                    _ => "member",
                };
                json!({ "peerId": peer.to_string(), "nodeAddress": address, "role": role })
            })
            .collect();
        Ok(peers)
    })?;

    m.register_method("accord_nodeStatus", |_, c, _| {
        let head = c.chain.head();
        json!({
            "name": c.name,
            "nodeAddress": c.node_address,
            "chainId": U64::from(c.chain.genesis().chain_id),
            "genesisHash": c.chain.genesis_hash(),
            "height": U64::from(head.number),
            "headHash": head.hash(),
            "stateRoot": head.state_root,
            "headTimestamp": U64::from(head.timestamp),
            "mempoolSize": c.pool.len(),
            "validators": c.chain.validators_at(head.number + 1).map(|s| s.len()).unwrap_or_default(),
            "peers": c.status.peers.count(),
            "syncing": c.status.sync.progress().is_some(),
            "consensusHeight": U64::from(c.status.consensus.get().0),
            "consensusView": U64::from(c.status.consensus.get().1),
            "version": client_version(),
            "vm": accord_vm::identity().ok().map(|id| json!({ "engine": id.engine, "fingerprint": id.fingerprint })),
        })
    })?;

    Ok(m)
}

/// What one `eth_subscribe` pushes.
enum Subscription {
    NewHeads,
    Logs(Box<alloy_rpc_types_eth::Filter>),
    PendingTransactions,
}

async fn subscribe(p: Params<'static>, pending: PendingSubscriptionSink, c: Arc<RpcContext>) {
    let mut seq = p.sequence();
    let kind: Result<String, _> = seq.next();
    let what = match kind.as_deref() {
        Ok("newHeads") => Subscription::NewHeads,
        Ok("newPendingTransactions") => Subscription::PendingTransactions,
        Ok("logs") => match seq.optional_next::<alloy_rpc_types_eth::Filter>() {
            Ok(f) => Subscription::Logs(Box::new(f.unwrap_or_default())),
            Err(e) => {
                pending.reject(e).await;
                return;
            }
        },
        Ok(k) => {
            pending
                .reject(invalid_params(format!(
                    "unsupported subscription {k:?}; supported: newHeads, logs, newPendingTransactions"
                )))
                .await;
            return;
        }
        Err(e) => {
            pending.reject(e.clone()).await;
            return;
        }
    };
    // Held until this function returns, i.e. until the subscription ends.
    let _slot = match c.subscriptions.acquire(pending.connection_id().0) {
        Ok(slot) => slot,
        Err(e) => {
            pending.reject(e).await;
            return;
        }
    };
    let filter = match what {
        Subscription::NewHeads => None,
        Subscription::Logs(f) => Some(*f),
        Subscription::PendingTransactions => {
            let mut arrivals = c.pool.subscribe_arrivals();
            let Ok(sink) = pending.accept().await else { return };
            loop {
                tokio::select! {
                    _ = sink.closed() => return,
                    h = arrivals.recv() => match h {
                        Ok(h) => {
                            let Ok(raw) = serde_json::value::to_raw_value(&h) else { return };
                            if sink.send(SubscriptionMessage::from(raw)).await.is_err() {
                                return;
                            }
                        }
                        // A slow subscriber skips hashes rather than holding the pool's arrivals.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(_) => return,
                    }
                }
            }
        }
    };
    let mut heads = c.chain.subscribe_heads();
    let Ok(sink) = pending.accept().await else { return };
    loop {
        tokio::select! {
            _ = sink.closed() => return,
            h = heads.recv() => match h {
                Ok(h) => {
                    let messages: Vec<Value> = match &filter {
                        None => vec![serde_json::to_value(convert::header(&h)).unwrap_or(Value::Null)],
                        Some(f) => {
                            let (c2, f2, n) = (c.clone(), f.clone(), h.number);
                            let logs = tokio::task::spawn_blocking(move || {
                                // A block's logs are bounded by its gas: no cap for a subscription.
                                contracts::logs_in(&c2, &contracts::criteria(&f2), n, n, usize::MAX)
                            })
                            .await;
                            match logs {
                                Ok(Ok(logs)) => logs.iter().map(contracts::log_json).collect(),
                                _ => return,
                            }
                        }
                    };
                    for msg in messages {
                        let Ok(raw) = serde_json::value::to_raw_value(&msg) else { return };
                        if sink.send(SubscriptionMessage::from(raw)).await.is_err() {
                            return;
                        }
                    }
                }
                // A slow subscriber skips headers rather than stalling the node.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(price: u128, gas: u64) -> Receipt {
        Receipt {
            tx_type: 0,
            success: true,
            gas_used: gas,
            cumulative_gas_used: 0,
            effective_gas_price: price,
            logs: Vec::new(),
            contract_address: None,
        }
    }

    #[test]
    fn rewards_are_gas_weighted_tips_at_each_percentile() {
        // Tips 1 (10 % of the gas), 5 (30 %) and 9 (60 %) over a base fee of 10.
        let rs = [receipt(19, 60_000), receipt(11, 10_000), receipt(15, 30_000)];
        let got = block_rewards(&rs, 10, &[0.0, 10.0, 10.5, 40.0, 41.0, 100.0]);
        let want: Vec<U256> = [1u8, 1, 5, 5, 9, 9].iter().map(|t| U256::from(*t)).collect();
        assert_eq!(got, want);
        assert_eq!(block_rewards(&[], 10, &[50.0]), vec![U256::ZERO], "no transactions, no reward");
        assert_eq!(block_rewards(&[receipt(3, 21_000)], 10, &[50.0]), vec![U256::ZERO], "no tip below the base fee");
    }

    #[test]
    fn storage_keys_are_at_most_32_bytes_of_hex() {
        assert_eq!(storage_key("0x0").expect("short"), B256::ZERO);
        assert_eq!(storage_key("0x").expect("empty is zero"), B256::ZERO);
        assert_eq!(storage_key(&format!("0x{}", "ff".repeat(32))).expect("32 bytes"), B256::repeat_byte(0xff));
        let e = storage_key(&format!("0x{}", "00".repeat(33))).expect_err("33 bytes");
        assert_eq!(e.code(), error::INVALID_PARAMS);
        assert!(storage_key("0xzz").is_err());
    }
}
