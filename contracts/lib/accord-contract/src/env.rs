//! Safe wrappers over the host functions (`docs/contract-abi.md`, module `accord`).

use alloc::vec::Vec;

use crate::sys;
use crate::types::{Address, U256};

/// Length of the call input (calldata; the constructor arguments in `deploy`).
#[inline]
pub fn input_len() -> usize {
    // SAFETY: no memory is touched.
    unsafe { sys::input_len() as u32 as usize }
}

/// The whole call input (calldata; the constructor arguments in `deploy`).
#[inline]
pub fn input() -> Vec<u8> {
    let len = input_len();
    let mut buf = Vec::with_capacity(len);
    if len > 0 {
        // SAFETY: `buf` has capacity for `len` bytes, which the host fills entirely.
        unsafe {
            sys::input_read(buf.as_mut_ptr());
            buf.set_len(len);
        }
    }
    buf
}

/// Copies the call input into `buf` and returns its length, or `None` (copying nothing) if `buf` is too short.
pub fn read_input(buf: &mut [u8]) -> Option<usize> {
    let len = input_len();
    if len > buf.len() {
        return None;
    }
    if len > 0 {
        // SAFETY: `buf` holds at least `len` bytes.
        unsafe { sys::input_read(buf.as_mut_ptr()) };
    }
    Some(len)
}

/// Reads the 32-byte storage slot `key` of this contract (zeros if unset). Costs 200 gas.
#[inline]
pub fn storage_read(key: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // SAFETY: both pointers address 32 valid bytes.
    unsafe { sys::storage_read(key.as_ptr(), out.as_mut_ptr()) };
    out
}

/// Writes the 32-byte storage slot `key`; writing zeros deletes it. Costs 20,000 gas to set a zero slot, 5,000
/// otherwise.
#[inline]
pub fn storage_write(key: &[u8; 32], value: &[u8; 32]) {
    // SAFETY: both pointers address 32 valid bytes.
    unsafe { sys::storage_write(key.as_ptr(), value.as_ptr()) };
}

/// Deletes the storage slot `key`.
#[inline]
pub fn storage_remove(key: &[u8; 32]) {
    // SAFETY: `key` addresses 32 valid bytes.
    unsafe { sys::storage_remove(key.as_ptr()) };
}

#[inline]
fn address_from(f: impl FnOnce(*mut u8)) -> Address {
    let mut a = Address::ZERO;
    f(a.0.as_mut_ptr());
    a
}

/// The immediate caller: the account or contract that made this call (the deployer in `deploy`).
#[inline]
pub fn caller() -> Address {
    // SAFETY: the host writes 20 bytes to `p`, which addresses an `Address`.
    address_from(|p| unsafe { sys::caller(p) })
}

/// The signer of the transaction (the first caller of the call chain).
#[inline]
pub fn origin() -> Address {
    // SAFETY: as in `caller`.
    address_from(|p| unsafe { sys::origin(p) })
}

/// The address of this contract.
#[inline]
pub fn self_address() -> Address {
    // SAFETY: as in `caller`.
    address_from(|p| unsafe { sys::self_address(p) })
}

/// The wei sent with this call.
#[inline]
pub fn value() -> U256 {
    let mut out = [0u8; 32];
    // SAFETY: `out` is 32 writable bytes.
    unsafe { sys::value(out.as_mut_ptr()) };
    U256::from_be_bytes(&out)
}

/// Whether this call carries no value (cheaper than `value().is_zero()`: no conversion).
#[inline]
pub fn value_is_zero() -> bool {
    let mut out = [0u8; 32];
    // SAFETY: `out` is 32 writable bytes.
    unsafe { sys::value(out.as_mut_ptr()) };
    out == [0u8; 32]
}

/// Height of the executing block.
#[inline]
pub fn block_number() -> u64 {
    // SAFETY: no memory is touched.
    unsafe { sys::block_number() as u64 }
}

/// Header timestamp of the executing block, in seconds.
#[inline]
pub fn block_timestamp() -> u64 {
    // SAFETY: no memory is touched.
    unsafe { sys::block_timestamp() as u64 }
}

/// Emits an Ethereum log from this contract with `topics` and `data`.
///
/// # Panics
///
/// If there are more than 4 topics (the host would fail the call).
#[inline]
pub fn emit_log(topics: &[[u8; 32]], data: &[u8]) {
    assert!(topics.len() <= 4, "emit_log: at most 4 topics");
    // SAFETY: `topics` is `n_topics * 32` contiguous bytes and `data` is `data.len()` bytes.
    unsafe { sys::emit_log(topics.as_ptr().cast(), topics.len() as i32, data.as_ptr(), data.len() as i32) };
}

/// The outcome of a [`call`] to another contract or account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallStatus {
    /// The callee returned normally (`0`).
    Success,
    /// The callee reverted (`1`); its revert data is the return data.
    Reverted,
    /// The callee failed (`2`): trap, out of gas, call depth, bad target.
    Failed,
}

impl CallStatus {
    /// From the host's status code; unknown codes count as [`CallStatus::Failed`].
    pub const fn from_code(code: i32) -> Self {
        match code {
            0 => CallStatus::Success,
            1 => CallStatus::Reverted,
            _ => CallStatus::Failed,
        }
    }

    /// The host's status code.
    pub const fn code(self) -> u8 {
        match self {
            CallStatus::Success => 0,
            CallStatus::Reverted => 1,
            CallStatus::Failed => 2,
        }
    }

    /// Whether the call succeeded.
    pub const fn is_success(self) -> bool {
        matches!(self, CallStatus::Success)
    }
}

/// Gas to pass to [`call`] to forward as much as the host allows (all but 1/64 of what is left).
pub const ALL_GAS: u64 = i64::MAX as u64;

/// Calls `to` with `input`, sending `value` wei and at most `gas` gas (capped by the host at all but 1/64 of the
/// gas left; [`ALL_GAS`] forwards that much). The callee's output is then available from [`return_data`].
///
/// Only the callee's effects are undone when it reverts or fails; this call goes on either way.
#[inline]
pub fn call(to: &Address, value: &U256, input: &[u8], gas: u64) -> CallStatus {
    let value = value.to_be_bytes();
    let gas = gas.min(i64::MAX as u64) as i64;
    // SAFETY: `to` is 20 bytes, `value` 32 bytes and `input` `input.len()` bytes.
    let code = unsafe { sys::call(to.0.as_ptr(), value.as_ptr(), input.as_ptr(), input.len() as i32, gas) };
    CallStatus::from_code(code)
}

/// The status and output of a call made with [`call_with_output`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallResult {
    /// How the callee ended.
    pub status: CallStatus,
    /// Its output: return data on success, revert data when it reverted.
    pub output: Vec<u8>,
}

/// [`call`], then reads the callee's output.
pub fn call_with_output(to: &Address, value: &U256, input: &[u8], gas: u64) -> CallResult {
    let status = call(to, value, input, gas);
    CallResult { status, output: return_data() }
}

/// Length of the last [`call`]'s output (its revert data when it reverted).
#[inline]
pub fn return_data_len() -> usize {
    // SAFETY: no memory is touched.
    unsafe { sys::return_data_len() as u32 as usize }
}

/// The last [`call`]'s output (its revert data when it reverted).
pub fn return_data() -> Vec<u8> {
    let len = return_data_len();
    let mut buf = Vec::with_capacity(len);
    if len > 0 {
        // SAFETY: `buf` has capacity for `len` bytes, which the host fills entirely.
        unsafe {
            sys::return_data_read(buf.as_mut_ptr());
            buf.set_len(len);
        }
    }
    buf
}

/// Ends the call successfully with `data` as its output (host `return`).
#[inline]
pub fn finish(data: &[u8]) -> ! {
    // SAFETY: `data` is `data.len()` readable bytes.
    unsafe { sys::return_(data.as_ptr(), data.len() as i32) }
}

/// Ends the call as reverted with raw `data` as its output (host `revert`). See [`crate::revert`] for
/// `Error(string)`.
#[inline]
pub fn revert(data: &[u8]) -> ! {
    // SAFETY: `data` is `data.len()` readable bytes.
    unsafe { sys::revert(data.as_ptr(), data.len() as i32) }
}

/// Keccak-256 of `data`, computed by the host (30 gas + 6 per 32 bytes).
#[inline]
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // SAFETY: `data` is `data.len()` readable bytes, `out` 32 writable bytes.
    unsafe { sys::keccak256(data.as_ptr(), data.len() as i32, out.as_mut_ptr()) };
    out
}

/// The signer of `hash` given a 65-byte signature `r ‖ s ‖ v` (`v` ∈ {0, 1, 27, 28}), or `None` if the
/// signature is invalid. Costs 3,000 gas.
pub fn ecrecover(hash: &[u8; 32], sig: &[u8; 65]) -> Option<Address> {
    let mut a = Address::ZERO;
    // SAFETY: `hash` is 32 bytes, `sig` 65 bytes, `a` 20 writable bytes.
    let ok = unsafe { sys::ecrecover(hash.as_ptr(), sig.as_ptr(), a.0.as_mut_ptr()) };
    (ok == 1).then_some(a)
}

/// Gas remaining in this call.
#[inline]
pub fn gas_left() -> u64 {
    // SAFETY: no memory is touched.
    unsafe { sys::gas_left().max(0) as u64 }
}
