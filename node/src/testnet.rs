//! `accord testnet`: writes the home directories of a local network and its funded dev accounts.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use accord_sdk::block::Validator;
use accord_sdk::crypto::CryptoSuite;
use accord_sdk::genesis::{ChainParams, Genesis};
use accord_sdk::governance::Committee;
use accord_sdk::keys::KeyPair;
use accord_sdk::{Address, U256};
use serde::{Deserialize, Serialize};

use crate::config::NodeConfig;
use crate::home;

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
    /// One host name or IP address per node, for nodes on hosts of their own (containers, machines): node I is
    /// reached at `hosts[I]`, and every node listens on all interfaces at the base ports. Empty: every node on this
    /// machine, on 127.0.0.1 at the base ports + I.
    pub hosts: Vec<String>,
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
    let nodes = spec.validators + spec.observers;
    anyhow::ensure!(
        spec.hosts.is_empty() || spec.hosts.len() == nodes,
        "--hosts names {} hosts but the network has {nodes} nodes ({} validators, {} observers): name one per node",
        spec.hosts.len(),
        spec.validators,
        spec.observers
    );
    if out.join("node0").join(NodeConfig::FILE).exists() {
        anyhow::bail!("{} already holds a network (node0 exists); choose another --out or remove it", out.display());
    }
    std::fs::create_dir_all(out)?;
    let node_keys: Vec<KeyPair> = (0..nodes).map(|_| KeyPair::generate()).collect();
    let accounts: Vec<KeyPair> = (0..spec.accounts).map(|_| KeyPair::generate()).collect();
    // Where node I listens (each endpoint's base port + offset) and where its peers reach it.
    let (listen_ip, offset): (IpAddr, fn(usize) -> usize) =
        if spec.hosts.is_empty() { (Ipv4Addr::LOCALHOST.into(), |i| i) } else { (Ipv4Addr::UNSPECIFIED.into(), |_| 0) };
    let mut members = Vec::new();
    for (i, k) in node_keys.iter().enumerate() {
        let p2p_port = port(spec.p2p_port, offset(i))?;
        let reach = match spec.hosts.get(i) {
            Some(host) => {
                let address = format!("{host}:{p2p_port}");
                crate::network::multiaddr_of(&address).map_err(|e| anyhow::anyhow!("--hosts: {e}"))?;
                address
            }
            None => format!("127.0.0.1:{p2p_port}"),
        };
        members.push(Validator::from_key(format!("node{i}"), k, reach));
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
        let dir = out.join(format!("node{i}"));
        let at = |base: u16| port(base, offset(i)).map(|p| SocketAddr::new(listen_ip, p));
        let config =
            home::default_config(&format!("node{i}"), at(spec.rpc_port)?, at(spec.metrics_port)?, at(spec.p2p_port)?);
        home::write(&dir, &config, &genesis_json, k)?;
        homes.push(dir);
    }
    let dev: Vec<DevAccount> =
        accounts.iter().map(|a| DevAccount { address: a.address(), private_key: a.secret_hex() }).collect();
    home::write_secret(&out.join("accounts.json"), &serde_json::to_string_pretty(&dev)?)?;
    Ok(homes)
}

/// Whether `out` already holds a complete network of `spec`'s size: every node home with its config, genesis and
/// key, all on one genesis, and the dev accounts. A partial one (an interrupted `generate`) is an error naming what
/// is missing, never silently reused or overwritten.
pub fn holds_network(out: &Path, spec: &TestnetSpec) -> anyhow::Result<bool> {
    let nodes = spec.validators + spec.observers;
    let files = |i: usize| {
        let home = out.join(format!("node{i}"));
        [home.join(NodeConfig::FILE), home.join("genesis.json"), home.join("node.key")]
    };
    let present: Vec<PathBuf> =
        (0..nodes).flat_map(files).chain([out.join("accounts.json")]).filter(|f| f.exists()).collect();
    if present.is_empty() {
        return Ok(false);
    }
    let missing: Vec<String> = (0..nodes)
        .flat_map(files)
        .chain([out.join("accounts.json")])
        .filter(|f| !f.exists())
        .map(|f| f.display().to_string())
        .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "{} holds an incomplete network (missing {}): remove it and generate again",
        out.display(),
        missing.join(", ")
    );
    let genesis = std::fs::read(out.join("node0").join("genesis.json"))?;
    for i in 1..nodes {
        anyhow::ensure!(
            std::fs::read(out.join(format!("node{i}")).join("genesis.json"))? == genesis,
            "{}: node{i} holds another genesis than node0: remove the network and generate again",
            out.display()
        );
    }
    Ok(true)
}

/// What `accord testnet` prints: each node's role, home and endpoints, and where the dev accounts are.
pub fn summary(out: &Path, spec: &TestnetSpec) -> String {
    let mut text = String::new();
    for i in 0..spec.validators + spec.observers {
        let role = if i < spec.validators { "validator" } else { "observer " };
        let (host, offset) = match spec.hosts.get(i) {
            Some(host) => (host.as_str(), 0),
            None => ("127.0.0.1", i),
        };
        let at = |base: u16| usize::from(base) + offset;
        text += &format!(
            "node{i} ({role}): home {}  rpc http://{host}:{}  metrics http://{host}:{}/metrics\n",
            out.join(format!("node{i}")).display(),
            at(spec.rpc_port),
            at(spec.metrics_port)
        );
    }
    text += &format!("dev accounts: {}\n", out.join("accounts.json").display());
    if spec.governors > 0 {
        text += &format!(
            "governance committee: the first {} dev accounts (weight 1 each; 50 % participation, 50 % win)\n",
            spec.governors
        );
    }
    text
}

/// This build's contract engine, as a genesis names it.
pub fn engine_identity() -> anyhow::Result<accord_sdk::genesis::VmIdentity> {
    let id = accord_vm::identity()?;
    Ok(accord_sdk::genesis::VmIdentity { engine: id.engine, fingerprint: id.fingerprint })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(hosts: &[&str]) -> TestnetSpec {
        TestnetSpec {
            validators: 2,
            observers: 1,
            accounts: 2,
            chain_id: 1337,
            rpc_port: 8545,
            metrics_port: 9600,
            p2p_port: 30300,
            timestamp: 1,
            governors: 1,
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
        }
    }

    #[test]
    fn nodes_on_their_own_hosts_are_reached_by_name_and_listen_on_all_interfaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let homes = generate(dir.path(), &spec(&["bank-a", "bank-b", "10.0.0.9"])).expect("generates");
        let genesis = Genesis::from_json(&std::fs::read_to_string(homes[0].join("genesis.json")).expect("genesis"))
            .expect("parses");
        let reach: Vec<&str> =
            genesis.validators.iter().chain(&genesis.observers).map(|m| m.p2p_address.as_str()).collect();
        assert_eq!(reach, ["bank-a:30300", "bank-b:30300", "10.0.0.9:30300"]);
        for home in &homes {
            let config = NodeConfig::load(home).expect("config");
            assert_eq!(config.rpc.listen, "0.0.0.0:8545".parse().expect("addr"));
            assert_eq!(config.metrics.listen, "0.0.0.0:9600".parse().expect("addr"));
            assert_eq!(config.p2p.listen, "0.0.0.0:30300".parse().expect("addr"));
        }
        assert!(summary(dir.path(), &spec(&["bank-a", "bank-b", "10.0.0.9"])).contains("rpc http://bank-b:8545"));
    }

    #[test]
    fn a_local_network_offsets_ports_on_loopback() {
        let dir = tempfile::tempdir().expect("tempdir");
        let homes = generate(dir.path(), &spec(&[])).expect("generates");
        let config = NodeConfig::load(&homes[2]).expect("config");
        assert_eq!(config.rpc.listen, "127.0.0.1:8547".parse().expect("addr"));
        assert_eq!(config.p2p.listen, "127.0.0.1:30302".parse().expect("addr"));
    }

    #[test]
    fn hosts_must_name_every_node_with_a_valid_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = generate(dir.path(), &spec(&["a", "b"])).expect_err("two hosts for three nodes");
        assert!(err.to_string().contains("names 2 hosts but the network has 3 nodes"), "{err}");
        let err = generate(dir.path(), &spec(&["a", "b_c", "d"])).expect_err("'_' is no host name");
        assert!(err.to_string().contains("--hosts"), "{err}");
    }

    #[test]
    fn an_existing_network_is_reused_only_when_complete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = spec(&["n0", "n1", "n2"]);
        // Container volumes are mounted before the init step runs: empty homes hold no network.
        for i in 0..3 {
            std::fs::create_dir_all(dir.path().join(format!("node{i}"))).expect("mkdir");
        }
        assert!(!holds_network(dir.path(), &spec).expect("checks"));
        generate(dir.path(), &spec).expect("generates into the empty homes");
        assert!(holds_network(dir.path(), &spec).expect("checks"));
        let err = generate(dir.path(), &spec).expect_err("never overwrites");
        assert!(err.to_string().contains("already holds a network"), "{err}");
        std::fs::remove_file(dir.path().join("node2").join("node.key")).expect("rm");
        let err = holds_network(dir.path(), &spec).expect_err("partial");
        assert!(err.to_string().contains("incomplete network"), "{err}");
    }
}
