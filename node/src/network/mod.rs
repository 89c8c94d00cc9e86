//! Peer-to-peer networking over libp2p (TCP + noise + yamux) with consortium admission.
//!
//! A node's libp2p identity is its secp256k1 node key, so every member's peer id follows from the public key in the
//! genesis. Only peers on the consortium's node list (validators and observers) may connect: anyone else is refused
//! when the connection is established (after the noise handshake proves who they are), counted, and logged;
//! removing a peer from the list closes its connections. Members dial each other from the addresses in the genesis
//! and keep re-dialing lost ones, so a restarted node rejoins by itself.
//!
//! Three request/response protocols run over the connections ([`protocol`]): consensus messages, transaction
//! gossip and block sync. The task never blocks on its consumer: when the node falls behind, data events (messages,
//! gossip, sync requests) are dropped with a warning rather than stalling every other peer, while the last part of
//! the queue stays reserved for connection events, which are never dropped for data.

pub mod admission;
pub mod identity;
pub mod in_flight;
pub mod peer_score;
pub mod protocol;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, noise, tcp, yamux};
use tokio::sync::{mpsc, oneshot};

pub use admission::{AddressBook, MemberAdmission, node_address_of};
pub use identity::{libp2p_keypair, multiaddr_of, peer_id_of};
pub use in_flight::InFlight;
pub use peer_score::PeerScores;
pub use protocol::{
    CONSENSUS_PROTOCOL, Payload, SYNC_PROTOCOL, SyncBlock, SyncRequest, SyncResponse, TX_PROTOCOL, TxBatch,
};

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The node key or a genesis public key is not a valid secp256k1 key.
    #[error("invalid key: {0}")]
    Key(String),
    /// A genesis p2p address is not usable.
    #[error("invalid p2p address {address:?}: {detail}")]
    Address {
        /// The address as written.
        address: String,
        /// Why.
        detail: String,
    },
    /// The transport could not be built or could not listen.
    #[error("network: {0}")]
    Transport(String),
    /// A genesis member's key or address is unusable.
    #[error("genesis member {name}: {source}")]
    Member {
        /// The member's name.
        name: String,
        /// What is wrong.
        source: Box<NetworkError>,
    },
}

/// A consortium member the network admits, and where to dial it (`None`: it dials us).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Peer id (from the member's node key).
    pub peer: PeerId,
    /// Node address (from the same key): what the node list and admission name it by.
    pub node: accord_sdk::Address,
    /// Address to dial.
    pub address: Option<Multiaddr>,
}

impl Member {
    /// Every member the genesis names (validators first, in their order, then observers), as the network admits
    /// and dials them.
    pub fn all_of(genesis: &accord_sdk::genesis::Genesis) -> Result<Vec<Self>, NetworkError> {
        genesis
            .members()
            .map(|m| {
                let named = |e| NetworkError::Member { name: m.name.clone(), source: Box::new(e) };
                Ok(Self {
                    peer: peer_id_of(&m.public_key).map_err(named)?,
                    node: m.address,
                    address: multiaddr_of(&m.p2p_address).map_err(named)?,
                })
            })
            .collect()
    }
}

/// What the network reports to the node.
#[derive(Debug)]
pub enum NetworkEvent {
    /// A listen address is bound.
    Listening(Multiaddr),
    /// A member connected.
    PeerConnected(PeerId),
    /// A member's last connection closed.
    PeerDisconnected(PeerId),
    /// A connection from a peer outside the consortium was refused.
    PeerRefused {
        /// Where it came from.
        from: Multiaddr,
    },
    /// A consensus message from a member.
    Consensus {
        /// Sender.
        from: PeerId,
        /// Encoded message.
        bytes: Vec<u8>,
    },
    /// Transactions gossiped by a member.
    Transactions {
        /// Sender.
        from: PeerId,
        /// Raw signed transactions.
        txs: Vec<Vec<u8>>,
    },
    /// A member asks for sync data; answer with [`NetworkCommand::SyncRespond`].
    SyncRequest {
        /// Asker.
        from: PeerId,
        /// What it wants.
        request: SyncRequest,
        /// Where the answer goes.
        channel: ResponseChannel<SyncResponse>,
    },
}

/// The outcome of a sync request: the peer's answer, or why there is none.
pub type SyncReply = Result<SyncResponse, String>;

/// What the node asks of the network.
#[derive(Debug)]
pub enum NetworkCommand {
    /// Dial an address (members are dialed by the network itself; this is for tests and operators).
    Dial(Multiaddr),
    /// Send a consensus message to one member.
    Send {
        /// Recipient.
        to: PeerId,
        /// Encoded message.
        bytes: Vec<u8>,
    },
    /// Gossip raw transactions to every connected member.
    GossipTransactions(Vec<Vec<u8>>),
    /// Ask a member for sync data.
    SyncRequest {
        /// Member.
        to: PeerId,
        /// Request.
        request: SyncRequest,
        /// Receives the answer.
        reply: oneshot::Sender<SyncReply>,
    },
    /// Answer a member's sync request.
    SyncRespond {
        /// From [`NetworkEvent::SyncRequest`].
        channel: ResponseChannel<SyncResponse>,
        /// Answer.
        response: SyncResponse,
    },
    /// Admit a node by address (governance added it).
    Allow(accord_sdk::Address),
    /// Refuse a node by address and close its connections (governance removed it).
    Disallow(accord_sdk::Address),
    /// Disconnect a member that keeps breaking the protocol and refuse it for `duration`, then admit it again.
    Ban {
        /// The member.
        peer: PeerId,
        /// How long.
        duration: Duration,
    },
}

type BytesCodec<Req, Resp> = request_response::cbor::codec::Codec<Req, Resp>;

#[derive(NetworkBehaviour)]
struct Behaviour {
    admission: MemberAdmission,
    consensus: request_response::Behaviour<BytesCodec<Payload, ()>>,
    txs: request_response::Behaviour<BytesCodec<TxBatch, ()>>,
    sync: request_response::Behaviour<BytesCodec<SyncRequest, SyncResponse>>,
}

/// Most unanswered consensus messages held for one peer (and at most two maximal messages' bytes).
const MAX_CONSENSUS_IN_FLIGHT: usize = 256;
/// Most unanswered gossip batches held for one peer.
const MAX_GOSSIP_IN_FLIGHT: usize = 8;

/// Per-peer budgets of unanswered outgoing requests.
struct Budgets {
    consensus: InFlight<OutboundRequestId>,
    txs: InFlight<OutboundRequestId>,
}

/// How often lost members are dialed again.
const REDIAL_INTERVAL: Duration = Duration::from_secs(2);

/// Handle to a running network task.
#[derive(Debug)]
pub struct Network {
    /// This node's peer id.
    pub local_peer_id: PeerId,
    /// Node address → peer id of members seen.
    pub book: std::sync::Arc<AddressBook>,
    commands: mpsc::Sender<NetworkCommand>,
    /// Events from the network.
    pub events: mpsc::Receiver<NetworkEvent>,
    task: tokio::task::JoinHandle<()>,
}

/// A cloneable handle for sending commands to the network task.
#[derive(Debug, Clone)]
pub struct NetworkSender(mpsc::Sender<NetworkCommand>);

impl NetworkSender {
    /// Queues a command, waiting for room.
    pub async fn send(&self, cmd: NetworkCommand) {
        let _ = self.0.send(cmd).await;
    }

    /// Queues a command unless the queue is full (for fire-and-forget messages from synchronous code).
    pub fn try_send(&self, cmd: NetworkCommand) -> bool {
        self.0.try_send(cmd).is_ok()
    }

    /// Asks `to` for sync data; `Err` when the peer is unreachable, times out or the network stopped.
    pub async fn sync_request(&self, to: PeerId, request: SyncRequest) -> SyncReply {
        let (reply, rx) = oneshot::channel();
        self.send(NetworkCommand::SyncRequest { to, request, reply }).await;
        rx.await.map_err(|_| "network stopped".to_string())?
    }
}

/// Queue slots kept free for connection events: data events are dropped before these fill.
const CONTROL_RESERVE: usize = 256;

fn request_response_config(timeout: Duration) -> request_response::Config {
    // Few concurrent streams per connection: each may carry a large message, and members are few.
    request_response::Config::default().with_request_timeout(timeout).with_max_concurrent_streams(16)
}

impl Network {
    /// Starts listening on `listen` with identity `node_secret` (32 bytes), admitting only `members` and dialing
    /// those with an address. Consensus messages above `consensus_limit` bytes (the chain's
    /// `accord_consensus::message_limit`) are cut off by the codec.
    pub fn start(
        node_secret: [u8; 32],
        listen: Multiaddr,
        members: &[Member],
        consensus_limit: usize,
    ) -> Result<Self, NetworkError> {
        let keypair = libp2p_keypair(node_secret)?;
        let local_peer_id = keypair.public().to_peer_id();
        let book = std::sync::Arc::new(AddressBook::default());
        for m in members {
            book.learn(m.peer);
        }
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
            .map_err(|e| NetworkError::Transport(e.to_string()))?
            // Members may be named by host (`/dns/node1/tcp/30300`): resolved at each dial, by the system's
            // resolver configuration.
            .with_dns()
            .map_err(|e| NetworkError::Transport(format!("reading the system's DNS configuration: {e}")))?
            .with_behaviour(|_| {
                let admission = MemberAdmission::new(members.iter().map(|m| m.node), book.clone());
                // The codecs' default limits are far below a full block: set each protocol's own bound.
                let consensus = request_response::Behaviour::with_codec(
                    BytesCodec::<Payload, ()>::default()
                        .set_request_size_maximum(consensus_limit as u64 + 64)
                        .set_response_size_maximum(64),
                    [(CONSENSUS_PROTOCOL, ProtocolSupport::Full)],
                    request_response_config(Duration::from_secs(10)),
                );
                let txs = request_response::Behaviour::with_codec(
                    BytesCodec::<TxBatch, ()>::default()
                        .set_request_size_maximum(protocol::MAX_TX_BATCH_BYTES)
                        .set_response_size_maximum(64),
                    [(TX_PROTOCOL, ProtocolSupport::Full)],
                    request_response_config(Duration::from_secs(10)),
                );
                let sync = request_response::Behaviour::with_codec(
                    BytesCodec::<SyncRequest, SyncResponse>::default()
                        .set_request_size_maximum(1024)
                        .set_response_size_maximum(protocol::MAX_SYNC_RESPONSE_BYTES),
                    [(SYNC_PROTOCOL, ProtocolSupport::Full)],
                    request_response_config(Duration::from_secs(30)),
                );
                Behaviour { admission, consensus, txs, sync }
            })
            .map_err(|e| NetworkError::Transport(e.to_string()))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
            .build();
        swarm.listen_on(listen).map_err(|e| NetworkError::Transport(e.to_string()))?;
        let dial_list: Vec<(PeerId, Multiaddr)> = members
            .iter()
            .filter(|m| m.peer != local_peer_id)
            .filter_map(|m| m.address.clone().map(|a| (m.peer, a)))
            .collect();
        let (cmd_tx, cmd_rx) = mpsc::channel::<NetworkCommand>(4096);
        let (ev_tx, ev_rx) = mpsc::channel::<NetworkEvent>(8192);
        let budgets = Budgets {
            consensus: InFlight::new("consensus", MAX_CONSENSUS_IN_FLIGHT, 2 * consensus_limit + (1 << 20)),
            txs: InFlight::new(
                "gossip",
                MAX_GOSSIP_IN_FLIGHT,
                MAX_GOSSIP_IN_FLIGHT * protocol::MAX_TX_BATCH_BYTES as usize,
            ),
        };
        let task = tokio::spawn(run(swarm, dial_list, cmd_rx, ev_tx, budgets));
        Ok(Self { local_peer_id, book, commands: cmd_tx, events: ev_rx, task })
    }

    /// Queues a command for the network task.
    pub async fn command(&self, cmd: NetworkCommand) {
        let _ = self.commands.send(cmd).await;
    }

    /// Takes the event stream (leaving a closed one behind), so a separate task can consume it.
    pub fn take_events(&mut self) -> mpsc::Receiver<NetworkEvent> {
        let (_, closed) = mpsc::channel(1);
        std::mem::replace(&mut self.events, closed)
    }

    /// A handle other tasks can send commands with.
    pub fn sender(&self) -> NetworkSender {
        NetworkSender(self.commands.clone())
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The swarm's event loop.
async fn run(
    mut swarm: libp2p::Swarm<Behaviour>,
    dial_list: Vec<(PeerId, Multiaddr)>,
    mut cmd_rx: mpsc::Receiver<NetworkCommand>,
    ev_tx: mpsc::Sender<NetworkEvent>,
    mut budgets: Budgets,
) {
    let mut connected: HashSet<PeerId> = HashSet::new();
    let mut banned: HashMap<PeerId, Instant> = HashMap::new();
    let mut pending_sync: HashMap<OutboundRequestId, oneshot::Sender<SyncReply>> = HashMap::new();
    let mut redial = tokio::time::interval(REDIAL_INTERVAL);
    redial.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = redial.tick() => {
                let now = Instant::now();
                banned.retain(|peer, until| {
                    let over = *until <= now;
                    if over {
                        tracing::info!(%peer, "ban over; admitting the member again");
                        swarm.behaviour_mut().admission.unban(peer);
                    }
                    !over
                });
                for (peer, addr) in &dial_list {
                    if !connected.contains(peer) && !banned.contains_key(peer) {
                        let opts = DialOpts::peer_id(*peer)
                            .addresses(vec![addr.clone()])
                            .condition(PeerCondition::DisconnectedAndNotDialing)
                            .build();
                        if let Err(e) = swarm.dial(opts) {
                            tracing::trace!(%peer, error = %e, "dial not started");
                        }
                    }
                }
            }
            cmd = cmd_rx.recv() => {
                let Some(cmd) = cmd else { return };
                handle_command(&mut swarm, &connected, &mut banned, &mut pending_sync, &mut budgets, cmd);
            }
            event = swarm.select_next_some() => {
                let out = match event {
                    SwarmEvent::NewListenAddr { address, .. } => Some(NetworkEvent::Listening(address)),
                    SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                        connected.insert(peer_id).then_some(NetworkEvent::PeerConnected(peer_id))
                    }
                    SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                        connected.remove(&peer_id);
                        Some(NetworkEvent::PeerDisconnected(peer_id))
                    }
                    SwarmEvent::IncomingConnectionError { send_back_addr, error, .. } => {
                        if matches!(error, libp2p::swarm::ListenError::Denied { .. }) {
                            tracing::warn!(from = %send_back_addr, "refused a peer that is not a consortium member");
                            Some(NetworkEvent::PeerRefused { from: send_back_addr })
                        } else {
                            None
                        }
                    }
                    SwarmEvent::Behaviour(ev) => behaviour_event(&mut swarm, &mut pending_sync, &mut budgets, ev),
                    _ => None,
                };
                if let Some(ev) = out {
                    let is_data =
                        matches!(ev, NetworkEvent::Consensus { .. } | NetworkEvent::Transactions { .. } | NetworkEvent::SyncRequest { .. });
                    if is_data && ev_tx.capacity() <= CONTROL_RESERVE {
                        tracing::warn!("node is behind on network events; dropping a data event");
                        continue;
                    }
                    match ev_tx.try_send(ev) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            tracing::warn!("network event queue full; dropping an event");
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => return,
                    }
                }
            }
        }
    }
}

fn handle_command(
    swarm: &mut libp2p::Swarm<Behaviour>,
    connected: &HashSet<PeerId>,
    banned: &mut HashMap<PeerId, Instant>,
    pending_sync: &mut HashMap<OutboundRequestId, oneshot::Sender<SyncReply>>,
    budgets: &mut Budgets,
    cmd: NetworkCommand,
) {
    match cmd {
        NetworkCommand::Dial(addr) => {
            if let Err(e) = swarm.dial(addr.clone()) {
                tracing::debug!(%addr, error = %e, "dial failed");
            }
        }
        NetworkCommand::Send { to, bytes } => {
            let size = bytes.len();
            if budgets.consensus.admit(&to, size) {
                let id = swarm.behaviour_mut().consensus.send_request(&to, Payload(bytes));
                budgets.consensus.sent(id, to, size);
            }
        }
        NetworkCommand::GossipTransactions(txs) => {
            let size: usize = txs.iter().map(Vec::len).sum();
            let batch = TxBatch(txs.into_iter().map(Payload).collect());
            for peer in connected {
                if budgets.txs.admit(peer, size) {
                    let id = swarm.behaviour_mut().txs.send_request(peer, batch.clone());
                    budgets.txs.sent(id, *peer, size);
                }
            }
        }
        NetworkCommand::SyncRequest { to, request, reply } => {
            let id = swarm.behaviour_mut().sync.send_request(&to, request);
            pending_sync.insert(id, reply);
        }
        NetworkCommand::SyncRespond { channel, response } => {
            // The asker may have gone; nothing to do then.
            let _ = swarm.behaviour_mut().sync.send_response(channel, response);
        }
        NetworkCommand::Allow(node) => {
            swarm.behaviour_mut().admission.allow(node);
        }
        NetworkCommand::Disallow(node) => {
            swarm.behaviour_mut().admission.disallow(node);
        }
        NetworkCommand::Ban { peer, duration } => {
            // Re-admitted by the redial tick once the ban is over.
            swarm.behaviour_mut().admission.ban(peer);
            banned.insert(peer, Instant::now() + duration);
        }
    }
}

fn behaviour_event(
    swarm: &mut libp2p::Swarm<Behaviour>,
    pending_sync: &mut HashMap<OutboundRequestId, oneshot::Sender<SyncReply>>,
    budgets: &mut Budgets,
    ev: BehaviourEvent,
) -> Option<NetworkEvent> {
    use request_response::{Event, Message};
    match ev {
        BehaviourEvent::Consensus(Event::Message {
            peer, message: Message::Request { request, channel, .. }, ..
        }) => {
            let _ = swarm.behaviour_mut().consensus.send_response(channel, ());
            Some(NetworkEvent::Consensus { from: peer, bytes: request.0 })
        }
        BehaviourEvent::Txs(Event::Message { peer, message: Message::Request { request, channel, .. }, .. }) => {
            let _ = swarm.behaviour_mut().txs.send_response(channel, ());
            Some(NetworkEvent::Transactions { from: peer, txs: request.0.into_iter().map(|p| p.0).collect() })
        }
        BehaviourEvent::Sync(Event::Message { peer, message: Message::Request { request, channel, .. }, .. }) => {
            Some(NetworkEvent::SyncRequest { from: peer, request, channel })
        }
        BehaviourEvent::Sync(Event::Message { message: Message::Response { request_id, response }, .. }) => {
            if let Some(reply) = pending_sync.remove(&request_id) {
                let _ = reply.send(Ok(response));
            }
            None
        }
        BehaviourEvent::Sync(Event::OutboundFailure { request_id, error, .. }) => {
            if let Some(reply) = pending_sync.remove(&request_id) {
                let _ = reply.send(Err(error.to_string()));
            }
            None
        }
        BehaviourEvent::Consensus(Event::Message { message: Message::Response { request_id, .. }, .. }) => {
            budgets.consensus.finished(&request_id);
            None
        }
        BehaviourEvent::Consensus(Event::OutboundFailure { peer, request_id, error, .. }) => {
            budgets.consensus.finished(&request_id);
            tracing::trace!(%peer, %error, "consensus message not delivered");
            None
        }
        BehaviourEvent::Txs(Event::Message { message: Message::Response { request_id, .. }, .. }) => {
            budgets.txs.finished(&request_id);
            None
        }
        BehaviourEvent::Txs(Event::OutboundFailure { peer, request_id, error, .. }) => {
            budgets.txs.finished(&request_id);
            tracing::trace!(%peer, %error, "transaction gossip not delivered");
            None
        }
        _ => None,
    }
}
