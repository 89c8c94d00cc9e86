//! The system contracts' Solidity ABI: what the node implements, what `accord gov` calls, and what
//! `docs/governance.md` lists (with the same selectors).

#![allow(missing_docs)]

use alloy_sol_types::sol;

sol! {
    /// The committee (`0x…1000`).
    #[sol(abi)]
    interface ICommittee {
        /// Governors and their weights, by address.
        function governors() external view returns (address[] memory accounts, uint64[] memory weights);
        /// Participation and win thresholds (percentages) and the proposal lifetime in blocks.
        function thresholds() external view returns (uint8 participation, uint8 win, uint64 lifetime);
        /// Opens a proposal (the words of `accord gov propose KIND ARGS…`), counting the proposer's agreeing vote.
        function propose(string kind, string[] args) external returns (uint64 id);
        /// Votes on an open proposal; returns its status after the vote.
        function vote(uint64 id, bool agree) external returns (string status);
        /// The proposer withdraws an open proposal.
        function revoke(uint64 id) external;
        /// Proposals made so far (the last id).
        function proposalCount() external view returns (uint64 count);
        /// One proposal.
        function getProposal(uint64 id) external view returns (
            address proposer,
            string kind,
            string[] args,
            string status,
            uint64 created,
            uint64 expires,
            address[] voters,
            bool[] agrees
        );

        event ProposalCreated(uint64 indexed id, address indexed proposer, string kind, string[] args);
        event Voted(uint64 indexed id, address indexed voter, bool agree);
        event ProposalDecided(uint64 indexed id, string status, uint64 effectiveHeight);
        event ProposalRevoked(uint64 indexed id);
    }

    /// The system config (`0x…1001`).
    #[sol(abi)]
    interface ISystemConfig {
        /// The compatibility version and the height it took effect.
        function version() external view returns (uint64 version, uint64 since);
        /// A chain parameter by its `set-param` key, and the height the config holding it took effect.
        function getParam(string key) external view returns (uint64 value, uint64 since);
        /// The deploy and send policies.
        function policies() external view returns (string deploy, string send);
        /// Always refused: parameters change only by proposal.
        function setParam(string key, uint64 value) external;
    }

    /// Node management (`0x…1002`).
    #[sol(abi)]
    interface INodes {
        /// Validators in leader-rotation order, with the height each became one.
        function validators() external view returns (address[] nodes, uint64[] since);
        /// Observers, with the height each became one.
        function observers() external view returns (address[] nodes, uint64[] since);
        /// Always refused: the node lists change only by proposal.
        function addValidator(address node) external;
    }

    /// Account status (`0x…1003`).
    #[sol(abi)]
    interface IAccounts {
        /// An account's status word (`normal`, `frozen`, `abolished`), its rights, and the height they took effect.
        function statusOf(address account) external view returns (
            string status,
            bool sendGranted,
            bool deployGranted,
            bool deployRevoked,
            uint64 since
        );
        /// Always refused: status changes only by proposal.
        function setStatus(address account, string status) external;
    }

    /// Contract admin (`0x…1004`): a contract's admin (its deployer, or whom a `set-admin` proposal named) decides
    /// its status and who may call each method.
    #[sol(abi)]
    interface IContractAdmin {
        /// The contract's admin (zero: none) and the block it took over.
        function adminOf(address contract_) external view returns (address admin, uint64 since);
        /// The status the admin set (`normal`, `frozen`, `abolished`) and since when.
        function contractStatus(address contract_) external view returns (string status, uint64 since);
        /// A method's access mode (`open`, `allowlist`, `denylist`), whether `caller` is on its list, and whether
        /// `caller` may call it.
        function methodAccess(address contract_, bytes4 selector, address caller) external view returns (
            string mode,
            bool listed,
            bool allowed
        );
        /// The admin sets the contract's status, from the next block (`abolished` is final).
        function setContractStatus(address contract_, string status) external;
        /// The admin sets a method's access mode, from the next block.
        function setMethodAccess(address contract_, bytes4 selector, string mode) external;
        /// The admin puts `caller` on a method's list or takes it off, from the next block.
        function setMethodCaller(address contract_, bytes4 selector, address caller, bool listed) external;

        event ContractStatusSet(address indexed contract_, string status, uint64 effectiveHeight);
        event MethodAccessSet(address indexed contract_, bytes4 selector, string mode, uint64 effectiveHeight);
        event MethodCallerSet(address indexed contract_, bytes4 selector, address indexed caller, bool listed, uint64 effectiveHeight);
    }

    /// Solidity's revert reason.
    error Error(string reason);
}

/// The JSON ABI of the system contract at `address` (what `accord_getAbi` returns for it), `None` for any other
/// address.
pub fn json_abi(address: accord_sdk::Address) -> Option<serde_json::Value> {
    use accord_sdk::governance::{
        ACCOUNTS_ADDRESS, COMMITTEE_ADDRESS, CONTRACT_ADMIN_ADDRESS, NODES_ADDRESS, SYSTEM_CONFIG_ADDRESS,
    };
    let mut abi = match address {
        COMMITTEE_ADDRESS => ICommittee::abi::contract(),
        SYSTEM_CONFIG_ADDRESS => ISystemConfig::abi::contract(),
        NODES_ADDRESS => INodes::abi::contract(),
        ACCOUNTS_ADDRESS => IAccounts::abi::contract(),
        CONTRACT_ADMIN_ADDRESS => IContractAdmin::abi::contract(),
        _ => return None,
    };
    // The revert reason type is Solidity's own; clients know it without the ABI listing it.
    abi.errors.clear();
    serde_json::to_value(abi).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/governance.md` lists every function's selector and every event's topic as the node computes them.
    #[test]
    fn the_guide_lists_every_selector_and_event_topic() {
        let guide = include_str!("../../../docs/governance.md");
        let abis = [
            ICommittee::abi::contract(),
            ISystemConfig::abi::contract(),
            INodes::abi::contract(),
            IAccounts::abi::contract(),
        ];
        for abi in abis {
            for f in abi.functions() {
                let row = format!("| `0x{}` |", alloy_primitives::hex::encode(f.selector()));
                let named = guide.lines().any(|l| l.contains(&row) && l.contains(&format!("`{}(", f.name)));
                assert!(named, "docs/governance.md lacks {} with selector {row}", f.signature());
            }
            for e in abi.events() {
                let topic = format!("`{}`", e.selector());
                assert!(guide.contains(&topic), "docs/governance.md lacks event {} with topic {topic}", e.signature());
            }
        }
    }
}
