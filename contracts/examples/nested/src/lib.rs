//! Nested-call rollback tests. Two (or more) instances call each other; each keeps three counters at raw slots
//! A = 0, B = 1, C = 2, readable with `get(uint256 slot)` or `eth_getStorageAt`.
//!
//! - `writeThenCall(address target, bool innerReverts) -> uint8 status`: writes A = 1, calls
//!   `target.inner(innerReverts)`, records C = 1 + the call's status (1 success, 2 reverted, 3 failed), emits
//!   `Outer(target, status)` and returns normally.
//! - `writeThenCallTrap(address target) -> uint8 status`: the same with `target.innerTrap()`.
//! - `inner(bool shouldRevert)`: writes B = 1, emits `Inner(self, shouldRevert)`, then reverts with
//!   `Error("inner reverted")` if `shouldRevert`.
//! - `innerTrap()`: writes B = 2, emits `Inner(self, true)`, then traps (`unreachable`).
//! - `writeThenRevert()`: writes A = B = C = 1, emits `Outer(self, 0)`, then reverts with
//!   `Error("writeThenRevert")`.
//! - `get(uint256 slot) -> uint256`: the raw word at `slot`.
//!
//! Expected post-states, for instances X (called by the transaction) and Y (the target), both fresh:
//!
//! | transaction | receipt | X.A | X.B | X.C | Y.B | logs |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | `X.writeThenCall(Y, false)` | 1 (success) | 1 | 0 | 1 | 1 | `Inner` from Y, then `Outer(Y, 0)` from X |
//! | `X.writeThenCall(Y, true)` | 1 (success) | 1 | 0 | 2 | 0 | `Outer(Y, 1)` from X only |
//! | `X.writeThenCallTrap(Y)` | 1 (success) | 1 | 0 | 3 | 0 | `Outer(Y, 2)` from X only (the inner call used all the gas it was given) |
//! | `X.writeThenCall(X, true)` | 1 (success) | 1 | 0 | 2 | – | `Outer(X, 1)` only: the rollback of the inner frame keeps X.A = 1 written before it |
//! | `X.writeThenCall(X, false)` | 1 (success) | 1 | 1 | 1 | – | `Inner`, `Outer(X, 0)`, both from X |
//! | `X.writeThenRevert()` | 0 (reverted) | 0 | 0 | 0 | – | none; revert data `Error("writeThenRevert")` |
#![cfg_attr(not(test), no_std)]

use accord_contract::prelude::*;

/// Emitted by `inner`/`innerTrap`.
#[event]
pub struct Inner {
    /// The instance that ran `inner`.
    #[indexed]
    pub instance: Address,
    /// Whether it was about to revert (or trap).
    pub should_revert: bool,
}

/// Emitted by the outer call once the inner call returned.
#[event]
pub struct Outer {
    /// The inner call's target.
    #[indexed]
    pub target: Address,
    /// Its status: 0 success, 1 reverted, 2 failed.
    pub status: u8,
}

/// Slots A, B, C.
#[storage]
pub struct Nested {
    a: StorageValue<U256>,
    b: StorageValue<U256>,
    c: StorageValue<U256>,
}

impl Nested {
    /// Writes A = 1, calls `target` with `input`, records C = 1 + status and emits `Outer`.
    fn write_call_record(&mut self, target: Address, input: &[u8]) -> u8 {
        self.a.set(&U256::ONE);
        let status = env::call(&target, &U256::ZERO, input, env::ALL_GAS).code();
        self.c.set(&U256::from(1 + status));
        Outer { target, status }.emit();
        status
    }
}

#[contract(events = [Inner, Outer])]
impl Nested {
    /// A = 1; `target.inner(innerReverts)`; C = 1 + status.
    #[message]
    pub fn write_then_call(&mut self, target: Address, inner_reverts: bool) -> u8 {
        let input = accord_contract::abi::encode_with_selector(selector!("inner(bool)"), &(inner_reverts,));
        self.write_call_record(target, &input)
    }

    /// A = 1; `target.innerTrap()`; C = 1 + status.
    #[message]
    pub fn write_then_call_trap(&mut self, target: Address) -> u8 {
        self.write_call_record(target, &selector!("innerTrap()"))
    }

    /// B = 1, `Inner`, then reverts if `should_revert`.
    #[message]
    pub fn inner(&mut self, should_revert: bool) -> Result<()> {
        self.b.set(&U256::ONE);
        Inner { instance: env::self_address(), should_revert }.emit();
        ensure!(!should_revert, "inner reverted");
        Ok(())
    }

    /// B = 2, `Inner`, then traps.
    #[message]
    pub fn inner_trap(&mut self) {
        self.b.set(&U256::from(2u64));
        Inner { instance: env::self_address(), should_revert: true }.emit();
        #[cfg(target_arch = "wasm32")]
        core::arch::wasm32::unreachable();
        // The native test host has no traps; a panic stands in (and is reported as a revert).
        #[cfg(not(target_arch = "wasm32"))]
        panic!("innerTrap");
    }

    /// A = B = C = 1, `Outer(self, 0)`, then reverts.
    #[message]
    pub fn write_then_revert(&mut self) {
        self.a.set(&U256::ONE);
        self.b.set(&U256::ONE);
        self.c.set(&U256::ONE);
        Outer { target: env::self_address(), status: 0 }.emit();
        revert("writeThenRevert")
    }

    /// The raw word at `slot`.
    #[message]
    pub fn get(&self, slot: U256) -> U256 {
        U256::from_be_bytes(&Slot::from_u256(slot).read())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_contract::abi;
    use accord_contract::testing::{self, Outcome};

    fn get(at: Address, slot: u64) -> u64 {
        let out = testing::call(
            testing::account(1),
            at,
            &abi::encode_with_selector(selector!("get(uint256)"), &(U256::from(slot),)),
        );
        out.decode::<(U256,)>().expect("test value").0.to_u64().expect("test value")
    }

    fn setup() -> (Address, Address) {
        testing::reset();
        let alice = testing::account(1);
        let (x, _) = testing::deploy::<Nested>(alice, &[]);
        let (y, _) = testing::deploy::<Nested>(alice, &[]);
        (x, y)
    }

    fn write_then_call(x: Address, y: Address, reverts: bool) -> Outcome {
        let input = abi::encode_with_selector(selector!("writeThenCall(address,bool)"), &(y, reverts));
        testing::call(testing::account(1), x, &input)
    }

    #[test]
    fn inner_success() {
        let (x, y) = setup();
        assert_eq!(write_then_call(x, y, false).decode::<(u8,)>().expect("test value"), (0,));
        assert_eq!((get(x, 0), get(x, 1), get(x, 2), get(y, 1)), (1, 0, 1, 1));
        let logs = testing::logs();
        assert_eq!(logs.len(), 2);
        assert_eq!((logs[0].address, logs[1].address), (y, x));
    }

    #[test]
    fn inner_revert_is_undone() {
        let (x, y) = setup();
        assert_eq!(write_then_call(x, y, true).decode::<(u8,)>().expect("test value"), (1,));
        assert_eq!((get(x, 0), get(x, 1), get(x, 2), get(y, 1)), (1, 0, 2, 0));
        let logs = testing::logs();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].address, x);
    }

    #[test]
    fn inner_trap_is_undone() {
        let (x, y) = setup();
        let input = abi::encode_with_selector(selector!("writeThenCallTrap(address)"), &(y,));
        let out = testing::call(testing::account(1), x, &input);
        assert_eq!(out.decode::<(u8,)>().expect("test value"), (1,), "the test host reports a panic as a revert");
        assert_eq!((get(x, 0), get(x, 2), get(y, 1)), (1, 2, 0));
    }

    #[test]
    fn self_call_revert_keeps_outer_write() {
        let (x, _) = setup();
        write_then_call(x, x, true);
        assert_eq!((get(x, 0), get(x, 1), get(x, 2)), (1, 0, 2));
    }

    #[test]
    fn write_then_revert() {
        let (x, _) = setup();
        let out = testing::call(testing::account(1), x, &selector!("writeThenRevert()"));
        assert_eq!(out.revert_message().as_deref(), Some("writeThenRevert"));
        assert_eq!((get(x, 0), get(x, 1), get(x, 2)), (0, 0, 0));
        assert!(testing::logs().is_empty());
    }
}
