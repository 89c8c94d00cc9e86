//! The running node: chain, mempool, networking, block production (PBFT or the single-validator producer), block
//! sync, RPC and metrics wired together.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use accord_consensus::PbftConfig;
use accord_sdk::block::{CommitCertificate, Header};
use accord_sdk::genesis::Genesis;
use accord_sdk::keys::KeyPair;
use accord_sdk::tx::{SignedTransaction, TxError};
use accord_sdk::{Address, B256, keccak256};
use anyhow::Context as _;
use libp2p::{Multiaddr, PeerId};
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc};

use crate::chain::{Chain, ChainError, ExecutedBlock};
use crate::config::NodeConfig;
use crate::dispatch::Dispatch;
use crate::executor::TxRejection;
use crate::mempool::{Mempool, MempoolError, SenderState};
use crate::metrics::Metrics;
use crate::network::{Member, Network, multiaddr_of, peer_id_of};
use crate::pbft::driver::{ConsensusDriver, DriverError, Pacing};
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
            Self::State(_) => "internal",
        }
    }
}

/// Shared state of a running node, used by the RPC server, block production (the single-validator producer or the
/// PBFT driver), block sync and transaction gossip.
#[derive(Debug)]
pub struct NodeContext {
    /// The chain.
    pub chain: Arc<Chain>,
    /// The transaction pool.
    pub mempool: Mutex<Mempool>,
    /// Metrics.
    pub metrics: Metrics,
    /// Wakes the block producer when transactions arrive.
    pub tx_arrived: Notify,
    /// Node's name from config.
    pub name: String,
    /// Node key's address.
    pub node_address: Address,
    /// RPC limits.
    pub max_block_range: u64,
    /// Most gas one RPC simulation may use.
    pub rpc_gas_cap: u64,
    /// Simulations running at once (`eth_call`, `eth_estimateGas`): each can burn up to the gas cap of CPU.
    pub simulations: tokio::sync::Semaphore,
    /// Transactions accepted from clients go here to be gossiped to the other members (none on a lone node).
    pub gossip: Option<mpsc::Sender<Vec<u8>>>,
    /// Head height when the current (or last) block sync began: `eth_syncing`'s `startingBlock`.
    pub sync_started_at: std::sync::atomic::AtomicU64,
}

impl NodeContext {
    /// Verifies and pools a raw transaction from a client, and gossips it to the other members; returns its hash.
    pub fn submit_raw(&self, raw: &[u8]) -> Result<B256, SubmitError> {
        let result = self.submit_inner(raw);
        match &result {
            Err(e) => self.metrics.txs_rejected.with_label_values(&[e.reason()]).inc(),
            Ok(_) => {
                if let Some(g) = &self.gossip
                    && g.try_send(raw.to_vec()).is_err()
                {
                    // Pooled here all the same: it is proposed when this node leads, or re-sent by the client.
                    tracing::debug!("gossip queue full; transaction kept locally only");
                }
            }
        }
        result
    }

    /// Pools a transaction another member gossiped. Not forwarded again: every member is connected to every other,
    /// and the member that accepted it from the client sent it to all of them.
    pub fn submit_gossiped(&self, raw: &[u8]) -> Result<B256, SubmitError> {
        self.submit_inner(raw)
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
            // Read the committed account under the pool lock: commits prune under the same lock, so a transaction
            // made stale by a commit can never slip in behind the prune.
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

    /// Builds and executes a block on the head from the pool's runnable transactions (possibly none), dropping
    /// from the pool what can never run.
    pub fn build_from_pool(
        &self,
        proposer: Address,
        timestamp: u64,
        max_block_txs: usize,
    ) -> Result<ExecutedBlock, ChainError> {
        let chain = &self.chain;
        let state = chain.state().latest();
        let nonce_of = |a: Address| state.account(a).map(|acct| acct.nonce).unwrap_or(u64::MAX);
        let candidates = self.mempool.lock().ready(nonce_of, max_block_txs, chain.genesis().params.block_gas_limit);
        let executed = chain.build_block(candidates, timestamp, proposer)?;
        let mut pool = self.mempool.lock();
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
        Ok(executed)
    }

    /// Commits an executed block with its certificate (verified here unless it already was), then prunes the pool
    /// and updates metrics. Used by the single-validator producer, the PBFT driver and block sync alike.
    pub fn commit(
        &self,
        executed: ExecutedBlock,
        certificate: impl Into<Certified>,
        source: &'static str,
    ) -> Result<Header, ChainError> {
        let started = Instant::now();
        let senders: Vec<Address> = executed.block.transactions.iter().map(|t| t.sender()).collect();
        let n_txs = senders.len();
        let header = match certificate.into() {
            Certified::Unchecked(c) => self.chain.commit(executed, c)?,
            Certified::Verified(v) => self.chain.commit_verified(executed, v)?,
        };
        let state = self.chain.state().latest();
        let nonce_of = |a: Address| state.account(a).map(|acct| acct.nonce).unwrap_or(0);
        let pool_len = {
            let mut pool = self.mempool.lock();
            pool.prune(nonce_of, senders);
            pool.len()
        };
        self.metrics.block_commit_seconds.observe(started.elapsed().as_secs_f64());
        self.metrics.height.set(header.number as i64);
        self.metrics.txs_committed.inc_by(n_txs as u64);
        self.metrics.mempool_size.set(pool_len as i64);
        if source == "sync" {
            tracing::debug!(number = header.number, txs = n_txs, hash = %header.hash(), "synced block");
        } else {
            tracing::info!(number = header.number, txs = n_txs, hash = %header.hash(), source, "committed block");
        }
        Ok(header)
    }
}

/// A block's certificate as a committer holds it.
#[derive(Debug)]
pub enum Certified {
    /// Not yet checked: the chain verifies it.
    Unchecked(CommitCertificate),
    /// Already checked (block sync verifies before executing).
    Verified(accord_sdk::block::VerifiedCertificate),
}

impl From<CommitCertificate> for Certified {
    fn from(c: CommitCertificate) -> Self {
        Self::Unchecked(c)
    }
}

impl From<accord_sdk::block::VerifiedCertificate> for Certified {
    fn from(v: accord_sdk::block::VerifiedCertificate) -> Self {
        Self::Verified(v)
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

/// Seconds since the Unix epoch from the wall clock: the timestamp a proposer puts in its block. Consensus and
/// execution never read it; they take the timestamp from the header.
pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// What this node does in the consortium, from where its key appears in the genesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Validator at this index of the set.
    Validator(usize),
    /// Observer: syncs and serves reads, never votes.
    Observer,
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

    let role = match genesis.validator_set().index_of(&key.address()) {
        Some(i) => Role::Validator(i),
        None if genesis.observers.iter().any(|o| o.address == key.address()) => Role::Observer,
        None => anyhow::bail!(
            "node key {} ({}) is neither a validator nor an observer in {}; the consortium's node list must name it",
            key.address(),
            key_path.display(),
            genesis_path.display()
        ),
    };
    let mut members = Vec::new();
    for m in genesis.members() {
        members.push(Member {
            peer: peer_id_of(&m.public_key).with_context(|| format!("genesis member {}", m.name))?,
            address: multiaddr_of(&m.p2p_address).with_context(|| format!("genesis member {}", m.name))?,
        });
    }

    let data_dir: PathBuf = NodeConfig::resolve(home, &config.node.data_dir);
    std::fs::create_dir_all(&data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    let chain = Arc::new(Chain::open(&data_dir, genesis.clone()).with_context(|| {
        format!("cannot open the chain database in {} (is another accord process using it?)", data_dir.display())
    })?);
    let head = chain.head();
    tracing::info!(name = %config.node.name, ?role, height = head.number, hash = %head.hash(), state_root = %head.state_root, "chain opened");

    let listen =
        Multiaddr::from(config.p2p.listen.ip()).with(libp2p::multiaddr::Protocol::Tcp(config.p2p.listen.port()));
    let mut network = Network::start(key.secret_bytes(), listen, &members)
        .with_context(|| format!("cannot start p2p networking on {}", config.p2p.listen))?;
    let net = network.sender();
    let events = network.take_events();
    let lone = members.len() == 1;
    let (gossip_tx, gossip_rx) = mpsc::channel(65_536);

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
        rpc_gas_cap: config.rpc.gas_cap,
        simulations: tokio::sync::Semaphore::new(config.rpc.max_concurrent_simulations as usize),
        gossip: (!lone).then_some(gossip_tx),
        sync_started_at: Default::default(),
    });

    let (metrics_addr, metrics_task) = metrics
        .clone()
        .serve(config.metrics.listen)
        .await
        .with_context(|| format!("cannot listen for metrics on {}", config.metrics.listen))?;
    let (rpc_addr, rpc_handle) = crate::rpc::start(ctx.clone(), config.rpc.listen, config.rpc.max_connections)
        .await
        .with_context(|| format!("cannot listen for JSON-RPC on {}", config.rpc.listen))?;

    let peers = Arc::new(Mutex::new(BTreeSet::new()));
    let sync_trigger = Arc::new(Notify::new());
    let mut tasks: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    tasks.push(tokio::spawn(crate::dispatch::gossip(gossip_rx, net.clone())));
    let n_validators = genesis.validators.len();
    let votes = matches!(role, Role::Validator(_)) && n_validators > 1;
    tasks.push(tokio::spawn(crate::sync::run(ctx.clone(), net.clone(), peers.clone(), sync_trigger.clone(), votes)));
    let (consensus_tx, consensus_rx) = mpsc::channel(8_192);
    let mut driver: Option<tokio::task::JoinHandle<Result<(), DriverError>>> = None;
    match role {
        Role::Validator(_) if n_validators == 1 => {
            tasks.push(tokio::spawn(crate::producer::produce_blocks(
                ctx.clone(),
                key.clone(),
                config.producer.block_interval_ms,
                config.producer.max_block_txs,
            )));
        }
        Role::Validator(me) => {
            let validator_peers: Vec<PeerId> = members[..n_validators].iter().map(|m| m.peer).collect();
            let c = config.consensus;
            let pbft = PbftConfig { base_timeout: c.timeout_ms, max_timeout: c.max_timeout_ms, ..Default::default() };
            let pacing = Pacing {
                block_interval: Duration::from_millis(config.producer.block_interval_ms),
                empty_block_interval: Duration::from_millis(c.empty_block_interval_ms),
                max_block_txs: config.producer.max_block_txs,
                max_future_secs: genesis.params.max_future_block_seconds,
            };
            let d = ConsensusDriver::new(
                ctx.clone(),
                key.clone(),
                me,
                validator_peers,
                net.clone(),
                pbft,
                pacing,
                sync_trigger.clone(),
            )?;
            driver = Some(tokio::spawn(d.run(consensus_rx)));
        }
        Role::Observer => {}
    }
    let dispatch = Dispatch {
        ctx: ctx.clone(),
        net: net.clone(),
        peers,
        sync_trigger,
        consensus: votes.then_some(consensus_tx),
        gossip_workers: Arc::new(tokio::sync::Semaphore::new(crate::dispatch::GOSSIP_WORKERS)),
        sync_workers: Arc::new(tokio::sync::Semaphore::new(crate::dispatch::SYNC_WORKERS)),
    };
    tasks.push(tokio::spawn(dispatch.run(events)));

    tracing::info!(rpc = %rpc_addr, metrics = %metrics_addr, p2p = %config.p2p.listen, peer_id = %network.local_peer_id, "serving");
    let role_text = match role {
        Role::Validator(i) => format!("validator {i} of {n_validators}"),
        Role::Observer => "observer".to_string(),
    };
    // One line on stdout for scripts and humans.
    println!(
        "accord node {} ready ({role_text}): rpc http://{rpc_addr} metrics http://{metrics_addr}/metrics p2p {}",
        config.node.name, config.p2p.listen
    );
    metrics.set_ready(true);

    let outcome = match driver.as_mut() {
        Some(d) => tokio::select! {
            _ = shutdown_signal() => Ok(()),
            r = d => match r {
                Ok(Ok(())) => Err(anyhow::anyhow!("consensus stopped")),
                Ok(Err(e)) => Err(anyhow::Error::new(e).context("consensus stopped")),
                Err(e) => Err(anyhow::anyhow!("consensus task failed: {e}")),
            },
        },
        None => {
            shutdown_signal().await;
            Ok(())
        }
    };
    tracing::info!("shutting down");
    metrics.set_ready(false);
    if let Some(d) = driver {
        d.abort();
        let _ = d.await;
    }
    for t in tasks {
        t.abort();
        let _ = t.await;
    }
    drop(network);
    let _ = rpc_handle.stop();
    rpc_handle.stopped().await;
    metrics_task.abort();
    chain.flush()?;
    tracing::info!(height = chain.head().number, "stopped cleanly");
    outcome
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
