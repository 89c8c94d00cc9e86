//! Must-show 4: SIGKILL at random moments under transfer load. After every kill the stored chain re-executes from
//! genesis to the same head and state root (`accord verify`), and every transaction whose receipt a client saw is
//! still committed, exactly once, where the receipt said.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use accord_sdk::client::AccordClient;
use accord_sdk::{Address, B256, U256};
use common::*;
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};

/// Receipts the load generator has seen: tx hash → (block number, block hash).
type Seen = Arc<Mutex<HashMap<B256, (u64, B256)>>>;

async fn load(client: AccordClient, senders: Vec<DevAccount>, seen: Seen) {
    let to = Address::repeat_byte(0xee);
    loop {
        let mut sent = Vec::new();
        for s in &senders {
            let Ok(nonce) = client.transaction_count(s.address, "latest").await else { return };
            let signer = s.signer();
            for i in 0..4 {
                let raw = legacy_transfer(&signer, Some(CHAIN_ID), nonce + i, to, U256::from(1u8), 0);
                match client.send_raw_transaction(&raw).await {
                    Ok(h) => sent.push(h),
                    // Already pooled from the previous round, or the node is going down: both fine.
                    Err(_) => continue,
                }
            }
        }
        for h in sent {
            match client.wait_for_receipt(h, Duration::from_secs(5)).await {
                Ok(Some(r)) => {
                    let (Some(n), Some(bh)) = (r.block_number, r.block_hash) else { continue };
                    seen.lock().insert(h, (n, bh));
                }
                Ok(None) => {}
                Err(_) => return,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_nothing() {
    let seed: u64 = std::env::var("ACCORD_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261129);
    let kills: usize = std::env::var("ACCORD_KILLS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    println!("kill loop: seed {seed}, {kills} kills (ACCORD_KILL_SEED / ACCORD_KILLS to change)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut node = TestNode::new();
    let senders: Vec<DevAccount> = node.accounts[..4].to_vec();
    let seen: Seen = Arc::new(Mutex::new(HashMap::new()));
    let mut last_height = 0;
    let mut last_root = serde_json::Value::Null;

    for round in 0..kills {
        let client = node.start().await;
        let height = client.block_number().await.expect("height");
        assert!(height >= last_height, "round {round}: head went back from {last_height} to {height}");
        if round > 0 {
            // The restarted node serves exactly the head that re-execution reproduced.
            let status = rpc(&node.rpc_url, "accord_nodeStatus", serde_json::json!([])).await.expect("status");
            assert_eq!(height, last_height, "round {round}: restarted at the verified head");
            assert_eq!(status["stateRoot"], last_root, "round {round}: head state root equals the re-executed one");
        }
        // Every receipt seen so far is still there, in the same block.
        let snapshot: Vec<(B256, (u64, B256))> = seen.lock().iter().map(|(k, v)| (*k, *v)).collect();
        for (hash, (n, bh)) in snapshot {
            let r = client
                .transaction_receipt(hash)
                .await
                .expect("rpc")
                .unwrap_or_else(|| panic!("round {round}: receipt of {hash} (block {n}) was seen but is gone"));
            assert_eq!((r.block_number, r.block_hash), (Some(n), Some(bh)), "round {round}: {hash} moved");
        }

        let task = tokio::spawn(load(client.clone(), senders.clone(), seen.clone()));
        let wait = rng.gen_range(200..1_500);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        node.kill();
        task.abort();
        let _ = task.await;

        let report = node.verify();
        last_height = report["height"].as_u64().expect("height");
        last_root = report["stateRoot"].clone();
        println!(
            "round {round}: killed after {wait} ms at height {last_height}, {} receipts seen, verify ok",
            seen.lock().len()
        );
    }

    // Final check: every seen transaction appears exactly once in the chain, and nonces account for every
    // committed transaction of each sender.
    let client = node.start().await;
    let head = client.block_number().await.expect("head");
    let mut count: HashMap<B256, usize> = HashMap::new();
    let mut per_sender: HashMap<Address, u64> = HashMap::new();
    for n in 1..=head {
        let block = client.block_by_number(n).await.expect("rpc").expect("block");
        for tx in block.transactions.txns() {
            *count.entry(*tx.inner.tx_hash()).or_default() += 1;
            *per_sender.entry(tx.inner.signer()).or_default() += 1;
        }
    }
    let seen = seen.lock().clone();
    assert!(seen.len() >= kills, "the load produced too few receipts ({}) to mean anything", seen.len());
    for hash in seen.keys() {
        assert_eq!(count.get(hash), Some(&1), "{hash} must be in the chain exactly once");
    }
    assert!(count.values().all(|c| *c == 1), "no transaction is committed twice");
    let senders_set: HashSet<Address> = senders.iter().map(|s| s.address).collect();
    for s in senders_set {
        let nonce = client.transaction_count(s, "latest").await.expect("nonce");
        assert_eq!(nonce, per_sender.get(&s).copied().unwrap_or(0), "nonce of {s} equals its committed transactions");
    }
    node.stop();
    let report = node.verify();
    println!(
        "final: height {}, {} transactions, {} receipts seen by the client",
        report["height"],
        report["transactions"],
        seen.len()
    );
}
