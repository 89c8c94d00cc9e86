//! PBFT consensus as a pure, deterministic state machine: messages and timer ticks in, actions out.
//!
//! This crate never does I/O, reads a clock or spawns a task; the node drives it (DESIGN.md §4). That is what lets
//! `tests/simulation.rs` run thousands of seeded schedules with drops, delays, partitions, crashes and byzantine
//! validators, and replay any failing seed exactly. The node's driver (`node/src/pbft/driver.rs`) runs it against
//! libp2p, the chain and the vote record in RocksDB.

pub mod state;
pub mod types;
pub mod verify;

pub use state::{
    Action, Equivocation, Event, Membership, MessageCrypto, PbftConfig, PbftState, PbftStats, SafetyRecord,
};
pub use types::*;
pub use verify::{Rejection, Verified};
