//! Consortium admission by node address: only peers whose node key is on the consortium's node list may connect.
//!
//! The node list names nodes by address (the Keccak address of the node key, as consensus signatures recover to),
//! because governance adds nodes by address. A libp2p peer id of a secp256k1 key embeds the public key, so every
//! connecting peer's node address follows from the identity the noise handshake proved ([`node_address_of`]). The
//! list follows the chain: governance adds addresses ([`MemberAdmission::allow`]) and removes them
//! ([`MemberAdmission::disallow`], which also closes the connections). Misbehaving peers are banned by peer id for
//! a while, whatever their address.

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use accord_sdk::{Address, keccak256};
use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::swarm::{
    CloseConnection, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};
use parking_lot::RwLock;

/// The node address of a peer: the Keccak address of the secp256k1 public key its peer id embeds. `None` for peer
/// ids of other key types (never a member).
pub fn node_address_of(peer: &PeerId) -> Option<Address> {
    let hash: &libp2p::multihash::Multihash<64> = peer.as_ref();
    // Identity multihash: the digest is the protobuf-encoded public key itself.
    if hash.code() != 0 {
        return None;
    }
    let key = libp2p::identity::PublicKey::try_decode_protobuf(hash.digest()).ok()?.try_into_secp256k1().ok()?;
    let uncompressed = key.to_bytes_uncompressed();
    Some(Address::from_slice(&keccak256(&uncompressed[1..])[12..]))
}

/// Node address ↔ peer id of every member seen (the genesis members from the start, others once they connect),
/// derived once per peer: how consensus reaches a node the chain names by address, and how dispatch and the
/// driver tell who sent a message without decoding the key again for every message.
#[derive(Debug, Default)]
pub struct AddressBook(RwLock<Entries>);

#[derive(Debug, Default)]
struct Entries {
    peers: HashMap<Address, PeerId>,
    nodes: HashMap<PeerId, Address>,
}

impl AddressBook {
    /// The peer id of `node`, if known.
    pub fn peer(&self, node: &Address) -> Option<PeerId> {
        self.0.read().peers.get(node).copied()
    }

    /// The node address of `peer`: known for every peer that ever connected, derived otherwise.
    pub fn node(&self, peer: &PeerId) -> Option<Address> {
        if let Some(a) = self.0.read().nodes.get(peer) {
            return Some(*a);
        }
        self.learn(*peer)
    }

    /// Records `peer` (under the address its id embeds).
    pub fn learn(&self, peer: PeerId) -> Option<Address> {
        let address = node_address_of(&peer)?;
        let mut e = self.0.write();
        e.peers.insert(address, peer);
        e.nodes.insert(peer, address);
        Some(address)
    }
}

/// Why a connection was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Not on the node list.
    #[error("peer {0} is not a consortium member")]
    NotMember(PeerId),
    /// Banned for misbehaving.
    #[error("peer {0} is banned")]
    Banned(PeerId),
}

/// The admission behaviour.
#[derive(Debug)]
pub struct MemberAdmission {
    allowed: HashSet<Address>,
    banned: HashSet<PeerId>,
    book: Arc<AddressBook>,
    close: VecDeque<PeerId>,
    waker: Option<Waker>,
}

impl MemberAdmission {
    /// Admits `members`, recording peers in `book`.
    pub fn new(members: impl IntoIterator<Item = Address>, book: Arc<AddressBook>) -> Self {
        Self {
            allowed: members.into_iter().collect(),
            banned: HashSet::new(),
            book,
            close: VecDeque::new(),
            waker: None,
        }
    }

    /// Admits the node with this address.
    pub fn allow(&mut self, node: Address) {
        self.allowed.insert(node);
    }

    /// Refuses the node with this address from now on and closes its connections.
    pub fn disallow(&mut self, node: Address) {
        if self.allowed.remove(&node)
            && let Some(peer) = self.book.peer(&node)
        {
            self.close_all(peer);
        }
    }

    /// Disconnects `peer` and refuses it until [`Self::unban`].
    pub fn ban(&mut self, peer: PeerId) {
        self.banned.insert(peer);
        self.close_all(peer);
    }

    /// Lets a banned peer in again (if it is still a member).
    pub fn unban(&mut self, peer: &PeerId) {
        self.banned.remove(peer);
    }

    fn close_all(&mut self, peer: PeerId) {
        self.close.push_back(peer);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    fn enforce(&self, peer: &PeerId) -> Result<(), ConnectionDenied> {
        if self.banned.contains(peer) {
            return Err(ConnectionDenied::new(Refusal::Banned(*peer)));
        }
        match node_address_of(peer) {
            Some(a) if self.allowed.contains(&a) => Ok(()),
            _ => Err(ConnectionDenied::new(Refusal::NotMember(*peer))),
        }
    }
}

impl NetworkBehaviour for MemberAdmission {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.enforce(&peer)?;
        self.book.learn(peer);
        Ok(dummy::ConnectionHandler)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: Option<PeerId>,
        _: &[Multiaddr],
        _: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        if let Some(peer) = peer {
            self.enforce(&peer)?;
        }
        Ok(vec![])
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.enforce(&peer)?;
        self.book.learn(peer);
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, _event: FromSwarm) {}

    fn on_connection_handler_event(&mut self, _: PeerId, _: ConnectionId, event: THandlerOutEvent<Self>) {
        match event {}
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        if let Some(peer) = self.close.pop_front() {
            return Poll::Ready(ToSwarm::CloseConnection { peer_id: peer, connection: CloseConnection::All });
        }
        self.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_ids_node_address_is_its_keys_address() {
        let key = accord_sdk::keys::KeyPair::generate();
        let peer = super::super::peer_id_of(&key.public_key()).expect("peer id");
        assert_eq!(node_address_of(&peer), Some(key.address()));
        let ed = libp2p::identity::PeerId::random();
        assert_eq!(node_address_of(&ed), None, "not a secp256k1 identity");
    }
}
