//! The network a benchmark drives: one it starts itself (`--local N`: N validators as child processes in a temp
//! dir, killed when the run ends) or one already running (`--rpc URL,…`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use accord_sdk::keys::KeyPair;
use anyhow::Context as _;

use crate::testnet::{self, DevAccount, TestnetSpec};

/// Where to send transactions and whose processes to watch.
#[derive(Debug)]
pub struct Target {
    /// JSON-RPC URL of each node (HTTP; the same port serves WebSocket).
    pub rpc: Vec<String>,
    /// The process of each node, when this machine runs it.
    pub pids: Vec<Option<u32>>,
    /// Accounts with funds to pay for the benchmark's accounts.
    pub funders: Vec<KeyPair>,
    /// Validators of the network (for the ceiling).
    pub validators: usize,
    /// The nodes this run started (dropped last: kills them).
    pub local: Option<LocalNetwork>,
}

/// Validators started by the benchmark.
#[derive(Debug)]
pub struct LocalNetwork {
    dir: Option<tempfile::TempDir>,
    children: Vec<Child>,
    keep: bool,
}

impl LocalNetwork {
    /// Where the nodes' homes and logs are.
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new(""), |d| d.path())
    }

    /// Checks that every node still runs; names the log of one that stopped.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        for (i, child) in self.children.iter_mut().enumerate() {
            if let Some(status) = child.try_wait()? {
                anyhow::bail!(
                    "node{i} exited ({status}); its log: {}",
                    self.dir().join(format!("node{i}/node.log")).display()
                );
            }
        }
        Ok(())
    }
}

impl Drop for LocalNetwork {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if self.keep
            && let Some(dir) = self.dir.take()
        {
            eprintln!("kept the network's homes and logs in {}", dir.keep().display());
        }
    }
}

/// A base port with `count` free ports after it for each of `kinds` ranges spaced `stride` apart. The search
/// starts at a random place, so two benchmarks started at once (whose nodes have not bound yet) rarely collide.
fn free_base(count: u16, kinds: u16, stride: u16) -> anyhow::Result<u16> {
    let offset = rand::random::<u16>() % 10_000;
    (20_000u16..30_000)
        .map(|b| 20_000 + (b - 20_000 + offset) % 10_000)
        .step_by(97)
        .find(|b| {
            (0..kinds)
                .all(|k| (0..count).all(|i| std::net::TcpListener::bind(("127.0.0.1", b + k * stride + i)).is_ok()))
        })
        .ok_or_else(|| anyhow::anyhow!("no free port range for {count} nodes between 20000 and 33000"))
}

/// Writes a network of `validators` with `funders` dev accounts into a temp dir and starts every node from
/// `accord` (this very binary), waiting until each serves JSON-RPC.
pub async fn start_local(validators: usize, funders: usize, keep: bool) -> anyhow::Result<Target> {
    anyhow::ensure!(validators >= 1, "--local needs at least one validator");
    let dir = tempfile::Builder::new().prefix("accord-bench-").tempdir()?;
    let n = u16::try_from(validators).context("--local: too many validators")?;
    let stride = 1_000;
    let base = free_base(n, 3, stride)?;
    let spec = TestnetSpec {
        validators,
        observers: 0,
        accounts: funders,
        chain_id: 1337,
        rpc_port: base,
        metrics_port: base + stride,
        p2p_port: base + 2 * stride,
        timestamp: crate::import::now_secs(),
        governors: funders.min(3),
        hosts: Vec::new(),
    };
    let homes = testnet::generate(dir.path(), &spec)?;
    let exe = std::env::current_exe().context("cannot find the accord binary to start nodes with")?;
    let mut network = LocalNetwork { dir: Some(dir), children: Vec::new(), keep };
    for home in &homes {
        network.children.push(spawn_node(&exe, home)?);
    }
    let rpc: Vec<String> = (0..n).map(|i| format!("http://127.0.0.1:{}", base + i)).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    for url in &rpc {
        loop {
            network.check_alive()?;
            if let Ok(client) = accord_sdk::client::AccordClient::new(url)
                && client.block_number().await.is_ok()
            {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{url} did not answer within 60 s; logs in {}",
                network.dir().display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let accounts: Vec<DevAccount> =
        serde_json::from_str(&std::fs::read_to_string(network.dir().join("accounts.json"))?)?;
    let funders = accounts.iter().map(|a| KeyPair::from_hex(&a.private_key)).collect::<Result<Vec<_>, _>>()?;
    let pids = network.children.iter().map(|c| Some(c.id())).collect();
    Ok(Target { rpc, pids, funders, validators, local: Some(network) })
}

fn spawn_node(exe: &Path, home: &PathBuf) -> anyhow::Result<Child> {
    let log = std::fs::File::create(home.join("node.log"))?;
    let out = std::fs::File::create(home.join("node.out"))?;
    Command::new(exe)
        .arg("start")
        .arg("--home")
        .arg(home)
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {} start --home {}", exe.display(), home.display()))
}

/// A running network: its URLs, the funder keys, and (optionally) the node processes on this machine.
pub fn remote(rpc: &str, keys: &[PathBuf], pids: &[u32], validators: Option<usize>) -> anyhow::Result<Target> {
    let rpc: Vec<String> = rpc.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    anyhow::ensure!(!rpc.is_empty(), "--rpc needs at least one URL");
    anyhow::ensure!(
        !keys.is_empty(),
        "--rpc needs --key FILE: a funded account's hex secret key to fund the benchmark's accounts"
    );
    anyhow::ensure!(pids.is_empty() || pids.len() == rpc.len(), "--pids needs one process id per --rpc URL");
    let funders = keys
        .iter()
        .map(|k| crate::console::read_key(k).map_err(|e| anyhow::anyhow!("{e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let pids = if pids.is_empty() { vec![None; rpc.len()] } else { pids.iter().map(|p| Some(*p)).collect() };
    let validators = validators.unwrap_or(rpc.len());
    Ok(Target { rpc, pids, funders, validators, local: None })
}
