//! Issue 9, must-shows 1 and 3: validator set changes by governance on a network of real processes under transfer
//! load. An observer is promoted to a fifth validator (from the effective height the quorum counts five: with one
//! validator stopped the chain still commits, and the promoted node's votes are in the certificates); then a
//! validator is removed (disconnected and refused by every member, its votes no longer count). Every acknowledged
//! transaction is in the chain exactly once, the nodes agree block by block, a parameter change (must-show 6) holds
//! from its height on every node, and a fresh observer started afterwards syncs the whole chain, each certificate
//! checked against the set of its height.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use accord_sdk::block::commit_digest;
use accord_sdk::client::AccordClient;
use accord_sdk::{Address, B256};
use common::*;

/// Proposes with governor 0 through node0's RPC, agrees with governor 1: returns the effective height.
fn pass(node: &TestNode, keys: &[PathBuf], kind: &str, arg: &str) -> u64 {
    // `KEY=VALUE` stands for the two arguments of set-param.
    let mut propose = vec!["propose", kind];
    propose.extend(arg.split('='));
    let created = gov_json(node, &keys[0], &propose);
    assert_eq!(created["status"], "open", "{kind}: the proposer alone is below 50 % participation");
    let id = created["id"].as_u64().expect("id").to_string();
    let decided = gov_json(node, &keys[1], &["vote", &id, "--agree"]);
    assert_eq!(decided["status"], "passed", "{kind}");
    decided["effectiveHeight"].as_u64().expect("effective height")
}

async fn node_address(node: &TestNode) -> Address {
    let s: serde_json::Value = rpc(&node.rpc_url, "accord_nodeStatus", serde_json::json!([])).await.expect("status");
    s["nodeAddress"].as_str().expect("nodeAddress").parse().expect("address")
}

/// The node addresses whose commit votes certify block `n` (recovered from the certificate's signatures).
async fn signers(client: &AccordClient, n: u64) -> BTreeSet<Address> {
    let c = client.certified_header(n).await.expect("rpc").expect("block").certificate.expect("certificate");
    let digest = commit_digest(CHAIN_ID, c.height, c.view, &c.block_hash);
    c.signatures
        .iter()
        .map(|s| {
            let sig = alloy_primitives::Signature::try_from(s.as_ref()).expect("65 bytes");
            sig.recover_address_from_prehash(&digest).expect("recovers")
        })
        .collect()
}

async fn validators(node: &TestNode) -> Vec<Address> {
    let v: serde_json::Value =
        rpc(&node.rpc_url, "accord_validators", serde_json::json!([])).await.expect("validators");
    v["validators"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v["address"].as_str().expect("a").parse().expect("a"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_are_added_and_removed_by_proposal_under_load() {
    // node0..3 validators, node4 an observer to promote, node5 an observer started only at the end.
    let mut nodes = testnet(4, 2);
    for n in &nodes {
        speed_up(n);
    }
    for n in nodes.iter_mut().take(5) {
        n.start().await;
    }
    let keys: Vec<PathBuf> = (0..2).map(|i| key_file(&nodes[0], i)).collect();
    let accounts = nodes[0].accounts.clone();
    let load = AcknowledgedLoad::start(&nodes[..4], &accounts[3..9]);
    let (live, seen) = (load.live.clone(), load.seen.clone());
    let running: Vec<&TestNode> = nodes[..5].iter().collect();
    wait_height(&running, 3, Duration::from_secs(60), "startup").await;
    let addr: Vec<Address> = {
        let mut v = Vec::new();
        for n in &nodes[..5] {
            v.push(node_address(n).await);
        }
        v
    };
    let client = AccordClient::new(&nodes[0].rpc_url).expect("client");

    let view_changes = |nodes: &[TestNode]| -> f64 {
        nodes.iter().filter(|n| n.is_running()).filter_map(|n| n.metric("accord_consensus_view_changes_total")).sum()
    };
    // Promote node4.
    let before = view_changes(&nodes);
    let promoted = pass(&nodes[0], &keys, "add-validator", &addr[4].to_string());
    println!("node4 validates from block {promoted}");
    wait_height(&running, promoted + 4, Duration::from_secs(90), "after the promotion").await;
    let changes = view_changes(&nodes) - before;
    println!("view changes across the promotion, all nodes: {changes}");
    assert!(changes <= 5.0, "no stall beyond one view change: {changes} view changes over 5 nodes");
    for n in &running {
        assert_eq!(validators(n).await, addr[..5].to_vec(), "{} counts five validators", n.name);
    }
    let mut seen_promoted = false;
    for h in promoted..promoted + 4 {
        seen_promoted |= signers(&client, h).await.contains(&addr[4]);
    }
    assert!(seen_promoted, "node4's commit votes are in certificates from block {promoted}");

    // With five validators the quorum is four: one stopped, node4's votes make the quorum.
    nodes[1].stop();
    set_live(&live, &nodes[..5]);
    let now = height(&nodes[0]).await.expect("height");
    let four: Vec<&TestNode> = [0, 2, 3, 4].iter().map(|i| &nodes[*i]).collect();
    wait_height(&four, now + 3, Duration::from_secs(90), "four of five validators").await;
    for h in now + 1..=now + 3 {
        let s = signers(&client, h).await;
        assert!(s.contains(&addr[4]) && s.len() >= 4, "block {h} certified by {s:?}");
    }
    nodes[1].start().await;
    set_live(&live, &nodes[..4]);

    // Remove node3: no client sends to it any more, and from the effective height every member refuses it.
    let live_without_3: Vec<String> = [0, 1, 2, 4].iter().map(|i| nodes[*i].rpc_url.clone()).collect();
    *live.lock() = live_without_3;
    let refused_before = nodes[0].metric("accord_peers_refused_total").unwrap_or(0.0);
    let before = view_changes(&nodes);
    let removed = pass(&nodes[0], &keys, "remove-validator", &addr[3].to_string());
    println!("node3 removed from block {removed}");
    let rest: Vec<&TestNode> = [0, 1, 2, 4].iter().map(|i| &nodes[*i]).collect();
    wait_height(&rest, removed + 4, Duration::from_secs(90), "after the removal").await;
    let changes = view_changes(&nodes) - before;
    println!("view changes across the removal, all nodes: {changes}");
    assert!(changes <= 5.0, "no stall beyond one view change: {changes} view changes over 5 nodes");
    for n in &rest {
        let v = validators(n).await;
        assert_eq!(v, vec![addr[0], addr[1], addr[2], addr[4]], "{} no longer counts node3", n.name);
    }
    for h in removed..removed + 4 {
        assert!(!signers(&client, h).await.contains(&addr[3]), "node3's vote counted in block {h}");
    }
    // node3 is cut off: its head stops, its redials are refused.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while nodes[0].metric("accord_peers_refused_total").unwrap_or(0.0) <= refused_before {
        assert!(std::time::Instant::now() < deadline, "node0 refuses the removed node's connections");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stuck = height(&nodes[3]).await.expect("node3 answers RPC");
    assert!(stuck < removed + 2, "node3 kept following after its removal (head {stuck}, removed at {removed})");
    let now = height(&nodes[0]).await.expect("height");
    wait_height(&rest, now + 3, Duration::from_secs(90), "the rest go on").await;
    assert!(height(&nodes[3]).await.expect("height") <= stuck + 1, "node3 is refused by every member");

    // A parameter change under the same load takes effect at its height on every node.
    let limited = pass(&nodes[0], &keys, "set-param", "maxBlockTransactions=3");
    wait_height(&rest, limited + 3, Duration::from_secs(90), "after the parameter change").await;
    for n in &rest {
        let c = rpc(&n.rpc_url, "accord_systemConfig", serde_json::json!([])).await.expect("config");
        assert_eq!(
            (c["params"]["maxBlockTransactions"].as_u64(), c["since"].as_str()),
            (Some(3), Some(&*format!("{limited:#x}"))),
            "{}",
            n.name
        );
        for h in limited..limited + 3 {
            let b =
                AccordClient::new(&n.rpc_url).expect("client").block_by_number(h).await.expect("rpc").expect("block");
            assert!(b.transactions.len() <= 3, "{}: block {h} holds {} transactions", n.name, b.transactions.len());
        }
    }

    load.stop().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let head = height(&nodes[0]).await.expect("height");
    wait_height(&rest, head, Duration::from_secs(60), "level").await;
    let head = assert_identical(&rest).await;
    for n in &rest {
        assert_receipts_kept(n, &seen).await;
    }
    // Exactly once.
    let mut hashes = BTreeSet::new();
    for h in 1..=head {
        let b = client.block_by_number(h).await.expect("rpc").expect("block");
        for tx in b.transactions.hashes() {
            assert!(hashes.insert(tx), "transaction {tx} is in the chain twice");
        }
    }
    let acknowledged: Vec<B256> = seen.lock().keys().copied().collect();
    assert!(acknowledged.iter().all(|t| hashes.contains(t)), "an acknowledged transaction is missing");
    println!("{} acknowledged transactions, each in the chain once, over {head} blocks", acknowledged.len());

    // A fresh observer syncs everything, each certificate against the set of its height (four, then five, then
    // four validators): under any other set the blocks after the changes would not verify.
    nodes[5].start().await;
    wait_height(&[&nodes[5]], head, Duration::from_secs(120), "the fresh observer syncs").await;
    assert_identical(&[&nodes[0], &nodes[5]]).await;
    for n in nodes.iter_mut() {
        n.stop();
    }
    let report = nodes[5].verify();
    assert!(report["height"].as_u64().expect("height") >= head);
}
