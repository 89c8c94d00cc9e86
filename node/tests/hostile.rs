//! Issue 8, must-show 2: hostile members against real validator processes (libp2p on loopback, RocksDB in temp
//! dirs). A consortium member's key is held by the test, which plays that member in-process:
//!
//! - a validator that lets a maximal-size block be prepared, then withholds its commit, so the block must survive
//!   two consecutive view changes (the second to a frozen leader) and is committed by a later leader, by id;
//! - a validator flooding validly signed, useless consensus messages at full speed for 30 s, then junk: commits go
//!   on (committed TPS with and without the flood is printed), and the junk gets it banned;
//! - an observer sending consensus messages: ignored and counted;
//! - a member serving block sync slowly: a restarted validator's catch-up costs at most one progress deadline more.
//!
//! The tests run one at a time (they measure time and share two cores).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use accord_consensus::{BlockId, Message, Signed, SigningBytes, ViewChange, Vote};
use accord_node::network::{NetworkCommand, NetworkEvent, SyncBlock, SyncRequest, SyncResponse};
use accord_sdk::client::AccordClient;
use accord_sdk::{Address, B256, U256};
use alloy_consensus::TxLegacy;
use alloy_primitives::{Bytes, TxKind};
use common::test_validator::{Direction, TestValidator, Verdict, load_member, member_network, validator_peers};
use common::*;
use rand::{Rng, SeedableRng};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A call to an account without code carrying `len` bytes of non-zero calldata (priced at 16 gas a byte).
fn calldata_tx(signer: &alloy_signer_local::PrivateKeySigner, nonce: u64, len: usize) -> Vec<u8> {
    let input: Vec<u8> = (0..len).map(|i| (i % 251) as u8 + 1).collect();
    let tx = TxLegacy {
        chain_id: Some(CHAIN_ID),
        nonce,
        gas_price: 0,
        gas_limit: 21_000 + 16 * len as u64,
        to: TxKind::Call(Address::repeat_byte(0xee)),
        value: U256::ZERO,
        input: Bytes::from(input),
    };
    sign(signer, tx)
}

async fn rpc_u64(url: &str, method: &str, field: &str) -> u64 {
    let v = rpc(url, method, serde_json::json!([])).await.unwrap_or_else(|e| panic!("{method}: {e:?}"));
    let f = &v[field];
    f.as_u64()
        .or_else(|| f.as_str().and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok()))
        .expect(field)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepared_maximal_block_survives_two_view_changes_and_is_committed() {
    let _serial = SERIAL.lock().await;
    let mut nodes = testnet(4, 0);
    for n in &nodes {
        speed_up(n);
    }
    // Validator 3 is the test's: its process never starts.
    for n in nodes[..3].iter_mut() {
        n.start().await;
    }
    let t = TestValidator::start(&nodes[3].home, &nodes[0].rpc_url, sped_up_timeouts());
    let (genesis, _) = load_member(&nodes[0].home);
    let client = AccordClient::new(&nodes[0].rpc_url).expect("client");

    // Single transfers until the next height is one validator 3 leads in view 0 (leader = (height + view) mod 4):
    // then view 1 is led by node0, view 2 by node1 and view 3 by node2.
    let stepper = nodes[0].accounts[9].signer();
    let mut nonce = 0;
    let h = loop {
        let head = client.block_number().await.expect("height");
        if (head + 1) % 4 == 3 {
            break head + 1;
        }
        let raw = legacy_transfer(&stepper, Some(CHAIN_ID), nonce, Address::repeat_byte(0xcd), U256::from(1u8), 0);
        send_and_wait(&client, &raw).await;
        nonce += 1;
    };
    wait_height(&nodes[..3].iter().collect::<Vec<_>>(), h - 1, Duration::from_secs(30), "level before the round").await;
    println!("height {h}: validator 3 (the test) leads view 0, node0 view 1, node1 view 2, node2 view 3");

    // node1 freezes; validator 3 holds back its view changes at h, so no new view starts before the pool is full.
    nodes[1].pause();
    // It neither sends nor hears commits at h before view 3: it must not decide the block and leave the height.
    t.set_policy(move |direction, m| match m {
        Message::ViewChange(vc) if vc.body.height == h && direction == Direction::Out => Verdict::Hold,
        Message::Commit(c) if c.body.height == h && c.body.view < 3 => Verdict::Drop,
        _ => Verdict::Send,
    });
    // More than a maximal block of large transactions (64 fit), all in node0's pool before anyone builds.
    let max_block = genesis.params.max_block_bytes;
    let tx_len = genesis.params.max_tx_bytes - 256;
    let mut hashes = Vec::new();
    for (a, account) in nodes[0].accounts[..4].iter().enumerate() {
        let signer = account.signer();
        for nonce in 0..18 {
            let raw = calldata_tx(&signer, nonce, tx_len);
            assert!(raw.len() <= genesis.params.max_tx_bytes, "{}", raw.len());
            let hash: B256 = client.send_raw_transaction(&raw).await.unwrap_or_else(|e| panic!("tx {a}/{nonce}: {e}"));
            hashes.push(hash);
        }
    }
    assert_eq!(rpc_u64(&nodes[0].rpc_url, "accord_nodeStatus", "mempoolSize").await, 72, "all pooled");
    t.set_policy(move |_, m| match m {
        Message::Commit(c) if c.body.height == h && c.body.view < 3 => Verdict::Drop,
        _ => Verdict::Send,
    });
    let released = t.release_held().await;
    println!("pool full (72 × {tx_len} B); released {released} held view changes");

    // View 1: node0 proposes, node2 and validator 3 prepare, only node0 and node2 commit. View 2: node1 is frozen.
    // View 3: node2 must re-propose the prepared block, and it is committed.
    wait_height(&[&nodes[0], &nodes[2]], h, Duration::from_secs(120), "the prepared block committed").await;
    let at_h: Vec<_> = t.proposals().into_iter().filter(|p| p.height == h).collect();
    println!("proposals at {h}: {:?}", at_h.iter().map(|p| (p.view, p.bytes)).collect::<Vec<_>>());
    let logs =
        || nodes[..3].iter().map(|n| format!("--- {}\n{}\n", n.name, last_lines(&n.log(), 60))).collect::<String>();
    let first = at_h.iter().find(|p| p.view == 1).unwrap_or_else(|| panic!("node0 proposed in view 1\n{}", logs()));
    assert!(
        first.bytes > max_block - genesis.params.max_tx_bytes - accord_sdk::genesis::BLOCK_HEADER_ALLOWANCE
            && first.bytes <= max_block,
        "a maximal block: {} bytes of at most {max_block}",
        first.bytes
    );
    assert!(at_h.iter().all(|p| p.view != 2), "node1 was frozen through view 2");
    let again = at_h.iter().find(|p| p.view == 3).expect("node2 re-proposed in view 3");
    assert_eq!(again.block, first.block, "the prepared block, not a new one");
    let certified = client.certified_header(h).await.expect("rpc").expect("block h");
    let cert = certified.certificate.expect("certificate");
    assert_eq!((cert.view, cert.block_hash.0), (3, first.block.0), "committed in view 3 as the block of view 1");
    assert!(
        nodes[0].metric("accord_consensus_view_changes_total").unwrap_or(0.0) >= 3.0,
        "views 0→1→2→3 at height {h}"
    );

    // node1 thaws and catches up; every transaction lands exactly once; the stores verify.
    nodes[1].resume();
    t.set_policy(|_, _| Verdict::Send);
    for hash in &hashes {
        client.wait_for_receipt(*hash, Duration::from_secs(60)).await.expect("rpc").expect("every large tx lands");
    }
    let head = client.block_number().await.expect("height");
    wait_height(&nodes[..3].iter().collect::<Vec<_>>(), head, Duration::from_secs(60), "node1 back").await;
    drop(t);
    for n in nodes[..3].iter_mut() {
        n.stop();
        assert!(n.verify()["height"].as_u64().expect("height") >= head);
    }
}

/// Keeps `senders` accounts sending windows of transfers to the given nodes until `stop`.
fn start_load(nodes: &[&TestNode], accounts: &[DevAccount], stop: Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<()>> {
    const WINDOW: u64 = 20;
    let urls: Vec<String> = nodes.iter().map(|n| n.rpc_url.clone()).collect();
    accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let (urls, stop, a) = (urls.clone(), stop.clone(), a.clone());
            tokio::spawn(async move {
                let client = AccordClient::new(&urls[i % urls.len()]).expect("client");
                let signer = a.signer();
                let to = Address::repeat_byte(0xab);
                while !stop.load(Ordering::Relaxed) {
                    let Ok(nonce) = client.transaction_count(a.address, "latest").await else {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    };
                    let mut last = None;
                    for k in 0..WINDOW {
                        let raw = legacy_transfer(&signer, Some(CHAIN_ID), nonce + k, to, U256::from(1u8), 0);
                        last = client.send_raw_transaction(&raw).await.ok().or(last);
                    }
                    if let Some(last) = last {
                        let _ = client.wait_for_receipt(last, Duration::from_secs(20)).await;
                    }
                }
            })
        })
        .collect()
}

/// Transactions in blocks `from..=to`.
async fn txs_in(client: &AccordClient, from: u64, to: u64) -> usize {
    let mut total = 0;
    for n in from..=to {
        total += client.block_by_number(n).await.expect("rpc").expect("block").transactions.len();
    }
    total
}

/// Committed transactions per second over `secs` seconds, and the heights committed.
async fn measure(client: &AccordClient, secs: u64) -> (f64, u64) {
    let start = client.block_number().await.expect("height");
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let end = client.block_number().await.expect("height");
    let txs = txs_in(client, start + 1, end).await;
    (txs as f64 / t0.elapsed().as_secs_f64(), end - start)
}

/// Validly signed messages no honest validator sends, for the current height `h` (view changes to views ahead,
/// next-height votes for blocks that do not exist, stale commits): each costs the receiver a screen or a signature
/// check, none is a protocol fault.
fn useless_messages(t: &TestValidator, h: u64, rng: &mut rand::rngs::StdRng, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|_| {
            let block = BlockId(rng.r#gen());
            let m = match rng.gen_range(0..10) {
                0..4 => {
                    let body = ViewChange { height: h, view: rng.gen_range(1..=64), prepared: None };
                    let signature = t.sign(&body.signing_bytes());
                    Message::ViewChange(Signed { signer: t.index, body, signature })
                }
                4..7 => {
                    let body = Vote { height: h + 1, view: rng.gen_range(0..=64), block };
                    let signature = t.sign(&accord_consensus::PrepareBody(&body).signing_bytes());
                    Message::Prepare(Signed { signer: t.index, body, signature })
                }
                7..9 => {
                    let body = Vote { height: h + 1, view: rng.gen_range(0..=64), block };
                    let signature = t.sign(&accord_consensus::CommitBody(&body).signing_bytes());
                    Message::Commit(Signed { signer: t.index, body, signature })
                }
                _ => {
                    let body = Vote { height: h.saturating_sub(1), view: 0, block };
                    let signature = t.sign(&accord_consensus::CommitBody(&body).signing_bytes());
                    Message::Commit(Signed { signer: t.index, body, signature })
                }
            };
            m.encode().expect("encode")
        })
        .collect()
}

/// Sends `batch` round robin to the other validators as fast as the network takes them, until `until`; refreshes
/// the batch (for the current height) whenever the head moves. Returns messages sent.
async fn flood(t: &TestValidator, head_rpc: &str, until: Instant, junk: bool) -> u64 {
    let client = AccordClient::new(head_rpc).expect("client");
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let targets: Vec<_> = t.peers.iter().enumerate().filter(|(i, _)| *i != t.index).map(|(_, p)| *p).collect();
    let (mut sent, mut batch, mut at) = (0u64, Vec::new(), u64::MAX);
    while Instant::now() < until {
        let head = client.block_number().await.unwrap_or(at);
        if head != at || batch.is_empty() {
            at = head;
            batch = if junk {
                (0..256).map(|i| (0..64 + i).map(|_| rng.r#gen::<u8>()).collect()).collect()
            } else {
                useless_messages(t, head + 1, &mut rng, 256)
            };
        }
        for bytes in &batch {
            for to in &targets {
                t.net.send(NetworkCommand::Send { to: *to, bytes: bytes.clone() }).await;
                sent += 1;
            }
        }
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_validator_and_a_chatty_observer_do_not_stop_commits() {
    let _serial = SERIAL.lock().await;
    let mut nodes = testnet(4, 1);
    for n in &nodes {
        speed_up(n);
    }
    // Validator 3 and the observer are the test's; validator 3 never votes (so the three others carry the chain).
    for n in nodes[..3].iter_mut() {
        n.start().await;
    }
    let t = TestValidator::start(&nodes[3].home, &nodes[0].rpc_url, sped_up_timeouts());
    t.set_active(false);
    let client = AccordClient::new(&nodes[0].rpc_url).expect("client");
    let stop = Arc::new(AtomicBool::new(false));
    let accounts = nodes[0].accounts.clone();
    let load = start_load(&nodes[..3].iter().collect::<Vec<_>>(), &accounts[..6], stop.clone());
    wait_height(&nodes[..3].iter().collect::<Vec<_>>(), 3, Duration::from_secs(60), "startup").await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let (quiet_tps, quiet_blocks) = measure(&client, 30).await;
    println!("without flood: {quiet_tps:.1} committed tx/s, {quiet_blocks} blocks in 30 s");

    let received = |n: &TestNode| n.metric("accord_consensus_messages_received_total").unwrap_or(0.0);
    let received_before: Vec<f64> = nodes[..3].iter().map(received).collect();
    let until = Instant::now() + Duration::from_secs(30);
    let (offered, (flood_tps, flood_blocks)) =
        tokio::join!(flood(&t, &nodes[0].rpc_url, until, false), measure(&client, 30));
    let ratio = flood_tps / quiet_tps.max(f64::MIN_POSITIVE);
    let delivered: f64 = nodes[..3].iter().zip(&received_before).map(|(n, b)| received(n) - b).sum();
    println!(
        "with validator 3 flooding (offered {offered} signed messages to its network, which delivered what the \
         peers took: {delivered} consensus messages arrived at the three nodes, {:.0}/s): {flood_tps:.1} committed \
         tx/s, {flood_blocks} blocks; ratio {ratio:.2}",
        delivered / 30.0
    );
    let dropped = |n: &TestNode, r: &str| {
        n.labelled_metric(&format!("accord_consensus_messages_dropped_total{{reason=\"{r}\"}}"))
    };
    let reasons =
        ["buffer_full", "too_far_ahead", "stale", "rate_limited", "queue_full", "bad_signature", "wrong_leader"];
    for n in &nodes[..3] {
        let by_reason: Vec<String> = reasons.iter().map(|r| format!("{r}={}", dropped(n, r))).collect();
        println!("{} dropped: {}", n.name, by_reason.join(" "));
    }
    assert!(flood_blocks >= 3, "commits went on during the flood ({flood_blocks} blocks)");
    assert!(flood_tps > 0.0, "transactions were committed during the flood");
    let drops: f64 = nodes[..3].iter().map(|n| reasons.iter().map(|r| dropped(n, r)).sum::<f64>()).sum();
    assert!(drops > 1_000.0, "the flood reached the nodes and was dropped ({drops})");
    for n in &nodes[..3] {
        assert_eq!(
            n.metric("accord_peers_banned_total").unwrap_or(0.0),
            0.0,
            "{}: validly signed messages are no fault",
            n.name
        );
    }

    // Junk is a fault: scored, and the sender is cut off for a while; commits go on.
    let junk = flood(&t, &nodes[0].rpc_url, Instant::now() + Duration::from_secs(5), true).await;
    let head = client.block_number().await.expect("height");
    wait_height(&nodes[..3].iter().collect::<Vec<_>>(), head + 3, Duration::from_secs(60), "after the junk").await;
    for n in &nodes[..3] {
        assert!(dropped(n, "undecodable") > 0.0, "{}: junk counted", n.name);
        assert!(n.metric("accord_peers_banned_total").unwrap_or(0.0) >= 1.0, "{}: the junk sender was banned", n.name);
    }
    println!("{junk} junk messages in 5 s: counted as undecodable, the sender banned by all three");
    drop(t);

    // An observer's consensus messages are ignored and counted.
    let (genesis, observer_key) = load_member(&nodes[4].home);
    let mut observer = member_network(&genesis, &observer_key);
    let node0 = validator_peers(&genesis)[0];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ev =
            tokio::time::timeout(Duration::from_secs(20), observer.events.recv()).await.expect("event").expect("net");
        if matches!(ev, NetworkEvent::PeerConnected(p) if p == node0) {
            break;
        }
        assert!(Instant::now() < deadline, "the observer connects to node0");
    }
    let before = dropped(&nodes[0], "not_validator");
    let head = client.block_number().await.expect("height");
    for i in 0..10u64 {
        let body = Vote { height: head + 1, view: i, block: BlockId([i as u8; 32]) };
        let m = Message::Commit(Signed { signer: 0, body, signature: vec![1; 65] });
        observer.command(NetworkCommand::Send { to: node0, bytes: m.encode().expect("encode") }).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while dropped(&nodes[0], "not_validator") < before + 10.0 {
        assert!(Instant::now() < deadline, "node0 counted the observer's 10 messages as not_validator");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let head = client.block_number().await.expect("height");
    wait_height(&nodes[..3].iter().collect::<Vec<_>>(), head + 2, Duration::from_secs(60), "after the observer").await;
    println!("node0 dropped the observer's 10 consensus messages as not_validator; commits went on");
    drop(observer);
    stop.store(true, Ordering::Relaxed);
    for l in load {
        let _ = l.await;
    }
    for n in nodes.iter_mut().take(3) {
        n.stop();
    }
}

/// A member that serves block sync just inside the progress deadline, one block at a time. What it serves is
/// valid: committed blocks with their certificates, fetched from node0 beforehand ([`Self::load`]).
struct SlowSyncMember {
    /// Block requests it answered, by asker.
    served: Arc<parking_lot::Mutex<HashMap<libp2p::PeerId, usize>>>,
    /// Members connected to it.
    connected: Arc<parking_lot::Mutex<std::collections::HashSet<libp2p::PeerId>>>,
    /// Blocks it can serve, by height.
    blocks: Arc<parking_lot::Mutex<BTreeMap<u64, SyncBlock>>>,
    net: accord_node::network::NetworkSender,
    task: tokio::task::JoinHandle<()>,
    _network: accord_node::network::Network,
}

impl Drop for SlowSyncMember {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SlowSyncMember {
    fn start(home: &std::path::Path, delay: Duration) -> Self {
        let (genesis, key) = load_member(home);
        let mut network = member_network(&genesis, &key);
        let mut events = network.take_events();
        let net = network.sender();
        let served = Arc::new(parking_lot::Mutex::new(HashMap::new()));
        let connected = Arc::new(parking_lot::Mutex::new(std::collections::HashSet::new()));
        let blocks: Arc<parking_lot::Mutex<BTreeMap<u64, SyncBlock>>> = Arc::default();
        let (counts, peers, store, responder) = (served.clone(), connected.clone(), blocks.clone(), net.clone());
        let task = tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                let (from, request, channel) = match ev {
                    NetworkEvent::PeerConnected(p) => {
                        peers.lock().insert(p);
                        continue;
                    }
                    NetworkEvent::PeerDisconnected(p) => {
                        peers.lock().remove(&p);
                        continue;
                    }
                    NetworkEvent::SyncRequest { from, request, channel } => (from, request, channel),
                    _ => continue,
                };
                let (net, counts, store) = (responder.clone(), counts.clone(), store.clone());
                tokio::spawn(async move {
                    let response = match request {
                        SyncRequest::Status => match store.lock().last_key_value() {
                            Some((h, b)) => SyncResponse::Status {
                                height: *h,
                                hash: accord_sdk::block::block_id_of(&b.block.0).expect("a block").0,
                                engine: accord_vm::identity().expect("engine").fingerprint.0,
                            },
                            None => SyncResponse::Status {
                                height: 0,
                                hash: [0; 32],
                                engine: accord_vm::identity().expect("engine").fingerprint.0,
                            },
                        },
                        SyncRequest::Blocks { from: first, .. } => {
                            tokio::time::sleep(delay).await;
                            *counts.lock().entry(from).or_insert(0) += 1;
                            SyncResponse::Blocks(store.lock().get(&first).cloned().into_iter().collect())
                        }
                        SyncRequest::Body { .. } => SyncResponse::Body(None),
                    };
                    net.send(NetworkCommand::SyncRespond { channel, response }).await;
                });
            }
        });
        Self { served, connected, blocks, net, task, _network: network }
    }

    /// Fetches blocks `from..=to` from `source`, to serve them.
    async fn load(&self, source: libp2p::PeerId, from: u64, to: u64) {
        let mut next = from;
        while next <= to {
            match self.net.sync_request(source, SyncRequest::Blocks { from: next, max: 64 }).await {
                Ok(SyncResponse::Blocks(got)) if !got.is_empty() => {
                    for b in got {
                        self.blocks.lock().insert(next, b);
                        next += 1;
                    }
                }
                other => {
                    println!("loading blocks from node0: {other:?}; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}

/// Kills `nodes[who]`, has the others commit `gap` heights under load, and restarts it; returns how long it took
/// from its start to holding the others' head. The others are frozen while it starts, so the first member it can
/// reach (and ask) is the slow one, when there is one: the worst case.
async fn catch_up_time(nodes: &mut [TestNode], who: usize, gap: u64, slow: Option<&SlowSyncMember>) -> Duration {
    nodes[who].kill();
    let (genesis, _) = load_member(&nodes[0].home);
    let peers = validator_peers(&genesis);
    let others: Vec<usize> = (0..4).filter(|i| *i != who).collect();
    let client = AccordClient::new(&nodes[others[0]].rpc_url).expect("client");
    let start = client.block_number().await.expect("height");
    {
        let running: Vec<&TestNode> = others.iter().map(|i| &nodes[*i]).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let accounts = nodes[0].accounts.clone();
        let load = start_load(&running, &accounts[..3], stop.clone());
        wait_height(&running, start + gap, Duration::from_secs(180), "the chain moving on without it").await;
        stop.store(true, Ordering::Relaxed);
        for l in load {
            let _ = l.await;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let target = client.block_number().await.expect("height");
    let running: Vec<&TestNode> = others.iter().map(|i| &nodes[*i]).collect();
    wait_height(&running, target, Duration::from_secs(30), "the others level").await;
    if let Some(slow) = slow {
        slow.load(peers[others[0]], start + 1, target).await;
    }
    for i in &others {
        nodes[*i].pause();
    }
    let t0 = Instant::now();
    nodes[who].start().await;
    if let Some(slow) = slow {
        while !slow.connected.lock().contains(&peers[who]) {
            assert!(t0.elapsed() < Duration::from_secs(20), "the restarted validator connects to the slow member");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for i in &others {
        nodes[*i].resume();
    }
    wait_height(&[&nodes[who]], target, Duration::from_secs(180), "catching up").await;
    let took = t0.elapsed();
    println!("{} caught up {} blocks in {took:?}", nodes[who].name, target - start);
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_sync_member_costs_a_restarted_validator_at_most_one_progress_deadline() {
    let _serial = SERIAL.lock().await;
    let mut nodes = testnet(4, 1);
    let progress_deadline = Duration::from_millis(accord_node::sync::SyncConfig::default().progress_deadline_ms);
    for n in &nodes {
        speed_up(n);
        // Small batches, so a catch-up takes several requests.
        let path = n.home.join("config.toml");
        let text = std::fs::read_to_string(&path).expect("config");
        let small = text.replace("batch_blocks = 256", "batch_blocks = 4");
        assert_ne!(text, small, "config.toml names [sync] batch_blocks");
        std::fs::write(&path, small).expect("config");
    }
    // The observer's key is the test's slow member.
    for n in nodes[..4].iter_mut() {
        n.start().await;
    }
    let (genesis, _) = load_member(&nodes[0].home);
    let peers = validator_peers(&genesis);
    let baseline = catch_up_time(&mut nodes, 2, 30, None).await;

    let slow = SlowSyncMember::start(&nodes[4].home, progress_deadline * 4 / 5);
    let with_slow = catch_up_time(&mut nodes, 2, 30, Some(&slow)).await;
    let asked = slow.served.lock().get(&peers[2]).copied().unwrap_or(0);
    println!(
        "catch-up of 30 blocks: {baseline:?} without, {with_slow:?} with a member serving one block per {:?} \
         (asked {asked} times); progress deadline {progress_deadline:?}",
        progress_deadline * 4 / 5
    );
    assert!(asked >= 1, "the restarted validator did ask the slow member (else this shows nothing)");
    let extra = with_slow.saturating_sub(baseline);
    assert!(
        extra <= progress_deadline + Duration::from_secs(5),
        "the slow member cost {extra:?}, more than the progress deadline {progress_deadline:?} (+5 s slack)"
    );
    drop(slow);
    for n in nodes[..4].iter_mut() {
        n.stop();
        n.verify();
    }
}
