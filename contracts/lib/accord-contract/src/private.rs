//! Support code for the expansions of `#[contract]`, `#[event]` and `#[storage]`; not a public API.

use crate::abi::{AbiDecode, AbiParams};
use crate::env;
use crate::error::RevertReason;

/// Reverts unless the call carries no value (Solidity's check for non-`payable` functions).
#[inline]
pub fn nonpayable() {
    if !env::value_is_zero() {
        crate::error::revert("accord: value sent to a non-payable method");
    }
}

/// Decodes call arguments, reverting if they are malformed.
#[inline]
pub fn decode_args<P: AbiParams + AbiDecode>(data: &[u8]) -> P {
    match P::decode_from(data) {
        Ok(p) => p,
        Err(_) => crate::error::revert("accord: invalid call arguments"),
    }
}

/// Reverts: no method has the call's selector and there is no fallback.
#[inline]
pub fn unknown_selector() -> ! {
    crate::error::revert("accord: unknown selector")
}

/// The `Ok` value, or reverts with the error.
#[inline]
pub fn unwrap_or_revert<T, E: RevertReason>(r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => e.revert(),
    }
}

/// Ends the call with the ABI encoding of `params` as output, encoded on the stack when it is static and at
/// most 256 bytes.
#[inline]
pub fn finish<P: AbiParams>(params: &P) -> ! {
    crate::abi::with_encoded(params, |out| env::finish(out))
}

/// Total length of `parts`.
pub const fn concat_len(parts: &[&str]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < parts.len() {
        n += parts[i].len();
        i += 1;
    }
    n
}

/// `parts` concatenated into exactly `N` bytes (`N` must be [`concat_len`]).
pub const fn concat_bytes<const N: usize>(parts: &[&str]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut at = 0;
    let mut i = 0;
    while i < parts.len() {
        let p = parts[i].as_bytes();
        let mut j = 0;
        while j < p.len() {
            out[at] = p[j];
            at += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(at == N, "concat_bytes: wrong length");
    out
}

/// `bytes` as `str` in a constant (they were concatenated from `str`s).
pub const fn bytes_as_str(bytes: &'static [u8]) -> &'static str {
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => panic!("not UTF-8"),
    }
}
