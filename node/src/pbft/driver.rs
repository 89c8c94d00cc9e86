//! `ConsensusDriver`: runs one validator's `PbftState` against the real world.
//!
//! It feeds the state machine consensus messages from the network, timer expiries and the results of building and
//! validating blocks, and carries out the actions it returns strictly in order: a `Persist` is fsynced before the
//! next action runs, so no vote leaves the node before it is on disk. Blocks are built from the pool (waiting for
//! transactions up to the empty-block interval), validated by executing them to the exact header they claim
//! (state root included) before this validator prepares, and committed with the 2f+1 commit votes as their
//! certificate. When the chain moves on without it (block sync committed a height), the driver tells the state
//! machine, which starts the next height.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_consensus::{Action, BlockId, Event, Height, Message, NodeIndex, PbftState, Signed, View, Vote};
use accord_sdk::block::{CommitCertificate, decode_block, encode_block};
use accord_sdk::keys::KeyPair;
use accord_sdk::tx::SignedTransaction;
use accord_sdk::{B256, Bytes};
use libp2p::PeerId;
use tokio::sync::{Notify, broadcast, mpsc};

use crate::chain::ExecutedBlock;
use crate::network::{NetworkCommand, NetworkSender};
use crate::pbft::{NodeKeyCrypto, SafetyStore};
use crate::service::{NodeContext, now_secs};
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
}

/// Pacing of block production.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// Least time between a commit and the next proposal.
    pub block_interval: Duration,
    /// An idle leader proposes an empty block after this long.
    pub empty_block_interval: Duration,
    /// Most transactions per block.
    pub max_block_txs: usize,
    /// Most seconds a proposal's timestamp may be ahead of our clock.
    pub max_future_secs: u64,
}

/// Refuses a block body with more transactions than its gas limit allows, before paying for any signature
/// recovery: a faulty leader (or sync peer) cannot make validators recover millions of senders.
pub fn check_body_bounds(ctx: &NodeContext, transactions: usize) -> Result<(), String> {
    let most = ctx.chain.genesis().params.block_gas_limit / accord_sdk::tx::TX_BASE_GAS;
    if transactions as u64 > most {
        return Err(format!("{transactions} transactions exceed the {most} a block's gas limit allows"));
    }
    Ok(())
}

enum Input {
    Timeout { height: Height, view: View, seq: u64 },
    Built { height: Height, view: View, block: Option<Box<(BlockId, Vec<u8>, ExecutedBlock)>> },
}

/// One validator's consensus loop.
pub struct ConsensusDriver {
    ctx: Arc<NodeContext>,
    state: PbftState<NodeKeyCrypto>,
    safety: SafetyStore,
    key: KeyPair,
    me: NodeIndex,
    validators: Vec<PeerId>,
    net: NetworkSender,
    pacing: Pacing,
    inputs_tx: mpsc::UnboundedSender<Input>,
    inputs_rx: mpsc::UnboundedReceiver<Input>,
    timer: Option<tokio::task::JoinHandle<()>>,
    builder: Option<tokio::task::JoinHandle<()>>,
    executed: HashMap<BlockId, ExecutedBlock>,
    height_started: Instant,
    last_commit: Instant,
    sync_trigger: Arc<Notify>,
    pending: Vec<Action>,
}

impl std::fmt::Debug for ConsensusDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsensusDriver")
            .field("me", &self.me)
            .field("height", &self.state.height())
            .field("view", &self.state.view())
            .finish_non_exhaustive()
    }
}

impl ConsensusDriver {
    /// A driver for validator `me` whose peers are `validators` (by index), resuming from the persisted record.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ctx: Arc<NodeContext>,
        key: KeyPair,
        me: NodeIndex,
        validators: Vec<PeerId>,
        net: NetworkSender,
        config: accord_consensus::PbftConfig,
        pacing: Pacing,
        sync_trigger: Arc<Notify>,
    ) -> Result<Self, DriverError> {
        let safety = SafetyStore::new(ctx.chain.store().clone());
        let next = ctx.chain.head().number + 1;
        // The record is only meaningful for the height it was written at; after a commit it is stale.
        let record = match safety.load()? {
            Some(r) if r.height == next => r,
            _ => accord_consensus::SafetyRecord { height: next, ..Default::default() },
        };
        let genesis = ctx.chain.genesis();
        let crypto = NodeKeyCrypto::new(key.clone(), ctx.chain.validators().clone(), genesis.crypto, genesis.chain_id);
        let (state, initial) = PbftState::new(me, validators.len(), crypto, config, record);
        let (inputs_tx, inputs_rx) = mpsc::unbounded_channel();
        Ok(Self {
            ctx,
            state,
            safety,
            key,
            me,
            validators,
            net,
            pacing,
            inputs_tx,
            inputs_rx,
            timer: None,
            builder: None,
            executed: HashMap::new(),
            height_started: Instant::now(),
            last_commit: Instant::now(),
            sync_trigger,
            pending: initial,
        })
    }

    /// Runs until the inbox closes or a fatal error.
    pub async fn run(mut self, mut inbox: mpsc::Receiver<Message>) -> Result<(), DriverError> {
        let mut heads = self.ctx.chain.subscribe_heads();
        let initial = std::mem::take(&mut self.pending);
        self.apply(initial).await?;
        self.catch_up_with_chain().await?;
        loop {
            tokio::select! {
                m = inbox.recv() => {
                    let Some(m) = m else { return Ok(()) };
                    let actions = self.state.handle(Event::Message(m));
                    self.apply(actions).await?;
                }
                Some(input) = self.inputs_rx.recv() => {
                    let actions = match input {
                        Input::Timeout { height, view, seq } => self.state.handle(Event::Timeout { height, view, seq }),
                        Input::Built { height, view, block: Some(built) } => {
                            let (block, payload, executed) = *built;
                            self.executed.insert(block, executed);
                            self.state.handle(Event::BlockBuilt { height, view, block, payload })
                        }
                        Input::Built { block: None, .. } => Vec::new(),
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
        let head = self.ctx.chain.head().number;
        if head >= self.state.height() {
            let actions = self.state.handle(Event::Committed { height: head });
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
                    let bytes = message.encode()?;
                    for (i, peer) in self.validators.iter().enumerate() {
                        if i != self.me {
                            self.net.send(NetworkCommand::Send { to: *peer, bytes: bytes.clone() }).await;
                        }
                    }
                }
                Action::Send { to, message } => {
                    if let Some(peer) = self.validators.get(to) {
                        self.net.send(NetworkCommand::Send { to: *peer, bytes: message.encode()? }).await;
                    }
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
                    let valid = self.validate(height, block, payload).await;
                    queue.extend(self.state.handle(Event::BlockValidated { height, view, block, valid }));
                }
                Action::Decide { height, view, block, payload, commits } => {
                    if self.decide(height, view, block, payload, &commits).await {
                        queue.extend(self.state.handle(Event::Committed { height }));
                    }
                }
            }
            self.observe();
        }
        Ok(())
    }

    /// Keeps the height/view metrics and the round clock in step with the state machine.
    fn observe(&mut self) {
        let m = &self.ctx.metrics;
        let (h, v) = (self.state.height() as i64, self.state.view() as i64);
        if h != m.consensus_height.get() {
            self.height_started = Instant::now();
            self.executed.clear();
        } else if v > m.consensus_view.get() {
            m.consensus_view_changes.inc_by((v - m.consensus_view.get()) as u64);
            tracing::info!(height = h, view = v, "view change");
        }
        m.consensus_height.set(h);
        m.consensus_view.set(v);
    }

    fn spawn_builder(&mut self, height: Height, view: View) {
        if let Some(b) = self.builder.take() {
            b.abort();
        }
        let ctx = self.ctx.clone();
        let tx = self.inputs_tx.clone();
        let proposer = self.key.address();
        let pacing = self.pacing;
        // In a later view the others are already waiting on a doubled timeout: propose at once.
        let earliest = if view == 0 { self.last_commit + pacing.block_interval } else { Instant::now() };
        self.builder = Some(tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let empty_at = if view == 0 { started + pacing.empty_block_interval } else { started };
            let earliest = tokio::time::Instant::from_std(earliest);
            loop {
                let now = tokio::time::Instant::now();
                let has_txs = !ctx.mempool.lock().is_empty();
                if now >= earliest && (has_txs || now >= empty_at) {
                    break;
                }
                let wake = if has_txs { earliest } else { empty_at.max(earliest) };
                let _ = tokio::time::timeout_at(wake, ctx.tx_arrived.notified()).await;
            }
            let ctx2 = ctx.clone();
            let built =
                tokio::task::spawn_blocking(move || ctx2.build_from_pool(proposer, now_secs(), pacing.max_block_txs))
                    .await;
            let block = match built {
                Ok(Ok(executed)) if executed.block.header.number == height => {
                    let header = &executed.block.header;
                    let payload =
                        encode_block(header, executed.block.transactions.iter().map(|t| t.encoded().as_ref()));
                    Some(Box::new((BlockId(header.hash().0), payload, executed)))
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

    /// Executes a proposal to the header it claims; true when this validator may vote for it.
    async fn validate(&mut self, height: Height, block: BlockId, payload: Vec<u8>) -> bool {
        let ctx = self.ctx.clone();
        let max_future = self.pacing.max_future_secs;
        let checked = tokio::task::spawn_blocking(move || -> Result<ExecutedBlock, String> {
            let (header, raw) = decode_block(&payload).map_err(|e| format!("undecodable block: {e}"))?;
            if header.hash().0 != block.0 || header.number != height {
                return Err("block bytes do not match the proposal".into());
            }
            check_body_bounds(&ctx, raw.len())?;
            let now = now_secs();
            if header.timestamp > now.saturating_add(max_future) {
                return Err(format!(
                    "timestamp {} is more than {max_future}s ahead of our clock {now}",
                    header.timestamp
                ));
            }
            let limits = ctx.chain.tx_limits();
            let txs = raw
                .iter()
                .map(|r| SignedTransaction::decode(r, &limits).map_err(|e| format!("transaction: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            ctx.chain.verify_block(&header, txs).map_err(|e| e.to_string())
        })
        .await;
        match checked {
            Ok(Ok(executed)) => {
                self.executed.insert(block, executed);
                true
            }
            Ok(Err(reason)) => {
                tracing::warn!(height, block = %B256::from(block.0), %reason, "refusing a proposal");
                false
            }
            Err(e) => {
                tracing::error!(height, error = %e, "block validation failed");
                false
            }
        }
    }

    /// The chain already holds `height` (block sync got there first): it must be the block this validator decided.
    /// A different one means a quorum certified two blocks at one height, which only more than f faulty validators
    /// can cause: say so as loudly as possible, and keep the certified block already committed.
    fn check_same_block(&self, height: Height, block: BlockId) {
        match self.ctx.chain.store().header(height) {
            Ok(Some(h)) if h.hash().0 != block.0 => tracing::error!(
                height,
                committed = %h.hash(),
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
    ) -> bool {
        if self.ctx.chain.head().number >= height {
            self.check_same_block(height, block);
            return true;
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
                    if self.validate(height, block, p).await {
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
            self.sync_trigger.notify_one();
            return false;
        };
        let ctx = self.ctx.clone();
        let committed = tokio::task::spawn_blocking(move || ctx.commit(executed, certificate, "consensus")).await;
        match committed {
            Ok(Ok(_)) => {
                self.ctx.metrics.consensus_round_seconds.observe(self.height_started.elapsed().as_secs_f64());
                self.last_commit = Instant::now();
                true
            }
            Ok(Err(_)) | Err(_) if self.ctx.chain.head().number >= height => {
                self.check_same_block(height, block);
                true
            }
            Ok(Err(e)) => {
                tracing::error!(height, error = %e, "cannot commit a decided block; fetching it by block sync");
                self.sync_trigger.notify_one();
                false
            }
            Err(e) => {
                tracing::error!(height, error = %e, "commit task failed");
                self.sync_trigger.notify_one();
                false
            }
        }
    }
}
