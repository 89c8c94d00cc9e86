//! Must-show 2: transfers signed by a standard Ethereum library (alloy), legacy and EIP-1559, over the real RPC
//! port of a real node; receipts, blocks and transactions in the standard shapes; balances and nonces as Ethereum's.

mod common;

use std::time::Duration;

use accord_sdk::block::Header;
use accord_sdk::genesis::Genesis;
use accord_sdk::proof::InclusionProof;
use accord_sdk::{Address, U256};
use common::*;
use jsonrpsee::core::client::SubscriptionClientT;
use serde_json::json;

const GWEI: u128 = 1_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_commit_with_standard_shapes() {
    let mut node = TestNode::new();
    let client = node.start().await;
    assert_eq!(client.chain_id().await.expect("chainId"), CHAIN_ID);
    let genesis: Genesis =
        Genesis::from_json(&std::fs::read_to_string(node.home.join("genesis.json")).expect("genesis")).expect("valid");
    let proposer = genesis.validators[0].address;

    // newHeads over WebSocket on the same port.
    let ws = jsonrpsee::ws_client::WsClientBuilder::default().build(&node.ws_url).await.expect("ws connects");
    let mut heads: jsonrpsee::core::client::Subscription<serde_json::Value> = ws
        .subscribe("eth_subscribe", jsonrpsee::rpc_params!["newHeads"], "eth_unsubscribe")
        .await
        .expect("subscribe newHeads");

    let alice = node.accounts[0].clone();
    let bob = Address::repeat_byte(0xb0);
    let start_balance = client.balance(alice.address).await.expect("balance");
    assert_eq!(start_balance, U256::from(10u64).pow(U256::from(24u8)));

    // Legacy EIP-155 transfer paying 1 gwei per gas.
    let one_eth = U256::from(10u64).pow(U256::from(18u8));
    let raw = legacy_transfer(&alice.signer(), Some(CHAIN_ID), 0, bob, one_eth, GWEI);
    let r1 = send_and_wait(&client, &raw).await;
    assert!(r1.status(), "legacy transfer succeeded");
    assert_eq!(r1.gas_used, 21_000);
    assert_eq!(r1.effective_gas_price, GWEI);
    assert_eq!(r1.from, alice.address);
    assert_eq!(r1.to, Some(bob));
    assert_eq!(r1.transaction_hash, alloy_primitives::keccak256(&raw));

    // EIP-1559 transfer: base fee 0, so the tip (capped by max fee) is the price.
    let raw2 = eip1559_transfer(&alice.signer(), 1, bob, one_eth, 3 * GWEI, 2 * GWEI);
    let r2 = send_and_wait(&client, &raw2).await;
    assert!(r2.status());
    assert_eq!(r2.effective_gas_price, 2 * GWEI);

    // Balances and nonces change as Ethereum's would; the proposer receives the fees.
    let fees = U256::from(21_000u64 * GWEI as u64) + U256::from(21_000u64 * 2 * GWEI as u64);
    assert_eq!(client.balance(alice.address).await.expect("bal"), start_balance - one_eth * U256::from(2u8) - fees);
    assert_eq!(client.balance(bob).await.expect("bal"), one_eth * U256::from(2u8));
    assert_eq!(client.balance(proposer).await.expect("bal"), fees);
    assert_eq!(client.transaction_count(alice.address, "latest").await.expect("nonce"), 2);

    // Raw JSON shapes, as web3/ethers read them.
    let receipt = rpc(&node.rpc_url, "eth_getTransactionReceipt", json!([r2.transaction_hash])).await.expect("receipt");
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["type"], "0x2");
    assert_eq!(receipt["gasUsed"], "0x5208");
    for field in [
        "blockHash",
        "blockNumber",
        "transactionIndex",
        "cumulativeGasUsed",
        "logsBloom",
        "logs",
        "effectiveGasPrice",
        "from",
        "to",
    ] {
        assert!(!receipt[field].is_null(), "receipt has {field}: {receipt}");
    }
    let tx = rpc(&node.rpc_url, "eth_getTransactionByHash", json!([r1.transaction_hash])).await.expect("tx");
    assert_eq!(tx["type"], "0x0");
    assert_eq!(tx["chainId"], "0x539");
    assert_eq!(tx["from"].as_str().expect("from").to_lowercase(), format!("{:#x}", alice.address));
    assert_eq!(tx["nonce"], "0x0");
    assert_eq!(tx["blockHash"], json!(r1.block_hash));
    for field in ["v", "r", "s", "gasPrice", "input", "value", "hash"] {
        assert!(!tx[field].is_null(), "tx has {field}: {tx}");
    }

    // The block holds the transaction; by number and by hash agree.
    let n1 = r1.block_number.expect("mined");
    let block = client.block_by_number(n1).await.expect("rpc").expect("block");
    assert_eq!(block.header.hash, r1.block_hash.expect("hash"));
    assert!(block.transactions.hashes().any(|h| h == r1.transaction_hash));
    let by_hash = rpc(&node.rpc_url, "eth_getBlockByHash", json!([block.header.hash, false])).await.expect("block");
    assert_eq!(by_hash["number"], json!(format!("{n1:#x}")));
    assert_eq!(by_hash["transactions"][r1.transaction_index.expect("idx") as usize], json!(r1.transaction_hash));
    assert_eq!(by_hash["baseFeePerGas"], "0x0");

    // A header arrived on the subscription.
    let head = tokio::time::timeout(Duration::from_secs(10), heads.next())
        .await
        .expect("a head in time")
        .expect("stream open")
        .expect("json");
    assert!(head["number"].as_str().is_some() && head["hash"].as_str().is_some(), "newHeads shape: {head}");

    // Pending nonce counts a pooled transaction only when it continues the nonce sequence.
    let gapped = legacy_transfer(&alice.signer(), Some(CHAIN_ID), 3, bob, U256::from(1u8), 0);
    let gapped_hash = client.send_raw_transaction(&gapped).await.expect("gapped tx is pooled");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(client.transaction_count(alice.address, "pending").await.expect("pending"), 2);
    assert!(client.transaction_receipt(gapped_hash).await.expect("rpc").is_none(), "gapped tx waits");
    let fill = legacy_transfer(&alice.signer(), Some(CHAIN_ID), 2, bob, U256::from(1u8), 0);
    send_and_wait(&client, &fill).await;
    client.wait_for_receipt(gapped_hash, Duration::from_secs(30)).await.expect("rpc").expect("gap filled, committed");
    assert_eq!(client.transaction_count(alice.address, "latest").await.expect("nonce"), 4);

    // State, transaction and receipt proofs check out against a certified header, without trusting the node.
    let head_n = client.block_number().await.expect("head");
    let certified = client.certified_header(head_n).await.expect("rpc").expect("header");
    certified
        .certificate
        .as_ref()
        .expect("certificate stored")
        .verify(CHAIN_ID, &certified.header, &genesis.validator_set(), genesis.crypto)
        .expect("certificate verifies against genesis validators");
    let proof = client.account_proof(alice.address, vec![], "latest").await.expect("proof");
    assert_eq!(proof.header, certified.header);
    let account =
        proof.account_proof.verify_account(&certified.header.state_root, alice.address).expect("proof verifies");
    assert_eq!(account.nonce, 4);
    assert_eq!(account.balance, client.balance(alice.address).await.expect("bal"));
    let absent = client.account_proof(Address::repeat_byte(0x77), vec![], "latest").await.expect("proof");
    assert!(absent.account_proof.value.is_none());
    absent.account_proof.verify(&certified.header.state_root).expect("absence proof verifies");
    // A tampered value fails.
    let mut forged = proof.account_proof.clone();
    let mut acct = account.clone();
    acct.balance += U256::from(1u8);
    forged.value = Some(acct.encode().into());
    assert!(forged.verify(&certified.header.state_root).is_err());
    // Historic state: the balance at block 0 is the genesis balance.
    let old = client.account_proof(alice.address, vec![], "0x0").await.expect("proof");
    assert_eq!(
        old.account_proof.verify_account(&old.header.state_root, alice.address).expect("verifies").balance,
        start_balance
    );

    let tp = rpc(&node.rpc_url, "accord_getTransactionProof", json!([r1.transaction_hash])).await.expect("tx proof");
    let header: Header = serde_json::from_value(tp["header"].clone()).expect("header");
    assert_eq!(header.hash(), r1.block_hash.expect("hash"));
    let txp: InclusionProof = serde_json::from_value(tp["transaction"].clone()).expect("proof");
    assert_eq!(txp.item.as_ref(), raw.as_slice());
    txp.verify_transaction(&header).expect("tx inclusion verifies");
    let rp: InclusionProof = serde_json::from_value(tp["receipt"].clone()).expect("proof");
    rp.verify_receipt(&header).expect("receipt inclusion verifies");
    assert!(rp.verify_transaction(&header).is_err());

    // Metrics reflect the commits.
    let metrics = node.metrics();
    assert!(metrics.contains(&format!("accord_height {head_n}")), "{metrics}");
    assert!(metrics.contains("accord_txs_committed_total 4"), "{metrics}");
    assert!(metrics.contains("accord_block_commit_seconds_count"), "{metrics}");

    // Clean shutdown, restart: everything is still there.
    node.stop();
    let client = node.start().await;
    assert_eq!(client.block_number().await.expect("head"), head_n);
    assert!(client.transaction_receipt(r1.transaction_hash).await.expect("rpc").is_some());
    node.stop();
    let report = node.verify();
    assert_eq!(report["height"], json!(head_n));
}
