//! PBFT consensus as a pure, deterministic state machine: messages and timer ticks in, actions out.
//!
//! This crate never does I/O, reads a clock or spawns a task; the node drives it (DESIGN.md §4). That is what lets
//! `tests/simulation.rs` run thousands of seeded schedules with drops, delays, partitions, crashes and byzantine
//! validators, and replay any failing seed exactly. The node integration (libp2p, block sync, the vote WAL in
//! RocksDB) is the PBFT issue's remaining work; today's node runs single-validator chains.

pub mod state;
pub mod types;

pub use state::{Action, Event, MessageCrypto, PbftConfig, PbftState, SafetyRecord};
pub use types::*;
