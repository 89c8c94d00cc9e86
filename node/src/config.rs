//! The node's TOML configuration (`config.toml` in the node's home directory).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::mempool::MempoolLimits;

/// Everything an operator sets for one node. Relative paths are relative to the home directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Identity and files.
    pub node: NodeSection,
    /// JSON-RPC endpoint.
    pub rpc: RpcSection,
    /// Prometheus endpoint.
    pub metrics: MetricsSection,
    /// Peer-to-peer endpoint (used once the node joins a multi-validator network).
    pub p2p: P2pSection,
    /// Block production.
    #[serde(default)]
    pub producer: ProducerSection,
    /// PBFT timing (multi-validator chains).
    #[serde(default)]
    pub consensus: ConsensusSection,
    /// Transaction pool bounds.
    #[serde(default)]
    pub mempool: MempoolLimits,
    /// Block sync timing.
    #[serde(default)]
    pub sync: crate::sync::SyncConfig,
    /// Lost-quorum recovery: a new validator set and/or committee from a given height (`docs/governance.md`,
    /// "Lost quorum"). Every node must carry the same one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<crate::governance::emergency::EmergencyTransition>,
}

/// `[node]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// Name shown in logs and status.
    pub name: String,
    /// RocksDB directory.
    pub data_dir: PathBuf,
    /// Genesis document.
    pub genesis: PathBuf,
    /// File holding the node's secp256k1 secret key (hex).
    pub node_key: PathBuf,
}

/// `[rpc]`: the endpoint and every bound on the work one client can ask of it (`docs/rpc.md`, "Limits").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpcSection {
    /// Address for JSON-RPC over HTTP and WebSocket.
    pub listen: SocketAddr,
    /// Most concurrent connections.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Most calls in one JSON-RPC batch.
    #[serde(default = "default_max_batch_size")]
    pub max_batch_size: u32,
    /// Most blocks one `eth_getLogs`, `eth_getFilterLogs`, filter poll or `eth_feeHistory` call may span.
    #[serde(default = "default_max_block_range")]
    pub max_block_range: u64,
    /// Most logs one `eth_getLogs` or `eth_getFilterLogs` call returns (a filter poll returns at most this many and
    /// the rest on the next poll).
    #[serde(default = "default_max_logs")]
    pub max_logs: usize,
    /// Log queries (`eth_getLogs`, `eth_getFilterLogs`, log-filter polls) and `eth_feeHistory` with reward
    /// percentiles running at once; more are refused as busy.
    #[serde(default = "default_max_concurrent_queries")]
    pub max_concurrent_queries: u32,
    /// Most gas one `eth_call` or `eth_estimateGas` simulation may use (requests asking for more get this much).
    #[serde(default = "default_gas_cap")]
    pub gas_cap: u64,
    /// Most gas all the simulations of one `eth_estimateGas` may burn together (its search stops there and answers
    /// the least gas known to succeed).
    #[serde(default = "default_estimate_gas_budget")]
    pub estimate_gas_budget: u64,
    /// Simulations (`eth_call`, `eth_estimateGas`, `eth_createAccessList`) run at once; more are refused as busy.
    #[serde(default = "default_max_simulations")]
    pub max_concurrent_simulations: u32,
    /// Most `eth_subscribe` subscriptions one WebSocket connection may hold.
    #[serde(default = "default_max_subscriptions_per_connection")]
    pub max_subscriptions_per_connection: u32,
    /// Most subscriptions the node holds over all connections.
    #[serde(default = "default_max_subscriptions")]
    pub max_subscriptions: u32,
    /// Most filters (`eth_newFilter`, `eth_newBlockFilter`, `eth_newPendingTransactionFilter`) one connection may
    /// install.
    #[serde(default = "default_max_filters_per_connection")]
    pub max_filters_per_connection: u32,
    /// Most filters installed over all connections.
    #[serde(default = "default_max_filters")]
    pub max_filters: u32,
    /// A filter not polled for this long is removed, as geth does after 5 minutes.
    #[serde(default = "default_filter_timeout_secs")]
    pub filter_timeout_secs: u64,
}

impl RpcSection {
    /// The endpoint at `listen` with every limit at its default.
    pub fn at(listen: SocketAddr) -> Self {
        Self {
            listen,
            max_connections: default_max_connections(),
            max_batch_size: default_max_batch_size(),
            max_block_range: default_max_block_range(),
            max_logs: default_max_logs(),
            max_concurrent_queries: default_max_concurrent_queries(),
            gas_cap: default_gas_cap(),
            estimate_gas_budget: default_estimate_gas_budget(),
            max_concurrent_simulations: default_max_simulations(),
            max_subscriptions_per_connection: default_max_subscriptions_per_connection(),
            max_subscriptions: default_max_subscriptions(),
            max_filters_per_connection: default_max_filters_per_connection(),
            max_filters: default_max_filters(),
            filter_timeout_secs: default_filter_timeout_secs(),
        }
    }
}

fn default_gas_cap() -> u64 {
    // The default block gas limit: at the schedule's 1 gas ≈ 1 ns, 0.3 s of CPU, and a creation of a large contract
    // (900 gas per module byte) must still be estimable.
    300_000_000
}
fn default_estimate_gas_budget() -> u64 {
    4 * default_gas_cap()
}
fn default_max_simulations() -> u32 {
    2
}
fn default_max_connections() -> u32 {
    200
}
fn default_max_batch_size() -> u32 {
    1_000
}
fn default_max_block_range() -> u64 {
    1_024
}
fn default_max_logs() -> usize {
    10_000
}
fn default_max_concurrent_queries() -> u32 {
    4
}
fn default_max_subscriptions_per_connection() -> u32 {
    64
}
fn default_max_subscriptions() -> u32 {
    1_024
}
fn default_max_filters_per_connection() -> u32 {
    64
}
fn default_max_filters() -> u32 {
    1_024
}
fn default_filter_timeout_secs() -> u64 {
    300
}

/// `[metrics]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Address for `/metrics`, `/healthz`, `/readyz`.
    pub listen: SocketAddr,
    /// `/readyz` answers 503 while the node trails the head at least f + 1 members report by more blocks than this.
    #[serde(default = "default_ready_max_lag")]
    pub ready_max_lag: u64,
}

impl MetricsSection {
    /// The endpoint at `listen` with the default readiness lag.
    pub fn at(listen: SocketAddr) -> Self {
        Self { listen, ready_max_lag: default_ready_max_lag() }
    }
}

fn default_ready_max_lag() -> u64 {
    crate::metrics::DEFAULT_READY_MAX_LAG
}

/// `[p2p]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P2pSection {
    /// Address to accept peers on.
    pub listen: SocketAddr,
}

/// `[producer]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProducerSection {
    /// Shortest time between two blocks; transactions arriving meanwhile go into the next block.
    pub block_interval_ms: u64,
    /// Most transactions in one block.
    pub max_block_txs: usize,
}

impl Default for ProducerSection {
    fn default() -> Self {
        Self { block_interval_ms: 200, max_block_txs: 5_000 }
    }
}

/// `[consensus]`: PBFT timing. Every validator of a chain should use the same values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusSection {
    /// Timeout of a height's first view; each further view doubles it. Must exceed `heartbeat_interval_ms`
    /// plus the time to build and execute a full block, or a leader is voted out.
    pub timeout_ms: u64,
    /// Upper bound of the doubling timeout.
    pub max_timeout_ms: u64,
    /// How often an idle leader tells the other validators it is alive. Idle chains store no empty blocks: a
    /// replica that hears no heartbeat (and no proposal) within `timeout_ms` votes the leader out, and one that
    /// holds transactions ready to run ignores heartbeats, so a leader cannot censor by heartbeating. Earlier
    /// releases called this `empty_block_interval_ms`; that name is still read.
    #[serde(alias = "empty_block_interval_ms")]
    pub heartbeat_interval_ms: u64,
}

impl Default for ConsensusSection {
    fn default() -> Self {
        Self { timeout_ms: 4_000, max_timeout_ms: 60_000, heartbeat_interval_ms: 1_000 }
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// File missing or unreadable.
    #[error("cannot read {path}: {source}")]
    Read {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML of the expected shape.
    #[error("invalid config {path}: {source}")]
    Parse {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: Box<toml::de::Error>,
    },
    /// A value is out of range.
    #[error("invalid config {path}: {detail}")]
    Invalid {
        /// Path.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

impl NodeConfig {
    /// File name inside a node's home.
    pub const FILE: &'static str = "config.toml";

    /// Loads `home/config.toml`.
    pub fn load(home: &Path) -> Result<Self, ConfigError> {
        let path = home.join(Self::FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        let cfg: Self = toml::from_str(&text)
            .map_err(|source| ConfigError::Parse { path: path.clone(), source: Box::new(source) })?;
        let invalid = |detail: &str| Err(ConfigError::Invalid { path: path.clone(), detail: detail.into() });
        if cfg.producer.max_block_txs == 0 {
            return invalid("producer.max_block_txs must be positive");
        }
        if cfg.mempool.max_txs == 0 || cfg.mempool.max_per_sender == 0 || cfg.mempool.max_bytes == 0 {
            return invalid("mempool limits must be positive");
        }
        let c = cfg.consensus;
        if c.timeout_ms == 0 || c.max_timeout_ms < c.timeout_ms {
            return invalid("consensus.timeout_ms must be positive and at most consensus.max_timeout_ms");
        }
        if c.heartbeat_interval_ms == 0
            || c.heartbeat_interval_ms.saturating_add(cfg.producer.block_interval_ms) >= c.timeout_ms
        {
            return invalid(
                "consensus.heartbeat_interval_ms must be positive, and with producer.block_interval_ms below \
                 consensus.timeout_ms (an idle leader would be voted out)",
            );
        }
        if cfg.sync.progress_deadline_ms == 0 {
            return invalid("sync.progress_deadline_ms must be positive");
        }
        if cfg.sync.batch_blocks == 0 || cfg.sync.batch_blocks > crate::network::protocol::MAX_SYNC_BLOCKS {
            return invalid("sync.batch_blocks must be between 1 and 512");
        }
        if cfg.rpc.gas_cap < accord_sdk::tx::TX_BASE_GAS || cfg.rpc.max_concurrent_simulations == 0 {
            return invalid("rpc.gas_cap must cover a transfer (21000) and rpc.max_concurrent_simulations be positive");
        }
        let r = &cfg.rpc;
        for (name, value) in [
            ("rpc.max_block_range", r.max_block_range),
            ("rpc.max_batch_size", u64::from(r.max_batch_size)),
            ("rpc.max_logs", r.max_logs as u64),
            ("rpc.max_concurrent_queries", u64::from(r.max_concurrent_queries)),
            ("rpc.max_subscriptions_per_connection", u64::from(r.max_subscriptions_per_connection)),
            ("rpc.max_subscriptions", u64::from(r.max_subscriptions)),
            ("rpc.max_filters_per_connection", u64::from(r.max_filters_per_connection)),
            ("rpc.max_filters", u64::from(r.max_filters)),
            ("rpc.filter_timeout_secs", r.filter_timeout_secs),
        ] {
            if value == 0 {
                return invalid(&format!("{name} must be positive"));
            }
        }
        if r.estimate_gas_budget < r.gas_cap {
            return invalid("rpc.estimate_gas_budget must be at least rpc.gas_cap (one full simulation)");
        }
        Ok(cfg)
    }

    /// Resolves a configured path against the home directory.
    pub fn resolve(home: &Path, p: &Path) -> PathBuf {
        if p.is_absolute() { p.to_path_buf() } else { home.join(p) }
    }
}
