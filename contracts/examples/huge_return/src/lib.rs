//! Adversarial: very large outputs.
//!
//! - `maxReturn()`: grows memory until the host refuses (16 MiB by default), then returns the *whole* linear
//!   memory (raw bytes, not ABI-encoded) with one host `return`: the largest output a contract can produce.
//!   Costs 1,000 gas per page grown plus 3 gas per 32 bytes returned.
//! - `hugeAlloc()`: tries to build a 17 MiB `bytes` value; the allocation hits the memory limit and traps, so the
//!   call *fails* (status 2).
//! - `big(uint256 n) -> bytes`: returns `n` bytes (byte `i` = `i mod 251`), ABI-encoded; sizes up to a few MiB
//!   succeed, larger ones fail at the memory limit.
//! - any other input (the fallback): as `maxReturn()`.
#![cfg_attr(not(test), no_std)]

use accord_contract::prelude::*;

/// No state.
#[storage]
pub struct HugeReturn {}

/// Grows memory to the limit and returns all of it.
fn max_return() -> ! {
    #[cfg(target_arch = "wasm32")]
    {
        use core::arch::wasm32;
        while wasm32::memory_grow(0, 1) != usize::MAX {}
        let len = wasm32::memory_size(0) * 65536;
        // SAFETY: `[0, len)` is exactly the current linear memory, which the host copies out. Offset 0 is a valid
        // wasm address; no Rust reference to it is made (a null slice would be undefined behaviour).
        unsafe { accord_contract::sys::return_(core::ptr::null(), len as i32) }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        env::finish(&[0u8; 65536])
    }
}

#[contract]
impl HugeReturn {
    /// Returns the whole (maximally grown) memory.
    #[message]
    pub fn max_return(&mut self) {
        max_return()
    }

    /// Fails: 17 MiB exceed the memory limit.
    #[message]
    pub fn huge_alloc(&mut self) -> Bytes {
        let mut v = vec![0u8; 17 << 20];
        v[0] = 1;
        Bytes(v)
    }

    /// `n` patterned bytes.
    #[message]
    pub fn big(&self, n: U256) -> Result<Bytes> {
        let n = n.to_usize().ok_or("n too large")?;
        Ok(Bytes((0..n).map(|i| (i % 251) as u8).collect()))
    }

    /// Any other call: as `maxReturn()`.
    #[fallback]
    pub fn fallback(&mut self) {
        max_return()
    }
}
