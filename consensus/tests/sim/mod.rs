//! What the two PBFT simulations share: keyed-hash signatures and the items of their event queue.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use accord_consensus::{Event, Message};

/// A signature modelled by a keyed hash: only the holder of `secret` can produce it (the property real signatures
/// give).
pub fn mac(secret: u64, bytes: &[u8]) -> Vec<u8> {
    let mut h = DefaultHasher::new();
    secret.hash(&mut h);
    bytes.hash(&mut h);
    h.finish().to_be_bytes().to_vec()
}

/// One scheduled happening of a simulation.
#[derive(Debug, Clone)]
pub enum Item {
    /// A message arrives.
    Deliver { to: usize, msg: Message },
    /// A timer, build, fetch or validation result for one incarnation (`epoch`) of a node.
    Event { node: usize, event: Event, epoch: u64 },
    /// The node stops (its volatile state is lost).
    Crash { node: usize },
    /// The node starts again from what it persisted.
    Restart { node: usize },
    /// Block sync hands lagging nodes the decided blocks.
    SyncTick,
}
