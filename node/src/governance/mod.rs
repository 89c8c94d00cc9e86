//! On-chain governance (issue 9; `docs/governance.md`, `docs/architecture.md`, "Governance"). The committee, its
//! decision rule, the proposal kinds and the records of governed state are part of the wire format
//! (`accord_sdk::governance`); here the system contracts keep that state and carry out passed proposals
//! ([`system`]), and the node reads it for each block ([`store`]).

pub mod abi;
pub mod emergency;
pub mod store;
pub mod system;
#[cfg(test)]
mod tests;

pub use accord_sdk::governance::{Ballot, Committee, GovernanceError, ProposalStatus, Tally};
pub use store::{BlockRules, GovernedStateError, Refusal};
pub use system::SystemContracts;

/// The highest compatibility version this binary can execute. A block whose version (the chain's compatibility
/// version at its height) is above it is refused with an error that says to upgrade.
///
/// Each behaviour change raises it in the source. A build can also be made to claim a higher one with the
/// `ACCORD_SUPPORTED_VERSION` environment variable at compile time: that is how the upgrade test
/// (`scripts/upgrade-test.sh`) gets a second build that knows the next version, to run side by side with this one.
pub const SUPPORTED_VERSION: u64 = match option_env!("ACCORD_SUPPORTED_VERSION") {
    Some(v) => parse_version(v),
    None => 1,
};

const fn parse_version(s: &str) -> u64 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut v: u64 = 0;
    assert!(!b.is_empty(), "ACCORD_SUPPORTED_VERSION must be a whole number");
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "ACCORD_SUPPORTED_VERSION must be a whole number");
        v = v * 10 + (b[i] - b'0') as u64;
        i += 1;
    }
    v
}

/// The governance events in `logs` (the committee's), as metric labels: `created`, `passed`, `denied`, `revoked`.
pub fn events(logs: &[alloy_primitives::Log]) -> Vec<&'static str> {
    use alloy_sol_types::SolEvent;
    logs.iter()
        .filter(|l| l.address == accord_sdk::governance::COMMITTEE_ADDRESS)
        .filter_map(|l| match l.data.topics().first() {
            Some(t) if *t == abi::ICommittee::ProposalCreated::SIGNATURE_HASH => Some("created"),
            Some(t) if *t == abi::ICommittee::ProposalRevoked::SIGNATURE_HASH => Some("revoked"),
            Some(t) if *t == abi::ICommittee::ProposalDecided::SIGNATURE_HASH => {
                match abi::ICommittee::ProposalDecided::decode_log_data(&l.data).map(|d| d.status) {
                    Ok(s) if s == "passed" => Some("passed"),
                    _ => Some("denied"),
                }
            }
            _ => None,
        })
        .collect()
}
