//! The running node: chain, mempool, block producer, RPC and metrics wired together.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use accord_sdk::block::CommitCertificate;
use accord_sdk::genesis::Genesis;
use accord_sdk::keys::KeyPair;
use accord_sdk::tx::{SignedTransaction, TxError};
use accord_sdk::{Address, B256, keccak256};
use anyhow::Context as _;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::chain::Chain;
use crate::config::NodeConfig;
use crate::executor::TxRejection;
use crate::mempool::{Mempool, MempoolError, SenderState};
use crate::metrics::Metrics;
use crate::state::{StateError, StateView};

/// Why a submitted transaction was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Failed a stateless check.
    #[error(transparent)]
    Tx(#[from] TxError),
    /// Refused by the pool.
    #[error(transparent)]
    Mempool(#[from] MempoolError),
    /// State could not be read.
    #[error("internal error: {0}")]
    State(#[from] StateError),
}

impl SubmitError {
    /// Short label of the rejection: the `reason` label of the metric and the `data.reason` of the RPC error.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Tx(TxError::Malformed(_)) => "malformed",
            Self::Tx(TxError::Oversized { .. }) => "oversized",
            Self::Tx(TxError::UnsupportedType(_)) => "unsupported_type",
            Self::Tx(TxError::MissingChainId { .. } | TxError::WrongChainId { .. }) => "chain_id",
            Self::Tx(TxError::Signature(_)) => "signature",
            Self::Tx(TxError::IntrinsicGas { .. } | TxError::TipAboveFeeCap) => "gas",
            Self::Mempool(MempoolError::AlreadyKnown) => "already_known",
            Self::Mempool(MempoolError::NonceTooLow { .. }) => "nonce_too_low",
            Self::Mempool(MempoolError::NonceTooHigh { .. }) => "nonce_too_high",
            Self::Mempool(MempoolError::ReplacementUnderpriced(_)) => "replacement",
            Self::Mempool(MempoolError::InsufficientFunds { .. }) => "insufficient_funds",
            Self::Mempool(MempoolError::SenderFull(_) | MempoolError::PoolFull) => "pool_full",
            Self::Mempool(MempoolError::ExceedsBlockGasLimit { .. } | MempoolError::FeeTooLow { .. }) => "gas",
            Self::Mempool(MempoolError::CreateUnsupported) => "unsupported",
            Self::State(_) => "internal",
        }
    }
}

/// Shared state of a running node, used by the RPC server and the block producer.
#[derive(Debug)]
pub struct NodeContext {
    /// The chain.
    pub chain: Arc<Chain>,
    /// The transaction pool.
    pub mempool: Mutex<Mempool>,
    /// Metrics.
    pub metrics: Metrics,
    /// Wakes the producer when transactions arrive.
    pub tx_arrived: Notify,
    /// Node's name from config.
    pub name: String,
    /// Node key's address.
    pub node_address: Address,
    /// RPC limits.
    pub max_block_range: u64,
}

impl NodeContext {
    /// Verifies and pools a raw transaction; returns its hash.
    pub fn submit_raw(&self, raw: &[u8]) -> Result<B256, SubmitError> {
        let result = self.submit_inner(raw);
        if let Err(e) = &result {
            self.metrics.txs_rejected.with_label_values(&[e.reason()]).inc();
        }
        result
    }

    fn submit_inner(&self, raw: &[u8]) -> Result<B256, SubmitError> {
        let limits = self.chain.tx_limits();
        if raw.len() > limits.max_tx_bytes {
            return Err(TxError::Oversized { size: raw.len(), limit: limits.max_tx_bytes }.into());
        }
        // A resubmission is answered from the pool without paying for signature recovery again.
        if self.mempool.lock().contains(&keccak256(raw)) {
            return Err(MempoolError::AlreadyKnown.into());
        }
        let tx = SignedTransaction::decode(raw, &limits)?;
        let hash = tx.hash();
        {
            // Read the committed account under the pool lock: the producer prunes under the same lock after each
            // commit, so a transaction made stale by a commit can never slip in behind the prune.
            let mut pool = self.mempool.lock();
            let account = self.chain.state().latest().account(tx.sender())?;
            pool.insert(tx, SenderState { nonce: account.nonce, balance: account.balance })?;
            self.metrics.mempool_size.set(pool.len() as i64);
        }
        self.tx_arrived.notify_one();
        Ok(hash)
    }

    /// Nonce for the sender's next transaction counting pooled ones.
    pub fn pending_nonce(&self, address: Address) -> Result<u64, StateError> {
        let committed = self.chain.state().latest().account(address)?.nonce;
        Ok(self.mempool.lock().pending_nonce(address, committed))
    }
}

/// Where a started node can be reached.
#[derive(Debug, Clone, Copy)]
pub struct Endpoints {
    /// JSON-RPC (HTTP and WebSocket).
    pub rpc: SocketAddr,
    /// Metrics.
    pub metrics: SocketAddr,
}

/// Port overrides given on the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct PortOverrides {
    /// JSON-RPC port.
    pub rpc: Option<u16>,
    /// Metrics port.
    pub metrics: Option<u16>,
    /// P2P port.
    pub p2p: Option<u16>,
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Loads the home directory's config, genesis and key, and runs the node until Ctrl-C or SIGTERM.
pub async fn run(home: &Path, ports: PortOverrides) -> anyhow::Result<()> {
    let mut config = NodeConfig::load(home)?;
    if let Some(p) = ports.rpc {
        config.rpc.listen.set_port(p);
    }
    if let Some(p) = ports.metrics {
        config.metrics.listen.set_port(p);
    }
    if let Some(p) = ports.p2p {
        config.p2p.listen.set_port(p);
    }
    let genesis_path = NodeConfig::resolve(home, &config.node.genesis);
    let genesis_text = std::fs::read_to_string(&genesis_path)
        .with_context(|| format!("cannot read genesis {}", genesis_path.display()))?;
    let genesis = Genesis::from_json(&genesis_text).with_context(|| format!("in {}", genesis_path.display()))?;
    let key_path = NodeConfig::resolve(home, &config.node.node_key);
    let key_text =
        std::fs::read_to_string(&key_path).with_context(|| format!("cannot read node key {}", key_path.display()))?;
    let key = KeyPair::from_hex(&key_text).with_context(|| format!("in {}", key_path.display()))?;

    if genesis.validators.len() != 1 {
        anyhow::bail!(
            "genesis lists {} validators; this build commits blocks with a single validator only \
             (multi-validator PBFT consensus is not implemented yet)",
            genesis.validators.len()
        );
    }
    if genesis.validators[0].address != key.address() {
        anyhow::bail!(
            "node key {} is not the genesis validator {}; observers are not supported yet",
            key.address(),
            genesis.validators[0].address
        );
    }

    let data_dir: PathBuf = NodeConfig::resolve(home, &config.node.data_dir);
    std::fs::create_dir_all(&data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    let chain = Arc::new(Chain::open(&data_dir, genesis.clone()).with_context(|| {
        format!("cannot open the chain database in {} (is another accord process using it?)", data_dir.display())
    })?);
    let head = chain.head();
    tracing::info!(name = %config.node.name, height = head.number, hash = %head.hash(), state_root = %head.state_root, "chain opened");

    let metrics = Metrics::new()?;
    metrics.height.set(head.number as i64);
    let ctx = Arc::new(NodeContext {
        mempool: Mutex::new(Mempool::new(config.mempool, genesis.params.block_gas_limit, genesis.params.base_fee)),
        chain: chain.clone(),
        metrics: metrics.clone(),
        tx_arrived: Notify::new(),
        name: config.node.name.clone(),
        node_address: key.address(),
        max_block_range: config.rpc.max_block_range,
    });

    let (metrics_addr, metrics_task) = metrics
        .clone()
        .serve(config.metrics.listen)
        .await
        .with_context(|| format!("cannot listen for metrics on {}", config.metrics.listen))?;
    let (rpc_addr, rpc_handle) = crate::rpc::start(ctx.clone(), config.rpc.listen, config.rpc.max_connections)
        .await
        .with_context(|| format!("cannot listen for JSON-RPC on {}", config.rpc.listen))?;
    tracing::info!(rpc = %rpc_addr, metrics = %metrics_addr, "serving");
    // One line on stdout for scripts and humans.
    println!("accord node {} ready: rpc http://{rpc_addr} metrics http://{metrics_addr}/metrics", config.node.name);

    let producer = tokio::spawn(produce_blocks(
        ctx.clone(),
        key,
        config.producer.block_interval_ms,
        config.producer.max_block_txs,
    ));
    metrics.set_ready(true);

    shutdown_signal().await;
    tracing::info!("shutting down");
    metrics.set_ready(false);
    producer.abort();
    let _ = producer.await;
    let _ = rpc_handle.stop();
    rpc_handle.stopped().await;
    metrics_task.abort();
    chain.flush()?;
    tracing::info!(height = chain.head().number, "stopped cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// The single-validator block producer: whenever transactions are waiting (and at most once per interval) it
/// builds a block, certifies it with the node key (a quorum of one), and commits it.
async fn produce_blocks(ctx: Arc<NodeContext>, key: KeyPair, interval_ms: u64, max_block_txs: usize) {
    let interval = Duration::from_millis(interval_ms);
    let mut last = Instant::now() - interval;
    loop {
        if ctx.mempool.lock().is_empty() {
            // Wake on arrival, or re-check periodically in case a notification raced with the check.
            let _ = tokio::time::timeout(Duration::from_millis(500), ctx.tx_arrived.notified()).await;
            continue;
        }
        let since = last.elapsed();
        if since < interval {
            tokio::time::sleep(interval - since).await;
        }
        last = Instant::now();
        let ctx2 = ctx.clone();
        let key2 = key.clone();
        let result = tokio::task::spawn_blocking(move || produce_one(&ctx2, &key2, max_block_txs)).await;
        match result {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                // Only transactions waiting on a nonce gap: sleep until something new arrives.
                let _ = tokio::time::timeout(Duration::from_secs(1), ctx.tx_arrived.notified()).await;
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "block production failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "block production task panicked");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Builds and commits one block; `Ok(false)` when no pooled transaction can run yet.
fn produce_one(ctx: &NodeContext, key: &KeyPair, max_block_txs: usize) -> anyhow::Result<bool> {
    let chain = &ctx.chain;
    let started = Instant::now();
    let state = chain.state().latest();
    let nonce_of = |a: Address| state.account(a).map(|acct| acct.nonce).unwrap_or(u64::MAX);
    let candidates = ctx.mempool.lock().ready(nonce_of, max_block_txs, chain.genesis().params.block_gas_limit);
    if candidates.is_empty() {
        return Ok(false);
    }
    let executed = chain.build_block(candidates, now_secs(), key.address())?;
    {
        let mut pool = ctx.mempool.lock();
        for (hash, reason) in &executed.skipped {
            // Drop only what can never run; a transaction that merely did not fit (or waits on an earlier one)
            // stays for the next block.
            let permanent = match reason {
                TxRejection::Nonce { expected, got } => got < expected,
                TxRejection::BlockGasExhausted => false,
                TxRejection::InsufficientFunds { .. }
                | TxRejection::ExceedsBlockGasLimit
                | TxRejection::FeeCapTooLow => true,
            };
            if permanent && let Some(tx) = pool.get(hash) {
                tracing::debug!(%hash, %reason, "dropping transaction that can no longer run");
                pool.remove(hash, state.account(tx.sender()).map(|a| a.nonce).unwrap_or(0));
            }
        }
    }
    if executed.block.transactions.is_empty() {
        return Ok(false);
    }
    let header = &executed.block.header;
    let certificate = CommitCertificate::sign(key, header, 0)?;
    let senders: Vec<Address> = executed.block.transactions.iter().map(|t| t.sender()).collect();
    let n_txs = senders.len();
    let header = chain.commit(executed, certificate)?;
    let state = chain.state().latest();
    let nonce_of = |a: Address| state.account(a).map(|acct| acct.nonce).unwrap_or(0);
    let pool_len = {
        let mut pool = ctx.mempool.lock();
        pool.prune(nonce_of, senders);
        pool.len()
    };
    ctx.metrics.block_commit_seconds.observe(started.elapsed().as_secs_f64());
    ctx.metrics.height.set(header.number as i64);
    ctx.metrics.txs_committed.inc_by(n_txs as u64);
    ctx.metrics.mempool_size.set(pool_len as i64);
    tracing::info!(number = header.number, txs = n_txs, hash = %header.hash(), ms = started.elapsed().as_millis() as u64, "committed block");
    Ok(true)
}
