//! One open-loop run: pre-signed transactions are offered at a fixed rate whatever the network answers (a slow
//! answer never slows the offer, so queueing shows up as latency instead of hiding), and each is timed from the
//! moment it was due to the arrival of the head that committed it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_sdk::B256;
use anyhow::Context as _;
use jsonrpsee::core::client::{Subscription, SubscriptionClientT};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};

use super::process::{self, ProcessSample};
use super::rpc::{Node, Submitted};
use super::workload::Presigned;

/// How a run is paced.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Offered transactions per second.
    pub rate: f64,
    /// Load before the measured window (pools and caches fill, block sizes settle).
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// After the last transaction is offered, how long to wait for the rest to commit.
    pub drain: Duration,
}

impl Plan {
    /// Transactions the run offers.
    pub fn transactions(&self) -> usize {
        (self.rate * (self.warmup + self.duration).as_secs_f64()).ceil() as usize
    }
}

/// What the network answered to one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Not offered yet (or never: the run stopped).
    Unsent,
    /// Offered; the answer has not arrived.
    InFlight,
    /// The node pooled it.
    Accepted,
    /// The node refused it, with its reason.
    Rejected(String),
    /// The request carrying it failed (transport error, timeout).
    Dropped(String),
}

/// A committed block as the benchmark saw it arrive.
#[derive(Debug, Clone)]
pub struct BlockSeen {
    /// Its number.
    pub number: u64,
    /// When its head notification arrived.
    pub at: Instant,
    /// Its transactions.
    pub hashes: Vec<B256>,
}

/// Everything measured in one run, before it is summarised.
#[derive(Debug)]
pub struct Outcome {
    /// The plan.
    pub plan: Plan,
    /// When the first transaction was due.
    pub start: Instant,
    /// When transaction k was due: `start + k / rate`.
    pub due: Vec<Instant>,
    /// The network's answer to each.
    pub answers: Vec<Answer>,
    /// When each one's block arrived (confirmed by its receipt afterwards).
    pub committed: Vec<Option<Instant>>,
    /// Committed transactions whose receipt says they failed.
    pub failed: usize,
    /// Blocks committed during the run.
    pub blocks: Vec<BlockSeen>,
    /// Each node's counters at the window's start and end.
    pub nodes: Vec<(Option<ProcessSample>, Option<ProcessSample>)>,
    /// The benchmark's own counters at the window's start and end.
    pub generator: (Option<ProcessSample>, Option<ProcessSample>),
    /// Each node's pool size when the run ended.
    pub pools: Vec<Option<u64>>,
    /// Transactions committed by other clients in the same blocks.
    pub foreign: usize,
}

/// Every node's counters at one moment (`None` where its process is not on this machine).
type Samples = Vec<Option<ProcessSample>>;

/// Batches of transactions the benchmark has in flight at once; beyond it the offer waits (and the report says
/// how late it ran).
const MAX_IN_FLIGHT: usize = 64;

async fn follow_heads(
    ws_url: String,
    node: Node,
    from: u64,
    out: mpsc::UnboundedSender<BlockSeen>,
) -> anyhow::Result<()> {
    let ws = WsClientBuilder::default()
        .max_response_size(64 * 1024 * 1024)
        .build(&ws_url)
        .await
        .with_context(|| format!("WebSocket {ws_url}"))?;
    let mut heads: Subscription<Value> = ws
        .subscribe("eth_subscribe", rpc_params!["newHeads"], "eth_unsubscribe")
        .await
        .context("eth_subscribe newHeads")?;
    let mut last = from;
    while let Some(head) = heads.next().await {
        let at = Instant::now();
        let head = head.context("newHeads notification")?;
        let number = head["number"].as_str().and_then(|n| u64::from_str_radix(n.trim_start_matches("0x"), 16).ok());
        let Some(number) = number else { continue };
        // A slow subscriber may skip heads: fetch every block since the last one seen.
        for n in last + 1..=number {
            let hashes = node.block_hashes(n).await?;
            if out.send(BlockSeen { number: n, at, hashes }).is_err() {
                return Ok(());
            }
        }
        last = last.max(number);
    }
    anyhow::bail!("the newHeads subscription at {ws_url} ended")
}

fn ws_url(http: &str) -> String {
    if let Some(rest) = http.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = http.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        http.to_string()
    }
}

/// Offers `txs` to `nodes` (transaction of sender s to node s mod nodes) at `plan.rate`, follows commits on the
/// first node, and waits for the rest to commit after the offer ends. `progress` is told of commits.
pub async fn run(
    plan: Plan,
    nodes: &[Node],
    pids: &[Option<u32>],
    txs: &[Presigned],
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<Outcome> {
    let index: HashMap<B256, usize> = txs.iter().enumerate().map(|(i, t)| (t.hash, i)).collect();
    let head = nodes[0].head().await?;
    let (block_tx, mut block_rx) = mpsc::unbounded_channel();
    let follower = tokio::spawn(follow_heads(ws_url(&nodes[0].url), nodes[0].clone(), head, block_tx));
    // Let the subscription start before the first transaction is due.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let start = Instant::now();
    let due: Vec<Instant> = (0..txs.len()).map(|k| start + Duration::from_secs_f64(k as f64 / plan.rate)).collect();
    let window_start = start + plan.warmup;
    let window_end = window_start + plan.duration;
    let mut answers = vec![Answer::Unsent; txs.len()];
    let mut committed: Vec<Option<Instant>> = vec![None; txs.len()];
    let mut blocks = Vec::new();
    let mut foreign = 0usize;
    let mut window_samples: (Option<Samples>, Option<Samples>) = (None, None);
    let mut generator = (None, None);
    let sample_all = || pids.iter().map(|p| p.and_then(|p| process::sample(Some(p)))).collect::<Vec<_>>();

    let (answer_tx, mut answer_rx) = mpsc::unbounded_channel::<(Vec<usize>, anyhow::Result<Vec<Submitted>>)>();
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut next = 0usize;
    let mut ticker = tokio::time::interval(Duration::from_millis(5));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut outstanding = 0usize; // accepted, not yet committed
    let mut unanswered = 0usize; // offered, no answer yet
    let mut last_progress = Instant::now();
    loop {
        let now = Instant::now();
        if window_samples.0.is_none() && now >= window_start {
            window_samples.0 = Some(sample_all());
            generator.0 = process::sample(None);
        }
        if window_samples.1.is_none() && now >= window_end {
            window_samples.1 = Some(sample_all());
            generator.1 = process::sample(None);
        }
        let offered_all = next == txs.len();
        if offered_all && unanswered == 0 && outstanding == 0 && window_samples.1.is_some() {
            break;
        }
        if offered_all && now.saturating_duration_since(window_end.max(last_progress)) > plan.drain {
            tracing::warn!(outstanding, unanswered, "drain timeout: transactions still uncommitted");
            break;
        }
        tokio::select! {
            _ = ticker.tick(), if !offered_all => {
                let due_now = due.partition_point(|d| *d <= now);
                let mut by_node: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
                while next < due_now {
                    by_node[txs[next].sender % nodes.len()].push(next);
                    next += 1;
                }
                for (n, idx) in by_node.into_iter().enumerate() {
                    for chunk in idx.chunks(super::rpc::BATCH) {
                        let permit = in_flight.clone().acquire_owned().await?;
                        let chunk = chunk.to_vec();
                        for &i in &chunk {
                            answers[i] = Answer::InFlight;
                        }
                        unanswered += chunk.len();
                        let raws: Vec<_> = chunk.iter().map(|&i| txs[i].raw.clone()).collect();
                        let node = nodes[n].clone();
                        let out = answer_tx.clone();
                        tokio::spawn(async move {
                            let result = node.send_raw(&raws).await;
                            drop(permit);
                            let _ = out.send((chunk, result));
                        });
                    }
                }
            }
            Some((chunk, result)) = answer_rx.recv() => {
                unanswered -= chunk.len();
                match result {
                    Ok(list) => for (i, a) in chunk.into_iter().zip(list) {
                        answers[i] = match a {
                            Ok(_) if committed[i].is_some() => Answer::Accepted,
                            Ok(_) => { outstanding += 1; Answer::Accepted }
                            Err(e) => Answer::Rejected(e),
                        };
                    },
                    Err(e) => for i in chunk {
                        answers[i] = Answer::Dropped(format!("{e:#}"));
                    },
                }
            }
            Some(block) = block_rx.recv() => {
                for h in &block.hashes {
                    match index.get(h) {
                        Some(&i) if committed[i].is_none() => {
                            committed[i] = Some(block.at);
                            // Commits may arrive before the answer that accepted them.
                            if answers[i] == Answer::Accepted {
                                outstanding -= 1;
                            }
                            progress.inc(1);
                        }
                        Some(_) => {}
                        None => foreign += 1,
                    }
                }
                last_progress = block.at;
                blocks.push(block);
            }
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        if follower.is_finished() {
            break;
        }
    }
    let follow_error = if follower.is_finished() {
        match follower.await {
            Ok(Err(e)) => Some(e),
            _ => None,
        }
    } else {
        follower.abort();
        None
    };
    if let Some(e) = follow_error {
        return Err(e.context("following the chain's heads"));
    }

    // Only a receipt saying so counts a transaction as committed: every block of the run's receipts, one call
    // per block.
    let numbers = blocks.iter().map(|b| rpc_params![format!("{:#x}", b.number)]).collect();
    let mut confirmed: HashMap<B256, bool> = HashMap::with_capacity(txs.len());
    for receipts in nodes[0].batched::<Value>("eth_getBlockReceipts", numbers, 4).await? {
        for r in receipts.as_ref().ok().and_then(Value::as_array).into_iter().flatten() {
            if let Some(hash) = r["transactionHash"].as_str().and_then(|h| h.parse::<B256>().ok()) {
                confirmed.insert(hash, r["status"].as_str() == Some("0x1"));
            }
        }
    }
    let mut failed = 0;
    for (i, c) in committed.iter_mut().enumerate() {
        match (c.is_some(), confirmed.get(&txs[i].hash)) {
            (true, Some(true)) | (false, None) => {}
            (true, Some(false)) => {
                failed += 1;
                *c = None;
            }
            // Seen in a block but without a receipt, or the reverse: not counted.
            _ => *c = None,
        }
    }
    let mut pools = Vec::new();
    for n in nodes {
        pools.push(n.pool_size().await.ok());
    }
    let (first, last) = window_samples;
    let first = first.unwrap_or_else(|| vec![None; pids.len()]);
    let last = last.unwrap_or_else(|| vec![None; pids.len()]);
    Ok(Outcome {
        plan,
        start,
        due,
        answers,
        committed,
        failed,
        blocks,
        nodes: first.into_iter().zip(last).collect(),
        generator,
        pools,
        foreign,
    })
}
