//! Issue 9, lost-quorum recovery: two of four validators are gone for good (no quorum: the chain stops, safely).
//! The remaining operators configure the same emergency transition (a new validator set and a new committee from
//! the next height) and restart: the chain goes on under the new set, the new committee governs, a node without the
//! transition refuses the blocks after it (and follows once configured), and `accord verify` replays it all.

mod common;

use std::io::Write as _;
use std::time::Duration;

use accord_sdk::Address;
use common::*;

async fn node_address(node: &TestNode) -> Address {
    let s = rpc(&node.rpc_url, "accord_nodeStatus", serde_json::json!([])).await.expect("status");
    s["nodeAddress"].as_str().expect("nodeAddress").parse().expect("address")
}

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
    let (a0, a1) = (node_address(&nodes[0]).await, node_address(&nodes[1]).await);

    // Two validators die for good: 2 of 4 is below the quorum of 3, nothing more is committed.
    nodes[2].kill();
    nodes[3].kill();
    let mut last = (0, std::time::Instant::now());
    loop {
        let h = height(&nodes[0]).await.expect("height").max(height(&nodes[1]).await.expect("height"));
        if h != last.0 {
            last = (h, std::time::Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(8) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stuck = last.0;
    let from = stuck + 1;
    println!("quorum lost at height {stuck}; emergency transition from {from}");

    // Both remaining operators configure the same transition: validators node0 and node1, and a new committee of
    // one governor (the old governors' keys are "lost" too).
    let governor = &accounts[9];
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

    // The new committee governs: its single governor decides alone.
    let key = nodes[0].dir.path().join("emergency-governor.key");
    std::fs::write(&key, &governor.private_key).expect("key");
    let out = std::process::Command::new(accord_bin())
        .args([
            "gov",
            "propose",
            "set-param",
            "maxBlockTransactions",
            "777",
            "--json",
            "--rpc",
            &nodes[0].rpc_url,
            "--key",
        ])
        .arg(&key)
        .output()
        .expect("run accord gov");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let decided: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(decided["status"], "passed", "the emergency committee's governor decides alone");

    // node2 comes back without the transition: it refuses every block from the transition on.
    nodes[2].start().await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let h2 = height(&nodes[2]).await.expect("height");
    assert!(h2 < from, "node2 without the transition accepted block {h2} (transition at {from})");
    // Configured like the others, it follows.
    nodes[2].stop();
    configure(&nodes[2], &transition);
    nodes[2].start().await;
    load.stop().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let head = height(&nodes[0]).await.expect("height");
    let three: Vec<&TestNode> = nodes[..3].iter().collect();
    wait_height(&three, head, Duration::from_secs(90), "node2 with the transition").await;
    assert_identical(&three).await;
    for n in &three {
        assert_receipts_kept(n, &seen).await;
    }
    for n in nodes.iter_mut() {
        n.stop();
    }
    assert!(nodes[0].verify()["height"].as_u64().expect("height") >= head, "accord verify replays the transition");
}
