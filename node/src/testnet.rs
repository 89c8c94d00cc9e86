//! `accord testnet`: writes the home directories of a local network and its funded dev accounts.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use accord_sdk::block::Validator;
use accord_sdk::crypto::CryptoSuite;
use accord_sdk::genesis::{ChainParams, Genesis};
use accord_sdk::governance::Committee;
use accord_sdk::keys::KeyPair;
use accord_sdk::{Address, U256};
use serde::{Deserialize, Serialize};

use crate::config::{
    ConsensusSection, MetricsSection, NodeConfig, NodeSection, P2pSection, ProducerSection, RpcSection,
};
use crate::mempool::MempoolLimits;

/// Options of a generated network.
#[derive(Debug, Clone)]
pub struct TestnetSpec {
    /// Number of validators.
    pub validators: usize,
    /// Number of observers (nodes after the validators: they sync and serve reads, never vote).
    pub observers: usize,
    /// Number of funded dev accounts.
    pub accounts: usize,
    /// Chain id.
    pub chain_id: u64,
    /// Node I serves JSON-RPC on `rpc_port + I`.
    pub rpc_port: u16,
    /// Node I serves metrics on `metrics_port + I`.
    pub metrics_port: u16,
    /// Node I accepts peers on `p2p_port + I`.
    pub p2p_port: u16,
    /// Genesis timestamp.
    pub timestamp: u64,
    /// Governors: the first this many dev accounts, weight 1 each (0: no committee, the chain is not governed).
    pub governors: usize,
}

/// A dev account in `accounts.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevAccount {
    /// Address.
    pub address: Address,
    /// Hex secret key.
    pub private_key: String,
}

/// Balance of each dev account: one million ether.
pub fn dev_balance() -> U256 {
    U256::from(10u64).pow(U256::from(24u8))
}

fn port(base: u16, i: usize) -> anyhow::Result<u16> {
    u16::try_from(usize::from(base) + i).map_err(|_| anyhow::anyhow!("port {base} + {i} is above 65535"))
}

fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Writes `out/nodeI/{config.toml,genesis.json,node.key}` and `out/accounts.json`; returns the node homes.
/// Nodes `0..validators` are the validators, the rest observers; node I listens on the base ports + I.
pub fn generate(out: &Path, spec: &TestnetSpec) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::ensure!(spec.validators >= 1, "--validators must be at least 1");
    anyhow::ensure!(spec.chain_id != 0, "--chain-id must be non-zero");
    anyhow::ensure!(
        spec.governors <= spec.accounts,
        "--governors {} needs at least that many dev accounts (--accounts {})",
        spec.governors,
        spec.accounts
    );
    if out.join("node0").exists() {
        anyhow::bail!("{} already holds a network (node0 exists); choose another --out or remove it", out.display());
    }
    std::fs::create_dir_all(out)?;
    let nodes = spec.validators + spec.observers;
    let node_keys: Vec<KeyPair> = (0..nodes).map(|_| KeyPair::generate()).collect();
    let accounts: Vec<KeyPair> = (0..spec.accounts).map(|_| KeyPair::generate()).collect();
    let mut members = Vec::new();
    for (i, k) in node_keys.iter().enumerate() {
        members.push(Validator::from_key(format!("node{i}"), k, format!("127.0.0.1:{}", port(spec.p2p_port, i)?)));
    }
    let observers = members.split_off(spec.validators);
    let validators = members;
    let alloc: BTreeMap<Address, U256> = accounts.iter().map(|a| (a.address(), dev_balance())).collect();
    let genesis = Genesis {
        chain_id: spec.chain_id,
        timestamp: spec.timestamp,
        crypto: CryptoSuite::default(),
        validators,
        observers,
        alloc,
        params: ChainParams::default(),
        committee: (spec.governors > 0).then(|| Committee {
            governors: accounts[..spec.governors].iter().map(|a| (a.address(), 1)).collect(),
            participation_pct: 50,
            win_pct: 50,
            lifetime_blocks: 1_000,
        }),
        vm: Some(engine_identity()?),
    };
    genesis.validate()?;
    let genesis_json = serde_json::to_string_pretty(&genesis)?;
    let mut homes = Vec::new();
    for (i, k) in node_keys.iter().enumerate() {
        let home = out.join(format!("node{i}"));
        std::fs::create_dir_all(&home)?;
        let cfg = NodeConfig {
            node: NodeSection {
                name: format!("node{i}"),
                data_dir: "data".into(),
                genesis: "genesis.json".into(),
                node_key: "node.key".into(),
            },
            rpc: RpcSection::at(SocketAddr::from((Ipv4Addr::LOCALHOST, port(spec.rpc_port, i)?))),
            metrics: MetricsSection { listen: SocketAddr::from((Ipv4Addr::LOCALHOST, port(spec.metrics_port, i)?)) },
            p2p: P2pSection { listen: SocketAddr::from((Ipv4Addr::LOCALHOST, port(spec.p2p_port, i)?)) },
            producer: ProducerSection::default(),
            consensus: ConsensusSection::default(),
            mempool: MempoolLimits::default(),
            emergency: None,
            sync: crate::sync::SyncConfig::default(),
        };
        std::fs::write(home.join(NodeConfig::FILE), toml::to_string_pretty(&cfg)?)?;
        std::fs::write(home.join("genesis.json"), &genesis_json)?;
        write_secret(&home.join("node.key"), &format!("{}\n", k.secret_hex()))?;
        homes.push(home);
    }
    let dev: Vec<DevAccount> =
        accounts.iter().map(|a| DevAccount { address: a.address(), private_key: a.secret_hex() }).collect();
    write_secret(&out.join("accounts.json"), &serde_json::to_string_pretty(&dev)?)?;
    Ok(homes)
}

/// This build's contract engine, as a genesis names it.
pub fn engine_identity() -> anyhow::Result<accord_sdk::genesis::VmIdentity> {
    let id = accord_vm::identity()?;
    Ok(accord_sdk::genesis::VmIdentity { engine: id.engine, fingerprint: id.fingerprint })
}
