//! Issue 3 must-show 1 from a Rust client over a real `accord` process: deploy the token from its artifact,
//! `transfer`, `balanceOf` by `eth_call`, the `Transfer` log by `eth_getLogs` (address and topic filters, bounded
//! block ranges) and by an `eth_subscribe("logs")` subscription, revert reasons, gas estimates and `accord_getAbi`.

mod common;

use std::time::Duration;

use accord_sdk::{Address, B256, U256};
use alloy_primitives::Bytes;
use alloy_sol_types::{SolCall, SolEvent, SolValue, sol};
use common::*;
use jsonrpsee::core::client::SubscriptionClientT as _;
use serde_json::json;

sol! {
    function balanceOf(address owner) returns (uint256);
    function transfer(address to, uint256 value) returns (bool);
    event Transfer(address indexed from, address indexed to, uint256 value);
}

mod fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_deploy_call_logs_and_subscriptions() {
    let mut node = TestNode::new();
    let client = node.start().await;
    let owner = node.accounts[0].clone();
    let key = accord_sdk::keys::KeyPair::from_hex(&owner.private_key).expect("dev key");
    let url = node.rpc_url.clone();
    let art = fixture::artifact("token");

    // Deploy: artifact bytecode followed by the ABI-encoded constructor arguments.
    let mut data = alloy_primitives::hex::decode(art["bytecode"].as_str().expect("bytecode")).expect("hex");
    data.extend(("Accord Dollar".to_string(), "ACD".to_string(), U256::from(1_000_000u64)).abi_encode_params());
    let estimate = rpc(&url, "eth_estimateGas", json!([{ "from": owner.address, "data": Bytes::from(data.clone()) }]))
        .await
        .expect("estimate a deployment");
    let estimate = u64::from_str_radix(estimate.as_str().expect("hex").trim_start_matches("0x"), 16).expect("number");
    let receipt = send_and_wait(&client, &fixture::signed(&key, 0, None, U256::ZERO, data, estimate)).await;
    assert!(receipt.status(), "deploys with exactly the estimated gas");
    let token = receipt.contract_address.expect("contract address");
    let code = rpc(&url, "eth_getCode", json!([token, "latest"])).await.expect("code");
    assert!(code.as_str().expect("hex").starts_with("0x0061736d"), "eth_getCode returns the wasm module");
    assert_eq!(rpc(&url, "accord_getAbi", json!([token])).await.expect("abi"), art["abi"]);

    // Subscribe to the token's Transfer logs to a given recipient before sending.
    let bob = Address::repeat_byte(0xb0);
    let to_topic = B256::left_padding_from(bob.as_slice());
    let ws = jsonrpsee::ws_client::WsClientBuilder::default().build(&node.ws_url).await.expect("ws");
    let filter = json!({ "address": token, "topics": [Transfer::SIGNATURE_HASH, null, to_topic] });
    let mut sub: jsonrpsee::core::client::Subscription<serde_json::Value> = ws
        .subscribe("eth_subscribe", jsonrpsee::rpc_params!["logs", filter.clone()], "eth_unsubscribe")
        .await
        .expect("subscribe logs");

    let call = transferCall { to: bob, value: U256::from(250u64) }.abi_encode();
    let sent = send_and_wait(&client, &fixture::signed(&key, 1, Some(token), U256::ZERO, call, 200_000)).await;
    assert!(sent.status());
    assert_eq!(sent.inner.logs().len(), 1);

    let balance = |who: Address| {
        let url = url.clone();
        async move {
            let out = rpc(
                &url,
                "eth_call",
                json!([{ "to": token, "data": Bytes::from(balanceOfCall { owner: who }.abi_encode()) }, "latest"]),
            )
            .await
            .expect("eth_call");
            let bytes = alloy_primitives::hex::decode(out.as_str().expect("hex")).expect("hex");
            U256::abi_decode(&bytes).expect("uint256")
        }
    };
    assert_eq!(balance(bob).await, U256::from(250u64));
    assert_eq!(balance(owner.address).await, U256::from(1_000_000u64 - 250));

    // eth_getLogs: by address and topics, over the block range; a mismatching filter finds nothing.
    let n = sent.block_number.expect("block");
    let range = json!({ "fromBlock": format!("{n:#x}"), "toBlock": format!("{n:#x}"), "address": token, "topics": [Transfer::SIGNATURE_HASH] });
    let logs = rpc(&url, "eth_getLogs", json!([range])).await.expect("logs");
    let logs = logs.as_array().expect("array");
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0]["transactionHash"], json!(sent.transaction_hash));
    assert_eq!(logs[0]["topics"][2], json!(to_topic));
    let none = json!({ "fromBlock": "0x0", "toBlock": "latest", "address": Address::repeat_byte(1) });
    assert_eq!(rpc(&url, "eth_getLogs", json!([none])).await.expect("logs"), json!([]));
    let too_wide = json!({ "fromBlock": "0x0", "toBlock": "0x100000" });
    let err = rpc(&url, "eth_getLogs", json!([too_wide])).await.expect_err("range bounded");
    assert!(err.code() == -32005 || err.code() == -32001, "{err:?}");

    // The subscription delivered the same log.
    let pushed = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("log pushed")
        .expect("open")
        .expect("json");
    assert_eq!(pushed["transactionHash"], json!(sent.transaction_hash));
    assert_eq!(pushed["address"], json!(token));

    // A call that reverts reports Solidity's reason with geth's code 3 and the revert data.
    let too_much = transferCall { to: owner.address, value: U256::from(1u64) }.abi_encode();
    let err = rpc(
        &url,
        "eth_call",
        json!([{ "from": Address::repeat_byte(0xee), "to": token, "data": Bytes::from(too_much) }]),
    )
    .await
    .expect_err("reverts");
    assert_eq!(err.code(), 3);
    assert!(err.message().contains("transfer amount exceeds balance"), "{}", err.message());
    assert!(err.data().is_some(), "revert data for clients to decode");

    node.stop();
    node.verify();
}
