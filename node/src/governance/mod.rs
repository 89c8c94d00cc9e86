//! On-chain governance (issue 9; `docs/architecture.md`, "Governance"). The committee and its decision rule are
//! part of the wire format (`accord_sdk::governance`); the system contracts that keep governed state and carry out
//! passed proposals build on them here.

pub mod system;

pub use accord_sdk::governance::{Ballot, Committee, GovernanceError, ProposalStatus, Tally};
pub use system::SystemContracts;
