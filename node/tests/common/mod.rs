//! Test harness: real `accord` processes on loopback with RocksDB in temp dirs, and transactions signed by alloy.
#![allow(dead_code)]

pub mod test_validator;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_sdk::client::AccordClient;
use accord_sdk::{Address, B256, U256};
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Bytes, TxKind};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use parking_lot::Mutex;
use serde::Deserialize;

/// Runs `accord ARGS… PATHS…` and waits for it.
pub fn accord_cli(args: &[&str], paths: &[&std::path::Path]) -> std::process::Output {
    Command::new(accord_bin()).args(args).args(paths).output().expect("run accord")
}

/// The stdout of a command that must succeed (its output shown when it did not).
pub fn cli_ok(o: std::process::Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "accord failed: {out}{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// The stderr of a command that must fail.
pub fn cli_err(o: std::process::Output) -> String {
    assert!(!o.status.success(), "accord should have failed: {}", String::from_utf8_lossy(&o.stdout));
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A new home in `dir/home` for `node`'s key on the same chain (same genesis), as `accord init` writes it on a new
/// machine.
pub fn fresh_home(node: &TestNode, dir: &std::path::Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    let home = dir.join("home");
    cli_ok(accord_cli(
        &["init", "--rpc", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--p2p", "127.0.0.1:0", "--home"],
        &[
            &home,
            std::path::Path::new("--genesis"),
            &node.home.join("genesis.json"),
            std::path::Path::new("--node-key"),
            &node.home.join("node.key"),
        ],
    ));
    home
}

/// Chain id of test networks.
pub const CHAIN_ID: u64 = 1337;

/// A dev account from accounts.json.
#[derive(Debug, Clone, Deserialize)]
pub struct DevAccount {
    pub address: Address,
    pub private_key: String,
}

impl DevAccount {
    pub fn signer(&self) -> PrivateKeySigner {
        self.private_key.parse().expect("dev key parses")
    }
}

/// `n` consecutive free loopback ports (a network's nodes use base + I). Ranges are handed out in turn from one
/// cursor per test process, so tests running in parallel never pick the same port between checking it and a node
/// binding it; each range is also checked free (another process may hold a port).
fn free_port_range(n: usize) -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    // Below the kernel's ephemeral range (32768+), so an outgoing connection cannot take a port before its node
    // binds it. The first range of a process starts at a random place, so test processes rarely overlap either.
    static CURSOR: AtomicU32 = AtomicU32::new(0);
    const LOW: u32 = 10_000;
    const HIGH: u32 = 32_000;
    let _ = CURSOR.compare_exchange(
        0,
        rand::Rng::gen_range(&mut rand::thread_rng(), LOW..HIGH),
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        // Take [base, base + n) and move the cursor past it, wrapping to LOW, in one atomic step: two tests never
        // get the same range.
        let mut base = 0;
        let _ = CURSOR.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
            base = if c + n as u32 >= HIGH { LOW } else { c };
            Some(base + n as u32)
        });
        let base = base as u16;
        let ok = (0..n as u16).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if ok {
            return base;
        }
    }
}

/// One node process and its home directory.
pub struct TestNode {
    /// The temp dir holding the network (shared by its nodes; removed when the last is dropped).
    pub dir: Arc<tempfile::TempDir>,
    pub home: PathBuf,
    pub name: String,
    pub rpc_url: String,
    pub ws_url: String,
    pub metrics_url: String,
    pub accounts: Vec<DevAccount>,
    child: Option<Child>,
}

/// Writes a network with `validators` + `observers` nodes; returns its nodes (not started).
pub fn testnet(validators: usize, observers: usize) -> Vec<TestNode> {
    let n = validators + observers;
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let (rpc, metrics, p2p) = (free_port_range(n), free_port_range(n), free_port_range(n));
    let out = Command::new(accord_bin())
        .args(["testnet", "--validators", &validators.to_string(), "--observers", &observers.to_string(), "--out"])
        .arg(dir.path().join("net"))
        .args(["--rpc-port", &rpc.to_string(), "--metrics-port", &metrics.to_string()])
        .args(["--p2p-port", &p2p.to_string(), "--chain-id", &CHAIN_ID.to_string()])
        .output()
        .expect("run accord testnet");
    assert!(out.status.success(), "testnet failed: {}", String::from_utf8_lossy(&out.stderr));
    let accounts: Vec<DevAccount> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("net/accounts.json")).expect("accounts.json"))
            .expect("accounts parse");
    (0..n)
        .map(|i| {
            let i16 = i as u16;
            TestNode {
                home: dir.path().join(format!("net/node{i}")),
                name: format!("node{i}"),
                rpc_url: format!("http://127.0.0.1:{}", rpc + i16),
                ws_url: format!("ws://127.0.0.1:{}", rpc + i16),
                metrics_url: format!("http://127.0.0.1:{}/metrics", metrics + i16),
                accounts: accounts.clone(),
                child: None,
                dir: dir.clone(),
            }
        })
        .collect()
}

pub fn accord_bin() -> &'static str {
    env!("CARGO_BIN_EXE_accord")
}

impl TestNode {
    /// Writes a single-validator network with ten funded accounts.
    pub fn new() -> Self {
        testnet(1, 0).pop().expect("one node")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("{}.log", self.name))
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// The node's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts the node process and waits until its RPC answers.
    pub async fn start(&mut self) -> AccordClient {
        self.start_with(accord_bin()).await
    }

    /// Starts the node with the `accord` binary at `binary` (another build) and waits until its RPC answers.
    pub async fn start_with(&mut self, binary: &str) -> AccordClient {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).expect("log file");
        let child = Command::new(binary)
            .args(["start", "--home"])
            .arg(&self.home)
            .env("RUST_LOG", std::env::var("ACCORD_TEST_LOG").unwrap_or_else(|_| "info".into()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn accord start");
        self.child = Some(child);
        let client = AccordClient::new(&self.rpc_url).expect("client");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if client.block_number().await.is_ok() {
                return client;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("{} exited early with {status}; log ends:\n{}", self.name, last_lines(&self.log(), 40));
            }
            assert!(Instant::now() < deadline, "node did not come up; log:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let status = c.wait().expect("wait");
            assert!(status.success(), "clean shutdown failed: {status}; log:\n{}", self.log());
        }
    }

    /// SIGSTOP: the process freezes mid-whatever, its connections stay open and its peers hear nothing.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// SIGCONT after [`Self::pause`].
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let c = self.child.as_ref().expect("running");
        let ok = Command::new("kill").arg(format!("-{name}")).arg(c.id().to_string()).status().expect("kill");
        assert!(ok.success(), "kill -{name} {}", self.name);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Runs `accord verify` on the stopped node; returns its JSON report.
    pub fn verify(&self) -> serde_json::Value {
        let out = Command::new(accord_bin()).args(["verify", "--home"]).arg(&self.home).output().expect("run verify");
        assert!(
            out.status.success(),
            "accord verify failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("verify prints JSON")
    }

    /// The value of an unlabelled metric, if exposed.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics().lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }

    /// The value of one labelled series, e.g. `name{reason="stale"}`; 0 when not yet exposed.
    pub fn labelled_metric(&self, series: &str) -> f64 {
        self.metrics()
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or(0.0)
    }

    pub fn metrics(&self) -> String {
        let url = self.metrics_url.strip_prefix("http://").expect("http url");
        let (host, path) = url.split_once('/').expect("path");
        let mut s = std::net::TcpStream::connect(host).expect("connect metrics");
        use std::io::{Read, Write};
        write!(s, "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").expect("write");
        let mut body = String::new();
        s.read_to_string(&mut body).expect("read");
        body
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `n` lines of a log.
pub fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Signs any transaction with alloy and returns its EIP-2718 bytes.
pub fn sign<T>(signer: &PrivateKeySigner, tx: T) -> Vec<u8>
where
    T: SignableTransaction<alloy_primitives::Signature>,
    TxEnvelope: From<alloy_consensus::Signed<T>>,
{
    let sig = signer.sign_hash_sync(&tx.signature_hash()).expect("sign");
    let env: TxEnvelope = tx.into_signed(sig).into();
    env.encoded_2718()
}

/// A signed legacy (EIP-155) transfer.
pub fn legacy_transfer(
    signer: &PrivateKeySigner,
    chain_id: Option<u64>,
    nonce: u64,
    to: Address,
    value: U256,
    gas_price: u128,
) -> Vec<u8> {
    let tx =
        TxLegacy { chain_id, nonce, gas_price, gas_limit: 21_000, to: TxKind::Call(to), value, input: Bytes::new() };
    sign(signer, tx)
}

/// A signed EIP-1559 transfer.
pub fn eip1559_transfer(
    signer: &PrivateKeySigner,
    nonce: u64,
    to: Address,
    value: U256,
    max_fee: u128,
    tip: u128,
) -> Vec<u8> {
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip,
        to: TxKind::Call(to),
        value,
        ..Default::default()
    };
    sign(signer, tx)
}

/// Submits and waits for the receipt.
pub async fn send_and_wait(client: &AccordClient, raw: &[u8]) -> alloy_rpc_types_eth::TransactionReceipt {
    let hash: B256 = client.send_raw_transaction(raw).await.expect("accepted");
    client.wait_for_receipt(hash, Duration::from_secs(30)).await.expect("rpc").expect("receipt within 30 s")
}

/// A JSON-RPC call with JSON params; returns the result or the error object (code, message, data).
pub async fn rpc(
    url: &str,
    method: &str,
    params: serde_json::Value,
) -> Result<serde_json::Value, jsonrpsee::types::ErrorObjectOwned> {
    use jsonrpsee::core::client::ClientT;
    let client = jsonrpsee::http_client::HttpClientBuilder::default().build(url).expect("client");
    let mut p = jsonrpsee::core::params::ArrayParams::new();
    for v in params.as_array().expect("params array") {
        p.insert(v.clone()).expect("param");
    }
    match client.request::<serde_json::Value, _>(method, p).await {
        Ok(v) => Ok(v),
        Err(jsonrpsee::core::client::Error::Call(e)) => Err(e),
        Err(e) => panic!("{method}: transport error {e}"),
    }
}

/// Faster timers than the defaults (view timeout 2 s, heartbeat 0.5 s), so tests spend less time waiting for
/// view changes.
pub fn speed_up(node: &TestNode) {
    let path = node.home.join("config.toml");
    let text = std::fs::read_to_string(&path).expect("config");
    let fast = text
        .replace("timeout_ms = 4000", "timeout_ms = 2000")
        .replace("heartbeat_interval_ms = 1000", "heartbeat_interval_ms = 500");
    assert_ne!(text, fast, "config.toml has a [consensus] section with the default timings");
    std::fs::write(&path, fast).expect("write config");
}

/// The PBFT timing of a node after [`speed_up`], for validators the test runs itself.
pub fn sped_up_timeouts() -> accord_consensus::PbftConfig {
    accord_consensus::PbftConfig { base_timeout: 2_000, max_timeout: 60_000, ..Default::default() }
}

/// The node's head, if its RPC answers.
pub async fn height(node: &TestNode) -> Option<u64> {
    AccordClient::new(&node.rpc_url).ok()?.block_number().await.ok()
}

/// Waits until every given node is at `target` or above.
pub async fn wait_height(nodes: &[&TestNode], target: u64, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    loop {
        let mut lowest = u64::MAX;
        for n in nodes {
            lowest = lowest.min(height(n).await.unwrap_or(0));
        }
        if lowest >= target {
            return;
        }
        if Instant::now() > deadline {
            let logs: String = nodes.iter().map(|n| format!("--- {}\n{}", n.name, last_lines(&n.log(), 40))).collect();
            panic!("{what}: nodes did not reach height {target} (lowest {lowest}) within {within:?}\n{logs}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Receipts the clients saw: tx hash → (block number, block hash).
pub type Seen = Arc<Mutex<HashMap<B256, (u64, B256)>>>;
/// RPC URLs of the nodes currently running.
pub type Live = Arc<Mutex<Vec<String>>>;

/// One sender: sends nonce after nonce to any live node, re-sending the same bytes elsewhere until a receipt shows.
pub async fn sender_loop(account: DevAccount, live: Live, seen: Seen, stop: Arc<std::sync::atomic::AtomicBool>) {
    let signer = account.signer();
    let to = Address::repeat_byte(0xab);
    let mut nonce = 0u64;
    let mut turn = 0usize;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let raw = legacy_transfer(&signer, Some(CHAIN_ID), nonce, to, U256::from(1u8), 0);
        let hash = alloy_primitives::keccak256(&raw);
        let urls = live.lock().clone();
        if urls.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        turn += 1;
        let client = AccordClient::new(&urls[turn % urls.len()]).expect("client");
        let _ = client.send_raw_transaction(&raw).await; // "already known" / "nonce too low" on a re-send is fine
        let deadline = Instant::now() + Duration::from_secs(4);
        while Instant::now() < deadline {
            if let Ok(Some(r)) = client.transaction_receipt(hash).await {
                if let (Some(n), Some(bh)) = (r.block_number, r.block_hash) {
                    assert!(r.status(), "a plain transfer failed");
                    seen.lock().insert(hash, (n, bh));
                    nonce += 1;
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Block hash and state root of every height 0..=upto, from one node.
pub async fn chain_of(node: &TestNode, upto: u64) -> Vec<(B256, B256)> {
    let client = AccordClient::new(&node.rpc_url).expect("client");
    let mut out = Vec::new();
    for n in 0..=upto {
        let b =
            client.block_by_number(n).await.expect("rpc").unwrap_or_else(|| panic!("{} lacks block {n}", node.name));
        out.push((b.header.hash, b.header.state_root));
    }
    out
}

/// All running nodes agree on every block and state root up to the lowest head.
pub async fn assert_identical(nodes: &[&TestNode]) -> u64 {
    let mut lowest = u64::MAX;
    for n in nodes {
        lowest = lowest.min(height(n).await.expect("height"));
    }
    let reference = chain_of(nodes[0], lowest).await;
    for n in &nodes[1..] {
        let theirs = chain_of(n, lowest).await;
        for (h, (a, b)) in reference.iter().zip(&theirs).enumerate() {
            assert_eq!(a, b, "{} and {} differ at height {h}", nodes[0].name, n.name);
        }
    }
    lowest
}

/// Every receipt a client saw, in a block `node` already holds, is still there, in the same block.
pub async fn assert_receipts_kept(node: &TestNode, seen: &Seen) {
    let client = AccordClient::new(&node.rpc_url).expect("client");
    let head = client.block_number().await.expect("height");
    let snapshot: Vec<(B256, (u64, B256))> =
        seen.lock().iter().filter(|(_, (n, _))| *n <= head).map(|(k, v)| (*k, *v)).collect();
    for (tx, (number, block)) in snapshot {
        let r = client.transaction_receipt(tx).await.expect("rpc");
        let r = r.unwrap_or_else(|| panic!("{}: acknowledged transaction {tx} is lost", node.name));
        assert_eq!((r.block_number, r.block_hash), (Some(number), Some(block)), "{}: {tx} moved", node.name);
    }
}

pub fn set_live(live: &Live, nodes: &[TestNode]) {
    *live.lock() = nodes.iter().filter(|n| n.is_running()).map(|n| n.rpc_url.clone()).collect();
}

/// Senders running [`sender_loop`] against whichever nodes are live, and what they saw acknowledged.
pub struct AcknowledgedLoad {
    /// RPC URLs the senders use (update with [`set_live`] as nodes stop and start).
    pub live: Live,
    /// Receipts the senders saw.
    pub seen: Seen,
    stop: Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl AcknowledgedLoad {
    /// One sender per account, sending to the running nodes among `nodes`.
    pub fn start(nodes: &[TestNode], accounts: &[DevAccount]) -> Self {
        let live: Live = Arc::new(Mutex::new(Vec::new()));
        set_live(&live, nodes);
        let seen: Seen = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tasks = accounts
            .iter()
            .map(|a| tokio::spawn(sender_loop(a.clone(), live.clone(), seen.clone(), stop.clone())))
            .collect();
        Self { live, seen, stop, tasks }
    }

    /// Stops the senders and waits for them.
    pub async fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Writes a network with sped-up timers and starts every node.
pub async fn started_testnet(validators: usize, observers: usize) -> Vec<TestNode> {
    let mut nodes = testnet(validators, observers);
    for n in &nodes {
        speed_up(n);
    }
    for n in nodes.iter_mut() {
        n.start().await;
    }
    nodes
}

/// Runs `accord gov ARGS… --json` against `node` signed with the key file `key`; panics on failure, returns the JSON.
pub fn gov_json(node: &TestNode, key: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(accord_bin())
        .arg("gov")
        .args(args)
        .args(["--rpc", &node.rpc_url, "--json", "--key"])
        .arg(key)
        .output()
        .expect("run accord gov");
    assert!(
        out.status.success(),
        "accord gov {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// Writes dev account `i`'s secret key to a file in the network's directory (as `accord keygen --out` would).
pub fn key_file(node: &TestNode, i: usize) -> PathBuf {
    let path = node.dir.path().join(format!("account{i}.key"));
    std::fs::write(&path, &node.accounts[i].private_key).expect("key file");
    path
}

/// Passes a proposal through `node`'s RPC with the CLI: the key in `keys[0]` proposes `kind args…` (alone below
/// 50 % participation: open), the key in `keys[1]` agrees (passed). Returns the height the change holds from, as the
/// deciding vote's event announces it.
pub fn pass_proposal(node: &TestNode, keys: &[PathBuf], kind: &str, args: &[&str]) -> u64 {
    let mut propose = vec!["propose", kind];
    propose.extend_from_slice(args);
    let created = gov_json(node, &keys[0], &propose);
    assert_eq!(created["status"], "open", "{kind}: the proposer alone is below 50 % participation");
    let id = created["id"].as_u64().expect("id").to_string();
    let decided = gov_json(node, &keys[1], &["vote", &id, "--agree"]);
    assert_eq!(decided["status"], "passed", "{kind}");
    decided["effectiveHeight"].as_u64().expect("effective height")
}

/// The node address `accord status` prints for `node`.
pub async fn node_address(node: &TestNode) -> Address {
    let s = rpc(&node.rpc_url, "accord_nodeStatus", serde_json::json!([])).await.expect("status");
    s["nodeAddress"].as_str().expect("nodeAddress").parse().expect("address")
}

/// The hash a header commits to for a validator set of these node addresses (the set's hash covers addresses only).
pub fn set_hash(nodes: &[Address]) -> B256 {
    accord_sdk::block::ValidatorSet::of_addresses(nodes).hash()
}

/// The `nextValidatorsHash` of block `n` at `node`.
pub async fn next_validators_hash(node: &TestNode, n: u64) -> B256 {
    let h =
        rpc(&node.rpc_url, "accord_getBlockCertificate", serde_json::json!([format!("{n:#x}")])).await.expect("rpc");
    h["header"]["nextValidatorsHash"].as_str().expect("nextValidatorsHash").parse().expect("hash")
}
