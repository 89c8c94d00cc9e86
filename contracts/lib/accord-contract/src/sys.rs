//! The raw host functions of `docs/contract-abi.md` (module `accord`), exactly as the VM provides them.
//!
//! Pointers are offsets into the contract's linear memory (`i32` on wasm32); lengths are `i32`. Prefer the safe
//! wrappers in [`crate::env`]. On non-wasm targets these are the same functions implemented by the native test
//! host (`crate::testing`), so contracts can be unit-tested with `cargo test`.

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "accord")]
unsafe extern "C" {
    /// `() -> i32`: length of the call input.
    pub fn input_len() -> i32;
    /// `(dst) -> ()`: copies the whole input to `dst`.
    pub fn input_read(dst: *mut u8);
    /// `(key, dst) -> ()`: reads the 32-byte slot `key` into `dst`.
    pub fn storage_read(key: *const u8, dst: *mut u8);
    /// `(key, value) -> ()`: writes 32 bytes to slot `key`.
    pub fn storage_write(key: *const u8, value: *const u8);
    /// `(key) -> ()`: deletes slot `key`.
    pub fn storage_remove(key: *const u8);
    /// `(dst) -> ()`: the 20-byte immediate caller.
    pub fn caller(dst: *mut u8);
    /// `(dst) -> ()`: the 20-byte transaction signer.
    pub fn origin(dst: *mut u8);
    /// `(dst) -> ()`: the 20-byte address of this contract.
    pub fn self_address(dst: *mut u8);
    /// `(dst) -> ()`: wei sent with this call, 32 bytes big-endian.
    pub fn value(dst: *mut u8);
    /// `() -> i64`: height of the executing block.
    pub fn block_number() -> i64;
    /// `() -> i64`: timestamp of the executing block (seconds).
    pub fn block_timestamp() -> i64;
    /// `(topics, n_topics, data, data_len) -> ()`: emits a log with `n_topics` (≤ 4) 32-byte topics.
    pub fn emit_log(topics: *const u8, n_topics: i32, data: *const u8, data_len: i32);
    /// `(address, value, input, input_len, gas: i64) -> i32`: calls another contract; 0 success, 1 reverted,
    /// 2 failed.
    pub fn call(address: *const u8, value: *const u8, input: *const u8, input_len: i32, gas: i64) -> i32;
    /// `() -> i32`: length of the last `call`'s output.
    pub fn return_data_len() -> i32;
    /// `(dst) -> ()`: copies the last `call`'s output to `dst`.
    pub fn return_data_read(dst: *mut u8);
    /// `(data, len) -> !`: ends the call successfully with `data` as output.
    #[link_name = "return"]
    pub fn return_(data: *const u8, len: i32) -> !;
    /// `(data, len) -> !`: ends the call as reverted with `data` as output.
    pub fn revert(data: *const u8, len: i32) -> !;
    /// `(data, len, dst) -> ()`: Keccak-256 of `data` into 32 bytes at `dst`.
    pub fn keccak256(data: *const u8, len: i32, dst: *mut u8);
    /// `(hash, sig, dst) -> i32`: recovers the signer of `hash` from `sig` (r ‖ s ‖ v) into `dst`; 1 or 0.
    pub fn ecrecover(hash: *const u8, sig: *const u8, dst: *mut u8) -> i32;
    /// `() -> i64`: gas remaining in this call.
    pub fn gas_left() -> i64;
}

#[cfg(not(target_arch = "wasm32"))]
pub use crate::testing::host::*;
