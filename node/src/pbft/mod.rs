//! The node's side of PBFT: what the pure state machine in `accord-consensus` needs from the node (message
//! signatures with node keys, the durable vote record). The driver that wires it to the network and the chain
//! comes with multi-validator networking.

pub mod crypto;
pub mod safety_store;

pub use crypto::NodeKeyCrypto;
pub use safety_store::SafetyStore;
