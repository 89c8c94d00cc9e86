//! What the running node knows about itself that more than one task reads: connected members, block sync progress,
//! the height and view consensus is at.
//!
//! Each holder is written by the one task that owns the fact (dispatch for peers, sync for progress, the consensus
//! driver for height and view) and mirrors every change into its Prometheus gauges, so metrics observe the state
//! and never are it: the RPC and the decisions read these holders, not the gauges.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use libp2p::PeerId;
use parking_lot::Mutex;

use crate::metrics::Metrics;

/// The consortium members connected right now.
#[derive(Debug)]
pub struct PeerSet {
    peers: Mutex<BTreeSet<PeerId>>,
    metrics: Metrics,
}

impl PeerSet {
    /// An empty set reporting to `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        Self { peers: Mutex::new(BTreeSet::new()), metrics }
    }
    /// Records a connection; returns the new count.
    pub fn connected(&self, peer: PeerId) -> usize {
        let n = {
            let mut p = self.peers.lock();
            p.insert(peer);
            p.len()
        };
        self.metrics.peers.set(n as i64);
        n
    }
    /// Records a disconnection; returns the new count.
    pub fn disconnected(&self, peer: &PeerId) -> usize {
        let n = {
            let mut p = self.peers.lock();
            p.remove(peer);
            p.len()
        };
        self.metrics.peers.set(n as i64);
        n
    }
    /// The connected members.
    pub fn list(&self) -> Vec<PeerId> {
        self.peers.lock().iter().copied().collect()
    }
    /// How many are connected.
    pub fn count(&self) -> usize {
        self.peers.lock().len()
    }
}

/// Block sync's progress: whether it is catching up, from where, to what its peers claim.
#[derive(Debug)]
pub struct SyncStatus {
    syncing: AtomicBool,
    started_at: AtomicU64,
    target: AtomicU64,
    metrics: Metrics,
}

impl SyncStatus {
    /// Idle, reporting to `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        Self { syncing: AtomicBool::new(false), started_at: AtomicU64::new(0), target: AtomicU64::new(0), metrics }
    }
    /// Catching up from `from` towards `target`.
    pub fn start(&self, from: u64, target: u64) {
        self.started_at.store(from, Ordering::Relaxed);
        self.set_target(target);
        self.syncing.store(true, Ordering::Relaxed);
        self.metrics.syncing.set(1);
    }
    /// The highest head a peer claims (a hint: nothing is trusted before it is verified).
    pub fn set_target(&self, target: u64) {
        self.target.store(target, Ordering::Relaxed);
        self.metrics.sync_target_height.set(target as i64);
    }
    /// The head at least f + 1 members claim (`sync::agreed_head`): what `/readyz` measures the lag against.
    pub fn set_agreed_head(&self, height: u64) {
        self.metrics.sync_agreed_height.set(height as i64);
    }
    /// Not catching up.
    pub fn stop(&self) {
        self.syncing.store(false, Ordering::Relaxed);
        self.metrics.syncing.set(0);
    }
    /// Blocks committed by sync.
    pub fn add_blocks(&self, n: u64) {
        self.metrics.sync_blocks.inc_by(n);
    }
    /// `(starting block, highest block)` while catching up.
    pub fn progress(&self) -> Option<(u64, u64)> {
        self.syncing
            .load(Ordering::Relaxed)
            .then(|| (self.started_at.load(Ordering::Relaxed), self.target.load(Ordering::Relaxed)))
    }
}

/// The height and view the consensus driver is at.
#[derive(Debug)]
pub struct ConsensusStatus {
    height: AtomicU64,
    view: AtomicU64,
    metrics: Metrics,
}

impl ConsensusStatus {
    /// At height 0, view 0, reporting to `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        Self { height: AtomicU64::new(0), view: AtomicU64::new(0), metrics }
    }
    /// Records the state machine's position; returns true when the height changed (a new round began).
    pub fn observe(&self, height: u64, view: u64) -> bool {
        let old_height = self.height.swap(height, Ordering::Relaxed);
        let old_view = self.view.swap(view, Ordering::Relaxed);
        if old_height == height && view > old_view {
            self.metrics.consensus_view_changes.inc_by(view - old_view);
            tracing::info!(height, view, "view change");
        }
        self.metrics.consensus_height.set(height as i64);
        self.metrics.consensus_view.set(view as i64);
        old_height != height
    }
    /// `(height, view)`.
    pub fn get(&self) -> (u64, u64) {
        (self.height.load(Ordering::Relaxed), self.view.load(Ordering::Relaxed))
    }
}

/// Every shared fact, for the tasks that read several (RPC, the status endpoint).
#[derive(Debug)]
pub struct NodeStatus {
    /// Connected members.
    pub peers: PeerSet,
    /// Block sync.
    pub sync: SyncStatus,
    /// Consensus position.
    pub consensus: ConsensusStatus,
}

impl NodeStatus {
    /// Fresh holders reporting to `metrics`.
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            peers: PeerSet::new(metrics.clone()),
            sync: SyncStatus::new(metrics.clone()),
            consensus: ConsensusStatus::new(metrics.clone()),
        }
    }
}
