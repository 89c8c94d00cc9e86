//! libp2p identities from secp256k1 node keys: the peer id of every member follows from the genesis.

use libp2p::PeerId;
use libp2p::identity::{Keypair, PublicKey, secp256k1};

use super::NetworkError;

/// The libp2p keypair of a node key's 32 secret bytes.
pub fn libp2p_keypair(mut secret: [u8; 32]) -> Result<Keypair, NetworkError> {
    let sk = secp256k1::SecretKey::try_from_bytes(&mut secret).map_err(|e| NetworkError::Key(e.to_string()))?;
    Ok(Keypair::from(secp256k1::Keypair::from(sk)))
}

/// The peer id of a node whose compressed public key (33 bytes, as in genesis) is `public_key`.
pub fn peer_id_of(public_key: &[u8]) -> Result<PeerId, NetworkError> {
    let pk = secp256k1::PublicKey::try_from_bytes(public_key).map_err(|e| NetworkError::Key(e.to_string()))?;
    Ok(PublicKey::from(pk).to_peer_id())
}
