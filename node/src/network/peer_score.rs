//! `PeerScores`: protocol violations counted per member, and a temporary ban for one that keeps breaking the
//! protocol (undecodable or forged messages, bad signatures, floods past its rate budget).
//!
//! Membership is not honesty: a member that violates the protocol more than [`STRIKES`] times within [`WINDOW`] is
//! disconnected and refused for [`BAN`], logged and counted, then admitted again (it is still a member; a member
//! the consortium wants gone is removed by governance).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::PeerId;
use parking_lot::Mutex;

use super::{NetworkCommand, NetworkSender};
use crate::metrics::Metrics;

/// Violations tolerated within [`WINDOW`].
pub const STRIKES: u32 = 32;
/// The window violations are counted in.
pub const WINDOW: Duration = Duration::from_secs(10);
/// How long a banned member stays disconnected.
pub const BAN: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Score {
    strikes: u32,
    since: Instant,
}

/// Violations per member.
#[derive(Debug)]
pub struct PeerScores {
    scores: Mutex<HashMap<PeerId, Score>>,
    net: NetworkSender,
    metrics: Metrics,
}

impl PeerScores {
    /// Scores reporting bans to the network through `net`.
    pub fn new(net: NetworkSender, metrics: Metrics) -> Self {
        Self { scores: Mutex::new(HashMap::new()), net, metrics }
    }

    /// Records a violation by `peer`; returns true when it got the peer banned.
    pub fn strike(&self, peer: PeerId, reason: &'static str) -> bool {
        self.metrics.peer_strikes.with_label_values(&[reason]).inc();
        let now = Instant::now();
        let banned = {
            let mut scores = self.scores.lock();
            let s = scores.entry(peer).or_insert(Score { strikes: 0, since: now });
            if now.duration_since(s.since) > WINDOW {
                *s = Score { strikes: 0, since: now };
            }
            s.strikes += 1;
            if s.strikes > STRIKES {
                scores.remove(&peer);
                true
            } else {
                false
            }
        };
        if banned {
            tracing::warn!(%peer, reason, ban_secs = BAN.as_secs(), "member keeps breaking the protocol; disconnecting it");
            self.metrics.peers_banned.inc();
            if !self.net.try_send(NetworkCommand::Ban { peer, duration: BAN }) {
                tracing::warn!(%peer, "network queue full; ban not sent");
            }
        }
        banned
    }
}
