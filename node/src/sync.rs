//! Block sync: how a restarted, lagging or new node (validator or observer) catches up with its peers.
//!
//! Once a second (and whenever a member connects) the node asks every connected member for its head. While some
//! are ahead it fetches committed blocks in batches, each batch from the member that has served fastest so far, and
//! commits each block only through the one import path (certificate first, then re-execution to the exact header):
//! a peer can waste our time, never make us commit a block a quorum did not certify. What a peer claims is only a
//! hint: nothing is trusted beyond what was verified, and a peer that claims more than it serves gets nowhere.
//! Every request has a progress deadline; a peer that misses it, fails, or serves slowly (a partial batch after a
//! quarter of the deadline) is left alone for a back-off that doubles each time, so a member serving one block a
//! minute costs a catching-up node at most one deadline per back-off, not its whole catch-up.
//!
//! The other half, [`answer`], serves the same requests from our own store, and serves the bytes of proposed
//! blocks a new leader must re-propose.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_sdk::B256;
use accord_sdk::block::encode_block;
use libp2p::PeerId;
use tokio::sync::Notify;

use crate::chain::{Chain, ChainError};
use crate::import::{BlockImporter, ImportError};
use crate::network::protocol::{MAX_SYNC_BLOCKS, SYNC_SOFT_LIMIT_BYTES};
use crate::network::{NetworkSender, Payload, SyncBlock, SyncRequest, SyncResponse};
use crate::pbft::SafetyStore;
use crate::status::{PeerSet, SyncStatus};

/// A contract engine fingerprint as the sync status carries it.
type Fingerprint = [u8; 32];

/// This build's contract engine fingerprint (zero if the engine cannot be built, which the chain refused already).
fn engine_fingerprint() -> Fingerprint {
    accord_vm::identity().map(|id| id.fingerprint.0).unwrap_or_default()
}

/// The heights claimed by peers whose contract engine is `ours`, and the peers running another one. Their blocks
/// would be re-executed here anyway; a different engine is an operator's mistake to hear about, not a chain to follow.
/// The highest head that at least f + 1 of the answering members claim, f being the faulty validators a set of
/// `validators` tolerates: some honest member holds that head, so a member lying about its height cannot make this
/// node look behind (and `/readyz` fail). With fewer answers, the lowest claim.
fn agreed_head(claims: &HashMap<PeerId, u64>, validators: usize) -> u64 {
    let mut heights: Vec<u64> = claims.values().copied().collect();
    heights.sort_unstable_by(|a, b| b.cmp(a));
    let f = validators.saturating_sub(1) / 3;
    heights.get(f).or(heights.last()).copied().unwrap_or(0)
}

fn claims_on_engine(
    statuses: Vec<(PeerId, u64, Fingerprint)>,
    ours: Fingerprint,
) -> (HashMap<PeerId, u64>, Vec<(PeerId, Fingerprint)>) {
    let mut claims = HashMap::new();
    let mut others = Vec::new();
    for (p, height, engine) in statuses {
        if engine == ours {
            claims.insert(p, height);
        } else {
            others.push((p, engine));
        }
    }
    (claims, others)
}

/// Answers a sync request from the local store (blocking: reads RocksDB).
pub fn answer(chain: &Chain, request: &SyncRequest) -> SyncResponse {
    match request {
        SyncRequest::Status => {
            let head = chain.head();
            SyncResponse::Status { height: head.number, hash: head.hash().0, engine: engine_fingerprint() }
        }
        SyncRequest::Blocks { from, max } => match read_blocks(chain, *from, (*max).min(MAX_SYNC_BLOCKS)) {
            Ok(blocks) => SyncResponse::Blocks(blocks),
            Err(e) => SyncResponse::Error(e.to_string()),
        },
        SyncRequest::Body { height, block } => match read_body(chain, *height, block) {
            Ok(body) => SyncResponse::Body(body.map(Payload)),
            Err(e) => SyncResponse::Error(e.to_string()),
        },
    }
}

/// A proposed block's bytes: from the consensus body store, or the committed chain if it was decided.
fn read_body(chain: &Chain, height: u64, block: &[u8; 32]) -> Result<Option<Vec<u8>>, ChainError> {
    if let Some(b) = SafetyStore::new(chain.store().clone()).body(height, block)? {
        return Ok(Some(b));
    }
    if height <= chain.history_base() || height > chain.head().number {
        return Ok(None);
    }
    let header = chain.store().header(height)?.ok_or(ChainError::MissingBlock(height))?;
    if header.hash().0 != *block {
        return Ok(None);
    }
    block_bytes(chain, &header).map(Some)
}

/// The wire bytes (`encode_block`) of the committed block with this header, as sync serves them.
pub(crate) fn block_bytes(chain: &Chain, header: &accord_sdk::block::Header) -> Result<Vec<u8>, ChainError> {
    let n = header.number;
    let txs = chain.store().transactions(n)?.ok_or(ChainError::MissingBlock(n))?;
    Ok(encode_block(header, txs.iter().map(|t| t.encoded().as_ref())))
}

fn read_blocks(chain: &Chain, from: u64, max: u32) -> Result<Vec<SyncBlock>, ChainError> {
    let head = chain.head().number;
    // A node restored from a snapshot serves only the blocks after it; the asker goes to another peer.
    chain.require_block(from.max(1))?;
    let mut out = Vec::new();
    let mut bytes = 0usize;
    let mut n = from.max(1);
    while n <= head && out.len() < max as usize && bytes < SYNC_SOFT_LIMIT_BYTES {
        let header = chain.store().header(n)?.ok_or(ChainError::MissingBlock(n))?;
        let block = block_bytes(chain, &header)?;
        let cert = chain.store().certificate(n)?.ok_or(ChainError::MissingBlock(n))?;
        let certificate = alloy_rlp::encode(&cert);
        bytes += block.len() + certificate.len();
        out.push(SyncBlock { block: Payload(block), certificate: Payload(certificate) });
        n += 1;
    }
    Ok(out)
}

/// Timing of block sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// Most milliseconds one request to a peer may take before the peer is left for another.
    pub progress_deadline_ms: u64,
    /// Most blocks asked of one peer per request (at most `MAX_SYNC_BLOCKS`). Smaller batches spread a catch-up
    /// over more peers and hold less in memory; larger ones need fewer round trips.
    pub batch_blocks: u32,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self { progress_deadline_ms: 5_000, batch_blocks: 256 }
    }
}
/// How often peers are polled for their head.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// First back-off of a peer that failed, timed out or served slowly; it doubles on each repeat.
const BACKOFF: Duration = Duration::from_secs(10);
/// Longest back-off.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// A validator leaves a one-block lag to consensus unless its head has not moved for this long.
const TIP_GRACE: Duration = Duration::from_secs(3);

/// What sync remembers about a peer.
#[derive(Debug, Default)]
struct PeerRecord {
    /// Left alone until then.
    until: Option<Instant>,
    /// Current back-off (doubles on each failure, resets on a good batch).
    backoff: Option<Duration>,
    /// Blocks per second of its last batch; unmeasured peers are tried first.
    rate: Option<f64>,
}

/// The handles block sync works with.
#[derive(Debug, Clone)]
pub struct BlockSync {
    /// The import path.
    pub importer: Arc<BlockImporter>,
    /// Requests to peers.
    pub net: NetworkSender,
    /// Who is connected (read) and sync progress (written).
    pub status: Arc<crate::status::NodeStatus>,
    /// Wakes sync early (a member connected; consensus decided a block it lacks).
    pub trigger: Arc<Notify>,
    /// Timing.
    pub config: SyncConfig,
    /// Validators leave the newest block to consensus while it is moving. The role follows governance: this node's
    /// address, asked of the next block's lists each round; `None` on chains without PBFT.
    pub validator: Option<(accord_sdk::Address, Arc<crate::membership::MembershipView>)>,
}

impl BlockSync {
    fn peer_set(&self) -> &PeerSet {
        &self.status.peers
    }
    fn status(&self) -> &SyncStatus {
        &self.status.sync
    }

    /// The sync loop. Runs until aborted.
    pub async fn run(self) {
        let show_progress = std::io::stderr().is_terminal();
        let deadline = Duration::from_millis(self.config.progress_deadline_ms.max(1));
        let batch = self.config.batch_blocks.clamp(1, MAX_SYNC_BLOCKS);
        let chain = self.importer.chain().clone();
        let mut records: HashMap<PeerId, PeerRecord> = HashMap::new();
        // Peers already reported for running another engine (reported once each).
        let mut other_engines: std::collections::HashSet<PeerId> = std::collections::HashSet::new();
        let (mut last_head, mut head_moved) = (chain.head().number, Instant::now());
        loop {
            tokio::select! {
                _ = self.trigger.notified() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
            }
            let now = Instant::now();
            let head = chain.head().number;
            if head != last_head {
                (last_head, head_moved) = (head, now);
            }
            let candidates: Vec<PeerId> = self
                .peer_set()
                .list()
                .into_iter()
                .filter(|p| records.get(p).and_then(|r| r.until).is_none_or(|u| u <= now))
                .collect();
            let asks = candidates.iter().map(|p| {
                let net = self.net.clone();
                let p = *p;
                async move {
                    match tokio::time::timeout(deadline, net.sync_request(p, SyncRequest::Status)).await {
                        Ok(Ok(SyncResponse::Status { height, engine, .. })) => Some((p, height, engine)),
                        _ => None,
                    }
                }
            });
            let ours = engine_fingerprint();
            let statuses = futures::future::join_all(asks).await.into_iter().flatten().collect();
            let (claims, others) = claims_on_engine(statuses, ours);
            for (p, theirs) in others {
                if other_engines.insert(p) {
                    tracing::warn!(
                        peer = %p,
                        theirs = %B256::from(theirs),
                        ours = %B256::from(ours),
                        "peer runs another contract engine than this node; not syncing from it"
                    );
                }
            }
            let Some(target) = claims.values().copied().max() else {
                self.status().stop();
                continue;
            };
            self.status().set_target(target);
            let validators = chain.validators_at(chain.head().number + 1).map(|s| s.len()).unwrap_or(1);
            self.status().set_agreed_head(agreed_head(&claims, validators));
            let start = chain.head().number;
            let validator = self.validator.as_ref().is_some_and(|(me, members)| members.is_validator(me));
            if target <= start || (validator && target == start + 1 && head_moved.elapsed() < TIP_GRACE) {
                self.status().stop();
                continue;
            }
            self.status().start(start, target);
            let bar = (show_progress && target - start > 64).then(|| progress_bar(start, target));
            self.catch_up(&claims, &mut records, deadline, batch, bar.as_ref()).await;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let head = chain.head().number;
            if head > start {
                tracing::info!(from = start, to = head, target, "block sync caught up");
            }
            self.status().stop();
        }
    }

    /// Fetches batches from the best peer that claims more than we have, until no peer does or none serves.
    async fn catch_up(
        &self,
        claims: &HashMap<PeerId, u64>,
        records: &mut HashMap<PeerId, PeerRecord>,
        deadline: Duration,
        batch: u32,
        bar: Option<&indicatif::ProgressBar>,
    ) {
        let chain = self.importer.chain();
        loop {
            let head = chain.head().number;
            let now = Instant::now();
            // The fastest peer so far that claims more than we hold and is not backed off; unmeasured ones first.
            let Some(peer) = claims
                .iter()
                .filter(|(p, h)| **h > head && records.get(*p).and_then(|r| r.until).is_none_or(|u| u <= now))
                .map(|(p, _)| *p)
                .max_by(|a, b| {
                    let rate = |p: &PeerId| records.get(p).and_then(|r| r.rate).unwrap_or(f64::INFINITY);
                    rate(a).total_cmp(&rate(b)).then(b.cmp(a))
                })
            else {
                return;
            };
            let started = Instant::now();
            let request = SyncRequest::Blocks { from: head + 1, max: batch };
            let mut applied = 0;
            let outcome = match tokio::time::timeout(deadline, self.net.sync_request(peer, request)).await {
                Ok(Ok(SyncResponse::Blocks(b))) if !b.is_empty() => {
                    let (n, error) = self.apply(b, head).await;
                    applied = n;
                    error.map_or(Ok(n), Err)
                }
                Ok(Ok(SyncResponse::Blocks(_))) => Err("peer sent no blocks".to_string()),
                Ok(Ok(SyncResponse::Error(e))) => Err(format!("peer could not serve blocks: {e}")),
                Ok(Ok(_)) => Err("peer answered a block request with something else".to_string()),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(format!("no answer within the progress deadline of {} ms", deadline.as_millis())),
            };
            let elapsed = started.elapsed();
            self.status().add_blocks(applied);
            if let Some(bar) = bar {
                bar.inc(applied);
            }
            let record = records.entry(peer).or_default();
            let failure = match outcome {
                Ok(applied) => {
                    record.rate = Some(applied as f64 / elapsed.as_secs_f64().max(1e-3));
                    let slow = applied < u64::from(batch) && elapsed > deadline / 4 && claims[&peer] > head + applied;
                    if slow {
                        Some(format!("served {applied} blocks in {} ms", elapsed.as_millis()))
                    } else {
                        record.backoff = None;
                        None
                    }
                }
                Err(e) => Some(e),
            };
            if let Some(reason) = failure {
                let backoff = record.backoff.map(|b| (b * 2).min(MAX_BACKOFF)).unwrap_or(BACKOFF);
                record.backoff = Some(backoff);
                record.until = Some(Instant::now() + backoff);
                tracing::warn!(%peer, %reason, backoff_secs = backoff.as_secs(), "block sync leaves this peer for a while");
            }
        }
    }

    /// Imports a batch in order; the number applied, and why the batch stopped short if it did.
    async fn apply(&self, blocks: Vec<SyncBlock>, head: u64) -> (u64, Option<String>) {
        let importer = self.importer.clone();
        let (applied, error) = tokio::task::spawn_blocking(move || {
            let mut applied = 0u64;
            for (i, b) in blocks.iter().enumerate() {
                if let Err(e) = importer.import_synced(&b.block.0, &b.certificate.0, head + 1 + i as u64) {
                    return (applied, Some(e));
                }
                applied += 1;
            }
            (applied, None)
        })
        .await
        .unwrap_or_else(|e| (0, Some(ImportError::Chain(ChainError::Task(e.to_string())))));
        match error {
            None => (applied, None),
            Some(e @ ImportError::Conflict { .. }) => {
                tracing::error!(error = %e, "CONFLICTING CERTIFIED BLOCK: refusing it; investigate the peer");
                (applied, Some(e.to_string()))
            }
            Some(e) => (applied, Some(e.to_string())),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_on_another_engine_are_not_synced_from() {
        let (a, b, c) = (PeerId::random(), PeerId::random(), PeerId::random());
        let ours = engine_fingerprint();
        assert_ne!(ours, [0; 32], "this build has an engine");
        let (claims, others) = claims_on_engine(vec![(a, 10, ours), (b, 99, [7; 32]), (c, 12, ours)], ours);
        // One liar among four validators (f = 1) cannot raise the agreed head; two honest claims decide it.
        let liar = PeerId::random();
        let mut all = claims.clone();
        all.insert(liar, 1_000_000);
        assert_eq!(agreed_head(&all, 4), 12);
        assert_eq!(agreed_head(&claims, 1), 12, "a single validator: the highest claim");
        assert_eq!(agreed_head(&HashMap::from([(liar, 7)]), 4), 7, "too few answers: the lowest claim");
        assert_eq!(agreed_head(&HashMap::new(), 4), 0);
        assert_eq!(claims, HashMap::from([(a, 10), (c, 12)]), "the tallest claim comes from another engine");
        assert_eq!(others, vec![(b, [7; 32])]);
        let genesis = crate::test_genesis::genesis(&KeyPair::generate(), &[], Default::default());
        let dir = tempfile::tempdir().expect("tempdir");
        let chain = Chain::open(dir.path(), genesis).expect("opens");
        let SyncResponse::Status { engine, .. } = answer(&chain, &SyncRequest::Status) else { panic!("a status") };
        assert_eq!(engine, ours, "a node announces its own engine");
    }
    use accord_sdk::block::{CommitCertificate, block_id_of};
    use accord_sdk::keys::KeyPair;

    #[test]
    fn bodies_are_served_from_the_body_store_and_from_committed_blocks_by_id_only() {
        let validator = KeyPair::generate();
        let genesis = crate::test_genesis::genesis(&validator, &[], Default::default());
        let dir = tempfile::tempdir().expect("tempdir");
        let chain = Chain::open(dir.path(), genesis).expect("opens");
        let body = |height, block| match answer(&chain, &SyncRequest::Body { height, block }) {
            SyncResponse::Body(b) => b.map(|p| p.0),
            other => panic!("{other:?}"),
        };
        // A proposed (not yet decided) block: from the consensus body store.
        SafetyStore::new(chain.store().clone()).save_body(1, &[7; 32], b"proposed").expect("saves");
        assert_eq!(body(1, [7; 32]), Some(b"proposed".to_vec()));
        // A committed block: re-encoded from the chain, and only for its own id.
        let built = chain.build_block(vec![], 101, validator.address()).expect("builds");
        let header = built.block.header.clone();
        chain.commit(built, CommitCertificate::sign(&validator, &header, 0).expect("signs")).expect("commits");
        let served = body(1, header.hash().0).expect("the committed block");
        assert_eq!(block_id_of(&served), Some(header.hash()));
        assert_eq!(body(1, [9; 32]), None, "another id at that height");
        assert_eq!(body(2, header.hash().0), None, "a height not yet committed");
    }
}
