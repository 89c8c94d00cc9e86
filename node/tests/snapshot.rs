//! `accord snapshot` / `accord import-snapshot` as operators run them, on a 4-validator network of real processes
//! whose validator set changes by governance before the snapshot: a node started from a validator's snapshot joins
//! the network, follows the chain and serves the same state as the others; its blocks before the snapshot are
//! refused with a clear error rather than answered wrongly; a damaged or forged snapshot, or a used data directory,
//! is refused before anything is written; and the restored node can write a snapshot of its own.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use accord_sdk::U256;
use accord_sdk::client::AccordClient;
use common::*;

/// Block `n`'s certified header, and every dev account's balance and nonce at it.
async fn state_at(node: &TestNode, n: u64) -> (serde_json::Value, Vec<(U256, u64)>) {
    let tag = format!("{n:#x}");
    let block = rpc(&node.rpc_url, "accord_getBlockCertificate", serde_json::json!([tag])).await.expect("block");
    let mut accounts = Vec::new();
    for a in &node.accounts {
        let addr = a.address.to_string();
        let balance = rpc(&node.rpc_url, "eth_getBalance", serde_json::json!([addr, tag])).await.expect("balance");
        let nonce = rpc(&node.rpc_url, "eth_getTransactionCount", serde_json::json!([addr, tag])).await.expect("nonce");
        accounts.push((
            balance.as_str().expect("hex").parse().expect("balance"),
            u64::from_str_radix(nonce.as_str().expect("hex").trim_start_matches("0x"), 16).expect("nonce"),
        ));
    }
    (block["header"].clone(), accounts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_started_from_a_snapshot_joins_and_serves_identical_state() {
    // node0..3 validators, node4 an observer promoted to validator (a validator-set change the snapshot's chain of
    // trust must carry), node5 the observer restarted from a snapshot.
    let mut nodes = started_testnet(4, 2).await;
    let running: Vec<&TestNode> = nodes.iter().collect();
    let keys: Vec<PathBuf> = (0..2).map(|i| key_file(&nodes[0], i)).collect();
    let promoted = pass_proposal(&nodes[0], &keys, "add-validator", &[&node_address(&nodes[4]).await.to_string()]);
    let client = AccordClient::new(&nodes[1].rpc_url).expect("client");
    let signer = nodes[0].accounts[3].signer();
    for nonce in 0..5 {
        let to = nodes[0].accounts[4 + nonce as usize].address;
        send_and_wait(&client, &legacy_transfer(&signer, Some(CHAIN_ID), nonce, to, U256::from(7_000 + nonce), 0))
            .await;
    }
    wait_height(&running, promoted + 1, Duration::from_secs(60), "past the promotion").await;

    // A validator stops (four of five still commit), writes its snapshot, and starts again.
    nodes[0].stop();
    let work = tempfile::tempdir().expect("tempdir");
    let snap = work.path().join("state.snap");
    let printed = cli_ok(accord_cli(&["snapshot", "--home"], &[&nodes[0].home, &snap]));
    let base: u64 = printed
        .strip_prefix("snapshot of block ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(base > promoted, "{printed}");
    assert!(printed.contains("2 validator-set steps"), "the promotion and the snapshot's block: {printed}");
    assert!(cli_err(accord_cli(&["snapshot", "--home"], &[&nodes[0].home, &snap])).contains("never overwritten"));
    nodes[0].start().await;

    // The observer's data directory is wiped: a used directory is refused, a new one restored.
    nodes[5].stop();
    let refused = cli_err(accord_cli(&["import-snapshot", "--home"], &[&nodes[5].home, &snap]));
    assert!(refused.contains("already holds a chain"), "{refused}");
    std::fs::remove_dir_all(nodes[5].home.join("data")).expect("wipe");
    let bytes = std::fs::read(&snap).expect("read");
    // One byte of the state changed: refused by the certified root, and nothing is written.
    let mut damaged = bytes.clone();
    let at = bytes.len() - 12;
    damaged[at] ^= 0x01;
    let damaged_path = work.path().join("damaged.snap");
    std::fs::write(&damaged_path, &damaged).expect("write");
    let refused = cli_err(accord_cli(&["import-snapshot", "--home"], &[&nodes[5].home, &damaged_path]));
    assert!(refused.contains(&format!("block {base} is certified with state root")), "{refused}");
    // A forged signature in the first step's certificate: refused by the chain of trust.
    let mut forged = bytes.clone();
    let first_cert = 16 + 8 + 32 + 8 + 4 + 4 + {
        let len = u32::from_be_bytes(bytes[68..72].try_into().expect("len")) as usize;
        len + 4 + 20
    };
    forged[first_cert] ^= 0x01;
    let forged_path = work.path().join("forged.snap");
    std::fs::write(&forged_path, &forged).expect("write");
    let refused = cli_err(accord_cli(&["import-snapshot", "--home"], &[&nodes[5].home, &forged_path]));
    assert!(refused.contains("certificate against the validator set in force"), "{refused}");

    let printed = cli_ok(accord_cli(&["import-snapshot", "--home"], &[&nodes[5].home, &snap]));
    assert!(printed.starts_with(&format!("restored block {base} (")), "{printed}");
    nodes[5].start().await;

    // The chain goes on; the restored node follows it.
    for nonce in 5..8 {
        let to = nodes[0].accounts[6].address;
        send_and_wait(&client, &legacy_transfer(&signer, Some(CHAIN_ID), nonce, to, U256::from(1u8), 0)).await;
    }
    let head = client.block_number().await.expect("head");
    let all: Vec<&TestNode> = nodes.iter().collect();
    wait_height(&all, head, Duration::from_secs(60), "the restored node follows").await;
    for n in [base, base + 1, head] {
        assert_eq!(state_at(&nodes[5], n).await, state_at(&nodes[1], n).await, "block {n}");
    }
    // Proofs from the restored node verify against its certified header.
    let address = nodes[0].accounts[6].address;
    let proof =
        rpc(&nodes[5].rpc_url, "accord_getProof", serde_json::json!([address, [], "latest"])).await.expect("proof");
    let proof: accord_sdk::rpc_types::AccountProofResponse = serde_json::from_value(proof).expect("proof shape");
    let account = proof.account_proof.verify_account(&proof.header.state_root, address).expect("proof verifies");
    assert_eq!(account.nonce, 0);
    assert!(account.balance > U256::ZERO);

    // The snapshot's block itself: its header and state are there, its transactions are not.
    let e = rpc(&nodes[5].rpc_url, "eth_getBlockByNumber", serde_json::json!([format!("{base:#x}"), false]))
        .await
        .expect_err("refused before the snapshot");
    assert_eq!(e.code(), -4444, "{e:?}");
    // Before the snapshot: a clear error (EIP-4444's code), never a wrong or empty answer.
    let e = rpc(&nodes[5].rpc_url, "eth_getBlockByNumber", serde_json::json!(["0x1", false]))
        .await
        .expect_err("refused before the snapshot");
    assert_eq!(e.code(), -4444, "{e:?}");
    assert!(e.message().contains(&format!("started from a snapshot of block {base}")), "{e:?}");
    let e = rpc(&nodes[5].rpc_url, "eth_getLogs", serde_json::json!([{ "fromBlock": "0x0", "toBlock": "latest" }]))
        .await
        .expect_err("refused before the snapshot");
    assert_eq!(e.code(), -4444, "{e:?}");
    let e = rpc(&nodes[5].rpc_url, "eth_getBalance", serde_json::json!([nodes[0].accounts[6].address, "0x1"]))
        .await
        .expect_err("refused before the snapshot");
    assert_eq!(e.code(), -4444, "{e:?}");

    // The restored node writes a snapshot of its own, which restores into yet another new node.
    nodes[5].stop();
    let second = work.path().join("second.snap");
    cli_ok(accord_cli(&["snapshot", "--home"], &[&nodes[5].home, &second]));
    let third = fresh_home(&nodes[5], &work.path().join("third"));
    let printed = cli_ok(accord_cli(&["import-snapshot", "--home"], &[&third, &second]));
    assert!(printed.starts_with(&format!("restored block {head} (")), "{printed}");
    let verify = cli_err(accord_cli(&["verify", "--home"], &[&third]));
    assert!(verify.contains(&format!("started from a snapshot of block {head}")), "{verify}");
}
