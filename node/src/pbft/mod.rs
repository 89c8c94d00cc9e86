//! The node's side of PBFT: what the pure state machine in `accord-consensus` needs from the node (message
//! signatures with node keys, the durable vote record) and the driver that runs it against the network and chain.

pub mod crypto;
pub mod driver;
pub mod inbox;
pub mod safety_store;

pub use crypto::NodeKeyCrypto;
pub use driver::ConsensusDriver;
pub use safety_store::SafetyStore;
