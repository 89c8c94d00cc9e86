//! Adversarial: recursive and re-entrant calls through host `call`, to test the call-depth limit (64) and that a
//! re-entered contract sees, and can build on, its own pending writes.
//!
//! Storage: `calls` (slot 0) counts the frames of `recurse`/`recurseStrict` that completed; `lastStatus`
//! (slot 1) is the status of the last nested call that did not succeed.
//!
//! - `recurse(uint256 depth) -> (uint256 reached, uint256 calls)`: increments `calls`, then, unless `depth` is 0,
//!   calls itself (through its own address, with all the gas allowed) with `depth - 1`. A nested call that fails
//!   (e.g. beyond the depth limit) is recorded in `lastStatus` and ends the recursion there, without undoing the
//!   frames above it. `reached` is the number of nested calls that succeeded below this frame; `calls` is read
//!   after the nested call returns, so it includes the nested frames' increments.
//!   Called from a transaction with depth 100 and a limit of 64 nested frames (the transaction's own call being
//!   the first), the expected result is `reached = 63`, `calls = 64` (plus what earlier calls counted) and
//!   `lastStatus = 2`.
//! - `recurseStrict(uint256 depth) -> uint256 reached`: the same, but a nested call that does not succeed makes
//!   this frame revert too (bubbling the revert data up), so beyond the depth limit the whole chain reverts and
//!   `calls` is unchanged.
//! - `callBack(bytes data) -> (uint8 status, bytes output)`: calls its caller with `data` (re-entering it).
//! - `callTarget(address target, bytes data) -> (uint8 status, bytes output)`: calls `target` with `data`.
//! - `calls() -> uint256`, `lastStatus() -> uint8`: views.
#![cfg_attr(not(test), no_std)]

use accord_contract::prelude::*;

/// Counters.
#[storage]
pub struct Reentrancy {
    calls: StorageValue<U256>,
    last_status: StorageValue<u8>,
}

const RECURSE: [u8; 4] = selector!("recurse(uint256)");
const RECURSE_STRICT: [u8; 4] = selector!("recurseStrict(uint256)");

impl Reentrancy {
    /// Increments `calls`.
    fn count(&mut self) {
        let n = self.calls.get().wrapping_add(U256::ONE);
        self.calls.set(&n);
    }
}

#[contract]
impl Reentrancy {
    /// Recurses `depth` levels through host `call`; stops at the first failure.
    #[message]
    pub fn recurse(&mut self, depth: U256) -> (U256, U256) {
        self.count();
        if depth.is_zero() {
            return (U256::ZERO, self.calls.get());
        }
        let input = accord_contract::abi::encode_with_selector(RECURSE, &(depth - U256::ONE,));
        let r = env::call_with_output(&env::self_address(), &U256::ZERO, &input, env::ALL_GAS);
        let reached = match r.status {
            CallStatus::Success => match accord_contract::abi::decode::<(U256, U256)>(&r.output) {
                Ok((below, _)) => below.wrapping_add(U256::ONE),
                Err(_) => revert("recurse: bad nested output"),
            },
            status => {
                self.last_status.set(&status.code());
                U256::ZERO
            }
        };
        (reached, self.calls.get())
    }

    /// Recurses `depth` levels; any nested failure reverts the whole chain.
    #[message]
    pub fn recurse_strict(&mut self, depth: U256) -> U256 {
        self.count();
        if depth.is_zero() {
            return U256::ZERO;
        }
        let input = accord_contract::abi::encode_with_selector(RECURSE_STRICT, &(depth - U256::ONE,));
        let r = env::call_with_output(&env::self_address(), &U256::ZERO, &input, env::ALL_GAS);
        match r.status {
            CallStatus::Success => match accord_contract::abi::decode::<(U256,)>(&r.output) {
                Ok((below,)) => below.wrapping_add(U256::ONE),
                Err(_) => revert("recurseStrict: bad nested output"),
            },
            CallStatus::Reverted => env::revert(&r.output),
            CallStatus::Failed => revert("recurseStrict: nested call failed"),
        }
    }

    /// Re-enters the caller with `data`.
    #[message]
    pub fn call_back(&mut self, data: Bytes) -> (u8, Bytes) {
        let r = env::call_with_output(&env::caller(), &U256::ZERO, &data, env::ALL_GAS);
        (r.status.code(), Bytes(r.output))
    }

    /// Calls `target` with `data`.
    #[message]
    pub fn call_target(&mut self, target: Address, data: Bytes) -> (u8, Bytes) {
        let r = env::call_with_output(&target, &U256::ZERO, &data, env::ALL_GAS);
        (r.status.code(), Bytes(r.output))
    }

    /// Completed frames of `recurse`/`recurseStrict`.
    #[message]
    pub fn calls(&self) -> U256 {
        self.calls.get()
    }

    /// Status of the last nested call that did not succeed (0 if none).
    #[message]
    pub fn last_status(&self) -> u8 {
        self.last_status.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_contract::abi;
    use accord_contract::testing;

    #[test]
    fn depth_limit() {
        testing::reset();
        let alice = testing::account(1);
        let (r, out) = testing::deploy::<Reentrancy>(alice, &[]);
        assert!(out.is_success());
        let out = testing::call(alice, r, &abi::encode_with_selector(RECURSE, &(U256::from(100u64),)));
        assert_eq!(out.decode::<(U256, U256)>().expect("test value"), (U256::from(63u64), U256::from(64u64)));
        let last = testing::call(alice, r, &abi::encode_with_selector(selector!("lastStatus()"), &()));
        assert_eq!(last.decode::<(u8,)>().expect("test value"), (2,));

        let out = testing::call(alice, r, &abi::encode_with_selector(RECURSE_STRICT, &(U256::from(100u64),)));
        assert_eq!(out.revert_message().as_deref(), Some("recurseStrict: nested call failed"));
        let calls = testing::call(alice, r, &abi::encode_with_selector(selector!("calls()"), &()));
        assert_eq!(calls.decode::<(U256,)>().expect("test value"), (U256::from(64u64),));

        let out = testing::call(alice, r, &abi::encode_with_selector(RECURSE_STRICT, &(U256::from(10u64),)));
        assert_eq!(out.decode::<(U256,)>().expect("test value"), (U256::from(10u64),));
    }
}
