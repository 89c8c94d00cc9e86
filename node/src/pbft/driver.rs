//! `ConsensusDriver`: runs one validator's `PbftState` against the real world.
//!
//! It feeds the state machine consensus messages from its inbox (per-peer queues, served in turn), timer expiries
//! and the results of building, fetching and validating blocks, and carries out the actions it returns strictly in
//! order: a `Persist` is fsynced before the next action runs, so no vote leaves the node before it is on disk.
//!
//! Each message is decoded within the chain's message limit, must be signed under the index of the validator whose
//! connection delivered it (a forged signer field is refused before any signature check), and is admitted by the
//! state machine (screened, then verified); what fails is counted, and faults are scored against the peer.
//!
//! Blocks are built from the pool when it has runnable transactions; an idle leader heartbeats instead of storing an
//! empty block. Proposals go through the one import path (`BlockImporter`), executed to the exact header they
//! claim before this validator prepares; their bytes are stored once, durably, before the vote. Decided blocks are
//! committed with the 2f+1 commit votes as their certificate. When the chain moves on without it (block sync
//! committed a height), the driver tells the state machine, which starts the next height.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_consensus::{Action, BlockId, Event, Height, Message, NodeIndex, PbftState, Signed, View, Vote};
use accord_sdk::block::CommitCertificate;
use accord_sdk::keys::KeyPair;
use accord_sdk::{Address, B256, Bytes};
use libp2p::PeerId;
use tokio::sync::{Notify, broadcast, mpsc};

use crate::chain::ExecutedBlock;
use crate::import::{BlockImporter, now_secs};
use crate::metrics::Metrics;
use crate::network::{AddressBook, NetworkCommand, NetworkSender, PeerScores, SyncRequest, SyncResponse};
use crate::pbft::inbox::ConsensusInbox;
use crate::pbft::{NodeKeyCrypto, SafetyStore};
use crate::status::NodeStatus;
use crate::storage::StorageError;

/// Why the driver stopped. Each is fatal: continuing could mean voting without a durable record.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The vote record could not be made durable.
    #[error("cannot persist the consensus vote record: {0}")]
    Persist(#[from] StorageError),
    /// A consensus message could not be encoded.
    #[error("cannot encode a consensus message: {0}")]
    Encode(#[from] std::io::Error),
    /// The chain could not tell the validator set to start with.
    #[error("cannot read the validator set: {0}")]
    Chain(String),
}

/// Most ready transactions re-gossiped when an idle leader's heartbeat meets a replica holding work.
const REGOSSIP_LIMIT: usize = 2_000;

/// Pacing of block production.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// Least time between a commit and the next proposal.
    pub block_interval: Duration,
    /// How often an idle leader tells the others it is alive.
    pub heartbeat_interval: Duration,
    /// Most transactions per block.
    pub max_block_txs: usize,
}

enum Input {
    Timeout { height: Height, view: View, seq: u64 },
    Idle { height: Height, view: View },
    Built { height: Height, view: View, block: Option<Box<(BlockId, Vec<u8>, ExecutedBlock)>> },
    Fetched { height: Height, view: View, block: BlockId, payload: Vec<u8> },
}

/// What the driver works with: narrow handles, each owned elsewhere.
#[derive(Debug, Clone)]
pub struct DriverHandles {
    /// The one import path (and through it the chain and the pool).
    pub importer: Arc<BlockImporter>,
    /// Messages from validators.
    pub inbox: Arc<ConsensusInbox>,
    /// Where protocol violations are scored.
    pub scores: Arc<PeerScores>,
    /// Outgoing messages and body requests.
    pub net: NetworkSender,
    /// Where the driver publishes its height and view.
    pub status: Arc<NodeStatus>,
    /// Counters.
    pub metrics: Metrics,
    /// Wakes block sync when a decided block must be fetched.
    pub sync_trigger: Arc<Notify>,
    /// How validators named by node address are reached.
    pub book: Arc<AddressBook>,
}

/// One validator's consensus loop.
pub struct ConsensusDriver {
    h: DriverHandles,
    state: PbftState<NodeKeyCrypto>,
    safety: SafetyStore,
    key: KeyPair,
    /// This node's index in the set of the height being decided (`None`: it only follows there).
    me: Option<NodeIndex>,
    /// The validators of the height being decided, by node address, in leader-rotation order.
    set: Vec<Address>,
    /// The signature checker's handle on the set (shared with the state machine's copy).
    crypto: NodeKeyCrypto,
    /// This node's `consensus.timeout_ms`: the first-view timeout until governance sets one for the chain.
    local_timeout: u64,
    message_limit: usize,
    pacing: Pacing,
    inputs_tx: mpsc::UnboundedSender<Input>,
    inputs_rx: mpsc::UnboundedReceiver<Input>,
    timer: Option<tokio::task::JoinHandle<()>>,
    builder: Option<tokio::task::JoinHandle<()>>,
    fetcher: Option<tokio::task::JoinHandle<()>>,
    executed: HashMap<BlockId, ExecutedBlock>,
    height_started: Instant,
    last_commit: Instant,
    pending: Vec<Action>,
    /// Bodies stored at the height being decided, deleted once it is decided.
    saved_bodies: Vec<(Height, [u8; 32])>,
}

impl std::fmt::Debug for ConsensusDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsensusDriver")
            .field("me", &self.me)
            .field("validators", &self.set.len())
            .field("height", &self.state.height())
            .field("view", &self.state.view())
            .finish_non_exhaustive()
    }
}

impl ConsensusDriver {
    /// A driver for the node holding `key`, resuming from the persisted record. It validates the heights whose set
    /// names it, and follows the others.
    pub fn new(
        h: DriverHandles,
        key: KeyPair,
        config: accord_consensus::PbftConfig,
        pacing: Pacing,
    ) -> Result<Self, DriverError> {
        let chain = h.importer.chain().clone();
        let safety = SafetyStore::new(chain.store().clone());
        let next = chain.head().number + 1;
        // Bodies of decided heights whose ids a crash lost.
        safety.prune_bodies(next)?;
        // The record is only meaningful for the height it was written at; after a commit it is stale.
        let record = match safety.load()? {
            Some(r) if r.height == next => r,
            _ => accord_consensus::SafetyRecord { height: next, ..Default::default() },
        };
        let genesis = chain.genesis();
        let validators = chain.validators_at(next).map_err(|e| DriverError::Chain(e.to_string()))?;
        let set: Vec<Address> = validators.validators.iter().map(|v| v.address).collect();
        let me = set.iter().position(|a| *a == key.address());
        let crypto = NodeKeyCrypto::new(key.clone(), validators, genesis.crypto, genesis.chain_id);
        let message_limit = accord_consensus::message_limit(genesis.params.max_block_bytes, set.len());
        let membership = accord_consensus::Membership { n: set.len(), me };
        let local_timeout = config.base_timeout;
        let mut config = config;
        if let Ok(rules) = chain.next_rules()
            && rules.config.consensus_timeout_ms != 0
        {
            config.base_timeout = rules.config.consensus_timeout_ms;
        }
        let (state, initial) = PbftState::new(membership, crypto.clone(), config, record);
        let (inputs_tx, inputs_rx) = mpsc::unbounded_channel();
        Ok(Self {
            h,
            state,
            safety,
            key,
            me,
            set,
            crypto,
            local_timeout,
            message_limit,
            pacing,
            inputs_tx,
            inputs_rx,
            timer: None,
            builder: None,
            fetcher: None,
            executed: HashMap::new(),
            height_started: Instant::now(),
            last_commit: Instant::now(),
            pending: initial,
            saved_bodies: Vec::new(),
        })
    }

    /// After `height` is committed: the membership of the next height when its validator set differs from the one
    /// being used (the signature checker is switched to it first, so messages kept for that height are checked
    /// against the right set).
    fn next_membership(&mut self, height: Height) -> Option<accord_consensus::Membership> {
        let chain = self.h.importer.chain().clone();
        // The chain-wide timeout governance may have set for the next height (else this node's own).
        match chain.next_rules() {
            Ok(rules) if rules.config.consensus_timeout_ms != 0 => {
                self.state.set_base_timeout(rules.config.consensus_timeout_ms)
            }
            Ok(_) => self.state.set_base_timeout(self.local_timeout),
            Err(e) => tracing::error!(error = %e, "cannot read the chain's rules"),
        }
        let validators = match chain.validators_at(height + 1) {
            Ok(v) => v,
            Err(e) => {
                // Keep the set in use: refusing honest votes is safe, inventing a set is not.
                tracing::error!(height = height + 1, error = %e, "cannot read the validator set");
                return None;
            }
        };
        let set: Vec<Address> = validators.validators.iter().map(|v| v.address).collect();
        if set == self.set {
            return None;
        }
        self.me = set.iter().position(|a| *a == self.key.address());
        tracing::info!(
            height = height + 1,
            validators = set.len(),
            me = ?self.me,
            "validator set changes: this node {}",
            if self.me.is_some() { "validates" } else { "follows" }
        );
        self.message_limit = accord_consensus::message_limit(chain.genesis().params.max_block_bytes, set.len());
        self.crypto.set_validators(validators);
        self.set = set;
        Some(accord_consensus::Membership { n: self.set.len(), me: self.me })
    }

    /// Peer ids of the other validators of the height being decided (those ever seen).
    fn other_validators(&self) -> Vec<PeerId> {
        let mine = self.key.address();
        self.set.iter().filter(|a| **a != mine).filter_map(|a| self.h.book.peer(a)).collect()
    }

    /// Decodes, attributes and admits one message from `from`; counts and scores what is refused.
    fn receive(&mut self, from: PeerId, bytes: &[u8]) -> Option<accord_consensus::Verified<Message>> {
        let m = &self.h.metrics;
        let message = match Message::decode(bytes, self.message_limit) {
            Ok(message) => message,
            Err(e) => {
                tracing::debug!(peer = %from, error = %e, "undecodable consensus message");
                m.consensus_dropped.with_label_values(&["undecodable"]).inc();
                self.h.scores.strike(from, "undecodable");
                return None;
            }
        };
        // Every message travels directly from its author: one signed under another validator's index is forged.
        // Indexes name validators only within the set of the message's height, and the set may change between
        // heights: a message for another height whose index does not match here is dropped unscored (a late vote
        // of a removed validator, or a next-height vote under a reordered set; the latter is lost, and the state
        // machine's timers recover from it).
        let index = self.h.book.node(&from).and_then(|a| self.set.iter().position(|v| *v == a));
        if index != Some(message.signer()) {
            if message.height() != self.state.height() {
                m.consensus_dropped.with_label_values(&["unknown_signer"]).inc();
                return None;
            }
            m.consensus_dropped.with_label_values(&["forged_signer"]).inc();
            self.h.scores.strike(from, "forged_signer");
            return None;
        }
        // A leader that heartbeats while this replica holds transactions ready to run is not idle: let the view
        // timer run out, so a leader cannot censor by heartbeating.
        if matches!(message, Message::Heartbeat(_)) && self.h.importer.pool().has_runnable() {
            m.consensus_dropped.with_label_values(&["heartbeat_with_work"]).inc();
            // The leader may simply not have the work (gossip dropped it): send it again, so one replica's pool
            // cannot hold transactions that no leader ever sees.
            let pool = self.h.importer.pool().clone();
            tokio::task::spawn_blocking(move || {
                let sent = pool.regossip_ready(REGOSSIP_LIMIT);
                if sent > 0 {
                    tracing::debug!(sent, "leader idle while this node holds work: re-gossiped ready transactions");
                }
            });
            return None;
        }
        let message_height = message.height();
        match self.state.admit(message) {
            Ok(v) => Some(v),
            Err(r) => {
                m.consensus_dropped.with_label_values(&[r.label()]).inc();
                // A next-height message checked against the current set may fail honestly when the set changes at
                // that height: only current-height faults are scored.
                if r.is_fault() && message_height <= self.state.height() {
                    self.h.scores.strike(from, r.label());
                }
                None
            }
        }
    }

    /// Runs until the chain stops or a fatal error.
    pub async fn run(mut self) -> Result<(), DriverError> {
        let mut heads = self.h.importer.chain().subscribe_heads();
        let inbox = self.h.inbox.clone();
        let initial = std::mem::take(&mut self.pending);
        self.apply(initial).await?;
        self.catch_up_with_chain().await?;
        loop {
            tokio::select! {
                (from, bytes) = inbox.pop() => {
                    if let Some(m) = self.receive(from, &bytes) {
                        let actions = self.state.handle(Event::Message(m));
                        self.apply(actions).await?;
                    }
                }
                Some(input) = self.inputs_rx.recv() => {
                    let actions = match input {
                        Input::Timeout { height, view, seq } => self.state.handle(Event::Timeout { height, view, seq }),
                        Input::Idle { height, view } => self.state.handle(Event::Idle { height, view }),
                        Input::Built { height, view, block: Some(built) } => {
                            let (block, payload, executed) = *built;
                            // Stored once; the record persisted before the proposal leaves makes it durable.
                            self.save_body(height, block, &payload)?;
                            self.executed.insert(block, executed);
                            self.state.handle(Event::BlockBuilt { height, view, block, payload })
                        }
                        Input::Built { block: None, .. } => Vec::new(),
                        Input::Fetched { height, view, block, payload } => {
                            self.state.handle(Event::BlockFetched { height, view, block, payload })
                        }
                    };
                    self.apply(actions).await?;
                }
                head = heads.recv() => {
                    if let Err(broadcast::error::RecvError::Closed) = head {
                        return Ok(());
                    }
                    self.catch_up_with_chain().await?;
                }
            }
        }
    }

    /// If the chain committed the height being decided (block sync did), move the state machine on.
    async fn catch_up_with_chain(&mut self) -> Result<(), DriverError> {
        let head = self.h.importer.chain().head().number;
        if head >= self.state.height() {
            let next = self.next_membership(head);
            let actions = self.state.handle(Event::Committed { height: head, next });
            self.apply(actions).await?;
        }
        Ok(())
    }

    /// Carries out actions in order; the results of validation and commits feed back in behind them.
    async fn apply(&mut self, actions: Vec<Action>) -> Result<(), DriverError> {
        let mut queue: VecDeque<Action> = actions.into();
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Persist(record) => {
                    let safety = &self.safety;
                    tokio::task::block_in_place(|| safety.save(&record))?;
                }
                Action::Broadcast(message) => {
                    if matches!(message, Message::Heartbeat(_)) {
                        self.h.metrics.heartbeats.inc();
                    }
                    let bytes = message.encode()?;
                    for peer in self.other_validators() {
                        self.h.net.send(NetworkCommand::Send { to: peer, bytes: bytes.clone() }).await;
                    }
                }
                Action::Send { to, message } => {
                    if let Some(peer) = self.set.get(to).and_then(|a| self.h.book.peer(a)) {
                        self.h.net.send(NetworkCommand::Send { to: peer, bytes: message.encode()? }).await;
                    }
                }
                Action::FetchBlock { height, view, block } => self.spawn_fetcher(height, view, block),
                Action::Equivocation(e) => {
                    tracing::warn!(
                        validator = e.first.signer,
                        phase = e.phase,
                        height = e.first.body.height,
                        view = e.first.body.view,
                        first = %B256::from(e.first.body.block.0),
                        second = %B256::from(e.second.body.block.0),
                        "EQUIVOCATION: a validator signed two blocks in one view"
                    );
                    self.h.metrics.equivocations.inc();
                }
                Action::SetTimer { height, view, after, seq } => {
                    if let Some(t) = self.timer.take() {
                        t.abort();
                    }
                    let tx = self.inputs_tx.clone();
                    self.timer = Some(tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(after)).await;
                        let _ = tx.send(Input::Timeout { height, view, seq });
                    }));
                }
                Action::BuildBlock { height, view } => self.spawn_builder(height, view),
                Action::ValidateBlock { height, view, block, payload } => {
                    let valid = self.validate(height, block, payload).await?;
                    queue.extend(self.state.handle(Event::BlockValidated { height, view, block, valid }));
                }
                Action::Decide { height, view, block, payload, commits } => {
                    if self.decide(height, view, block, payload, &commits).await? {
                        let next = self.next_membership(height);
                        queue.extend(self.state.handle(Event::Committed { height, next }));
                    }
                }
            }
            self.observe();
        }
        Ok(())
    }

    /// Publishes height and view, and starts the round clock and forgets the last height's blocks on a new height.
    fn observe(&mut self) {
        let height = self.state.height();
        if self.h.status.consensus.observe(height, self.state.view()) {
            self.height_started = Instant::now();
            self.executed.clear();
            if let Some(f) = self.fetcher.take() {
                f.abort();
            }
            let decided: Vec<_> = self.saved_bodies.extract_if(.., |(h, _)| *h < height).collect();
            if !decided.is_empty()
                && let Err(e) = self.safety.forget_bodies(&decided)
            {
                tracing::warn!(error = %e, "cannot delete stored proposal bodies");
            }
        }
    }

    /// Stores a block's bytes once (made durable by the record persisted before any vote on it).
    fn save_body(&mut self, height: Height, block: BlockId, payload: &[u8]) -> Result<(), StorageError> {
        let safety = &self.safety;
        tokio::task::block_in_place(|| safety.save_body(height, &block.0, payload))?;
        self.saved_bodies.push((height, block.0));
        Ok(())
    }

    /// Finds the bytes of a prepared block this leader must re-propose: its own body store, then each validator in
    /// turn, bound to the block id before they are used.
    fn spawn_fetcher(&mut self, height: Height, view: View, block: BlockId) {
        if let Some(f) = self.fetcher.take() {
            f.abort();
        }
        let safety = self.safety.clone();
        let net = self.h.net.clone();
        let tx = self.inputs_tx.clone();
        let max_block_bytes = self.h.importer.chain().genesis().params.max_block_bytes;
        let peers = self.other_validators();
        self.fetcher = Some(tokio::spawn(async move {
            let local = tokio::task::spawn_blocking(move || safety.body(height, &block.0)).await;
            if let Ok(Ok(Some(payload))) = local {
                let _ = tx.send(Input::Fetched { height, view, block, payload });
                return;
            }
            for round in 0..3u64 {
                for peer in &peers {
                    let request = SyncRequest::Body { height, block: block.0 };
                    let reply = tokio::time::timeout(Duration::from_secs(5), net.sync_request(*peer, request)).await;
                    // Checked here too (the state machine checks again) so a peer's junk moves on to the next peer.
                    if let Ok(Ok(SyncResponse::Body(Some(payload)))) = reply
                        && payload.0.len() <= max_block_bytes
                        && accord_sdk::block::block_id_of(&payload.0).is_some_and(|id| id.0 == block.0)
                    {
                        let _ = tx.send(Input::Fetched { height, view, block, payload: payload.0 });
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(200 * (round + 1))).await;
            }
            tracing::warn!(height, view, block = %B256::from(block.0), "no member holds the prepared block's bytes");
        }));
    }

    fn spawn_builder(&mut self, height: Height, view: View) {
        if let Some(b) = self.builder.take() {
            b.abort();
        }
        let importer = self.h.importer.clone();
        let tx = self.inputs_tx.clone();
        let proposer = self.key.address();
        let pacing = self.pacing;
        // In a later view the others are already waiting on a doubled timeout: propose as soon as there is work.
        let earliest = if view == 0 { self.last_commit + pacing.block_interval } else { Instant::now() };
        self.builder = Some(tokio::spawn(async move {
            let earliest = tokio::time::Instant::from_std(earliest);
            let mut next_heartbeat = tokio::time::Instant::now();
            loop {
                let now = tokio::time::Instant::now();
                let has_work = importer.pool().has_runnable();
                if has_work && now >= earliest {
                    break;
                }
                if !has_work && now >= next_heartbeat {
                    // Nothing to propose: prove this leader is alive instead of storing an empty block.
                    let _ = tx.send(Input::Idle { height, view });
                    next_heartbeat = now + pacing.heartbeat_interval;
                }
                let wake = if has_work { earliest } else { next_heartbeat };
                let wait = wake.saturating_duration_since(now).max(Duration::from_millis(1));
                importer.pool().wait_for_arrival(wait).await;
            }
            let built = loop {
                let builder = importer.clone();
                let built =
                    tokio::task::spawn_blocking(move || builder.build(proposer, now_secs(), pacing.max_block_txs))
                        .await;
                // Everything runnable turned out not to run (the build dropped it from the pool): in view 0 go
                // back to heartbeating rather than store an empty block.
                if view == 0 && matches!(&built, Ok(Ok(e)) if e.block.transactions.is_empty()) {
                    let _ = tx.send(Input::Idle { height, view });
                    importer.pool().wait_for_arrival(pacing.heartbeat_interval).await;
                    continue;
                }
                break built;
            };
            let block = match built {
                Ok(Ok(executed)) if executed.block.header.number == height => {
                    let payload = BlockImporter::encode(&executed);
                    Some(Box::new((BlockId(executed.block.header.hash().0), payload, executed)))
                }
                Ok(Ok(_)) => None, // the head moved on (block sync): this height is over
                Ok(Err(e)) => {
                    tracing::error!(height, error = %e, "cannot build a block");
                    None
                }
                Err(e) => {
                    tracing::error!(height, error = %e, "block builder failed");
                    None
                }
            };
            let _ = tx.send(Input::Built { height, view, block });
        }));
    }

    /// Imports a proposal to the header it claims and stores its bytes once, durably; true when this validator may
    /// vote for it.
    async fn validate(&mut self, height: Height, block: BlockId, payload: Vec<u8>) -> Result<bool, DriverError> {
        let importer = self.h.importer.clone();
        let checked = tokio::task::spawn_blocking(move || {
            let result = importer.import_proposal(&payload, height, B256::from(block.0));
            (result, payload)
        })
        .await;
        match checked {
            Ok((Ok(executed), payload)) => {
                self.save_body(height, block, &payload)?;
                self.executed.insert(block, executed);
                Ok(true)
            }
            Ok((Err(reason), _)) => {
                tracing::warn!(height, block = %B256::from(block.0), %reason, "refusing a proposal");
                Ok(false)
            }
            Err(e) => {
                tracing::error!(height, error = %e, "block validation failed");
                Ok(false)
            }
        }
    }

    /// The chain already holds `height` (block sync got there first): it must be the block this validator decided.
    /// A different one means a quorum certified two blocks at one height, which only more than f faulty validators
    /// can cause: say so as loudly as possible, and keep the certified block already committed.
    fn check_same_block(&self, height: Height, block: BlockId) {
        match self.h.importer.committed_hash(height) {
            Ok(Some(h)) if h.0 != block.0 => tracing::error!(
                height,
                committed = %h,
                decided = %B256::from(block.0),
                "SAFETY VIOLATION: consensus decided a different block than the one committed at this height"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(height, error = %e, "cannot read the committed header"),
        }
    }

    /// Commits a decided block; true once the chain holds `height` (by this commit or by block sync).
    async fn decide(
        &mut self,
        height: Height,
        view: View,
        block: BlockId,
        payload: Option<Vec<u8>>,
        commits: &[Signed<Vote>],
    ) -> Result<bool, DriverError> {
        let chain = self.h.importer.chain().clone();
        if chain.head().number >= height {
            self.check_same_block(height, block);
            return Ok(true);
        }
        let certificate = CommitCertificate {
            height,
            view,
            block_hash: B256::from(block.0),
            signatures: commits.iter().map(|c| Bytes::from(c.signature.clone())).collect(),
        };
        let executed = match self.executed.remove(&block) {
            Some(e) => Some(e),
            None => match payload {
                Some(p) => {
                    if self.validate(height, block, p).await? {
                        self.executed.remove(&block)
                    } else {
                        None
                    }
                }
                None => None,
            },
        };
        let Some(executed) = executed else {
            tracing::info!(height, "decided a block this node does not hold; fetching it by block sync");
            self.h.sync_trigger.notify_one();
            return Ok(false);
        };
        let importer = self.h.importer.clone();
        let committed = tokio::task::spawn_blocking(move || importer.commit(executed, certificate, "consensus")).await;
        Ok(match committed {
            Ok(Ok(_)) => {
                self.h.metrics.consensus_round_seconds.observe(self.height_started.elapsed().as_secs_f64());
                self.last_commit = Instant::now();
                true
            }
            Ok(Err(_)) | Err(_) if chain.head().number >= height => {
                self.check_same_block(height, block);
                true
            }
            Ok(Err(e)) => {
                tracing::error!(height, error = %e, "cannot commit a decided block; fetching it by block sync");
                self.h.sync_trigger.notify_one();
                false
            }
            Err(e) => {
                tracing::error!(height, error = %e, "commit task failed");
                self.h.sync_trigger.notify_one();
                false
            }
        })
    }
}
