//! On-chain governance (issue 9; `docs/architecture.md`, "Governance"): the committee's decision rule so far. The
//! system contracts that keep its state and carry out passed proposals build on it.

pub mod committee;

pub use committee::{Ballot, Committee, GovernanceError, ProposalStatus, Tally};
