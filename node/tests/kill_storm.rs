//! Issue 8, must-show 3: the vote record under real SIGKILL. Four validator processes commit transfers while the
//! test SIGKILLs validators at random moments (one at a time, sometimes two, so the chain also halts and resumes)
//! and restarts them. Afterwards every node holds the same chain, no validator ever signed two blocks in one view
//! (their logs would say EQUIVOCATION), every transaction whose receipt a client saw is in that block exactly once
//! and nowhere else, and `accord verify` re-executes every node's store with valid certificates.
//!
//! `ACCORD_KILLS` sets the number of kills (default 20); `ACCORD_KILL_SEED` replays a run's schedule.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use accord_sdk::B256;
use accord_sdk::client::AccordClient;
use common::*;
use rand::{Rng, SeedableRng};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_killed_at_random_moments_lose_and_fork_nothing() {
    let kills: usize = std::env::var("ACCORD_KILLS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let seed: u64 = std::env::var("ACCORD_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().r#gen());
    println!("kill schedule seed {seed} (ACCORD_KILL_SEED={seed} replays it), {kills} kills");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let mut nodes = started_testnet(4, 0).await;
    let accounts = nodes[0].accounts.clone();
    let load = AcknowledgedLoad::start(&nodes, &accounts[..6]);
    let (live, seen) = (load.live.clone(), load.seen.clone());
    wait_height(&nodes.iter().collect::<Vec<_>>(), 3, Duration::from_secs(60), "startup").await;

    let mut killed = 0;
    while killed < kills {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(200..2_500))).await;
        let first = rng.gen_range(0..4);
        let mut down = vec![first];
        if rng.gen_bool(0.25) {
            // A second validator dies a moment later: no quorum until one returns.
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..800))).await;
            down.push((first + rng.gen_range(1..4)) % 4);
        }
        for &i in &down {
            nodes[i].kill();
            killed += 1;
        }
        set_live(&live, &nodes);
        let heads: Vec<String> = {
            let mut v = Vec::new();
            for n in &nodes {
                v.push(height(n).await.map_or("down".into(), |h| h.to_string()));
            }
            v
        };
        println!("kill {killed}: node{:?} (heads {heads:?})", down);
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..2_000))).await;
        for &i in &down {
            nodes[i].start().await;
        }
        set_live(&live, &nodes);
    }

    // Everyone back and level; the load keeps going meanwhile, then stops.
    let all: Vec<&TestNode> = nodes.iter().collect();
    let now = height(&nodes[0]).await.expect("height");
    wait_height(&all, now + 3, Duration::from_secs(120), "all four committing after the kills").await;
    load.stop().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let head = height(&nodes[0]).await.expect("height");
    wait_height(&all, head, Duration::from_secs(60), "level").await;
    let head = assert_identical(&all).await;
    for n in &all {
        assert_receipts_kept(n, &seen).await;
        assert!(!n.log().contains("EQUIVOCATION"), "{} saw a validator sign two blocks in one view", n.name);
    }

    // Exactly once: no transaction hash appears twice in the chain, and every acknowledged one appears.
    let client = AccordClient::new(&nodes[0].rpc_url).expect("client");
    let mut where_: HashMap<B256, u64> = HashMap::new();
    for number in 1..=head {
        let block = client.block_by_number(number).await.expect("rpc").expect("block");
        for tx in block.transactions.hashes() {
            if let Some(earlier) = where_.insert(tx, number) {
                panic!("transaction {tx} is in blocks {earlier} and {number}");
            }
        }
    }
    let acknowledged = seen.lock().clone();
    for (tx, (number, _)) in &acknowledged {
        assert_eq!(where_.get(tx), Some(number), "acknowledged transaction {tx} is in its block exactly once");
    }
    println!(
        "{killed} kills; {} acknowledged transfers each exactly once in {head} identical blocks",
        acknowledged.len()
    );

    for n in nodes.iter_mut() {
        n.stop();
        let report = n.verify();
        assert!(report["height"].as_u64().expect("height") >= head, "{report}");
    }
}
