//! libp2p identities from secp256k1 node keys: the peer id of every member follows from the genesis.

use libp2p::identity::{Keypair, PublicKey, secp256k1};
use libp2p::{Multiaddr, PeerId};

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

/// A genesis `p2pAddress` as a multiaddr: either a multiaddr (`/ip4/10.0.0.5/tcp/30300`) or `ip:port`
/// (`10.0.0.5:30300`, `[::1]:30300`). Empty means the member is not dialed (it dials us). Host names are refused
/// with a clear error: the node is built without a DNS resolver, and a name that silently never resolves would
/// leave a member unreachable.
pub fn multiaddr_of(address: &str) -> Result<Option<Multiaddr>, NetworkError> {
    let address = address.trim();
    if address.is_empty() {
        return Ok(None);
    }
    let bad = |detail: String| NetworkError::Address { address: address.to_string(), detail };
    let addr: Multiaddr = if address.starts_with('/') {
        address.parse().map_err(|e: libp2p::multiaddr::Error| bad(e.to_string()))?
    } else {
        let sock: std::net::SocketAddr = address
            .parse()
            .map_err(|_| bad("expected ip:port (host names are not supported) or a multiaddr".into()))?;
        Multiaddr::from(sock.ip()).with(libp2p::multiaddr::Protocol::Tcp(sock.port()))
    };
    use libp2p::multiaddr::Protocol;
    let mut parts = addr.iter();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Protocol::Ip4(_) | Protocol::Ip6(_)), Some(Protocol::Tcp(_)), None) => Ok(Some(addr)),
        _ => Err(bad("expected /ip4/ADDR/tcp/PORT or /ip6/ADDR/tcp/PORT (host names are not supported)".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_addresses_become_multiaddrs() {
        let m = |s: &str| multiaddr_of(s).expect(s).map(|a| a.to_string());
        assert_eq!(m("127.0.0.1:30300").as_deref(), Some("/ip4/127.0.0.1/tcp/30300"));
        assert_eq!(m("[::1]:30301").as_deref(), Some("/ip6/::1/tcp/30301"));
        assert!(multiaddr_of("bank-a.example:30301").is_err(), "no resolver: refused, not silently unreachable");
        assert!(multiaddr_of("/dns4/bank-a/tcp/1").is_err());
        assert_eq!(m("/ip4/10.0.0.5/tcp/7").as_deref(), Some("/ip4/10.0.0.5/tcp/7"));
        assert_eq!(m(""), None);
        assert!(multiaddr_of("no-port").is_err());
        assert!(multiaddr_of("host:99999").is_err());
        assert!(multiaddr_of("/not/a/multiaddr").is_err());
    }
}
