//! Routes what the network reports: consensus messages to the PBFT driver, gossiped transactions to the pool,
//! sync requests to the store, and peer changes to metrics and block sync. Also batches the transactions clients
//! submit here into gossip for the other members.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use accord_consensus::Message;
use libp2p::PeerId;
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc};

use crate::network::{NetworkCommand, NetworkEvent, NetworkSender};
use crate::service::NodeContext;

/// Where network events go.
#[derive(Debug)]
pub struct Dispatch {
    /// The node.
    pub ctx: Arc<NodeContext>,
    /// Commands back to the network (sync answers).
    pub net: NetworkSender,
    /// Connected members, shared with block sync.
    pub peers: Arc<Mutex<BTreeSet<PeerId>>>,
    /// Wakes block sync (a member connected: it may be ahead).
    pub sync_trigger: Arc<Notify>,
    /// The PBFT driver's inbox; `None` on observers and single-validator chains.
    pub consensus: Option<mpsc::Sender<Message>>,
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
                    let n = {
                        let mut peers = self.peers.lock();
                        peers.insert(p);
                        peers.len()
                    };
                    self.ctx.metrics.peers.set(n as i64);
                    tracing::info!(peer = %p, peers = n, "member connected");
                    self.sync_trigger.notify_one();
                }
                NetworkEvent::PeerDisconnected(p) => {
                    let n = {
                        let mut peers = self.peers.lock();
                        peers.remove(&p);
                        peers.len()
                    };
                    self.ctx.metrics.peers.set(n as i64);
                    tracing::info!(peer = %p, peers = n, "member disconnected");
                }
                NetworkEvent::PeerRefused { .. } => self.ctx.metrics.peers_refused.inc(),
                NetworkEvent::Consensus { from, bytes } => {
                    let Some(inbox) = &self.consensus else { continue };
                    match Message::decode(&bytes) {
                        Ok(m) => {
                            if inbox.try_send(m).is_err() {
                                tracing::warn!(peer = %from, "consensus inbox full; dropping a message");
                            }
                        }
                        Err(e) => tracing::warn!(peer = %from, error = %e, "undecodable consensus message"),
                    }
                }
                NetworkEvent::Transactions { from, txs } => {
                    let Ok(permit) = self.gossip_workers.clone().try_acquire_owned() else {
                        tracing::debug!(peer = %from, "gossip verifiers busy; dropping a transaction batch");
                        continue;
                    };
                    let ctx = self.ctx.clone();
                    tokio::task::spawn_blocking(move || {
                        let _permit = permit;
                        let mut accepted = 0usize;
                        for raw in &txs {
                            if ctx.submit_gossiped(raw).is_ok() {
                                accepted += 1;
                            }
                        }
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
                    let ctx = self.ctx.clone();
                    tokio::spawn(async move {
                        let _permit = permit;
                        let response = match tokio::task::spawn_blocking(move || {
                            crate::sync::answer(&ctx.chain, &request)
                        })
                        .await
                        {
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

/// Most transactions per gossip message.
const GOSSIP_BATCH: usize = 1_000;
/// How long the first transaction of a batch waits for company.
const GOSSIP_DELAY: Duration = Duration::from_millis(10);

/// Sends client transactions to every member, in small batches.
pub async fn gossip(mut rx: mpsc::Receiver<Vec<u8>>, net: NetworkSender) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + GOSSIP_DELAY;
        while batch.len() < GOSSIP_BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(tx)) => batch.push(tx),
                Ok(None) | Err(_) => break,
            }
        }
        net.send(NetworkCommand::GossipTransactions(batch)).await;
    }
}
