//! `ConsensusInbox`: consensus messages from validators, waiting for the driver, with a small queue and a rate and
//! byte budget per peer, served round-robin between peers.
//!
//! Every message costs the driver a decode and a signature check in its single loop. A shared queue would let one
//! validator flooding at full speed push out every honest vote; here a flood only fills (and overflows) the
//! flooder's own queue and budget, and the driver still takes one message from every other peer in turn. What is
//! refused is counted and reported to the peer's score.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use libp2p::PeerId;
use parking_lot::Mutex;
use tokio::sync::Notify;

/// Bounds per peer, sized from the validator count and the chain's message limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InboxLimits {
    /// Messages queued per peer.
    pub messages: usize,
    /// Bytes queued per peer.
    pub bytes: usize,
    /// Sustained messages per second per peer.
    pub messages_per_sec: f64,
    /// Sustained bytes per second per peer.
    pub bytes_per_sec: f64,
}

impl InboxLimits {
    /// Limits for a chain of `validators` whose largest message is `message_limit` bytes. An honest validator sends
    /// a handful of messages per height (proposal, prepare, commit, a view change or two, heartbeats), and at most
    /// one maximal proposal at a time; the budgets leave it ample room even at several heights a second.
    pub fn for_chain(validators: usize, message_limit: usize) -> Self {
        let n = validators.max(1);
        Self {
            messages: 64 + 4 * n,
            bytes: message_limit.saturating_mul(2),
            messages_per_sec: (200 + 20 * n) as f64,
            bytes_per_sec: message_limit as f64 * 8.0,
        }
    }
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The peer spent its rate or byte budget.
    #[error("peer over its rate budget")]
    RateLimited,
    /// The peer's queue is full (the driver is behind on this peer).
    #[error("peer's queue is full")]
    QueueFull,
}

impl Refused {
    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::QueueFull => "queue_full",
        }
    }
}

#[derive(Debug)]
struct Bucket {
    messages: f64,
    bytes: f64,
    at: Instant,
}

#[derive(Debug)]
struct PeerQueue {
    queue: VecDeque<Vec<u8>>,
    bytes: usize,
    bucket: Bucket,
}

#[derive(Debug, Default)]
struct Queues {
    peers: BTreeMap<PeerId, PeerQueue>,
    /// Peers with queued messages, in serving order.
    ready: VecDeque<PeerId>,
}

/// The driver's inbox.
#[derive(Debug)]
pub struct ConsensusInbox {
    limits: InboxLimits,
    queues: Mutex<Queues>,
    notify: Notify,
}

impl ConsensusInbox {
    /// An empty inbox.
    pub fn new(limits: InboxLimits) -> Self {
        Self { limits, queues: Mutex::new(Queues::default()), notify: Notify::new() }
    }

    /// Queues a message from `from` at `now`, within its budgets.
    pub fn push(&self, from: PeerId, bytes: Vec<u8>, now: Instant) -> Result<(), Refused> {
        let l = self.limits;
        let mut q = self.queues.lock();
        let peer = q.peers.entry(from).or_insert_with(|| PeerQueue {
            queue: VecDeque::new(),
            bytes: 0,
            bucket: Bucket { messages: l.messages as f64, bytes: l.bytes as f64, at: now },
        });
        // Refill the token bucket; its depth is the queue's size, so a burst can fill the queue once.
        let elapsed = now.saturating_duration_since(peer.bucket.at).as_secs_f64();
        peer.bucket.at = now;
        peer.bucket.messages = (peer.bucket.messages + elapsed * l.messages_per_sec).min(l.messages as f64);
        peer.bucket.bytes = (peer.bucket.bytes + elapsed * l.bytes_per_sec).min(l.bytes as f64);
        let size = bytes.len();
        if peer.bucket.messages < 1.0 || peer.bucket.bytes < size as f64 {
            return Err(Refused::RateLimited);
        }
        if peer.queue.len() >= l.messages || peer.bytes + size > l.bytes {
            return Err(Refused::QueueFull);
        }
        peer.bucket.messages -= 1.0;
        peer.bucket.bytes -= size as f64;
        let was_empty = peer.queue.is_empty();
        peer.queue.push_back(bytes);
        peer.bytes += size;
        if was_empty {
            q.ready.push_back(from);
        }
        drop(q);
        self.notify.notify_one();
        Ok(())
    }

    /// The next message, taking one from each peer with queued messages in turn.
    pub fn try_pop(&self) -> Option<(PeerId, Vec<u8>)> {
        let mut q = self.queues.lock();
        let from = q.ready.pop_front()?;
        let peer = q.peers.get_mut(&from)?;
        let bytes = peer.queue.pop_front()?;
        peer.bytes -= bytes.len();
        if !peer.queue.is_empty() {
            q.ready.push_back(from);
        }
        Some((from, bytes))
    }

    /// Waits for the next message.
    pub async fn pop(&self) -> (PeerId, Vec<u8>) {
        loop {
            let notified = self.notify.notified();
            if let Some(m) = self.try_pop() {
                return m;
            }
            notified.await;
        }
    }

    /// Forgets a peer's queue (it disconnected or was banned).
    pub fn forget(&self, peer: &PeerId) {
        let mut q = self.queues.lock();
        q.peers.remove(peer);
        q.ready.retain(|p| p != peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_flooding_peer_fills_only_its_own_queue_and_others_are_served_in_turn() {
        let limits = InboxLimits { messages: 4, bytes: 1_000, messages_per_sec: 10.0, bytes_per_sec: 10_000.0 };
        let inbox = ConsensusInbox::new(limits);
        let (flooder, honest) = (PeerId::random(), PeerId::random());
        let t = Instant::now();
        let mut refused = 0;
        for i in 0..1_000u32 {
            if inbox.push(flooder, i.to_be_bytes().to_vec(), t).is_err() {
                refused += 1;
            }
        }
        assert_eq!(refused, 996, "four fit, the rest are refused");
        inbox.push(honest, b"vote".to_vec(), t).expect("an honest peer is not crowded out");
        let first_two: Vec<PeerId> = (0..2).filter_map(|_| inbox.try_pop()).map(|(p, _)| p).collect();
        assert_eq!(first_two, vec![flooder, honest], "one message per peer in turn");
        // The budget refills with time, not faster.
        assert_eq!(inbox.push(flooder, vec![0; 10], t), Err(Refused::RateLimited));
        inbox.push(flooder, vec![0; 10], t + Duration::from_millis(150)).expect("one more after 100 ms");
        // Bytes are budgeted too.
        assert_eq!(inbox.push(honest, vec![0; 2_000], t), Err(Refused::RateLimited));
    }
}
