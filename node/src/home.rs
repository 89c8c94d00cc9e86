//! A node's home directory (`config.toml`, `genesis.json`, `node.key`, `data/`): what `accord init` writes for one
//! organisation's node and `accord testnet` for a whole local network.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use accord_sdk::genesis::Genesis;
use accord_sdk::keys::KeyPair;
use anyhow::Context as _;

use crate::config::{
    ConsensusSection, MetricsSection, NodeConfig, NodeSection, P2pSection, ProducerSection, RpcSection,
};
use crate::mempool::MempoolLimits;

/// Writes `text` to a new file at `path`, never over an existing one (a key, a member file or a genesis
/// overwritten is a node, an account or an agreement lost); with `secret`, readable by its owner only from the
/// moment it exists.
pub fn write_new(path: &Path, text: &str, secret: bool) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => anyhow::anyhow!("{} exists; refusing to overwrite it", path.display()),
        _ => anyhow::anyhow!("cannot create {}: {e}", path.display()),
    })?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// [`write_new`] of a secret (a key file, dev accounts).
pub fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    write_new(path, text, true)
}

/// The configuration of a node named `name` with these endpoints and every other setting at its default.
pub fn default_config(name: &str, rpc: SocketAddr, metrics: SocketAddr, p2p: SocketAddr) -> NodeConfig {
    NodeConfig {
        node: NodeSection {
            name: name.to_string(),
            data_dir: "data".into(),
            genesis: "genesis.json".into(),
            node_key: "node.key".into(),
        },
        rpc: RpcSection::at(rpc),
        metrics: MetricsSection::at(metrics),
        p2p: P2pSection { listen: p2p },
        producer: ProducerSection::default(),
        consensus: ConsensusSection::default(),
        mempool: MempoolLimits::default(),
        emergency: None,
        sync: crate::sync::SyncConfig::default(),
    }
}

/// Writes `config`, the genesis document and the node key into `home` (created if missing).
pub fn write(home: &Path, config: &NodeConfig, genesis_json: &str, key: &KeyPair) -> anyhow::Result<()> {
    std::fs::create_dir_all(home).with_context(|| format!("cannot create {}", home.display()))?;
    std::fs::write(home.join(NodeConfig::FILE), toml::to_string_pretty(config)?)?;
    std::fs::write(home.join("genesis.json"), genesis_json)?;
    write_secret(&home.join("node.key"), &format!("{}\n", key.secret_hex()))
}

/// What `accord init` is asked for.
#[derive(Debug, Clone)]
pub struct InitSpec {
    /// The home to create.
    pub home: PathBuf,
    /// The consortium's genesis.json.
    pub genesis: PathBuf,
    /// The node's secret key file.
    pub node_key: PathBuf,
    /// Name in logs (default: the genesis name of the key's node).
    pub name: Option<String>,
    /// JSON-RPC address.
    pub rpc: SocketAddr,
    /// Metrics address.
    pub metrics: SocketAddr,
    /// P2P address.
    pub p2p: SocketAddr,
}

/// Creates one organisation's node home from the agreed genesis and its node key, checking that the genesis names
/// this key (as a validator or an observer) before anything is written; returns the node's genesis name and role.
pub fn init(spec: &InitSpec) -> anyhow::Result<(String, &'static str)> {
    if spec.home.join(NodeConfig::FILE).exists() {
        anyhow::bail!("{} already holds a node (config.toml exists); choose another --home", spec.home.display());
    }
    let genesis_json = std::fs::read_to_string(&spec.genesis)
        .with_context(|| format!("cannot read the genesis {}", spec.genesis.display()))?;
    let genesis = Genesis::from_json(&genesis_json).with_context(|| spec.genesis.display().to_string())?;
    let key_text = std::fs::read_to_string(&spec.node_key)
        .with_context(|| format!("cannot read the node key {}", spec.node_key.display()))?;
    let key = KeyPair::from_hex(key_text.trim()).with_context(|| {
        format!("{} is not a secret key file (`accord keygen --out` writes one)", spec.node_key.display())
    })?;
    let (member, role) = match genesis.validators.iter().find(|v| v.address == key.address()) {
        Some(v) => (v, "validator"),
        None => match genesis.observers.iter().find(|v| v.address == key.address()) {
            Some(o) => (o, "observer"),
            None => anyhow::bail!(
                "{} names no node with key {} ({}): use the key whose member file went into the genesis",
                spec.genesis.display(),
                key.address(),
                spec.node_key.display()
            ),
        },
    };
    let name = spec.name.clone().unwrap_or_else(|| member.name.clone());
    let config = default_config(&name, spec.rpc, spec.metrics, spec.p2p);
    write(&spec.home, &config, &genesis_json, &key)?;
    Ok((name, role))
}

/// A stopped node's configuration, genesis and data directory, as `accord start` reads them.
pub fn load(home: &Path) -> anyhow::Result<(NodeConfig, Genesis, PathBuf)> {
    let config = NodeConfig::load(home)?;
    let genesis_path = NodeConfig::resolve(home, &config.node.genesis);
    let genesis = Genesis::from_json(
        &std::fs::read_to_string(&genesis_path).with_context(|| format!("cannot read {}", genesis_path.display()))?,
    )?;
    let data_dir = NodeConfig::resolve(home, &config.node.data_dir);
    Ok((config, genesis, data_dir))
}

/// Opens a stopped node's chain (RocksDB admits one process: a running node holds it), with its configuration.
pub fn open_chain(home: &Path) -> anyhow::Result<(NodeConfig, std::sync::Arc<crate::chain::Chain>)> {
    let (config, genesis, data_dir) = load(home)?;
    let chain = crate::chain::Chain::open_with(&data_dir, genesis, config.emergency.clone()).with_context(|| {
        format!("cannot open the chain database in {} (is the node still running? stop it first)", data_dir.display())
    })?;
    Ok((config, std::sync::Arc::new(chain)))
}
