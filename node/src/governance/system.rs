//! The system contracts, native (`accord_vm::NativeContracts`), at the addresses in `accord_sdk::governance`.
//!
//! Only the committee's read functions exist so far; proposals, votes and the other system contracts follow
//! (`docs/architecture.md`, "Governance"). Calls are Solidity-ABI encoded; an unknown function or a call with value
//! reverts with an `Error(string)` reason, as Solidity does, so clients show it.

use accord_sdk::governance::{COMMITTEE_ADDRESS, COMMITTEE_TAG, Committee, record_chunk_slot, record_length_slot};
use accord_sdk::{Address, B256};
use accord_vm::{Host, HostError, NativeCall, NativeContracts, Outcome, Status};
use alloy_sol_types::{SolCall, SolError, sol};

sol! {
    /// The committee's read functions.
    interface ICommittee {
        /// Governors and their weights, by address.
        function governors() external view returns (address[] memory accounts, uint64[] memory weights);
        /// Participation and win thresholds (percentages) and the proposal lifetime in blocks.
        function thresholds() external view returns (uint8 participation, uint8 win, uint64 lifetime);
    }
    /// Solidity's revert reason.
    error Error(string reason);
}

/// Gas of any system call, before the slots it reads.
pub const CALL_GAS: u64 = 700;
/// Gas per storage slot a system call reads.
pub const SLOT_READ_GAS: u64 = 2_100;

/// The node's system contracts.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemContracts;

impl<H: Host> NativeContracts<H> for SystemContracts {
    fn is_native(&self, address: Address) -> bool {
        address == COMMITTEE_ADDRESS
    }

    fn call(&self, host: &mut H, call: NativeCall<'_>) -> Result<Outcome, HostError> {
        let mut meter = Meter { used: 0, limit: call.gas_limit };
        if !meter.charge(CALL_GAS) {
            return Ok(meter.out_of_gas());
        }
        if !call.value.is_zero() {
            return Ok(revert("system contracts take no value", meter.used));
        }
        let selector: Option<[u8; 4]> = call.input.get(..4).and_then(|s| s.try_into().ok());
        match selector {
            Some(ICommittee::governorsCall::SELECTOR) => {
                let Some(c) = read_committee(host, &mut meter)? else { return Ok(meter.out_of_gas()) };
                let (accounts, weights): (Vec<Address>, Vec<u64>) = c.governors.into_iter().unzip();
                Ok(success(ICommittee::governorsCall::abi_encode_returns_tuple(&(accounts, weights)), meter.used))
            }
            Some(ICommittee::thresholdsCall::SELECTOR) => {
                let Some(c) = read_committee(host, &mut meter)? else { return Ok(meter.out_of_gas()) };
                let out = (c.participation_pct, c.win_pct, c.lifetime_blocks);
                Ok(success(ICommittee::thresholdsCall::abi_encode_returns_tuple(&out), meter.used))
            }
            _ => Ok(revert("unknown function of the committee contract", meter.used)),
        }
    }
}

/// Gas spent against the call's limit.
struct Meter {
    used: u64,
    limit: u64,
}

impl Meter {
    /// Charges `gas`; false when the limit would be passed.
    fn charge(&mut self, gas: u64) -> bool {
        self.used = self.used.saturating_add(gas);
        self.used <= self.limit
    }

    fn out_of_gas(&self) -> Outcome {
        Outcome {
            status: Status::Failure(accord_vm::Failure::OutOfGas),
            gas_used: self.limit,
            output: Vec::new(),
            logs: Vec::new(),
            created: None,
        }
    }
}

fn success(output: Vec<u8>, gas_used: u64) -> Outcome {
    Outcome { status: Status::Success, gas_used, output, logs: Vec::new(), created: None }
}

fn revert(reason: &str, gas_used: u64) -> Outcome {
    let output = Error { reason: reason.to_string() }.abi_encode();
    Outcome { status: Status::Revert, gas_used, output, logs: Vec::new(), created: None }
}

/// The bytes of the record under `tag` in `address`'s storage, read slot by slot with `read`; `charge(n)` is asked
/// before `n` slots are read and may refuse (the gas ran out): `Ok(None)` then. An absent record is empty.
fn read_record<E>(
    mut read: impl FnMut(B256) -> Result<B256, E>,
    tag: &[u8],
    mut charge: impl FnMut(u64) -> bool,
) -> Result<Option<Vec<u8>>, E> {
    if !charge(1) {
        return Ok(None);
    }
    let len = read(record_length_slot(tag))?;
    let len = usize::try_from(alloy_primitives::U256::from_be_bytes(len.0)).unwrap_or(usize::MAX);
    let chunks = len.div_ceil(32) as u64;
    if !charge(chunks) {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(len);
    for i in 0..chunks {
        bytes.extend_from_slice(read(record_chunk_slot(tag, i))?.as_slice());
    }
    bytes.truncate(len);
    Ok(Some(bytes))
}

fn decode_committee(bytes: &[u8]) -> Result<Option<Committee>, String> {
    if bytes.is_empty() {
        return Ok(None);
    }
    Committee::decode(bytes)
        .map(Some)
        .ok_or_else(|| format!("the committee record in state does not decode ({} bytes)", bytes.len()))
}

/// The committee as kept in state; `Ok(None)` when the gas ran out. A chain without a committee reads as one with
/// no governors.
fn read_committee<H: Host>(host: &mut H, meter: &mut Meter) -> Result<Option<Committee>, HostError> {
    let read = |slot| host.storage_read(COMMITTEE_ADDRESS, slot);
    let Some(bytes) = read_record(read, COMMITTEE_TAG, |n| meter.charge(SLOT_READ_GAS.saturating_mul(n)))? else {
        return Ok(None);
    };
    let committee = decode_committee(&bytes).map_err(HostError)?;
    Ok(Some(committee.unwrap_or(Committee {
        governors: Default::default(),
        participation_pct: 0,
        win_pct: 0,
        lifetime_blocks: 0,
    })))
}

/// Why governed state could not be read outside execution.
#[derive(Debug, thiserror::Error)]
pub enum GovernedStateError {
    /// State could not be read.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// A record in state does not decode: the database is corrupt.
    #[error("{0}")]
    Corrupt(String),
}

/// The committee in `state` (for RPC and the node's own reads); `None` when the chain is not governed.
pub fn committee_in(state: &impl crate::state::StateView) -> Result<Option<Committee>, GovernedStateError> {
    let read = |slot| state.storage(COMMITTEE_ADDRESS, slot);
    let bytes = read_record(read, COMMITTEE_TAG, |_| true)?.unwrap_or_default();
    decode_committee(&bytes).map_err(GovernedStateError::Corrupt)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use accord_sdk::U256;
    use accord_sdk::keys::KeyPair;

    use super::*;
    use crate::chain::Chain;
    use crate::executor::{BlockEnv, Simulation};

    const A: Address = Address::repeat_byte(0xa);
    const B: Address = Address::repeat_byte(0xb);

    fn chain_with(committee: Option<Committee>) -> (tempfile::TempDir, Chain) {
        let mut genesis =
            crate::test_genesis::genesis(&KeyPair::generate(), &[(A, U256::from(10u8))], Default::default());
        genesis.committee = committee;
        let dir = tempfile::tempdir().expect("tempdir");
        let chain = Chain::open(dir.path(), genesis).expect("opens");
        (dir, chain)
    }

    fn call(chain: &Chain, input: Vec<u8>, value: U256, gas: u64) -> Outcome {
        let env = BlockEnv { number: 0, timestamp: 100, proposer: Address::ZERO, base_fee: 0, gas_limit: 30_000_000 };
        let sim = Simulation { from: A, to: Some(COMMITTEE_ADDRESS), value, input, gas };
        chain.simulator().simulate(Arc::new(chain.state().at(0)), &env, sim).expect("no state error")
    }

    fn reason(out: &Outcome) -> String {
        Error::abi_decode(&out.output).expect("an Error(string) revert").reason
    }

    #[test]
    fn the_genesis_committee_is_in_state_and_readable_through_its_abi() {
        let committee = Committee {
            governors: [(A, 1), (B, 3)].into_iter().collect(),
            participation_pct: 60,
            win_pct: 51,
            lifetime_blocks: 500,
        };
        let (_dir, chain) = chain_with(Some(committee));
        let out = call(&chain, ICommittee::governorsCall {}.abi_encode(), U256::ZERO, 100_000);
        assert_eq!(out.status, Status::Success);
        let got = ICommittee::governorsCall::abi_decode_returns(&out.output).expect("decodes");
        assert_eq!((got.accounts, got.weights), (vec![A, B], vec![1, 3]));
        assert!(out.gas_used > CALL_GAS + SLOT_READ_GAS, "priced per slot read: {}", out.gas_used);

        let out = call(&chain, ICommittee::thresholdsCall {}.abi_encode(), U256::ZERO, 100_000);
        let t = ICommittee::thresholdsCall::abi_decode_returns(&out.output).expect("decodes");
        assert_eq!((t.participation, t.win, t.lifetime), (60, 51, 500));

        let read = committee_in(&chain.state().at(0)).expect("reads").expect("governed");
        assert_eq!(read.governors.len(), 2);

        // The committee is part of the genesis state, so it changes the genesis hash.
        let (_dir2, without) = chain_with(None);
        assert_ne!(chain.genesis_hash(), without.genesis_hash());
        // An ungoverned chain has no system contracts: the address is a plain account, as before they existed.
        let out = call(&without, ICommittee::governorsCall {}.abi_encode(), U256::ZERO, 100_000);
        assert_eq!((out.status, out.output.len(), out.gas_used), (Status::Success, 0, 0));
        assert_eq!(committee_in(&without.state().at(0)).expect("reads"), None);
    }

    #[test]
    fn unknown_functions_value_and_short_gas_are_refused_clearly() {
        let committee = Committee {
            governors: [(A, 1)].into_iter().collect(),
            participation_pct: 50,
            win_pct: 50,
            lifetime_blocks: 9,
        };
        let (_dir, chain) = chain_with(Some(committee));
        let out = call(&chain, vec![1, 2, 3, 4], U256::ZERO, 100_000);
        assert_eq!(
            (out.status.clone(), reason(&out).as_str()),
            (Status::Revert, "unknown function of the committee contract")
        );
        let out = call(&chain, ICommittee::governorsCall {}.abi_encode(), U256::from(1u8), 100_000);
        assert_eq!((out.status.clone(), reason(&out).as_str()), (Status::Revert, "system contracts take no value"));
        let out = call(&chain, ICommittee::governorsCall {}.abi_encode(), U256::ZERO, CALL_GAS + 10);
        assert_eq!((out.status, out.gas_used), (Status::Failure(accord_vm::Failure::OutOfGas), CALL_GAS + 10));
    }
}
