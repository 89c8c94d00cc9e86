//! Issue 4, must-show 2 and 4 (observer): four validator processes and an observer on loopback, real libp2p and
//! RocksDB, under transfer load.
//!
//! - Every node holds the same block hash and state root at every height.
//! - SIGKILL the next leader: a view change happens, commits resume, and no transaction whose receipt a client saw
//!   is lost or moved.
//! - Restart it: it catches up by block sync, and votes again (the chain keeps committing with another validator
//!   down, which needs its vote).
//! - With 2 of 4 down the chain halts; it resumes when one returns.
//! - The observer follows and serves reads; at the end `accord verify` re-executes every node's chain and checks
//!   every certificate.

mod common;

use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_survive_a_killed_leader_and_halt_safely_without_quorum() {
    let mut nodes = started_testnet(4, 1).await;
    let accounts = nodes[0].accounts.clone();
    let load = AcknowledgedLoad::start(&nodes, &accounts[..4]);
    let (live, seen) = (load.live.clone(), load.seen.clone());

    // 1. All five nodes commit the same chain.
    wait_height(&nodes.iter().collect::<Vec<_>>(), 8, Duration::from_secs(90), "startup").await;
    let h = assert_identical(&nodes.iter().collect::<Vec<_>>()).await;
    assert!(!seen.lock().is_empty(), "transfers were committed under load");
    println!("phase 1: 5 nodes identical up to height {h}, {} receipts", seen.lock().len());

    // Must-show 3 against a real node: a key outside the node list is refused at connection, counted and logged,
    // and nothing it sends reaches consensus or block sync.
    let (genesis, _) = test_validator::load_member(&nodes[0].home);
    let node0 = accord_node::network::Member::all_of(&genesis).expect("members").swap_remove(0);
    let target = node0.peer;
    let outsider_key = accord_sdk::keys::KeyPair::generate();
    let outsider = accord_node::network::Network::start(
        outsider_key.secret_bytes(),
        "/ip4/127.0.0.1/tcp/0".parse().expect("addr"),
        &[node0],
        1 << 20,
    )
    .expect("outsider network");
    let forged = accord_consensus::Message::Commit(accord_consensus::Signed {
        signer: 1,
        body: accord_consensus::Vote { height: h + 1, view: 0, block: accord_consensus::BlockId([9; 32]) },
        signature: vec![0; 65],
    });
    for _ in 0..20 {
        outsider
            .command(accord_node::network::NetworkCommand::Send { to: target, bytes: forged.encode().expect("encode") })
            .await;
        tokio::time::sleep(Duration::from_millis(250)).await;
        if nodes[0].metric("accord_peers_refused_total").unwrap_or(0.0) > 0.0 {
            break;
        }
    }
    assert!(nodes[0].metric("accord_peers_refused_total").unwrap_or(0.0) > 0.0, "the outsider was refused and counted");
    assert!(nodes[0].log().contains("refused a peer that is not a consortium member"), "and logged");
    assert_eq!(nodes[0].metric("accord_peers"), Some(4.0), "the four members stay connected, the outsider does not");
    drop(outsider);
    let peer_count = rpc(&nodes[0].rpc_url, "net_peerCount", serde_json::json!([])).await.expect("net_peerCount");
    assert_eq!(peer_count, "0x4");
    // accord_peers names them with their roles: the three other validators and the observer.
    let peers = rpc(&nodes[0].rpc_url, "accord_peers", serde_json::json!([])).await.expect("accord_peers");
    let mut roles: Vec<&str> = peers.as_array().expect("a list").iter().filter_map(|p| p["role"].as_str()).collect();
    roles.sort_unstable();
    assert_eq!(roles, ["observer", "validator", "validator", "validator"], "{peers}");

    // 2. Kill the leader of the next height.
    let head = height(&nodes[0]).await.expect("height");
    let leader = ((head + 1) % 4) as usize;
    nodes[leader].kill();
    set_live(&live, &nodes);
    let others: Vec<usize> = (0..5).filter(|i| *i != leader).collect();
    let running: Vec<&TestNode> = others.iter().map(|i| &nodes[*i]).collect();
    wait_height(&running, head + 6, Duration::from_secs(120), "after killing the leader").await;
    let view_changes: f64 = others
        .iter()
        .filter(|i| **i < 4)
        .map(|i| nodes[*i].metric("accord_consensus_view_changes_total").unwrap_or(0.0))
        .sum();
    assert!(view_changes > 0.0, "a view change replaced the killed leader");
    assert_identical(&running).await;
    for n in &running {
        assert_receipts_kept(n, &seen).await;
    }
    println!("phase 2: leader node{leader} killed at height {head}; {view_changes} view changes; commits resumed");

    // 3. Restart it: block sync brings it level, then it votes again (another validator goes down and the chain
    //    still commits, which needs three votes).
    nodes[leader].start().await;
    set_live(&live, &nodes);
    let target = height(&nodes[others[0]]).await.expect("height");
    wait_height(&[&nodes[leader]], target, Duration::from_secs(60), "restarted node catching up").await;
    assert!(nodes[leader].metric("accord_sync_blocks_total").unwrap_or(0.0) > 0.0, "it caught up by block sync");
    let second = (leader + 1) % 4;
    nodes[second].kill();
    set_live(&live, &nodes);
    let three: Vec<&TestNode> = (0..4).filter(|i| *i != second).map(|i| &nodes[i]).collect();
    let now = height(three[0]).await.expect("height");
    wait_height(&three, now + 4, Duration::from_secs(120), "restarted validator voting with two others").await;
    println!("phase 3: node{leader} caught up to {target} by sync and votes again (node{second} down)");

    // 4. Two of four down: no quorum, the chain halts...
    let third = (second + 1) % 4;
    nodes[third].kill();
    set_live(&live, &nodes);
    tokio::time::sleep(Duration::from_secs(3)).await; // a commit already under way may land
    let two: Vec<&TestNode> = (0..4).filter(|i| *i != second && *i != third).map(|i| &nodes[i]).collect();
    let halted = height(two[0]).await.expect("height");
    tokio::time::sleep(Duration::from_secs(10)).await;
    for n in &two {
        assert_eq!(height(n).await.expect("height"), halted, "{} committed without a quorum", n.name);
    }
    // ...and resumes when one returns.
    nodes[third].start().await;
    set_live(&live, &nodes);
    let three: Vec<&TestNode> = (0..4).filter(|i| *i != second).map(|i| &nodes[i]).collect();
    wait_height(&three, halted + 3, Duration::from_secs(120), "resume after a validator returned").await;
    println!("phase 4: halted at {halted} with 2 of 4 down, resumed when node{third} returned");

    // 5. Everyone back; the observer followed throughout and serves the same reads.
    nodes[second].start().await;
    set_live(&live, &nodes);
    let all: Vec<&TestNode> = nodes.iter().collect();
    let now = height(&nodes[0]).await.expect("height");
    wait_height(&all, now + 2, Duration::from_secs(90), "all five level").await;
    load.stop().await;
    let final_height = assert_identical(&all).await;
    for n in &all {
        assert_receipts_kept(n, &seen).await;
    }
    // The observer serves the same reads (at a height both hold: the load's last transfers may still be landing).
    let at = format!("{final_height:#x}");
    for a in &accounts[..4] {
        let params = serde_json::json!([a.address, at]);
        let on_observer = rpc(&nodes[4].rpc_url, "eth_getBalance", params.clone()).await.expect("observer read");
        let on_validator = rpc(&nodes[0].rpc_url, "eth_getBalance", params).await.expect("validator read");
        assert_eq!(on_observer, on_validator);
    }
    assert_eq!(nodes[4].metric("accord_consensus_height"), Some(0.0), "the observer never ran consensus");
    println!("phase 5: all identical to height {final_height}; {} acknowledged transfers kept", seen.lock().len());

    // Every node's stored chain re-executes from genesis with valid certificates.
    for n in nodes.iter_mut() {
        n.stop();
        let report = n.verify();
        assert!(report["height"].as_u64().expect("height") >= final_height, "{report}");
    }
}
