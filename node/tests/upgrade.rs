//! Issue 9, must-show 7: the upgrade path with nodes on two builds. `ACCORD_NEXT_BIN` names a build that supports
//! compatibility version 2 (`scripts/upgrade-test.sh` makes it with `ACCORD_SUPPORTED_VERSION=2`); this test's own
//! build supports 1. Binaries are replaced one node at a time while the chain runs; the version is raised while one
//! node still runs the old build, which stops at the effective height with an error that says to upgrade, while
//! the upgraded ones go on; once it is upgraded too it catches up, and every node agrees.
//!
//! Ignored in the default run (it needs the second build): `scripts/upgrade-test.sh` runs it.

mod common;

use std::time::Duration;

use common::*;

async fn version_of(node: &TestNode, n: u64) -> u64 {
    let h: serde_json::Value =
        rpc(&node.rpc_url, "accord_getBlockCertificate", serde_json::json!([format!("{n:#x}")])).await.expect("rpc");
    let v = &h["header"]["version"];
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok()))
        .expect("version")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ACCORD_NEXT_BIN, a second build; run by scripts/upgrade-test.sh"]
async fn binaries_first_then_the_version() {
    let next =
        std::env::var("ACCORD_NEXT_BIN").expect("ACCORD_NEXT_BIN: an accord built with ACCORD_SUPPORTED_VERSION=2");
    let mut nodes = started_testnet(4, 0).await;
    // Blocks are made only when there is work: keep transfers flowing (to whichever nodes run).
    let accounts = nodes[0].accounts.clone();
    let load = AcknowledgedLoad::start(&nodes, &accounts[3..6]);
    let (live, seen) = (load.live.clone(), load.seen.clone());
    let all: Vec<&TestNode> = nodes.iter().collect();
    wait_height(&all, 2, Duration::from_secs(60), "startup").await;
    let config: serde_json::Value =
        rpc(&nodes[0].rpc_url, "accord_systemConfig", serde_json::json!([])).await.expect("rpc");
    assert_eq!((config["version"].as_u64(), config["supportedVersion"].as_u64()), (Some(1), Some(1)));

    // Replace three binaries one at a time while the chain runs.
    for i in 0..3 {
        nodes[i].stop();
        set_live(&live, &nodes);
        nodes[i].start_with(&next).await;
        set_live(&live, &nodes);
        let now = height(&nodes[(i + 1) % 4]).await.expect("height");
        wait_height(&nodes.iter().collect::<Vec<_>>(), now + 2, Duration::from_secs(60), "after a replacement").await;
    }
    let config: serde_json::Value =
        rpc(&nodes[0].rpc_url, "accord_systemConfig", serde_json::json!([])).await.expect("rpc");
    assert_eq!(config["supportedVersion"].as_u64(), Some(2), "node0 runs the new build");

    // Raise the version with node3 still on the old build.
    let keys: Vec<std::path::PathBuf> = (0..2).map(|i| key_file(&nodes[0], i)).collect();
    let effective = pass_proposal(&nodes[0], &keys, "set-version", &["2"]);
    println!("version 2 from block {effective}");

    // Clients stay off the old build from here (its pool would accept what it can never execute).
    *live.lock() = nodes[..3].iter().map(|n| n.rpc_url.clone()).collect();
    let upgraded: Vec<&TestNode> = nodes[..3].iter().collect();
    wait_height(&upgraded, effective + 3, Duration::from_secs(90), "the upgraded nodes go on").await;
    assert_eq!(version_of(&nodes[0], effective - 1).await, 1);
    assert_eq!(version_of(&nodes[0], effective).await, 2, "headers carry the version from the effective height");
    // The old build stops before the effective height and says why.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let expected =
        format!("block {effective} runs compatibility version 2, but this binary supports up to 1: upgrade the node");
    while !nodes[3].log().contains(&expected) {
        assert!(
            std::time::Instant::now() < deadline,
            "node3 says why it stopped; log:\n{}",
            last_lines(&nodes[3].log(), 30)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(height(&nodes[3]).await.expect("height") < effective, "the old build executed a version-2 block");

    // Upgraded at last, it catches up.
    nodes[3].stop();
    nodes[3].start_with(&next).await;
    set_live(&live, &nodes);
    let head = height(&nodes[0]).await.expect("height");
    wait_height(&nodes.iter().collect::<Vec<_>>(), head + 2, Duration::from_secs(90), "all four on the new build")
        .await;
    load.stop().await;
    let all: Vec<&TestNode> = nodes.iter().collect();
    let head = height(&nodes[0]).await.expect("height");
    wait_height(&all, head, Duration::from_secs(60), "level").await;
    assert_identical(&all).await;
    for n in &all {
        assert_receipts_kept(n, &seen).await;
    }
    for n in nodes.iter_mut() {
        n.stop();
    }
}
