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
use accord_sdk::{Address, B256, U256};
use common::*;

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

    // View changes per node (0 for a node not running): a stall beyond one view change would show as two or more.
    let view_changes = |nodes: &[TestNode]| -> Vec<f64> {
        nodes
            .iter()
            .map(|n| if n.is_running() { n.metric("accord_consensus_view_changes_total").unwrap_or(0.0) } else { 0.0 })
            .collect()
    };
    let most = |after: Vec<f64>, before: &[f64]| after.iter().zip(before).map(|(a, b)| a - b).fold(0.0, f64::max);
    // Promote node4.
    let before = view_changes(&nodes);
    let promoted = pass_proposal(&nodes[0], &keys, "add-validator", &[&addr[4].to_string()]);
    println!("node4 validates from block {promoted}");
    wait_height(&running, promoted + 4, Duration::from_secs(90), "after the promotion").await;
    let changes = most(view_changes(&nodes), &before);
    println!("most view changes at one node across the promotion: {changes}");
    assert!(changes <= 1.0, "no stall beyond one view change: {changes} at one node");
    assert_eq!(
        next_validators_hash(&nodes[0], promoted - 1).await,
        set_hash(&addr[..5]),
        "the block before the promotion commits to the five"
    );
    for n in &running {
        assert_eq!(validators(n).await, addr[..5].to_vec(), "{} counts five validators", n.name);
    }
    // A certificate holds the first quorum of votes (4 of 5): a just-promoted node4 may lose that race for a few
    // blocks on a loaded machine, but its votes must make certificates soon after.
    let mut seen_promoted = false;
    for h in promoted..promoted + 20 {
        wait_height(&running, h, Duration::from_secs(60), "blocks after the promotion").await;
        seen_promoted |= signers(&client, h).await.contains(&addr[4]);
        if seen_promoted {
            break;
        }
    }
    assert!(seen_promoted, "node4's commit votes are in certificates within 20 blocks from block {promoted}");

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

    // Remove node3: no client sends to it any more, and from the effective height every member refuses it.
    let live_without_3: Vec<String> = [0, 1, 2, 4].iter().map(|i| nodes[*i].rpc_url.clone()).collect();
    *live.lock() = live_without_3;
    let refused_before = nodes[0].metric("accord_peers_refused_total").unwrap_or(0.0);
    let before = view_changes(&nodes);
    let removed = pass_proposal(&nodes[0], &keys, "remove-validator", &[&addr[3].to_string()]);
    println!("node3 removed from block {removed}");
    let rest: Vec<&TestNode> = [0, 1, 2, 4].iter().map(|i| &nodes[*i]).collect();
    wait_height(&rest, removed + 4, Duration::from_secs(90), "after the removal").await;
    let changes = most(view_changes(&nodes), &before);
    println!("most view changes at one node across the removal: {changes}");
    assert!(changes <= 1.0, "no stall beyond one view change: {changes} at one node");
    assert_eq!(next_validators_hash(&nodes[0], removed - 1).await, set_hash(&[addr[0], addr[1], addr[2], addr[4]]));
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

    // A parameter change under the same load takes effect at its height on every node. A burst of 9 transfers from
    // one account after it must then spread over at least 3 blocks.
    let limited = pass_proposal(&nodes[0], &keys, "set-param", &["maxBlockTransactions", "3"]);
    let burst_signer = accounts[9].signer();
    let mut burst = Vec::new();
    for nonce in 0..9 {
        let raw = legacy_transfer(&burst_signer, Some(CHAIN_ID), nonce, Address::repeat_byte(0xcd), U256::from(1u8), 0);
        burst.push(client.send_raw_transaction(&raw).await.expect("pooled"));
    }
    let mut burst_blocks = BTreeSet::new();
    for tx in burst {
        let r = client.wait_for_receipt(tx, Duration::from_secs(60)).await.expect("rpc").expect("committed");
        burst_blocks.insert(r.block_number.expect("block"));
    }
    assert!(burst_blocks.len() >= 3, "9 transfers at most 3 per block: blocks {burst_blocks:?}");
    assert!(burst_blocks.first().is_some_and(|b| *b >= limited), "after the effective height");
    let last = *burst_blocks.last().expect("blocks");
    wait_height(&rest, last, Duration::from_secs(90), "after the parameter change").await;
    for n in &rest {
        let c = rpc(&n.rpc_url, "accord_systemConfig", serde_json::json!([])).await.expect("config");
        assert_eq!(
            (c["params"]["maxBlockTransactions"].as_u64(), c["since"].as_str()),
            (Some(3), Some(&*format!("{limited:#x}"))),
            "{}",
            n.name
        );
        for h in limited..=last {
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
    assert!(!acknowledged.is_empty(), "the load was acknowledged");
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
