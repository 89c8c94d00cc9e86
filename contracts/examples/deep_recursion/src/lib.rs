//! Adversarial: unbounded, non-tail recursion, to exhaust the stack. Each call *fails* (status 2, all gas used)
//! unless it runs out of gas first.
//!
//! - `recurse()`: recursion whose frames live only on the wasm value/call stack (no linear-memory frame), so it
//!   ends at the VM's wasm stack limit ("call stack exhausted").
//! - `recurseShadow()`: every frame also takes 1 KiB of the linear-memory shadow stack (Rust's stack for
//!   address-taken locals), so it ends when the shadow stack pointer underflows and a store traps out of bounds
//!   (the stack is the first 1 MiB of memory).
//! - `recurseTo(uint64 depth) -> uint64`: the same recursion as `recurse()`, bounded; returns a checksum. To
//!   measure where the stack limit is (it must be a deterministic function of the depth).
//! - any other input (the fallback): as `recurse()`.
#![cfg_attr(not(test), no_std)]

use accord_contract::prelude::*;
use core::hint::black_box;

/// No state.
#[storage]
pub struct DeepRecursion {}

/// Recurses until `n == limit` (never, with `u64::MAX`); `black_box` on the result makes the call non-tail and
/// stops LLVM from turning the recursion into a loop.
#[inline(never)]
fn down(n: u64, limit: u64) -> u64 {
    if n == limit {
        return n;
    }
    let below = black_box(down(black_box(n + 1), limit));
    below.rotate_left(7) ^ n
}

/// Like [`down`], with a 1 KiB frame in linear memory.
#[inline(never)]
#[allow(unconditional_recursion)]
fn down_shadow(n: u64, buf: &mut [u8; 1024]) -> u64 {
    let mut local = [0u8; 1024];
    local[(n % 1024) as usize] = buf[(n.wrapping_mul(7) % 1024) as usize].wrapping_add(1);
    let below = black_box(down_shadow(black_box(n + 1), black_box(&mut local)));
    below ^ local[(below % 1024) as usize] as u64
}

#[contract]
impl DeepRecursion {
    /// Never returns.
    #[message]
    pub fn recurse(&mut self) -> u64 {
        down(0, u64::MAX)
    }

    /// Never returns.
    #[message]
    pub fn recurse_shadow(&mut self) -> u64 {
        let mut buf = [0u8; 1024];
        down_shadow(0, &mut buf)
    }

    /// Recurses `depth` levels.
    #[message]
    pub fn recurse_to(&self, depth: u64) -> u64 {
        down(0, depth)
    }

    /// Any other call: as `recurse()`.
    #[fallback]
    pub fn fallback(&mut self) {
        black_box(down(0, u64::MAX));
    }
}
