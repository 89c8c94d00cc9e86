//! Routes what the network reports: consensus messages from validators to the PBFT driver's inbox (anyone else's
//! are dropped, counted and scored), gossiped transactions to the pool, sync requests to the store, and peer
//! changes to the peer set and block sync. Also batches the transactions clients submit here into gossip for the
//! other members, capped by bytes to match what the receivers accept.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc};

use crate::chain::Chain;
use crate::metrics::Metrics;
use crate::network::protocol::MAX_TX_BATCH_BYTES;
use crate::network::{NetworkCommand, NetworkEvent, NetworkSender, PeerScores};
use crate::pbft::inbox::ConsensusInbox;
use crate::status::PeerSet;
use crate::txpool::TxPool;

/// Where network events go.
#[derive(Debug)]
pub struct Dispatch {
    /// Serves sync requests.
    pub chain: Arc<Chain>,
    /// Receives gossiped transactions.
    pub pool: Arc<TxPool>,
    /// Counters.
    pub metrics: Metrics,
    /// Commands back to the network (sync answers).
    pub net: NetworkSender,
    /// The node's status, of which dispatch writes the peer set.
    pub status: Arc<crate::status::NodeStatus>,
    /// Wakes block sync (a member connected: it may be ahead).
    pub sync_trigger: Arc<Notify>,
    /// The PBFT driver's inbox; `None` on chains without PBFT (a single validator).
    pub consensus: Option<Arc<ConsensusInbox>>,
    /// The node lists of the next block: only its validators' consensus messages are accepted.
    pub members: Arc<crate::membership::MembershipView>,
    /// Who each peer is, by node address.
    pub book: Arc<crate::network::AddressBook>,
    /// Where protocol violations are scored.
    pub scores: Arc<PeerScores>,
    /// Bounds the gossip batches being verified at once (each costs a signature recovery per transaction).
    pub gossip_workers: Arc<tokio::sync::Semaphore>,
    /// Bounds the sync requests being served at once (each reads and encodes up to 16 MiB).
    pub sync_workers: Arc<tokio::sync::Semaphore>,
}

/// Gossip batches verified at once; more are dropped (their senders' clients re-send to a node that leads).
pub const GOSSIP_WORKERS: usize = 2;
/// Sync requests served at once; more are answered "busy".
pub const SYNC_WORKERS: usize = 4;

impl Dispatch {
    /// Handles events until the network stops.
    pub async fn run(self, mut events: mpsc::Receiver<NetworkEvent>) {
        while let Some(ev) = events.recv().await {
            match ev {
                NetworkEvent::Listening(addr) => tracing::info!(%addr, "p2p listening"),
                NetworkEvent::PeerConnected(p) => {
                    let n = self.peer_set().connected(p);
                    tracing::info!(peer = %p, peers = n, "member connected");
                    self.sync_trigger.notify_one();
                }
                NetworkEvent::PeerDisconnected(p) => {
                    let n = self.peer_set().disconnected(&p);
                    if let Some(inbox) = &self.consensus {
                        inbox.forget(&p);
                    }
                    tracing::info!(peer = %p, peers = n, "member disconnected");
                }
                NetworkEvent::PeerRefused { .. } => self.metrics.peers_refused.inc(),
                NetworkEvent::Consensus { from, bytes } => {
                    self.metrics.consensus_received.inc();
                    if !self.book.node(&from).is_some_and(|a| self.members.is_validator(&a)) {
                        // An observer (or a removed validator) has no say in consensus. Not scored: around a change
                        // of the set, an honest validator's messages may arrive before this node's view moves.
                        self.metrics.consensus_dropped.with_label_values(&["not_validator"]).inc();
                        continue;
                    }
                    let Some(inbox) = &self.consensus else { continue };
                    // Over its budget a member's messages are dropped, which bounds what a flood costs; it is not
                    // scored: validly signed messages are no protocol violation, and banning a validator for its rate
                    // would cost the chain its votes. Bans are for bytes that prove a fault.
                    if let Err(refused) = inbox.push(from, bytes, Instant::now()) {
                        self.metrics.consensus_dropped.with_label_values(&[refused.label()]).inc();
                    }
                }
                NetworkEvent::Transactions { from, txs } => {
                    let Ok(permit) = self.gossip_workers.clone().try_acquire_owned() else {
                        tracing::debug!(peer = %from, "gossip verifiers busy; dropping a transaction batch");
                        continue;
                    };
                    let pool = self.pool.clone();
                    tokio::task::spawn_blocking(move || {
                        let _permit = permit;
                        let accepted = pool.submit_gossiped_batch(&txs);
                        tracing::trace!(peer = %from, received = txs.len(), accepted, "gossiped transactions");
                    });
                }
                NetworkEvent::SyncRequest { from, request, channel } => {
                    let net = self.net.clone();
                    let Ok(permit) = self.sync_workers.clone().try_acquire_owned() else {
                        let response = crate::network::SyncResponse::Error("busy; try again".into());
                        net.send(NetworkCommand::SyncRespond { channel, response }).await;
                        continue;
                    };
                    let chain = self.chain.clone();
                    tokio::spawn(async move {
                        let _permit = permit;
                        let response =
                            match tokio::task::spawn_blocking(move || crate::sync::answer(&chain, &request)).await {
                                Ok(r) => r,
                                Err(e) => crate::network::SyncResponse::Error(format!("internal error: {e}")),
                            };
                        tracing::trace!(peer = %from, "answered sync request");
                        net.send(NetworkCommand::SyncRespond { channel, response }).await;
                    });
                }
            }
        }
    }
}

impl Dispatch {
    fn peer_set(&self) -> &PeerSet {
        &self.status.peers
    }
}

/// Most transactions per gossip message.
const GOSSIP_BATCH: usize = 1_000;
/// Most bytes of transactions per gossip message: the receivers' limit less room for the CBOR framing (at most 9
/// bytes per transaction and the batch's own header), so a batch is never refused whole for its size.
pub const GOSSIP_BATCH_BYTES: usize = MAX_TX_BATCH_BYTES as usize - 16 * 1024;
/// Framing a transaction adds to a gossip batch, at most.
const GOSSIP_ENTRY_OVERHEAD: usize = 9;
/// How long the first transaction of a batch waits for company.
const GOSSIP_DELAY: Duration = Duration::from_millis(10);

/// Sends client transactions to every member, in small batches of at most [`GOSSIP_BATCH`] transactions and
/// [`GOSSIP_BATCH_BYTES`] bytes.
pub async fn gossip(mut rx: mpsc::Receiver<Vec<u8>>, net: NetworkSender) {
    let mut carry: Option<Vec<u8>> = None;
    loop {
        let first = match carry.take() {
            Some(tx) => tx,
            None => match rx.recv().await {
                Some(tx) => tx,
                None => return,
            },
        };
        let mut bytes = first.len() + GOSSIP_ENTRY_OVERHEAD;
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + GOSSIP_DELAY;
        while batch.len() < GOSSIP_BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(tx)) => {
                    let size = tx.len() + GOSSIP_ENTRY_OVERHEAD;
                    if bytes + size > GOSSIP_BATCH_BYTES {
                        // Starts the next batch instead of making this one too large for the receivers.
                        carry = Some(tx);
                        break;
                    }
                    bytes += size;
                    batch.push(tx);
                }
                Ok(None) | Err(_) => break,
            }
        }
        net.send(NetworkCommand::GossipTransactions(batch)).await;
    }
}
