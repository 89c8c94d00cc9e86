//! Must-show 3: bad input gets a clear JSON-RPC error and changes nothing.

mod common;

use std::time::Duration;

use accord_sdk::{Address, U256};
use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Bytes, Signature, TxKind};
use alloy_signer::SignerSync;
use common::*;
use serde_json::json;

async fn expect_error(url: &str, method: &str, params: serde_json::Value, code: i32, needle: &str) {
    match rpc(url, method, params.clone()).await {
        Ok(v) => panic!("{method} {params} was accepted: {v}"),
        Err(e) => {
            assert_eq!(e.code(), code, "{method}: code for {:?}", e.message());
            assert!(e.message().contains(needle), "{method}: message {:?} should contain {needle:?}", e.message());
        }
    }
}

async fn expect_tx_error(url: &str, raw: &[u8], code: i32, needle: &str) {
    expect_error(url, "eth_sendRawTransaction", json!([Bytes::copy_from_slice(raw)]), code, needle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_changes_nothing() {
    let mut node = TestNode::new();
    let client = node.start().await;
    let url = node.rpc_url.clone();
    let alice = node.accounts[0].clone();
    let signer = alice.signer();
    let bob = Address::repeat_byte(0xb0);

    // One good transfer, so there is a committed nonce to reuse.
    let good = legacy_transfer(&signer, Some(CHAIN_ID), 0, bob, U256::from(5u8), 0);
    send_and_wait(&client, &good).await;
    // One pooled transaction that waits on a gap, to collide with.
    let pooled = legacy_transfer(&signer, Some(CHAIN_ID), 2, bob, U256::from(6u8), 0);
    client.send_raw_transaction(&pooled).await.expect("gapped tx pooled");

    let height = client.block_number().await.expect("height");
    let balance = client.balance(alice.address).await.expect("balance");
    let bob_balance = client.balance(bob).await.expect("balance");

    // Wrong chain id, and a pre-EIP-155 signature without one.
    expect_tx_error(&url, &legacy_transfer(&signer, Some(1), 1, bob, U256::from(1u8), 0), -32012, "invalid chain id")
        .await;
    expect_tx_error(&url, &legacy_transfer(&signer, None, 1, bob, U256::from(1u8), 0), -32012, "invalid chain id")
        .await;

    // High-s (malleable) signature: same key, s replaced by n - s.
    let tx = TxLegacy {
        chain_id: Some(CHAIN_ID),
        nonce: 1,
        gas_price: 0,
        gas_limit: 21_000,
        to: TxKind::Call(bob),
        value: U256::from(1u8),
        input: Bytes::new(),
    };
    let sig = signer.sign_hash_sync(&tx.signature_hash()).expect("sign");
    let n = U256::from_str_radix("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", 16).expect("n");
    let high: TxEnvelope = tx.clone().into_signed(Signature::new(sig.r(), n - sig.s(), !sig.v())).into();
    expect_tx_error(&url, &high.encoded_2718(), -32013, "high-s").await;
    // A signature that recovers no key (r = 0).
    let broken: TxEnvelope = tx.clone().into_signed(Signature::new(U256::ZERO, sig.s(), sig.v())).into();
    expect_tx_error(&url, &broken.encoded_2718(), -32013, "invalid sender").await;

    // Nonce too low (reused from a committed transaction).
    expect_tx_error(
        &url,
        &legacy_transfer(&signer, Some(CHAIN_ID), 0, bob, U256::from(9u8), 0),
        -32014,
        "nonce too low",
    )
    .await;
    // The exact committed transaction again.
    expect_tx_error(&url, &good, -32014, "nonce too low").await;
    // Nonce reused in the pool: same transaction, and a different one at the same nonce and price.
    expect_tx_error(&url, &pooled, -32016, "already known").await;
    expect_tx_error(
        &url,
        &legacy_transfer(&signer, Some(CHAIN_ID), 2, bob, U256::from(7u8), 0),
        -32016,
        "replacement transaction underpriced",
    )
    .await;
    // Too far in the future.
    expect_tx_error(
        &url,
        &legacy_transfer(&signer, Some(CHAIN_ID), 1_000, bob, U256::from(1u8), 0),
        -32015,
        "nonce too high",
    )
    .await;

    // Insufficient balance: more than the account holds, and an unfunded sender.
    expect_tx_error(
        &url,
        &legacy_transfer(&signer, Some(CHAIN_ID), 1, bob, balance + U256::from(1u8), 0),
        -32017,
        "insufficient funds",
    )
    .await;
    let pauper = alloy_signer_local::PrivateKeySigner::random();
    expect_tx_error(
        &url,
        &legacy_transfer(&pauper, Some(CHAIN_ID), 0, bob, U256::from(1u8), 0),
        -32017,
        "insufficient funds",
    )
    .await;

    // Oversized and malformed RLP.
    let big = TxLegacy { input: Bytes::from(vec![1u8; 200 * 1024]), gas_limit: 10_000_000, ..tx.clone() };
    expect_tx_error(&url, &sign(&signer, big), -32011, "oversized").await;
    expect_tx_error(&url, &[0xde, 0xad, 0xbe, 0xef], -32010, "malformed").await;
    expect_tx_error(&url, &[0xf8, 0xff, 0x01], -32010, "malformed").await;
    let mut truncated = good.clone();
    truncated.truncate(good.len() - 3);
    expect_tx_error(&url, &truncated, -32010, "malformed").await;
    expect_tx_error(&url, &[], -32010, "malformed").await;
    // Gas limit below intrinsic gas.
    let low = TxLegacy { gas_limit: 20_000, ..tx.clone() };
    expect_tx_error(&url, &sign(&signer, low), -32018, "intrinsic gas too low").await;

    // Unknown method and wrong params.
    expect_error(&url, "eth_noSuchMethod", json!([]), -32601, "not found").await;
    expect_error(&url, "eth_sendRawTransaction", json!(["not hex"]), -32602, "").await;
    expect_error(&url, "eth_sendRawTransaction", json!([]), -32602, "").await;
    expect_error(&url, "eth_getBalance", json!(["0x1234", "latest"]), -32602, "").await;
    expect_error(&url, "eth_getBalance", json!([alice.address, "0xffffff"]), -32001, "header not found").await;
    expect_error(&url, "eth_getBlockByNumber", json!([{"x": 1}]), -32602, "").await;

    // Nothing changed: no block, same balances, the pool holds only the gapped transaction.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(client.block_number().await.expect("height"), height);
    assert_eq!(client.balance(alice.address).await.expect("balance"), balance);
    assert_eq!(client.balance(bob).await.expect("balance"), bob_balance);
    assert_eq!(client.transaction_count(alice.address, "latest").await.expect("nonce"), 1);
    let status = rpc(&url, "accord_nodeStatus", json!([])).await.expect("status");
    assert_eq!(status["mempoolSize"], 1);
    let metrics = node.metrics();
    assert!(metrics.contains("accord_txs_rejected_total{reason=\"chain_id\"} 2"), "{metrics}");
    assert!(metrics.contains("accord_txs_rejected_total{reason=\"malformed\"} 4"), "{metrics}");

    // And the node is unharmed: a good transaction still goes through.
    send_and_wait(&client, &legacy_transfer(&signer, Some(CHAIN_ID), 1, bob, U256::from(1u8), 0)).await;
    client
        .wait_for_receipt(alloy_primitives::keccak256(&pooled), Duration::from_secs(30))
        .await
        .expect("rpc")
        .expect("gap filled");
    node.stop();
    node.verify();
}
