//! The Rust SDK's examples (`sdk/examples/`) run against a real four-validator network and their output is checked:
//! a transfer verified by proofs against a certified header, many transactions in flight from one account, typed
//! calls of the example token from its ABI JSON, and a log subscription that survives its node's restart.
//!
//! `cargo test --workspace` builds the examples before the tests run (their binaries are in the target directory's
//! `debug/examples/`).

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{TestNode, accord_bin, key_file, started_testnet};

fn example(name: &str) -> PathBuf {
    let path = std::path::Path::new(accord_bin()).parent().expect("target dir").join("examples").join(name);
    assert!(path.exists(), "{} is not built: `cargo test --workspace` builds the SDK's examples", path.display());
    path
}

fn run(name: &str, node: &TestNode, key: &std::path::Path, args: &[&str]) -> String {
    let out: Output = Command::new(example(name))
        .args(args)
        .env("ACCORD_RPC", &node.rpc_url)
        .env("ACCORD_KEY", key)
        .env("ACCORD_GENESIS", node.home.join("genesis.json"))
        .output()
        .expect("run example");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "example {name} failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sdk_examples_run_against_a_real_network() {
    let mut nodes = started_testnet(4, 0).await;

    let out = run("transfer", &nodes[0], &key_file(&nodes[0], 0), &[]);
    assert!(out.contains("status 1"), "{out}");
    assert!(out.contains("certified by 3 of 4 validators"), "{out}");
    assert!(out.contains("holds 1000000000000000000 wei"), "{out}");

    let out = run("many_in_flight", &nodes[0], &key_file(&nodes[0], 1), &["40"]);
    assert!(out.contains("40 transactions in flight, 40 distinct nonces"), "{out}");
    assert!(out.contains("40 committed in") && out.contains("recipient balance 40 wei"), "{out}");

    let out =
        run("token", &nodes[0], &key_file(&nodes[0], 2), &[&format!("{}/token.json", env!("ACCORD_CONTRACTS_OUT"))]);
    assert!(out.contains("deployed EXM at 0x"), "{out}");
    assert!(out.contains("event Transfer("), "{out}");
    assert!(out.contains("= 2500"), "{out}");
    assert!(out.contains("refused as expected:"), "{out}");
    let token = out.split("deployed EXM at ").nth(1).and_then(|s| s.split_whitespace().next()).expect("address");

    // The watcher follows node 1 from block 0: the mint and the transfer so far, then two transfers sent while node 1
    // is down, which it must pick up once node 1 is back, each exactly once.
    let mut watcher = Command::new(example("watch_logs"))
        .args([token, "0", "4"])
        .env("ACCORD_WS", &nodes[1].ws_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch_logs");
    let mut lines = BufReader::new(watcher.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < 2 {
        assert!(Instant::now() < deadline, "the watcher saw {seen:?}");
        let line = lines.next().expect("a line").expect("utf-8");
        if !line.starts_with("watching") {
            seen.push(line);
        }
    }
    nodes[1].stop();
    let key = key_file(&nodes[0], 2);
    for amount in ["11", "12"] {
        let sent = Command::new(accord_bin())
            .args([
                "contract",
                "send",
                token,
                "transfer(address,uint256)",
                "0x00000000000000000000000000000000000000aa",
                amount,
            ])
            .args(["--rpc", &nodes[0].rpc_url, "--key"])
            .arg(&key)
            .output()
            .expect("accord contract send");
        assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    }
    nodes[1].start().await;
    let rest = tokio::task::spawn_blocking(move || {
        let mut rest = Vec::new();
        for line in lines.by_ref() {
            rest.push(line.expect("utf-8"));
        }
        rest
    });
    let status = tokio::time::timeout(Duration::from_secs(60), tokio::task::spawn_blocking(move || watcher.wait()))
        .await
        .expect("the watcher got all four logs within 60 s of its node's restart")
        .expect("join")
        .expect("wait");
    assert!(status.success());
    seen.extend(rest.await.expect("join"));
    assert_eq!(seen.len(), 4, "{seen:?}");
    let positions: Vec<(u64, u64)> = seen
        .iter()
        .map(|l| {
            let mut f = l.split_whitespace().map(|x| x.parse::<u64>().expect("number"));
            (f.next().expect("block"), f.next().expect("index"))
        })
        .collect();
    let mut sorted = positions.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(positions, sorted, "in order, each once: {seen:?}");
    for n in nodes.iter_mut() {
        n.stop();
    }
}
