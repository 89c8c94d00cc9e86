//! `InFlight`: requests sent to each peer and not yet answered, for one protocol.
//!
//! libp2p's request/response queues outgoing requests without bound while a peer's streams are busy, so a stalled
//! member (a frozen process, a saturated link) would make us hold every message meant for it. Past a per-peer
//! budget of requests and bytes new ones are dropped instead: consensus tolerates lost messages (a view change
//! re-sends what matters) and gossip is best-effort. The budget also paces a sender to what the receiver takes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::PeerId;

/// How often a protocol's drops are logged.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// See the module doc. `K` identifies a request (libp2p's `OutboundRequestId`).
#[derive(Debug)]
pub struct InFlight<K> {
    protocol: &'static str,
    max_requests: usize,
    max_bytes: usize,
    peers: HashMap<PeerId, (usize, usize)>,
    requests: HashMap<K, (PeerId, usize)>,
    dropped: u64,
    last_warn: Option<Instant>,
}

impl<K: std::hash::Hash + Eq> InFlight<K> {
    /// At most `max_requests` unanswered requests and `max_bytes` of them per peer (one request is always allowed).
    pub fn new(protocol: &'static str, max_requests: usize, max_bytes: usize) -> Self {
        Self {
            protocol,
            max_requests,
            max_bytes,
            peers: HashMap::new(),
            requests: HashMap::new(),
            dropped: 0,
            last_warn: None,
        }
    }

    /// True when a request of `bytes` to `peer` fits its budget; otherwise counts (and now and then logs) a drop.
    pub fn admit(&mut self, peer: &PeerId, bytes: usize) -> bool {
        let (count, held) = self.peers.get(peer).copied().unwrap_or((0, 0));
        if count == 0 || (count < self.max_requests && held + bytes <= self.max_bytes) {
            return true;
        }
        self.dropped += 1;
        if self.last_warn.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
            self.last_warn = Some(Instant::now());
            tracing::warn!(
                %peer, protocol = self.protocol, unanswered = count, bytes = held, dropped_so_far = self.dropped,
                "a member is not taking our messages; dropping new ones for it"
            );
        }
        false
    }

    /// Records a request sent.
    pub fn sent(&mut self, id: K, peer: PeerId, bytes: usize) {
        let entry = self.peers.entry(peer).or_insert((0, 0));
        entry.0 += 1;
        entry.1 += bytes;
        self.requests.insert(id, (peer, bytes));
    }

    /// Records a request answered or failed.
    pub fn finished(&mut self, id: &K) {
        let Some((peer, bytes)) = self.requests.remove(id) else { return };
        if let Some(entry) = self.peers.get_mut(&peer) {
            entry.0 -= 1;
            entry.1 -= bytes;
            if entry.0 == 0 {
                self.peers.remove(&peer);
            }
        }
    }

    /// Requests dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_that_answers_nothing_gets_no_more_than_its_budget_and_others_are_unaffected() {
        let (slow, other) = (PeerId::random(), PeerId::random());
        let mut f: InFlight<u64> = InFlight::new("consensus", 3, 1_000);
        for id in 0..3 {
            assert!(f.admit(&slow, 10));
            f.sent(id, slow, 10);
        }
        assert!(!f.admit(&slow, 10), "a fourth unanswered request is dropped");
        assert!(f.admit(&other, 10), "another peer has its own budget");
        f.finished(&1);
        assert!(f.admit(&slow, 10), "an answer frees room");
        f.sent(3, slow, 10);
        assert!(!f.admit(&slow, 10));
        assert_eq!(f.dropped(), 2);
    }

    #[test]
    fn bytes_are_bounded_too_but_one_request_always_goes() {
        let peer = PeerId::random();
        let mut f: InFlight<u64> = InFlight::new("gossip", 100, 1_000);
        assert!(f.admit(&peer, 5_000), "a single large request is never refused");
        f.sent(0, peer, 5_000);
        assert!(!f.admit(&peer, 1), "nothing more while it is unanswered");
        f.finished(&0);
        f.finished(&0); // twice: no underflow
        assert!(f.admit(&peer, 600));
        f.sent(1, peer, 600);
        assert!(!f.admit(&peer, 600), "600 + 600 exceeds 1,000");
        assert!(f.admit(&peer, 400));
    }
}
