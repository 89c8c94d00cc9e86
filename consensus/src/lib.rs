//! PBFT consensus as a pure, deterministic state machine: messages and timer ticks in, actions out.
//!
//! This crate will never do I/O, read a clock or spawn a task; the node drives it (DESIGN.md §4). Until the PBFT
//! issue lands, a chain has a single validator and the node's block producer commits directly; the quorum rules
//! every later part relies on already live in `accord_sdk::block::ValidatorSet`.
