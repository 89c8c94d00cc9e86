//! Reading governed state from the system accounts' storage, the same way in execution (through the VM's host,
//! metered) and outside it (pool, block building, RPC, through a [`StateView`]).
//!
//! Every reader takes a slot reader `read(address, slot)`; the system contracts pass one that charges gas per slot
//! and stops with [`GovernedStateError::OutOfGas`], the node passes [`view_reader`].

use std::collections::BTreeSet;

use accord_sdk::genesis::Genesis;
use accord_sdk::governance::{
    ACCOUNTS_ADDRESS, AccountRights, AccountStatus, AdminRecord, ByteWord, COMMITTEE_ADDRESS, COMMITTEE_TAG,
    CONFIG_TAG, CONTRACT_ADMIN_ADDRESS, Committee, NODES_ADDRESS, NODES_TAG, NodeEntry, NodeLists, Policy, Proposal,
    RightsWord, SYSTEM_CONFIG_ADDRESS, Scheduled, SystemConfig, account_slot, admin_before_slot, admin_slot,
    contract_status_slot, method_caller_slot, method_slot, proposal_count_slot, proposal_tag, record_chunk_slot,
    record_length_slot, status_of_code,
};
use accord_sdk::{Address, B256, U256};

use crate::state::{StateError, StateView};

/// Why governed state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GovernedStateError {
    /// State could not be read.
    #[error(transparent)]
    State(#[from] StateError),
    /// The VM's host failed (aborts the block).
    #[error(transparent)]
    Host(#[from] accord_vm::HostError),
    /// The call's gas ran out while reading.
    #[error("out of gas")]
    OutOfGas,
    /// A record in state does not decode: the database is corrupt.
    #[error("{0}")]
    Corrupt(String),
}

/// Reads one storage slot of a system account.
pub type SlotReader<'a> = dyn FnMut(Address, B256) -> Result<B256, GovernedStateError> + 'a;

/// A slot reader over committed (or overlaid) state.
pub fn view_reader(view: &impl StateView) -> impl FnMut(Address, B256) -> Result<B256, GovernedStateError> + '_ {
    move |a, s| Ok(view.storage(a, s)?)
}

/// The bytes of the record under `tag` in `address`'s storage; empty when absent.
pub fn read_record(read: &mut SlotReader<'_>, address: Address, tag: &[u8]) -> Result<Vec<u8>, GovernedStateError> {
    let len = read(address, record_length_slot(tag))?;
    let len = usize::try_from(U256::from_be_bytes(len.0)).ok().filter(|l| *l <= MAX_RECORD_BYTES).ok_or_else(|| {
        GovernedStateError::Corrupt(format!("record {:?} of {address} has an impossible length", tag))
    })?;
    let mut bytes = Vec::with_capacity(len);
    for i in 0..len.div_ceil(32) as u64 {
        bytes.extend_from_slice(read(address, record_chunk_slot(tag, i))?.as_slice());
    }
    bytes.truncate(len);
    Ok(bytes)
}

/// Largest record the system contracts ever write (a proposal's arguments are bounded far below it).
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

fn corrupt(what: &str) -> GovernedStateError {
    GovernedStateError::Corrupt(format!("the {what} record in state does not decode"))
}

/// A scheduled record, `None` when absent.
pub fn scheduled(
    read: &mut SlotReader<'_>,
    address: Address,
    tag: &[u8],
    what: &str,
) -> Result<Option<Scheduled>, GovernedStateError> {
    let bytes = read_record(read, address, tag)?;
    if bytes.is_empty() {
        return Ok(None);
    }
    Scheduled::decode(&bytes).map(Some).ok_or_else(|| corrupt(what))
}

/// The committee in force at `height` and since when; `None` on an ungoverned chain.
pub fn committee_at(read: &mut SlotReader<'_>, height: u64) -> Result<Option<(Committee, u64)>, GovernedStateError> {
    let Some(s) = scheduled(read, COMMITTEE_ADDRESS, COMMITTEE_TAG, "committee")? else { return Ok(None) };
    let (bytes, since) = s.at(height);
    Ok(Some((Committee::decode(bytes).ok_or_else(|| corrupt("committee"))?, since)))
}

/// The system config in force at `height` and since when; `None` on an ungoverned chain.
pub fn config_at(read: &mut SlotReader<'_>, height: u64) -> Result<Option<(SystemConfig, u64)>, GovernedStateError> {
    let Some(s) = scheduled(read, SYSTEM_CONFIG_ADDRESS, CONFIG_TAG, "system config")? else { return Ok(None) };
    let (bytes, since) = s.at(height);
    Ok(Some((SystemConfig::decode(bytes).ok_or_else(|| corrupt("system config"))?, since)))
}

/// The node lists in force at `height` and since when; `None` on an ungoverned chain.
pub fn nodes_at(read: &mut SlotReader<'_>, height: u64) -> Result<Option<(NodeLists, u64)>, GovernedStateError> {
    let Some(s) = scheduled(read, NODES_ADDRESS, NODES_TAG, "node list")? else { return Ok(None) };
    let (bytes, since) = s.at(height);
    Ok(Some((NodeLists::decode(bytes).ok_or_else(|| corrupt("node list"))?, since)))
}

/// `account`'s rights word.
pub fn rights_word(read: &mut SlotReader<'_>, account: Address) -> Result<RightsWord, GovernedStateError> {
    Ok(RightsWord::from_word(read(ACCOUNTS_ADDRESS, account_slot(account))?))
}

/// Proposals made so far (the last id).
pub fn proposal_count(read: &mut SlotReader<'_>) -> Result<u64, GovernedStateError> {
    let w = read(COMMITTEE_ADDRESS, proposal_count_slot())?;
    u64::try_from(U256::from_be_bytes(w.0)).map_err(|_| corrupt("proposal count"))
}

/// Proposal `id`, `None` when there is none.
pub fn proposal(read: &mut SlotReader<'_>, id: u64) -> Result<Option<Proposal>, GovernedStateError> {
    let bytes = read_record(read, COMMITTEE_ADDRESS, &proposal_tag(id))?;
    if bytes.is_empty() {
        return Ok(None);
    }
    Proposal::decode(&bytes).map(Some).ok_or_else(|| corrupt("proposal"))
}

/// The system config a genesis starts with: its parameters, compatibility version 1, send and deploy open, each
/// node's own consensus timeout.
pub fn genesis_config(genesis: &Genesis) -> SystemConfig {
    SystemConfig {
        version: accord_sdk::FORMAT_VERSION,
        block_gas_limit: genesis.params.block_gas_limit,
        max_block_transactions: genesis.params.block_transactions_bound(genesis.committee.is_some()),
        max_tx_bytes: genesis.params.max_tx_bytes as u64,
        max_contract_memory_bytes: genesis.params.max_contract_memory_bytes,
        consensus_timeout_ms: 0,
        deploy_policy: Policy::Open.code(),
        send_policy: Policy::Open.code(),
    }
}

/// The governed state a genesis starts with: the committee, the system config from its parameters (send and deploy
/// open) and the node lists, as `(address, slot, word)` writes. Empty for an ungoverned chain.
pub fn genesis_records(genesis: &Genesis) -> Vec<(Address, B256, B256)> {
    let Some(committee) = &genesis.committee else { return Vec::new() };
    let config = genesis_config(genesis);
    let nodes = genesis_nodes(genesis);
    let records = [
        (COMMITTEE_ADDRESS, COMMITTEE_TAG, committee.encode()),
        (SYSTEM_CONFIG_ADDRESS, CONFIG_TAG, config.encode()),
        (NODES_ADDRESS, NODES_TAG, nodes.encode()),
    ];
    records.into_iter().flat_map(|(address, tag, value)| scheduled_writes(address, tag, 0, value)).collect()
}

/// The node lists the genesis names, in force from height 0.
pub fn genesis_nodes(genesis: &Genesis) -> NodeLists {
    let entry = |v: &accord_sdk::block::Validator| NodeEntry { address: v.address, since: 0 };
    NodeLists {
        validators: genesis.validators.iter().map(entry).collect(),
        observers: genesis.observers.iter().map(entry).collect(),
    }
}

/// The `(address, slot, word)` writes that store `value` as a record under `tag` in `address`, in force from
/// `since` with nothing scheduled (the genesis, an emergency transition).
pub fn scheduled_writes(address: Address, tag: &[u8], since: u64, value: Vec<u8>) -> Vec<(Address, B256, B256)> {
    let bytes = Scheduled::new(since, value).encode();
    accord_sdk::governance::record_slots(tag, &bytes).into_iter().map(|(slot, word)| (address, slot, word)).collect()
}

/// What the chain's rules are for one block: its parameters and policies, and who governs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRules {
    /// Version, parameters, policies.
    pub config: SystemConfig,
    /// Governors (they may always send). Empty exactly on an ungoverned chain (a committee has at least one), where
    /// nothing is refused.
    pub governors: BTreeSet<Address>,
}

impl BlockRules {
    /// The rules of the block at `height`, read from the state it executes on (changes made up to `height - 1`
    /// are in force). An ungoverned chain's rules are its genesis parameters, everyone permitted.
    pub fn at(view: &impl StateView, genesis: &Genesis, height: u64) -> Result<Self, GovernedStateError> {
        if genesis.committee.is_none() {
            return Ok(Self::ungoverned(genesis));
        }
        let mut read = view_reader(view);
        match (committee_at(&mut read, height)?, config_at(&mut read, height)?) {
            (Some((committee, _)), Some((config, _))) => {
                Ok(Self { config, governors: committee.governors.keys().copied().collect() })
            }
            _ => Ok(Self::ungoverned(genesis)),
        }
    }

    /// The rules of a chain without a committee.
    pub fn ungoverned(genesis: &Genesis) -> Self {
        Self { config: genesis_config(genesis), governors: BTreeSet::new() }
    }

    /// Why `sender` may not send this transaction (to `to` with `input`, or a creation) in the block at `height`,
    /// if it may not: the one permission rule the pool and execution share (`docs/governance.md`, "Enforcement").
    pub fn refusal(
        &self,
        read: &mut SlotReader<'_>,
        sender: Address,
        to: Option<Address>,
        input: &[u8],
        height: u64,
    ) -> Result<Option<Refusal>, GovernedStateError> {
        if self.governors.is_empty() {
            return Ok(None);
        }
        let rights = rights_word(read, sender)?.at(height).0;
        match rights.status() {
            AccountStatus::Frozen => return Ok(Some(Refusal::Frozen(sender))),
            AccountStatus::Abolished => return Ok(Some(Refusal::Abolished(sender))),
            AccountStatus::Normal => {}
        }
        if !self.governors.contains(&sender) && !rights.may_send(self.config.send()) {
            return Ok(Some(Refusal::SendNotPermitted(sender)));
        }
        match to {
            None if !rights.may_deploy(self.config.deploy()) => Ok(Some(Refusal::DeployNotPermitted(sender))),
            None => Ok(None),
            Some(to) => callee_refusal(read, sender, to, input, height),
        }
    }
}

/// Why `caller` may not call `to` with `input` at `height`, if it may not: the account is frozen or abolished (by
/// proposal), the contract is frozen or abolished by its admin, or the method's access list keeps the caller out.
pub fn callee_refusal(
    read: &mut SlotReader<'_>,
    caller: Address,
    to: Address,
    input: &[u8],
    height: u64,
) -> Result<Option<Refusal>, GovernedStateError> {
    match rights_word(read, to)?.at(height).0.status() {
        AccountStatus::Normal => {}
        AccountStatus::Frozen => return Ok(Some(Refusal::Frozen(to))),
        AccountStatus::Abolished => return Ok(Some(Refusal::Abolished(to))),
    }
    match status_of_code(ByteWord::from_word(read(CONTRACT_ADMIN_ADDRESS, contract_status_slot(to))?).at(height)) {
        AccountStatus::Normal => {}
        AccountStatus::Frozen => return Ok(Some(Refusal::ContractFrozen(to))),
        AccountStatus::Abolished => return Ok(Some(Refusal::ContractAbolished(to))),
    }
    let Some(selector) = input.get(..4).and_then(|s| <[u8; 4]>::try_from(s).ok()) else { return Ok(None) };
    let mode =
        Policy::from_code(ByteWord::from_word(read(CONTRACT_ADMIN_ADDRESS, method_slot(to, selector))?).at(height));
    let listed = |read: &mut SlotReader<'_>| -> Result<bool, GovernedStateError> {
        Ok(ByteWord::from_word(read(CONTRACT_ADMIN_ADDRESS, method_caller_slot(to, selector, caller))?).at(height) == 1)
    };
    let allowed = match mode {
        Some(Policy::Allowlist) => listed(read)?,
        Some(Policy::Denylist) => !listed(read)?,
        _ => true,
    };
    Ok((!allowed).then_some(Refusal::MethodClosed { contract: to, selector: selector.into(), caller }))
}

/// A contract's admin at `height` (zero: none) and since when.
pub fn admin_at(
    read: &mut SlotReader<'_>,
    contract: Address,
    height: u64,
) -> Result<(Address, u64), GovernedStateError> {
    let r = admin_record(read, contract)?;
    Ok((r.at(height), if height >= r.since { r.since } else { 0 }))
}

/// A contract's admin record.
pub fn admin_record(read: &mut SlotReader<'_>, contract: Address) -> Result<AdminRecord, GovernedStateError> {
    let now = read(CONTRACT_ADMIN_ADDRESS, admin_slot(contract))?;
    let before = read(CONTRACT_ADMIN_ADDRESS, admin_before_slot(contract))?;
    Ok(AdminRecord::from_words(now, before))
}

/// Why governance refuses a transaction. The messages are what RPC clients and revert reasons show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The account (sender or callee) is frozen.
    #[error("account {0} is frozen")]
    Frozen(Address),
    /// The account (sender or callee) is abolished.
    #[error("account {0} is abolished")]
    Abolished(Address),
    /// The send policy is an allowlist and the sender is not on it.
    #[error("sender not permitted: {0} is not on the send allowlist")]
    SendNotPermitted(Address),
    /// The deploy policy does not let the sender deploy.
    #[error("deploy not permitted: {0} may not deploy contracts under the current deploy policy")]
    DeployNotPermitted(Address),
    /// The contract's admin froze it.
    #[error("contract {0} is frozen by its admin")]
    ContractFrozen(Address),
    /// The contract's admin abolished it.
    #[error("contract {0} is abolished by its admin")]
    ContractAbolished(Address),
    /// The method's access list keeps the caller out.
    #[error("method {selector} of contract {contract} is not open to {caller}")]
    MethodClosed {
        /// The contract.
        contract: Address,
        /// The method's selector.
        selector: alloy_primitives::FixedBytes<4>,
        /// Who called.
        caller: Address,
    },
}

/// Rights of `account` at `height` (for RPC).
pub fn rights_at(
    view: &impl StateView,
    account: Address,
    height: u64,
) -> Result<(AccountRights, u64), GovernedStateError> {
    Ok(rights_word(&mut view_reader(view), account)?.at(height))
}
