//! Peer-to-peer networking over libp2p (TCP + noise + yamux) with consortium admission.
//!
//! A node's libp2p identity is its secp256k1 node key, so every member's peer id follows from the public key in the
//! genesis. Only peers on the consortium's node list may connect: anyone else is refused when the connection is
//! established (after the noise handshake proves who they are), counted, and logged; removing a peer from the list
//! closes its connections. Consensus messages travel as request/response messages directly between validators.

pub mod identity;

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, allow_block_list, noise, tcp, yamux};
use tokio::sync::mpsc;

pub use identity::{libp2p_keypair, peer_id_of};

/// Protocol of direct consensus messages.
pub const CONSENSUS_PROTOCOL: StreamProtocol = StreamProtocol::new("/accord/consensus/1");

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The node key or a genesis public key is not a valid secp256k1 key.
    #[error("invalid key: {0}")]
    Key(String),
    /// The transport could not be built or could not listen.
    #[error("network: {0}")]
    Transport(String),
}

/// What the network reports to the node.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    Message {
        /// Sender.
        from: PeerId,
        /// Encoded message.
        bytes: Vec<u8>,
    },
}

/// What the node asks of the network.
#[derive(Debug)]
pub enum NetworkCommand {
    /// Dial a member.
    Dial(Multiaddr),
    /// Send a consensus message to one member.
    Send {
        /// Recipient.
        to: PeerId,
        /// Encoded message.
        bytes: Vec<u8>,
    },
    /// Admit a peer (governance added it).
    Allow(PeerId),
    /// Remove a peer and close its connections (governance removed it).
    Disallow(PeerId),
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    admission: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    consensus: request_response::Behaviour<request_response::cbor::codec::Codec<Vec<u8>, ()>>,
}

/// Handle to a running network task.
#[derive(Debug)]
pub struct Network {
    /// This node's peer id.
    pub local_peer_id: PeerId,
    commands: mpsc::Sender<NetworkCommand>,
    /// Events from the network.
    pub events: mpsc::Receiver<NetworkEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Network {
    /// Starts listening on `listen` with identity `node_secret` (32 bytes), admitting only `members`.
    pub fn start(node_secret: [u8; 32], listen: Multiaddr, members: &[PeerId]) -> Result<Self, NetworkError> {
        let keypair = libp2p_keypair(node_secret)?;
        let local_peer_id = keypair.public().to_peer_id();
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
            .map_err(|e| NetworkError::Transport(e.to_string()))?
            .with_behaviour(|_| {
                let mut admission = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
                for p in members {
                    admission.allow_peer(*p);
                }
                // The codec's own default request limit is far below a full block: set it to the consensus bound.
                // (CBOR writes Vec<u8> as an array of small integers, up to 2x the bytes; a raw-bytes codec is the
                // planned replacement.)
                let codec = request_response::cbor::codec::Codec::<Vec<u8>, ()>::default()
                    .set_request_size_maximum(2 * accord_consensus::MAX_MESSAGE_BYTES as u64)
                    .set_response_size_maximum(1024);
                let consensus = request_response::Behaviour::with_codec(
                    codec,
                    [(CONSENSUS_PROTOCOL, ProtocolSupport::Full)],
                    request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
                );
                Behaviour { admission, consensus }
            })
            .map_err(|e| NetworkError::Transport(e.to_string()))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
            .build();
        swarm.listen_on(listen).map_err(|e| NetworkError::Transport(e.to_string()))?;
        let (cmd_tx, mut cmd_rx) = mpsc::channel::<NetworkCommand>(1024);
        let (ev_tx, ev_rx) = mpsc::channel::<NetworkEvent>(4096);
        let task = tokio::spawn(async move {
            let mut connected: HashSet<PeerId> = HashSet::new();
            loop {
                tokio::select! {
                    cmd = cmd_rx.recv() => {
                        let Some(cmd) = cmd else { return };
                        match cmd {
                            NetworkCommand::Dial(addr) => {
                                if let Err(e) = swarm.dial(addr.clone()) {
                                    tracing::debug!(%addr, error = %e, "dial failed");
                                }
                            }
                            NetworkCommand::Send { to, bytes } => {
                                swarm.behaviour_mut().consensus.send_request(&to, bytes);
                            }
                            NetworkCommand::Allow(p) => {
                                swarm.behaviour_mut().admission.allow_peer(p);
                            }
                            NetworkCommand::Disallow(p) => {
                                swarm.behaviour_mut().admission.disallow_peer(p);
                            }
                        }
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
                            SwarmEvent::Behaviour(BehaviourEvent::Consensus(request_response::Event::Message {
                                peer,
                                message: request_response::Message::Request { request, channel, .. },
                                ..
                            })) => {
                                let _ = swarm.behaviour_mut().consensus.send_response(channel, ());
                                Some(NetworkEvent::Message { from: peer, bytes: request })
                            }
                            _ => None,
                        };
                        // Never block the swarm on a slow consumer: one flooding member must not stall the others.
                        if let Some(ev) = out {
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
        });
        Ok(Self { local_peer_id, commands: cmd_tx, events: ev_rx, task })
    }

    /// Queues a command for the network task.
    pub async fn command(&self, cmd: NetworkCommand) {
        let _ = self.commands.send(cmd).await;
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.task.abort();
    }
}
