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

/// A genesis `p2pAddress` as a multiaddr: a multiaddr (`/ip4/10.0.0.5/tcp/30300`, `/dns/bank-a.example/tcp/30300`),
/// `ip:port` (`10.0.0.5:30300`, `[::1]:30300`) or `host:port` (`bank-a.example:30300`, `node1:30300`). Host names
/// are resolved at every dial (through the system's resolver configuration), so a member whose address changes, or
/// a container whose name is not yet registered, is reached on a later redial. Empty means the member is not
/// dialed (it dials us).
pub fn multiaddr_of(address: &str) -> Result<Option<Multiaddr>, NetworkError> {
    use libp2p::multiaddr::Protocol;
    let address = address.trim();
    if address.is_empty() {
        return Ok(None);
    }
    let bad = |detail: String| NetworkError::Address { address: address.to_string(), detail };
    let addr: Multiaddr = if address.starts_with('/') {
        address.parse().map_err(|e: libp2p::multiaddr::Error| bad(e.to_string()))?
    } else if let Ok(sock) = address.parse::<std::net::SocketAddr>() {
        Multiaddr::from(sock.ip()).with(Protocol::Tcp(sock.port()))
    } else {
        let (host, port) =
            address.rsplit_once(':').ok_or_else(|| bad("expected host:port, ip:port or a multiaddr".into()))?;
        let port: u16 = port.parse().map_err(|_| bad(format!("port '{port}' is not a number from 0 to 65535")))?;
        if !is_host_name(host) {
            return Err(bad(format!("'{host}' is neither an IP address nor a host name (letters, digits, '-', '.')")));
        }
        Multiaddr::empty().with(Protocol::Dns(host.to_string().into())).with(Protocol::Tcp(port))
    };
    let mut parts = addr.iter();
    match (parts.next(), parts.next(), parts.next()) {
        (
            Some(Protocol::Ip4(_) | Protocol::Ip6(_) | Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_)),
            Some(Protocol::Tcp(_)),
            None,
        ) => Ok(Some(addr)),
        _ => Err(bad("expected /ip4/ADDR/tcp/PORT, /ip6/ADDR/tcp/PORT or /dns/HOST/tcp/PORT".into())),
    }
}

/// An RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, at most 253 characters.
fn is_host_name(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_addresses_become_multiaddrs() {
        let m = |s: &str| multiaddr_of(s).expect(s).map(|a| a.to_string());
        assert_eq!(m("127.0.0.1:30300").as_deref(), Some("/ip4/127.0.0.1/tcp/30300"));
        assert_eq!(m("[::1]:30301").as_deref(), Some("/ip6/::1/tcp/30301"));
        assert_eq!(m("bank-a.example:30301").as_deref(), Some("/dns/bank-a.example/tcp/30301"));
        assert_eq!(m("node1:30300").as_deref(), Some("/dns/node1/tcp/30300"));
        assert_eq!(m("/dns4/bank-a/tcp/1").as_deref(), Some("/dns4/bank-a/tcp/1"));
        assert!(multiaddr_of("bank_a:30301").is_err(), "'_' is not a host name character");
        assert!(multiaddr_of("-bank:30301").is_err());
        assert!(multiaddr_of("bank..a:30301").is_err());
        assert!(multiaddr_of("/dns/bank-a/udp/1").is_err());
        assert_eq!(m("/ip4/10.0.0.5/tcp/7").as_deref(), Some("/ip4/10.0.0.5/tcp/7"));
        assert_eq!(m(""), None);
        assert!(multiaddr_of("no-port").is_err());
        assert!(multiaddr_of("host:99999").is_err());
        assert!(multiaddr_of("/not/a/multiaddr").is_err());
    }
}
