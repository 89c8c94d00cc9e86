//! Issue 8, must-show 4: an idle network stores nothing. Four validator processes, one transfer to get going, then
//! no traffic: the height must not move (no empty blocks), leaders must heartbeat instead, no validator may be voted
//! out, and each data directory must grow by less than 1 MiB.
//!
//! The suite waits 60 s; `ACCORD_IDLE_SECS=600` (run by `scripts/soak.sh`) waits the ten minutes the issue names.

mod common;

use std::path::Path;
use std::time::Duration;

use accord_sdk::{Address, U256};
use common::*;

fn dir_bytes(path: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_bytes(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_network_stores_no_blocks_and_its_leaders_heartbeat() {
    let idle_secs: u64 = std::env::var("ACCORD_IDLE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let mut nodes = testnet(4, 0);
    let mut clients = Vec::new();
    for n in nodes.iter_mut() {
        clients.push(n.start().await);
    }
    // One transfer, so every node has opened its store and committed a block.
    let signer = nodes[0].accounts[0].signer();
    let raw = legacy_transfer(&signer, Some(CHAIN_ID), 0, Address::repeat_byte(0xcd), U256::from(1u8), 0);
    let receipt = send_and_wait(&clients[0], &raw).await;
    let height = receipt.block_number.expect("mined");
    // Let every node commit it and settle.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let start_height = clients[0].block_number().await.expect("height");
    let before: Vec<u64> = nodes.iter().map(|n| dir_bytes(&n.home.join("data"))).collect();
    let view_changes_before: f64 =
        nodes.iter().map(|n| n.metric("accord_consensus_view_changes_total").unwrap_or(0.0)).sum();

    tokio::time::sleep(Duration::from_secs(idle_secs)).await;

    for (i, c) in clients.iter().enumerate() {
        let h = c.block_number().await.expect("height");
        assert_eq!(h, start_height, "node{i}: an idle chain must not grow (no empty blocks); started at {height}");
    }
    let heartbeats: f64 = nodes.iter().map(|n| n.metric("accord_consensus_heartbeats_total").unwrap_or(0.0)).sum();
    assert!(heartbeats >= (idle_secs / 2) as f64, "the idle leader heartbeats about once a second: {heartbeats}");
    let view_changes: f64 = nodes.iter().map(|n| n.metric("accord_consensus_view_changes_total").unwrap_or(0.0)).sum();
    assert_eq!(view_changes, view_changes_before, "heartbeats keep the live leader in office");
    for (i, n) in nodes.iter().enumerate() {
        let grown = dir_bytes(&n.home.join("data")).saturating_sub(before[i]);
        println!("node{i}: data directory grew {grown} bytes in {idle_secs} s idle");
        assert!(grown < 1 << 20, "node{i}: data directory grew {grown} bytes while idle");
    }
    // Traffic still commits at once after the idle spell.
    let raw = legacy_transfer(&signer, Some(CHAIN_ID), 1, Address::repeat_byte(0xcd), U256::from(1u8), 0);
    let r = send_and_wait(&clients[1], &raw).await;
    assert!(r.block_number.expect("mined") > start_height);
    for n in nodes.iter_mut() {
        n.stop();
    }
}
