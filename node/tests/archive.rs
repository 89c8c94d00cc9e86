//! `accord export-blocks` / `accord import-blocks` as an operator runs them: a node's blocks exported while it is
//! stopped, imported into a fresh node of the same chain, reproduce every header (`accord verify` passes and the
//! new node serves the same chain); a damaged archive stops at its first bad block; another chain's is refused.

mod common;

use std::path::Path;

use accord_sdk::U256;
use common::{CHAIN_ID, TestNode, accord_cli, cli_err, cli_ok, fresh_home, legacy_transfer, send_and_wait};

fn headers(home: &Path) -> Vec<accord_sdk::block::Header> {
    let (_, chain) = accord_node::home::open_chain(home).expect("open");
    (0..=chain.head().number).map(|n| chain.store().header(n).expect("read").expect("header")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn export_then_import_reproduces_every_header() {
    let mut node = TestNode::new();
    let client = node.start().await;
    let signer = node.accounts[0].signer();
    for nonce in 0..6 {
        let raw =
            legacy_transfer(&signer, Some(CHAIN_ID), nonce, node.accounts[1].address, U256::from(1_000 + nonce), 0);
        send_and_wait(&client, &raw).await;
    }
    node.stop();
    let work = tempfile::tempdir().expect("tempdir");
    let archive = work.path().join("blocks.bin");

    let printed = cli_ok(accord_cli(&["export-blocks", "--home"], &[&node.home, &archive]));
    assert!(printed.starts_with("exported blocks 1..="), "{printed}");
    let again = cli_err(accord_cli(&["export-blocks", "--home"], &[&node.home, &archive]));
    assert!(again.contains("never overwritten"), "{again}");

    let restored = fresh_home(&node, work.path());
    let printed = cli_ok(accord_cli(&["import-blocks", "--home"], &[&restored, &archive]));
    let original = headers(&node.home);
    assert!(printed.contains(&format!("imported {} blocks", original.len() - 1)), "{printed}");
    assert_eq!(headers(&restored), original, "every header, genesis to head");
    // Importing again checks each block against the stored one and adds nothing.
    assert!(cli_ok(accord_cli(&["import-blocks", "--home"], &[&restored, &archive])).contains("imported 0 blocks"));
    let report: serde_json::Value =
        serde_json::from_str(&cli_ok(accord_cli(&["verify", "--home"], &[&restored]))).expect("verify prints JSON");
    assert_eq!(report["height"], original.len() as u64 - 1);

    // A damaged archive: the last block's certificate is cut short. Every block before it is imported; the
    // error names the block.
    let bytes = std::fs::read(&archive).expect("read");
    let damaged = work.path().join("damaged.bin");
    std::fs::write(&damaged, &bytes[..bytes.len() - 10]).expect("write");
    let partial = work.path().join("partial");
    std::fs::create_dir_all(&partial).expect("dir");
    let partial = fresh_home(&node, &partial);
    let refused = cli_err(accord_cli(&["import-blocks", "--home"], &[&partial, &damaged]));
    assert!(refused.contains("truncated certificate"), "{refused}");
    assert_eq!(headers(&partial), original[..original.len() - 1], "the blocks before the damage are kept");

    // A forged block (one byte of a transaction changed) fails its checks and is not committed.
    let mut forged = bytes.clone();
    let at = bytes.len() - 300;
    forged[at] ^= 0x01;
    let forged_path = work.path().join("forged.bin");
    std::fs::write(&forged_path, &forged).expect("write");
    let third = work.path().join("third");
    std::fs::create_dir_all(&third).expect("dir");
    let third = fresh_home(&node, &third);
    let refused = cli_err(accord_cli(&["import-blocks", "--home"], &[&third, &forged_path]));
    assert!(refused.contains(&format!("block {}", original.len() - 1)), "{refused}");
    assert_eq!(headers(&third), original[..original.len() - 1]);

    // Another chain's archive is refused before any block is read.
    let mut other = TestNode::new();
    other.start().await;
    other.stop();
    let refused = cli_err(accord_cli(&["import-blocks", "--home"], &[&other.home, &archive]));
    assert!(refused.contains("the archive holds chain"), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_keeps_the_window_provable_and_refuses_older_state() {
    let mut node = TestNode::new();
    let client = node.start().await;
    // One transfer per block between the same accounts: every block replaces tree nodes and value versions.
    let signer = node.accounts[0].signer();
    let to = node.accounts[1].address;
    for nonce in 0..80 {
        send_and_wait(&client, &legacy_transfer(&signer, Some(CHAIN_ID), nonce, to, U256::from(1u8), 0)).await;
    }
    let head = client.block_number().await.expect("head");
    node.stop();

    assert!(cli_err(accord_cli(&["prune", "--keep-blocks", "10", "--home"], &[&node.home])).contains("below 64"));
    let printed = cli_ok(accord_cli(&["prune", "--keep-blocks", "64", "--home"], &[&node.home]));
    let kept_from = head + 1 - 64;
    assert!(printed.starts_with(&format!("pruned the state below block {kept_from} (head {head})")), "{printed}");
    let count = |what: &str| -> u64 {
        let before = printed.split(what).next().expect("text");
        before.split_whitespace().last().and_then(|n| n.parse().ok()).expect("a count")
    };
    assert!(count(" tree nodes") > 0 && count(" values deleted") > 0, "{printed}");
    assert!(
        cli_ok(accord_cli(&["prune", "--keep-blocks", "64", "--home"], &[&node.home])).starts_with("nothing to prune")
    );
    let report: serde_json::Value =
        serde_json::from_str(&cli_ok(accord_cli(&["verify", "--home"], &[&node.home]))).expect("verify prints JSON");
    assert_eq!(report["height"], head, "the whole chain still re-executes to the stored head");

    let client = node.start().await;
    // Inside the window: values and proofs against the block's state root.
    let inside = kept_from + 3;
    let at = |n: u64| serde_json::json!(format!("{n:#x}"));
    let balance =
        common::rpc(&node.rpc_url, "eth_getBalance", serde_json::json!([to, at(inside)])).await.expect("kept");
    let proof = client.account_proof(to, vec![], &format!("{inside:#x}")).await.expect("proof in the window");
    let account = proof.account_proof.verify_account(&proof.header.state_root, to).expect("verifies");
    assert_eq!(serde_json::json!(account.balance), balance);
    // Below it: a clear refusal naming the window, never a wrong answer.
    let refused = common::rpc(&node.rpc_url, "eth_getBalance", serde_json::json!([to, at(kept_from - 1)]))
        .await
        .expect_err("pruned");
    assert_eq!(refused.code(), -32001);
    assert!(refused.message().contains(&format!("keeps state from block {kept_from} on")), "{}", refused.message());
    let refused =
        common::rpc(&node.rpc_url, "accord_getProof", serde_json::json!([to, [], at(1)])).await.expect_err("pruned");
    assert!(refused.message().contains("was pruned"), "{}", refused.message());
    // The chain goes on, and the stale index keeps growing for the next prune.
    send_and_wait(&client, &legacy_transfer(&signer, Some(CHAIN_ID), 80, to, U256::from(1u8), 0)).await;
    node.stop();
    node.verify();
}
