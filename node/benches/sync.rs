//! Block-sync throughput: a fresh observer process syncs a 10,000-block chain from a running validator process
//! over libp2p on loopback, verifying every commit certificate and re-executing every block. Prints blocks/s.
//!
//! Run: `cargo bench -p accord-node --bench sync` (ACCORD_SYNC_BLOCKS and ACCORD_SYNC_TXS change the chain:
//! blocks, and transfers per block). Results are recorded in docs/benchmarks.md.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use accord_node::chain::Chain;
use accord_sdk::block::CommitCertificate;
use accord_sdk::genesis::Genesis;
use accord_sdk::keys::KeyPair;
use accord_sdk::tx::SignedTransaction;
use accord_sdk::{Address, U256};

#[path = "../tests/fixture/mod.rs"]
mod fixture;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn free_base(n: u16) -> u16 {
    (10_000u16..32_000)
        .step_by(7)
        .find(|b| (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", b + i)).is_ok()))
        .expect("free ports")
}

/// Writes `blocks` certified blocks straight into the validator's database.
fn build_chain(home: &Path, genesis: &Genesis, validator: &KeyPair, senders: &[KeyPair], blocks: u64, per_block: u64) {
    let chain = Chain::open(&home.join("data"), genesis.clone()).expect("open chain");
    let limits = chain.tx_limits();
    let mut nonces = vec![0u64; senders.len()];
    let started = Instant::now();
    for b in 0..blocks {
        let txs: Vec<SignedTransaction> = (0..per_block)
            .map(|i| {
                let s = ((b * per_block + i) as usize) % senders.len();
                let raw = fixture::signed(
                    &senders[s],
                    nonces[s],
                    Some(Address::repeat_byte(0x11)),
                    U256::from(1u8),
                    vec![],
                    21_000,
                );
                nonces[s] += 1;
                SignedTransaction::decode(&raw, &limits).expect("valid")
            })
            .collect();
        let executed = chain.build_block(txs, genesis.timestamp + b, validator.address()).expect("build");
        let cert = CommitCertificate::sign(validator, &executed.block.header, 0).expect("sign");
        chain.commit(executed, cert).expect("commit");
    }
    println!("source chain: {blocks} blocks x {per_block} transfers written in {:.1?}", started.elapsed());
}

fn start(home: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(["start", "--home"])
        .arg(home)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .spawn()
        .expect("spawn accord")
}

fn height(rpc: u16) -> Option<u64> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", rpc)).ok()?;
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"#;
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let hex = resp.split("\"result\":\"0x").nth(1)?.split('"').next()?;
    u64::from_str_radix(hex, 16).ok()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not: then only check that it builds.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let blocks = env_or("ACCORD_SYNC_BLOCKS", 10_000);
    let per_block = env_or("ACCORD_SYNC_TXS", 10);
    let dir = tempfile::tempdir().expect("tempdir");
    let net = dir.path().join("net");
    let (rpc, metrics, p2p) = (free_base(2), free_base(2) + 100, free_base(2) + 200);
    let out = Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(["testnet", "--validators", "1", "--observers", "1", "--accounts", "8", "--out"])
        .arg(&net)
        .args(["--rpc-port", &rpc.to_string(), "--metrics-port", &metrics.to_string(), "--p2p-port"])
        .arg(p2p.to_string())
        .output()
        .expect("accord testnet");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let genesis = Genesis::from_json(&std::fs::read_to_string(net.join("node0/genesis.json")).expect("genesis"))
        .expect("genesis parses");
    let validator = KeyPair::from_hex(&std::fs::read_to_string(net.join("node0/node.key")).expect("key")).expect("key");
    #[derive(serde::Deserialize)]
    struct Dev {
        private_key: String,
    }
    let devs: Vec<Dev> =
        serde_json::from_str(&std::fs::read_to_string(net.join("accounts.json")).expect("accounts")).expect("json");
    let senders: Vec<KeyPair> = devs.iter().map(|d| KeyPair::from_hex(&d.private_key).expect("key")).collect();
    build_chain(&net.join("node0"), &genesis, &validator, &senders, blocks, per_block);

    let mut source = start(&net.join("node0"), &dir.path().join("node0.log"));
    while height(rpc) != Some(blocks) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    let mut observer = start(&net.join("node1"), &dir.path().join("node1.log"));
    let mut last_report = Instant::now();
    loop {
        let h = height(rpc + 1).unwrap_or(0);
        if h >= blocks {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            println!("  observer at {h} after {:.0?}", started.elapsed());
            last_report = Instant::now();
        }
        assert!(started.elapsed() < Duration::from_secs(3_600), "sync did not finish within an hour");
        std::thread::sleep(Duration::from_millis(20));
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "sync: {blocks} blocks ({} transfers) in {secs:.1} s = {:.0} blocks/s, {:.0} tx/s (observer start included)",
        blocks * per_block,
        blocks as f64 / secs,
        (blocks * per_block) as f64 / secs
    );
    for c in [&mut source, &mut observer] {
        let _ = c.kill();
        let _ = c.wait();
    }
}
