//! Issue 9, lost-quorum recovery: two of four validators are gone for good (no quorum: the chain stops, safely).
//! The remaining operators configure the same emergency transition (a new validator set and a new committee from
//! the next height) and restart: the chain goes on under the new set, the new committee governs, a node without the
//! transition refuses the blocks after it (and follows once configured), and `accord verify` replays it all.

mod common;

use std::io::Write as _;
use std::time::Duration;

use common::*;

fn configure(node: &TestNode, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(node.home.join("config.toml")).expect("config");
    f.write_all(text.as_bytes()).expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_transition_restores_a_chain_that_lost_its_quorum() {
    let mut nodes = started_testnet(4, 0).await;
    let accounts = nodes[0].accounts.clone();
    let load = AcknowledgedLoad::start(&nodes[..2], &accounts[3..7]);
    let (live, seen) = (load.live.clone(), load.seen.clone());
    wait_height(&nodes.iter().collect::<Vec<_>>(), 3, Duration::from_secs(60), "startup").await;
    let mut addr = Vec::new();
    for n in &nodes {
        addr.push(node_address(n).await);
    }
    let (a0, a1) = (addr[0], addr[1]);

    // Clients pause and the four level out, so the two that die hold nothing the others lack.
    live.lock().clear();
    let all: Vec<&TestNode> = nodes.iter().collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let stuck = loop {
        let first = height(&nodes[0]).await.expect("height");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut heads = Vec::new();
        for n in &all {
            heads.push(height(n).await.expect("height"));
        }
        if heads.iter().all(|h| *h == first) {
            break first;
        }
        assert!(std::time::Instant::now() < deadline, "the four did not level out: {heads:?}");
    };
    // Two validators die for good: 2 of 4 is below the quorum of 3. Under load again, nothing more is committed.
    nodes[2].kill();
    nodes[3].kill();
    set_live(&live, &nodes[..2]);
    tokio::time::sleep(Duration::from_secs(8)).await;
    for n in &nodes[..2] {
        assert_eq!(height(n).await.expect("height"), stuck, "{} committed without a quorum", n.name);
    }
    let from = stuck + 1;
    println!("quorum lost at height {stuck}; emergency transition from {from}");

    // Both remaining operators configure the same transition: validators node0 and node1, and a new committee of
    // one governor (the old governors' keys are "lost" too).
    let governor = &accounts[9];
    assert!(!accounts[..3].iter().any(|a| a.address == governor.address), "a governor the genesis did not name");
    let transition = format!(
        "\n[emergency]\nheight = {from}\nvalidators = [\"{a0}\", \"{a1}\"]\n\n[emergency.committee]\nparticipationThreshold = 50\nwinThreshold = 50\nproposalLifetime = 100\n\n[emergency.committee.governors]\n\"{}\" = 1\n",
        governor.address
    );
    for n in nodes.iter_mut().take(2) {
        n.stop();
        configure(n, &transition);
    }
    for n in nodes.iter_mut().take(2) {
        n.start().await;
    }
    set_live(&live, &nodes[..2]);
    let two: Vec<&TestNode> = nodes[..2].iter().collect();
    wait_height(&two, from + 3, Duration::from_secs(90), "two validators under the emergency set").await;
    let v = rpc(&nodes[0].rpc_url, "accord_validators", serde_json::json!([])).await.expect("validators");
    let set: Vec<String> = v["validators"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v["address"].as_str().expect("a").to_lowercase())
        .collect();
    assert_eq!(set, vec![format!("{a0:#x}"), format!("{a1:#x}")], "the emergency set validates");
    assert_eq!(v["observers"].as_array().map(|o| o.len()), Some(2), "the lost validators stay members as observers");
    // The header before the transition keeps the set it was committed with; the one at it names the new set.
    assert_eq!(next_validators_hash(&nodes[0], from - 1).await, set_hash(&addr));
    assert_eq!(next_validators_hash(&nodes[0], from).await, set_hash(&[a0, a1]));

    // The new committee governs: its single governor decides alone.
    let key = key_file(&nodes[0], 9);
    let decided = gov_json(&nodes[0], &key, &["propose", "set-param", "maxBlockTransactions", "777"]);
    assert_eq!(decided["status"], "passed", "the emergency committee's governor decides alone");

    // node2 comes back without the transition: once it has seen peers ahead of the transition, it still refuses
    // every block from it on.
    nodes[2].start().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while nodes[2].metric("accord_sync_target_height").unwrap_or(0.0) < from as f64 {
        assert!(std::time::Instant::now() < deadline, "node2 hears of the blocks after the transition");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let h2 = height(&nodes[2]).await.expect("height");
    assert!(h2 < from, "node2 without the transition accepted block {h2} (transition at {from})");
    // Configured like the others, it follows.
    nodes[2].stop();
    configure(&nodes[2], &transition);
    nodes[2].start().await;
    let head = height(&nodes[0]).await.expect("height");
    let three: Vec<&TestNode> = nodes[..3].iter().collect();
    wait_height(&three, head, Duration::from_secs(90), "node2 with the transition").await;

    // Governance goes on from the transition: node2, an observer now, is promoted again, and the headers commit
    // to the set governance made (not the transition's).
    let promoted = gov_json(&nodes[0], &key, &["propose", "add-validator", &addr[2].to_string()]);
    assert_eq!(promoted["status"], "passed");
    let effective = promoted["effectiveHeight"].as_u64().expect("effective height");
    wait_height(&three, effective + 2, Duration::from_secs(90), "three validators").await;
    assert_eq!(next_validators_hash(&nodes[0], effective - 1).await, set_hash(&addr[..3]));
    assert_eq!(next_validators_hash(&nodes[0], effective + 1).await, set_hash(&addr[..3]));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let head = height(&nodes[0]).await.expect("height");
    wait_height(&three, head, Duration::from_secs(90), "level").await;
    assert_identical(&three).await;
    for n in &three {
        assert_receipts_kept(n, &seen).await;
    }
    for n in nodes.iter_mut() {
        n.stop();
    }
    assert!(nodes[0].verify()["height"].as_u64().expect("height") >= head, "accord verify replays the transition");
}
