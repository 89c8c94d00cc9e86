//! Block sync: how a restarted, lagging or new node (validator or observer) catches up with its peers.
//!
//! Once a second (and whenever a member connects) the node asks every connected member for its head. If one is
//! ahead it fetches committed blocks from it in batches, and commits each only after re-executing it to the exact
//! header it claims and checking its commit certificate against the validator set: a peer can waste our time, never
//! make us commit a block a quorum did not certify. A peer that serves a bad block is skipped for that round.
//!
//! The other half, [`answer`], serves the same requests from our own store.

use std::collections::BTreeSet;
use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;

use accord_sdk::B256;
use accord_sdk::block::{CommitCertificate, Header, decode_block, encode_block};
use accord_sdk::tx::SignedTransaction;
use libp2p::PeerId;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::chain::{Chain, ChainError};
use crate::network::protocol::{MAX_SYNC_BLOCKS, SYNC_SOFT_LIMIT_BYTES};
use crate::network::{NetworkSender, Payload, SyncBlock, SyncRequest, SyncResponse};
use crate::service::NodeContext;

/// Blocks asked for per request.
const BATCH: u32 = 256;
/// How often peers are polled for their head.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Why a synced block was refused.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The bytes are not a block.
    #[error("block bytes do not decode: {0}")]
    Decode(String),
    /// A transaction in it does not decode or verify.
    #[error("block {number}: transaction {index}: {detail}")]
    Transaction {
        /// Block height.
        number: u64,
        /// Position.
        index: usize,
        /// Why.
        detail: String,
    },
    /// Not the height asked for.
    #[error("peer sent block {got}, expected {expected}")]
    WrongHeight {
        /// Received.
        got: u64,
        /// Expected.
        expected: u64,
    },
    /// Re-execution, certificate or storage refused it.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// We hold a different certified block at that height: a safety violation somewhere, never papered over.
    #[error("peer's certified block {theirs} at height {number} differs from ours {ours}")]
    Conflict {
        /// Height.
        number: u64,
        /// Ours.
        ours: B256,
        /// Theirs.
        theirs: B256,
    },
}

/// Answers a sync request from the local store (blocking: reads RocksDB).
pub fn answer(chain: &Chain, request: &SyncRequest) -> SyncResponse {
    match request {
        SyncRequest::Status => {
            let head = chain.head();
            SyncResponse::Status { height: head.number, hash: head.hash().0 }
        }
        SyncRequest::Blocks { from, max } => match read_blocks(chain, *from, (*max).min(MAX_SYNC_BLOCKS)) {
            Ok(blocks) => SyncResponse::Blocks(blocks),
            Err(e) => SyncResponse::Error(e.to_string()),
        },
    }
}

fn read_blocks(chain: &Chain, from: u64, max: u32) -> Result<Vec<SyncBlock>, ChainError> {
    let head = chain.head().number;
    let store = chain.store();
    let mut out = Vec::new();
    let mut bytes = 0usize;
    let mut n = from.max(1);
    while n <= head && out.len() < max as usize && bytes < SYNC_SOFT_LIMIT_BYTES {
        let header = store.header(n)?.ok_or(ChainError::MissingBlock(n))?;
        let txs = store.transactions(n)?.ok_or(ChainError::MissingBlock(n))?;
        let cert = store.certificate(n)?.ok_or(ChainError::MissingBlock(n))?;
        let block = encode_block(&header, txs.iter().map(|t| t.encoded().as_ref()));
        let certificate = alloy_rlp::encode(&cert);
        bytes += block.len() + certificate.len();
        out.push(SyncBlock { block: Payload(block), certificate: Payload(certificate) });
        n += 1;
    }
    Ok(out)
}

/// Verifies and commits one block received by sync at height `expected`.
pub fn apply_block(ctx: &NodeContext, block: &SyncBlock, expected: u64) -> Result<Header, SyncError> {
    let (header, raw_txs) = decode_block(&block.block.0).map_err(|e| SyncError::Decode(e.to_string()))?;
    if header.number != expected {
        return Err(SyncError::WrongHeight { got: header.number, expected });
    }
    let chain = &ctx.chain;
    if let Some(ours) = committed_hash(chain, expected)? {
        // Consensus committed it meanwhile: it must be the same block.
        return if ours == header.hash() {
            Ok(header)
        } else {
            Err(SyncError::Conflict { number: expected, ours, theirs: header.hash() })
        };
    }
    let certificate = <CommitCertificate as alloy_rlp::Decodable>::decode(&mut block.certificate.0.as_slice())
        .map_err(|e| SyncError::Decode(format!("certificate: {e}")))?;
    // Cheap checks first: the certificate needs only the header, and the body size only a count. The verified
    // certificate is committed as it is, not checked a second time.
    let certificate = chain.verify_certificate(&header, certificate)?;
    crate::pbft::driver::check_body_bounds(ctx, raw_txs.len()).map_err(SyncError::Decode)?;
    let limits = chain.tx_limits();
    let txs = raw_txs
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            SignedTransaction::decode(raw, &limits).map_err(|e| SyncError::Transaction {
                number: expected,
                index,
                detail: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let executed = chain.verify_block(&header, txs)?;
    match ctx.commit(executed, certificate, "sync") {
        Ok(h) => Ok(h),
        // Lost a race with consensus committing the same height: fine if it is the same block.
        Err(ChainError::NotOnHead { .. }) => match committed_hash(chain, expected)? {
            Some(ours) if ours == header.hash() => Ok(header),
            Some(ours) => Err(SyncError::Conflict { number: expected, ours, theirs: header.hash() }),
            None => Err(SyncError::Chain(ChainError::NotOnHead {
                number: expected,
                parent: header.parent_hash,
                head: chain.head().hash(),
            })),
        },
        Err(e) => Err(e.into()),
    }
}

fn committed_hash(chain: &Chain, number: u64) -> Result<Option<B256>, ChainError> {
    if number > chain.head().number {
        return Ok(None);
    }
    Ok(chain.store().header(number)?.map(|h| h.hash()))
}

/// How long a peer that failed to serve is left alone.
const BACKOFF: Duration = Duration::from_secs(10);
/// A validator leaves a one-block lag to consensus unless its head has not moved for this long.
const TIP_GRACE: Duration = Duration::from_secs(3);

/// The sync loop. Runs until aborted. `validator` nodes leave the newest block to consensus while it is moving:
/// fetching and re-executing what they are about to commit anyway would only compete with it.
pub async fn run(
    ctx: Arc<NodeContext>,
    net: NetworkSender,
    peers: Arc<Mutex<BTreeSet<PeerId>>>,
    trigger: Arc<Notify>,
    validator: bool,
) {
    let show_progress = std::io::stderr().is_terminal();
    let mut backoff: std::collections::HashMap<PeerId, std::time::Instant> = Default::default();
    let (mut last_head, mut head_moved) = (ctx.chain.head().number, std::time::Instant::now());
    loop {
        tokio::select! {
            _ = trigger.notified() => {}
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
        }
        let now = std::time::Instant::now();
        backoff.retain(|_, until| *until > now);
        let head = ctx.chain.head().number;
        if head != last_head {
            (last_head, head_moved) = (head, now);
        }
        let candidates: Vec<PeerId> = peers.lock().iter().filter(|p| !backoff.contains_key(p)).copied().collect();
        if candidates.is_empty() {
            ctx.metrics.syncing.set(0);
            continue;
        }
        let asks = candidates.iter().map(|p| {
            let net = net.clone();
            let p = *p;
            async move {
                match tokio::time::timeout(Duration::from_secs(5), net.sync_request(p, SyncRequest::Status)).await {
                    Ok(Ok(SyncResponse::Status { height, .. })) => Some((p, height)),
                    _ => None,
                }
            }
        });
        let mut ahead: Vec<(PeerId, u64)> = futures::future::join_all(asks).await.into_iter().flatten().collect();
        ahead.sort_by_key(|p| std::cmp::Reverse(p.1));
        let Some(&(_, target)) = ahead.first() else { continue };
        ctx.metrics.sync_target_height.set(target as i64);
        let start = ctx.chain.head().number;
        if target <= start || (validator && target == start + 1 && head_moved.elapsed() < TIP_GRACE) {
            ctx.metrics.syncing.set(0);
            continue;
        }
        ctx.metrics.syncing.set(1);
        ctx.sync_started_at.store(start, std::sync::atomic::Ordering::Relaxed);
        let bar = (show_progress && target - start > 64).then(|| progress_bar(start, target));
        for (peer, their_height) in ahead {
            if let Err(e) = fetch_from(&ctx, &net, peer, their_height, bar.as_ref()).await {
                tracing::warn!(%peer, error = %e, "block sync from peer failed; trying another");
                backoff.insert(peer, std::time::Instant::now() + BACKOFF);
                continue;
            }
            if ctx.chain.head().number >= target {
                break;
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let head = ctx.chain.head().number;
        if head > start {
            tracing::info!(from = start, to = head, target, "block sync caught up");
        }
        ctx.metrics.syncing.set(i64::from(head < target));
    }
}

fn progress_bar(start: u64, target: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(target - start);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("syncing {bar:40.cyan/blue} {pos}/{len} blocks {per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

/// Fetches and commits blocks from `peer` up to `their_height`.
async fn fetch_from(
    ctx: &Arc<NodeContext>,
    net: &NetworkSender,
    peer: PeerId,
    their_height: u64,
    bar: Option<&indicatif::ProgressBar>,
) -> Result<(), String> {
    loop {
        let head = ctx.chain.head().number;
        if head >= their_height {
            return Ok(());
        }
        let request = SyncRequest::Blocks { from: head + 1, max: BATCH };
        let blocks = match tokio::time::timeout(Duration::from_secs(60), net.sync_request(peer, request)).await {
            Ok(Ok(SyncResponse::Blocks(b))) if !b.is_empty() => b,
            Ok(Ok(SyncResponse::Blocks(_))) => return Err("peer sent no blocks".into()),
            Ok(Ok(SyncResponse::Error(e))) => return Err(format!("peer could not serve blocks: {e}")),
            Ok(Ok(SyncResponse::Status { .. })) => return Err("peer answered a block request with its status".into()),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err("timed out".into()),
        };
        let ctx2 = ctx.clone();
        let (applied, error) = tokio::task::spawn_blocking(move || {
            let mut applied = 0u64;
            for (i, b) in blocks.iter().enumerate() {
                if let Err(e) = apply_block(&ctx2, b, head + 1 + i as u64) {
                    return (applied, Some(e));
                }
                applied += 1;
            }
            (applied, None)
        })
        .await
        .map_err(|e| format!("sync task failed: {e}"))?;
        ctx.metrics.sync_blocks.inc_by(applied);
        if let Some(bar) = bar {
            bar.inc(applied);
        }
        if let Some(e) = error {
            if matches!(e, SyncError::Conflict { .. }) {
                tracing::error!(%peer, error = %e, "CONFLICTING CERTIFIED BLOCK: refusing it; investigate the peer");
            }
            return Err(e.to_string());
        }
    }
}
